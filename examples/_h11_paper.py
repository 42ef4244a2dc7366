"""Erbin and Finotello's recipe for h11 (arXiv 2007.13379), as in the authors' code
(thesfinox/ml-cicy, branch ``outliers-detection``, ``cnn_h11.py``), run by
``hodge_numbers.py --recipe paper``.

Data: the original list, raw integer 12x15 matrices, the outliers removed (1 <= h11 <= 16
and 15 <= h21 <= 86: 7851 of 7890); train/validation/test 80/10/10 or 30/10/60, split as
scikit-learn's ``train_test_split(random_state=42)`` splits it (reproduced here with
numpy's legacy RandomState; it gives exactly the authors' test sets). Network: three
Inception modules of [32, 64, 32] filters per branch, each a 12x1 and a 1x15 "same"
convolution with ReLU, concatenated, then BatchNorm (Keras: momentum 0.99, eps 1e-3);
dropout 0.2; flatten (11520) into one ReLU output; 234,849 parameters as Keras counts
them (234,337 trainable and the 512 running statistics). L1 = L2 = 1e-4 on every conv
kernel. MSE, Adam (lr 1e-3, Keras' eps 1e-7), batch 32 (last batch kept), up to 2000
epochs; ReduceLROnPlateau (factor 0.3, patience 80, min 1e-6, Keras' absolute min_delta
1e-4) and EarlyStopping (patience 200, best weights restored) on the validation loss,
which includes the penalty as Keras' does. Accuracy: mean(round(prediction) == h11) on
the test set, which training never sees. Weights: Keras' defaults (Glorot uniform
kernels, zero biases). Everything in float32.

A run checkpoints model, optimizer, schedule, the data order's and dropout's random
states, the best weights and the history every few epochs (one file, written
atomically); ``--resume`` continues from it bit for bit, and ``--budget MINUTES`` stops
cleanly (checkpoint written, best weights restored).
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import _common as common
import numpy as np

import autograd as ag
import nn
import physics

FILTERS = (32, 64, 32)
SPLITS = {0.8: 0.5, 0.3: 1 / 7}  # validation share of what training leaves: 10% each
SEED = 42
BN_MOMENTUM, BN_EPS = 0.01, 1e-3  # Keras' momentum 0.99 in PyTorch's convention
PENALTY = 1e-4
DROPOUT = 0.2
LR, ADAM_EPS, BATCH, EPOCHS = 1e-3, 1e-7, 32, 2000
PLATEAU = {"factor": 0.3, "patience": 80, "min_lr": 1e-6, "min_delta": 1e-4}
STOP_PATIENCE = 200
DTYPE = np.float32
PUBLISHED = {0.8: ("noout_80_h11.csv", 0.995, 1655), 0.3: ("noout_30_h11.csv", 0.980, 1370)}


# ------------------------------------------------------------------ data
def load(cicy_list: Path, limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The raw matrices (N, 12, 15) and h11 of the list without the outliers."""
    records = physics.load_cicy_json(cicy_list)
    if limit:
        records = records[:limit]
    keep = [r for r in records if 1 <= r.h11 <= 16 and 15 <= r.h21 <= 86]
    X = physics.configuration_tensor([r.matrix for r in keep]).astype(DTYPE)
    return X, np.array([r.h11 for r in keep], dtype=np.int64)


def sklearn_split(n: int, train_size: float, seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) indices as ``sklearn.model_selection.train_test_split(range(n),
    train_size=..., shuffle=True, random_state=seed)`` draws them: one permutation from
    RandomState(seed), the test part first (ceil of its share), then the training part."""
    n_test = math.ceil((1 - train_size) * n)
    n_train = math.floor(train_size * n)
    perm = np.random.RandomState(seed).permutation(n)
    return perm[n_test:n_test + n_train], perm[:n_test]


def splits(n: int, fraction: float) -> dict[str, np.ndarray]:
    """Train/validation/test indices as the authors made them (two splits, seed 42)."""
    if fraction not in SPLITS:
        raise SystemExit(f"error: the paper recipe trains on 0.8 or 0.3 of the data, got "
                         f"{fraction}")
    train, rest = sklearn_split(n, fraction)
    val, test = sklearn_split(len(rest), SPLITS[fraction])
    return {"train": train, "val": rest[val], "test": rest[test]}


# ------------------------------------------------------------------ network
class Inception(nn.Module):
    """A 12x1 and a 1x15 "same" convolution with ReLU side by side, concatenated, then
    batch-normalised: (N, C, 12, 15) -> (N, 2 f, 12, 15)."""

    def __init__(self, cin: int, f: int, shape: tuple[int, int], rng: np.random.Generator):
        h, w = shape
        conv = dict(padding="same", dtype=DTYPE, init="xavier_uniform", rng=rng)
        self.column = nn.Conv2d(cin, f, (h, 1), **conv)
        self.row = nn.Conv2d(cin, f, (1, w), **conv)
        for c in (self.column, self.row):
            c.bias.data[...] = 0  # Keras' zero biases
        self.norm = nn.BatchNorm2d(2 * f, eps=BN_EPS, momentum=BN_MOMENTUM, dtype=DTYPE)

    def forward(self, x: ag.Tensor) -> ag.Tensor:
        return self.norm(ag.concatenate([ag.relu(self.column(x)), ag.relu(self.row(x))],
                                        axis=1))


class PaperNet(nn.Module):
    """(N, 12, 15) -> three Inception modules -> dropout -> flatten -> ReLU(linear)."""

    def __init__(self, seed: int, shape: tuple[int, int] = (12, 15),
                 filters: tuple[int, ...] = FILTERS):
        rng = np.random.default_rng(seed)
        blocks, cin = [], 1
        for f in filters:
            blocks.append(Inception(cin, f, shape, rng))
            cin = 2 * f
        self.blocks = blocks
        self.dropout = nn.Dropout(DROPOUT, rng=np.random.default_rng(seed + 1))
        self.head = nn.Linear(cin * shape[0] * shape[1], 1, dtype=DTYPE,
                              init="xavier_uniform", rng=rng)
        self.head.bias.data[...] = 0

    def forward(self, x: Any) -> ag.Tensor:
        x = x if isinstance(x, ag.Tensor) else ag.Tensor(np.asarray(x, dtype=DTYPE))
        x = x.reshape((x.shape[0], 1) + x.shape[1:])
        for block in self.blocks:
            x = block(x)
        x = self.dropout(x)
        return ag.relu(self.head(x.reshape((x.shape[0], -1))))

    def kernels(self) -> list[nn.Parameter]:
        return [c.weight for b in self.blocks for c in (b.column, b.row)]

    def keras_parameter_count(self) -> int:
        """Trainable parameters plus BatchNorm's running mean and variance, which Keras
        counts as non-trainable parameters."""
        stats = sum(b.norm.running_mean.size + b.norm.running_var.size for b in self.blocks)
        return self.num_parameters() + stats


class PenalisedMSE:
    """MSE plus 1e-4 (L1 + L2) of the conv kernels: Keras' loss with kernel_regularizer,
    on training and validation data alike."""

    def __init__(self, model: PaperNet) -> None:
        self.kernels = model.kernels()

    def __call__(self, out: ag.Tensor, target: Any) -> ag.Tensor:
        t = target.data if isinstance(target, ag.Tensor) else np.asarray(target)
        loss = ag.mse_loss(out, t.reshape(out.shape).astype(out.dtype))
        return loss + (nn.functional.l1_penalty(self.kernels, PENALTY)
                       + nn.functional.l2_penalty(self.kernels, PENALTY))


def mse(out: Any, target: Any) -> float:
    o = out.data if isinstance(out, ag.Tensor) else np.asarray(out)
    t = target.data if isinstance(target, ag.Tensor) else np.asarray(target)
    return float(np.mean((o.reshape(-1) - t.reshape(-1).astype(o.dtype)) ** 2))


def rounded_accuracy(model: nn.Module, x: np.ndarray, y: np.ndarray) -> float:
    """mean(round(prediction) == h11), the authors' score (np.rint, as theirs)."""
    pred = nn.predict(model, x, 512).reshape(-1)
    return float(np.mean(np.rint(pred).astype(np.int64) == y))


# ------------------------------------------------------------------ training state
class Run:
    """Everything a paper run needs to stop and continue bit for bit."""

    def __init__(self, seed: int, n_train: int, out: Path, fraction: float,
                 settings: dict[str, Any]) -> None:
        self.model = PaperNet(seed)
        self.opt = nn.optim.Adam(self.model.parameters(), lr=LR, eps=ADAM_EPS)
        # Keras reduces after `patience` epochs without improvement; this one after more
        # than `patience`: 79 here is Keras' 80
        self.sched = nn.optim.ReduceLROnPlateau(
            self.opt, factor=PLATEAU["factor"], patience=PLATEAU["patience"] - 1,
            min_lr=PLATEAU["min_lr"], threshold=PLATEAU["min_delta"], threshold_mode="abs")
        self.loader_rng = np.random.default_rng(seed + 2)
        self.history: dict[str, list[float]] = {}
        self.best_value, self.best_epoch, self.waited = math.inf, -1, 0
        self.best_state = self.model.state_dict()
        self.elapsed = 0.0
        self.stop_reason: str | None = None
        self.path = out / f"checkpoint_{fraction:g}.npz"
        self.settings = settings

    @property
    def epoch(self) -> int:
        return len(self.history.get("loss", []))

    def state(self) -> dict[str, Any]:
        s: dict[str, Any] = {}
        for prefix, d in (("model.", self.model.state_dict()), ("optim.", self.opt.state_dict()),
                          ("sched.", self.sched.state_dict()), ("best.", self.best_state)):
            s.update({prefix + k: v for k, v in d.items()})
        for k, v in self.history.items():
            s["history." + k] = np.asarray(v, dtype=np.float64)
        s["rng.loader"] = np.array(json.dumps(self.loader_rng.bit_generator.state))
        s["rng.dropout"] = np.array(json.dumps(self.model.dropout._rng.bit_generator.state))
        s["run"] = np.array(json.dumps({
            "best_value": self.best_value, "best_epoch": self.best_epoch,
            "waited": self.waited, "elapsed": self.elapsed, "stop_reason": self.stop_reason,
            "settings": self.settings}))
        return s

    def save(self) -> None:
        nn.save_state(self.state(), self.path)

    def restore(self) -> None:
        s = nn.load_state(self.path)
        run = json.loads(str(s["run"]))
        if run["settings"] != self.settings:
            raise SystemExit(f"error: {self.path} was written with settings {run['settings']}, "
                             f"not {self.settings}; use another --out or drop --resume")

        def part(prefix: str) -> dict[str, np.ndarray]:
            return {k[len(prefix):]: v for k, v in s.items() if k.startswith(prefix)}

        self.model.load_state_dict(part("model."))
        self.opt.load_state_dict(part("optim."))
        self.sched.load_state_dict(part("sched."))
        self.best_state = part("best.")
        self.history = {k: [float(x) for x in v] for k, v in part("history.").items()}
        self.loader_rng.bit_generator.state = json.loads(str(s["rng.loader"]))
        self.model.dropout._rng.bit_generator.state = json.loads(str(s["rng.dropout"]))
        self.best_value, self.best_epoch = run["best_value"], run["best_epoch"]
        self.waited, self.elapsed = run["waited"], run["elapsed"]
        self.stop_reason = run["stop_reason"]

    def record(self, row: dict[str, float]) -> bool:
        """Add one epoch's row; Keras' EarlyStopping (min_delta 0): True means stop."""
        for k, v in row.items():
            self.history.setdefault(k, []).append(float(v))
        value = row["val_loss"]
        if value < self.best_value:
            self.best_value, self.best_epoch, self.waited = value, self.epoch - 1, 0
            self.best_state = self.model.state_dict()
            return False
        self.waited += 1
        return self.waited >= STOP_PATIENCE


def train(run: Run, data: dict[str, tuple], max_epochs: int, budget_s: float | None,
          every: int, args: Any) -> None:
    """fit, epoch after epoch, from wherever ``run`` stands: early stopping, the budget and
    checkpoints live in a callback; fit's own scheduler step does ReduceLROnPlateau."""
    if run.stop_reason in ("early_stopping",) or run.epoch >= max_epochs:
        return
    started, start_epoch, elapsed0 = time.monotonic(), run.epoch, run.elapsed
    loader = nn.DataLoader(*data["train"], batch_size=BATCH, shuffle=True,
                           rng=run.loader_rng)
    last = [time.monotonic()]

    def callback(epoch: int, hist: nn.History) -> bool:
        now = time.monotonic()
        row = {k: v[-1] for k, v in hist.items()}
        row["seconds"] = now - last[0]
        last[0] = now
        stop = run.record(row)
        run.elapsed = elapsed0 + now - started
        over = budget_s is not None and now - started >= budget_s
        run.stop_reason = "early_stopping" if stop else "budget" if over else None
        if stop or over or run.epoch % every == 0 or run.epoch >= max_epochs:
            run.save()
        return stop or over

    nn.fit(run.model, PenalisedMSE(run.model), run.opt, loader,
           epochs=max_epochs - start_epoch, val_data=data["val"], metrics={"mse": mse},
           scheduler=run.sched, monitor="val_loss", callbacks=[callback],
           progress=common.show_progress(args))
    if run.stop_reason is None and run.epoch >= max_epochs:
        run.stop_reason = "epochs"
        run.save()


def published_history(fraction: float) -> dict[str, np.ndarray] | None:
    path = common.DATA_ROOT / "h11_inception_histories" / PUBLISHED[fraction][0]
    if not path.is_file():
        return None
    table = np.genfromtxt(path, delimiter=",", names=True)
    return {k: table[k] for k in table.dtype.names}


def plot(run: Run, fraction: float, path: Path) -> Path:
    """Our validation (and training) loss per epoch beside the authors': the epochs we
    ran (left) and the whole published run (right)."""
    plt = common.pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(12, 4))
    pub = published_history(fraction)
    epochs = np.arange(1, run.epoch + 1)
    for ax, last in zip(axes, (max(run.epoch, 2), None)):
        if pub is not None:
            n = len(pub["epoch"]) if last is None else min(last, len(pub["epoch"]))
            ax.plot(pub["epoch"][:n], pub["val_loss"][:n], color="0.55",
                    label="published val_loss")
            ax.plot(pub["epoch"][:n], pub["loss"][:n], color="0.55", linestyle=":",
                    label="published loss")
        ax.plot(epochs, run.history["val_loss"], color="C0", label="cygrad val_loss")
        ax.plot(epochs, run.history["loss"], color="C0", linestyle=":", label="cygrad loss")
        ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.set_ylabel("MSE + penalty")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    axes[0].set_title(f"the {run.epoch} epochs run here")
    axes[1].set_title("the whole published run")
    fig.suptitle(f"h11, Inception network, the paper's recipe, {fraction:.0%} training")
    return common.save_figure(fig, path)


def curve_agreement(run: Run, fraction: float) -> dict[str, float] | None:
    """How our validation loss tracks the published one over the epochs we ran: the
    median over epochs of |log10(ours / theirs)| (0.3 = a factor 2), on the running
    minimum of each curve (the best-so-far, which is what the recipe selects on)."""
    pub = published_history(fraction)
    if pub is None or run.epoch == 0:
        return None
    n = min(run.epoch, len(pub["val_loss"]))
    ours = np.minimum.accumulate(np.asarray(run.history["val_loss"][:n]))
    theirs = np.minimum.accumulate(pub["val_loss"][:n])
    ratio = np.abs(np.log10(ours / theirs))
    return {"epochs_compared": n, "median_abs_log10_ratio": float(np.median(ratio)),
            "ours_best_val_loss": float(ours[-1]), "published_best_val_loss": float(theirs[-1])}


def main(args: Any, out: Path, started: float) -> dict[str, Any]:
    X, y = load(common.require_file(args.cicy_list, "--cicy-list"), args.limit)
    max_epochs = args.epochs or EPOCHS
    budget = None if args.budget is None else args.budget * 60.0
    metrics: dict[str, Any] = {"recipe": "paper", "n": len(y), "seed": args.seed}
    for fraction in args.train_fractions:
        idx = splits(len(y), fraction)
        data = {k: (X[i], y[i].astype(DTYPE).reshape(-1, 1)) for k, i in idx.items()}
        settings = {"fraction": fraction, "seed": args.seed, "n": len(y)}
        run = Run(args.seed, len(idx["train"]), out, fraction, settings)
        if args.resume and run.path.is_file():
            run.restore()
            print(f"resumed {run.path} at epoch {run.epoch} ({run.stop_reason or 'running'})")
        print(f"paper recipe, {fraction:.0%} training: {len(idx['train'])} / "
              f"{len(idx['val'])} / {len(idx['test'])} train / validation / test, "
              f"{run.model.keras_parameter_count()} parameters (Keras' count), up to "
              f"{max_epochs} epochs" + (f", budget {args.budget:g} min" if budget else ""))
        train(run, data, max_epochs, budget, args.checkpoint_every, args)
        if run.stop_reason in ("early_stopping", "budget"):
            run.model.load_state_dict(run.best_state)  # Keras' restore_best_weights
        key = f"paper_{fraction:g}"
        acc = rounded_accuracy(run.model, *(data["test"][0], y[idx["test"]]))
        metrics.update({
            f"{key}_test_accuracy": acc,
            f"{key}_val_accuracy": rounded_accuracy(run.model, data["val"][0], y[idx["val"]]),
            f"{key}_epochs": run.epoch, f"{key}_best_epoch": run.best_epoch + 1,
            f"{key}_best_val_loss": run.best_value, f"{key}_stop_reason": run.stop_reason,
            f"{key}_train_seconds": round(run.elapsed, 1),
            f"{key}_seconds_per_epoch": round(float(np.median(run.history["seconds"])), 2),
            f"{key}_parameters": run.model.keras_parameter_count(),
            f"{key}_published_accuracy": PUBLISHED[fraction][1],
            f"{key}_curve": curve_agreement(run, fraction)})
        common.write_json(out / f"history_paper_{fraction:g}.json", run.history)
        if not args.no_plots:
            plot(run, fraction, out / f"h11_paper_{fraction:g}.png")
        print(f"paper recipe, {fraction:.0%}: {run.epoch} epochs ({run.stop_reason}), best "
              f"epoch {run.best_epoch + 1}, test accuracy {acc:.1%} (published "
              f"{PUBLISHED[fraction][1]:.1%}), {run.elapsed / 60:.1f} min")
    first = f"paper_{args.train_fractions[0]:g}"
    metrics["test_accuracy"] = metrics[f"{first}_test_accuracy"]
    return common.finish(out, metrics, started)

"""Predicting the Hodge number h^{1,1} of the 7890 CICY threefolds from their
configuration matrices (session 2).

The problem: each CICY is a degree matrix with at most 12 rows (projective factors) and
15 columns (polynomials); zero-padded to 12 x 15 it becomes an "image".  h^{1,1} is an
integer from 0 to 19.  Both networks classify h^{1,1} into its 20 values (softmax and
cross-entropy, eqs. 29-31); the score is the accuracy on the held-out configurations,
for training fractions 80% and 30% (the rest is the test set).  (Erbin and Finotello
regress and round; on this budget classification learned faster: the dense network
reached 62% with regression and 82% with classification after 40 epochs.)

Published references: 77% for a dense network (Bull, He, Jejjala, Mishra 2018) and
97-99% for the Inception network (Erbin and Finotello, arXiv 2007.13379).

* ``dense``: the flattened matrix (180 inputs) through an MLP (default 3 hidden layers of
  256 ReLU units, dropout 0.2), Adam lr 1e-3, batch 64, 40 epochs.
* ``inception``: Erbin and Finotello's idea at laptop size.  Each Inception module runs
  two convolutions side by side, one with a 12 x 1 kernel (a whole column: one
  polynomial's degrees in every factor) and one with a 1 x 15 kernel (a whole row: one
  factor's degrees in every polynomial), zero-padded so the 12 x 15 shape is kept, and
  concatenates their channels; ReLU follows.  The last module is not padded: its column
  kernel leaves one feature per polynomial and its row kernel one per factor, and a
  linear layer reads h^{1,1} off them.  ``--filters`` gives the filters per branch of
  each module (default 32 32: one padded module, one read-out).  The paper stacks
  three modules of 32/64/32 filters with batch normalisation and trains far longer on a
  GPU; on this 2-core machine the default trains for ``--conv-epochs`` 20 (Adam lr
  3e-3), so expect less.  float32, as the paper's network.
* ``--recipe paper``: the authors' recipe exactly (``_h11_paper.py``): outliers removed,
  raw matrices, their splits with 10% validation, three modules [32, 64, 32] with
  BatchNorm, regression with MSE, Adam, ReduceLROnPlateau and early stopping on the
  validation loss, up to 2000 epochs.  ``--train-fraction 0.8`` or ``0.3``, ``--epochs``
  caps the epochs, ``--budget MINUTES`` stops cleanly, ``--resume`` continues a stopped
  run bit for bit from its checkpoint in ``--out``.  Writes ``h11_paper_<f>.png`` (our
  loss curves beside the published ones) and ``history_paper_<f>.json``.

The default recipe's inputs are the matrix entries divided by 5 (an upper bound on the
degrees; the paper recipe uses them raw).  The test set is scored once, after training,
and never used during it.  Outputs in
--out: metrics.json, history.json, learning_curves.png.  ``test_accuracy`` is the first
model's accuracy at the first training fraction.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import _common as common
import _h11_paper as paper
import numpy as np

import autograd as ag
import nn
import physics

PUBLISHED = {"dense": 0.77, "inception": 0.97}
MAX_DEGREE = 5.0


class InceptionModule(nn.Module):
    """Parallel 12 x 1 and 1 x 15 convolutions, ReLU, channels concatenated.

    ``same=True`` zero-pads so the 12 x 15 shape is kept (Conv2d's padding="same": an even
    kernel height gets 5 rows above and 6 below, as in Keras); the output is
    (N, 2 filters, 12, 15).  ``same=False`` is the read-out module: the column kernel
    leaves one value per polynomial, the row kernel one per factor, and both are
    flattened and joined, (N, filters * (15 + 12)).  float32, as the paper's.
    """

    def __init__(self, in_channels: int, filters: int, shape: tuple[int, int],
                 rng: np.random.Generator, same: bool = True) -> None:
        h, w = shape
        self.same = same
        pad = "same" if same else 0
        self.column = nn.Conv2d(in_channels, filters, (h, 1), padding=pad, rng=rng,
                                dtype=np.float32)
        self.row = nn.Conv2d(in_channels, filters, (1, w), padding=pad, rng=rng,
                             dtype=np.float32)

    def forward(self, x: ag.Tensor) -> ag.Tensor:
        a, b = self.column(x), self.row(x)
        if self.same:
            return ag.relu(ag.concatenate([a, b], axis=1))
        n = x.shape[0]
        return ag.relu(ag.concatenate([a.reshape((n, -1)), b.reshape((n, -1))], axis=1))


class InceptionNet(nn.Module):
    """(N, 12, 15) -> same-padded Inception modules -> read-out module -> n_out logits."""

    def __init__(self, filters: list[int], shape: tuple[int, int], n_out: int,
                 seed: int) -> None:
        rng = np.random.default_rng(seed)
        blocks, channels = [], 1
        for i, f in enumerate(filters):
            last = i == len(filters) - 1
            blocks.append(InceptionModule(channels, f, shape, rng, same=not last))
            channels = 2 * f
        self.blocks = blocks
        self.head = nn.Linear(filters[-1] * (shape[0] + shape[1]), n_out, rng=rng,
                              dtype=np.float32)

    def forward(self, x: Any) -> ag.Tensor:
        x = x if isinstance(x, ag.Tensor) else ag.Tensor(np.asarray(x, dtype=np.float32))
        x = x.reshape((x.shape[0], 1) + x.shape[1:])
        for block in self.blocks:
            x = block(x)
        return self.head(x)


def build_parser() -> Any:
    p = common.parser(__doc__, "hodge_numbers")
    g = p.add_argument_group("data")
    g.add_argument("--cicy-list", type=Path,
                   default=common.DATA_ROOT / "cicy" / "cicy3o.json.gz",
                   help="the CICY list, JSON(.gz) as in ../shared/data/cicy "
                        "(default: %(default)s)")
    g.add_argument("--train-fractions", "--train-fraction", type=float, nargs="+",
                   default=[0.8, 0.3],
                   help="fractions of the list used for training; the rest is the test set "
                        "(the paper recipe: 0.8 or 0.3, with 10%% validation) "
                        "(default: 0.8 0.3)")
    g.add_argument("--limit", type=int, default=None,
                   help="use only the first N configurations (quick trials)")
    r = p.add_argument_group("the paper's recipe (Erbin & Finotello)")
    r.add_argument("--recipe", choices=("default", "paper"), default="default",
                   help="paper: the authors' data, splits, network and training exactly, "
                        "up to 2000 epochs (see examples/_h11_paper.py); --epochs caps the "
                        "epochs (default: %(default)s)")
    r.add_argument("--budget", type=float, default=None, metavar="MINUTES",
                   help="paper recipe: stop cleanly after this much training time, with a "
                        "checkpoint and the best weights")
    r.add_argument("--resume", action="store_true",
                   help="paper recipe: continue from the checkpoint in --out, bit for bit")
    r.add_argument("--checkpoint-every", type=int, default=5, metavar="EPOCHS",
                   help="paper recipe: epochs between checkpoints (default: %(default)s)")
    m = p.add_argument_group("models")
    m.add_argument("--models", nargs="+", choices=("dense", "inception"),
                   default=["dense", "inception"], help="networks to train (default: both)")
    m.add_argument("--filters", type=int, nargs="+", default=[32, 32],
                   help="filters per branch of each Inception module; the last one is the "
                        "unpadded read-out (default: 32 32)")
    m.add_argument("--conv-epochs", type=int, default=20,
                   help="epochs for the Inception network (default: %(default)s)")
    m.add_argument("--conv-lr", type=float, default=3e-3,
                   help="Adam learning rate of the Inception network (default: %(default)s)")
    m.add_argument("--dropout", type=float, default=0.2,
                   help="dropout after each hidden layer of the dense network "
                        "(default: %(default)s)")
    common.add_network_options(p, depth=3, width=256, lr=1e-3, epochs=40, batch_size=64)
    p.add_argument("--no-plots", action="store_true", help="skip the learning-curve PNG")
    return p


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """The command line: parse ``argv`` and run."""
    return run(build_parser().parse_args(argv))


def run(args: Any, callbacks: Sequence[common.Callback] | None = None) -> dict[str, Any]:
    """The experiment for parsed ``args``; returns its metrics. ``callbacks`` go to every
    nn.fit of the run (sweep.py prunes through them)."""
    started = time.perf_counter()
    if args.recipe == "paper":
        if args.checkpoint_every < 1 or (args.budget is not None and args.budget <= 0):
            raise SystemExit("error: --checkpoint-every must be >= 1 and --budget > 0")
        return paper.main(args, common.output_folder(args), started)
    settings = common.network_settings(args)
    records = physics.load_cicy_json(common.require_file(args.cicy_list, "--cicy-list"))
    if args.limit:
        records = records[: args.limit]
    out = common.output_folder(args)
    X = physics.configuration_tensor([r.matrix for r in records]).astype(np.float64)
    X /= MAX_DEGREE
    y = np.array([r.h11 for r in records], dtype=np.int64)
    n_classes = int(y.max()) + 1
    print(f"{len(records)} CICYs, h11 from {int(y.min())} to {int(y.max())}")
    metrics: dict[str, Any] = {"seed": args.seed, "n": len(records), **settings,
                               "filters": args.filters, "conv_epochs": args.conv_epochs,
                               "conv_lr": args.conv_lr, "dropout": args.dropout}
    histories: dict[str, Any] = {}
    first = None
    for frac in args.train_fractions:
        if not 0 < frac < 1:
            raise SystemExit(f"error: --train-fractions must lie in (0, 1), got {frac}")
        X_tr, X_te, y_tr, y_te = nn.train_test_split(X, y, test_size=1 - frac, rng=args.seed)
        for kind in args.models:
            t0 = time.perf_counter()
            if kind == "dense":
                sizes = [X.shape[1] * X.shape[2]] + [settings["width"]] * settings["depth"]
                model: nn.Module = nn.MLP(sizes + [n_classes], settings["activation"],
                                          dropout=args.dropout, rng=args.seed)
                model_settings = dict(settings)
                x_tr, x_te = X_tr.reshape(len(X_tr), -1), X_te.reshape(len(X_te), -1)
            else:
                model = InceptionNet(args.filters, X.shape[1:], n_classes, args.seed)
                model_settings = {**settings, "optimizer": "adam", "lr": args.conv_lr,
                                  "epochs": args.conv_epochs}
                x_tr, x_te = X_tr, X_te
            hist = common.train(model, nn.CrossEntropyLoss(), model_settings, (x_tr, y_tr),
                                args, metrics=["accuracy"], callbacks=callbacks)
            key = f"{kind}_{frac:g}"
            histories[key] = dict(hist)
            metrics[f"{key}_train_accuracy"] = nn.accuracy(nn.predict(model, x_tr, 512), y_tr)
            metrics[f"{key}_test_accuracy"] = nn.accuracy(nn.predict(model, x_te, 512), y_te)
            metrics[f"{key}_seconds"] = round(time.perf_counter() - t0, 1)
            metrics[f"{key}_parameters"] = model.num_parameters()
            print(f"{kind:>9} trained on {frac:.0%}: test accuracy "
                  f"{metrics[f'{key}_test_accuracy']:.1%} (published {PUBLISHED[kind]:.0%}), "
                  f"{metrics[f'{key}_seconds']:.0f} s, {model.num_parameters()} parameters")
            first = first or key
    metrics["train_accuracy"] = metrics[f"{first}_train_accuracy"]
    metrics["test_accuracy"] = metrics[f"{first}_test_accuracy"]
    common.write_json(out / "history.json", histories)
    if not args.no_plots:
        common.plot_history(histories, out / "learning_curves.png", "h11 of the CICY list")
    return common.finish(out, metrics, started)


if __name__ == "__main__":
    main(sys.argv[1:])

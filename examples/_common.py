"""What every experiment script shares: command-line options, the shared-data location,
the output folder, atomic files, metrics.json, progress bars, the network options and
the learning-curve picture.

One place per idea, so the scripts read as the lecture's recipe for an experiment:
define the problem, create data, split, train, report.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

import nn
from nn.progress import progress_bar
from safeio import atomic_write as write_atomic

# ../shared/data relative to the repository root (examples/ -> repo -> its parent)
DATA_ROOT = Path(__file__).resolve().parents[2] / "shared" / "data"
DATA_HINT = ("the course's shared data (CICY lists, line-bundle tables) lives in "
             "../shared/data next to the repository; get it from the course materials "
             "or pass the path option")

ACTIVATIONS = ("relu", "tanh", "sigmoid", "leaky_relu")
# nn.fit's per-epoch hook: cb(epoch, history); True stops training, an exception propagates
Callback = Callable[[int, nn.History], Any]
OPTIMIZERS = ("adam", "sgd")


class DataMissing(SystemExit):
    """A required data file is absent: exits with status 2 after one line on stderr."""

    def __init__(self, path: Path, option: str) -> None:
        print(f"error: data file {path} not found ({option} chooses it); {DATA_HINT}",
              file=sys.stderr)
        super().__init__(2)


def require_file(path: str | os.PathLike, option: str) -> Path:
    """``path`` if it exists, else exit with one clear line naming it and the option."""
    path = Path(path)
    if not path.is_file():
        raise DataMissing(path, option)
    return path


# ------------------------------------------------------------------ command line
def parser(description: str, default_out: str) -> argparse.ArgumentParser:
    """An ArgumentParser with the options every script has: --out, --seed, --progress."""
    p = argparse.ArgumentParser(description=description,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=Path("runs") / default_out,
                   help="output folder for metrics.json, pictures and history "
                        "(default: %(default)s)")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of the split, the initial weights and the batch order; the "
                        "same seed gives the same run (default: %(default)s)")
    p.add_argument("--progress", choices=("auto", "on", "off"), default="auto",
                   help="progress bars: auto shows them only on a terminal "
                        "(default: %(default)s)")
    return p


def add_network_options(p: argparse.ArgumentParser, *, depth: int, width: int,
                        activation: str = "relu", lr: float, epochs: int,
                        batch_size: int = 32, optimizer: str = "adam") -> None:
    """The options sweep.py varies (depth, width, activation, lr) and the training budget.

    Defaults are ``None`` where a recipe may supply its own value; ``network_settings``
    resolves them.
    """
    g = p.add_argument_group("network and training")
    g.add_argument("--depth", type=int, default=depth,
                   help="number of hidden layers (default: %(default)s)")
    g.add_argument("--width", type=int, default=width,
                   help="units per hidden layer (default: %(default)s)")
    g.add_argument("--activation", choices=ACTIVATIONS, default=activation,
                   help="hidden activation, eq. (8) (default: %(default)s)")
    g.add_argument("--optimizer", choices=OPTIMIZERS, default=None,
                   help=f"adam, or SGD (eq. 15; with --momentum eq. 16) "
                        f"(default: {optimizer})")
    g.add_argument("--momentum", type=float, default=None, metavar="ALPHA",
                   help="SGD's momentum alpha of eq. 16 in PyTorch's heavy-ball sign "
                        "(v = g + alpha v, theta -= lr v), 0 <= ALPHA < 1 (default: 0, plain "
                        "SGD)")
    g.add_argument("--nesterov", action="store_true",
                   help="SGD with Nesterov momentum (steps along g + alpha v); needs "
                        "--momentum > 0")
    g.add_argument("--lr", type=float, default=None,
                   help=f"learning rate epsilon of eq. (15) (default: {lr:g})")
    g.add_argument("--epochs", type=int, default=None,
                   help=f"passes over the training set (default: {epochs})")
    g.add_argument("--batch-size", type=int, default=None,
                   help=f"mini-batch size (default: {batch_size})")
    p.set_defaults(_net_defaults={"optimizer": optimizer, "lr": lr, "epochs": epochs,
                                  "batch_size": batch_size})


def network_settings(args: argparse.Namespace, **recipe: Any) -> dict[str, Any]:
    """optimizer/lr/epochs/batch_size: the command line, else ``recipe``, else defaults."""
    out = {}
    for key, default in args._net_defaults.items():
        given = getattr(args, key)
        out[key] = given if given is not None else recipe.get(key, default)
    for key in ("depth", "width", "activation"):
        out[key] = getattr(args, key)
    momentum = getattr(args, "momentum", None)
    out["momentum"] = 0.0 if momentum is None else momentum
    out["nesterov"] = bool(getattr(args, "nesterov", False))
    if out["optimizer"] != "sgd" and (momentum is not None or out["nesterov"]):
        raise SystemExit(f"error: --momentum and --nesterov apply to SGD, but the optimizer "
                         f"is {out['optimizer']} (Adam keeps its own running means); add "
                         "--optimizer sgd (stability.py: or --recipe lecture)")
    if not 0.0 <= out["momentum"] < 1.0:
        raise SystemExit(f"error: --momentum must lie in [0, 1), got {out['momentum']}")
    if out["nesterov"] and out["momentum"] == 0:
        raise SystemExit("error: --nesterov needs --momentum > 0 (e.g. --momentum 0.9)")
    if out["depth"] < 0 or out["width"] < 1 or out["epochs"] < 1 or out["batch_size"] < 1:
        raise SystemExit(f"error: need --depth >= 0, --width >= 1, --epochs >= 1 and "
                         f"--batch-size >= 1, got {out}")
    if out["lr"] <= 0:
        raise SystemExit(f"error: --lr must be > 0, got {out['lr']}")
    return out


def show_progress(args: argparse.Namespace) -> bool | None:
    """fit's ``progress`` argument: None lets it decide (terminal or not)."""
    return {"auto": None, "on": True, "off": False}[args.progress]


def progress(items: Iterable[Any], args: argparse.Namespace, **kw: Any) -> Iterator[Any]:
    """A tqdm bar over ``items`` when bars are on (auto: a terminal or a notebook)."""
    bar = progress_bar(items, show=show_progress(args), **kw)
    return iter(items if bar is None else bar)


def parse_int_list(text: str, what: str) -> list[list[int]]:
    """A JSON matrix like '[[2,3],[2,3]]' (for --config)."""
    try:
        value = json.loads(text)
        arr = np.asarray(value, dtype=np.int64)
    except (json.JSONDecodeError, TypeError, ValueError):
        raise SystemExit(f"error: {what} must be a JSON integer matrix such as "
                         f"'[[2,3],[2,3]]', got {text!r}") from None
    if arr.ndim != 2:
        raise SystemExit(f"error: {what} must be 2-d, got shape {arr.shape}")
    return arr.tolist()


# ------------------------------------------------------------------ networks
def mlp(n_in: int, n_out: int, settings: dict[str, Any], seed: int) -> nn.MLP:
    """An MLP with ``depth`` hidden layers of ``width`` units (eqs. 5-7)."""
    sizes = [n_in] + [settings["width"]] * settings["depth"] + [n_out]
    return nn.MLP(sizes, activation=settings["activation"], rng=seed)


def optimizer(model: nn.Module, settings: dict[str, Any]) -> nn.optim.Optimizer:
    if settings["optimizer"] == "sgd":
        return nn.optim.SGD(model.parameters(), lr=settings["lr"],
                            momentum=settings.get("momentum", 0.0),
                            nesterov=settings.get("nesterov", False))
    return nn.optim.Adam(model.parameters(), lr=settings["lr"])


def train(model: nn.Module, loss: Any, settings: dict[str, Any], train_data: tuple,
          args: argparse.Namespace, metrics: Any = None, drop_last: bool = False,
          val_data: tuple | None = None, callbacks: Sequence[Callback] | None = None
          ) -> nn.History:
    """nn.fit with the script's settings. The history records training curves; pass
    ``val_data`` only for a validation split carved from the training data, never the
    test set (a test set that steers or even just watches training is no longer a held-out
    score). ``drop_last`` skips each epoch's short final batch (the same shuffled order
    otherwise). ``callbacks`` go to nn.fit, called after each epoch (a sweep's pruner
    watches the curves through them)."""
    if drop_last:
        train_data = nn.DataLoader(*train_data, batch_size=settings["batch_size"],
                                   shuffle=True, drop_last=True, rng=args.seed)
    return nn.fit(model, loss, optimizer(model, settings), train_data,
                  epochs=settings["epochs"], batch_size=settings["batch_size"],
                  val_data=val_data, rng=args.seed, metrics=metrics,
                  progress=show_progress(args), callbacks=callbacks)


# ------------------------------------------------------------------ files
def to_jsonable(value: Any) -> Any:
    """numpy scalars and arrays to plain Python, for json.dumps."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    return value


def write_json(path: str | os.PathLike, value: Any) -> Path:
    return write_atomic(path, json.dumps(to_jsonable(value), indent=2, sort_keys=True) + "\n")


def output_folder(args: argparse.Namespace) -> Path:
    """Create --out and say where the results go."""
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    print(f"output folder: {out.resolve()}")
    return out


def finish(out: Path, metrics: dict[str, Any], started: float) -> dict[str, Any]:
    """Add ``seconds``, write metrics.json atomically and print it as the last line."""
    metrics = to_jsonable({**metrics, "seconds": round(time.perf_counter() - started, 3)})
    write_json(out / "metrics.json", metrics)
    print(json.dumps(metrics, sort_keys=True), flush=True)
    return metrics


# ------------------------------------------------------------------ pictures
def pyplot() -> Any:
    """matplotlib.pyplot on the Agg backend (files only, no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig: Any, path: str | os.PathLike) -> Path:
    """Save a matplotlib figure atomically (format from the suffix) and close it."""
    import io

    path = Path(path)
    buf = io.BytesIO()
    fig.savefig(buf, format=path.suffix.lstrip(".") or "png", dpi=120, bbox_inches="tight")
    pyplot().close(fig)
    return write_atomic(path, buf.getvalue())


def history_figure(histories: dict[str, dict[str, Sequence[float]]], title: str,
                   losses: dict[str, str] | None = None) -> Any:
    """Learning curves as a matplotlib figure: one panel per kind of loss (``losses`` maps
    a run's label to its loss's name; runs with different losses, MSE and cross-entropy
    say, get their own axes, since their scales mean different things), and a panel for
    the other recorded metrics only when there are any. Few epochs get markers (a one-epoch
    curve is a single point), epoch ticks are integers, legends sit below the axes."""
    from matplotlib.ticker import MaxNLocator

    plt = pyplot()
    losses = losses or {}
    kinds = list(dict.fromkeys(losses.get(label, "loss") for label in histories))
    has_metric = any(k not in ("lr",) and not k.endswith("loss") and v
                     for h in histories.values() for k, v in h.items())
    n = len(kinds) + has_metric
    fig, axes = plt.subplots(1, n, figsize=(4.6 * n + 0.6, 4.2), squeeze=False)
    panels = dict(zip(kinds, axes[0]))
    for label, hist in histories.items():
        prefix = f"{label} " if label else ""
        for key, values in hist.items():
            if key == "lr" or not values:
                continue
            ax = panels[losses.get(label, "loss")] if key.endswith("loss") else axes[0][-1]
            name = key.replace("val_", "validation ") if key.startswith("val_") \
                else f"train {key}"
            epochs = np.arange(1, len(values) + 1)
            ax.plot(epochs, values, label=prefix + name,
                    linestyle="--" if key.startswith("val_") else "-",
                    marker="o" if len(values) <= 30 else None, markersize=3)
    for kind, ax in panels.items():
        ax.set_ylabel(kind)
        values = [v for line in ax.lines for v in line.get_ydata()]
        if values and min(values) > 0 and max(values) > 20 * min(values):
            ax.set_yscale("log")
    if has_metric:
        axes[0][-1].set_ylabel("metric")
    longest = max((len(v) for h in histories.values() for v in h.values()), default=1)
    for ax in axes[0]:
        ax.set_xlabel("epoch")
        if longest <= 10:  # MaxNLocator falls back to fractions around a single epoch
            ax.set_xticks(range(1, longest + 1))
        else:
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16),
                      ncol=2, frameon=False)
    fig.suptitle(title)
    return fig


def plot_history(histories: dict[str, dict[str, Sequence[float]]], path: Path,
                 title: str, losses: dict[str, str] | None = None) -> Path:
    """``history_figure`` saved to ``path`` (atomically)."""
    return save_figure(history_figure(histories, title, losses), path)

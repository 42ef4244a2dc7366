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
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

import nn
from autograd.io import atomic_write as write_atomic

# ../shared/data relative to the repository root (examples/ -> repo -> its parent)
DATA_ROOT = Path(__file__).resolve().parents[2] / "shared" / "data"
DATA_HINT = ("the course's shared data (CICY lists, line-bundle tables) lives in "
             "../shared/data next to the repository; get it from the course materials "
             "or pass the path option")

ACTIVATIONS = ("relu", "tanh", "sigmoid", "leaky_relu")
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
                   help=f"adam, or plain SGD (eq. 15) (default: {optimizer})")
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
    """A tqdm bar over ``items`` when bars are on (quiet when not a terminal)."""
    show = show_progress(args)
    if show is None:
        show = sys.stderr.isatty()
    if show:
        try:
            from tqdm.auto import tqdm
        except ImportError:
            show = False
    return iter(tqdm(items, **kw) if show else items)


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
        return nn.optim.SGD(model.parameters(), lr=settings["lr"])
    return nn.optim.Adam(model.parameters(), lr=settings["lr"])


def train(model: nn.Module, loss: Any, settings: dict[str, Any], train_data: tuple,
          args: argparse.Namespace, metrics: Any = None, drop_last: bool = False,
          val_data: tuple | None = None) -> nn.History:
    """nn.fit with the script's settings. The history records training curves; pass
    ``val_data`` only for a validation split carved from the training data, never the
    test set (a test set that steers or even just watches training is no longer a held-out
    score). ``drop_last`` skips each epoch's short final batch (the same shuffled order
    otherwise)."""
    if drop_last:
        train_data = nn.DataLoader(*train_data, batch_size=settings["batch_size"],
                                   shuffle=True, drop_last=True, rng=args.seed)
    return nn.fit(model, loss, optimizer(model, settings), train_data,
                  epochs=settings["epochs"], batch_size=settings["batch_size"],
                  val_data=val_data, rng=args.seed, metrics=metrics,
                  progress=show_progress(args))


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


def plot_history(histories: dict[str, dict[str, Sequence[float]]], path: Path,
                 title: str) -> Path:
    """Learning curves: loss (left) and every other recorded metric (right), per run."""
    plt = pyplot()
    fig, (ax_loss, ax_metric) = plt.subplots(1, 2, figsize=(10, 3.8))
    for label, hist in histories.items():
        prefix = f"{label} " if label else ""
        for key, values in hist.items():
            if key == "lr" or not values:
                continue
            epochs = np.arange(1, len(values) + 1)
            ax = ax_loss if key.endswith("loss") else ax_metric
            name = key.replace("val_", "validation ") if key.startswith("val_") \
                else f"train {key}"
            ax.plot(epochs, values, label=prefix + name,
                    linestyle="--" if key.startswith("val_") else "-")
    ax_loss.set_yscale("log")
    for ax, ylabel in ((ax_loss, "loss"), (ax_metric, "metric")):
        ax.set_xlabel("epoch")
        ax.set_ylabel(ylabel)
        if ax.lines:
            ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    fig.suptitle(title)
    return save_figure(fig, path)

"""The training loop: ``fit`` runs epochs of mini-batch steps and returns a History;
``evaluate`` and ``predict`` run a model without recording a graph."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

import autograd as ag

from . import metrics as M
from .data import DataLoader
from .module import Module
from .optim import LRScheduler, Optimizer, ReduceLROnPlateau
from .progress import progress_bar
from .serialization import save_state

__all__ = ["EarlyStopping", "History", "evaluate", "fit", "predict"]

Metric = Callable[[Any, Any], float]
Callback = Callable[[int, "History"], Any]
_NAMED: dict[str, Metric] = {"accuracy": M.accuracy, "mae": M.mean_absolute_error,
                             "r2": M.r2_score}


class History(dict):
    """Per-epoch values: ``history["loss"]``, ``history["val_loss"]``, ``history["lr"]``,
    and one list per metric (``"accuracy"``, ``"val_accuracy"``, ...).

    ``best_epoch`` (0-based) is the epoch with the best monitored value;
    ``stopped_early`` tells whether training ended before ``epochs``, and
    ``stop_reason`` why: ``"early_stopping"`` or ``"callback"`` (None when it ran out).
    """

    best_epoch: int | None = None
    best_value: float | None = None
    stopped_early: bool = False
    stop_reason: str | None = None
    monitor: str = "loss"

    @property
    def epochs(self) -> int:
        return len(self.get("loss", []))

    def __repr__(self) -> str:
        last = {k: round(v[-1], 5) for k, v in self.items() if v}
        return f"History(epochs={self.epochs}, best_epoch={self.best_epoch}, last={last})"


class EarlyStopping:
    """Stop when the monitored value has not improved by ``min_delta`` for ``patience``
    epochs; with ``restore_best`` the model gets back its best weights at the end."""

    def __init__(self, patience: int = 10, min_delta: float = 0.0, restore_best: bool = True):
        if patience < 0:
            raise ValueError(f"EarlyStopping: patience must be >= 0, got {patience}")
        self.patience, self.min_delta, self.restore_best = patience, min_delta, restore_best


def _callbacks(callbacks: Any) -> list[Callback]:
    if callbacks is None:
        return []
    if callable(callbacks):
        callbacks = [callbacks]
    hooks = list(callbacks)
    for cb in hooks:
        if not callable(cb):
            raise TypeError(f"fit: callbacks must be functions cb(epoch, history), got "
                            f"{type(cb).__name__}")
    return hooks


def _mode(monitor: str) -> str:
    lowered = monitor.lower()
    return "min" if ("loss" in lowered or "mae" in lowered or "error" in lowered) else "max"


def _metric_table(metrics: Any) -> dict[str, Metric]:
    if metrics is None:
        return {}
    if isinstance(metrics, dict):
        return dict(metrics)
    table: dict[str, Metric] = {}
    for m in metrics:
        if isinstance(m, str):
            if m not in _NAMED:
                raise ValueError(f"fit: unknown metric {m!r}; use one of {sorted(_NAMED)} or "
                                 "pass a dict name -> fn(output, target)")
            table[m] = _NAMED[m]
        else:
            table[getattr(m, "__name__", f"metric{len(table)}")] = m
    return table


def _loader(data: Any, batch_size: int, shuffle: bool, rng: Any, who: str) -> Iterable:
    if isinstance(data, DataLoader) or (not isinstance(data, (tuple, list))
                                        and hasattr(data, "__iter__")):
        return data
    if isinstance(data, (tuple, list)) and len(data) == 2:
        return DataLoader(data[0], data[1], batch_size=batch_size, shuffle=shuffle, rng=rng)
    raise TypeError(f"{who}: pass a DataLoader or an (inputs, targets) pair, got {type(data)}")


def fit(model: Module, loss: Callable[[Any, Any], ag.Tensor], optimizer: Optimizer,
        data: Any, epochs: int = 10, *, val_data: Any = None, batch_size: int = 32,
        shuffle: bool = True, rng: Any = 0, metrics: Any = None,
        scheduler: LRScheduler | ReduceLROnPlateau | None = None,
        early_stopping: EarlyStopping | int | None = None, monitor: str | None = None,
        checkpoint: str | Path | None = None, progress: bool | None = None,
        callbacks: Iterable[Callback] | None = None) -> History:
    """Train ``model`` for ``epochs`` passes over ``data``; returns a History.

    ``data``/``val_data``: a DataLoader or an ``(inputs, targets)`` pair (then batched by
    ``batch_size``, shuffled each epoch from ``rng``). Each step is lecture eqs. 14-15:
    zero the gradients, forward, loss, backward, optimizer step. ``metrics``: names
    ("accuracy", "mae", "r2") or a dict name -> fn(output, target); train values are
    averages over the epoch's batches (taken before each step), validation values are
    computed on the whole validation set in eval mode. ``monitor`` (default "val_loss",
    or "loss" without validation data) drives early stopping, ReduceLROnPlateau and
    ``checkpoint`` (a .npz path where the best state so far is saved atomically).
    ``progress``: a tqdm bar; None shows it on a terminal and in Jupyter (a widget with
    ipywidgets), not in logs (``nn.progress.progress_bar``).
    ``callbacks``: functions ``cb(epoch, history)`` called after each epoch (0-based) once
    its row is recorded, the scheduler stepped and the checkpoint written; one returning
    True stops training after that epoch (``history.stop_reason == "callback"``, best
    weights restored as with early stopping). An exception a callback raises (a pruner's,
    say) propagates.

    An exception raised during training (a full disk while ``checkpoint`` is written, a
    NaN loss, a callback's, Ctrl-C) propagates with the History of the finished epochs
    attached as ``exc.history``; the model keeps its latest weights. Raising rather than
    warning and going on: a checkpoint the user asked for that silently stops updating is
    found out only when it is needed, while the error loses nothing (the earlier
    checkpoint file stays whole, the History rides on the error).
    """
    if isinstance(epochs, (bool, np.bool_)) or not isinstance(epochs, (int, np.integer)):
        raise TypeError(f"fit: epochs must be a whole number, got {type(epochs).__name__} "
                        f"{epochs!r}")
    if epochs < 0:
        raise ValueError(f"fit: epochs must be >= 0, got {epochs}")
    table = _metric_table(metrics)
    hooks = _callbacks(callbacks)
    train_loader = _loader(data, batch_size, shuffle, rng, "fit")
    val_loader = None if val_data is None else _loader(val_data, batch_size, False, None,
                                                       "fit(val_data)")
    monitor = monitor or ("val_loss" if val_loader is not None else "loss")
    mode = _mode(monitor)
    stopper = EarlyStopping(early_stopping) if isinstance(early_stopping, int) \
        else early_stopping
    history = History()
    history.monitor = monitor
    best_state: dict[str, np.ndarray] | None = None
    waited = 0
    bar = progress_bar(total=epochs, show=progress, unit="epoch", leave=True)
    try:
        for epoch in range(epochs):
            row = _train_epoch(model, loss, optimizer, train_loader, table, epoch)
            if val_loader is not None:
                row.update({f"val_{k}": v for k, v in
                            evaluate(model, loss, val_loader, table).items()})
            row["lr"] = optimizer.param_groups[0]["lr"]
            for k, v in row.items():
                history.setdefault(k, []).append(v)
            if monitor not in row:
                raise KeyError(f"fit: monitor {monitor!r} is not recorded; recorded are "
                               f"{sorted(row)}")
            value = row[monitor]
            delta = stopper.min_delta if stopper else 0.0
            better = history.best_value is None or (
                value < history.best_value - delta if mode == "min"
                else value > history.best_value + delta)
            if better:
                history.best_value, history.best_epoch, waited = value, epoch, 0
                if stopper is not None and stopper.restore_best:
                    best_state = model.state_dict()
                if checkpoint is not None:
                    save_state(model, checkpoint)
            else:
                waited += 1
            if isinstance(scheduler, ReduceLROnPlateau):
                scheduler.step(value)
            elif scheduler is not None:
                scheduler.step()
            if bar is not None:  # redrawn by update() at tqdm's pace, not every epoch
                bar.set_postfix({k: f"{v:.4g}" for k, v in row.items() if k != "lr"},
                                refresh=False)
                bar.update(1)
            asked = [bool(cb(epoch, history)) for cb in hooks]  # every callback runs
            if stopper is not None and waited > stopper.patience:
                history.stopped_early, history.stop_reason = True, "early_stopping"
                break
            if any(asked):
                history.stopped_early, history.stop_reason = True, "callback"
                break
    except BaseException as e:
        if not hasattr(e, "history"):
            e.history = history
            _note(e, f"fit: stopped with {history.epochs} epochs recorded; their History "
                     "is this exception's .history")
        raise
    finally:
        if bar is not None:
            bar.close()
    if best_state is not None:
        model.load_state_dict(best_state)
    return history


def _note(e: BaseException, text: str) -> None:
    if hasattr(e, "add_note"):  # Python >= 3.11 shows notes under the traceback
        e.add_note(text)


def _train_epoch(model: Module, loss: Callable, optimizer: Optimizer, loader: Iterable,
                 table: dict[str, Metric], epoch: int) -> dict[str, float]:
    model.train()
    total, count = 0.0, 0
    sums = dict.fromkeys(table, 0.0)
    for step, batch in enumerate(loader):
        xb, yb = batch
        optimizer.zero_grad()
        out = model(xb)
        value = loss(out, yb)
        value.backward()
        lv = value.item()
        if not math.isfinite(lv):
            raise FloatingPointError(
                f"fit: the loss became {lv} at epoch {epoch}, batch {step} (batch of shape "
                f"{tuple(xb.shape)}); lower the learning rate, check the inputs for extreme "
                "values, or run under autograd.detect_anomaly() to find the op")
        optimizer.step()
        n = len(xb)
        total += lv * n
        count += n
        for k, fn in table.items():
            sums[k] += fn(out, yb) * n
    if count == 0:
        raise ValueError("fit: the training data gave no batches")
    row = {"loss": total / count}
    row.update({k: s / count for k, s in sums.items()})
    return row


def _batches(data: Any, who: str) -> Iterable:
    return _loader(data, 1024, False, None, who)


def evaluate(model: Module, loss: Callable | None, data: Any,
             metrics: Any = None) -> dict[str, float]:
    """Loss (mean over samples) and metrics on the whole of ``data`` in eval mode, without
    recording a graph; the model's train/eval mode is restored afterwards."""
    table = _metric_table(metrics)
    was_training = model.training
    model.eval()
    outs, targets, total, count = [], [], 0.0, 0
    try:
        with ag.no_grad():
            for xb, yb in _batches(data, "evaluate"):
                out = model(xb)
                if loss is not None:
                    total += loss(out, yb).item() * len(xb)
                count += len(xb)
                outs.append(out.data)
                targets.append(yb.data if isinstance(yb, ag.Tensor) else np.asarray(yb))
    finally:
        model.train(was_training)
    if count == 0:
        raise ValueError("evaluate: the data gave no batches")
    out_all, tgt_all = np.concatenate(outs), np.concatenate(targets)
    row = {"loss": total / count} if loss is not None else {}
    row.update({k: float(fn(out_all, tgt_all)) for k, fn in table.items()})
    return row


def predict(model: Module, x: Any, batch_size: int | None = None) -> np.ndarray:
    """The model's outputs for ``x`` as an array, in eval mode and without a graph."""
    was_training = model.training
    model.eval()
    try:
        with ag.no_grad():
            arr = x.data if isinstance(x, ag.Tensor) else np.asarray(x)
            if batch_size is None:
                return model(ag.Tensor(arr)).data
            return np.concatenate([model(ag.Tensor(arr[i:i + batch_size])).data
                                   for i in range(0, len(arr), batch_size)])
    finally:
        model.train(was_training)

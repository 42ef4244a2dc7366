"""Learning-rate schedules. Call ``scheduler.step()`` once per epoch, after the
optimizer's steps (``ReduceLROnPlateau.step(metric)`` takes the monitored value).

The closed-form schedules compute lr from the epoch count and each group's initial lr,
so they are exact after any number of steps and can be restored from ``last_epoch``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from .._state import Problems, array_of, as_mapping, key_diff, real_scalar
from .optimizer import Optimizer


def _optimizer(who: str, optimizer: Any) -> Optimizer:
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"{who}: expected an nn.optim optimizer, got "
                        f"{type(optimizer).__name__}")
    return optimizer


def _count(who: str, name: str, value: Any, low: int) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{who}: {name} must be an integer, got {type(value).__name__} "
                        f"{value!r}")
    if value < low:
        raise ValueError(f"{who}: {name} must be >= {low}, got {value}")
    return int(value)


def _finite(who: str, name: str, value: Any, low: float | None = None) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer,
                                                                    np.floating)):
        raise TypeError(f"{who}: {name} must be a real number, got {type(value).__name__} "
                        f"{value!r}")
    out = float(value)
    if not math.isfinite(out) or (low is not None and out < low):
        bound = f" and >= {low}" if low is not None else ""
        raise ValueError(f"{who}: {name} must be finite{bound}, got {value!r}")
    return out


class _Stateful:
    """state_dict/load_state_dict for schedules: the attributes named in ``_saved`` (ints
    or floats) as 0-d arrays, checked by the constructor's rules on load (``_check``)."""

    _saved: tuple[str, ...] = ()
    _ints: tuple[str, ...] = ()  # the others are floats, or str where the value is one

    def _check(self, values: dict[str, Any]) -> None:
        """Raise TypeError/ValueError when ``values`` would not pass the constructor."""

    def _validate(self) -> None:
        """Check the constructor's arguments, then store the reals as Python floats."""
        self._check({k: getattr(self, k) for k in self._saved})
        for k in self._saved:
            v = getattr(self, k)
            if k not in self._ints and not isinstance(v, str):
                setattr(self, k, float(v))

    def state_dict(self) -> dict[str, np.ndarray]:
        """The schedule's counters and settings as 0-d arrays (``nn.save_state`` writes
        them); the optimizer's learning rates are in the optimizer's own state."""
        return {k: np.array(getattr(self, k)) for k in self._saved}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore a ``state_dict()``, all or nothing (one error lists every problem)."""
        who = f"{type(self).__name__}.load_state_dict"
        state = as_mapping(who, state)
        problems = Problems()
        key_diff(problems, set(self._saved), set(state))
        values: dict[str, Any] = {}
        for k in self._saved:
            if k in state:
                old = getattr(self, k)
                if isinstance(old, str):
                    a = array_of(state[k])
                    if a.shape == () and a.dtype.kind == "U":
                        values[k] = str(a)
                    else:
                        problems.append(f"{k} must be a string, got {a.dtype} {a.shape}")
                    continue
                v = real_scalar(problems, k, state[k], integer=k in self._ints,
                                finite=False)
                if v is not None and math.isnan(v):
                    problems.append(f"{k} is NaN")
                elif v is not None:
                    values[k] = v
        if not problems:
            try:
                self._check(values)
            except (TypeError, ValueError) as e:
                problems.append(str(e))
        problems.raise_if_any(who, "the schedule was not changed")
        for k, v in values.items():
            setattr(self, k, v)


class LRScheduler(_Stateful):
    _saved = ("last_epoch",)
    _ints = ("last_epoch",)

    def __init__(self, optimizer: Optimizer) -> None:
        self.optimizer = _optimizer(type(self).__name__, optimizer)
        self.last_epoch = 0

    def _check(self, values: dict[str, Any]) -> None:
        _count(type(self).__name__, "last_epoch", values["last_epoch"], 0)

    def lr_at(self, base_lr: float, epoch: int) -> float:
        raise NotImplementedError

    def step(self) -> None:
        self.last_epoch += 1
        for group in self.optimizer.param_groups:
            group["lr"] = self.lr_at(group["initial_lr"], self.last_epoch)

    def get_last_lr(self) -> list[float]:
        return [g["lr"] for g in self.optimizer.param_groups]


class StepLR(LRScheduler):
    """lr = initial * gamma ** (epoch // step_size)."""

    _saved = ("last_epoch", "step_size", "gamma")
    _ints = ("last_epoch", "step_size")

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1) -> None:
        super().__init__(optimizer)
        self.step_size, self.gamma = step_size, gamma
        self._validate()

    def _check(self, values: dict[str, Any]) -> None:
        super()._check(values)
        _count("StepLR", "step_size", values["step_size"], 1)
        _finite("StepLR", "gamma", values["gamma"], 0.0)

    def lr_at(self, base_lr: float, epoch: int) -> float:
        return base_lr * self.gamma ** (epoch // self.step_size)


class ExponentialLR(LRScheduler):
    """lr = initial * gamma ** epoch."""

    _saved = ("last_epoch", "gamma")

    def __init__(self, optimizer: Optimizer, gamma: float) -> None:
        super().__init__(optimizer)
        self.gamma = gamma
        self._validate()

    def _check(self, values: dict[str, Any]) -> None:
        super()._check(values)
        _finite("ExponentialLR", "gamma", values["gamma"], 0.0)

    def lr_at(self, base_lr: float, epoch: int) -> float:
        return base_lr * self.gamma ** epoch


class CosineAnnealingLR(LRScheduler):
    """lr = eta_min + (initial - eta_min) (1 + cos(pi epoch / T_max)) / 2, then eta_min
    held after T_max epochs (no restarts)."""

    _saved = ("last_epoch", "T_max", "eta_min")
    _ints = ("last_epoch", "T_max")

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0) -> None:  # noqa: N803
        super().__init__(optimizer)
        self.T_max, self.eta_min = T_max, eta_min
        self._validate()

    def _check(self, values: dict[str, Any]) -> None:
        super()._check(values)
        _count("CosineAnnealingLR", "T_max", values["T_max"], 1)
        _finite("CosineAnnealingLR", "eta_min", values["eta_min"], 0.0)

    def lr_at(self, base_lr: float, epoch: int) -> float:
        e = min(epoch, self.T_max)
        cosine = (1 + math.cos(math.pi * e / self.T_max)) / 2
        return self.eta_min + (base_lr - self.eta_min) * cosine


class ReduceLROnPlateau(_Stateful):
    """Multiply lr by ``factor`` when the monitored value has not improved by more than
    ``threshold`` for ``patience`` epochs; then wait ``cooldown`` epochs.
    ``threshold_mode``: "rel" (improve on best by threshold * |best|, PyTorch's default)
    or "abs" (by threshold itself, Keras' ``min_delta``)."""

    _saved = ("mode", "factor", "patience", "threshold", "threshold_mode", "cooldown",
              "min_lr", "best", "bad_epochs", "cooldown_left")
    _ints = ("patience", "cooldown", "bad_epochs", "cooldown_left")

    def __init__(self, optimizer: Optimizer, mode: str = "min", factor: float = 0.1,
                 patience: int = 10, threshold: float = 1e-4, cooldown: int = 0,
                 min_lr: float = 0.0, threshold_mode: str = "rel") -> None:
        self.optimizer = _optimizer("ReduceLROnPlateau", optimizer)
        self.mode, self.factor, self.threshold_mode = mode, factor, threshold_mode
        self.patience, self.threshold, self.cooldown, self.min_lr = (patience, threshold,
                                                                     cooldown, min_lr)
        self.best = math.inf if mode == "min" else -math.inf
        self.bad_epochs = 0
        self.cooldown_left = 0
        self._validate()

    def _check(self, values: dict[str, Any]) -> None:
        who = "ReduceLROnPlateau"
        if values["mode"] not in ("min", "max"):
            raise ValueError(f"{who}: mode must be 'min' or 'max', got {values['mode']!r}")
        if values["threshold_mode"] not in ("rel", "abs"):
            raise ValueError(f"{who}: threshold_mode must be 'rel' or 'abs', got "
                             f"{values['threshold_mode']!r}")
        factor = _finite(who, "factor", values["factor"])
        if not 0.0 < factor < 1.0:
            raise ValueError(f"{who}: factor must lie in (0, 1), got {factor}")
        _count(who, "patience", values["patience"], 0)
        _finite(who, "threshold", values["threshold"], 0.0)
        _count(who, "cooldown", values["cooldown"], 0)
        _finite(who, "min_lr", values["min_lr"], 0.0)
        _count(who, "bad_epochs", values["bad_epochs"], 0)
        _count(who, "cooldown_left", values["cooldown_left"], 0)
        best = values["best"]
        if not isinstance(best, (int, float)) or math.isnan(best):
            raise ValueError(f"{who}: best must be a number, got {best!r}")

    def _improved(self, value: float) -> bool:
        if math.isinf(self.best):  # the first value (inf * threshold would give nan)
            return True
        delta = self.threshold if self.threshold_mode == "abs" else abs(self.best) * self.threshold
        if self.mode == "min":
            return value < self.best - delta
        return value > self.best + delta

    def step(self, value: float) -> None:
        value = float(value)
        if self._improved(value):
            self.best, self.bad_epochs = value, 0
        else:
            self.bad_epochs += 1
        if self.cooldown_left > 0:
            self.cooldown_left -= 1
            self.bad_epochs = 0
        if self.bad_epochs > self.patience:
            for group in self.optimizer.param_groups:
                group["lr"] = max(group["lr"] * self.factor, self.min_lr)
            self.cooldown_left, self.bad_epochs = self.cooldown, 0

    def get_last_lr(self) -> list[float]:
        return [g["lr"] for g in self.optimizer.param_groups]

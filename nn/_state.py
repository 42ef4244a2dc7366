"""Checks shared by every ``load_state_dict`` (modules, optimizers, LR schedules).

A state dict is a flat mapping from dotted names to numpy arrays, so that one file
format (``nn.save_state``) holds a model, an optimizer or a schedule. Loading follows one
pattern everywhere: read every entry into a ``Problems`` list or a new value, and assign
only when the list is empty, so a bad state changes nothing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

import autograd as ag

REAL_KINDS = "biuf"  # bool, signed and unsigned integers, floats: what parameters hold


class Problems(list):
    """Messages about one state dict, raised together as one ValueError."""

    def raise_if_any(self, who: str, hint: str) -> None:
        if self:
            raise ValueError(f"{who}: " + "; ".join(self) + f"; {hint}")


def as_mapping(who: str, state: Any) -> Mapping[str, Any]:
    if not isinstance(state, Mapping):
        raise TypeError(f"{who}: expected a state dict (a mapping name -> array, as "
                        f"state_dict() or nn.load_state(path) return), got "
                        f"{type(state).__name__}")
    bad = [k for k in state if not isinstance(k, str)]
    if bad:
        raise TypeError(f"{who}: state dict keys must be strings, got {bad[:3]!r}")
    return state


def key_diff(problems: Problems, expected: set[str], given: set[str]) -> None:
    missing, unexpected = sorted(expected - given), sorted(given - expected)
    if missing:
        problems.append(f"missing keys {missing}")
    if unexpected:
        problems.append(f"unexpected keys {unexpected}")


def array_of(value: Any) -> np.ndarray:
    return value.data if isinstance(value, ag.Tensor) else np.asarray(value)


def real_scalar(problems: Problems, key: str, value: Any, *, integer: bool = False,
                finite: bool = True) -> float | int | None:
    """A 0-d real entry as a Python float (or int), or None after noting the problem."""
    a = array_of(value)
    kinds = "iu" if integer else "iuf"
    if a.shape != () or a.dtype.kind not in kinds:
        want = "an integer" if integer else "a real number"
        problems.append(f"{key} must be {want} (0-d), got {a.dtype} array of shape {a.shape}")
        return None
    out = int(a) if integer else float(a)
    if finite and not math.isfinite(out):
        problems.append(f"{key} must be finite, got {out}")
        return None
    return out


def bool_scalar(problems: Problems, key: str, value: Any) -> bool | None:
    a = array_of(value)
    if a.shape != () or a.dtype.kind != "b":
        problems.append(f"{key} must be a bool (0-d), got {a.dtype} array of shape {a.shape}")
        return None
    return bool(a)


def like(problems: Problems, key: str, value: Any, target: np.ndarray, *,
         exact_dtype: bool = False, owner: str = "target") -> np.ndarray | None:
    """``value`` as a new array of ``target``'s shape and dtype, or None after noting why
    not: it must be real (no complex, dates, strings, objects), of the same shape, finite
    where the target is a float array, and castable within its kind (float64 into a
    float32 model is allowed, as PyTorch's ``copy_`` allows it; complex into float is not).
    ``exact_dtype`` asks for the same kind and width, for state that must resume bit-exact.
    """
    a = array_of(value)
    if a.dtype.kind not in REAL_KINDS or a.dtype.fields is not None:
        problems.append(f"{key}: dtype {a.dtype} is not a real numeric type (saved from "
                        "something other than a cygrad state?)")
        return None
    if a.shape != target.shape:
        problems.append(f"{key}: {owner} has {target.shape}, state has {a.shape}")
        return None
    if exact_dtype and (a.dtype.kind, a.dtype.itemsize) != (target.dtype.kind,
                                                            target.dtype.itemsize):
        problems.append(f"{key}: {owner} has dtype {target.dtype}, state has {a.dtype}")
        return None
    if not np.can_cast(a.dtype, target.dtype, casting="same_kind"):
        problems.append(f"{key}: cannot load dtype {a.dtype} into {target.dtype}")
        return None
    if a.dtype.kind == "f" and not np.isfinite(a).all():
        problems.append(f"{key}: holds NaN or inf (saved from a diverged run?)")
        return None
    return np.array(a, dtype=target.dtype, copy=True)

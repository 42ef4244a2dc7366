"""Input checks shared by the physics modules: integer arrays with a named last axis."""

from __future__ import annotations

import numpy as np

# Above this magnitude int64 products/sums may wrap around; callers switch to Python ints.
INT64_SAFE = 2**62


def as_int_array(x: object, name: str) -> np.ndarray:
    """Return `x` as an int64 array, refusing non-integral or non-numeric input.

    Floats are accepted when every entry is integral (tables store charges as ``-10.0``).
    """
    if isinstance(x, np.ndarray) and x.dtype == object:
        arr = x
    else:
        try:
            arr = np.asarray(x)
        except ValueError as exc:  # ragged nested lists
            raise ValueError(f"{name} must be a rectangular array of integers: {exc}") from None
    if arr.dtype == bool or not (
        np.issubdtype(arr.dtype, np.integer)
        or np.issubdtype(arr.dtype, np.floating)
        or arr.dtype == object
    ):
        raise TypeError(f"{name} must contain integers, got dtype {arr.dtype}")
    if arr.dtype == object:
        try:
            as_int = np.vectorize(int, otypes=[object])(arr) if arr.size else arr
        except (TypeError, ValueError):
            raise TypeError(f"{name} must contain integers") from None
        if arr.size and np.any(as_int != arr):
            raise ValueError(f"{name} must contain integers")
        return as_int
    if np.issubdtype(arr.dtype, np.floating):
        if not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
            raise ValueError(
                f"{name} must contain integers; got non-integral or non-finite floats "
                f"(first offending value {arr[arr != np.round(arr)].ravel()[:1].tolist()})"
            )
        if arr.size and np.max(np.abs(arr)) >= INT64_SAFE:
            raise ValueError(f"{name} has entries too large to convert exactly from float")
        return arr.astype(np.int64)
    return arr.astype(np.int64, copy=False)


def check_last_axis(arr: np.ndarray, m: int, name: str) -> None:
    """Raise a ValueError unless the last axis of `arr` has length m (the number of factors)."""
    if arr.ndim == 0 or arr.shape[-1] != m:
        raise ValueError(
            f"{name} must have shape (..., {m}) (one entry per projective factor), "
            f"got shape {arr.shape}"
        )


def promote_if_large(arr: np.ndarray, bound: int | float) -> np.ndarray:
    """Return `arr` as Python-int objects when intermediate values may exceed int64."""
    if arr.dtype != object and bound >= INT64_SAFE:
        return arr.astype(object)
    return arr

"""Input checks shared by the physics modules: integer arrays with a named last axis."""

from __future__ import annotations

import numpy as np

# Above this magnitude int64 products/sums may wrap around; callers switch to Python ints.
INT64_SAFE = 2**62


INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def _exact_int(v: object, name: str) -> int:
    """One entry as a Python int, exactly; bools, strings and fractions are refused."""
    if isinstance(v, (bool, np.bool_)):
        raise TypeError(f"{name} must contain integers, got the bool {v!r}")
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        f = float(v)
        if not np.isfinite(f) or f != round(f):
            raise ValueError(f"{name} must contain integers; got the non-integral or "
                             f"non-finite value {v!r}")
        if abs(f) >= INT64_SAFE:
            raise ValueError(f"{name} has the float {v!r}, too large to be an exact integer; "
                             "pass Python ints")
        return int(f)
    raise TypeError(f"{name} must contain integers, got {type(v).__name__} {v!r}")


def as_int_array(x: object, name: str) -> np.ndarray:
    """Return `x` as an int64 array, or as an array of Python ints when an entry does not
    fit int64, refusing non-integral or non-numeric input.

    Lists are read element by element as Python objects, so an integer of any size stays
    exact (numpy alone would turn [2**63, 1] into floats). Floats are accepted when every
    entry is integral (tables store charges as ``-10.0``).
    """
    if isinstance(x, np.ndarray) and x.dtype != object:
        arr = x
        if arr.dtype == bool or not (np.issubdtype(arr.dtype, np.integer)
                                     or np.issubdtype(arr.dtype, np.floating)):
            raise TypeError(f"{name} must contain integers, got dtype {arr.dtype}")
        if np.issubdtype(arr.dtype, np.unsignedinteger) and arr.size and \
                int(arr.max()) > INT64_MAX:
            return arr.astype(object)  # exact: no wrap-around into negative numbers
        if np.issubdtype(arr.dtype, np.floating):
            if not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
                raise ValueError(
                    f"{name} must contain integers; got non-integral or non-finite floats "
                    f"(first offending value "
                    f"{arr[~np.isfinite(arr) | (arr != np.round(arr))].ravel()[:1].tolist()})"
                )
            if arr.size and np.max(np.abs(arr)) >= INT64_SAFE:
                raise ValueError(f"{name} has entries too large to convert exactly from float")
        return arr.astype(np.int64, copy=False)
    try:
        arr = np.array(x, dtype=object)
    except ValueError as exc:  # ragged nested lists
        raise ValueError(f"{name} must be a rectangular array of integers: {exc}") from None
    flat = [_exact_int(v, name) for v in arr.ravel().tolist()]
    if all(INT64_MIN <= v <= INT64_MAX for v in flat):
        return np.array(flat, dtype=np.int64).reshape(arr.shape)
    out = np.empty(len(flat), dtype=object)
    out[:] = flat
    return out.reshape(arr.shape)


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

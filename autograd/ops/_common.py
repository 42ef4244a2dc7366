"""Input handling shared by the op modules, and the samplers tests draw op inputs from.

Samplers describe valid inputs through the drawing interface ``d`` of
``autograd.testing`` (no hypothesis import here: the engine's runtime needs numpy only).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..tensor import Tensor, apply

_F64 = np.dtype(np.float64)
_NDARRAY = np.ndarray  # a global: CPython 3.11 does not specialise np.ndarray's lookup


def as_tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def const(v: Any, dtype: np.dtype) -> Any:
    """A non-tensor operand: Python scalars stay weak (keep float32 float32); arrays take
    the tensor's floating dtype so a constant never silently promotes the result.

    numpy scalars become Python numbers: numpy treats ``np.float64(0.5)`` as strongly
    typed (NEP 50), so ``x32 * np.float64(0.5)`` would otherwise be float64 with float64
    gradients (``np.float64`` even passes ``isinstance(v, float)``)."""
    t = type(v)
    if t is float or t is int or t is bool:
        return v
    if isinstance(v, np.generic) and v.dtype.kind in "fiub":
        return v.item()
    arr = np.asarray(v)
    if dtype.kind == "f" and arr.dtype != dtype and arr.dtype.kind in "fiub":
        arr = arr.astype(dtype)
    return arr


def param_fits(op_name: str, name: str, value: Any, shape: tuple[int, ...]) -> None:
    """An array parameter of an elementwise op (a slope, a bound) may broadcast against
    x but not enlarge it: the op's output, and x's gradient, have x's shape."""
    if isinstance(value, np.ndarray) and value.ndim:
        try:
            fits = np.broadcast_shapes(value.shape, shape) == shape
        except ValueError:
            fits = False
        if not fits:
            raise ValueError(
                f"{op_name}: {name} has shape {value.shape}, which does not broadcast to the "
                f"input's shape {shape}; give a number or an array that broadcasts to {shape}"
            )


def match_float(x: Any, xd: Any, y: Any, yd: Any) -> tuple[Any, Any, Any, Any]:
    """Two tensors of different dtypes: an integer or boolean one (which cannot require
    grad) is a constant, so it takes the other's floating dtype instead of promoting it
    (float32 * int64 is float64 in numpy). Float/float pairs promote as numpy does."""
    xk, yk = xd.dtype.kind, yd.dtype.kind
    if xk == "f" and yk in "iub":
        y = yd = yd.astype(xd.dtype)
    elif yk == "f" and xk in "iub":
        x = xd = xd.astype(yd.dtype)
    return x, xd, y, yd


def constants_as(items: Any) -> tuple:
    """Tensors for an op taking several operands (einsum, concatenate, stack): constants
    (arrays, integer tensors) take the floating dtype of the float tensors among them."""
    floats = [t._data.dtype for t in items if isinstance(t, Tensor) and t._data.dtype.kind == "f"]
    if not floats:
        return tuple(as_tensor(t) for t in items)
    dtype = np.result_type(*floats)
    out = []
    for t in items:
        if not isinstance(t, Tensor) or t._data.dtype.kind in "iub":
            arr = np.asarray(t._data if isinstance(t, Tensor) else t)
            t = Tensor(arr.astype(dtype) if arr.dtype.kind in "fiub" else arr)
        out.append(t)
    return tuple(out)


class _Float64Constants(dict):
    """Float constants as read-only 0-d float64 arrays, each made once: code repeats its
    constants (x * 0.5 in every step), and making the array costs as much as the op's
    ufunc. ``constants[v]`` makes a missing one."""

    limit = 512

    def __missing__(self, v: float) -> np.ndarray:
        arr = np.array(v, _F64)
        arr.flags.writeable = False
        # Zero is not kept: 0.0 == -0.0 would share one entry and lose the sign of zero
        # (x * -0.0); NaN never equals its key.
        if v and v == v:
            if len(self) >= self.limit:
                self.clear()  # constants drawn from data, not written in code: stay bounded
            self[v] = arr
        return arr


_F64_CONSTANTS = _Float64Constants()


def binary(op: Any, x: Any, y: Any, fwd: Any) -> Tensor:
    """Apply a broadcasting binary op; either side may be a constant."""
    ty = type(y)
    if (ty is float or ty is int) and isinstance(x, Tensor):  # tensor <op> Python number
        xd = x._data
        if ty is float and xd.dtype is _F64 and type(xd) is _NDARRAY:
            # numpy's ufuncs take a 0-d array of the array's dtype much faster than a
            # Python float (whose weak type must be resolved), here and again in the
            # backward rule; in float64 the conversion is exact. (A numpy scalar is
            # faster still with the Python float: scalar arithmetic.)
            y = _F64_CONSTANTS[y]
        # a number keeps x's shape and (weakly typed) its dtype
        return apply(op, (x, y), fwd(xd, y), like=x.grad_fn)
    like = None
    if isinstance(x, Tensor):
        xd = x._data
        if isinstance(y, Tensor):
            yd = y._data
            dtype = xd.dtype
            same = yd.dtype is dtype
            if not same:  # rare: an int/bool tensor used as a constant
                x, xd, y, yd = match_float(x, xd, y, yd)
                dtype = xd.dtype
            if not xd.ndim and not yd.ndim and dtype.kind == "f":
                # Two 0-d floats (a scalar graph): as numpy scalars they take numpy's
                # scalar arithmetic, ~10x faster than a ufunc on 0-d arrays (leaves).
                # Integers stay arrays, which wrap on overflow where scalars warn.
                if type(xd) is _NDARRAY:
                    xd = xd[()]
                if type(yd) is _NDARRAY:
                    yd = yd[()]
                if same:  # the result is 0-d in the same dtype
                    like = x.grad_fn or y.grad_fn
        else:
            y = yd = const(y, xd.dtype)
    elif isinstance(y, Tensor):
        yd = y._data
        x = xd = const(x, yd.dtype)
    else:
        x = as_tensor(x)
        xd = x._data
        y = yd = const(y, xd.dtype)
    try:
        data = fwd(xd, yd)
    except ValueError as e:
        try:
            np.broadcast_shapes(np.shape(xd), np.shape(yd))
        except ValueError:
            raise ValueError(
                f"{op.name}: shapes {np.shape(xd)} and {np.shape(yd)} do not broadcast "
                "together (trailing dimensions must be equal or 1); reshape one side"
            ) from e
        raise ValueError(f"{op.name}: {e}") from e  # not a shape problem (int ** -1)
    return apply(op, (x, y), data, like=like)


# -- samplers: each returns (args, kwargs) drawn through the interface `d` ----------------

def unary(domain: Any = "real", **kwargs: Any) -> Any:
    def sample(d: Any) -> tuple[tuple, dict]:
        return (d.array(d.shape(), domain),), dict(kwargs)

    return sample


def binary_sample(dx: Any = "real", dy: Any = "real") -> Any:
    def sample(d: Any) -> tuple[tuple, dict]:
        sx, sy = d.broadcast_shapes(2)
        return (d.array(sx, dx), d.array(sy, dy)), {}

    return sample


def reduction(domain: Any = "real") -> Any:
    def sample(d: Any) -> tuple[tuple, dict]:
        shape = d.shape()
        return (d.array(shape, domain),), {"axis": d.axis(len(shape)),
                                           "keepdims": d.boolean()}

    return sample


def along_axis(domain: Any = "real") -> Any:
    def sample(d: Any) -> tuple[tuple, dict]:
        shape = d.shape(min_dims=1)
        return (d.array(shape, domain),), {"axis": d.integers(-len(shape), len(shape) - 1)}

    return sample

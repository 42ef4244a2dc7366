"""numpy functions called on Tensors: the registered op, or a clear refusal.

``np.exp(x)``, ``np.sum(x, axis=0)``, ``np.concatenate([a, b])`` on Tensors run cygrad's
op of the same meaning, so they record like ``ag.exp(x)``. A numpy function with no op
here would compute on the bare arrays and drop the gradient without a word; when a tensor
that requires grad is involved while recording, that is a ``TypeError`` saying what to
call instead. Functions whose results carry no gradient (comparisons, ``isfinite``,
``sign``, ``argmax``, ``shape``) run on the arrays.

Leaving the graph on purpose stays possible and explicit: ``np.asarray(x)`` (or
``x.numpy()``, ``x.detach()``) gives the array.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import mode
from .tensor import Tensor, wrap


def _ops() -> Any:
    from . import ops

    return ops


def _ufunc_ops() -> dict[np.ufunc, Any]:
    o = _ops()
    return {np.add: o.add, np.subtract: o.sub, np.multiply: o.mul, np.true_divide: o.div,
            np.power: o.pow, np.negative: o.neg, np.exp: o.exp, np.log: o.log,
            np.sqrt: o.sqrt, np.tanh: o.tanh, np.absolute: o.abs, np.maximum: o.maximum,
            np.minimum: o.minimum, np.matmul: o.matmul,
            np.positive: lambda x: o.mul(x, 1), np.square: lambda x: o.mul(x, x)}


# ufuncs whose outputs are boolean or piecewise constant: no gradient to lose
_CONSTANT_UFUNCS = {np.less, np.less_equal, np.greater, np.greater_equal, np.equal,
                    np.not_equal, np.logical_and, np.logical_or, np.logical_xor,
                    np.logical_not, np.isfinite, np.isnan, np.isinf, np.signbit, np.sign,
                    np.floor, np.ceil, np.rint, np.trunc}
_REDUCE_OPS = {np.add: "sum", np.maximum: "max", np.minimum: "min"}


def _function_ops() -> dict[Any, Any]:
    o = _ops()
    return {np.sum: o.sum, np.mean: o.mean, np.max: o.max, np.amax: o.max, np.min: o.min,
            np.amin: o.min, np.reshape: o.reshape, np.transpose: o.transpose,
            np.concatenate: o.concatenate, np.stack: o.stack, np.einsum: o.einsum,
            np.where: o.where, np.clip: o.clip, np.broadcast_to: o.broadcast_to,
            np.matmul: o.matmul}


_TABLES: dict[str, dict] = {}


def _table(name: str) -> dict:
    if name not in _TABLES:
        _TABLES[name] = _ufunc_ops() if name == "ufunc" else _function_ops()
    return _TABLES[name]


def _tensors(obj: Any) -> list[Tensor]:
    if isinstance(obj, Tensor):
        return [obj]
    if isinstance(obj, (list, tuple)):
        return [t for x in obj for t in _tensors(x)]
    if isinstance(obj, dict):
        return [t for x in obj.values() for t in _tensors(x)]
    return []


def _arrays(obj: Any) -> Any:
    if isinstance(obj, Tensor):
        return obj._data
    if isinstance(obj, list):
        return [_arrays(x) for x in obj]
    if isinstance(obj, tuple):
        return tuple(_arrays(x) for x in obj)
    return obj


def _recording(tensors: list[Tensor]) -> bool:
    if mode.changed[0] and not mode.state.grad_enabled:
        return False
    return any(t.requires_grad for t in tensors)


def _refuse(what: str, why: str) -> TypeError:
    return TypeError(
        f"{what} on a tensor that requires grad {why}, so its gradient would be lost "
        "without a word. Use cygrad's ops (autograd.<name>, or x.<name>()), write it with "
        "them, or register it (autograd.defop / autograd.Function); to leave the graph on "
        "purpose, pass np.asarray(x) (or x.detach())")


def array_ufunc(self: Tensor, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
    name = f"np.{ufunc.__name__}" + ("" if method == "__call__" else f".{method}")
    out = kwargs.get("out")
    written = _tensors(out or ()) + (_tensors(inputs[:1]) if method == "at" else [])
    tensors = _tensors(inputs)
    recording = _recording(tensors + written)
    if recording and written:  # writing into a tensor: an in-place change outside the ops
        raise _refuse(f"{name}(..., out=a tensor)" if out else name,
                      "writes into a tensor outside the graph (use an in-place op such as "
                      "x.add_(y), or run it inside no_grad())")
    if recording and ufunc not in _CONSTANT_UFUNCS and out is None:
        extra = set(kwargs) - ({"axis", "keepdims"} if method == "reduce" else set())
        if extra:
            raise _refuse(f"{name} with {sorted(extra)}", "has no cygrad equivalent")
        if method == "__call__" and ufunc in _table("ufunc"):
            return _table("ufunc")[ufunc](*inputs)
        if method == "reduce" and ufunc in _REDUCE_OPS:
            axis = kwargs.get("axis", 0)
            return getattr(_ops(), _REDUCE_OPS[ufunc])(inputs[0], axis=axis,
                                                       keepdims=kwargs.get("keepdims", False))
        raise _refuse(name, "has no registered op")
    # Nothing is recorded, or the result goes into plain arrays (out=) on purpose.
    for t in written:
        if mode.state.grad_enabled and t.requires_grad and t.grad_fn is None:
            raise RuntimeError(f"{name}: in-place change of a leaf tensor that requires grad "
                               "outside no_grad()")
    if out is not None:
        kwargs["out"] = tuple(_arrays(o) for o in out)
    result = getattr(ufunc, method)(*_arrays(inputs), **kwargs)
    for t in written:
        t._changed()
    if out is not None:
        return out[0] if len(out) == 1 else out
    return _wrap(result)


def _wrap(result: Any) -> Any:
    if isinstance(result, tuple):
        return tuple(_wrap(r) for r in result)
    return wrap(np.asarray(result)) if isinstance(result, (np.ndarray, np.generic)) else result


# numpy functions that write into an argument (its position): in-place changes
_WRITES = {np.copyto: 0, np.fill_diagonal: 0, np.put: 0, np.place: 0, np.putmask: 0,
           np.put_along_axis: 0}


def array_function(self: Tensor, func: Any, types: Any, args: tuple, kwargs: dict) -> Any:
    name = f"np.{func.__name__}"
    if func in _WRITES:
        target = args[_WRITES[func]] if len(args) > _WRITES[func] else None
        if isinstance(target, Tensor):
            if _recording([target] + _tensors(args)):
                raise _refuse(name, "writes into a tensor outside the graph (use an "
                              "in-place op such as x.copy_(y), or run it inside no_grad())")
            result = func(*_arrays(args), **{k: _arrays(v) for k, v in kwargs.items()})
            target._changed()
            return result
    tensors = _tensors(args) + _tensors(kwargs)
    op = _table("function").get(func)
    if op is not None:  # the registered op, recording or not, so results are Tensors alike
        try:
            return op(*args, **kwargs)
        except TypeError as e:  # a numpy keyword cygrad's op does not take
            if _recording(tensors):
                raise _refuse(name, f"was called with arguments cygrad's op does not take "
                              f"({e})") from e
    result = func(*_arrays(args), **{k: _arrays(v) for k, v in kwargs.items()})
    if _recording(tensors) and _carries_values(result):
        raise _refuse(name, "has no registered op")
    return result


def _carries_values(result: Any) -> bool:
    """Whether a result holds floating values (which a gradient would flow through);
    shapes, indices and booleans do not."""
    if isinstance(result, (tuple, list)):
        return any(_carries_values(r) for r in result)
    if isinstance(result, (np.ndarray, np.generic)):
        return result.dtype.kind in "fc"
    return isinstance(result, (float, complex))


def install() -> None:
    Tensor.__array_ufunc__ = array_ufunc
    Tensor.__array_function__ = array_function

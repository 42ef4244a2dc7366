"""In-place ops: ``+= -= *= /= **=`` and PyTorch's ``add_ sub_ mul_ div_ pow_ clamp_ zero_
fill_ copy_``, with PyTorch's semantics.

The tensor's own array is changed (the same object, seen by every alias of it), and the
change is counted as a new version of it (``autograd.tensor``'s version counters): a node
that saved the old values refuses to backpropagate through them.

- Nothing to record (inside ``no_grad()``, or no operand requires grad): numpy updates the
  array in place; ``requires_grad`` is unchanged. This is the training step,
  ``with no_grad(): w -= lr * w.grad``.
- Recording: a leaf that requires grad is refused (autograd could not differentiate
  through the change; PyTorch refuses it too). Any other tensor gets the new value from
  the registered op, recorded, and that op's node as its ``grad_fn``; the op saw a copy of
  the old values where its rule reads them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from . import mode
from .tensor import Tensor, wrap


def _raw(x: Any) -> Any:
    return x._data if isinstance(x, Tensor) else x


def _recording(t: Tensor, operands: tuple) -> bool:
    if mode.changed[0] and not mode.state.grad_enabled:
        return False
    return t.requires_grad or any(isinstance(o, Tensor) and o.requires_grad for o in operands)


def _refuse_leaf(t: Tensor, name: str) -> None:
    raise RuntimeError(
        f"{name}: in-place change of a leaf tensor that requires grad, outside no_grad(): "
        "autograd cannot differentiate through it (PyTorch refuses it too). Update "
        "parameters inside `with autograd.no_grad():` as optimizers do, or write it out "
        "of place (w = w - lr * g)"
    )


def _snapshot(t: Tensor, copy: bool) -> Tensor:
    """The tensor as it is before the change, for the op that computes the new value: in
    a copy of its own when that op's rule reads it, so overwriting ``t`` cannot change
    what the op saved."""
    old = wrap(t._data.copy() if copy else t._data)
    old.grad_fn, old.requires_grad = t.grad_fn, t.requires_grad
    return old


def _own_array(t: Tensor) -> None:
    """A 0-d op result holds a numpy scalar, which cannot change in place: give the
    tensor a 0-d array of its own (the node that made it keeps the scalar it saved)."""
    if type(t._data) is not np.ndarray:
        t._data = np.array(t._data)


def _inplace(t: Tensor, name: str, outofplace: Callable[..., Tensor], numpy_update: Callable,
             *operands: Any, reads_old: bool = True) -> Tensor:
    """Change ``t`` in place: ``t = outofplace(t, *operands)``, by ``numpy_update(array,
    *raw_operands)`` when nothing is recorded. ``reads_old``: whether the op's rules read
    the old value (add and sub do not)."""
    _own_array(t)
    if _recording(t, operands):
        if t.requires_grad and t.grad_fn is None:
            _refuse_leaf(t, name)
        if t._vc is not None and t._vc.views:
            raise RuntimeError(
                f"{name}: in-place change, while recording, of a tensor that shares its "
                "memory with a view (reshape, indexing, transpose) in the graph: the other "
                "one's gradient would not follow the change. clone() it first, or write it "
                "out of place")
        if not t._data.flags.writeable:
            raise ValueError(f"{name}: the tensor's array is read-only (a broadcast view?); "
                             "clone() it first")
        from .ops import astype  # the ops import this module's users, not the reverse

        old_node = t.grad_fn
        result = outofplace(_snapshot(t, reads_old), *operands)
        if result.shape != t.shape:
            raise ValueError(
                f"{name}: the result has shape {result.shape}, which does not fit the "
                f"tensor's shape {t.shape}: an in-place op cannot broadcast the tensor "
                "itself up; use the out-of-place op")
        if result.dtype != t.dtype:  # in place keeps the tensor's dtype, as in PyTorch
            result = astype(result, t.dtype)
        t._data[...] = result._data
        t._changed()
        node = result.grad_fn
        t.grad_fn, t.requires_grad = node, result.requires_grad
        if node is not None and node.out is result._data:
            node.out = t._data  # the node's output now lives in t's array
        t._vc.owner = node if node is not None and node.out is t._data else None
        retained_moves(old_node, node)
        return t
    arr = t._data
    try:
        numpy_update(arr, *[_raw(o) for o in operands])
    except (TypeError, ValueError) as e:
        raise (TypeError if isinstance(e, TypeError) else ValueError)(
            f"{name}: cannot update a tensor of shape {arr.shape} and dtype {arr.dtype} in "
            f"place with {_describe(operands)}: {e}. The result must keep the tensor's shape "
            "and a dtype it can hold (an integer tensor cannot take floats)") from e
    t._changed()
    return t


def retained_moves(old: Any, new: Any) -> None:
    """A tensor that called retain_grad() keeps doing so after an in-place op gave it a
    new node."""
    from .engine import _retained

    ref = _retained.pop(old, None) if old is not None else None
    if ref is not None and new is not None:
        _retained[new] = ref


def _describe(operands: tuple) -> str:
    parts = []
    for o in operands:
        if isinstance(o, (Tensor, np.ndarray)):
            parts.append(f"shape {np.shape(_raw(o))} dtype {_raw(o).dtype}")
        else:
            parts.append(repr(o))
    return ", ".join(parts) or "no operand"


def _ufunc_update(ufunc: np.ufunc) -> Callable:
    def update(arr: np.ndarray, other: Any) -> None:
        ufunc(arr, other, out=arr, casting="same_kind")

    return update


def _scaled(other: Any, alpha: Any) -> Any:
    return other if alpha == 1 else other * alpha


def add_(self: Tensor, other: Any, alpha: Any = 1) -> Tensor:
    """self += alpha * other, in place (PyTorch's ``add_``)."""
    from . import ops

    return _inplace(self, "add_", lambda a, o: ops.add(a, _scaled(o, alpha)),
                    lambda arr, o: np.add(arr, _scaled(o, alpha), out=arr, casting="same_kind"),
                    other, reads_old=False)


def sub_(self: Tensor, other: Any, alpha: Any = 1) -> Tensor:
    """self -= alpha * other, in place (``p.sub_(p.grad, alpha=lr)``, an SGD step)."""
    from . import ops

    return _inplace(self, "sub_", lambda a, o: ops.sub(a, _scaled(o, alpha)),
                    lambda arr, o: np.subtract(arr, _scaled(o, alpha), out=arr,
                                               casting="same_kind"),
                    other, reads_old=False)


def _binary_(name: str, opname: str, ufunc: np.ufunc) -> Callable[[Tensor, Any], Tensor]:
    def method(self: Tensor, other: Any) -> Tensor:
        from . import ops

        return _inplace(self, name, getattr(ops, opname), _ufunc_update(ufunc), other)

    method.__name__ = name
    method.__doc__ = f"self = self {opname} other, in place (PyTorch's ``{name}``)."
    return method


mul_ = _binary_("mul_", "mul", np.multiply)
div_ = _binary_("div_", "div", np.true_divide)
pow_ = _binary_("pow_", "pow", np.power)


def clamp_(self: Tensor, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002
    """Limit the values to [min, max] in place."""
    from . import ops

    if min is None and max is None:
        raise ValueError("clamp_: give min, max or both")
    return _inplace(self, "clamp_", lambda a: ops.clip(a, min, max),
                    lambda arr: np.clip(arr, _raw(min), _raw(max), out=arr))


def fill_(self: Tensor, value: Any) -> Tensor:
    """Set every element to ``value`` in place (its gradient to the old values is 0)."""
    from . import ops

    def update(arr: np.ndarray, v: Any) -> None:
        arr[...] = v

    return _inplace(self, "fill_", lambda a, v: ops.add(ops.mul(a, 0.0), v), update, value)


def zero_(self: Tensor) -> Tensor:
    """Set every element to 0 in place (``x.grad.zero_()``)."""
    return fill_(self, 0.0)


def copy_(self: Tensor, src: Any) -> Tensor:
    """Copy ``src`` (broadcast to this shape, cast to this dtype) into the tensor."""
    from . import ops

    def update(arr: np.ndarray, s: Any) -> None:
        np.copyto(arr, s, casting="unsafe")

    return _inplace(self, "copy_",
                    lambda a, s: ops.add(ops.mul(a, 0.0), ops.broadcast_to(s, a.shape)
                                         if isinstance(s, Tensor) else np.broadcast_to(
                                             np.asarray(s, a.dtype), a.shape)),
                    update, src)


def setitem(self: Tensor, index: Any, value: Any) -> None:
    """``t[index] = value``: numpy's assignment, in place (counted as a version). Inside
    no_grad() or with nothing that requires grad; a tensor in the graph refuses it (write
    ``autograd.where(mask, value, t)``, or build the values out of place)."""
    _own_array(self)
    if _recording(self, (value,)):
        if self.requires_grad and self.grad_fn is None:
            _refuse_leaf(self, "item assignment")
        raise RuntimeError(
            "item assignment on a tensor in the graph (or of a value that requires grad) "
            "is not recorded by cygrad; use autograd.where(mask, value, t), or build the "
            "tensor out of place (concatenate, stack); inside no_grad() it is allowed")
    if isinstance(index, Tensor):
        index = index._data
    elif isinstance(index, tuple):
        index = tuple(i._data if isinstance(i, Tensor) else i for i in index)
    try:
        self._data[index] = _raw(value)
    except (IndexError, ValueError, TypeError) as e:
        kind = IndexError if isinstance(e, IndexError) else (
            TypeError if isinstance(e, TypeError) else ValueError)
        raise kind(f"item assignment into a tensor of shape {self.shape}: {e}") from e
    self._changed()


def _iop(method: Callable[[Tensor, Any], Tensor]) -> Callable[[Tensor, Any], Tensor]:
    def iop(self: Tensor, other: Any) -> Tensor:
        return method(self, other)

    return iop


def install() -> None:
    T = Tensor
    for fn in (add_, sub_, mul_, div_, pow_, clamp_, fill_, zero_, copy_):
        setattr(T, fn.__name__, fn)
    T.clip_ = clamp_
    T.__setitem__ = setitem
    T.__iadd__ = _iop(add_)
    T.__isub__ = _iop(sub_)
    T.__imul__ = _iop(mul_)
    T.__itruediv__ = _iop(div_)
    T.__ipow__ = _iop(pow_)

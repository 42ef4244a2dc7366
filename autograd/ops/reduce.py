"""Reductions and the softmax family.

A reduction's gradient is the output gradient broadcast back over the reduced axes
(``F.expand_reduced``). ``max``/``min`` send it to the elements that attain the extreme;
when several tie, they share it equally (so the gradient still sums to the output's).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from .. import kernels
from ..registry import defop
from ..tensor import Tensor, apply
from ._common import along_axis, as_tensor, reduction

Axis = int | tuple[int, ...] | None


class ValuesIndices(NamedTuple):
    """What ``max``/``min`` return when called with PyTorch's ``dim=``."""

    values: Tensor
    indices: Tensor


def _axis(op: str, axis: Any, keepdims: bool, dim: Any, keepdim: bool | None
          ) -> tuple[Any, bool]:
    """numpy's ``axis``/``keepdims`` or PyTorch's ``dim``/``keepdim`` (one of each pair)."""
    if dim is not None:
        if axis is not None:
            raise TypeError(f"{op}: pass axis= (numpy's name) or dim= (PyTorch's), not both")
        axis = dim
    if isinstance(axis, list):
        axis = tuple(axis)
    if keepdim is not None:
        if keepdims and not keepdim:
            raise TypeError(f"{op}: keepdims=True and keepdim=False disagree; pass one")
        keepdims = bool(keepdim)
    return axis, keepdims


def _count(shape: tuple[int, ...], axis: Axis) -> int:
    axes = kernels.normalize_axis(axis, len(shape), "mean")
    return int(np.prod([shape[a] for a in axes], dtype=np.int64))


def _over_nonempty(op: str, x: Tensor, axis: Axis) -> None:
    """The softmax family normalises over ``axis``: over no elements there is nothing to
    normalise (numpy's raw "zero-size array to reduction operation maximum")."""
    axes = kernels.normalize_axis(axis, x._data.ndim, op)
    if any(x.shape[a] == 0 for a in axes):
        raise ValueError(f"{op}: axis {axis} of the tensor of shape {x.shape} has no elements "
                         "to normalise over; give an axis of length >= 1")


def _check_axis(op: str, x: Tensor, axis: Axis) -> Axis:
    """Validate ``axis``; the axis to use, None for a 0-d tensor (numpy accepts 0 and -1
    there only in some reductions and never as a tuple, but all name the same one element)."""
    nd = x._data.ndim
    kernels.normalize_axis(axis, nd, op)
    return axis if nd else None


@defop(lambda F, g, y, x, axis=None, keepdims=False:
       F.expand_reduced(g, x.shape, axis, keepdims),
       sample=reduction(), method="sum", saves=(), saves_out=False)
def sum(x: Any, axis: Axis = None, keepdims: bool = False, *, dim: Axis = None,  # noqa: A001
        keepdim: bool | None = None) -> Tensor:
    """Sum over ``axis`` (all axes by default); ``dim``/``keepdim`` are PyTorch's names."""
    x = as_tensor(x)
    if dim is not None or keepdim is not None or type(axis) is list:
        axis, keepdims = _axis("sum", axis, keepdims, dim, keepdim)
    axis = _check_axis("sum", x, axis)
    return apply(sum.op, (x,), np.sum(x._data, axis=axis, keepdims=keepdims),
                 {"axis": axis, "keepdims": keepdims})


@defop(lambda F, g, y, x, axis=None, keepdims=False:
       F.expand_reduced(g, x.shape, axis, keepdims) * (1.0 / _count(x.shape, axis)),
       sample=reduction(), method="mean", saves=(), saves_out=False)
def mean(x: Any, axis: Axis = None, keepdims: bool = False, *, dim: Axis = None,
         keepdim: bool | None = None) -> Tensor:
    """Mean over ``axis`` (all axes by default); ``dim``/``keepdim`` are PyTorch's names."""
    x = as_tensor(x)
    if dim is not None or keepdim is not None or type(axis) is list:
        axis, keepdims = _axis("mean", axis, keepdims, dim, keepdim)
    axis = _check_axis("mean", x, axis)
    if x.size == 0:
        raise ValueError(f"mean: the tensor of shape {x.shape} is empty")
    return apply(mean.op, (x,), np.mean(x._data, axis=axis, keepdims=keepdims),
                 {"axis": axis, "keepdims": keepdims})


def _extreme_share(F: Any, x: Any, y: Any, axis: Axis, keepdims: bool) -> np.ndarray:
    xd, yd = F.raw(x), F.raw(y)
    if not keepdims:
        # reshape, not expand_dims: on a 0-d input axis 0 names no axis to restore
        axes = kernels.normalize_axis(axis, xd.ndim, "max")
        yd = np.reshape(yd, tuple(1 if i in axes else s for i, s in enumerate(xd.shape)))
    hit = (xd == yd).astype(xd.dtype)
    return hit / np.sum(hit, axis=axis, keepdims=True)


def _extreme_vjp(F: Any, g: Any, y: Any, x: Any, axis: Axis = None,
                 keepdims: bool = False) -> Any:
    return F.expand_reduced(g, x.shape, axis, keepdims) * _extreme_share(F, x, y, axis,
                                                                         keepdims)


def _extreme(op: Any, reduce: Any, x: Any, axis: Axis, keepdims: bool, dim: Any = None,
             keepdim: bool | None = None) -> Any:
    x = as_tensor(x)
    if dim is not None:  # PyTorch's max(dim=): values and the indices where they are
        if not isinstance(dim, (int, np.integer)):
            raise TypeError(f"{op.name}(dim=...): dim must be one int, got {dim!r}")
        axis, keepdims = _axis(op.name, axis, keepdims, dim, keepdim)
        values = _extreme(op, reduce, x, axis, keepdims)
        where = np.argmax if op.name == "max" else np.argmin
        idx = where(x._data, axis=_check_axis(op.name, x, axis), keepdims=keepdims)
        return ValuesIndices(values, Tensor(idx))
    if keepdim is not None or type(axis) is list:
        axis, keepdims = _axis(op.name, axis, keepdims, dim, keepdim)
    axis = _check_axis(op.name, x, axis)
    if x.size == 0:
        raise ValueError(f"{op.name}: the tensor of shape {x.shape} is empty")
    return apply(op, (x,), reduce(x._data, axis=axis, keepdims=keepdims),
                 {"axis": axis, "keepdims": keepdims})


@defop(_extreme_vjp, sample=reduction("distinct"), method="max")
def max(x: Any, axis: Axis = None, keepdims: bool = False, *, dim: int | None = None,  # noqa: A001
        keepdim: bool | None = None) -> Any:
    """Maximum over ``axis``. Tied maxima share the gradient equally.

    With PyTorch's ``dim=`` it returns ``(values, indices)`` as PyTorch does (``values``
    in the graph, ``indices`` an integer tensor); with numpy's ``axis`` the values only."""
    return _extreme(max.op, np.max, x, axis, keepdims, dim, keepdim)


@defop(_extreme_vjp, sample=reduction("distinct"), method="min")
def min(x: Any, axis: Axis = None, keepdims: bool = False, *, dim: int | None = None,  # noqa: A001
        keepdim: bool | None = None) -> Any:
    """Minimum over ``axis``. Tied minima share the gradient equally. With ``dim=``:
    ``(values, indices)``, as ``max``."""
    return _extreme(min.op, np.min, x, axis, keepdims, dim, keepdim)


def _arg_extreme(name: str, find: Any, x: Any, axis: Any, keepdims: bool) -> Tensor:
    x = as_tensor(x)
    if axis is not None:
        kernels.normalize_axis(axis, x.ndim, name)
        if not isinstance(axis, (int, np.integer)):
            raise TypeError(f"{name}: axis/dim must be one int (or None for the flat "
                            f"index), got {axis!r}")
    if x.size == 0:
        raise ValueError(f"{name}: the tensor of shape {x.shape} is empty")
    return Tensor(find(x._data, axis=axis if x.ndim else None, keepdims=keepdims))


def argmax(x: Any, dim: int | None = None, keepdim: bool = False, *, axis: int | None = None,
           keepdims: bool | None = None) -> Tensor:
    """Index of the maximum along ``dim`` (of the flattened tensor by default); an integer
    tensor, outside the graph (an index has no gradient)."""
    axis, keepdim = _axis("argmax", axis, keepdim, dim, keepdims)
    return _arg_extreme("argmax", np.argmax, x, axis, keepdim)


def argmin(x: Any, dim: int | None = None, keepdim: bool = False, *, axis: int | None = None,
           keepdims: bool | None = None) -> Tensor:
    """Index of the minimum along ``dim``; see ``argmax``."""
    axis, keepdim = _axis("argmin", axis, keepdim, dim, keepdims)
    return _arg_extreme("argmin", np.argmin, x, axis, keepdim)


def _lse_vjp(F: Any, g: Any, y: Any, x: Any, axis: Axis = None, keepdims: bool = False) -> Any:
    # d/dx log sum exp x = softmax(x) = exp(x - lse), written with F so it differentiates again.
    return F.expand_reduced(g, x.shape, axis, keepdims) * F.exp(
        x - F.expand_reduced(y, x.shape, axis, keepdims))


@defop(_lse_vjp, sample=reduction(), method="logsumexp")
def logsumexp(x: Any, axis: Axis = None, keepdims: bool = False, *, dim: Axis = None,
              keepdim: bool | None = None) -> Tensor:
    """log(sum(exp(x))) over ``axis``, shifted by the maximum so it never overflows."""
    x = as_tensor(x)
    if dim is not None or keepdim is not None or type(axis) is list:
        axis, keepdims = _axis("logsumexp", axis, keepdims, dim, keepdim)
    axis = _check_axis("logsumexp", x, axis)
    _over_nonempty("logsumexp", x, axis)
    return apply(logsumexp.op, (x,), kernels.logsumexp(x._data, axis, keepdims),
                 {"axis": axis, "keepdims": keepdims})


@defop(lambda F, g, y, x, axis=-1: y * (g - F.sum(g * y, axis, True)),
       sample=along_axis(), method="softmax", saves=())
def softmax(x: Any, axis: int | None = None, *, dim: int | None = None) -> Tensor:
    """p_j = e^{a_j} / sum_k e^{a_k} (lecture eq. 29).

    Jacobian dp_j/da_k = p_j (delta_jk - p_k) (eq. 30), so the vector-Jacobian product
    is p * (g - sum(g p)). ``axis`` (or PyTorch's ``dim``) defaults to the last.
    """
    x = as_tensor(x)
    axis = _one_axis("softmax", axis, dim)
    axis = _check_axis("softmax", x, axis)
    _over_nonempty("softmax", x, axis)
    return apply(softmax.op, (x,), kernels.softmax(x._data, axis), {"axis": axis})


@defop(lambda F, g, y, x, axis=-1: g - F.exp(y) * F.sum(g, axis, True),
       sample=along_axis(), method="log_softmax", saves=())
def log_softmax(x: Any, axis: int | None = None, *, dim: int | None = None) -> Tensor:
    """log p_j = a_j - logsumexp(a), stable for any logits; gradient g - p sum(g).
    ``axis`` (or ``dim``) defaults to the last."""
    x = as_tensor(x)
    axis = _one_axis("log_softmax", axis, dim)
    axis = _check_axis("log_softmax", x, axis)
    _over_nonempty("log_softmax", x, axis)
    return apply(log_softmax.op, (x,), kernels.log_softmax(x._data, axis), {"axis": axis})


def _one_axis(op: str, axis: int | None, dim: int | None) -> int:
    axis, _ = _axis(op, axis, False, dim, None)
    return -1 if axis is None else axis

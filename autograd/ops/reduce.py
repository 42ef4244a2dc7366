"""Reductions and the softmax family.

A reduction's gradient is the output gradient broadcast back over the reduced axes
(``F.expand_reduced``). ``max``/``min`` send it to the elements that attain the extreme;
when several tie, they share it equally (so the gradient still sums to the output's).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import kernels
from ..registry import defop
from ..tensor import Tensor, apply
from ._common import along_axis, as_tensor, reduction

Axis = int | tuple[int, ...] | None


def _count(shape: tuple[int, ...], axis: Axis) -> int:
    axes = kernels.normalize_axis(axis, len(shape), "mean")
    return int(np.prod([shape[a] for a in axes], dtype=np.int64))


def _check_axis(op: str, x: Tensor, axis: Axis) -> Axis:
    """Validate ``axis``; the axis to use, None for a 0-d tensor (numpy accepts 0 and -1
    there only in some reductions and never as a tuple, but all name the same one element)."""
    nd = x.data.ndim
    kernels.normalize_axis(axis, nd, op)
    return axis if nd else None


@defop(lambda F, g, y, x, axis=None, keepdims=False:
       F.expand_reduced(g, x.shape, axis, keepdims),
       sample=reduction(), method="sum", saves=(), saves_out=False)
def sum(x: Any, axis: Axis = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """Sum over ``axis`` (all axes by default)."""
    x = as_tensor(x)
    axis = _check_axis("sum", x, axis)
    return apply(sum.op, (x,), np.sum(x.data, axis=axis, keepdims=keepdims),
                 {"axis": axis, "keepdims": keepdims})


@defop(lambda F, g, y, x, axis=None, keepdims=False:
       F.expand_reduced(g, x.shape, axis, keepdims) * (1.0 / _count(x.shape, axis)),
       sample=reduction(), method="mean", saves=(), saves_out=False)
def mean(x: Any, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """Mean over ``axis`` (all axes by default)."""
    x = as_tensor(x)
    axis = _check_axis("mean", x, axis)
    if x.size == 0:
        raise ValueError(f"mean: the tensor of shape {x.shape} is empty")
    return apply(mean.op, (x,), np.mean(x.data, axis=axis, keepdims=keepdims),
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


def _extreme(op: Any, reduce: Any, x: Any, axis: Axis, keepdims: bool) -> Tensor:
    x = as_tensor(x)
    axis = _check_axis(op.name, x, axis)
    if x.size == 0:
        raise ValueError(f"{op.name}: the tensor of shape {x.shape} is empty")
    return apply(op, (x,), reduce(x.data, axis=axis, keepdims=keepdims),
                 {"axis": axis, "keepdims": keepdims})


@defop(_extreme_vjp, sample=reduction("distinct"), method="max")
def max(x: Any, axis: Axis = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """Maximum over ``axis``. Tied maxima share the gradient equally."""
    return _extreme(max.op, np.max, x, axis, keepdims)


@defop(_extreme_vjp, sample=reduction("distinct"), method="min")
def min(x: Any, axis: Axis = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """Minimum over ``axis``. Tied minima share the gradient equally."""
    return _extreme(min.op, np.min, x, axis, keepdims)


def _lse_vjp(F: Any, g: Any, y: Any, x: Any, axis: Axis = None, keepdims: bool = False) -> Any:
    # d/dx log sum exp x = softmax(x) = exp(x - lse), written with F so it differentiates again.
    return F.expand_reduced(g, x.shape, axis, keepdims) * F.exp(
        x - F.expand_reduced(y, x.shape, axis, keepdims))


@defop(_lse_vjp, sample=reduction(), method="logsumexp")
def logsumexp(x: Any, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """log(sum(exp(x))) over ``axis``, shifted by the maximum so it never overflows."""
    x = as_tensor(x)
    axis = _check_axis("logsumexp", x, axis)
    return apply(logsumexp.op, (x,), kernels.logsumexp(x.data, axis, keepdims),
                 {"axis": axis, "keepdims": keepdims})


@defop(lambda F, g, y, x, axis=-1: y * (g - F.sum(g * y, axis, True)),
       sample=along_axis(), method="softmax", saves=())
def softmax(x: Any, axis: int = -1) -> Tensor:
    """p_j = e^{a_j} / sum_k e^{a_k} (lecture eq. 29).

    Jacobian dp_j/da_k = p_j (delta_jk - p_k) (eq. 30), so the vector-Jacobian product
    is p * (g - sum(g p)).
    """
    x = as_tensor(x)
    axis = _check_axis("softmax", x, axis)
    return apply(softmax.op, (x,), kernels.softmax(x.data, axis), {"axis": axis})


@defop(lambda F, g, y, x, axis=-1: g - F.exp(y) * F.sum(g, axis, True),
       sample=along_axis(), method="log_softmax", saves=())
def log_softmax(x: Any, axis: int = -1) -> Tensor:
    """log p_j = a_j - logsumexp(a), stable for any logits; gradient g - p sum(g)."""
    x = as_tensor(x)
    axis = _check_axis("log_softmax", x, axis)
    return apply(log_softmax.op, (x,), kernels.log_softmax(x.data, axis), {"axis": axis})

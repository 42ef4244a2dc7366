"""Ops that move elements without changing them: reshape, transpose, broadcast, indexing,
concatenation. Their derivatives move the gradient back the same way."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import kernels
from ..registry import defop
from ..tensor import Tensor, apply, view_of
from ._common import as_tensor, constants_as


def _shape_arg(shape: tuple) -> tuple:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)


@defop(lambda F, g, y, x, shape: F.reshape(g, x.shape),
       sample=lambda d: _reshape_sample(d), method="reshape", saves=(), saves_out=False)
def reshape(x: Any, shape: Sequence[int]) -> Tensor:
    """The same elements in a new shape (one entry may be -1)."""
    x = as_tensor(x)
    shape = tuple(shape) if not isinstance(shape, int) else (shape,)
    try:
        data = np.reshape(x.data, shape)
    except ValueError as e:
        raise ValueError(f"reshape: cannot reshape a tensor of shape {x.shape} "
                         f"({x.size} elements) into {shape}") from e
    return view_of(apply(reshape.op, (x,), data, {"shape": shape}), x)


def _reshape_sample(d: Any) -> tuple[tuple, dict]:
    shape = d.shape()
    size = int(np.prod(shape))
    target = d.choice([(size,), (-1,), tuple(reversed(shape)), (1, size), shape + (1,)])
    return (d.array(shape),), {"shape": target}


@defop(lambda F, g, y, x, axes=None: F.transpose(g, None if axes is None
                                                  else tuple(np.argsort(axes))),
       sample=lambda d: _transpose_sample(d), saves=(), saves_out=False)
def transpose(x: Any, axes: Sequence[int] | None = None) -> Tensor:
    """Permute the axes (reverse them when ``axes`` is None), as numpy.transpose."""
    x = as_tensor(x)
    if axes is not None:
        nd = x.ndim
        for a in axes:
            if not -nd <= a < nd:  # checked before wrapping: axis 3 of a 3-d tensor is no axis 0
                raise ValueError(f"transpose: axis {a} is out of range for a tensor of shape "
                                 f"{x.shape}; axes must lie in [{-nd}, {nd})")
        axes = tuple(int(a) % nd for a in axes) if nd else tuple(axes)
        if sorted(axes) != list(range(x.ndim)):
            raise ValueError(f"transpose: axes {axes} are not a permutation of the "
                             f"{x.ndim} axes of a tensor of shape {x.shape}")
    return view_of(apply(transpose.op, (x,), np.transpose(x.data, axes), {"axes": axes}), x)


def _transpose_sample(d: Any) -> tuple[tuple, dict]:
    shape = d.shape()
    return (d.array(shape),), {"axes": d.permutation(len(shape))}


def permute(x: Any, *dims: int) -> Tensor:
    """PyTorch's name for transpose with explicit axes."""
    return transpose(x, _shape_arg(dims))


@defop(lambda F, g, y, x, shape: F.unbroadcast(g, x.shape),
       sample=lambda d: _broadcast_sample(d), method="broadcast_to", saves=(),
       saves_out=False)
def broadcast_to(x: Any, shape: Sequence[int]) -> Tensor:
    """A read-only view of ``x`` repeated along new or size-1 axes."""
    x = as_tensor(x)
    shape = tuple(shape)
    try:
        data = np.broadcast_to(x.data, shape)
    except ValueError as e:
        raise ValueError(f"broadcast_to: cannot broadcast shape {x.shape} to {shape}") from e
    return view_of(apply(broadcast_to.op, (x,), data, {"shape": shape}), x)


def _broadcast_sample(d: Any) -> tuple[tuple, dict]:
    small, big = d.broadcast_shapes(2)
    target = np.broadcast_shapes(small, big)
    return (d.array(small),), {"shape": target}


def _check_index(x: Tensor, index: Any) -> Any:
    if isinstance(index, Tensor):
        index = index.data
    if isinstance(index, tuple):
        index = tuple(i.data if isinstance(i, Tensor) else i for i in index)
    if isinstance(index, list):
        index = np.asarray(index)
    return index


@defop(lambda F, g, y, x, index: F.scatter_add(g, index, x.shape),
       sample=lambda d: _index_sample(d), label="[]", saves=(), saves_out=False)
def getitem(x: Any, index: Any) -> Tensor:
    """x[index]: slices, integers, integer arrays, boolean masks.

    The gradient is scattered back, and elements picked more than once accumulate it.
    """
    x = as_tensor(x)
    index = _check_index(x, index)
    try:
        data = x.data[index]
    except IndexError as e:
        raise IndexError(f"getitem: {e} (tensor of shape {x.shape})") from e
    if not isinstance(data, np.ndarray):
        data = np.asarray(data)
    return view_of(apply(getitem.op, (x,), data, {"index": index}), x)


def _index_sample(d: Any) -> tuple[tuple, dict]:
    shape = d.shape(min_dims=1)
    return (d.array(shape),), {"index": d.index(shape)}


@defop(lambda F, g, y, x, index, shape: F.getitem(g, index),
       sample=lambda d: _scatter_sample(d), saves=(), saves_out=False)
def scatter_add(x: Any, index: Any, shape: Sequence[int]) -> Tensor:
    """zeros(shape) with ``x`` added at ``index`` (repeats accumulate): getitem's adjoint."""
    x = as_tensor(x)
    shape = tuple(shape)
    return apply(scatter_add.op, (x,), kernels.scatter_add(x.data, index, shape),
                 {"index": index, "shape": shape})


def _scatter_sample(d: Any) -> tuple[tuple, dict]:
    shape = d.shape(min_dims=1)
    index = d.index(shape)
    picked = np.zeros(shape)[index].shape
    return (d.array(picked),), {"index": index, "shape": shape}


def _join_grads(F: Any, g: Any, y: Any, *xs: Any, axis: int = 0, stacked: bool = False
                ) -> list[Any]:
    """Every input's gradient of a concatenate or stack, in one call (the op's ``joint``
    rule): the slices of ``g`` along the joined axis, in O(1) each."""
    ax = axis % len(g.shape)
    sl: list[Any] = [slice(None)] * len(g.shape)
    grads, start = [], 0
    for i, x in enumerate(xs):
        if stacked:
            sl[ax] = i
        else:
            width = x.shape[ax]
            sl[ax] = slice(start, start + width)
            start += width
        grads.append(F.getitem(g, tuple(sl)))
    return grads


def _seq_sample(stacked: bool) -> Any:
    def sample(d: Any) -> tuple[tuple, dict]:
        shape = d.shape(min_dims=1)
        axis = d.integers(0, len(shape) - 1)
        n = d.integers(1, 3)
        shapes = []
        for _ in range(n):
            s = list(shape)
            if not stacked:
                s[axis] = d.integers(1, 3)
            shapes.append(tuple(s))
        if stacked:
            axis = d.integers(-len(shape) - 1, len(shape))
        return ([d.array(s) for s in shapes],), {"axis": axis}

    return sample


def _sequence(name: str, tensors: Sequence[Any]) -> tuple:
    if isinstance(tensors, Tensor) or not len(tensors):
        raise TypeError(f"{name}: pass a non-empty list of tensors, got {type(tensors)}")
    return constants_as(tensors)  # array items take the tensors' float dtype


def _join(op: Any, join: Any, tensors: Sequence[Any], axis: int, must: str) -> Tensor:
    ts = _sequence(op.name, tensors)
    try:
        data = join([t.data for t in ts], axis=axis)
    except (ValueError, np.exceptions.AxisError) as e:
        raise ValueError(f"{op.name}: shapes {[t.shape for t in ts]} cannot be joined along "
                         f"axis {axis}: {must}") from e
    except TypeError as e:
        raise TypeError(f"{op.name}: axis must be an integer, got {type(axis).__name__} "
                        f"{axis!r}") from e
    return apply(op, ts, data, {"axis": axis})


@defop(sample=_seq_sample(False), tags=("variadic",), saves=(), saves_out=False,
       joint=_join_grads)
def concatenate(tensors: Sequence[Any], axis: int = 0, *, dim: int | None = None) -> Tensor:
    """Join tensors along an existing axis (``dim``: PyTorch's name)."""
    return _join(concatenate.op, np.concatenate, tensors, _dim_or_axis(axis, dim),
                 "all other dimensions must match")


@defop(sample=_seq_sample(True), tags=("variadic",), saves=(), saves_out=False,
       joint=lambda F, g, y, *xs, axis=0: _join_grads(F, g, y, *xs, axis=axis, stacked=True))
def stack(tensors: Sequence[Any], axis: int = 0, *, dim: int | None = None) -> Tensor:
    """Join same-shaped tensors along a new axis (``dim``: PyTorch's name)."""
    return _join(stack.op, np.stack, tensors, _dim_or_axis(axis, dim),
                 "all shapes must be equal")


def _dim_or_axis(axis: int, dim: int | None) -> int:
    return axis if dim is None else dim


cat = concatenate  # PyTorch's name

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


class _Variadic:
    """A rule list that answers for any input position (concatenate and stack take n
    inputs). The engine asks for each input's gradient in turn, handing the rule all n
    inputs each time; ``offsets`` keeps the running positions along the joined axis for
    the gradient in hand, so each of those n calls costs O(1) here, not O(n)."""

    def __init__(self, rule: Any) -> None:
        self.rule = rule
        self._cache: tuple[Any, list[int]] | None = None  # (gradient, offsets)

    def __getitem__(self, i: int) -> Any:
        return lambda F, g, y, *xs, **kw: self.rule(self, F, g, i, xs, **kw)

    def offsets(self, g: Any, xs: tuple, ax: int) -> list[int]:
        cache = self._cache
        if cache is not None and cache[0] is g:  # the same node's gradient: reuse
            return cache[1]
        starts, total = [], 0
        for x in xs:
            starts.append(total)
            total += x.shape[ax]
        self._cache = (g, starts)
        return starts

    def done(self, i: int, xs: tuple) -> None:
        if i == len(xs) - 1:
            self._cache = None  # holds the gradient alive otherwise


def _concat_rule(table: _Variadic, F: Any, g: Any, i: int, xs: tuple, axis: int = 0) -> Any:
    ax = axis % len(g.shape)
    start = table.offsets(g, xs, ax)[i]
    table.done(i, xs)
    sl = [slice(None)] * len(g.shape)
    sl[ax] = slice(start, start + xs[i].shape[ax])
    return F.getitem(g, tuple(sl))


def _stack_rule(table: _Variadic, F: Any, g: Any, i: int, xs: tuple, axis: int = 0) -> Any:
    ax = axis % len(g.shape)
    sl = [slice(None)] * len(g.shape)
    sl[ax] = i
    return F.getitem(g, tuple(sl))


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


# The engine hands a rule all of a node's inputs for each input's gradient, so one node
# joining n tensors costs O(n) per input, O(n^2) in all. Joins of more tensors become a
# tree of nodes of at most _FAN_IN inputs each (linear in all; the arrays are views of
# the one joined result, so nothing is copied twice).
_FAN_IN = 256


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
    if len(ts) <= _FAN_IN:
        return apply(op, ts, data, {"axis": axis})
    ax = axis % data.ndim
    stacked = op is stack.op
    while len(ts) > _FAN_IN:
        parts, start = [], 0
        for j in range(0, len(ts), _FAN_IN):
            chunk = ts[j:j + _FAN_IN]
            width = len(chunk) if stacked else sum(t.shape[ax] for t in chunk)
            sl = [slice(None)] * data.ndim
            sl[ax] = slice(start, start + width)
            parts.append(apply(op, chunk, data[tuple(sl)], {"axis": axis if stacked else ax}))
            start += width
        ts, op, stacked = tuple(parts), concatenate.op, False  # the parts join along ax
    return apply(op, ts, data, {"axis": ax})


@defop(sample=_seq_sample(False), tags=("variadic",), saves=(), saves_out=False)
def concatenate(tensors: Sequence[Any], axis: int = 0) -> Tensor:
    """Join tensors along an existing axis."""
    return _join(concatenate.op, np.concatenate, tensors, axis,
                 "all other dimensions must match")


@defop(sample=_seq_sample(True), tags=("variadic",), saves=(), saves_out=False)
def stack(tensors: Sequence[Any], axis: int = 0) -> Tensor:
    """Join same-shaped tensors along a new axis."""
    return _join(stack.op, np.stack, tensors, axis, "all shapes must be equal")


concatenate.op.vjps = _Variadic(_concat_rule)  # type: ignore[attr-defined]
stack.op.vjps = _Variadic(_stack_rule)  # type: ignore[attr-defined]
cat = concatenate  # PyTorch's name

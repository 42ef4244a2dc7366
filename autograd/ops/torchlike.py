"""PyTorch's names for what cygrad already has: Tensor methods and functions a PyTorch
user writes without thinking (``x.size(1)``, ``x.dim()``, ``x.t()``, ``x.std(dim=0)``,
``torch.mm``), each a composition of registered ops or a plain fact about the array, so
no derivative is written here: every gradient comes from ops the registry checks.

``size`` serves both worlds: ``x.size`` is numpy's element count (an int) and
``x.size()`` / ``x.size(d)`` is PyTorch's shape / length of axis ``d``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..tensor import Tensor
from .copy import astype
from .elementwise import sqrt, where
from .linalg import matmul
from .reduce import _count, mean
from .shape import getitem, transpose


def axis_index(op: str, dim: int, x: Any, extra: int = 0) -> int:
    """``dim`` as a non-negative axis of ``x`` (anything with a ``shape``), checked first:
    wrapping an out-of-range dim with % would silently pick another axis. ``extra`` = 1 for
    unsqueeze (it may name the new last position); a 0-d tensor accepts 0 and -1, as in
    PyTorch."""
    n = max(len(x.shape) + extra, 1)
    if not -n <= dim < n:
        raise IndexError(f"{op}: dim {dim} is out of range for a tensor of shape "
                         f"{x.shape}; expected a dim in [{-n}, {n})")
    return dim % n


class Size(int):
    """The number of elements (numpy's ``size``), callable as PyTorch's ``size()``:
    ``x.size()`` is the shape, ``x.size(d)`` the length of axis ``d``."""

    shape: tuple[int, ...]

    def __call__(self, dim: int | None = None) -> Any:
        if dim is None:
            return self.shape
        if not self.shape:  # unlike the dims of other methods, as in PyTorch
            raise IndexError(f"size({dim}): a 0-d tensor has no dimensions")
        return self.shape[axis_index(f"size({dim})", dim, self)]


def _size(self: Tensor) -> Size:
    s = Size(self._data.size)
    s.shape = self._data.shape
    return s


def _var(self: Tensor, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False,
         *, correction: int | None = None) -> Tensor:
    """PyTorch's variance: unbiased (divided by n - 1) unless ``unbiased=False`` or
    ``correction=0``; numpy's ``var`` divides by n."""
    if unbiased is not None and correction is not None:
        raise TypeError("var: give unbiased= or correction=, not both")
    if correction is None:
        correction = 0 if unbiased is False else 1
    d = self - mean(self, dim=dim, keepdim=True)
    n = _count(self.shape, dim if dim is None or isinstance(dim, int) else tuple(dim))
    if n - correction <= 0:
        raise ValueError(f"var: {n} element(s) along the reduced axes leave no degree of "
                         f"freedom with correction={correction}; reduce over more elements "
                         "or pass unbiased=False")
    return (d * d).sum(dim=dim, keepdim=keepdim) * (1.0 / (n - correction))


def _std(self: Tensor, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False,
         *, correction: int | None = None) -> Tensor:
    """sqrt of ``var`` (unbiased by default, as in PyTorch)."""
    return sqrt(_var(self, dim, unbiased, keepdim, correction=correction))


def _t(self: Tensor) -> Tensor:
    """PyTorch's ``t()``: the transpose of a matrix; 0-d and 1-d tensors as they are."""
    if self.ndim > 2:
        raise RuntimeError(f"t(): expects a tensor with at most 2 dimensions, got shape "
                           f"{self.shape}; use transpose(dim0, dim1) or permute")
    return transpose(self) if self.ndim == 2 else self


def _masked_fill(self: Tensor, mask: Any, value: Any) -> Tensor:
    """``value`` where ``mask`` is true, else the tensor's own values (differentiable in
    the tensor, and in ``value`` when it is a tensor)."""
    return where(mask, value, self)


def _split_bounds(op: str, length: int, sizes: list[int]) -> list[tuple[int, int]]:
    if any(s < 0 for s in sizes) or sum(sizes) != length:
        raise ValueError(f"{op}: sizes {sizes} must be non-negative and add up to the "
                         f"axis length {length}")
    bounds, start = [], 0
    for s in sizes:
        bounds.append((start, start + s))
        start += s
    return bounds


def _slices(self: Tensor, dim: int, bounds: list[tuple[int, int]]) -> tuple[Tensor, ...]:
    lead = (slice(None),) * dim
    return tuple(getitem(self, lead + (slice(a, b),)) for a, b in bounds)


def _split(self: Tensor, split_size_or_sections: Any, dim: int = 0) -> tuple[Tensor, ...]:
    """PyTorch's ``split``: pieces of ``split_size`` along ``dim`` (the last may be
    shorter), or of the listed sizes."""
    dim = axis_index("split", dim, self)
    length = self.shape[dim]
    if isinstance(split_size_or_sections, int):
        step = split_size_or_sections
        if step <= 0:
            raise ValueError(f"split: split_size must be positive, got {step}")
        sizes = [min(step, length - s) for s in range(0, length, step)] or [0]
    else:
        sizes = list(split_size_or_sections)
    return _slices(self, dim, _split_bounds("split", length, sizes))


def _chunk(self: Tensor, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
    """PyTorch's ``chunk``: at most ``chunks`` pieces of ceil(length / chunks) along
    ``dim``."""
    if chunks <= 0:
        raise ValueError(f"chunk: chunks must be positive, got {chunks}")
    length = self.shape[axis_index("chunk", dim, self)]
    return _split(self, max(-(-length // chunks), 1), dim)


def _cast(self: Tensor, dtype: Any) -> Tensor:
    """An integer or boolean copy: no gradient flows into integers, so, as in PyTorch,
    the result leaves the graph (``astype`` refuses this for a tensor that requires grad,
    where a silent cut could be a mistake; ``long()`` says it on purpose)."""
    return astype(self.detach(), dtype)


def mm(a: Any, b: Any) -> Tensor:
    """PyTorch's ``mm``: the product of two matrices (``matmul`` for 2-d operands)."""
    _ndim_is("mm", 2, a, b)
    return matmul(a, b)


def bmm(a: Any, b: Any) -> Tensor:
    """PyTorch's ``bmm``: batched matrix products of (B, n, m) and (B, m, p) stacks."""
    _ndim_is("bmm", 3, a, b)
    if np.shape(a)[0] != np.shape(b)[0]:
        raise ValueError(f"bmm: batch sizes differ: shapes {np.shape(a)} and {np.shape(b)}")
    return matmul(a, b)


def _ndim_is(op: str, n: int, a: Any, b: Any) -> None:
    if np.ndim(a) != n or np.ndim(b) != n:
        raise ValueError(f"{op}: expects two {n}-d tensors, got shapes {np.shape(a)} and "
                         f"{np.shape(b)}; matmul takes any")


def is_tensor(x: Any) -> bool:
    return isinstance(x, Tensor)


def numel(x: Any) -> int:
    """The number of elements."""
    return int(np.size(x._data if isinstance(x, Tensor) else x))


def allclose(a: Any, b: Any, rtol: float = 1e-5, atol: float = 1e-8,
             equal_nan: bool = False) -> bool:
    """Whether the values agree within tolerances (numpy's ``allclose``; no graph)."""
    return bool(np.allclose(np.asarray(a), np.asarray(b), rtol=rtol, atol=atol,
                            equal_nan=equal_nan))


def install(T: type) -> None:
    """Attach the methods to ``Tensor``."""
    T.size = property(_size)
    T.numel = numel
    T.dim = lambda self: self._data.ndim
    T.ndimension = T.dim
    T.t = _t
    T.var = _var
    T.std = _std
    T.masked_fill = _masked_fill
    T.split = _split
    T.chunk = _chunk
    T.contiguous = lambda self: self  # numpy views are as good as copies here
    T.cpu = lambda self: self
    T.device = property(lambda self: "cpu")
    T.long = lambda self: _cast(self, np.int64)
    T.int = lambda self: _cast(self, np.int32)
    T.bool = lambda self: _cast(self, np.bool_)
    T.mm = mm


__all__ = ["allclose", "bmm", "is_tensor", "mm", "numel"]

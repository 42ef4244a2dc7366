"""Copies: ``clone`` (the same values in new memory) and ``astype`` (another float dtype).

Both are differentiable, as PyTorch's ``clone()``, ``float()`` and ``double()`` are: the
gradient passes through unchanged, cast back to the input's dtype.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..registry import defop
from ..tensor import Tensor, apply
from ._common import as_tensor, unary


@defop(lambda F, g, y, x: g * 1, sample=unary(), method="clone", saves=(), saves_out=False)
def clone(x: Any) -> Tensor:
    """A copy of ``x`` in its own memory, still in the graph (PyTorch's ``clone``): change
    the copy in place without touching ``x``. Derivative 1."""
    x = as_tensor(x)
    return apply(clone.op, (x,), x._data.copy(), like=x.grad_fn)


def _astype_vjp(F: Any, g: Any, y: Any, x: Any, dtype: Any) -> Any:
    return F.astype(g, x.dtype)


def _astype_sample(d: Any) -> tuple[tuple, dict]:
    # float64 to float64: finite differences need float64 outputs; the casts between
    # float dtypes have tests of their own
    return (d.array(d.shape()),), {"dtype": np.float64}


@defop(_astype_vjp, sample=_astype_sample, method="astype", saves=(), saves_out=False,
       tags=("casts",))
def astype(x: Any, dtype: Any) -> Tensor:
    """``x`` in another floating ``dtype``; the gradient is cast back to ``x``'s dtype.
    (``x.float()``, ``x.double()`` and ``x.to(dtype)`` call this.)"""
    x = as_tensor(x)
    dtype = np.dtype(dtype)
    if dtype.kind != "f" and x.requires_grad:
        raise TypeError(f"astype: a tensor that requires grad can only become another float "
                        f"dtype, not {dtype}; detach() it first to get {dtype} values")
    return apply(astype.op, (x,), x._data.astype(dtype), {"dtype": dtype})

"""Every differentiable op, and the Tensor operators and methods that call them.

The op modules register themselves in ``autograd.registry.REGISTRY`` as they are
imported; this module then binds Python operators and PyTorch-named methods to them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..tensor import Tensor
from .conv import conv2d, conv2d_input, conv2d_weight
from .copy import astype, clone
from .elementwise import (
    abs,
    add,
    clamp,
    clip,
    div,
    exp,
    leaky_relu,
    log,
    maximum,
    minimum,
    mul,
    neg,
    pow,
    relu,
    sigmoid,
    softplus,
    sqrt,
    sub,
    tanh,
    where,
)
from .linalg import einsum, linear, matmul
from .losses import binary_cross_entropy_with_logits, cross_entropy, mse_loss
from .norm import batch_norm
from .reduce import argmax, argmin, log_softmax, logsumexp, max, mean, min, softmax, sum
from .shape import (
    broadcast_to,
    cat,
    concatenate,
    getitem,
    permute,
    reshape,
    scatter_add,
    stack,
    transpose,
)
from .torchlike import axis_index
from .torchlike import install as _install_torchlike
from .window import fold_windows, pad, sliding_window

__all__ = [
    "abs", "add", "argmax", "argmin", "astype", "batch_norm",
    "binary_cross_entropy_with_logits", "broadcast_to", "cat", "clamp", "clone", "conv2d",
    "conv2d_input", "conv2d_weight",
    "clip", "concatenate", "cross_entropy", "div", "einsum", "exp", "fold_windows",
    "getitem", "leaky_relu", "linear", "log", "log_softmax", "logsumexp", "matmul", "max",
    "maximum", "mean", "min", "minimum", "mse_loss", "mul", "neg", "pad", "permute", "pow",
    "relu", "reshape", "scatter_add", "sigmoid", "sliding_window", "softmax", "softplus",
    "sqrt", "stack", "sub", "sum", "tanh", "transpose", "where",
]


def _compare(fn: Any) -> Any:
    def method(self: Tensor, other: Any) -> Tensor:
        other = other._data if isinstance(other, Tensor) else other
        return Tensor(fn(self._data, other))  # comparisons carry no gradient

    return method


def _reflected(fn: Any) -> Any:
    return lambda self, other: fn(other, self)


def _shape_args(shape: tuple) -> tuple:
    return tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape


def _t_reshape(self: Tensor, *shape: Any) -> Tensor:
    return reshape(self, _shape_args(shape))


def _t_transpose(self: Tensor, dim0: int | None = None, dim1: int | None = None) -> Tensor:
    """PyTorch's Tensor.transpose(dim0, dim1) swaps two axes; with no arguments, reverse."""
    if dim0 is None and dim1 is None:
        return transpose(self)
    if dim0 is None or dim1 is None:
        raise TypeError("transpose(dim0, dim1) takes two axes (or none, to reverse all)")
    if self.ndim == 0:
        axis_index("transpose", dim0, self), axis_index("transpose", dim1, self)
        return transpose(self, ())
    dim0, dim1 = axis_index("transpose", dim0, self), axis_index("transpose", dim1, self)
    axes = list(range(self.ndim))
    axes[dim0], axes[dim1] = axes[dim1], axes[dim0]
    return transpose(self, axes)


def _t_permute(self: Tensor, *dims: Any) -> Tensor:
    return transpose(self, _shape_args(dims))


def _t_expand(self: Tensor, *shape: Any) -> Tensor:
    return broadcast_to(self, _shape_args(shape))


def _t_flatten(self: Tensor, start_dim: int = 0) -> Tensor:
    start = axis_index("flatten", start_dim, self)
    return reshape(self, self.shape[:start] + (-1,))


def _t_unsqueeze(self: Tensor, dim: int) -> Tensor:
    dim = axis_index("unsqueeze", dim, self, extra=1)
    return reshape(self, self.shape[:dim] + (1,) + self.shape[dim:])


def _t_squeeze(self: Tensor, dim: int | None = None) -> Tensor:
    if dim is None:
        return reshape(self, tuple(s for s in self.shape if s != 1))
    dim = axis_index("squeeze", dim, self)
    if self.ndim == 0 or self.shape[dim] != 1:
        return self
    return reshape(self, self.shape[:dim] + self.shape[dim + 1:])


def _install() -> None:
    """Python's operators, and the methods whose signatures follow PyTorch's rather than
    the op function's. (``defop`` makes each op with a ``method`` name a method.)"""
    T = Tensor
    T.__add__ = add
    T.__radd__ = _reflected(add)
    T.__sub__ = sub
    T.__rsub__ = _reflected(sub)
    T.__mul__ = mul
    T.__rmul__ = _reflected(mul)
    T.__truediv__ = div
    T.__rtruediv__ = _reflected(div)
    T.__pow__ = pow
    T.__rpow__ = _reflected(pow)
    T.__matmul__ = matmul
    T.__rmatmul__ = _reflected(matmul)
    T.__neg__ = neg
    T.__abs__ = abs
    T.__getitem__ = getitem
    T.__lt__ = _compare(np.less)
    T.__le__ = _compare(np.less_equal)
    T.__gt__ = _compare(np.greater)
    T.__ge__ = _compare(np.greater_equal)
    T.__eq__ = _compare(np.equal)
    T.__ne__ = _compare(np.not_equal)
    T.T = property(lambda self: transpose(self))
    T.clamp = clip
    T.reshape = _t_reshape
    T.view = _t_reshape
    T.transpose = _t_transpose
    T.permute = _t_permute
    T.expand = _t_expand
    T.flatten = _t_flatten
    T.unsqueeze = _t_unsqueeze
    T.squeeze = _t_squeeze
    T.argmax = argmax
    T.argmin = argmin
    T.float = lambda self: astype(self, np.float32)
    T.double = lambda self: astype(self, np.float64)
    T.half = lambda self: astype(self, np.float16)
    T.to = _t_to
    _install_torchlike(T)


def _t_to(self: Tensor, *args: Any, **kwargs: Any) -> Tensor:
    """``to(dtype)`` casts (differentiably); ``to("cpu")`` is the tensor itself: numpy
    arrays live in main memory, so there is no other device."""
    dtype = kwargs.pop("dtype", None)
    device = kwargs.pop("device", None)
    kwargs.pop("copy", None)
    kwargs.pop("non_blocking", None)
    if kwargs:
        raise TypeError(f"to(): unexpected keyword(s) {sorted(kwargs)}")
    for a in args:
        if isinstance(a, str) and device is None:
            device = a
        elif isinstance(a, Tensor):
            dtype = a.dtype
        else:
            dtype = a
    if device is not None and str(device).split(":")[0] != "cpu":
        raise ValueError(f"to({device!r}): cygrad runs on the CPU with numpy; there is no "
                         f"device {device!r} (use 'cpu' or leave the device out)")
    return self if dtype is None or np.dtype(dtype) == self.dtype else astype(self, dtype)


_install()

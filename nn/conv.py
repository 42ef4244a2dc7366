"""Conv2d: learned 2-d filters slid over an image-like input (CICY configuration
matrices for the Hodge-number networks)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import autograd as ag

from . import functional as F
from ._util import LayerInputError, as_rng, layer_input
from .layers import init_weight
from .module import Module
from .parameter import Parameter


class Conv2d(Module):
    """(N, C_in, H, W) -> (N, C_out, H', W'), H' = (H + 2 padding - k) // stride + 1.

    ``weight`` has shape (out_channels, in_channels, kh, kw), ``bias`` (out_channels,).
    Default init is He (kaiming_uniform), the usual choice before a ReLU.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any,
                 stride: Any = 1, padding: Any = 0, bias: bool = True, dtype: Any = np.float64,
                 init: str | Callable[..., Any] = "kaiming_uniform", rng: Any = None) -> None:
        kh, kw = F._pair(kernel_size, "kernel_size")
        self.stride, self.padding = F._pair(stride, "stride"), F._pair(padding, "padding")
        if min(kh, kw, *self.stride) < 1 or min(self.padding) < 0:
            raise ValueError(f"Conv2d: kernel_size {kernel_size} and stride {stride} must be "
                             f">= 1 and padding {padding} >= 0")
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size = (kh, kw)
        self.weight = Parameter(np.zeros((out_channels, in_channels, kh, kw)), dtype=dtype)
        init_weight(self.weight, init, as_rng(rng))
        self.bias = Parameter(np.zeros(out_channels), dtype=dtype) if bias else None

    def forward(self, x: Any) -> ag.Tensor:
        x = layer_input(self, x, self.weight.dtype)
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise LayerInputError(
                self, f"expected input of shape (batch, {self.in_channels}, height, width), "
                f"got {x.shape}; add a channel axis with x.reshape(n, 1, h, w) if needed")
        (kh, kw), (ph, pw) = self.kernel_size, self.padding
        if x.shape[2] + 2 * ph < kh or x.shape[3] + 2 * pw < kw:
            raise LayerInputError(
                self, f"input of shape {x.shape} with padding {self.padding} is smaller than "
                f"the kernel {self.kernel_size}; pad more or use a smaller kernel")
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}")

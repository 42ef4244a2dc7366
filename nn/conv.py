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
    """(N, C_in, H, W) -> (N, C_out, H', W'), H' = (H + pads - d (k - 1) - 1) // stride + 1.

    ``padding``: an int, a pair (ph, pw), per-axis pairs ((top, bottom), (left, right)),
    or "same" (stride 1; the output keeps H x W, an even kernel's extra zero after, as in
    PyTorch and Keras) or "valid" (none). ``dilation`` spaces the kernel's taps.
    ``weight`` has shape (out_channels, in_channels, kh, kw), ``bias`` (out_channels,).
    Default init is He (kaiming_uniform), the usual choice before a ReLU.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any,
                 stride: Any = 1, padding: Any = 0, dilation: Any = 1, bias: bool = True,
                 dtype: Any = np.float64, init: str | Callable[..., Any] = "kaiming_uniform",
                 rng: Any = None) -> None:
        kh, kw = F._pair(kernel_size, "kernel_size")
        self.stride, self.dilation = F._pair(stride, "stride"), F._pair(dilation, "dilation")
        if min(kh, kw, *self.stride, *self.dilation) < 1:
            raise ValueError(f"Conv2d: kernel_size {kernel_size}, stride {stride} and "
                             f"dilation {dilation} must be >= 1")
        if padding == "same" and self.stride != (1, 1):
            raise ValueError(f"Conv2d: padding='same' needs stride 1, got {stride!r}")
        self.kernel_size = (kh, kw)
        self.padding = self._pads(padding)
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.weight = Parameter(np.zeros((out_channels, in_channels, kh, kw)), dtype=dtype)
        init_weight(self.weight, init, as_rng(rng))
        self.bias = Parameter(np.zeros(out_channels), dtype=dtype) if bias else None

    def _pads(self, padding: Any) -> tuple[tuple[int, int], tuple[int, int]]:
        if isinstance(padding, str) and padding in ("same", "valid"):
            return F.same_padding(self.kernel_size, self.dilation) if padding == "same" \
                else ((0, 0), (0, 0))
        geo = ag.ops.conv.geometry("Conv2d", 1, padding, 1)  # validates and normalises
        return geo.padding

    def forward(self, x: Any) -> ag.Tensor:
        x = layer_input(self, x, self.weight.dtype)
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise LayerInputError(
                self, f"expected input of shape (batch, {self.in_channels}, height, width), "
                f"got {x.shape}; add a channel axis with x.reshape(n, 1, h, w) if needed")
        (kh, kw), ((pt, pb), (pl, pr)) = self.kernel_size, self.padding
        dh, dw = self.dilation
        if x.shape[2] + pt + pb < dh * (kh - 1) + 1 or x.shape[3] + pl + pr < dw * (kw - 1) + 1:
            raise LayerInputError(
                self, f"input of shape {x.shape} with padding {self.padding} is smaller than "
                f"the kernel {self.kernel_size} (dilation {self.dilation}); pad more or use "
                "a smaller kernel")
        return ag.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}, dilation={self.dilation}")

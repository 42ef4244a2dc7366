"""Batch normalisation (Ioffe & Szegedy 2015) for (N, C[, L]) and (N, C, H, W) inputs."""

from __future__ import annotations

from typing import Any

import numpy as np

import autograd as ag

from . import functional as F
from ._util import LayerInputError, layer_input
from .module import Module
from .parameter import Parameter


class _BatchNorm(Module):
    _ndims: tuple[int, ...] = ()
    _layout = ""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1,
                 affine: bool = True, track_running_stats: bool = True,
                 dtype: Any = np.float64) -> None:
        self.num_features, self.eps, self.momentum = int(num_features), eps, momentum
        self.weight = Parameter(np.ones(num_features), dtype=dtype) if affine else None
        self.bias = Parameter(np.zeros(num_features), dtype=dtype) if affine else None
        self.track_running_stats = track_running_stats
        self._dtype = np.dtype(dtype)
        if track_running_stats:
            self.register_buffer("running_mean", np.zeros(num_features, dtype=dtype))
            self.register_buffer("running_var", np.ones(num_features, dtype=dtype))

    def forward(self, x: Any) -> ag.Tensor:
        x = layer_input(self, x, self._dtype)
        if x.ndim not in self._ndims or x.shape[1] != self.num_features:
            raise LayerInputError(self, f"expected input of shape {self._layout} with "
                                  f"C = {self.num_features}, got {x.shape}")
        batch_stats = self.training or not self.track_running_stats
        if batch_stats and x.size == x.shape[1]:
            raise LayerInputError(self, f"training needs more than one value per channel to "
                                  f"estimate a variance, got input of shape {x.shape}; use a "
                                  "larger batch or call eval()")
        running = self.track_running_stats
        return F.batch_norm(x, self.running_mean if running else None,
                            self.running_var if running else None, self.weight, self.bias,
                            batch_stats, self.momentum, self.eps)

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"


class BatchNorm1d(_BatchNorm):
    """Normalises each feature over the batch (and length) axes: (N, C) or (N, C, L).

    Training: y = gamma (x - mean_batch) / sqrt(var_batch + eps) + beta, and running
    estimates move toward the batch statistics; eval mode uses the running estimates.
    """

    _ndims = (2, 3)
    _layout = "(N, C) or (N, C, L)"


class BatchNorm2d(_BatchNorm):
    """BatchNorm1d for images: each channel normalised over (N, H, W) of (N, C, H, W)."""

    _ndims = (4,)
    _layout = "(N, C, H, W)"

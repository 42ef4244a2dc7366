"""Weight initialisation, in place and seeded through numpy Generators.

Xavier/Glorot keeps the variance of activations and gradients equal across a layer for
symmetric activations (tanh, sigmoid): Var W = 2 gain^2 / (fan_in + fan_out). He/Kaiming
does it for ReLU, which zeroes half its inputs: Var W = gain^2 / fan_in with gain^2 = 2.
``rng`` is an int seed or a ``numpy.random.Generator``; None uses the global generator
that ``nn.manual_seed`` resets.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

import autograd as ag

from ._util import as_rng

__all__ = ["calculate_gain", "constant_", "glorot_normal_", "glorot_uniform_", "he_normal_",
           "he_uniform_", "kaiming_normal_", "kaiming_uniform_", "normal_", "ones_",
           "uniform_", "xavier_normal_", "xavier_uniform_", "zeros_"]


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The factor that keeps activation variance fixed through ``nonlinearity`` (PyTorch's)."""
    if nonlinearity in ("linear", "identity", "sigmoid", "conv2d"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3.0
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        return math.sqrt(2.0 / (1.0 + slope ** 2))
    raise ValueError(f"calculate_gain: unknown nonlinearity {nonlinearity!r}; use one of "
                     "linear, sigmoid, tanh, relu, leaky_relu")


def _fans(t: ag.Tensor) -> tuple[int, int]:
    """fan_in, fan_out of a weight of shape (out, in, *kernel)."""
    if t.ndim < 2:
        raise ValueError(f"init: fan_in/fan_out need a weight with >= 2 dimensions, got shape "
                         f"{t.shape}; use zeros_/uniform_ for biases")
    receptive = int(np.prod(t.shape[2:]))
    return t.shape[1] * receptive, t.shape[0] * receptive


def _fill(t: ag.Tensor, values: np.ndarray) -> ag.Tensor:
    t.data[...] = values
    return t


def uniform_(t: ag.Tensor, a: float = 0.0, b: float = 1.0, rng: Any = None) -> ag.Tensor:
    return _fill(t, as_rng(rng).uniform(a, b, t.shape))


def normal_(t: ag.Tensor, mean: float = 0.0, std: float = 1.0, rng: Any = None) -> ag.Tensor:
    return _fill(t, as_rng(rng).normal(mean, std, t.shape))


def constant_(t: ag.Tensor, value: float) -> ag.Tensor:
    return _fill(t, np.full(t.shape, value))


def zeros_(t: ag.Tensor) -> ag.Tensor:
    return constant_(t, 0.0)


def ones_(t: ag.Tensor) -> ag.Tensor:
    return constant_(t, 1.0)


def xavier_uniform_(t: ag.Tensor, gain: float = 1.0, rng: Any = None) -> ag.Tensor:
    """U(-a, a) with a = gain sqrt(6 / (fan_in + fan_out)) (Glorot & Bengio 2010)."""
    fan_in, fan_out = _fans(t)
    a = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(t, -a, a, rng)


def xavier_normal_(t: ag.Tensor, gain: float = 1.0, rng: Any = None) -> ag.Tensor:
    """N(0, std^2) with std = gain sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _fans(t)
    return normal_(t, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), rng)


def _kaiming_std(t: ag.Tensor, a: float, mode: str, nonlinearity: str) -> float:
    fan_in, fan_out = _fans(t)
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"kaiming init: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan = fan_in if mode == "fan_in" else fan_out
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(t: ag.Tensor, a: float = 0.0, mode: str = "fan_in",
                     nonlinearity: str = "relu", rng: Any = None) -> ag.Tensor:
    """U(-b, b) with b = gain sqrt(3 / fan) (He et al. 2015); ``a`` is leaky_relu's slope."""
    bound = math.sqrt(3.0) * _kaiming_std(t, a, mode, nonlinearity)
    return uniform_(t, -bound, bound, rng)


def kaiming_normal_(t: ag.Tensor, a: float = 0.0, mode: str = "fan_in",
                    nonlinearity: str = "relu", rng: Any = None) -> ag.Tensor:
    """N(0, std^2) with std = gain / sqrt(fan)."""
    return normal_(t, 0.0, _kaiming_std(t, a, mode, nonlinearity), rng)


glorot_uniform_ = xavier_uniform_
glorot_normal_ = xavier_normal_
he_uniform_ = kaiming_uniform_
he_normal_ = kaiming_normal_

"""Fully connected layers, activations as modules, Dropout, Flatten and the lecture's MLP."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import autograd as ag

from . import functional as F
from . import init
from ._util import LayerInputError, as_rng, layer_input
from .module import Module
from .parameter import Parameter

_INITS: dict[str, Callable[..., Any]] = {
    "xavier_uniform": init.xavier_uniform_, "xavier_normal": init.xavier_normal_,
    "glorot_uniform": init.xavier_uniform_, "glorot_normal": init.xavier_normal_,
    "kaiming_uniform": init.kaiming_uniform_, "kaiming_normal": init.kaiming_normal_,
    "he_uniform": init.kaiming_uniform_, "he_normal": init.kaiming_normal_,
}


def init_weight(weight: Parameter, scheme: str | Callable[..., Any], rng: Any) -> None:
    """Fill ``weight`` by a scheme name from ``_INITS`` or a callable(weight, rng=...)."""
    if callable(scheme):
        scheme(weight, rng=rng)
        return
    if scheme not in _INITS:
        raise ValueError(f"unknown init {scheme!r}; use one of {sorted(_INITS)} or a callable")
    _INITS[scheme](weight, rng=rng)


class Linear(Module):
    """z = x W^T + b (lecture eq. 6 before the activation), batch along axis 0.

    ``weight`` has shape (out_features, in_features) and ``bias`` (out_features,), as in
    PyTorch. ``init`` names the weight initialisation (default "xavier_uniform"; MLP picks
    He for ReLU); the bias starts at zero. ``rng``: int seed or numpy Generator.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 dtype: Any = np.float64, init: str | Callable[..., Any] = "xavier_uniform",
                 rng: Any = None) -> None:
        if in_features < 1 or out_features < 1:
            raise ValueError(f"Linear: sizes must be >= 1, got ({in_features}, {out_features})")
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.weight = Parameter(np.zeros((out_features, in_features)), dtype=dtype)
        init_weight(self.weight, init, as_rng(rng))
        self.bias = Parameter(np.zeros(out_features), dtype=dtype) if bias else None

    def forward(self, x: Any) -> ag.Tensor:
        w = self.weight
        x = layer_input(self, x, w.dtype)
        if x.ndim < 1 or x.shape[-1] != self.in_features:
            raise LayerInputError(
                self, f"expected input of shape (batch, {self.in_features}), got {x.shape}; "
                f"the weight has shape {w.shape} (out_features, in_features)")
        return ag.linear(x, w, self.bias)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Identity(Module):
    def forward(self, x: Any) -> Any:
        return x


class ReLU(Module):
    """max(x, 0) (eq. 8; derivative eq. 19)."""

    def forward(self, x: ag.Tensor) -> ag.Tensor:
        return ag.relu(x)


class LeakyReLU(Module):
    """x for x > 0, negative_slope * x otherwise."""

    def __init__(self, negative_slope: float = 0.01) -> None:
        self.negative_slope = negative_slope

    def forward(self, x: ag.Tensor) -> ag.Tensor:
        return ag.leaky_relu(x, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class Tanh(Module):
    """tanh(x) (eq. 8; derivative eq. 20)."""

    def forward(self, x: ag.Tensor) -> ag.Tensor:
        return ag.tanh(x)


class Sigmoid(Module):
    """1 / (1 + e^-x) (eq. 8; derivative eq. 21)."""

    def forward(self, x: ag.Tensor) -> ag.Tensor:
        return ag.sigmoid(x)


class Softmax(Module):
    """e^{a_j} / sum_k e^{a_k} along ``dim`` (eq. 29). For training, give the logits to
    CrossEntropyLoss instead, which fuses softmax and log stably (eqs. 31-32)."""

    def __init__(self, dim: int = -1) -> None:
        self.dim = dim

    def forward(self, x: ag.Tensor) -> ag.Tensor:
        return ag.softmax(x, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Module):
    """log softmax along ``dim``, stable for any logits: the input ``NLLLoss`` expects."""

    def __init__(self, dim: int = -1) -> None:
        self.dim = dim

    def forward(self, x: ag.Tensor) -> ag.Tensor:
        return ag.log_softmax(x, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Dropout(Module):
    """Inverted dropout with probability ``p`` while training; identity in eval mode."""

    def __init__(self, p: float = 0.5, rng: Any = None) -> None:
        if not 0.0 <= p < 1.0:
            raise ValueError(f"Dropout: p must lie in [0, 1), got {p}")
        self.p = p
        self._rng = as_rng(rng)

    def forward(self, x: ag.Tensor) -> ag.Tensor:
        return F.dropout(x, self.p, self.training, self._rng)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class Flatten(Module):
    """(N, d1, d2, ...) -> (N, d1 * d2 * ...), e.g. between Conv2d and Linear."""

    def __init__(self, start_dim: int = 1) -> None:
        self.start_dim = start_dim

    def forward(self, x: ag.Tensor) -> ag.Tensor:
        return F.flatten(x, self.start_dim)


_ACTIVATIONS: dict[str, tuple[Callable[[], Module], str]] = {
    # name -> (module factory, the init that keeps activations well scaled through it)
    "relu": (ReLU, "kaiming_uniform"),
    "leaky_relu": (LeakyReLU, "kaiming_uniform"),
    "tanh": (Tanh, "xavier_uniform"),
    "sigmoid": (Sigmoid, "xavier_uniform"),
}


class MLP(Module):
    """A fully connected network (lecture eqs. 5-7).

    ``sizes = [in, h1, ..., out]``. Hidden layers compute a_l = sigma(W_l a_{l-1} + b_l)
    (eq. 6); the output layer is W_n a_{n-1} + b_n (eq. 7). For classification the
    outputs are logits: CrossEntropyLoss applies the softmax of eq. 7 inside the loss
    (stably); pass ``output="softmax"`` to get probabilities from the model itself.
    ``activation`` is "relu", "leaky_relu", "tanh", "sigmoid" or a Module class;
    ``init`` defaults to He for ReLU-like and Xavier for tanh/sigmoid. Layers are
    ``layers.0`` (Linear), ``layers.1`` (activation), ... as named in ``state_dict``.
    """

    def __init__(self, sizes: Sequence[int], activation: str | type[Module] = "relu",
                 output: str | None = None, dropout: float = 0.0, dtype: Any = np.float64,
                 init: str | Callable[..., Any] | None = None, rng: Any = None) -> None:
        sizes = [int(s) for s in sizes]
        if len(sizes) < 2:
            raise ValueError(f"MLP: sizes needs at least [in, out], got {sizes}")
        if isinstance(activation, str):
            if activation not in _ACTIVATIONS:
                raise ValueError(f"MLP: unknown activation {activation!r}; use one of "
                                 f"{sorted(_ACTIVATIONS)} or a Module class")
            make, default_init = _ACTIVATIONS[activation]
        else:
            make, default_init = activation, "xavier_uniform"
        gen = as_rng(rng)
        layers: list[Module] = []
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
            hidden = i < len(sizes) - 2
            scheme = init or (default_init if hidden else "xavier_uniform")
            layers.append(Linear(a, b, dtype=dtype, init=scheme, rng=gen))
            if hidden:
                layers.append(make())
                if dropout:
                    layers.append(Dropout(dropout, rng=gen))
        if output == "softmax":
            layers.append(Softmax(-1))
        elif output is not None:
            raise ValueError(f"MLP: output must be None (logits / regression) or 'softmax', "
                             f"got {output!r}")
        self.sizes = sizes
        self.layers = layers

    def forward(self, x: Any) -> ag.Tensor:
        for layer in self.layers:
            x = layer(x)
        return x

    def extra_repr(self) -> str:
        return f"sizes={self.sizes}"

"""Small helpers shared across nn: random generators and input checks with clear errors."""

from __future__ import annotations

from typing import Any

import numpy as np

import autograd as ag

_default_rng = np.random.default_rng()


def manual_seed(seed: int) -> None:
    """Reseed the generator that layers, init functions and loaders use when given no
    ``rng`` (like ``torch.manual_seed``)."""
    global _default_rng
    _default_rng = np.random.default_rng(seed)


def as_rng(rng: Any = None) -> np.random.Generator:
    """A numpy Generator from None (the global one), an int seed, or a Generator."""
    if rng is None:
        return _default_rng
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, (int, np.integer)):
        return np.random.default_rng(int(rng))
    raise TypeError(f"rng must be None, an int seed or a numpy Generator, got {type(rng)}")


class LayerInputError(ValueError):
    """Bad input to a layer. The message names the layer by its full dotted path
    (``layers.0``): each enclosing Module prepends its own name as the error passes."""

    def __init__(self, layer: Any, message: str) -> None:
        super().__init__(message)
        self.kind = type(layer).__name__
        self.path: list[str] = []
        self.message = message

    def __str__(self) -> str:
        name = ".".join(self.path)
        return f"{self.kind} '{name}': {self.message}" if name else f"{self.kind}: {self.message}"


def layer_input(layer: Any, x: Any, dtype: np.dtype) -> ag.Tensor:
    """``x`` as a Tensor for ``layer``; data that enters from outside the graph (numpy
    arrays, tensors made by no op) is checked for NaN/inf and cast to the layer's dtype.

    Tensors computed by earlier ops are passed through untouched, so a layer deep in a
    network costs nothing here; non-finite values made inside the graph are what
    ``autograd.detect_anomaly`` is for.
    """
    if isinstance(x, ag.Tensor):
        if x.grad_fn is not None:
            return x
        data = x.data
    else:
        data = np.asarray(x)
    if data.dtype.kind not in "fiub":
        raise LayerInputError(layer, f"input must be numeric, got dtype {data.dtype}")
    if data.dtype.kind == "f" and not np.isfinite(data).all():
        bad = np.argwhere(~np.isfinite(data))[0]
        raise LayerInputError(layer, f"input of shape {data.shape} contains NaN or inf (first "
                              f"at index {tuple(int(i) for i in bad)}); clean or impute the "
                              "batch before feeding it")
    if isinstance(x, ag.Tensor) and (x.requires_grad or data.dtype == dtype):
        return x
    return ag.Tensor(data, dtype=dtype)

"""Gradient clipping with PyTorch's names: ``clip_grad_norm_`` and ``clip_grad_value_``.

Both change the ``.grad`` of the given parameters in place (call them between
``loss.backward()`` and ``optimizer.step()``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

import autograd as ag

__all__ = ["clip_grad_norm_", "clip_grad_value_"]


def _grads(parameters: Any) -> list[ag.Tensor]:
    if isinstance(parameters, ag.Tensor):
        parameters = [parameters]
    if callable(parameters):
        raise TypeError("clip_grad: got a method; pass model.parameters() (called)")
    return [p.grad for p in parameters if p.grad is not None]


def clip_grad_norm_(parameters: Iterable[ag.Tensor] | ag.Tensor, max_norm: float,
                    norm_type: float = 2.0, error_if_nonfinite: bool = False) -> ag.Tensor:
    """Scale all gradients together so their joint ``norm_type``-norm is at most
    ``max_norm``; returns the norm before clipping (a 0-d tensor)."""
    max_norm, norm_type = float(max_norm), float(norm_type)
    if not max_norm >= 0:
        raise ValueError(f"clip_grad_norm_: max_norm must be >= 0, got {max_norm}")
    grads = _grads(parameters)
    if not grads:
        return ag.tensor(0.0)
    if norm_type == math.inf:
        total = max(float(np.max(np.abs(g.data))) if g.size else 0.0 for g in grads)
    else:
        total = float(sum(np.sum(np.abs(g.data) ** norm_type) for g in grads)) ** (
            1.0 / norm_type)
    if not math.isfinite(total) and error_if_nonfinite:
        raise RuntimeError(f"clip_grad_norm_: the total norm of the gradients is {total}; "
                           "the loss or the gradients hold NaN or inf")
    scale = max_norm / (total + 1e-6)
    if scale < 1.0:
        with ag.no_grad():
            for g in grads:
                g.mul_(scale)
    return ag.tensor(total)


def clip_grad_value_(parameters: Iterable[ag.Tensor] | ag.Tensor, clip_value: float) -> None:
    """Clamp every gradient element to [-clip_value, clip_value]."""
    clip_value = float(clip_value)
    if not clip_value >= 0:
        raise ValueError(f"clip_grad_value_: clip_value must be >= 0, got {clip_value}")
    with ag.no_grad():
        for g in _grads(parameters):
            g.clamp_(-clip_value, clip_value)

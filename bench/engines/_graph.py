"""Graph-building code shared by the autograd engines, so each engine runs the same ops.

The functions only use operators (``*``, ``+``, ``-``, ``**``) and the ``tanh``/``relu`` they
are given, so cygrad Tensors, torch tensors, MyGrad tensors, HIPS boxes and micrograd Values
all go through identical graphs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from workloads import ADD, MUL, Case, param_names


def run_chain(x: Any, kinds: list[str], tanh: Callable, relu: Callable) -> Any:
    """Apply the chain of elementwise ops named by ``kinds`` (see ``workloads.chain_kinds``)."""
    for k in kinds:
        if k == "mul":
            x = x * MUL
        elif k == "tanh":
            x = tanh(x)
        elif k == "add":
            x = x + ADD
        else:
            x = relu(x)
    return x


def scalar_params(case: Case, data: dict, make: Callable[[float], Any]) -> list[Any]:
    """Every MLP parameter entry as its own scalar ``make(value)``, flat, in ``param_names``
    order with weights row-major (fan_in, fan_out)."""
    return [make(float(v)) for k in param_names(case) for v in data[k].ravel()]


def unflatten(case: Case, flat: list[Any]) -> list[tuple[list[list[Any]], list[Any]]]:
    """Split ``flat`` into per-layer (W[in][out], b[out]) nested lists."""
    layers = []
    i = 0
    for m, n in zip(case.sizes[:-1], case.sizes[1:]):
        W = [flat[i + r * n: i + (r + 1) * n] for r in range(m)]
        i += m * n
        layers.append((W, flat[i:i + n]))
        i += n
    return layers


def scalar_mlp_loss(layers: list, xs: list[float], relu: Callable) -> Any:
    """(mlp(x) - 1)^2 for one sample, built neuron by neuron as micrograd's MLP does:
    act = b + sum_k w_k h_k, ReLU on hidden layers, linear output."""
    h: list[Any] = xs
    for li, (W, b) in enumerate(layers):
        last = li == len(layers) - 1
        out = []
        for j in range(len(b)):
            a = b[j]
            for k in range(len(h)):
                a = a + W[k][j] * h[k]
            out.append(a if last else relu(a))
        h = out
    return (h[0] - 1.0) ** 2


def scalar_grads(case: Case, grads: list[float]) -> list[np.ndarray]:
    """Per-parameter gradient arrays from the flat list of scalar gradients."""
    out = []
    i = 0
    for m, n in zip(case.sizes[:-1], case.sizes[1:]):
        out.append(np.array(grads[i:i + m * n]).reshape(m, n))
        i += m * n
        out.append(np.array(grads[i:i + n]))
        i += n
    return out

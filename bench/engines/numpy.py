"""The baseline: hand-written numpy forward pass and manual backpropagation.

This is what the lecture does "from scratch": the chain rule of each layer written out
(lecture eqs. 17-18), tanh' = 1 - tanh^2 (eq. 20), relu' = [x > 0] (eq. 19), and the softmax
cross-entropy gradient (p - y)/n (eq. 32), with SGD updates in place (eq. 15). Every other
engine's time is reported as a ratio to this one's, measured in the same run.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from workloads import ADD, HVP_EPS, MUL, SCALAR_CHAIN, VECTOR_CHAIN, Case, chain_kinds, param_names

from . import Runner, dispatch, inception


def version() -> str:
    return np.__version__


def mlp_loss_grad(params: list[np.ndarray], X: np.ndarray, y: np.ndarray, act: str,
                  rows: np.ndarray) -> tuple[Any, list[np.ndarray]]:
    """Mean softmax cross-entropy of the MLP ``params`` = [W0, b0, W1, b1, ...] and its
    gradient, by manual backprop. ``rows`` is ``arange(len(y))``, precomputed."""
    nl = len(params) // 2
    hs = [X]
    h = X
    for i in range(nl):
        z = h @ params[2 * i] + params[2 * i + 1]
        if i < nl - 1:
            h = np.tanh(z) if act == "tanh" else np.maximum(z, 0)
            hs.append(h)
    # Stable log-softmax (eqs. 29, 31): subtract the row maximum before exponentiating.
    m = z.max(axis=1, keepdims=True)
    e = np.exp(z - m)
    s = e.sum(axis=1, keepdims=True)
    loss = (np.log(s[:, 0]) + m[:, 0] - z[rows, y]).mean()
    g = e / s
    g[rows, y] -= 1
    g *= 1.0 / len(y)  # eq. 32
    grads: list[np.ndarray] = [None] * (2 * nl)  # type: ignore[list-item]
    for i in reversed(range(nl)):
        grads[2 * i] = hs[i].T @ g
        grads[2 * i + 1] = g.sum(axis=0)
        if i:
            g = g @ params[2 * i].T
            h = hs[i]
            g *= (1 - h * h) if act == "tanh" else (h > 0)
    return loss, grads


def _mlp(case: Case, data: dict) -> Runner:
    params = [data[k].copy() for k in param_names(case)]
    X, y, act, lr = data["X"], data["y"], case.act, case.lr
    rows = np.arange(len(y))

    def step() -> Any:
        loss, grads = mlp_loss_grad(params, X, y, act, rows)
        for p, g in zip(params, grads):
            p -= lr * g  # eq. 15
        return loss, grads

    return Runner(step, lambda h: (float(h[0]), h[1]))


def _hvp(case: Case, data: dict) -> Runner:
    names = param_names(case)
    params = [data[k] for k in names]
    vs = [data["v" + k] for k in names]
    X, y = data["X"], data["y"]
    rows = np.arange(len(y))

    def step() -> Any:
        # H v ~ (grad(theta + eps v) - grad(theta - eps v)) / (2 eps), error O(eps^2).
        lp, gp = mlp_loss_grad([p + HVP_EPS * v for p, v in zip(params, vs)], X, y, case.act,
                               rows)
        lm, gm = mlp_loss_grad([p - HVP_EPS * v for p, v in zip(params, vs)], X, y, case.act,
                               rows)
        return 0.5 * (lp + lm), [(a - b) * (0.5 / HVP_EPS) for a, b in zip(gp, gm)]

    return Runner(step, lambda h: (float(h[0]), h[1]))


def chain_forward_backward(x: Any, kinds: list[str]) -> tuple[Any, Any]:
    """sum(chain(x)) and its gradient, keeping every op's output for the backward sweep."""
    outs = []
    for k in kinds:
        if k == "mul":
            x = x * MUL
        elif k == "tanh":
            x = np.tanh(x)
        elif k == "add":
            x = x + ADD
        else:
            x = np.maximum(x, 0)
        outs.append(x)
    g = np.ones_like(x)
    for k, out in zip(reversed(kinds), reversed(outs)):
        if k == "mul":
            g = g * MUL
        elif k == "tanh":
            g = g * (1 - out * out)
        elif k == "relu":
            g = g * (out > 0)
    return x.sum(), g


def _chain(case: Case, data: dict) -> Runner:
    x = data["X"]
    kinds = chain_kinds(case.length, VECTOR_CHAIN if case.kind == "chain" else SCALAR_CHAIN)

    def step() -> Any:
        return chain_forward_backward(x, kinds)

    return Runner(step, lambda h: (float(h[0]), [np.asarray(h[1])]))


def _scalar_mlp(case: Case, data: dict) -> Runner:
    # The numpy baseline of the scalar graph is the same network vectorised for one sample.
    params = [data[k] for k in param_names(case)]
    x = data["X"]
    nl = len(params) // 2

    def step() -> Any:
        hs = [x]
        h = x
        for i in range(nl):
            z = h @ params[2 * i] + params[2 * i + 1]
            if i < nl - 1:
                h = np.maximum(z, 0)
                hs.append(h)
        loss = (z[0] - 1.0) ** 2
        g = 2.0 * (z - 1.0)
        grads: list[np.ndarray] = [None] * (2 * nl)  # type: ignore[list-item]
        for i in reversed(range(nl)):
            grads[2 * i] = np.outer(hs[i], g)
            grads[2 * i + 1] = g
            if i:
                g = (params[2 * i] @ g) * (hs[i] > 0)
        return loss, grads

    return Runner(step, lambda h: (float(h[0]), h[1]))


def build(case: Case, data: dict) -> Runner:
    return dispatch("numpy", case, data,
                    {"mlp": _mlp, "hvp": _hvp, "chain": _chain, "scalar_chain": _chain,
                     "scalar_mlp": _scalar_mlp, "inception": inception.numpy_runner})

"""MyGrad, with its defaults (memory guarding on): ``mg.matmul``, ``mg.tanh``, MyGrad's
``relu`` and ``softmax_crossentropy``, SGD on ``p.data``, ``null_grad()``.

MyGrad has no higher-order derivatives, so it sits out W5.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from workloads import SCALAR_CHAIN, VECTOR_CHAIN, Case, chain_kinds, param_names

from . import Runner, dispatch
from ._graph import run_chain, scalar_grads, scalar_mlp_loss, scalar_params, unflatten


def version() -> str:
    import mygrad

    return mygrad.__version__


def _mlp(case: Case, data: dict) -> Runner:
    import mygrad as mg
    from mygrad.nnet.activations import relu
    from mygrad.nnet.losses import softmax_crossentropy

    params = [mg.tensor(data[k].copy()) for k in param_names(case)]
    X, y, lr = data["X"], data["y"], case.lr
    act = mg.tanh if case.act == "tanh" else relu
    nl = len(params) // 2

    def step() -> Any:
        h = X
        for i in range(nl):
            z = mg.matmul(h, params[2 * i]) + params[2 * i + 1]
            if i < nl - 1:
                h = act(z)
        loss = softmax_crossentropy(z, y)
        loss.backward()
        grads = []
        for p in params:
            g = p.grad
            p.data -= lr * g
            p.null_grad()
            grads.append(g)
        return loss, grads

    return Runner(step, lambda h: (float(h[0].item()), h[1]))


def _chain(case: Case, data: dict) -> Runner:
    import mygrad as mg
    from mygrad.nnet.activations import relu

    x = mg.tensor(data["X"].copy())
    kinds = chain_kinds(case.length, VECTOR_CHAIN if case.kind == "chain" else SCALAR_CHAIN)

    def step() -> Any:
        x.null_grad()
        out = run_chain(x, kinds, mg.tanh, relu).sum()
        out.backward()
        return out, x.grad

    return Runner(step, lambda h: (float(h[0].item()), [np.asarray(h[1])]))


def _scalar_mlp(case: Case, data: dict) -> Runner:
    import mygrad as mg
    from mygrad.nnet.activations import relu

    dt = data["X"].dtype
    flat = scalar_params(case, data, lambda v: mg.tensor(v, dtype=dt))
    layers = unflatten(case, flat)
    xs = [float(v) for v in data["X"]]

    def step() -> Any:
        for p in flat:
            p.null_grad()
        loss = scalar_mlp_loss(layers, xs, relu)
        loss.backward()
        return loss

    return Runner(step, lambda h: (float(h.item()),
                                   scalar_grads(case, [float(p.grad) for p in flat])))


def build(case: Case, data: dict) -> Runner:
    return dispatch("mygrad", case, data,
                    {"mlp": _mlp, "chain": _chain, "scalar_chain": _chain,
                     "scalar_mlp": _scalar_mlp},
                    "MyGrad has no second derivatives (grad of grad)")

"""HIPS autograd: a loss *function* differentiated by ``value_and_grad``, written with
``autograd.numpy``; SGD applied to the numpy parameter arrays in place.

Its import name is ``autograd``, like cygrad's, which is why every engine runs in its own
process; ``version()`` refuses cygrad's package if that is what ``import autograd`` finds.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from workloads import SCALAR_CHAIN, VECTOR_CHAIN, Case, chain_kinds, param_names

from . import Runner, dispatch
from ._graph import run_chain, scalar_grads, scalar_mlp_loss, unflatten


def version() -> str:
    import autograd

    if hasattr(autograd, "registry") or not hasattr(autograd, "value_and_grad"):
        raise ImportError(
            f"'import autograd' finds cygrad's package ({autograd.__file__}), not HIPS "
            "autograd; run this engine with --python-for hips=PATH to a Python that has it")
    from importlib.metadata import version as dist_version

    return dist_version("autograd")


def _loss_fn(case: Case, X: np.ndarray, y: np.ndarray) -> Any:
    import autograd.numpy as anp

    rows = np.arange(len(y))
    act = anp.tanh if case.act == "tanh" else (lambda z: anp.maximum(z, 0.0))

    def loss(params: list) -> Any:
        nl = len(params) // 2
        h = X
        for i in range(nl):
            z = anp.dot(h, params[2 * i]) + params[2 * i + 1]
            if i < nl - 1:
                h = act(z)
        m = anp.max(z, axis=1, keepdims=True)
        lse = anp.log(anp.sum(anp.exp(z - m), axis=1)) + m[:, 0]
        return anp.mean(lse - z[rows, y])

    return loss


def _mlp(case: Case, data: dict) -> Runner:
    from autograd import value_and_grad

    params = [data[k].copy() for k in param_names(case)]
    vg = value_and_grad(_loss_fn(case, data["X"], data["y"]))
    lr = case.lr

    def step() -> Any:
        loss, grads = vg(params)
        for p, g in zip(params, grads):
            p -= lr * g
        return loss, grads

    return Runner(step, lambda h: (float(h[0]), list(h[1])))


def _hvp(case: Case, data: dict) -> Runner:
    import autograd.numpy as anp

    from autograd import grad

    names = param_names(case)
    params = [data[k] for k in names]
    vs = [data["v" + k] for k in names]
    g = grad(_loss_fn(case, data["X"], data["y"]))
    hvp = grad(lambda p: sum(anp.sum(gi * vi) for gi, vi in zip(g(p), vs)))

    def step() -> Any:
        return hvp(params)

    # The loss is not a by-product of the hvp here; only the gradients are checked.
    return Runner(step, lambda h: (None, list(h)))


def _chain(case: Case, data: dict) -> Runner:
    import autograd.numpy as anp

    from autograd import value_and_grad

    kinds = chain_kinds(case.length, VECTOR_CHAIN if case.kind == "chain" else SCALAR_CHAIN)
    vg = value_and_grad(lambda x: anp.sum(run_chain(x, kinds, anp.tanh,
                                                   lambda a: anp.maximum(a, 0.0))))
    x = data["X"]

    def step() -> Any:
        return vg(x)

    return Runner(step, lambda h: (float(h[0]), [np.asarray(h[1])]))


def _scalar_mlp(case: Case, data: dict) -> Runner:
    import autograd.numpy as anp

    from autograd import value_and_grad

    flat = [float(v) for k in param_names(case) for v in data[k].ravel()]
    xs = [float(v) for v in data["X"]]
    vg = value_and_grad(lambda p: scalar_mlp_loss(unflatten(case, p), xs,
                                                  lambda a: anp.maximum(a, 0.0)))

    def step() -> Any:
        return vg(flat)

    return Runner(step, lambda h: (float(h[0]), scalar_grads(case, [float(v) for v in h[1]])))


def build(case: Case, data: dict) -> Runner:
    return dispatch("hips", case, data,
                    {"mlp": _mlp, "hvp": _hvp, "chain": _chain, "scalar_chain": _chain,
                     "scalar_mlp": _scalar_mlp})

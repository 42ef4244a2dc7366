"""cygrad, with plain autograd ops: Tensor parameters, ``@``, ``tanh``/``relu``,
``cross_entropy``, and SGD written as ``p.data -= lr * p.grad.data`` (lecture eq. 15).

No ``nn`` layers on purpose: this measures the engine's floor, what any layer adds on top.
The worker puts the repository root first on ``sys.path``, so this checkout is measured.
"""

from __future__ import annotations

from typing import Any

from workloads import SCALAR_CHAIN, VECTOR_CHAIN, Case, chain_kinds, param_names

from . import Runner, dispatch, inception
from ._graph import run_chain, scalar_grads, scalar_mlp_loss, scalar_params, unflatten


def version() -> str:
    import autograd

    if not hasattr(autograd, "registry"):
        raise ImportError(f"the 'autograd' found at {autograd.__file__} is not cygrad's")
    try:
        from importlib.metadata import version as dist_version

        return dist_version("cygrad")
    except Exception:  # not installed as a distribution: measured straight from the checkout
        return "checkout"


def _forward(ag: Any, params: list, X: Any, y: Any, act: str) -> Any:
    nl = len(params) // 2
    h = X
    for i in range(nl):
        z = h @ params[2 * i] + params[2 * i + 1]
        if i < nl - 1:
            h = z.tanh() if act == "tanh" else z.relu()
    return ag.cross_entropy(z, y)


def _mlp(case: Case, data: dict) -> Runner:
    import autograd as ag

    params = [ag.Tensor(data[k].copy(), requires_grad=True) for k in param_names(case)]
    X, y, act, lr = ag.Tensor(data["X"]), data["y"], case.act, case.lr

    def step() -> Any:
        loss = _forward(ag, params, X, y, act)
        loss.backward()
        grads = []
        for p in params:
            g = p.grad
            p.data -= lr * g.data
            p.grad = None
            grads.append(g)
        return loss, grads

    return Runner(step, lambda h: (h[0].item(), [g.data for g in h[1]]))


def _hvp(case: Case, data: dict) -> Runner:
    import autograd as ag

    names = param_names(case)
    params = [ag.Tensor(data[k], requires_grad=True) for k in names]
    vs = [ag.Tensor(data["v" + k]) for k in names]
    X, y = ag.Tensor(data["X"]), data["y"]

    def step() -> Any:
        loss = _forward(ag, params, X, y, case.act)
        gs = ag.grad(loss, params, create_graph=True)
        gv = (gs[0] * vs[0]).sum()
        for g, v in zip(gs[1:], vs[1:]):
            gv = gv + (g * v).sum()
        return loss, ag.grad(gv, params)

    return Runner(step, lambda h: (h[0].item(), [g.data for g in h[1]]))


def _chain(case: Case, data: dict) -> Runner:
    import autograd as ag

    x = ag.Tensor(data["X"], requires_grad=True)
    kinds = chain_kinds(case.length, VECTOR_CHAIN if case.kind == "chain" else SCALAR_CHAIN)
    tanh, relu = ag.tanh, ag.relu

    def step() -> Any:
        x.grad = None
        out = run_chain(x, kinds, tanh, relu).sum()
        out.backward()
        return out, x.grad

    return Runner(step, lambda h: (h[0].item(), [h[1].data]))


def _scalar_mlp(case: Case, data: dict) -> Runner:
    import autograd as ag

    dt = data["X"].dtype
    flat = scalar_params(case, data, lambda v: ag.Tensor(v, dtype=dt, requires_grad=True))
    layers = unflatten(case, flat)
    xs = [float(v) for v in data["X"]]
    relu = ag.relu

    def step() -> Any:
        for p in flat:
            p.grad = None
        loss = scalar_mlp_loss(layers, xs, relu)
        loss.backward()
        return loss

    return Runner(step, lambda h: (h.item(), scalar_grads(case, [p.grad.item() for p in flat])))


def build(case: Case, data: dict) -> Runner:
    return dispatch("cygrad", case, data,
                    {"mlp": _mlp, "hvp": _hvp, "chain": _chain, "scalar_chain": _chain,
                     "scalar_mlp": _scalar_mlp, "inception": inception.cygrad_runner})

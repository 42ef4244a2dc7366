"""PyTorch (CPU), written as a user would: tensors with requires_grad, ``F.cross_entropy``,
an in-place SGD update under ``no_grad`` (what ``torch.optim.SGD`` does), ``grad=None``.

Its intra-op thread pool is its own: the worker switches it with ``set_threads`` along with
the BLAS and OpenMP pools it limits through threadpoolctl.
"""

from __future__ import annotations

from typing import Any

from workloads import SCALAR_CHAIN, VECTOR_CHAIN, Case, chain_kinds, param_names

from . import Runner, dispatch, inception
from ._graph import run_chain, scalar_grads, scalar_mlp_loss, scalar_params, unflatten


def version() -> str:
    import torch

    return torch.__version__


_default_threads: list[int] = []  # torch's own choice, read before the first change


def set_threads(n: int | None) -> int:
    """Intra-op threads: ``n``, or torch's default for None; returns the count in effect."""
    import torch

    if not _default_threads:
        _default_threads.append(torch.get_num_threads())
    torch.set_num_threads(n or _default_threads[0])
    return torch.get_num_threads()


def _forward(torch: Any, params: list, X: Any, y: Any, act: str) -> Any:
    nl = len(params) // 2
    h = X
    for i in range(nl):
        z = h @ params[2 * i] + params[2 * i + 1]
        if i < nl - 1:
            h = torch.tanh(z) if act == "tanh" else torch.relu(z)
    return torch.nn.functional.cross_entropy(z, y)


def _mlp(case: Case, data: dict) -> Runner:
    import torch

    params = [torch.from_numpy(data[k].copy()).requires_grad_() for k in param_names(case)]
    X, y, act, lr = torch.from_numpy(data["X"]), torch.from_numpy(data["y"]), case.act, case.lr

    def step() -> Any:
        loss = _forward(torch, params, X, y, act)
        loss.backward()
        grads = []
        with torch.no_grad():
            for p in params:
                g = p.grad
                p.sub_(g, alpha=lr)
                p.grad = None
                grads.append(g)
        return loss, grads

    return Runner(step, lambda h: (h[0].item(), [g.numpy() for g in h[1]]))


def _hvp(case: Case, data: dict) -> Runner:
    import torch

    names = param_names(case)
    params = [torch.from_numpy(data[k].copy()).requires_grad_() for k in names]
    vs = [torch.from_numpy(data["v" + k]) for k in names]
    X, y = torch.from_numpy(data["X"]), torch.from_numpy(data["y"])

    def step() -> Any:
        loss = _forward(torch, params, X, y, case.act)
        gs = torch.autograd.grad(loss, params, create_graph=True)
        gv = sum((g * v).sum() for g, v in zip(gs, vs))
        return loss, torch.autograd.grad(gv, params)

    return Runner(step, lambda h: (h[0].item(), [g.numpy() for g in h[1]]))


def _chain(case: Case, data: dict) -> Runner:
    import torch

    x = torch.from_numpy(data["X"].copy()).requires_grad_()
    kinds = chain_kinds(case.length, VECTOR_CHAIN if case.kind == "chain" else SCALAR_CHAIN)

    def step() -> Any:
        x.grad = None
        out = run_chain(x, kinds, torch.tanh, torch.relu).sum()
        out.backward()
        return out, x.grad

    return Runner(step, lambda h: (h[0].item(), [h[1].numpy()]))


def _scalar_mlp(case: Case, data: dict) -> Runner:
    import torch

    dt = torch.float64 if data["X"].dtype.itemsize == 8 else torch.float32
    flat = scalar_params(case, data, lambda v: torch.tensor(v, dtype=dt, requires_grad=True))
    layers = unflatten(case, flat)
    xs = [float(v) for v in data["X"]]

    def step() -> Any:
        for p in flat:
            p.grad = None
        loss = scalar_mlp_loss(layers, xs, torch.relu)
        loss.backward()
        return loss

    return Runner(step, lambda h: (h.item(), scalar_grads(case, [p.grad.item() for p in flat])))


def build(case: Case, data: dict) -> Runner:
    return dispatch("torch", case, data,
                    {"mlp": _mlp, "hvp": _hvp, "chain": _chain, "scalar_chain": _chain,
                     "scalar_mlp": _scalar_mlp, "inception": inception.torch_runner})

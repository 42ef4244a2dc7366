"""micrograd (Karpathy): scalar ``Value`` nodes only, so it takes part in the scalar
workloads (W4). Its backward builds the topological order by recursion, so the worker
raises Python's recursion limit for long chains and says so under the table.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
from workloads import SCALAR_CHAIN, Case, chain_kinds

from . import Runner, dispatch
from ._graph import run_chain, scalar_grads, scalar_mlp_loss, scalar_params, unflatten


def version() -> str:
    from importlib.metadata import version as dist_version

    import micrograd.engine  # noqa: F401 - ImportError here means "not installed"

    return dist_version("micrograd")


def _scalar_mlp(case: Case, data: dict) -> Runner:
    from micrograd.engine import Value

    flat = scalar_params(case, data, Value)
    layers = unflatten(case, flat)
    xs = [float(v) for v in data["X"]]

    def step() -> Any:
        for p in flat:
            p.grad = 0  # micrograd's Module.zero_grad
        loss = scalar_mlp_loss(layers, xs, lambda v: v.relu())
        loss.backward()
        return loss

    return Runner(step, lambda h: (h.data, scalar_grads(case, [p.grad for p in flat])))


def _scalar_chain(case: Case, data: dict) -> Runner:
    from micrograd.engine import Value

    x = Value(float(data["X"]))
    kinds = chain_kinds(case.length, SCALAR_CHAIN)
    note = ""
    need = 2 * case.length + 1000
    if need > sys.getrecursionlimit():
        note = (f"micrograd: recursion limit raised from {sys.getrecursionlimit()} to {need} "
                "(its recursive topological sort raises RecursionError otherwise)")
        sys.setrecursionlimit(need)

    def step() -> Any:
        x.grad = 0
        out = run_chain(x, kinds, None, lambda v: v.relu())  # type: ignore[arg-type]
        out.backward()
        return out

    return Runner(step, lambda h: (h.data, [np.asarray(x.grad)]), note)


def build(case: Case, data: dict) -> Runner:
    return dispatch("micrograd", case, data,
                    {"scalar_mlp": _scalar_mlp, "scalar_chain": _scalar_chain},
                    "micrograd has scalar Values only (no arrays, no second derivatives)")

"""The benchmark cases: what every engine computes, and the data it computes it on.

A case fixes the network, batch, dtype and the initial parameters (drawn from a seeded
generator), so every engine starts from identical numbers and the orchestrator can compare
their losses and gradients with the hand-written numpy baseline's.

This module needs numpy only: it is imported by the orchestrator and by every worker,
whichever engine the worker runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import w6

# The elementwise chains (W3, W4): one list of op kinds, walked identically by every engine.
# W3 alternates x*0.999, tanh(x), x+0.001 on a shape-(8,) tensor. micrograd has no tanh, so
# the scalar chain of W4 uses relu instead (values stay positive, so relu is the identity
# there but is still recorded and differentiated as an op).
MUL, ADD = 0.999, 0.001
VECTOR_CHAIN = ("mul", "tanh", "add")
SCALAR_CHAIN = ("mul", "add", "relu")


def chain_kinds(n: int, cycle: tuple[str, ...]) -> list[str]:
    """The first ``n`` op kinds of the repeating ``cycle``."""
    return [cycle[i % len(cycle)] for i in range(n)]


@dataclass(frozen=True)
class Floor:
    """A speed target for cygrad on one case; run.py prints it met or MISSED (a report, never
    an assertion). Every figure is a ratio to the numpy baseline timed in the same process,
    summarised over fresh processes (see bench/README.md, "Method").

    ``kind``:
      ``"ratio"``     cygrad's median ratio is at most ``limit``;
      ``"vs"``        cygrad's median ratio is at most ``limit`` times ``peer``'s;
      ``"every"``     cygrad beats ``peer`` in every process: cygrad's largest ratio over its
                      processes is below ``limit`` times the peer's smallest;
      ``"completes"`` cygrad finishes in every process.
    ``threads``: the BLAS setting the target is for ("1" or "default"); None: every setting.
    """

    kind: str
    limit: float = 1.0
    peer: str = ""
    threads: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("ratio", "vs", "every", "completes"):
            raise ValueError(f"Floor: unknown kind {self.kind!r}; use ratio, vs, every or "
                             "completes")
        if self.kind in ("vs", "every") and not self.peer:
            raise ValueError(f"Floor({self.kind!r}) needs peer=, the engine to compare with")


@dataclass(frozen=True)
class Case:
    """One timed configuration of one workload.

    ``kind`` selects the engine code (``mlp``, ``chain``, ``scalar_mlp``, ``scalar_chain``,
    ``hvp``); ``engines`` restricts who runs it (None: everyone, numpy first as baseline).
    ``check_steps`` steps are run untimed from the initial state and their losses and
    gradients compared with numpy's within ``rtol`` (relative to the quantity's scale).
    ``per_op`` divides the step time by the number of ops in the chain for the table.
    ``floors`` are cygrad's speed targets on this case (see ``Floor``).
    """

    name: str
    group: str
    kind: str
    title: str
    sizes: tuple[int, ...] = ()
    batch: int = 1
    dtype: str = "float64"
    act: str = "tanh"
    lr: float = 0.1
    length: int = 0
    engines: tuple[str, ...] | None = None
    check_steps: int = 3
    # float64 engines agree with numpy to ~1e-15 of the scale, float32 ones to ~3e-6 (batch
    # 4096); the tolerances leave a margin of ~30x over what honest engines were seen to differ.
    rtol: float = 1e-9
    per_op: bool = False
    repeats: int | None = None  # fixed number of timed rounds (long cases), else the default
    floors: tuple[Floor, ...] = ()
    meta: dict = field(default_factory=dict, compare=False, hash=False)


def _w1(batch: int, dtype: str) -> Case:
    # Small batches: the engine's per-op cost shows next to 3 small matmuls, and two BLAS
    # threads add their own hand-over cost to both sides; large batches are BLAS-bound.
    floors = ((Floor("ratio", 1.1, threads="1"), Floor("ratio", 1.2, threads="default"))
              if batch == 128 else (Floor("ratio", 1.05),))
    return Case(
        name=f"W1-b{batch}-{'f64' if dtype == 'float64' else 'f32'}", group="W1", kind="mlp",
        title=f"W1 2-64-64-2 tanh MLP, softmax cross-entropy, SGD step; batch {batch}, {dtype}",
        sizes=(2, 64, 64, 2), batch=batch, dtype=dtype, act="tanh", lr=0.1,
        rtol=1e-9 if dtype == "float64" else 1e-4, floors=floors)


CASES: tuple[Case, ...] = (
    _w1(128, "float64"), _w1(128, "float32"), _w1(4096, "float64"), _w1(4096, "float32"),
    Case(name="W2-b256-f32", group="W2", kind="mlp",
         title="W2 100-512-512-10 ReLU MLP, softmax cross-entropy, SGD step; batch 256, float32",
         sizes=(100, 512, 512, 10), batch=256, dtype="float32", act="relu", lr=0.01,
         rtol=1e-4, floors=(Floor("ratio", 1.05),)),
    Case(name="W3-chain1000", group="W3", kind="chain",
         title="W3 chain of 1000 elementwise ops (x*0.999, tanh, x+0.001) on shape (8,), "
               "sum, backward", sizes=(8,), length=1000, check_steps=2, per_op=True,
         floors=(Floor("ratio", 2.0),)),
    Case(name="W4-mlp", group="W4", kind="scalar_mlp",
         title="W4 2-16-16-1 MLP of 0-d tensors (ReLU hidden, linear out, (y-1)^2), one "
               "sample, forward+backward", sizes=(2, 16, 16, 1), check_steps=2,
         floors=(Floor("every", peer="micrograd"),)),
    Case(name="W4-chain5000", group="W4", kind="scalar_chain",
         title="W4 chain of 5000 scalar ops (x*0.999, x+0.001, relu), backward",
         length=5000, check_steps=2, per_op=True),
    Case(name="W4-chain1e6", group="W4", kind="scalar_chain",
         title="W4 chain of 1,000,000 scalar ops (cygrad must finish; numpy for the check)",
         length=1_000_000, engines=("numpy", "cygrad"), check_steps=1, per_op=True,
         repeats=1, floors=(Floor("completes"),)),
    Case(name="W5-hvp-b128-f64", group="W5", kind="hvp",
         title="W5 Hessian-vector product of the W1 loss (batch 128, float64) wrt all "
               "parameters; numpy = central difference of the manual gradient (2 gradients)",
         sizes=(2, 64, 64, 2), batch=128, dtype="float64", act="tanh", check_steps=1,
         rtol=1e-7),
    Case(name="W6-b32-f32", group="W6", kind="inception",
         title="W6 one SGD step of Erbin-Finotello's Inception network for h11 (3 modules "
               "[32,64,32], BatchNorm, 234,849 parameters), batch 32, float32",
         batch=32, dtype="float32", lr=1e-3, engines=("numpy", "cygrad", "torch"), rtol=1e-4,
         floors=(Floor("vs", 1.1, peer="torch", threads="1"),
                 Floor("vs", 1.3, peer="torch", threads="default"))),
)

BY_NAME = {c.name: c for c in CASES}
GROUPS = ("W1", "W2", "W3", "W4", "W5", "W6", "P")

# Step of the central difference in W5's numpy baseline: truncation error ~eps^2, rounding
# ~1e-16/eps, both far below the check's tolerance.
HVP_EPS = 1e-5


def select(spec: str | None) -> list[Case]:
    """Cases named by a comma list of groups (``W1``) or case names (``W1-b128-f64``)."""
    if not spec:
        return list(CASES)
    out: list[Case] = []
    for item in (s.strip() for s in spec.split(",") if s.strip()):
        if item in BY_NAME:
            picked = [BY_NAME[item]]
        elif item.upper() in GROUPS:
            picked = [c for c in CASES if c.group == item.upper()]
        else:
            raise ValueError(
                f"unknown workload {item!r}; choose groups from {', '.join(GROUPS)} or case "
                f"names from {', '.join(BY_NAME)}")
        out += [c for c in picked if c not in out]
    return out


def make_data(case: Case) -> dict[str, np.ndarray]:
    """Inputs, labels and initial parameters for ``case``, identical for every engine.

    MLP weights are (fan_in, fan_out) with z = x W + b, drawn N(0, 1/fan_in); biases are
    small random numbers so their gradients are not trivially structured.
    """
    rng = np.random.default_rng(_seed(case.name))
    dt = np.dtype(case.dtype)
    data: dict[str, np.ndarray] = {}
    if case.kind in ("mlp", "hvp", "scalar_mlp"):
        for i, (m, n) in enumerate(zip(case.sizes[:-1], case.sizes[1:])):
            data[f"W{i}"] = (rng.standard_normal((m, n)) / np.sqrt(m)).astype(dt)
            data[f"b{i}"] = (0.1 * rng.standard_normal(n)).astype(dt)
    if case.kind in ("mlp", "hvp"):
        data["X"] = rng.standard_normal((case.batch, case.sizes[0])).astype(dt)
        data["y"] = rng.integers(0, case.sizes[-1], case.batch).astype(np.int64)
    if case.kind == "hvp":
        for i in range(len(case.sizes) - 1):
            for p in ("W", "b"):
                data[f"v{p}{i}"] = rng.standard_normal(data[f"{p}{i}"].shape).astype(dt)
    if case.kind == "scalar_mlp":
        data["X"] = rng.standard_normal(case.sizes[0]).astype(dt)
    if case.kind == "chain":
        data["X"] = (0.5 * rng.standard_normal(case.sizes)).astype(dt)
    if case.kind == "scalar_chain":
        data["X"] = np.asarray(0.5, dtype=dt)
    if case.kind == "inception":
        data.update(w6.make_data(case.batch, rng, dt))
    return data


def param_names(case: Case) -> list[str]:
    """Parameter names in the order engines report their gradients."""
    if case.kind == "inception":
        return w6.param_names()
    return [f"{p}{i}" for i in range(len(case.sizes) - 1) for p in ("W", "b")]


def _seed(name: str) -> int:
    # str hash() is salted per process; a fixed byte sum keeps data identical across workers.
    return sum(ord(c) * 31 ** i for i, c in enumerate(name)) % 2**32

"""W6 (the paper's Inception step): cygrad's step agrees with the hand-written numpy
baseline in float64 on a small batch, so the workload measures two equal computations."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parents[2] / "bench"


def test_w6_cygrad_step_equals_the_numpy_baseline_in_float64(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))
    for name in [m for m in sys.modules if m == "workloads" or m.startswith("engines")]:
        monkeypatch.delitem(sys.modules, name)
    import workloads
    from engines import cygrad
    from engines import numpy as numpy_engine

    case = dataclasses.replace(workloads.BY_NAME["W6-b32-f32"], batch=3, dtype="float64")
    data = workloads.make_data(case)
    assert data["X"].shape == (3, 1, 12, 15) and data["mask"].shape == (3, 64, 12, 15)
    ref, got = numpy_engine.build(case, data), cygrad.build(case, data)
    for _ in range(2):  # two SGD steps: the update and the running statistics agree too
        (l_ref, g_ref), (l_got, g_got) = ref.read(ref.step()), got.read(got.step())
        assert abs(l_ref - l_got) <= 1e-12 * abs(l_ref)
        for a, b in zip(g_ref, g_got):
            np.testing.assert_allclose(b, a, rtol=0, atol=1e-10 * np.abs(a).max())


def test_w6_float32_gradients_stay_near_float64(monkeypatch):
    # float32 sums over a channel's 5760 values once drifted by 1e-4 of their magnitude,
    # and BatchNorm's backward turned that into 3e-4 errors in the first layers'
    # gradients by the second step (the bench's cross-check caught it)
    monkeypatch.syspath_prepend(str(BENCH))
    for name in [m for m in sys.modules if m == "workloads" or m.startswith("engines")]:
        monkeypatch.delitem(sys.modules, name)
    import workloads
    from engines import cygrad

    case = workloads.BY_NAME["W6-b32-f32"]
    c64 = dataclasses.replace(case, dtype="float64")
    f32, f64 = cygrad.build(case, workloads.make_data(case)), \
        cygrad.build(c64, workloads.make_data(c64))
    for _ in range(2):
        g32, g64 = f32.read(f32.step())[1], f64.read(f64.step())[1]
        for a, b in zip(g32, g64):
            scale = np.abs(b).sum()
            assert abs(a.sum() - b.sum()) <= 1e-5 * scale
            assert abs(np.abs(a).sum() - scale) <= 1e-5 * scale

"""Smoke tests of bench/: the method (every engine against numpy in the same fresh process,
several processes, thread settings side by side, the default environment), the figures
drawn from raw block times, the floors, and the cross-check that catches a wrong engine.
No timing is asserted (the machine is shared); only that times were taken and compared.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

BENCH = Path(__file__).resolve().parents[2] / "bench"
# Tiny settings: two processes of two rounds of ~5 ms blocks, no pauses.
FAST = ["--workloads", "W3", "--processes", "2", "--rounds", "2", "--block-seconds", "0.005",
        "--pause", "0", "--min-steps", "1"]


BENCH_MODULES = ("checks", "report", "worker", "workloads")


@pytest.fixture(scope="module")
def bench():
    """bench/'s modules, imported as a worker imports them (bench/ first on sys.path); the
    import state is put back afterwards (bench/tests of other helpers do the same)."""
    path, before = list(sys.path), dict(sys.modules)
    mine = [m for m in sys.modules if m in BENCH_MODULES or m.split(".")[0] == "engines"]
    for m in mine:
        del sys.modules[m]
    sys.path.insert(0, str(BENCH))
    try:
        yield {m: importlib.import_module(m) for m in BENCH_MODULES}
    finally:
        sys.path[:] = path
        for m in [m for m in sys.modules if m in BENCH_MODULES or m.split(".")[0] == "engines"]:
            del sys.modules[m]
        sys.modules.update({m: before[m] for m in mine})


def _run(tmp_path: Path, *args: str, env: dict | None = None):
    out = tmp_path / "results.json"
    proc = subprocess.run([sys.executable, str(BENCH / "run.py"), *FAST, "--json", str(out),
                           *args], capture_output=True, text=True, timeout=300, env=env)
    assert out.exists(), proc.stdout + proc.stderr
    return proc, json.loads(out.read_text())


def test_cygrad_against_numpy_in_each_of_several_fresh_processes(tmp_path: Path) -> None:
    pytest.importorskip("threadpoolctl")
    proc, res = _run(tmp_path, "--engines", "numpy,cygrad")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = res["cases"]["W3-chain1000"]["engines"]
    assert set(rows) == {"cygrad"}  # numpy is the baseline inside every process
    row = rows["cygrad"]
    assert row["check"] == "ok" and row["problems"] == []
    assert len({p["pid"] for p in row["raw"]}) == 2  # two fresh processes
    for s in ("1", "default"):  # both thread settings, side by side
        f = row["settings"][s]
        assert f["ratio"]["n"] == 2 and len(f["ratios"]) == 2
        assert 0 < f["ratio"]["min"] <= f["ratio"]["median"] <= f["ratio"]["max"]
        assert f["engine"]["min"] > 0 and f["numpy"]["min"] > 0
        for p in row["raw"]:  # two rounds of one block per side, in every process
            assert len(p["settings"][s]["engine"]) == len(p["settings"][s]["numpy"]) == 2
    floors = res["cases"]["W3-chain1000"]["floors"]
    assert [v["setting"] for v in floors] == ["1", "default"]
    assert all(v["met"] in (True, False) for v in floors)
    out = proc.stdout
    assert "[W3-chain1000]" in out and "per op" in out and "1 thread" in out
    assert "floor: cygrad <= 2.0x numpy" in out and "Summary" in out


ENVPROBE = '''
import os
from engines import NotSupported

def version():
    seen = [k for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MALLOC_MMAP_THRESHOLD_")
            if k in os.environ]
    return "env:" + (",".join(seen) or "clean")

def build(case, data):
    raise NotSupported("a probe of the environment only")
'''


@pytest.mark.parametrize("pin", [False, True])
def test_workers_get_the_default_environment_unless_pinning_is_asked(tmp_path, pin) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(ENVPROBE)
    env = {**__import__("os").environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    proc, res = _run(tmp_path, "--engines", "numpy", "--engine-module", f"probe={probe}",
                     *(["--pin-malloc"] if pin else []), env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert res["meta"]["removed_from_env"] == {"OMP_NUM_THREADS": "1",
                                               "OPENBLAS_NUM_THREADS": "1"}
    row = res["cases"]["W3-chain1000"]["engines"]["probe"]
    assert row["version"] == ("env:MALLOC_MMAP_THRESHOLD_" if pin else "env:clean")
    assert row["status"].startswith("not supported")
    assert ("MALLOC THRESHOLDS PINNED" in proc.stdout) == pin


PERTURBED = '''
from engines import Runner
from engines import numpy as base

def version():
    return "perturbed"

def build(case, data):
    r = base.build(case, data)
    def read(handle):
        loss, grads = r.read(handle)
        g = grads[0].copy()
        g.flat[3] *= 1.0001  # one entry off by 1e-4: a fast, slightly wrong engine
        return loss, [g] + grads[1:]
    return Runner(r.step, read)
'''

MISSING = '''
def version():
    import no_such_engine_package  # noqa: F401

def build(case, data):
    raise AssertionError("build must not be called for an engine that is not installed")
'''


def test_cross_check_flags_a_perturbed_engine(tmp_path: Path) -> None:
    fake = tmp_path / "perturbed.py"
    fake.write_text(PERTURBED)
    proc, res = _run(tmp_path, "--engines", "numpy", "--engine-module", f"fake={fake}",
                     "--threads", "default")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    row = res["cases"]["W3-chain1000"]["engines"]["fake"]
    assert row["check"] == "MISMATCH"
    assert any("gradient 0" in p for p in row["problems"])
    assert "MISMATCH fake" in proc.stdout
    assert list(row["settings"]) == ["default"]


def test_missing_engine_is_reported_not_installed_not_failed(tmp_path: Path) -> None:
    ghost = tmp_path / "ghost.py"
    ghost.write_text(MISSING)
    proc, res = _run(tmp_path, "--engines", "numpy", "--engine-module", f"ghost={ghost}")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    row = res["cases"]["W3-chain1000"]["engines"]["ghost"]
    assert row["status"].startswith("not installed") and "no_such_engine_package" in row["status"]
    assert "settings" not in row


def test_a_process_ratio_counts_every_block_of_both_sides(bench) -> None:
    figs = bench["report"].process_figures
    # The machine slows 3x during the process: both sides slow alike, the ratio holds.
    assert figs({"engine": [2.0, 4.0, 6.0], "numpy": [1.0, 2.0, 3.0]}) == {
        "ratio": 2.0, "engine": 4.0, "numpy": 2.0}
    # A collector's lump in one block of three is part of the engine's cost.
    assert figs({"engine": [1.0, 1.0, 7.0], "numpy": [1.0, 1.0, 1.0]})["ratio"] == 3.0


def _rows(report, cy: list[float], peer: list[float]) -> dict:
    """Rows as run.py makes them, from per-process ratios only."""
    return {name: {"settings": {"default": {"ratio": report.stats(r), "engine": report.stats(r)}}}
            for name, r in (("cygrad", cy), ("micrograd", peer))}


def test_floors_are_judged_on_the_ratios_over_processes(bench) -> None:
    F, verdicts = bench["workloads"].Floor, bench["report"].floor_verdicts
    case = bench["workloads"].BY_NAME["W4-mlp"]

    def judge(floor, cy, peer):
        c = type(case)(**{**case.__dict__, "floors": (floor,)})
        return [v["met"] for v in verdicts(c, _rows(bench["report"], cy, peer), ["default"])]

    assert judge(F("ratio", 2.0), [1.9, 2.0, 2.5], [9.0]) == [True]  # the median counts
    assert judge(F("ratio", 2.0), [2.1, 2.2, 1.0], [9.0]) == [False]
    # "every": cygrad's slowest process against the peer's fastest
    assert judge(F("every", peer="micrograd"), [1.0, 1.5], [1.6, 3.0]) == [True]
    assert judge(F("every", peer="micrograd"), [1.0, 1.7], [1.6, 3.0]) == [False]
    assert judge(F("vs", 1.1, peer="micrograd"), [1.1], [1.0, 1.0]) == [True]
    assert judge(F("vs", 1.1, peer="micrograd"), [1.2], [1.0, 1.0]) == [False]
    # a floor for another thread setting is not judged on this one; a missing peer is unjudged
    assert judge(F("ratio", 2.0, threads="1"), [1.0], [1.0]) == [None]
    assert judge(F("every", peer="torch"), [1.0], [1.0]) == [None]
    with pytest.raises(ValueError, match="needs peer="):
        F("vs", 1.1)


def test_one_thread_limit_is_applied_and_undone_in_the_process(bench) -> None:
    threadpoolctl = pytest.importorskip("threadpoolctl")
    seen = []

    class Engine:  # an engine with a pool of its own, like torch
        @staticmethod
        def set_threads(n):
            seen.append(n)
            return n or 7

    threads = bench["worker"].Threads([Engine])
    blas = [p for p in threadpoolctl.threadpool_info() if p["user_api"] == "blas"]
    before = [p["num_threads"] for p in blas]
    threads.apply("1")
    assert all(p["num_threads"] == 1 for p in threadpoolctl.threadpool_info()
               if p["user_api"] == "blas")
    threads.apply("default")
    assert [p["num_threads"] for p in threadpoolctl.threadpool_info()
            if p["user_api"] == "blas"] == before
    assert seen == [None, 1, None] and threads.default["Engine"] == 7


@pytest.mark.parametrize("clock", ["wall", "cpu"])
def test_a_setting_that_cannot_be_applied_is_reported_not_timed(bench, monkeypatch,
                                                                clock) -> None:
    monkeypatch.setitem(sys.modules, "threadpoolctl", None)  # as if not installed
    worker = bench["worker"]
    mod = worker.load_engine("numpy")
    res = worker.measure(mod, mod, "W3-chain1000", rounds=1, block_seconds=0.002, pause=0,
                         settings=["1", "default"], clock=clock)
    assert res["ok"] and list(res["settings"]) == ["default"]
    assert res["settings"]["default"]["numpy"][0] > 0
    assert "threadpoolctl is not installed" in res["skipped"]["1"]
    case = bench["workloads"].BY_NAME["W3-chain1000"]
    row = bench["report"].summarize(case, [res], ["1", "default"])
    assert row["settings"]["1"]["status"].startswith("not measured: threadpoolctl")
    assert row["settings"]["default"]["ratio"]["n"] == 1 and row["check"] == "ok"


# Subnormal entries excluded: a perturbation of 2e-9 times 5e-324 rounds to nothing.
@given(st.lists(st.floats(-10, 10, allow_subnormal=False), min_size=1, max_size=20), st.data(),
       st.sampled_from([1e-9, 1e-4]))
def test_compare_flags_exactly_the_perturbations_beyond_tolerance(bench, values, data,
                                                                   rtol) -> None:
    checks = bench["checks"]
    g = np.array(values)
    scale = np.abs(g).sum()
    if scale == 0:
        return
    i = data.draw(st.integers(0, len(g) - 1))
    ref = [checks.summarize(1.0, [g])]
    assert checks.compare(ref, ref, rtol) == []
    # One entry off by more than twice the tolerance: the plain sum alone moves that far.
    big = g.copy()
    big[i] += data.draw(st.sampled_from([-1, 1])) * data.draw(st.floats(2.0, 1e3)) * rtol * scale
    assert checks.compare(ref, [checks.summarize(1.0, [big])], rtol)
    # Off by a quarter of the tolerance: sum, abs and probe each move at most that much.
    small = g.copy()
    small[i] += 0.25 * rtol * scale
    assert checks.compare(ref, [checks.summarize(1.0, [small])], rtol) == []
    # A wrong loss is flagged too.
    assert checks.compare(ref, [checks.summarize(1.0 + 3 * rtol, [g])], rtol)


"""Smoke tests of bench/: the harness times a tiny workload, and its cross-check catches a
wrong engine. No timing is asserted (the machine is shared); only that times were taken
and that numbers were compared.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

BENCH = Path(__file__).resolve().parents[2] / "bench"
# Tiny settings: two rounds of ~5 ms blocks, no pauses.
FAST = ["--workloads", "W3", "--rounds", "2", "--block-seconds", "0.005", "--pause", "0"]


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"_bench_{name}", BENCH / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


checks = _load("checks")


def _run(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess, dict]:
    out = tmp_path / "results.json"
    proc = subprocess.run([sys.executable, str(BENCH / "run.py"), *FAST, "--json", str(out),
                           *args], capture_output=True, text=True, timeout=300)
    assert out.exists(), proc.stdout + proc.stderr
    return proc, json.loads(out.read_text())


def test_times_cygrad_and_numpy_and_they_agree(tmp_path: Path) -> None:
    proc, res = _run(tmp_path, "--engines", "numpy,cygrad")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = res["cases"]["W3-chain1000"]["engines"]
    assert set(rows) == {"numpy", "cygrad"}
    for row in rows.values():
        assert row["stats"]["rounds"] == 2
        assert 0 < row["stats"]["min"] <= row["stats"]["median"] <= row["stats"]["max"]
    assert rows["numpy"]["ratio"] == 1.0
    assert rows["cygrad"]["check"] == "ok" and rows["cygrad"]["problems"] == []
    # Each check step reports the chain's output and the gradient of its (8,) input.
    assert [g["shape"] for g in rows["cygrad"]["check_data"][0]["grads"]] == [[8]]
    assert "[W3-chain1000]" in proc.stdout and "per op" in proc.stdout


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
    proc, res = _run(tmp_path, "--engines", "numpy", "--engine-module", f"fake={fake}")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    row = res["cases"]["W3-chain1000"]["engines"]["fake"]
    assert row["check"] == "MISMATCH"
    assert any("gradient 0" in p for p in row["problems"])
    assert "MISMATCH fake" in proc.stdout


def test_missing_engine_is_reported_not_installed_not_failed(tmp_path: Path) -> None:
    ghost = tmp_path / "ghost.py"
    ghost.write_text(MISSING)
    proc, res = _run(tmp_path, "--engines", "numpy", "--engine-module", f"ghost={ghost}")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    row = res["cases"]["W3-chain1000"]["engines"]["ghost"]
    assert row["status"].startswith("not installed") and "no_such_engine_package" in row["status"]
    assert "stats" not in row


@given(st.lists(st.floats(-10, 10), min_size=1, max_size=20), st.data(),
       st.sampled_from([1e-9, 1e-4]))
def test_compare_flags_exactly_the_perturbations_beyond_tolerance(values, data, rtol) -> None:
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

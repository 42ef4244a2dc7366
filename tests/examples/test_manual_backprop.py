"""The lecture's hand-derived backprop (examples/manual_backprop.py) and nn agree."""

from __future__ import annotations

import runpy
from pathlib import Path

import numpy as np
import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "manual_backprop.py"


@pytest.fixture(scope="module")
def ex():
    return runpy.run_path(str(EXAMPLE))  # examples/ is not a package


def test_gradients_by_hand_equal_autograd(ex):
    x, labels = ex["make_data"]()
    manual = ex["ManualNet"].init(ex["SIZES"], seed=3)
    model = ex["nn_twin"](manual)
    by_hand = manual.gradients(x, labels)
    by_autograd = ex["nn_gradients"](model, x, labels)
    assert [g.shape for g in by_hand] == [p.shape for p in model.parameters()]
    for a, b in zip(by_hand, by_autograd):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)
    assert max(np.abs(g).max() for g in by_hand) > 1e-3  # not a trivial agreement of zeros


def test_same_parameters_after_sgd_with_momentum(ex):
    x, labels = ex["make_data"]()
    start = ex["ManualNet"].init(ex["SIZES"], seed=0)
    manual, model = ex["train_both"](steps=15, lr=0.3, momentum=0.9, seed=0)
    hand = [t for pair in zip(manual.W, manual.b) for t in pair]
    for a, p in zip(hand, model.parameters()):
        np.testing.assert_allclose(a, p.data, rtol=0, atol=1e-12)
    assert np.abs(manual.W[0] - start.W[0]).max() > 1e-2  # training moved the weights
    assert manual.loss(x, labels) < start.loss(x, labels)


def test_runs_as_a_script(capsys, monkeypatch):
    monkeypatch.setattr("sys.argv", [str(EXAMPLE)])
    runpy.run_path(str(EXAMPLE), run_name="__main__")
    out = capsys.readouterr().out
    diff = float(out.split("=")[1].split()[0])
    assert diff < 1e-12


def test_help_prints_usage_without_training(capsys, monkeypatch):
    monkeypatch.setattr("sys.argv", [str(EXAMPLE), "--help"])
    with pytest.raises(SystemExit) as e:
        runpy.run_path(str(EXAMPLE), run_name="__main__")
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage:") and "--momentum" in out
    assert "max |gradient" not in out  # nothing ran

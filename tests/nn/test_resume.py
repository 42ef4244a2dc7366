"""Resuming training from saved model, optimizer and schedule states is bit-exact, also
in a fresh process; optimizer and schedule states refuse what does not fit."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import resume_run as R

import nn

N = 6  # steps before and after the save


def test_resume_in_a_fresh_process_is_bit_exact(tmp_path):
    straight = {}
    for name in R.SETUPS:
        model, opt, sched = R.setup(name)
        R.train(model, opt, sched, 0, 2 * N)
        straight[name] = model.state_dict()
        model, opt, sched = R.setup(name)
        R.train(model, opt, sched, 0, N)
        R.save(tmp_path, name, model, opt, sched)
    subprocess.run([sys.executable, R.__file__, str(tmp_path), str(N)], check=True,
                   capture_output=True, timeout=120)
    for name, want in straight.items():
        got = nn.load_state(tmp_path / f"{name}.final.npz")
        assert got.keys() == want.keys()
        for k in want:
            assert got[k].dtype == want[k].dtype
            assert got[k].tobytes() == want[k].tobytes(), (name, k)


@pytest.mark.parametrize("name", list(R.SETUPS))
def test_optimizer_and_schedule_state_round_trip_through_files(tmp_path, name):
    model, opt, sched = R.setup(name)
    R.train(model, opt, sched, 0, 5)
    nn.save_state(opt, tmp_path / "o.npz")
    nn.save_state(sched, tmp_path / "s.npz")
    _, opt2, sched2 = R.setup(name)
    nn.load_state(opt2, tmp_path / "o.npz")
    nn.load_state(sched2, tmp_path / "s.npz")
    a, b = opt.state_dict(), opt2.state_dict()
    assert a.keys() == b.keys()
    assert all(a[k].dtype == b[k].dtype and a[k].tobytes() == b[k].tobytes() for k in a)
    assert [g["lr"] for g in opt.param_groups] == [g["lr"] for g in opt2.param_groups]
    assert sched.state_dict().keys() == sched2.state_dict().keys()
    assert all(np.array_equal(v, sched2.state_dict()[k]) for k, v in sched.state_dict().items())


def _trained(name="adam"):
    model, opt, sched = R.setup(name)
    R.train(model, opt, sched, 0, 3)
    return model, opt, sched


def _changes(edit):
    """Apply ``edit`` to a trained optimizer's state dict, load it into another trained
    optimizer, and return the error message; the target must be unchanged."""
    _, source, _ = _trained()
    _, target, _ = _trained()
    before = target.state_dict()
    groups_before = [dict(g) for g in target.param_groups]
    state = source.state_dict()
    edit(state)
    with pytest.raises(ValueError) as err:
        target.load_state_dict(state)
    after = target.state_dict()
    assert before.keys() == after.keys()
    assert all(before[k].tobytes() == after[k].tobytes() for k in before)
    assert [dict(g) for g in target.param_groups] == groups_before
    return str(err.value)


BAD_STATES = {
    "nan lr": (lambda s: s.__setitem__("param_groups.0.lr", np.array(np.nan)), "lr"),
    "negative eps": (lambda s: s.__setitem__("param_groups.0.eps", np.array(-1.0)), "eps"),
    "beta of 1": (lambda s: s.__setitem__("param_groups.0.betas", np.array([0.9, 1.0])),
                  "betas"),
    "missing step count": (lambda s: s.pop("step_count"), "missing keys"),
    "moment of wrong shape": (lambda s: s.__setitem__("state.0.0.m", np.zeros((2, 2))),
                              "state.0.0.m"),
    "moment in float32": (lambda s: s.__setitem__(
        "state.0.0.m", s["state.0.0.m"].astype(np.float32)), "dtype"),
    "complex moment": (lambda s: s.__setitem__("state.0.0.m", s["state.0.0.m"] + 1j),
                       "complex"),
    "negative second moment": (lambda s: s.__setitem__("state.0.0.v", -s["state.0.0.v"] - 1),
                               "negative"),
    "nan moment": (lambda s: s["state.0.0.m"].__setitem__((0, 0), np.nan), "NaN"),
    "step t of 0": (lambda s: s.__setitem__("state.0.0.t", np.array(0)), "state.0.0.t"),
    "no such parameter": (lambda s: s.__setitem__("state.0.9.m", np.zeros(1)), "no parameter"),
    "foreign state name": (lambda s: s.__setitem__("state.0.0.momentum", np.zeros(1)),
                           "unexpected key"),
    "half a state": (lambda s: s.pop("state.0.0.v"), "lacks"),
    "wrong group size": (lambda s: s.__setitem__("param_groups.0.num_params", np.array(3)),
                         "parameters"),
}


@pytest.mark.parametrize("case", list(BAD_STATES))
def test_bad_optimizer_state_is_refused_and_changes_nothing(case):
    edit, words = BAD_STATES[case]
    assert words in _changes(edit)


def test_sgd_state_into_adam_and_bad_schedule_state():
    _, sgd, sched = _trained("sgd_momentum")
    _, adam, plateau = _trained("adam")
    with pytest.raises(ValueError, match="another optimizer class"):
        adam.load_state_dict(sgd.state_dict())
    with pytest.raises(ValueError, match="missing keys"):
        plateau.load_state_dict(sched.state_dict())
    bad = plateau.state_dict()
    bad["factor"] = np.array(2.0)
    before = plateau.state_dict()
    with pytest.raises(ValueError, match="factor"):
        plateau.load_state_dict(bad)
    assert all(np.array_equal(v, plateau.state_dict()[k]) for k, v in before.items())
    with pytest.raises(ValueError, match="step_size"):
        sched.load_state_dict({**sched.state_dict(), "step_size": np.array(0)})

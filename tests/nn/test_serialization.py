"""Saving and loading model state: bit-exact, atomic, and safe against bad files."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import nn


def convnet(seed: int, dtype=np.float64) -> nn.Module:
    return nn.Sequential(nn.Conv2d(1, 2, 3, padding=1, rng=seed, dtype=dtype),
                         nn.BatchNorm2d(2, dtype=dtype), nn.ReLU(), nn.Flatten(),
                         nn.Linear(2 * 4 * 5, 3, rng=seed, dtype=dtype))


@given(seed=st.integers(0, 2 ** 31), dtype=st.sampled_from([np.float32, np.float64]))
def test_round_trip_is_bit_exact(tmp_path_factory, seed, dtype):
    path = tmp_path_factory.mktemp("ckpt") / "model.npz"
    a = convnet(seed, dtype)
    a(np.random.default_rng(seed).normal(size=(3, 1, 4, 5)))  # moves the running stats
    a.save(path)
    b = convnet(seed + 1, dtype).load(path)
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys() and "1.running_mean" in sa
    for k in sa:
        assert sa[k].dtype == sb[k].dtype and sa[k].tobytes() == sb[k].tobytes()


def test_truncated_file_raises_and_leaves_model_untouched(tmp_path):
    path = tmp_path / "m.npz"
    convnet(0).save(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    model = convnet(1)
    before = model.state_dict()
    with pytest.raises(nn.CheckpointError, match="truncated"):
        model.load(path)
    assert all(np.array_equal(v, before[k]) for k, v in model.state_dict().items())


def test_foreign_npz_and_wrong_architecture(tmp_path):
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, weights=np.ones(3))
    with pytest.raises(nn.CheckpointError, match="not a cygrad nn state"):
        nn.load_state(convnet(0), foreign)
    other = tmp_path / "other.npz"
    nn.save_state(nn.MLP([2, 3]), other)
    model = convnet(0)
    before = model.state_dict()
    with pytest.raises(ValueError, match="missing keys"):
        model.load(other)
    assert all(np.array_equal(v, before[k]) for k, v in model.state_dict().items())
    with pytest.raises(FileNotFoundError):
        model.load(tmp_path / "absent.npz")


def test_save_is_atomic_no_temporary_left_and_old_file_replaced(tmp_path):
    path = tmp_path / "sub" / "m.npz"
    nn.MLP([2, 2], rng=0).save(path)
    nn.MLP([2, 2], rng=1).save(path)
    assert [p.name for p in path.parent.iterdir()] == ["m.npz"]
    loaded = nn.MLP([2, 2], rng=5).load(path)
    assert np.array_equal(loaded.layers[0].weight.data, nn.MLP([2, 2], rng=1).layers[0].weight.data)


def test_failed_write_keeps_the_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "m.npz"
    nn.MLP([2, 2], rng=0).save(path)
    good = path.read_bytes()

    def broken(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(np.lib.format, "write_array", broken)
    with pytest.raises(OSError, match="disk full"):
        nn.MLP([2, 2], rng=1).save(path)
    assert path.read_bytes() == good
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]

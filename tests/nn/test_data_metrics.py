"""Splitting, batching, standardising, and the metrics."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import nn


@given(n=st.integers(4, 60), frac=st.floats(0.1, 0.6), seed=st.integers(0, 99))
def test_split_partitions_the_samples(n, frac, seed):
    x = np.arange(n * 2).reshape(n, 2)
    y = np.arange(n)
    if not 0 < round(frac * n) < n:
        return
    xtr, xte, ytr, yte = nn.train_test_split(x, y, test_size=frac, rng=seed)
    assert len(yte) == round(frac * n) and len(ytr) + len(yte) == n
    assert sorted(np.concatenate([ytr, yte])) == list(range(n))
    assert np.array_equal(xtr[:, 0] // 2, ytr) and np.array_equal(xte[:, 0] // 2, yte)
    again = nn.train_test_split(x, y, test_size=frac, rng=seed)
    assert np.array_equal(again[3], yte)


@given(counts=st.lists(st.integers(2, 30), min_size=2, max_size=4), seed=st.integers(0, 9))
def test_stratified_split_keeps_class_proportions(counts, seed):
    y = np.repeat(np.arange(len(counts)), counts)
    n, n_test = len(y), round(0.25 * len(y))
    _, yte = nn.train_test_split(y, test_size=0.25, stratify=y, rng=seed)
    assert len(yte) == n_test
    for c, k in enumerate(counts):
        assert abs((yte == c).sum() - k * n_test / n) < 1.0 + 1e-9


def test_loader_covers_every_sample_once_per_epoch_and_is_seeded():
    x, y = np.arange(10.0).reshape(10, 1), np.arange(10)
    loader = nn.DataLoader(x, y, batch_size=4, rng=3)
    assert len(loader) == 3
    epoch1 = [b[1].data for b in loader]
    epoch2 = [b[1].data for b in loader]
    assert [len(b) for b in epoch1] == [4, 4, 2]
    assert sorted(np.concatenate(epoch1)) == list(range(10))
    assert not all(np.array_equal(a, b) for a, b in zip(epoch1, epoch2))  # reshuffled
    again = [b[1].data for b in nn.DataLoader(x, y, batch_size=4, rng=3)]
    assert all(np.array_equal(a, b) for a, b in zip(epoch1, again))
    assert len(nn.DataLoader(x, y, batch_size=4, drop_last=True)) == 2
    first = next(iter(nn.DataLoader(x, y, batch_size=4, shuffle=False)))
    assert np.array_equal(first[0].data[:, 0], [0, 1, 2, 3])


def test_standardizer_uses_train_statistics_only():
    rng = np.random.default_rng(0)
    train, test = rng.normal(5, 2, (100, 3)), rng.normal(50, 2, (10, 3))
    s = nn.Standardizer().fit(train)
    z = s.transform(train)
    np.testing.assert_allclose(z.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(z.std(axis=0), 1, atol=1e-12)
    assert s.transform(test).mean() > 10  # test data is not re-centred on itself
    np.testing.assert_allclose(s.inverse_transform(s.transform(test)), test)
    const = nn.Standardizer().fit(np.ones((5, 2)))
    assert np.all(const.transform(np.ones((2, 2))) == 0)
    with pytest.raises(ValueError, match="fitted on features"):
        s.transform(np.ones((2, 4)))


def test_metrics_against_hand_values():
    logits = np.array([[2.0, 1.0], [0.0, 3.0], [1.0, 0.0], [0.0, 1.0]])
    y = np.array([0, 1, 1, 1])
    assert nn.accuracy(logits, y) == 0.75
    assert nn.accuracy(np.array([True, False]), np.array([1, 0])) == 1.0
    assert nn.confusion_matrix(logits, y).tolist() == [[1, 0], [1, 2]]
    assert nn.mean_absolute_error([1.0, 2.0], [2.0, 4.0]) == 1.5
    t = np.array([1.0, 2.0, 3.0, 4.0])
    assert nn.r2_score(t, t) == 1.0
    assert nn.r2_score(np.full(4, t.mean()), t) == 0.0
    assert nn.r2_score(t + 1, t) == pytest.approx(1 - 4 / 5)
    with pytest.raises(ValueError, match="threshold"):
        nn.accuracy(np.array([0.2, 0.9]), np.array([0, 1]))

"""examples/hodge_numbers.py: the Inception module's shapes, and a tiny run (needs
../shared/data)."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_stability import EXAMPLES, metrics_of, run

sys.path.insert(0, str(EXAMPLES))
import hodge_numbers  # noqa: E402


@given(h=st.integers(1, 6), w=st.integers(1, 7), filters=st.integers(1, 3),
       n=st.integers(1, 3))
def test_inception_module_keeps_the_shape_and_reads_out_rows_and_columns(h, w, filters, n):
    rng = np.random.default_rng(0)
    same = hodge_numbers.InceptionModule(1, filters, (h, w), rng)
    x = rng.normal(size=(n, 1, h, w))
    y = same(x)
    assert y.shape == (n, 2 * filters, h, w)  # 'same' padding, even and odd kernels alike
    assert np.all(y.data >= 0)  # ReLU
    readout = hodge_numbers.InceptionModule(2 * filters, filters, (h, w), rng, same=False)
    assert readout(y).shape == (n, filters * (w + h))  # one feature per column and per row


def test_inception_column_kernel_sees_the_whole_column():
    # a 12 x 1 kernel on a 'same'-padded input: changing one entry changes the output of
    # every row in that column, and of no other column
    rng = np.random.default_rng(1)
    module = hodge_numbers.InceptionModule(1, 2, (12, 15), rng)
    x = rng.normal(size=(1, 1, 12, 15))
    base = module.column(x).data
    x2 = x.copy()
    x2[0, 0, 3, 4] += 1.0
    moved = module.column(x2).data
    changed = np.abs(moved - base).sum(axis=(0, 1)) > 0
    assert changed[:, 4].sum() >= 7 and not changed[:, np.arange(15) != 4].any()


def test_tiny_run_both_models(tmp_path, shared_data):
    proc = run("hodge_numbers.py", "--cicy-list", str(shared_data / "cicy" / "cicy3o.json.gz"),
               "--limit", "200", "--epochs", "2", "--conv-epochs", "1", "--filters", "2", "2",
               "--width", "16", "--train-fractions", "0.8", "--out", str(tmp_path))
    m = metrics_of(proc, tmp_path)
    assert m["n"] == 200
    for key in ("dense_0.8", "inception_0.8"):
        assert 0.0 <= m[f"{key}_test_accuracy"] <= 1.0
        assert m[f"{key}_parameters"] > 0
    assert m["test_accuracy"] == m["dense_0.8_test_accuracy"]
    assert (tmp_path / "learning_curves.png").exists()


# ------------------------------------------------------------------ the paper's recipe
import hashlib  # noqa: E402
import json  # noqa: E402

import _h11_paper as paper  # noqa: E402

import nn  # noqa: E402


def test_paper_network_has_the_published_parameter_count():
    # Keras' summary of the authors' inc_line model: 234,849 parameters, 234,337 of them
    # trainable and 512 BatchNorm running statistics
    model = paper.PaperNet(seed=0)
    assert model.num_parameters() == 234_337
    assert model.keras_parameter_count() == 234_849
    out = model(np.zeros((3, 12, 15), np.float32))
    assert out.shape == (3, 1) and out.dtype == np.float32 and np.all(out.data >= 0)


@pytest.mark.parametrize("fraction, sizes, digest", [
    (0.8, (6280, 785, 786), "839a77804eb71f1c"),
    (0.3, (2355, 785, 4711), "4c8357d50d7997cd"),
])
def test_paper_splits_are_the_authors_test_sets(shared_data, fraction, sizes, digest):
    # digest: sha256 of the h11_true column (int8) of the authors' published predictions,
    # dat/inc_line_noout_{80,30}_h11.csv on thesfinox/ml-cicy's outliers-detection branch
    X, y = paper.load(shared_data / "cicy" / "cicy3o.json.gz")
    assert len(y) == 7851 and X.shape == (7851, 12, 15) and X.dtype == np.float32
    idx = paper.splits(len(y), fraction)
    assert tuple(len(idx[k]) for k in ("train", "val", "test")) == sizes
    assert len(np.unique(np.concatenate(list(idx.values())))) == len(y)  # disjoint, all
    test_labels = y[idx["test"]].astype(np.int8).tobytes()
    assert hashlib.sha256(test_labels).hexdigest()[:16] == digest


def _paper(tmp, shared_data, *extra):
    return run("hodge_numbers.py", "--recipe", "paper", "--cicy-list",
               str(shared_data / "cicy" / "cicy3o.json.gz"), "--limit", "150",
               "--train-fraction", "0.3", "--no-plots", "--out", str(tmp), *extra)


def test_paper_recipe_stops_on_budget_and_resumes_bit_for_bit(tmp_path, shared_data):
    straight, split = tmp_path / "straight", tmp_path / "split"
    m = metrics_of(_paper(straight, shared_data, "--epochs", "3"), straight)
    assert m["paper_0.3_epochs"] == 3 and m["paper_0.3_stop_reason"] == "epochs"
    # a budget too small for one epoch stops cleanly after the first, with a checkpoint
    first = metrics_of(_paper(split, shared_data, "--epochs", "3", "--budget", "1e-6"),
                       split)
    assert first["paper_0.3_epochs"] == 1 and first["paper_0.3_stop_reason"] == "budget"
    resumed = metrics_of(_paper(split, shared_data, "--epochs", "3", "--resume"), split)
    assert resumed["paper_0.3_epochs"] == 3
    a = nn.load_state(straight / "checkpoint_0.3.npz")
    b = nn.load_state(split / "checkpoint_0.3.npz")
    # model, optimizer, schedule, random states, best weights and history: all equal
    assert set(a) == set(b)
    for k in a:
        if k.startswith("history.seconds") or k == "run":  # wall-clock times
            continue
        assert np.array_equal(a[k], b[k]), k
    runs = [json.loads(str(s["run"])) for s in (a, b)]
    for r in runs:
        r.pop("elapsed")
    assert runs[0] == runs[1]
    assert m["paper_0.3_test_accuracy"] == resumed["paper_0.3_test_accuracy"]

"""examples/hodge_numbers.py: the Inception module's shapes, and a tiny run (needs
../shared/data)."""

from __future__ import annotations

import sys

import numpy as np
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
    base = module.column(hodge_numbers.ag.pad(hodge_numbers.ag.Tensor(x),
                                              module._pad_col)).data
    x2 = x.copy()
    x2[0, 0, 3, 4] += 1.0
    moved = module.column(hodge_numbers.ag.pad(hodge_numbers.ag.Tensor(x2),
                                               module._pad_col)).data
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

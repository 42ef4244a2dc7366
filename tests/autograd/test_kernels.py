"""The numpy kernels against numpy's own reductions and formulas."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from autograd import kernels

# |x| <= 300 keeps the plain formulas (exp without a shift) finite as references.
matrices = st.tuples(st.integers(1, 20), st.integers(1, 20)).flatmap(
    lambda s: arrays(np.float64, s, elements=st.floats(-300, 300)))


@given(matrices, st.sampled_from([0, 1, -1, None]))
def test_reduce_kept_matches_numpy_for_short_and_long_rows(x, axis):
    # short rows (<= 16) take the transposed-copy path, the rest numpy's own reduction
    np.testing.assert_array_equal(kernels._reduce_kept(np.maximum, x, axis),
                                  x.max(axis=axis, keepdims=True))
    np.testing.assert_allclose(kernels._reduce_kept(np.add, x, axis),
                               x.sum(axis=axis, keepdims=True), rtol=1e-12, atol=1e-9)


@given(matrices)
def test_softmax_and_logsumexp_match_their_formulas(x):
    p, lse = kernels.softmax_and_logsumexp(x)
    np.testing.assert_allclose(lse, np.log(np.exp(x).sum(axis=-1)), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(p, np.exp(x - lse[:, None]), rtol=1e-9, atol=1e-300)


@given(st.tuples(st.integers(0, 40), st.integers(0, 12)).flatmap(
    lambda s: arrays(st.sampled_from([np.float32, np.float64]), s,
                     elements=st.floats(-1e3, 1e3, width=32))))
def test_sum_rows_matches_numpy_up_to_the_order_of_addition(x):
    s = kernels.sum_rows(x)
    assert s.dtype == x.dtype and s.shape == x.shape[1:]
    # two summation orders differ by at most ~n eps sum|x| per column
    tol = x.shape[0] * np.finfo(x.dtype).eps * np.abs(x).sum(axis=0, dtype=np.float64)
    assert np.all(np.abs(s.astype(np.float64) - x.sum(axis=0, dtype=np.float64)) <= 2 * tol)


def test_sum_rows_takes_views_and_propagates_nan_and_inf():
    b = np.broadcast_to(np.array([1.0, 2.0]), (5, 2))  # read-only, zero strides
    np.testing.assert_array_equal(kernels.sum_rows(b), [5.0, 10.0])
    np.testing.assert_array_equal(kernels.sum_rows(np.arange(12.0).reshape(3, 4)[:, ::2]),
                                  [12.0, 18.0])
    x = np.array([[np.inf, np.nan, 1.0], [1.0, 1.0, -np.inf]])
    s = kernels.sum_rows(x)
    assert s[0] == np.inf and np.isnan(s[1]) and s[2] == -np.inf


def test_numpy_backend_sums_a_bias_gradient_with_blas_and_the_rest_with_numpy():
    from autograd.backend import numpy_backend as F

    g = np.arange(12.0).reshape(4, 3)
    np.testing.assert_array_equal(F.sum(g, (0,), False), g.sum(axis=0))
    np.testing.assert_array_equal(F.sum(g, (0,), True), g.sum(axis=0, keepdims=True))
    for other in (g.astype(np.float16), g.astype(np.int64)):  # no BLAS for these: numpy's
        np.testing.assert_array_equal(F.sum(other, (0,), False), other.sum(axis=0))
        assert F.sum(other, (0,), False).dtype == other.sum(axis=0).dtype


def test_sum_rows_keeps_one_ones_vector_per_dtype_and_none_for_huge_batches():
    kernels._ONES.clear()
    for dtype in (np.float64, np.float32):  # same row count, two dtypes
        s = kernels.sum_rows(np.ones((3, 2), dtype))
        assert s.dtype == dtype and np.array_equal(s, [3, 3])
    n = kernels._MAX_CACHED_ROWS + 1
    np.testing.assert_array_equal(kernels.sum_rows(np.ones((n, 1))), [n])
    assert (n, np.dtype(np.float64)) not in kernels._ONES  # 0.5 MiB and up: not kept


def test_numpy_backend_sums_booleans_as_numpy_does():
    from autograd.backend import numpy_backend as F

    b = np.array([[True, False], [True, True], [True, False]])
    np.testing.assert_array_equal(F.sum(b, (0,), False), [3, 1])  # counts, not logical or

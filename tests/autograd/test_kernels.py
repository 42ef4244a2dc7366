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

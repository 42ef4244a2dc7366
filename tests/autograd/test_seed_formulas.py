"""The lecture's derivative formulas as example tests (eqs. 19-21, 30, 32), plus
numerical stability at extreme logits."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autograd as ag
from autograd.testing import class_labels, logits

xs = hnp.arrays(np.float64, st.integers(1, 6), elements=st.floats(-4, 4))


def _grad_of_sum(fn, a):
    x = ag.tensor(a, requires_grad=True)
    fn(x).sum().backward()
    return x.grad.data


@given(xs)
def test_eq19_relu_derivative(a):
    expected = np.where(a > 0, 1.0, 0.0)
    assert np.array_equal(_grad_of_sum(ag.relu, a), expected)


@given(xs)
def test_eq20_tanh_derivative(a):
    assert np.allclose(_grad_of_sum(ag.tanh, a), 1 - np.tanh(a) ** 2, rtol=1e-12, atol=0)


@given(xs)
def test_eq21_sigmoid_derivative(a):
    s = 1 / (1 + np.exp(-a))
    assert np.allclose(_grad_of_sum(ag.sigmoid, a), s * (1 - s), rtol=1e-12, atol=1e-300)


@given(hnp.arrays(np.float64, st.integers(2, 5), elements=st.floats(-5, 5)))
def test_eq30_softmax_jacobian(a):
    # dp_j/da_k = p_j (delta_jk - p_k): row j of the Jacobian is the gradient of p_j.
    p = np.exp(a - a.max()) / np.exp(a - a.max()).sum()
    jac = np.diag(p) - np.outer(p, p)
    x = ag.tensor(a, requires_grad=True)
    out = ag.softmax(x)
    for j in range(len(a)):
        (row,) = ag.grad(out[j], x, retain_graph=True)
        assert np.allclose(row.data, jac[j], atol=1e-14)


@given(logits(), st.data())
def test_eq32_cross_entropy_gradient(z, data):
    n, c = z.shape
    y = data.draw(class_labels((n,), c))
    onehot = np.eye(c)[y]
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    x = ag.tensor(z, requires_grad=True)
    loss = ag.cross_entropy(x, y)
    loss.backward()
    assert np.allclose(x.grad.data, (p - onehot) / n, atol=1e-14)
    # eq. 31 with one-hot targets gives the same loss and gradient as integer labels
    x2 = ag.tensor(z, requires_grad=True)
    loss2 = ag.cross_entropy(x2, onehot)
    loss2.backward()
    assert np.isclose(loss.item(), loss2.item()) and np.allclose(x.grad.data, x2.grad.data)
    assert np.isclose(loss.item(), -np.mean(np.log(p[np.arange(n), y])))


@pytest.mark.parametrize("scale", [1e4, -1e4])
def test_extreme_logits_give_finite_losses_and_gradients(scale):
    z = ag.tensor(np.array([[scale, -scale, 0.0], [0.0, scale, -scale]]), requires_grad=True)
    loss = ag.cross_entropy(z, np.array([1, 2]))
    loss.backward()
    assert np.isfinite(loss.item()) and np.isfinite(z.grad.data).all()
    b = ag.tensor(np.array([scale, -scale]), requires_grad=True)
    bce = ag.binary_cross_entropy_with_logits(b, np.array([0.0, 1.0]))
    bce.backward()
    # both logits disagree with their targets when scale > 0 (loss = scale), agree otherwise
    assert np.isclose(bce.item(), max(scale, 0.0)) and np.isfinite(b.grad.data).all()
    for f in (ag.sigmoid, ag.softplus, ag.log_softmax, ag.softmax, ag.logsumexp):
        x = ag.tensor(np.array([scale, -scale, 0.5]), requires_grad=True)
        y = f(x)
        y.sum().backward()
        assert np.isfinite(y.data).all() and np.isfinite(x.grad.data).all(), f.__name__


def test_logsumexp_of_all_minus_inf_is_minus_inf():
    x = ag.tensor(np.array([-np.inf, -np.inf]))
    assert ag.logsumexp(x).item() == -np.inf


def test_finite_row_maxima_whose_sum_overflows_still_give_exact_results():
    # Huge but finite row maxima: the check that the shift is finite must not overflow
    # or warn (an earlier version summed the maxima to check them), and the answers hold.
    z = np.array([[1e308, 0.0], [1e308, 1e308]])
    np.testing.assert_allclose(ag.logsumexp(ag.tensor(z), axis=1).data,
                               [1e308, 1e308 + np.log(2.0)])
    np.testing.assert_allclose(ag.softmax(ag.tensor(z), axis=1).data, [[1, 0], [0.5, 0.5]])
    t = ag.tensor(z, requires_grad=True)
    ag.cross_entropy(t, np.array([0, 1]), reduction="sum").backward()
    np.testing.assert_allclose(t.grad.data, [[0, 0], [0.5, -0.5]])  # softmax - onehot

"""batch_norm's backward shares its per-channel sums between the rules of its inputs (the
input's rule makes them, the weight's and the bias's read them for the same output
gradient); whichever inputs need a gradient, when one gradient array reaches two batch
norms, and when threads run such backward passes at once, each gets its own."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import autograd as ag
from autograd.testing import concurrently


def _composed(x, w, b, eps):
    axes = (0, 2, 3)
    centred = x - x.mean(axis=axes, keepdims=True)
    var = (centred * centred).mean(axis=axes, keepdims=True)
    return centred / ag.sqrt(var + eps) * w.reshape((1, -1, 1, 1)) + b.reshape((1, -1, 1, 1))


@pytest.mark.parametrize("needs", [s for s in itertools.product([False, True], repeat=3)
                                   if any(s)])
def test_each_subset_of_inputs_gets_the_composed_gradients(needs):
    rng = np.random.default_rng(0)
    arrays = (rng.normal(1.0, 2.0, (4, 3, 2, 5)), rng.uniform(0.5, 2, 3), rng.normal(size=3))
    up = rng.normal(size=(4, 3, 2, 5))
    grads = []
    for fn in (lambda x, w, b: ag.batch_norm(x, w, b, eps=1e-3),
               lambda x, w, b: _composed(x, w, b, 1e-3)):
        ts = [ag.Tensor(a, requires_grad=r) for a, r in zip(arrays, needs)]
        (fn(*ts) * up).sum().backward()
        grads.append([t.grad.data for t, r in zip(ts, needs) if r])
    for got, ref in zip(*grads):
        np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("x_needs", [True, False])
def test_one_gradient_array_reaching_two_batch_norms(x_needs):
    # a sum hands the same g to both; each node's weight and bias read its own sums
    rng = np.random.default_rng(1)
    x = ag.Tensor(rng.normal(size=(3, 2, 4, 4)), requires_grad=x_needs)
    w1, w2 = (ag.Tensor(rng.uniform(0.5, 2, 2), requires_grad=True) for _ in range(2))
    b1, b2 = (ag.Tensor(rng.normal(size=2), requires_grad=True) for _ in range(2))
    up = rng.normal(size=(3, 2, 4, 4))
    leaves = (x, w1, w2, b1, b2) if x_needs else (w1, w2, b1, b2)
    ((ag.batch_norm(x, w1, b1) + ag.batch_norm(2 * x + 1, w2, b2)) * up).sum().backward()
    got = [t.grad.data.copy() for t in leaves]
    for t in leaves:
        t.grad = None
    ((_composed(x, w1, b1, 1e-5) + _composed(2 * x + 1, w2, b2, 1e-5)) * up).sum().backward()
    for g, t in zip(got, leaves):
        np.testing.assert_allclose(g, t.grad.data, rtol=1e-10, atol=1e-12)


def _conv_bn_grads(seed):
    # the Hodge network's layer kinds: a 12x1 and a 1x15 "same" conv (the DFT layout for
    # many channels) and BatchNorm, whose rules share memos between sibling rules
    rng = np.random.default_rng(seed)
    x = ag.tensor(rng.standard_normal((4, 8, 12, 15)))
    w1 = ag.tensor(rng.standard_normal((16, 8, 12, 1)) * 0.1, requires_grad=True)
    w2 = ag.tensor(rng.standard_normal((16, 8, 1, 15)) * 0.1, requires_grad=True)
    gamma = ag.tensor(rng.standard_normal(32), requires_grad=True)
    grads = []
    for _ in range(8):
        h = ag.cat([ag.conv2d(x, w1, padding=((5, 6), (0, 0))),
                    ag.conv2d(x, w2, padding=((0, 0), (7, 7)))], dim=1)
        loss = (ag.batch_norm(h, gamma).relu() ** 2).mean()
        grads.append([g.data.copy() for g in ag.grad(loss, [w1, w2, gamma])])
    return grads


def test_threads_running_conv_and_batch_norm_backward_at_once_get_their_own_gradients():
    expected = [_conv_bn_grads(s) for s in range(4)]
    got = concurrently(_conv_bn_grads, [(s,) for s in range(4)])
    for steps_got, steps_expected in zip(got, expected):
        for a, b in zip(steps_got, steps_expected):
            for ga, gb in zip(a, b):
                np.testing.assert_array_equal(ga, gb)


def test_concurrently_returns_in_order_and_raises_a_threads_error():
    assert concurrently(lambda a, b: a * b, [(1, 2), (3, 4), (5, 6)]) == [2, 12, 30]
    with pytest.raises(ZeroDivisionError):
        concurrently(lambda a: 1 / a, [(1,), (0,)])

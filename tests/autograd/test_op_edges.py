"""Edges of single ops: pow's exponent derivative at base 0 (PyTorch's convention), wide
concatenate/stack (a tree of nodes, still exact), and clear errors for bad axes."""

from __future__ import annotations

import numpy as np
import pytest

import autograd as ag


def test_pow_exponent_derivative_at_base_zero_is_pytorchs():
    # PyTorch's pow_backward_exponent: 0 where base == 0 and exponent >= 0, else a^b log a.
    a = ag.tensor([0.0, 0.0, 0.0, 2.0], requires_grad=True)
    b = ag.tensor([0.0, 0.5, 2.0, 1.5], requires_grad=True)
    with np.errstate(divide="ignore"):  # d/da at a = 0, b = 0.5 is inf, rightly
        ga, gb = ag.grad((a ** b).sum(), (a, b))
    np.testing.assert_allclose(gb.data, [0.0, 0.0, 0.0, 2 ** 1.5 * np.log(2.0)], rtol=1e-15)
    assert ga.data[0] == 0.0 and ga.data[1] == np.inf and ga.data[2] == 0.0


def test_pow_second_derivatives_through_base_zero_are_the_limits():
    # a^b log^2 a -> 0 (b > 0; 1 * 0 at b = 0) and d/da (a^b log a) -> 0 (b = 0 or b > 1)
    # at a = 0; the formula elsewhere. (PyTorch masks with where and gets 0 * log 0 = nan
    # in these second derivatives; the limits are what a double backward should give.)
    a = ag.tensor([0.0, 0.0, 2.0], requires_grad=True)
    b = ag.tensor([0.0, 2.0, 1.5], requires_grad=True)
    (gb,) = ag.grad((a ** b).sum(), b, create_graph=True)
    haa, hab = ag.grad(gb.sum(), (a, b))
    np.testing.assert_allclose(hab.data, [0, 0, 2 ** 1.5 * np.log(2.0) ** 2], rtol=1e-14)
    np.testing.assert_allclose(haa.data, [0, 0, 2 ** 0.5 * (1.5 * np.log(2.0) + 1)],
                               rtol=1e-14)


def test_pow_exponent_derivative_with_a_zero_number_base_and_float32():
    x = ag.tensor([0.0, 1.0, 2.0], requires_grad=True)
    (g,) = ag.grad((0.0 ** x).sum(), x)
    assert g.data.tolist() == [0.0, 0.0, 0.0]
    a = ag.tensor(np.zeros(3, np.float32), requires_grad=True)
    b = ag.tensor(np.ones(3, np.float32), requires_grad=True)
    (gb,) = ag.grad((a ** b).sum(), b)
    assert gb.data.dtype == np.float32 and not gb.data.any()
    s = ag.tensor(0.0, requires_grad=True)  # a 0-d base broadcast against b
    v = ag.tensor([1.0, 2.0], requires_grad=True)
    gs, gv = ag.grad((s ** v).sum(), (s, v))
    assert gs.data == 1.0 and gv.data.tolist() == [0.0, 0.0]


@pytest.mark.parametrize("join", ["concatenate", "stack"])
@pytest.mark.parametrize("axis", [0, -1])
def test_wide_joins_have_the_exact_gradient_from_one_rule_call(monkeypatch, join, axis):
    # One call of the joint rule per node (not one per input, each handed all n inputs,
    # which made backward quadratic in n): linear in the number of inputs.
    op = getattr(ag, join).op
    calls = []
    rule = op.joint
    monkeypatch.setattr(op, "joint", lambda *a, **k: calls.append(1) or rule(*a, **k))
    rng = np.random.default_rng(0)
    wide = [1 + i % 3 if join == "concatenate" else 2 for i in range(37)]
    xs = [ag.tensor(rng.normal(size=(n, 2) if axis == 0 else (2, n)), requires_grad=i % 5 != 0)
          for i, n in enumerate(wide)]
    y = getattr(ag, join)(xs, axis=axis)
    want = getattr(np, join)([x.data for x in xs], axis=axis)
    assert np.array_equal(y.data, want)
    w = ag.tensor(rng.normal(size=want.shape))
    (y * y * w).sum().backward()
    assert len(calls) == 1
    for x in xs:
        if x.requires_grad:
            np.testing.assert_allclose(x.grad.data, 2 * x.data * _part(w.data, xs, x, join,
                                                                      axis), rtol=1e-15)
    live = [x for x in xs if x.requires_grad][:6]
    assert ag.gradgradcheck(lambda *ts: (getattr(ag, join)(list(ts), axis=axis) ** 3).sum(),
                            live)


def _part(w, xs, x, join, axis):
    i = next(k for k, t in enumerate(xs) if t is x)
    if join == "stack":
        return np.take(w, i, axis=axis)
    ax = axis % w.ndim
    start = sum(t.shape[ax] for t in xs[:i])
    return np.take(w, range(start, start + x.shape[ax]), axis=ax)


@pytest.mark.parametrize("make, words", [
    (lambda: ag.logsumexp(ag.tensor(np.zeros((3, 0))), axis=1), "logsumexp: axis 1"),
    (lambda: ag.softmax(ag.tensor(np.zeros((3, 0))), axis=1), "softmax: axis 1"),
    (lambda: ag.log_softmax(ag.tensor(np.zeros((2, 0)))), "log_softmax: axis -1"),
    (lambda: ag.tensor(np.zeros((3, 2))).sum(axis=1.0), "sum: axis must be an integer"),
    (lambda: ag.tensor(np.zeros((3, 2))).mean(axis=(0, "1")), "mean: axis must be"),
    (lambda: ag.tensor(np.zeros((3, 2))).max(axis=True), "max: axis must be"),
    (lambda: ag.cross_entropy(ag.tensor(np.zeros((3, 2))), np.array([0.0, 1.0, 1.0])),
     "cross_entropy: float targets"),
    (lambda: ag.cross_entropy(ag.tensor(np.zeros((3, 0))), np.zeros(3, int)),
     "cross_entropy: logits of shape"),
    (lambda: ag.concatenate([ag.tensor([1.0])], axis=1.5), "concatenate: axis must be"),
])
def test_bad_axes_and_labels_name_the_op(make, words):
    with pytest.raises((TypeError, ValueError), match=words):
        make()


def test_softmax_of_an_empty_batch_is_empty():
    assert ag.softmax(ag.tensor(np.zeros((0, 3))), axis=1).shape == (0, 3)

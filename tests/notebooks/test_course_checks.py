"""examples/notebooks/course.py: every exercise check accepts a right answer, names the
typical slips, reminds about an unanswered one, and raises for a wrong solution."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[2] / "examples" / "notebooks"
sys.path.insert(0, str(NOTEBOOKS))

import course  # noqa: E402


def softmax(a):
    e = np.exp(a - a.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def heavy_ball(theta, v, g, lr, alpha):
    v = alpha * v + g
    return theta - lr * v, v


def lecture_sign(theta, v, g, lr, alpha):
    v = g - alpha * v
    return theta - lr * v, v


def sutskever(theta, v, g, lr, alpha):
    v = alpha * v + lr * g
    return theta - v, v


def backprop(x, y, W1, b1, W2, b2, sign=1.0, factor=1.0, tanh_prime=True, transpose=False):
    a1 = np.tanh(x @ W1.T + b1)
    d2 = sign * factor * (a1 @ W2.T + b2 - y)
    d1 = (d2 @ W2) * ((1 - a1 ** 2) if tanh_prime else 1.0)
    gw2 = a1.T @ d2 if transpose else d2.T @ a1
    return {"W1": d1.T @ x, "b1": d1.sum(0), "W2": gw2, "b2": d2.sum(0)}


def function(forward, backward):
    """An autograd.Function from two Tensor expressions of x (and g, for backward)."""
    import autograd as ag

    class Op(ag.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return forward(x)

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return backward(x, g)

    return Op


def stub_function():
    import autograd as ag

    class Stub(ag.Function):
        @staticmethod
        def forward(ctx, x):
            return x

        @staticmethod
        def backward(ctx, g):
            return ...  # your code

    return Stub


def silu(derivative):
    return function(lambda x: x * x.sigmoid(), lambda x, g: g * derivative(x, x.sigmoid()))


def logcosh(backward):
    return function(lambda x: x.cosh().log() if hasattr(x, "cosh") else
                    (x.exp() + (-x).exp()).log() - np.log(2.0), backward)


def property_test(draw_negative=True):
    from hypothesis import given, settings
    from hypothesis import strategies as st

    import autograd as ag
    from autograd import testing

    def run(apply):
        values = testing.tensors() if draw_negative else st.floats(0.1, 2.0).map(
            lambda v: ag.tensor(v, requires_grad=True))

        @settings(max_examples=20, deadline=None, derandomize=True, database=None)
        @given(values)
        def holds(x):
            assert ag.gradcheck(apply, [x])

        holds()
    return run


r = course.RESIDUALS
RIGHT_AND_SLIPS = [
    # check, right answer, [(wrong answer, words its verdict must contain)]
    ("check_tanh_local_derivative", 0.5, [(1 - course.N1 ** 2, "1 - n^2"),
                                          (course.O1, "o itself"), (0.3, "step by step")]),
    ("check_w1_grad", 1.0, [(0.5, "multiply by dn/dw1"), (-1.5, "multiplied by w1")]),
    ("check_reuse_gradient", 7.0, [(6.0, "adds 1"), (4.0, "twice"), (1.0, "2a = 6")]),
    ("check_accumulated_grad", 14.0, [(7.0, "adds to it")]),
    ("check_sigma_mle", np.mean(r ** 2), [(np.sum(r ** 2) / 7, "unbiased"),
                                          (np.sqrt(np.mean(r ** 2)), "asks for sigma^2")]),
    ("check_adam_first_step", 0.1, [(100.0, "SGD's step"), (0.01, "corrects v but not m"),
                                    (0.1 / np.sqrt(0.001) * 0.1, "both bias")]),
    ("check_stable_fraction", 201 / 441, [(200 / 441, "q = (0, 0)"),
                                          (241 / 441, "axes")]),
    ("check_gaussian_nll",
     lambda y, m, s: np.sum((y - m) ** 2 / (2 * s ** 2) + 0.5 * np.log(2 * np.pi * s ** 2)),
     [(lambda y, m, s: np.sum((y - m) ** 2) / (2 * s ** 2), "normalisation"),
      (lambda y, m, s: -np.sum((y - m) ** 2 / (2 * s ** 2) + 0.5 * np.log(2 * np.pi * s ** 2)),
       "log-likelihood"),
      (lambda y, m, s: np.sum((y - m) ** 2 / (2 * s) + 0.5 * np.log(2 * np.pi * s)),
       "variance is sigma^2")]),
    ("check_bce_gradient",
     lambda th, x, y: np.mean(x * (1 / (1 + np.exp(-th * x)) - y)),
     [(lambda th, x, y: np.mean(x * (y - 1 / (1 + np.exp(-th * x)))), "the sign"),
      (lambda th, x, y: np.sum(x * (1 / (1 + np.exp(-th * x)) - y)), "a mean")]),
    ("check_momentum_step", heavy_ball,
     [(lecture_sign, "brakes"), (sutskever, "carries the learning rate"),
      (lambda th, v, g, lr, a: (th - lr * g, g), "plain SGD")]),
    ("check_softmax_jacobian", lambda a: np.diag(softmax(a)) - np.outer(softmax(a), softmax(a)),
     [(lambda a: -np.outer(softmax(a), softmax(a)), "diagonal) is missing"),
      (lambda a: np.diag(softmax(a) * (1 - softmax(a))), "only the diagonal"),
      (lambda a: softmax(a), "is (3, 3)")]),
    ("check_cross_entropy_grad", lambda a, y: (softmax(a) - y) / len(a),
     [(lambda a, y: softmax(a) - y, "1/n"), (lambda a, y: (y - softmax(a)) / len(a), "sign"),
      (lambda a, y: (a - y) / len(a), "logits")]),
    ("check_stable_softmax", lambda a: softmax(a),
     [(lambda a: np.exp(a) / np.exp(a).sum(), "subtract max(a)")]),
    ("check_slope",
     lambda q, t: 6 * q[0] * t[0] * t[1] + 3 * q[0] * t[1] ** 2 + 3 * q[1] * t[0] ** 2
     + 6 * q[1] * t[0] * t[1],
     [(lambda q, t: 6 * q[1] * t[0] * t[1] + 3 * q[1] * t[1] ** 2 + 3 * q[0] * t[0] ** 2
       + 6 * q[0] * t[0] * t[1], "swapped")]),
    ("check_stability_rule", lambda q0, q1: q0 * q1 < 0 or q0 == q1 == 0,
     [(lambda q0, q1: q0 * q1 < 0, "trivial bundle"),
      (lambda q0, q1: q0 * q1 <= 0, "axis"),
      (lambda q0, q1: q0 * q1 > 0 or q0 == q1 == 0, "one sign")]),
    ("check_silu", silu(lambda x, s: s + x * s * (1 - s)),
     [(silu(lambda x, s: x * s * (1 - s)), "first term"), (silu(lambda x, s: s), "second"),
      (function(lambda x: x * x.sigmoid(), lambda x, g: x.sigmoid() + x * x.sigmoid()
                * (1 - x.sigmoid())), "ignores the gradient"),
      (function(lambda x: x.sigmoid(), lambda x, g: g), "forward gives the wrong values")]),
    ("check_logcosh", logcosh(lambda x, g: g * x.tanh()),
     [(logcosh(lambda x, g: g * (1 - x.tanh() ** 2)), "tanh's derivative"),
      (logcosh(lambda x, g: None), "backward returned None"),
      (logcosh(lambda x, g: g * (x.exp() - (-x).exp()) / 2), "divide sinh x by cosh")]),
    ("check_property_test", property_test(),
     [(property_test(draw_negative=False), "wrong for every x < 0"),
      (lambda apply: 1 / 0, "fails the correct SiLU")]),
    ("check_backprop", backprop,
     [(lambda *a: backprop(*a, sign=-1.0), "sign"), (lambda *a: backprop(*a, factor=2.0),
                                                      "1/2"),
      (lambda *a: backprop(*a, tanh_prime=False), "tanh's derivative"),
      (lambda *a: backprop(*a, transpose=True), "transposed")]),
]


@pytest.mark.parametrize("name, right, slips", RIGHT_AND_SLIPS,
                         ids=[c[0] for c in RIGHT_AND_SLIPS])
def test_right_answers_pass_and_slips_are_named(name, right, slips):
    check = course.CHECKS[name]
    verdict = check(right)
    assert verdict and repr(verdict).startswith("✔ right"), repr(verdict)
    assert check(right, solution=True)
    for wrong, words in slips:
        verdict = check(wrong)
        assert not verdict and repr(verdict).startswith("✘ not yet"), repr(verdict)
        assert words in repr(verdict), (words, repr(verdict))
        with pytest.raises(AssertionError, match="fails its check"):
            check(wrong, solution=True)
    todo = check(...)
    assert not todo and "not answered yet" in repr(todo)
    if isinstance(right, type):  # a Function whose backward is still the placeholder
        assert "not answered yet" in repr(check(stub_function()))
        assert "pass the class itself" in repr(check(right.apply))
    elif callable(right):  # a function whose body is still the placeholder
        assert "not answered yet" in repr(check(lambda *args: ...))


def test_every_check_is_exercised_here():
    tested = {c[0] for c in RIGHT_AND_SLIPS} | {"check_activation_derivative"}
    assert set(course.CHECKS) == tested


@pytest.mark.parametrize("name, right, itself", [
    ("relu", lambda z: (z > 0).astype(float), lambda z: np.maximum(z, 0)),
    ("tanh", lambda z: 1 - np.tanh(z) ** 2, np.tanh),
    ("sigmoid", lambda z: (1 / (1 + np.exp(-z))) * (1 - 1 / (1 + np.exp(-z))),
     lambda z: 1 / (1 + np.exp(-z))),
])
def test_activation_derivatives(name, right, itself):
    check = course.check_activation_derivative
    assert check(name, right)
    assert "itself" in repr(check(name, itself))
    assert "elementwise" in repr(check(name, lambda z: 1.0))  # a scalar for an array
    assert "raised ZeroDivisionError" in repr(check(name, lambda z: 1 / 0))
    assert "not answered" in repr(check(name, ...))
    assert "not answered" in repr(check(name, lambda z: ...))

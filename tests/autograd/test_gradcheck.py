"""The public verification tools: gradcheck, gradgradcheck and the hypothesis strategies."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import autograd as ag
from autograd import testing as agt
from autograd.gradcheck import GradcheckError


def test_gradcheck_passes_a_correct_function_and_returns_true():
    x = ag.tensor(np.array([0.3, -0.7]), requires_grad=True)
    assert ag.gradcheck(lambda t: (t.tanh() * t).sum(), [x]) is True
    assert ag.gradgradcheck(lambda t: (t.tanh() * t).sum(), [x]) is True


def _wrong_square():
    # A user-written op with a deliberately wrong derivative (3x instead of 2x).
    from autograd.registry import OpDef
    from autograd.tensor import apply

    op = OpDef("wrong_square", None, (lambda F, g, y, x: g * 3 * x,))

    def fn(x):
        return apply(op, (x,), x.data ** 2)

    return fn


def test_gradcheck_names_input_element_and_values():
    x = ag.tensor(np.array([0.5, 1.5]), requires_grad=True)
    with pytest.raises(GradcheckError, match=r"input 0 \(shape \(2,\)\), element \(0,\): analytic"):
        ag.gradcheck(_wrong_square(), [x])
    assert ag.gradcheck(_wrong_square(), [x], raise_exception=False) is False


def test_gradgradcheck_catches_a_rule_that_is_right_only_at_first_order():
    from autograd.registry import OpDef
    from autograd.tensor import apply

    # Correct value of d/dx x^3, but computed from raw data, so it is not differentiable.
    op = OpDef("cube", None, (lambda F, g, y, x: g * 3 * F.raw(x) ** 2,))

    def cube(x):
        return apply(op, (x,), x.data ** 3)

    x = ag.tensor(np.array([0.5, -1.5]), requires_grad=True)
    assert ag.gradcheck(cube, [x])
    with pytest.raises(GradcheckError):
        ag.gradgradcheck(cube, [x])


def test_gradcheck_requires_float64():
    x = ag.tensor(np.array([1.0], dtype=np.float32), requires_grad=True)
    with pytest.raises(ValueError, match="float64"):
        ag.gradcheck(lambda t: t * 2.0, [x])


@given(agt.broadcastable_shapes(3))
def test_broadcastable_shapes_broadcast(shapes_):
    np.broadcast_shapes(*shapes_)


@given(agt.probability_vectors((3, 4)))
def test_probability_vectors_sum_to_one(p):
    assert np.allclose(p.sum(-1), 1.0) and (p > 0).all()


@given(agt.class_labels((5,), 3))
def test_class_labels_in_range(y):
    assert y.dtype.kind == "i" and ((0 <= y) & (y < 3)).all()


@given(agt.arrays((20,), ("away", 0.0)))
def test_away_from_kinks(a):
    assert (np.abs(a) >= agt.MARGIN).all()


@given(agt.arrays((6,), "distinct"))
def test_distinct_values(a):
    assert len(set(a.tolist())) == 6


@given(agt.tensors(agt.shapes(max_dims=2), dtype=np.float32))
def test_tensors_strategy(t):
    assert isinstance(t, ag.Tensor) and t.dtype == np.float32 and t.requires_grad


@given(st.data())
def test_logits_strategy(data):
    z = data.draw(agt.logits(batch=4, classes=3))
    assert z.shape == (4, 3) and np.isfinite(z).all()

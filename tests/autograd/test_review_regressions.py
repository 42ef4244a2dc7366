"""Regression tests from a review of the engine core: corner cases the op samplers do not
draw (0-d tensors, numpy scalar constants, out-of-range axes, exponent 0, non-contiguous
leaves) and properties of gradients themselves (dtype, shape, independence).

Some of these first proved bugs in the engine as strict xfails; they pass since the fix
(engine.py, tensor.py); they start passing, and so fail loudly, once the fix lands.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import autograd as ag
from autograd.gradcheck import GradcheckError
from autograd.registry import REGISTRY
from autograd.testing import flat_call, op_inputs


def _f32(values) -> ag.Tensor:
    return ag.tensor(np.asarray(values, dtype=np.float32), requires_grad=True)


def _grad_dtypes(fn, x: ag.Tensor) -> tuple[np.dtype, np.dtype, np.dtype]:
    """dtypes of fn(x), of d sum fn(x)/dx without and with create_graph."""
    y = fn(x)
    (g,) = ag.grad((y * 1.0).sum(), x, retain_graph=True)
    (gg,) = ag.grad((fn(x) * 1.0).sum(), x, create_graph=True)
    return y.dtype, g.dtype, gg.dtype


# -- dtype: float32 in, float32 out, float32 gradients ----------------------------------

@pytest.mark.parametrize("fn", [
    pytest.param(lambda x: x * np.float64(0.5), id="numpy-float64-scalar"),
    pytest.param(lambda x: np.float64(3.0) - x, id="reflected-numpy-float64-scalar"),
    pytest.param(lambda x: ag.maximum(x, np.float64(1.5)), id="maximum-numpy-scalar"),
    pytest.param(lambda x: x ** np.float64(2.0), id="pow-numpy-exponent"),
    pytest.param(lambda x: 2.0 ** x, id="pow-python-base"),
    pytest.param(lambda x: np.float64(2.0) ** x, id="pow-numpy-base"),
    pytest.param(lambda x: ag.clip(x, np.float64(1.5), np.float64(2.5)), id="clip-numpy-bounds"),
    pytest.param(lambda x: ag.leaky_relu(x - 2.0, np.float64(0.1)), id="leaky-numpy-slope"),
    pytest.param(lambda x: ag.einsum("i,i->i", x, np.ones(3)), id="einsum-array-operand"),
    pytest.param(lambda x: ag.concatenate([x, np.ones(2)]), id="concatenate-array"),
    pytest.param(lambda x: ag.stack([np.ones(3), x], axis=-1), id="stack-array"),
    pytest.param(lambda x: ag.linear(x, np.ones((2, 3)), np.ones(2)), id="linear-array-weight"),
    pytest.param(lambda x: ag.linear(np.ones((2, 3)), x.reshape(1, 3)), id="linear-array-input"),
    pytest.param(lambda x: x * ag.tensor([1, 2, 3]), id="int-tensor-constant"),
    pytest.param(lambda x: ag.tensor([1, 0, 2]) - x, id="reflected-int-tensor-constant"),
    pytest.param(lambda x: x * ag.tensor(np.array([True, False, True])), id="bool-tensor"),
])
def test_constants_never_promote_float32(fn):
    # A constant (numpy scalar, array, int/bool tensor) takes the float tensor's dtype, as
    # Python numbers do; otherwise float32 leaves silently get float64 gradients.
    assert _grad_dtypes(fn, _f32([1.0, 2.0, 3.0])) == (np.float32,) * 3


# -- 0-d tensors -------------------------------------------------------------------------

@pytest.mark.parametrize("op", ["sum", "max", "min", "mean", "logsumexp"])
@pytest.mark.parametrize("axis", [0, -1, (0,), None])
@pytest.mark.parametrize("keepdims", [False, True])
def test_reductions_of_a_0d_tensor_over_its_only_axis(op, axis, keepdims):
    # numpy's sum/max accept axis 0 or -1 on a 0-d array; every reduction should, and
    # the gradient must keep the input's shape ().
    x = ag.tensor(1.5, requires_grad=True)
    y = getattr(ag, op)(x, axis=axis, keepdims=keepdims)
    assert y.shape == ()
    y.backward()
    assert x.grad.shape == () and x.grad.item() == 1.0


@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
def test_softmax_of_a_0d_tensor(op):
    x = ag.tensor(0.7, requires_grad=True)
    y = getattr(ag, op)(x)
    assert np.isclose(y.item(), 1.0 if op == "softmax" else 0.0)
    y.backward()
    assert x.grad.shape == () and x.grad.item() == 0.0


@pytest.mark.parametrize("make", [
    pytest.param(lambda x: x.sum(), id="sum"),
    pytest.param(lambda x: (x * x).mean(), id="mean"),
    pytest.param(lambda x: ag.exp(x[0]), id="exp-of-0d"),
])
def test_numpy_can_convert_a_0d_op_result(make):
    loss = make(ag.tensor([1.0, 2.0], requires_grad=True))
    assert np.asarray(loss).shape == () and np.isfinite(loss)


@pytest.mark.parametrize("fn", [lambda x: ag.leaky_relu(x * 1.0),
                                lambda x: ag.where(np.array(True), x * 2.0, x)])
def test_tensor_grad_outputs_for_a_0d_output(fn):
    x = ag.tensor(0.5, requires_grad=True)
    (g,) = ag.grad(fn(x), x, grad_outputs=ag.tensor(3.0))
    assert isinstance(g.data, np.ndarray) and g.item() > 0


# -- axes ------------------------------------------------------------------------------

@pytest.mark.parametrize("call", [
    pytest.param(lambda x: ag.transpose(x, (0, 3)), id="transpose-too-large"),
    pytest.param(lambda x: ag.transpose(x, (0, -4)), id="transpose-too-negative"),
    pytest.param(lambda x: x.transpose(0, 5), id="Tensor.transpose"),
    pytest.param(lambda x: x.squeeze(3), id="squeeze"),
    pytest.param(lambda x: x.unsqueeze(4), id="unsqueeze"),
    pytest.param(lambda x: x.unsqueeze(-5), id="unsqueeze-negative"),
    pytest.param(lambda x: x.flatten(3), id="flatten"),
])
def test_out_of_range_axes_are_errors_not_wrapped(call):
    # An axis past the end used to wrap around (axis 3 of a 3-d tensor meant axis 0).
    x = ag.tensor(np.ones((2, 1, 3)))
    with pytest.raises((ValueError, IndexError), match=r"out of range.*\(2, 1, 3\)"):
        call(x)


def test_in_range_negative_axes_still_work():
    x = ag.tensor(np.ones((2, 1, 3)))
    assert x.squeeze(-2).shape == (2, 3) and x.unsqueeze(-1).shape == (2, 1, 3, 1)
    assert x.unsqueeze(-4).shape == (1, 2, 1, 3) and x.flatten(-2).shape == (2, 3)
    assert ag.transpose(x, (-1, 0, 1)).shape == (3, 2, 1) and x.transpose(-1, 0).shape == (3, 1, 2)


# -- pow at exponent 0 -----------------------------------------------------------------

@pytest.mark.parametrize("exponent", [0, 0.0, np.arange(3), np.array([0.0, 2.0, 1.0])])
def test_pow_with_exponent_zero_has_zero_derivative_at_zero(exponent):
    # d/dx x^0 = 0 everywhere; the rule b x^(b-1) gave 0 * inf = nan at x = 0, which also
    # poisons polynomial features x ** arange(k).
    x = ag.tensor([0.0, 0.0, 2.0], requires_grad=True)
    with np.errstate(divide="raise", invalid="raise"):
        (x ** exponent).sum().backward()
    b = np.broadcast_to(np.asarray(exponent, dtype=float), (3,))
    expected = np.where(b == 0, 0.0, b * np.where(b == 0, 1.0, 2.0 ** np.maximum(b - 1, 0)))
    expected[:2] = np.where(b[:2] == 1, 1.0, 0.0)
    assert np.array_equal(x.grad.data, expected)


def test_pow_exponent_zero_second_order():
    x = ag.tensor([0.0, 1.5], requires_grad=True)
    b = np.array([0.0, 3.0])
    (g,) = ag.grad((x ** b).sum(), x, create_graph=True)
    (h,) = ag.grad(g.sum(), x)
    assert np.allclose(g.data, [0.0, 3 * 1.5 ** 2]) and np.allclose(h.data, [0.0, 6 * 1.5])
    assert ag.gradgradcheck(lambda x: x ** np.array([0.0, 3.0]), [ag.tensor([0.5, 1.5],
                                                                            requires_grad=True)])
    # a differentiable exponent at 0 keeps its mixed derivative d2/da db a^b = 1/a there
    a, e = ag.tensor([0.5, 1.5], requires_grad=True), ag.tensor([0.0, 0.0], requires_grad=True)
    assert ag.gradgradcheck(lambda a, e: a ** e, [a, e])


# -- gradients as values: shape, independence, writability ----------------------------

def test_gradient_of_a_0d_max_keeps_the_0d_shape():
    x = ag.tensor(2.0, requires_grad=True)
    ag.max(x, axis=0).backward()
    assert x.grad.shape == ()


def test_leaf_grad_is_writable():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    x.sum().backward()
    x.grad.data *= 0.5  # in-place gradient clipping or scaling
    assert np.array_equal(x.grad.data, [0.5, 0.5])


def test_leaf_grads_do_not_alias_each_other_or_the_seed():
    a = ag.tensor([1.0, 2.0], requires_grad=True)
    b = ag.tensor([3.0, 4.0], requires_grad=True)
    ((a + b) * ag.tensor([5.0, 6.0])).sum().backward()
    a.grad.data *= 0.0
    assert np.array_equal(b.grad.data, [5.0, 6.0])
    c = ag.tensor([1.0, 2.0], requires_grad=True)
    seed = np.array([1.0, 1.0])
    (c + 0.0).backward(seed)
    seed[0] = 100.0
    assert np.array_equal(c.grad.data, [1.0, 1.0])


@pytest.mark.parametrize("cotangent", [np.array([1.0, 2.0]), np.array(2.0), 2.0])
def test_grad_accepts_an_array_cotangent_for_one_output(cotangent):
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3.0 if np.ndim(cotangent) else (x * 3.0).sum()
    (g,) = ag.grad(y, x, grad_outputs=cotangent)
    assert np.allclose(g.data, 3.0 * np.broadcast_to(cotangent, (2,)))


def test_tensor_cotangent_takes_the_output_dtype():
    x = _f32([1.0, 2.0])
    (g,) = ag.grad(x * 2.0, x, grad_outputs=ag.tensor([1.0, 1.0]))
    assert g.dtype == np.float32


# -- the verification tools themselves -------------------------------------------------

def test_gradcheck_perturbs_non_contiguous_leaves():
    # x.data.reshape(-1) of a Fortran-ordered array is a copy, so perturbing it changed
    # nothing and every numeric derivative read 0: a correct gradient was reported wrong.
    x = ag.tensor(np.arange(1.0, 7.0).reshape(3, 2).T, requires_grad=True)
    assert not x.data.flags.c_contiguous
    before = x.data.copy()
    assert ag.gradcheck(lambda t: (t * t).sum(axis=0), [x])
    assert np.array_equal(x.data, before)


def _detached_cotangent_tanh():
    """tanh whose rule is right in value but treats g as a constant when recording:
    grad-of-grad through anything upstream of it is then wrong."""
    from autograd.registry import OpDef
    from autograd.tensor import apply

    op = OpDef("tanh_raw_g", None, (lambda F, g, y, x: F.raw(g) * (1 - y * y),))
    return lambda x: apply(op, (x,), np.tanh(x.data))


def test_gradgradcheck_catches_a_rule_that_detaches_its_cotangent():
    bad_tanh = _detached_cotangent_tanh()
    x = ag.tensor(np.array([0.3, -0.8]), requires_grad=True)
    assert ag.gradcheck(bad_tanh, [x])
    with pytest.raises(GradcheckError):
        ag.gradgradcheck(bad_tanh, [x])
    # where the cotangent reaching it depends on x, grad of grad is really wrong
    (g,) = ag.grad((bad_tanh(x) * x).sum(), x, create_graph=True)
    (h,) = ag.grad(g.sum(), x)
    t = np.tanh(x.data)
    assert not np.allclose(h.data, 2 * (1 - t**2) - 2 * x.data * t * (1 - t**2))
    assert ag.gradgradcheck(ag.tanh, [x])


def _wrong_when_recording():
    """A linear op whose recorded (create_graph) rule has the wrong value: only the
    numpy-backend value is ever compared with finite differences at first order."""
    from autograd.registry import OpDef
    from autograd.tensor import apply

    op = OpDef("scale3", None, (lambda F, g, y, x: g * (3.0 if not F.recording else 2.0),))
    return lambda x: apply(op, (x,), 3.0 * x.data)


def test_gradgradcheck_compares_the_recorded_backward_with_the_plain_one():
    x = ag.tensor(np.array([0.3, -0.8]), requires_grad=True)
    assert ag.gradcheck(_wrong_when_recording(), [x])
    with pytest.raises(GradcheckError, match="create_graph"):
        ag.gradgradcheck(_wrong_when_recording(), [x])


# -- every op: the recorded backward equals the plain one, also for float32 ------------

OPS = sorted(REGISTRY.values(), key=lambda op: op.name)


@pytest.mark.parametrize("op", OPS, ids=lambda op: op.name)
@given(data=st.data(), f32=st.booleans())
def test_create_graph_gradients_equal_plain_gradients(op, data, f32):
    args, kwargs = data.draw(op_inputs(op), label="inputs")
    fn, inputs = flat_call(op, args, kwargs)
    if f32:
        inputs = [ag.tensor(x.data.astype(np.float32), requires_grad=x.requires_grad)
                  if isinstance(x, ag.Tensor) and x.dtype == np.float64 else x for x in inputs]
    leaves = [x for x in inputs if isinstance(x, ag.Tensor) and x.requires_grad]
    out = fn(*inputs)
    v = np.random.default_rng(0).standard_normal(out.shape).astype(out.dtype)
    loss = (out * v).sum()
    plain = ag.grad(loss, leaves, retain_graph=True)
    recorded = ag.grad(loss, leaves, create_graph=True)
    for p, r, x in zip(plain, recorded, leaves):
        assert p.dtype == r.dtype == x.dtype and p.shape == r.shape == x.shape
        assert np.allclose(p.data, r.data, rtol=1e-5 if f32 else 1e-12, atol=1e-6)


def test_float16_mean_losses_accumulate_like_ndarray_mean():
    # a float16 sum overflows at 65504 (and so does the count 100000 as float16)
    x = ag.Tensor(np.full(1000, 10, np.float16))
    assert ag.mse_loss(x, np.zeros(1000, np.float16)).item() == 100.0
    z = ag.Tensor(np.zeros((100000, 2), np.float16))
    loss = ag.cross_entropy(z, np.zeros(100000, int))
    assert loss.dtype == np.float16 and np.isclose(loss.item(), np.log(2), rtol=1e-3)


def test_zero_d_integer_arithmetic_wraps_like_arrays():
    # 0-d floats compute on numpy scalars for speed; integers must keep array semantics
    with np.errstate(over="raise"):
        out = ag.Tensor(np.int64(2 ** 62)) * ag.Tensor(np.int64(4))
    assert out.item() == 0


def test_a_non_shape_value_error_is_not_called_a_broadcasting_error():
    with pytest.raises(ValueError, match="pow: Integers to negative") as info:
        ag.Tensor([2]) ** ag.Tensor([-1])
    assert "broadcast" not in str(info.value)
    with pytest.raises(ValueError, match="do not broadcast"):
        ag.Tensor([1.0, 2.0]) + ag.Tensor([1.0, 2.0, 3.0])


def test_backward_does_not_alias_the_callers_cotangent():
    x = ag.Tensor(np.zeros(3), requires_grad=True)
    cot = ag.Tensor(np.ones(3))
    (x + 1.0).backward(gradient=cot)
    x.grad.data[...] = 5.0
    np.testing.assert_array_equal(cot.data, 1.0)


# -- from the review of the like= and ready hand-over commits ------------------------------

def test_big_endian_data_is_stored_in_native_byte_order():
    # numpy's results are native; a node copying its input's dtype (like=) must agree
    for dtype in (">f4", ">f8", "<f4"):
        x = ag.Tensor(np.array([0.5, -1.0, 2.0], dtype=dtype), requires_grad=True)
        assert x.data.dtype.isnative and x.data.dtype == np.dtype(dtype).newbyteorder("=")
        h = x.reshape(3)
        for y in (h * 2.0, ag.exp(h), -h, h * h):
            assert y.grad_fn.dtype == y.data.dtype


def test_a_gradient_has_the_dtype_of_its_tensor():
    # float32 used by a float64 op: the op works in float64, the gradient is float32
    w = ag.tensor([2.0, 3.0], requires_grad=True)
    w0 = ag.tensor(2.5, requires_grad=True)
    for shape in ((2,), ()):
        x = ag.tensor(np.full(shape, 0.5, np.float32), requires_grad=True)
        h = x * 2.0
        other = w if shape else w0
        (h * other).sum().backward(retain_graph=True)
        assert x.grad.dtype == np.float32 and other.grad.dtype == np.float64
        np.testing.assert_allclose(x.grad.data, 2 * other.data, rtol=1e-6)
        gx, gh = ag.grad((h * other).sum(), [x, h])
        assert gx.dtype == gh.dtype == np.float32
        other.grad = None


@pytest.mark.parametrize("call", [
    lambda x, p: ag.leaky_relu(x, p), lambda x, p: ag.clip(x, p), lambda x, p: ag.clip(x, max=p)])
def test_an_array_parameter_may_not_broadcast_the_input_up(call):
    x = ag.tensor([1.0, -2.0, 3.0], requires_grad=True)
    call(x, np.array([0.1, 0.2, 0.3])).sum().backward()  # x's shape: fine
    assert x.grad.shape == (3,)
    for bad in (np.ones((2, 3)), np.ones(4)):
        with pytest.raises(ValueError, match=r"does not broadcast to the input's shape \(3,\)"):
            call(x, bad)

"""The Tensor itself: construction, dtypes, attributes, operators, display, errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import autograd as ag
from autograd.testing import arrays, shapes


def test_float64_by_default_and_float32_on_request():
    assert ag.tensor([1.0, 2.0]).dtype == np.float64
    assert ag.tensor([1, 2.5]).dtype == np.float64
    assert ag.tensor(3.0).dtype == np.float64
    assert ag.tensor([1.0], dtype=np.float32).dtype == np.float32
    assert ag.tensor([1, 2]).dtype.kind == "i"  # integer data (labels) stays integer


@given(arrays(shapes(max_dims=2), dtype=np.float32))
def test_ops_keep_float32(a):
    x = ag.tensor(a, requires_grad=True)
    y = ((x * 2.0 + 1.0).tanh() ** 2 - x / 3.0).sum()
    assert y.dtype == np.float32
    y.backward()
    assert x.grad.dtype == np.float32


def test_constant_arrays_do_not_promote_float32():
    x = ag.tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    assert (x * np.ones(3)).dtype == np.float32
    assert (np.ones(3) + x).dtype == np.float32


def test_attributes_and_conversions():
    x = ag.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    assert x.shape == (2, 3) and x.ndim == 2 and x.size == 6 and x.dtype == np.float64
    assert x.T.shape == (3, 2)
    assert np.array_equal(np.asarray(x), x.data) and x.numpy() is x.data
    assert ag.tensor(2.5).item() == 2.5 and float(ag.tensor([1.5])) == 1.5
    d = x.detach()
    assert d.grad_fn is None and not d.requires_grad and d.data is x.data
    with pytest.raises(ValueError, match="one-element"):
        x.item()


def test_zero_dim_scalar_graph_is_first_class():
    # A single neuron written out by hand from 0-d tensors (lecture eq. 6 for one unit).
    w1, w2, b = (ag.tensor(v, requires_grad=True) for v in (0.5, -1.5, 0.1))
    x1, x2 = ag.tensor(2.0), ag.tensor(-1.0)
    a = ag.tanh(w1 * x1 + w2 * x2 + b)
    assert a.shape == ()
    a.backward()
    z = 0.5 * 2.0 + (-1.5) * (-1.0) + 0.1
    dz = 1 - np.tanh(z) ** 2
    assert np.isclose(w1.grad.item(), dz * 2.0)
    assert np.isclose(w2.grad.item(), dz * -1.0)
    assert np.isclose(b.grad.item(), dz)


def test_reflected_operators():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    y = 3.0 - x + 2.0 * x + 1.0 / x + 2.0 ** x + np.array([1.0, 1.0]) @ x
    y.sum().backward()
    v = np.array([1.0, 2.0])
    # the dot product is a scalar added to both entries, so it counts twice in the sum
    expected = -1 + 2 - 1 / v**2 + np.log(2) * 2.0**v + 2
    assert np.allclose(x.grad.data, expected)


def test_comparisons_are_not_differentiable():
    x = ag.tensor([1.0, -1.0], requires_grad=True)
    for c in (x > 0, x >= 0, x < 0, x <= 0, x == 1.0, x != 1.0):
        assert c.dtype == np.bool_ and not c.requires_grad and c.grad_fn is None


def test_repr_shows_data_and_op():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    assert "requires_grad=True" in repr(x)
    assert "op=tanh" in repr(x.tanh())
    assert "dtype=float32" in repr(ag.tensor([1.0], dtype=np.float32))


def test_requires_grad_on_integers_is_a_type_error():
    with pytest.raises(TypeError, match="floating"):
        ag.tensor([1, 2], requires_grad=True)


def _ones(*shape):
    return ag.tensor(np.ones(shape))


@pytest.mark.parametrize("call, pattern", [
    (lambda: _ones(2, 3) + _ones(4), r"add: shapes \(2, 3\) and \(4,\)"),
    (lambda: _ones(2, 3) @ _ones(2, 3), r"matmul: shapes \(2, 3\) and \(2, 3\)"),
    (lambda: _ones(6).reshape(4, 2), r"reshape: cannot reshape .*\(6,\)"),
    (lambda: _ones(2, 3).sum(axis=2), "sum: axis 2 is out of range"),
    (lambda: ag.cross_entropy(_ones(3, 2), np.array([0, 2, 1])), r"labels must lie in \[0, 2\)"),
    (lambda: ag.cross_entropy(_ones(3, 2), np.array([0, 1])), "labels of shape"),
    (lambda: ag.mse_loss(_ones(3), np.ones((3, 1))), "mse_loss: input shape"),
    (lambda: ag.cross_entropy(_ones(3, 2), np.array([0, 1, 0]), reduction="avg"),
     "reduction must be one of"),
])
def test_errors_name_the_op_and_shapes(call, pattern):
    with pytest.raises((ValueError, TypeError), match=pattern):
        call()


@given(shapes(min_dims=1), st.data())
def test_indexing_matches_numpy(shape, data):
    a = data.draw(arrays(shape))
    index = data.draw(ag.testing.indices(shape))
    assert np.array_equal(ag.tensor(a)[index].data, a[index])


def test_repeated_indices_accumulate_gradient():
    x = ag.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x[np.array([0, 0, 2, 0])].sum().backward()
    assert np.array_equal(x.grad.data, [3.0, 0.0, 1.0])


def test_boolean_mask_gradient():
    x = ag.tensor([1.0, -2.0, 3.0], requires_grad=True)
    (x[x.data > 0] * 2.0).sum().backward()
    assert np.array_equal(x.grad.data, [2.0, 0.0, 2.0])


def test_max_ties_share_the_gradient_equally():
    x = ag.tensor([[1.0, 3.0, 3.0], [2.0, 0.0, 2.0]], requires_grad=True)
    x.max(axis=1).sum().backward()
    assert np.array_equal(x.grad.data, [[0.0, 0.5, 0.5], [0.5, 0.0, 0.5]])
    y = ag.tensor([1.0, 1.0], requires_grad=True)
    ag.maximum(y, ag.tensor([1.0, 0.0])).sum().backward()
    assert np.array_equal(y.grad.data, [0.5, 1.0])


def test_torch_style_shape_methods():
    x = ag.tensor(np.arange(24.0).reshape(2, 3, 4), requires_grad=True)
    assert x.transpose(0, 2).shape == (4, 3, 2)
    assert x.permute(2, 0, 1).shape == (4, 2, 3)
    assert x.flatten(1).shape == (2, 12) and x.view(6, 4).shape == (6, 4)
    assert x.unsqueeze(0).shape == (1, 2, 3, 4) and x.unsqueeze(0).squeeze(0).shape == (2, 3, 4)
    assert x[:, :1].expand(2, 5, 4).shape == (2, 5, 4)
    y = ag.concatenate([x, x], axis=1)
    assert y.shape == (2, 6, 4) and ag.stack([x, x]).shape == (2, 2, 3, 4)


def test_deepcopy_copies_leaves_and_refuses_graph_nodes():
    import copy

    x = ag.tensor([1.0, 2.0], requires_grad=True, name="x")
    (x * x).sum().backward()
    y = copy.deepcopy(x)
    assert y.requires_grad and y.name == "x" and np.array_equal(y.grad.data, [2.0, 4.0])
    y.data[0] = 5.0
    assert x.data[0] == 1.0  # its own data
    with pytest.raises(RuntimeError, match="detach"):
        copy.deepcopy(x * 2.0)

"""PyTorch's names for what cygrad has (autograd/ops/torchlike.py): each gives PyTorch's
numbers (written out here with numpy) and, where differentiable, passes gradcheck first
and second order on drawn inputs."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import autograd as ag
from autograd.testing import tensors

X = np.array([[1.0, -2.0, 3.0], [4.0, 5.0, -6.0]])


def test_size_is_numpys_count_and_pytorchs_shape():
    x = ag.tensor(X)
    assert x.size == 6 and x.size * 2 == 12 and np.zeros(x.size).shape == (6,)
    assert x.size() == (2, 3) and x.size(1) == 3 and x.size(-2) == 2
    assert x.numel() == 6 == ag.numel(x) and x.dim() == 2 == x.ndimension()
    with pytest.raises(IndexError, match=r"size\(2\).*\(2, 3\)"):
        x.size(2)
    with pytest.raises(IndexError, match="0-d"):
        ag.tensor(1.0).size(0)


def test_t_transposes_matrices_only():
    x = ag.tensor(X)
    np.testing.assert_array_equal(x.t().data, X.T)
    v = ag.tensor([1.0, 2.0])
    assert v.t() is v
    with pytest.raises(RuntimeError, match=r"t\(\).*\(1, 2, 3\).*permute"):
        ag.zeros(1, 2, 3).t()


@pytest.mark.parametrize("kwargs, ddof, axis", [
    ({}, 1, None), ({"unbiased": False}, 0, None), ({"dim": 0}, 1, 0),
    ({"dim": 1, "keepdim": True}, 1, 1), ({"dim": (0, 1), "correction": 0}, 0, (0, 1)),
])
def test_var_and_std_are_unbiased_by_default_as_in_pytorch(kwargs, ddof, axis):
    x = ag.tensor(X)
    keep = kwargs.get("keepdim", False)
    np.testing.assert_allclose(x.var(**kwargs).data, X.var(axis=axis, ddof=ddof, keepdims=keep))
    np.testing.assert_allclose(x.std(**kwargs).data, X.std(axis=axis, ddof=ddof, keepdims=keep))


def test_var_refuses_what_has_no_degree_of_freedom():
    with pytest.raises(ValueError, match="degree of freedom"):
        ag.tensor([[1.0, 2.0]]).var(dim=0)
    with pytest.raises(TypeError, match="not both"):
        ag.tensor(X).var(unbiased=True, correction=1)


@given(x=tensors(shape=(3, 4)), dim=st.sampled_from([None, 0, 1, -1]),
       keepdim=st.booleans(), unbiased=st.booleans())
def test_var_and_std_gradients(x, dim, keepdim, unbiased):
    # std = sqrt(var) has no derivative where the values are all equal (sqrt at 0)
    assume(np.all(np.var(x.data, axis=dim) > 1e-2))
    for name in ("var", "std"):
        def f(t, name=name):
            return getattr(t, name)(dim=dim, keepdim=keepdim, unbiased=unbiased)
        assert ag.gradcheck(f, [x]) and ag.gradgradcheck(f, [x])


@given(x=tensors(shape=(2, 5)), mask=st.lists(st.booleans(), min_size=5, max_size=5))
def test_masked_fill_values_and_gradient(x, mask):
    m = ag.tensor(np.array(mask))
    y = x.masked_fill(m, -1.5)
    np.testing.assert_array_equal(y.data, np.where(mask, -1.5, x.data))
    (y * y).sum().backward()
    np.testing.assert_allclose(x.grad.data, np.where(mask, 0.0, 2 * x.data))
    assert ag.gradcheck(lambda t: t.masked_fill(m, 0.0), [x.detach().requires_grad_()])


@pytest.mark.parametrize("call, sizes", [
    (lambda t: t.split(2, dim=1), [2, 2, 1]),
    (lambda t: t.split([1, 4], dim=-1), [1, 4]),
    (lambda t: t.chunk(3, dim=1), [2, 2, 1]),
    (lambda t: t.chunk(2, dim=1), [3, 2]),
    (lambda t: t.chunk(9, dim=1), [1, 1, 1, 1, 1]),
])
def test_split_and_chunk_follow_pytorchs_sizes_and_pass_gradients(call, sizes):
    data = np.arange(10.0).reshape(2, 5)
    x = ag.tensor(data, requires_grad=True)
    pieces = call(x)
    assert [p.shape[1] for p in pieces] == sizes
    np.testing.assert_array_equal(np.concatenate([p.data for p in pieces], axis=1), data)
    sum((k + 1) * p.sum() for k, p in enumerate(pieces)).backward()
    weights = np.repeat(np.arange(1.0, len(sizes) + 1), sizes)
    np.testing.assert_array_equal(x.grad.data, np.broadcast_to(weights, (2, 5)))


def test_split_refuses_sizes_that_do_not_add_up():
    with pytest.raises(ValueError, match=r"add up to the axis length 5"):
        ag.zeros(2, 5).split([2, 2], dim=1)
    with pytest.raises(ValueError, match="positive"):
        ag.zeros(2, 5).chunk(0)


def test_mm_bmm_check_their_ranks():
    a, b = np.ones((2, 3)), np.ones((3, 4))
    np.testing.assert_array_equal(ag.mm(ag.tensor(a), ag.tensor(b)).data, a @ b)
    assert ag.tensor(a).mm(ag.tensor(b)).shape == (2, 4)
    np.testing.assert_array_equal(ag.bmm(ag.ones(5, 2, 3), ag.ones(5, 3, 4)).data,
                                  np.full((5, 2, 4), 3.0))
    with pytest.raises(ValueError, match="mm: expects two 2-d"):
        ag.mm(ag.ones(3), ag.ones(3, 2))
    with pytest.raises(ValueError, match="batch sizes differ"):
        ag.bmm(ag.ones(5, 2, 3), ag.ones(4, 3, 4))


def test_integer_casts_leave_the_graph_as_in_pytorch():
    x = ag.tensor([1.7, -2.7, 0.0], requires_grad=True)
    assert x.long().dtype == np.int64 and x.long().tolist() == [1, -2, 0]  # toward zero
    assert x.int().dtype == np.int32 and not x.long().requires_grad
    assert x.bool().tolist() == [True, True, False]
    with pytest.raises(TypeError, match="detach"):  # astype itself still asks
        ag.astype(x, np.int64)


def test_device_and_helpers():
    x = ag.tensor(X)
    assert x.contiguous() is x and x.cpu() is x and x.device == "cpu"
    assert ag.is_tensor(x) and not ag.is_tensor(X)
    assert ag.allclose(x, X + 1e-9) and not ag.allclose(x, X + 1e-3)

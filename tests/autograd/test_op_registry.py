"""Every registered op, checked against central finite differences at first and second
order over drawn shapes (broadcasting included), and a proof that these checks catch a
wrong derivative rule for every op."""

from __future__ import annotations

from unittest import mock

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autograd as ag
from autograd.gradcheck import GradcheckError
from autograd.registry import REGISTRY
from autograd.testing import flat_call, op_inputs
from autograd.viz import _record
from autograd.viz._record import SUMMARY_SIZE

OPS = sorted(REGISTRY.values(), key=lambda op: op.name)
SECOND_ORDER = [op for op in OPS if op.second_order]


def test_registry_is_complete():
    # The ops the engine promises; a new op joins this suite by being registered.
    promised = {"add", "sub", "mul", "div", "pow", "neg", "matmul", "exp", "log", "sqrt",
                "abs", "relu", "leaky_relu", "tanh", "sigmoid", "softplus", "sum", "mean",
                "max", "min", "logsumexp", "softmax", "log_softmax", "reshape", "transpose",
                "broadcast_to", "getitem", "concatenate", "stack", "where", "clip",
                "maximum", "minimum", "einsum", "cross_entropy",
                "binary_cross_entropy_with_logits", "mse_loss"}
    assert promised <= set(REGISTRY)
    for op in OPS:
        assert op.sample is not None, f"{op.name} has no input sampler, so it is not tested"
        assert getattr(ag, op.name) is op.fn


@pytest.mark.parametrize("op", OPS, ids=lambda op: op.name)
@given(data=st.data())
def test_first_derivative(op, data):
    args, kwargs = data.draw(op_inputs(op), label="inputs")
    fn, inputs = flat_call(op, args, kwargs)
    assert ag.gradcheck(fn, inputs)


@pytest.mark.parametrize("op", SECOND_ORDER, ids=lambda op: op.name)
@given(data=st.data())
def test_second_derivative(op, data):
    args, kwargs = data.draw(op_inputs(op), label="inputs")
    fn, inputs = flat_call(op, args, kwargs)
    assert ag.gradgradcheck(fn, inputs)


def _float32(a):
    """A drawn argument in float32 (tensors keep requires_grad; lists element by element)."""
    if isinstance(a, ag.Tensor) and a.dtype == np.float64:
        return ag.Tensor(a.data.astype(np.float32), requires_grad=a.requires_grad)
    if isinstance(a, np.ndarray) and a.dtype == np.float64:
        return a.astype(np.float32)
    if isinstance(a, list):
        return [_float32(x) for x in a]
    return a


@pytest.mark.parametrize("op", OPS, ids=lambda op: op.name)
@given(data=st.data())
def test_output_dtype_follows_input(op, data):
    args, kwargs = data.draw(op_inputs(op), label="inputs")
    args32 = tuple(_float32(a) for a in args)
    if "casts" in op.tags:  # a cast's output has the dtype it is asked for
        kwargs = {**kwargs, "dtype": np.float32}
    out = op.fn(*args32, **kwargs)
    assert out.dtype == np.float32
    if out.requires_grad:
        (out * 1.0).sum().backward()
        leaves = [x for a in args32 for x in (a if isinstance(a, list) else [a])
                  if isinstance(x, ag.Tensor) and x.requires_grad]
        assert all(x.grad.dtype == np.float32 for x in leaves if x.grad is not None)


def _made_by_an_op(a):
    """The same values as the output of an op (reshape), so that they have a node."""
    if isinstance(a, list):
        return [_made_by_an_op(x) for x in a]
    if isinstance(a, ag.Tensor) and a.requires_grad:
        return ag.reshape(a, a.shape)
    return a


def _assert_node_describes(out, summary_size=SUMMARY_SIZE):
    # The engine undoes broadcasting with node.shape, and pictures show shape, dtype and
    # (from what autograd.viz records) small values after the output is gone.
    # Elementwise ops copy shape and dtype from their input's node (``apply``'s
    # ``like``), so a wrong copy shows here.
    node = out.grad_fn
    assert node.shape == np.shape(out.data)
    assert node.dtype == out.data.dtype
    # A node marked plain hands its inputs to the numpy rules unconverted: no tensor there.
    if node.plain:
        assert not any(isinstance(x, ag.Tensor) for x in node.inputs)
    kept = _record.record_of(node).value
    assert (kept is not None) == (np.size(out.data) <= summary_size)


@pytest.mark.parametrize("op", OPS, ids=lambda op: op.name)
@given(data=st.data())
def test_node_describes_its_output(op, data):
    args, kwargs = data.draw(op_inputs(op), label="inputs")
    if data.draw(st.booleans(), label="float32"):
        args = tuple(_float32(a) for a in args)
    # drawn outputs are small: a smaller limit makes some of them too big to keep
    limit = data.draw(st.sampled_from([SUMMARY_SIZE, 3, 0]), label="summary size")
    with mock.patch.object(_record, "SUMMARY_SIZE", limit):
        for inputs in (args, tuple(_made_by_an_op(a) for a in args)):  # leaves, then nodes
            _assert_node_describes(op.fn(*inputs, **kwargs), limit)


@pytest.mark.parametrize("name", ["add", "sub", "mul", "div", "pow", "maximum", "minimum"])
@given(shape=hnp.array_shapes(min_dims=0, max_dims=3, max_side=9),
       dtype=st.sampled_from([np.float16, np.float32, np.float64]),
       number=st.sampled_from([0.5, 2.0, 3, -1.5]))
def test_node_of_tensor_op_number_describes_its_output(name, shape, dtype, number):
    x = ag.Tensor(np.full(shape, 1.5, dtype), requires_grad=True)
    for a in (x, ag.reshape(x, shape)):
        _assert_node_describes(getattr(ag, name)(a, number))


@pytest.mark.parametrize("name", ["add", "sub", "mul", "div", "pow", "maximum", "minimum"])
def test_node_of_0d_operands_of_two_float_dtypes_describes_its_output(name):
    # float32 with float64 promotes: the output's dtype is neither input node's alone
    a = ag.reshape(ag.Tensor(np.array(1.5, np.float32), requires_grad=True), ())
    b = ag.reshape(ag.Tensor(np.array(2.0), requires_grad=True), ())
    for x, y in ((a, b), (b, a)):
        _assert_node_describes(getattr(ag, name)(x, y))


# -- the checks above are sensitive: a wrong rule for any op fails them ------------------

def _wrong(F, g, good, x, second_order):
    """``good`` off in its value (first order), or with the right value and a wrong
    derivative (with respect to ``x``, or to the incoming gradient ``g`` when the op
    keeps no value of ``x``: gradgradcheck checks that derivative too)."""
    if not second_order:
        return good + 0.01
    if isinstance(x, ag.Node):
        x = F.sum(g)
    return good + 0.01 * (x - F.raw(x))


class _Mutant:
    """Rules of an op, each off in its value (first order) or its derivative only."""

    def __init__(self, rules, second_order: bool):
        self.rules, self.second_order = rules, second_order

    def __getitem__(self, i):
        rule = self.rules[i]
        if rule is None:
            return None

        def wrong(F, g, y, *xs, **kw):
            x = [a for a in xs if not isinstance(a, str)][i]
            return _wrong(F, g, rule(F, g, y, *xs, **kw), x, self.second_order)

        return wrong

    def __len__(self):
        return len(self.rules)


def _mutated(monkeypatch, op, second_order):
    if op.joint is not None:  # one rule for every input: each of its gradients is off
        joint = op.joint

        def wrong(F, g, y, *xs, **kw):
            return [gi if gi is None else _wrong(F, g, gi, x, second_order)
                    for gi, x in zip(joint(F, g, y, *xs, **kw), xs)]

        monkeypatch.setattr(op, "joint", wrong)
    else:
        monkeypatch.setattr(op, "vjps", _Mutant(op.vjps, second_order))


@pytest.mark.parametrize("op", OPS, ids=lambda op: op.name)
def test_wrong_first_derivative_is_caught(op, monkeypatch):
    args, kwargs = _fixed_example(op)
    fn, inputs = flat_call(op, args, kwargs)
    _mutated(monkeypatch, op, second_order=False)
    with pytest.raises(GradcheckError):
        ag.gradcheck(fn, inputs)


def _fixed_example(op):
    """One deterministic draw of the op's inputs (hypothesis' minimal example is too
    degenerate here: all zeros, so find a draw with nonzero values)."""
    from hypothesis import find, settings

    return find(op_inputs(op), lambda ai: _nonzero(ai[0]),
                settings=settings(database=None, derandomize=True, max_examples=500))


def _nonzero(args):
    for a in args:
        for x in (a if isinstance(a, list) else [a]):
            if isinstance(x, ag.Tensor) and x.requires_grad and x.size >= 2 and \
                    np.all(np.abs(x.data) > 0.2):
                return True
    return False


@pytest.mark.parametrize("op", SECOND_ORDER, ids=lambda op: op.name)
def test_wrong_second_derivative_is_caught(op, monkeypatch):
    args, kwargs = _fixed_example(op)
    fn, inputs = flat_call(op, args, kwargs)
    _mutated(monkeypatch, op, second_order=True)
    ag.gradcheck(fn, inputs)  # first derivatives still right
    with pytest.raises(GradcheckError):
        ag.gradgradcheck(fn, inputs)


def test_readme_lists_exactly_the_registered_ops():
    # The README's op list is the one place docs repeat the registry: keep them equal.
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    start = readme.index("- Ops (the registry")
    listed = readme[readme.index("`", start) + 1: readme.index("`;", start)].split()
    assert sorted(listed) == sorted(REGISTRY)
    assert f"(the registry, {len(REGISTRY)})" in readme

"""PyTorch habits, written as a PyTorch user writes them: each runs and gives PyTorch's
numbers (computed here by hand or with numpy), or refuses with PyTorch's reason."""

from __future__ import annotations

import threading
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd as ag
import nn
from autograd.registry import REGISTRY
from autograd.testing import concurrently

# -- the manual training step ------------------------------------------------------------


def _quadratic_steps(update, steps=3, lr=0.1):
    """Minimise sum(w^2 * c) with a hand-written update; returns w after ``steps``."""
    c = np.array([1.0, 2.0, 3.0])
    w = ag.tensor([1.0, -1.0, 0.5], requires_grad=True)
    first = w
    for _ in range(steps):
        loss = (w * w * c).sum()
        loss.backward()
        update(w, lr)
        w.grad = None
    assert w is first and w.requires_grad and w.is_leaf
    return w


def _expected(steps=3, lr=0.1):
    w, c = np.array([1.0, -1.0, 0.5]), np.array([1.0, 2.0, 3.0])
    for _ in range(steps):
        w = w - lr * 2 * c * w
    return w


def _isub(w, lr):
    with ag.no_grad():
        w -= lr * w.grad


def _sub_(w, lr):
    with ag.no_grad():
        w.sub_(w.grad, alpha=lr)


def _add_(w, lr):
    with ag.no_grad():
        w.add_(w.grad, alpha=-lr)


def _data_isub(w, lr):
    w.data -= lr * w.grad


def _data_assign_tensor(w, lr):
    w.data = w - lr * w.grad  # a Tensor assigned to .data


def _data_numpy(w, lr):
    w.data -= lr * w.grad.data


@pytest.mark.parametrize("update", [_isub, _sub_, _add_, _data_isub, _data_assign_tensor,
                                    _data_numpy])
def test_manual_sgd_step_habits_update_the_same_leaf(update):
    w = _quadratic_steps(update)
    np.testing.assert_allclose(w.data, _expected(), rtol=1e-14)
    assert type(w.data) is np.ndarray


@pytest.mark.parametrize("op", ["+=", "-=", "*=", "/=", "add_", "sub_", "mul_", "div_",
                                "zero_", "fill_", "copy_", "clamp_"])
def test_in_place_on_a_leaf_that_requires_grad_is_refused_outside_no_grad(op):
    w = ag.tensor([1.0, 2.0], requires_grad=True)
    before = w.data.copy()
    calls = {"+=": lambda: w.__iadd__(1.0), "-=": lambda: w.__isub__(1.0),
             "*=": lambda: w.__imul__(2.0), "/=": lambda: w.__itruediv__(2.0),
             "add_": lambda: w.add_(1.0), "sub_": lambda: w.sub_(1.0),
             "mul_": lambda: w.mul_(2.0), "div_": lambda: w.div_(2.0),
             "zero_": w.zero_, "fill_": lambda: w.fill_(3.0),
             "copy_": lambda: w.copy_(np.zeros(2)), "clamp_": lambda: w.clamp_(0.0, 1.0)}
    with pytest.raises(RuntimeError, match="leaf tensor that requires grad.*no_grad"):
        calls[op]()
    np.testing.assert_array_equal(w.data, before)  # nothing half-done
    with ag.no_grad():
        calls[op]()  # the same call is an update inside no_grad
    assert w.requires_grad and w.is_leaf and w._version == 1


def test_in_place_ops_give_numpy_results_and_keep_dtype():
    x = ag.tensor(np.array([1.0, 4.0, -2.0], np.float32))
    x += 1
    x *= ag.tensor([2.0, 0.5, 1.0])  # a float64 operand: x stays float32, as in PyTorch
    x.div_(2.0)
    x.clamp_(min=0.0)
    assert x.dtype == np.float32
    np.testing.assert_allclose(x.data, [2.0, 1.25, 0.0])
    x.copy_([7, 8, 9])
    np.testing.assert_array_equal(x.data, [7, 8, 9])
    i = ag.tensor([1, 2])
    with pytest.raises(TypeError, match="add_: cannot update a tensor .* int64"):
        i += 0.5  # an integer tensor cannot hold floats (PyTorch: result type error)
    with pytest.raises(ValueError, match="mul_: cannot update .* shape \\(2,\\)"):
        ag.tensor([1.0, 2.0]).mul_(np.ones((3, 2)))  # would broadcast the tensor up


def test_grad_zero_keeps_the_gradient_tensor_and_backward_accumulates_into_it():
    w = ag.tensor([1.0, 2.0], requires_grad=True)
    (w * w).sum().backward()
    g = w.grad
    g.zero_()
    (w * 3.0).sum().backward()
    assert w.grad is g  # PyTorch accumulates in place into an existing .grad
    np.testing.assert_array_equal(g.data, [3.0, 3.0])
    model = nn.Linear(2, 1, rng=0)
    opt = nn.optim.SGD(model.parameters(), lr=0.1)
    model(np.ones((1, 2))).sum().backward()
    grads = [p.grad for p in model.parameters()]
    opt.zero_grad(set_to_none=False)
    assert [p.grad for p in model.parameters()] == grads
    assert all(np.all(p.grad.data == 0) for p in model.parameters())
    opt.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_recorded_in_place_on_intermediates_matches_the_out_of_place_gradient():
    def f(x, w, in_place):
        h = x * 2.0
        if in_place:
            h += 1.0
            h *= w  # w's gradient needs the old h: the op must see it, not the new one
        else:
            h = (h + 1.0) * w
        return (h * h).sum()

    xv, wv = np.array([0.3, -0.2]), np.array([1.5, 0.5])
    grads = []
    for in_place in (False, True):
        x = ag.tensor(xv, requires_grad=True)
        w = ag.tensor(wv, requires_grad=True)
        f(x, w, in_place).backward()
        grads.append((x.grad.data, w.grad.data))
    h = 2 * xv + 1
    np.testing.assert_allclose(grads[0][1], 2 * h * h * wv)
    np.testing.assert_allclose(grads[0][0], 2 * h * wv * wv * 2)
    for a, b in zip(*grads):
        np.testing.assert_allclose(a, b, rtol=1e-14)


# -- version counters ---------------------------------------------------------------------


def test_an_optimizer_step_between_forward_and_a_retained_backward_is_an_error():
    model = nn.Sequential(nn.Linear(3, 4, rng=0), nn.Tanh(), nn.Linear(4, 1, rng=1))
    opt = nn.optim.SGD(model.parameters(), lr=0.1)
    loss = (model(np.ones((2, 3))) ** 2).sum()
    loss.backward(retain_graph=True)
    opt.step()  # the second layer's weight is read by the gradient of its input
    with pytest.raises(RuntimeError, match=r"'linear'.*changed in place.*version 1.*"
                                           r"saved version 0"):
        loss.backward()


def test_a_step_on_values_no_rule_reads_is_fine_as_in_pytorch():
    # One layer on constant inputs: W's gradient reads x, not W; w * c's reads c.
    x = np.array([[1.0, 2.0, 3.0]])
    model = nn.Linear(3, 1, rng=0)
    w = ag.tensor([1.0, 2.0], requires_grad=True)
    c = np.array([3.0, 4.0])
    opt = nn.optim.SGD([*model.parameters(), w], lr=0.1)
    loss = model(x).sum() + (w * c).sum()
    loss.backward(retain_graph=True)
    opt.step()
    opt.zero_grad()
    loss.backward()
    np.testing.assert_array_equal(model.weight.grad.data, x)
    np.testing.assert_array_equal(w.grad.data, c)


def test_changing_a_saved_output_or_an_alias_in_place_is_an_error():
    x = ag.tensor([0.1, 0.2], requires_grad=True)
    y = ag.exp(x)  # exp's rule reads its output
    loss = y.sum()
    with ag.no_grad():
        y += 1.0
    with pytest.raises(RuntimeError, match="'exp': its output .* changed in place"):
        loss.backward()
    for make_alias in (lambda t: t.detach(), lambda t: t.reshape(2), lambda t: t[:]):
        w = ag.tensor([1.0, 2.0], requires_grad=True)
        loss = (w * w).sum()
        alias = make_alias(w)
        with ag.no_grad():
            alias.mul_(2.0)  # changes w's values too
        with pytest.raises(RuntimeError, match="'mul'.*changed in place.*version 1"):
            loss.backward()


def test_changes_that_no_rule_reads_are_fine():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    c = ag.tensor([5.0, 6.0])
    loss = ((x + c) ** 2).sum()  # add reads neither input
    c += 1.0
    loss.backward()
    np.testing.assert_array_equal(x.grad.data, 2 * (np.array([1.0, 2.0]) + [5.0, 6.0]))


def _program(draw):
    """A random program on two leaves: a list of (op, operand indices/constant)."""
    steps = []
    for k in range(draw(st.integers(1, 6))):
        n = 2 + k
        kind = draw(st.sampled_from(["mul", "add", "tanh", "exp", "scale", "shift"]))
        i, j = draw(st.integers(0, n - 1)), draw(st.integers(0, n - 1))
        steps.append((kind, i, j, draw(st.sampled_from([0.5, -1.5, 2.0]))))
    return steps


_STEPS = {"mul": lambda x, y, c: x * y, "add": lambda x, y, c: x + y,
          "tanh": lambda x, y, c: ag.tanh(x), "exp": lambda x, y, c: ag.exp(ag.tanh(x)),
          "scale": lambda x, y, c: x * c, "shift": lambda x, y, c: x + c}


def _run(program, a, b, changes=()):
    vals = [a, b]
    for kind, i, j, c in program:
        vals.append(_STEPS[kind](vals[i], vals[j], c))
    loss = (vals[-1] * vals[-1]).sum()
    with ag.no_grad():
        for idx, how, c in changes:
            t = vals[idx]
            {"add": t.add_, "mul": t.mul_, "fill": t.fill_}[how](c)
    return loss


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_random_programs_with_in_place_changes_give_the_true_gradient_or_the_error(data):
    program = _program(data.draw)
    n_values = 2 + len(program)
    changes = data.draw(st.lists(st.tuples(st.integers(0, n_values - 1),
                                           st.sampled_from(["add", "mul", "fill"]),
                                           st.sampled_from([0.25, 3.0])), max_size=2))
    av, bv = np.array([0.3, -0.4]), np.array([0.7, 0.2])
    a = ag.tensor(av.copy(), requires_grad=True)
    b = ag.tensor(bv.copy(), requires_grad=True)
    loss = _run(program, a, b, changes)
    a0 = ag.tensor(av, requires_grad=True)  # the values before any change
    b0 = ag.tensor(bv, requires_grad=True)
    _run(program, a0, b0).backward()  # the same program from scratch, nothing changed
    try:
        loss.backward()
    except RuntimeError as e:
        assert "changed in place" in str(e) and "version" in str(e)
        return
    for leaf, fresh in ((a, a0), (b, b0)):
        if fresh.grad is None:
            assert leaf.grad is None
        else:
            np.testing.assert_allclose(leaf.grad.data, fresh.grad.data, rtol=1e-12)


# -- numpy functions on tensors -----------------------------------------------------------


def test_numpy_functions_on_tensors_record_the_registered_op():
    x = ag.tensor([0.5, 1.0, 2.0], requires_grad=True)
    y = np.sum(np.exp(x) * np.array([1.0, 2.0, 3.0]) + np.maximum(x, 1.0), axis=0)
    assert isinstance(y, ag.Tensor) and y.requires_grad
    y.backward()
    np.testing.assert_allclose(x.grad.data, np.exp(x.data) * [1, 2, 3] + [0, 0.5, 1])
    z = np.ones(3) * x  # ndarray on the left
    assert isinstance(z, ag.Tensor) and z.requires_grad
    s = np.concatenate([x, x]).mean()
    assert s.grad_fn is not None


def test_numpy_functions_without_an_op_refuse_instead_of_dropping_the_gradient():
    x = ag.tensor([0.5, 1.0], requires_grad=True)
    with pytest.raises(TypeError, match=r"np\.sin .*no registered op.*np\.asarray"):
        np.sin(x)
    with pytest.raises(TypeError, match=r"np\.cumsum .*no registered op"):
        np.cumsum(x)
    with pytest.raises(TypeError, match="out=a tensor"):
        np.add(x, 1.0, out=ag.zeros(2))  # writing into a tensor behind the graph's back
    with pytest.raises(TypeError, match="np.copyto .*writes into a tensor"):
        np.copyto(x * 1.0, np.zeros(2))
    # into a plain array: the result leaves the graph, explicitly (w.data -= ... too)
    assert isinstance(np.add(x, 1.0, out=np.zeros(2)), np.ndarray)
    # leaving the graph on purpose, or with nothing to record, is fine
    np.testing.assert_allclose(np.sin(np.asarray(x)), np.sin([0.5, 1.0]))
    with ag.no_grad():
        assert not np.sin(x).requires_grad
    assert np.argmax(x) == 1 and np.shape(x) == (2,) and np.all(np.isfinite(x).data)
    assert bool(np.array_equal(x, [0.5, 1.0]))


# -- grad mode and anomaly mode per thread -----------------------------------------------


def test_no_grad_in_one_thread_leaves_another_recording():
    entered, done = threading.Event(), threading.Event()
    seen = {}

    def quiet():
        with ag.no_grad():
            entered.set()
            done.wait(5)

    t = threading.Thread(target=quiet)
    t.start()
    entered.wait(5)
    x = ag.tensor([1.0], requires_grad=True)
    seen["records"] = (x * 2.0).requires_grad
    seen["enabled"] = ag.is_grad_enabled()
    done.set()
    t.join()
    assert seen == {"records": True, "enabled": True}
    assert ag.mode.changed[0] == 0


def _train(seed, steps=30):
    rng = np.random.default_rng(seed)
    x, y = rng.standard_normal((16, 3)), rng.standard_normal((16, 1))
    w = ag.tensor(rng.standard_normal((3, 1)), requires_grad=True)
    for _ in range(steps):
        loss = ((ag.tensor(x) @ w - y) ** 2).mean()
        loss.backward(create_graph=seed % 2 == 1)  # one thread records its backward
        with ag.no_grad():
            w -= 0.05 * w.grad.detach()
        w.grad = None
    return w.data


def test_threads_training_separate_models_concurrently_get_their_own_results():
    expected = [_train(s) for s in range(4)]
    got = concurrently(_train, [(s,) for s in range(4)])
    for a, b in zip(got, expected):
        np.testing.assert_array_equal(a, b)
    assert ag.is_grad_enabled() and not ag.is_anomaly_enabled() and ag.mode.changed[0] == 0


# -- your own op ---------------------------------------------------------------------------


class Cube(ag.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * 3.0 * x * x


class ScaledAdd(ag.Function):
    @staticmethod
    def forward(ctx, a, b, alpha):
        ctx.alpha = alpha
        return a + alpha * b

    @staticmethod
    def backward(ctx, g):
        assert ctx.needs_input_grad == (True, False, False)
        return g, None, None


def test_function_is_differentiable_twice_and_passes_gradcheck():
    x = ag.tensor([0.5, -1.0, 2.0], requires_grad=True)
    y = Cube.apply(x)
    assert y.grad_fn.op.name == "Cube"
    (g,) = ag.grad(y.sum(), x, create_graph=True)
    np.testing.assert_allclose(g.data, 3 * x.data ** 2)
    (h,) = ag.grad(g.sum(), x)
    np.testing.assert_allclose(h.data, 6 * x.data)
    assert ag.gradcheck(Cube.apply, [x]) and ag.gradgradcheck(Cube.apply, [x])
    a = ag.tensor([1.0, 2.0], requires_grad=True)
    out = ScaledAdd.apply(a, ag.tensor([3.0, 4.0]), 0.5)
    out.sum().backward()
    np.testing.assert_array_equal(a.grad.data, [1.0, 1.0])


def test_function_errors_name_the_function():
    class Wrong(ag.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2.0

        @staticmethod
        def backward(ctx, g):
            return ag.tensor(np.ones(7))

    class Two(ag.Function):
        @staticmethod
        def forward(ctx, x):
            return x, x

    x = ag.tensor([1.0, 2.0, 3.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"Wrong: .*input 0 .*\(7,\).*\(3,\)"):
        Wrong.apply(x).sum().backward()
    with pytest.raises(TypeError, match="Two.forward returned 2 values"):
        Two.apply(x)
    y = Cube.apply(x)
    with ag.no_grad():
        x.mul_(2.0)
    with pytest.raises(RuntimeError, match="'Cube': saved tensor 0 .*version 1"):
        y.sum().backward()


@pytest.fixture
def scratch_op():
    yield "scaled_tanh_scratch"
    REGISTRY.pop("scaled_tanh_scratch", None)


def test_defop_is_public_and_redefining_replaces_with_a_warning(scratch_op):
    from autograd.tensor import apply

    def define(k):
        @ag.defop(lambda F, g, y, x: g * k * (1 - y * y / (k * k)), name=scratch_op)
        def scaled_tanh(x):
            x = ag.tensor(x) if not isinstance(x, ag.Tensor) else x
            return apply(scaled_tanh.op, (x,), k * np.tanh(x.data))

        return scaled_tanh

    define(2.0)
    with pytest.warns(UserWarning, match="replaces it"):
        f = define(3.0)
    assert REGISTRY[scratch_op].fn is f
    x = ag.tensor([0.1, -0.4], requires_grad=True)
    assert ag.gradcheck(f, [x]) and ag.gradgradcheck(f, [x])


# -- PyTorch's names -----------------------------------------------------------------------


def test_dim_and_keepdim_where_axis_and_keepdims_are_taken():
    a = np.arange(6.0).reshape(2, 3)
    x = ag.tensor(a, requires_grad=True)
    np.testing.assert_array_equal(x.sum(dim=1).data, a.sum(1))
    assert x.mean(dim=0, keepdim=True).shape == (1, 3)
    np.testing.assert_allclose(x.softmax(dim=-1).data.sum(1), [1.0, 1.0])
    np.testing.assert_allclose(x.log_softmax(dim=0).data, a - np.log(np.exp(a).sum(0)))
    np.testing.assert_allclose(x.logsumexp(dim=1).data, np.log(np.exp(a).sum(1)))
    values, indices = x.max(dim=1)
    np.testing.assert_array_equal(values.data, [2.0, 5.0])
    np.testing.assert_array_equal(indices.data, [2, 2])
    assert values.requires_grad and not indices.requires_grad
    m = ag.min(x, dim=0, keepdim=True)
    assert m.values.shape == (1, 3) and m.indices.data.tolist() == [[0, 0, 0]]
    assert x.max(1).shape == (2,)  # positional: numpy's axis, values only
    assert x.argmax().item() == 5 and x.argmin(dim=1).data.tolist() == [0, 0]
    with pytest.raises(TypeError, match="axis= .* or dim="):
        x.sum(axis=0, dim=1)


def test_factories_methods_and_conversions():
    g = ag.manual_seed(3)
    assert isinstance(g, ag.Generator)
    r1 = ag.randn(2, 3)
    ag.manual_seed(3)
    np.testing.assert_array_equal(ag.randn((2, 3)).data, r1.data)
    gen = ag.Generator().manual_seed(7)
    assert ag.rand(4, generator=gen).shape == (4,)
    assert ag.zeros(2, 3).dtype == np.float64 and ag.ones(2, dtype=np.float32).dtype == np.float32
    assert ag.full((2,), 1.5).data.tolist() == [1.5, 1.5]
    assert ag.arange(3).data.tolist() == [0, 1, 2] and ag.arange(3).dtype.kind == "i"
    assert ag.linspace(0, 1, 3).data.tolist() == [0.0, 0.5, 1.0]
    assert np.array_equal(ag.eye(2).data, np.eye(2))
    r = ag.randint(0, 5, (100,), generator=gen)
    assert r.dtype == np.int64 and 0 <= r.data.min() and r.data.max() < 5
    t = ag.zeros_like(r1, requires_grad=True)
    assert t.requires_grad and ag.ones_like(r1).data.sum() == 6 and ag.empty(2).shape == (2,)
    assert ag.full_like(r1, 2.0).data.max() == 2.0
    arr = np.zeros(2)
    ag.from_numpy(arr).fill_(1.0)
    assert arr.tolist() == [1.0, 1.0]  # shares memory
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    f32 = x.float()
    assert f32.dtype == np.float32 and x.double() is not x and x.to("cpu") is x
    (f32.to(np.float64) * ag.tensor([3.0, 4.0])).sum().backward()
    assert x.grad.dtype == np.float64 and x.grad.data.tolist() == [3.0, 4.0]
    c = x.clone()
    c.retain_grad()
    (c * c).sum().backward()
    assert c.grad.data.tolist() == [2.0, 4.0]
    with pytest.raises(ValueError, match="cuda"):
        x.to("cuda")


def test_0d_tensors_have_no_length_and_no_iteration():
    s = ag.tensor(1.0)
    with pytest.raises(TypeError, match="len"):
        len(s)
    with pytest.raises(TypeError, match="iteration over a 0-d tensor"):
        iter(s)
    assert [t.item() for t in ag.tensor([1.0, 2.0])] == [1.0, 2.0]


def test_nll_loss_after_log_softmax_is_cross_entropy_and_clipping_matches_pytorch():
    rng = np.random.default_rng(0)
    z = ag.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    y = np.array([0, 2, 1, 2])
    nll = nn.NLLLoss()(nn.LogSoftmax(dim=1)(z), y)
    ce = nn.CrossEntropyLoss()(z, y)
    assert nll.item() == pytest.approx(ce.item(), rel=1e-14)
    (g_nll,) = ag.grad(nll, z)
    (g_ce,) = ag.grad(ce, z)
    np.testing.assert_allclose(g_nll.data, g_ce.data, rtol=1e-12, atol=1e-15)
    a = ag.tensor([3.0, 4.0], requires_grad=True)
    b = ag.tensor([12.0], requires_grad=True)
    (a.sum() * 1.0 + b.sum()).backward()  # grads 1, 1, 1
    a.grad, b.grad = ag.tensor([3.0, 4.0]), ag.tensor([12.0])  # total norm 13
    norm = nn.utils.clip_grad_norm_([a, b], max_norm=1.3)
    assert norm.item() == pytest.approx(13.0)
    np.testing.assert_allclose(a.grad.data, [0.3, 0.4], rtol=1e-6)
    nn.utils.clip_grad_value_([a, b], 0.35)
    np.testing.assert_allclose(a.grad.data, [0.3, 0.35], rtol=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nn.utils.clip_grad_norm_(a, 10.0)  # a single tensor, as PyTorch takes

"""backward(), grad(), higher order, grad modes, graph release, anomaly detection."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest
from hypothesis import given

import autograd as ag
from autograd.testing import arrays, shapes
from autograd.viz._record import record_of


def test_gradients_accumulate_across_backward_calls():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    (x * 3.0).sum().backward()
    (x * x).sum().backward()
    assert np.array_equal(x.grad.data, [3.0 + 2.0, 3.0 + 4.0])


def test_non_scalar_backward_needs_gradient():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2.0
    with pytest.raises(RuntimeError, match=r"only for a scalar output.*shape \(2,\)"):
        y.backward()
    y.backward(gradient=np.array([1.0, 10.0]))
    assert np.array_equal(x.grad.data, [2.0, 20.0])


def test_second_backward_through_freed_graph_says_retain_graph():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    y = (x.tanh() * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()


def test_retain_graph_allows_a_second_backward():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    y = (x.tanh() * x).sum()
    y.backward(retain_graph=True)
    first = x.grad.data.copy()
    y.backward()
    assert np.allclose(x.grad.data, 2 * first)


def test_backward_without_graph_is_an_error():
    with pytest.raises(RuntimeError, match="does not require grad"):
        ag.tensor([1.0]).sum().backward()


def test_grad_returns_without_touching_dot_grad():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    h = x * x
    y = h.sum()
    gx, gh = ag.grad(y, [x, h])
    assert x.grad is None
    assert np.array_equal(gx.data, [2.0, 4.0]) and np.array_equal(gh.data, [1.0, 1.0])


def test_grad_unused_input():
    x = ag.tensor([1.0], requires_grad=True)
    z = ag.tensor([1.0], requires_grad=True)
    y = (x * 2.0).sum()
    with pytest.raises(RuntimeError, match="allow_unused=True"):
        ag.grad(y, [x, z], retain_graph=True)
    gx, gz = ag.grad(y, [x, z], allow_unused=True)
    assert gz is None and gx.item() == 2.0


def test_hessian_vector_product_of_a_quadratic():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((4, 4))
    A = A + A.T
    x = ag.tensor(rng.standard_normal(4), requires_grad=True)
    v = rng.standard_normal(4)
    f = 0.5 * (x @ (ag.tensor(A) @ x))
    (g,) = ag.grad(f, x, create_graph=True)
    (hv,) = ag.grad((g * v).sum(), x)
    assert np.allclose(hv.data, A @ v)


def test_third_derivative_of_tanh():
    x = ag.tensor(0.3, requires_grad=True)
    y = x.tanh()
    (d1,) = ag.grad(y, x, create_graph=True)
    (d2,) = ag.grad(d1, x, create_graph=True)
    (d3,) = ag.grad(d2, x)
    t = np.tanh(0.3)
    assert np.isclose(d1.item(), 1 - t**2)
    assert np.isclose(d2.item(), -2 * t * (1 - t**2))
    assert np.isclose(d3.item(), -2 * (1 - t**2) ** 2 + 4 * t**2 * (1 - t**2))


def test_backward_create_graph_gives_differentiable_grads():
    x = ag.tensor([0.5, -0.3], requires_grad=True)
    (x.sigmoid().sum()).backward(create_graph=True)
    assert x.grad.requires_grad
    (hx,) = ag.grad(x.grad.sum(), x)
    s = 1 / (1 + np.exp(-x.data))
    assert np.allclose(hx.data, s * (1 - s) * (1 - 2 * s))


def test_no_grad_and_enable_grad_as_context_and_decorator():
    x = ag.tensor([1.0], requires_grad=True)
    with ag.no_grad():
        assert not (x * 2.0).requires_grad
        with ag.enable_grad():
            assert (x * 2.0).requires_grad

    @ag.no_grad()
    def f(t):
        return t * 2.0

    assert not f(x).requires_grad and ag.is_grad_enabled()


def test_million_op_chain_backpropagates_without_recursion():
    # In a process of its own, as a user without pictures runs it: this test session has
    # imported autograd.viz, whose observers would record every one of the million nodes.
    import subprocess
    import sys

    code = (
        "import numpy as np, sys, autograd as ag\n"
        "x = ag.tensor([0.5], requires_grad=True)\n"
        "y = x\n"
        "for _ in range(1_000_000):\n"
        "    y = y * 1.0000001\n"
        "y.sum().backward()\n"
        "assert 'autograd.viz' not in sys.modules\n"
        "assert np.isclose(x.grad.item(), 1.0000001 ** 1_000_000), x.grad\n"
        "print('ok')\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]


def test_graph_memory_is_released_after_backward():
    x = ag.tensor(np.ones(1000), requires_grad=True)
    h = x.tanh()
    alive = weakref.ref(h)
    loss = (h * h).sum()  # mul's rules read h (h * 2.0 would keep only the 2.0)
    del h
    assert alive() is not None  # the graph holds it until backward
    loss.backward()
    gc.collect()
    assert alive() is None


def test_retained_graph_keeps_intermediates():
    x = ag.tensor(np.ones(3), requires_grad=True)
    h = x.tanh()
    alive = weakref.ref(h)
    loss = (h * h).sum()
    del h
    loss.backward(retain_graph=True)
    assert alive() is not None


def test_topological_order_puts_inputs_first():
    x = ag.tensor([1.0], requires_grad=True)
    a = x * 2.0
    b = a.tanh() + a
    order = ag.topological_order([b])
    assert [n.op.name for n in order] == ["mul", "tanh", "add"]
    pos = {id(n): i for i, n in enumerate(order)}
    for n in order:
        for p in n.inputs:
            p_node = p if isinstance(p, ag.Node) else getattr(p, "grad_fn", None)
            if p_node is not None:
                assert pos[id(p_node)] < pos[id(n)]


def test_nodes_keep_only_what_their_rules_read():
    # add reads no input values and tanh reads only its output, so an intermediate that
    # feeds them is freed as soon as the forward pass moves on (as PyTorch's saved tensors)
    x = ag.tensor(np.ones(1000), requires_grad=True)
    h = x * 3.0
    alive = weakref.ref(h)
    y = (h + 1.0).tanh()
    del h
    gc.collect()
    assert alive() is None
    y.sum().backward()
    assert np.allclose(x.grad.data, 3.0 * (1 - np.tanh(4.0) ** 2))


def test_detect_anomaly_names_op_and_line_in_forward():
    x = ag.tensor([-1.0, 1.0], requires_grad=True)
    with ag.detect_anomaly(), pytest.raises(FloatingPointError) as err:
        with np.errstate(invalid="ignore"):
            ag.sqrt(x)
    assert "'sqrt'" in str(err.value) and "test_engine.py" in str(err.value)


def test_detect_anomaly_names_op_in_backward():
    x = ag.tensor([0.0, 1.0], requires_grad=True)
    with ag.detect_anomaly():
        y = ag.sqrt(x).sum()  # finite forward, infinite derivative at 0
        with pytest.raises(FloatingPointError, match="backward of op 'sqrt'") as err, \
                np.errstate(divide="ignore"):
            y.backward()
    assert "test_engine.py" in str(err.value)


@pytest.mark.parametrize("create_graph", [False, True])
def test_detect_anomaly_blames_the_op_being_differentiated(create_graph):
    x = ag.tensor([0.0, 1.0], requires_grad=True)
    with ag.detect_anomaly(), np.errstate(divide="ignore", invalid="ignore"):
        y = ag.sqrt(x).sum()
        with pytest.raises(FloatingPointError, match="backward of op 'sqrt'"):
            ag.grad(y, x, create_graph=create_graph)
    assert not ag.mode.state.anomaly  # restored on the way out


@given(arrays(shapes(min_dims=1, max_dims=2)))
def test_backward_matches_grad(a):
    x = ag.tensor(a, requires_grad=True)
    y = (x.tanh() * x).sum()
    (g,) = ag.grad(y, x, retain_graph=True)
    y.backward()
    assert np.allclose(g.data, x.grad.data)


def test_a_backward_stopped_by_an_error_leaves_no_gradient_behind():
    # Gradients wait on their nodes during the pass; an error must not leave one there
    # for the next pass to add to. h's node is created first, so it is still waiting when
    # sqrt's backward (infinite at 0) stops the pass.
    x = ag.Tensor([0.0, 1.0], requires_grad=True)
    w = ag.Tensor([2.0, 3.0], requires_grad=True)
    h = w * 3.0
    loss = (h + x.sqrt()).sum()
    with ag.detect_anomaly(), np.errstate(divide="ignore"), \
            pytest.raises(FloatingPointError, match="sqrt"):
        loss.backward(retain_graph=True)
    with np.errstate(divide="ignore"):  # the second pass meets the same infinity
        (gw,) = ag.grad(loss, [w])
    np.testing.assert_array_equal(gw.data, [3.0, 3.0])


_BINARY = {"add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
           "div": lambda a, b: a / b, "pow": lambda a, b: a ** b}
_CONSTANTS = {
    "float": lambda: 1.5,
    "0-d array": lambda: np.array(1.5),
    "array that broadcasts x up": lambda: np.linspace(0.5, 2.0, 6).reshape(2, 3),
    "tensor without grad": lambda: ag.tensor(np.linspace(0.5, 2.0, 6).reshape(2, 3)),
}


@pytest.mark.parametrize("name", sorted(_BINARY))
@pytest.mark.parametrize("side", [0, 1])
@pytest.mark.parametrize("kind", sorted(_CONSTANTS))
@pytest.mark.parametrize("made_by_an_op", [False, True])
def test_an_op_with_one_differentiable_input_matches_the_general_path(name, side, kind,
                                                                     made_by_an_op):
    # With one input needing a gradient the engine takes a shorter path than with two;
    # both must give the same gradient, undo broadcasting, and keep a constant tensor in
    # the skeleton that pictures draw. An input made by an op has a node, whose shape
    # tensor <op> number shares (and the engine then skips its shape check).
    f = _BINARY[name]
    xv = np.array([0.5, 1.25, 2.0])
    c = _CONSTANTS[kind]()
    cv = c.data if isinstance(c, ag.Tensor) else np.asarray(c, dtype=np.float64)

    def run(const):
        x = ag.tensor(xv, requires_grad=True)
        xin = ag.reshape(x, xv.shape) if made_by_an_op else x
        y = f(xin, const) if side == 0 else f(const, xin)
        y.sum().backward()
        return x, y

    x, y = run(c)
    assert y.grad_fn.needs == (side,)
    x_ref, _ = run(ag.tensor(cv, requires_grad=True))  # both inputs need a gradient
    assert x.grad.shape == xv.shape
    np.testing.assert_allclose(x.grad.data, x_ref.grad.data, rtol=1e-12)
    drawn = [p for p in record_of(y.grad_fn).parents
             if isinstance(p, ag.Tensor) and not p.requires_grad]
    assert drawn == ([c] if isinstance(c, ag.Tensor) else [])


@pytest.mark.parametrize("name", sorted(_BINARY))
@pytest.mark.parametrize("side", [0, 1])
def test_one_differentiable_input_path_is_twice_differentiable(name, side):
    f = _BINARY[name]

    def fn(x):
        return f(x, 1.5) if side == 0 else f(1.5, x)

    x = ag.tensor([0.5, 1.25, 2.0], requires_grad=True)
    assert ag.gradgradcheck(fn, [x])


def test_broadcasting_is_undone_for_a_0d_input_of_a_0d_output():
    # The engine skips its shape check where an output shares its input's shape tuple
    # (apply's ``like``); the empty tuple is shared by every 0-d shape, so it must not
    # count. An unregistered op, sum(x * c), whose rule leaves the sum to the engine.
    from autograd.registry import OpDef
    from autograd.tensor import apply

    c = np.array([1.0, 2.0, 4.0])
    op = OpDef("sum_times_c", lambda *a: a[0], (lambda F, g, y, x, c: g * c, None))
    for leaf in (True, False):
        x = ag.tensor(0.5, requires_grad=True)
        xin = x if leaf else x * 1.0
        y = apply(op, (xin, c), (xin.data * c).sum())
        y.backward()
        assert x.grad.shape == () and x.grad.item() == 7.0


def test_a_rule_missing_for_an_input_that_needs_a_gradient_is_an_error():
    # No registered op has one today (labels, conditions are never floats needing grad),
    # so the guard is exercised with an unregistered op of one and of three inputs.
    from autograd.registry import OpDef
    from autograd.tensor import apply

    x = ag.tensor([1.0, 2.0], requires_grad=True)
    for inputs in [(x,), (x, x, x)]:
        op = OpDef("opaque", lambda *a: a[0], tuple([None] * len(inputs)))
        y = apply(op, inputs, x.data * 2)
        with pytest.raises(RuntimeError, match="opaque: input 0 is not differentiable"):
            y.sum().backward()


def test_nodes_keep_nothing_for_pictures():
    # the engine stores nothing only a picture reads: autograd.viz records that itself
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    node = (x * 2.0).grad_fn
    for field in ("order", "grad_summary", "value_summary", "parents", "name", "scope",
                  "origin"):  # (where a node was made is kept only under detect_anomaly)
        assert not hasattr(node, field)


def test_float_constants_keep_the_sign_of_zero_and_nan():
    x = ag.tensor([1.0, -2.0], requires_grad=True)
    for _ in range(2):  # the second time, a constant made before could be reused
        assert np.array_equal(np.signbit((x * -0.0).data), [True, False])
        assert np.array_equal(np.signbit((x * 0.0).data), [False, True])
        assert np.isnan((x + float("nan")).data).all()
        assert np.array_equal((x * 3.0).data, [3.0, -6.0])


def test_float_constants_are_shared_read_only_and_bounded():
    from autograd.ops._common import _F64_CONSTANTS

    x = ag.tensor([1.0, 2.0], requires_grad=True)
    c1 = (x * 0.75).grad_fn.inputs[1]
    c2 = (x + 0.75).grad_fn.inputs[1]
    assert c1 is c2 and c1.dtype == np.float64 and c1 == 0.75
    assert not c1.flags.writeable  # shared, so no rule may write into it
    for v in np.linspace(1.0, 2.0, 3 * _F64_CONSTANTS.limit):
        x * float(v)
    assert len(_F64_CONSTANTS) <= _F64_CONSTANTS.limit


def test_both_inputs_of_a_node_wait_for_all_their_consumers():
    # n = a * b hands its gradient to a and b (both made by ops, b the later), while
    # c = exp(b), made before n, has not run yet: b must wait for it.
    def f(x):
        a = x * 3.0
        b = ag.tanh(x)
        c = ag.exp(b)
        return a * b + c

    x = ag.tensor([0.3, -0.7], requires_grad=True)
    f(x).sum().backward()
    t = np.tanh(x.data)
    expected = 3 * t + (3 * x.data + np.exp(t)) * (1 - t ** 2)
    np.testing.assert_allclose(x.grad.data, expected, rtol=1e-12)
    assert ag.gradgradcheck(f, [ag.tensor([0.3, -0.7], requires_grad=True)])


def test_a_value_waits_for_all_its_consumers_before_its_backward():
    # w = x' * 3 hands its gradient to x' = tanh(x) while exp(x'), made after x', has not
    # run yet: x' must wait for it rather than being taken next.
    x = ag.tensor([0.3, -0.7], requires_grad=True)
    t = ag.tanh(x)
    out = ag.exp(t) + t * 3.0
    out.sum().backward()
    tv = np.tanh(x.data)
    np.testing.assert_allclose(x.grad.data, (np.exp(tv) + 3.0) * (1 - tv ** 2), rtol=1e-12)


def test_pictures_keep_small_gradients_and_drop_large_ones():
    from autograd.viz._record import SUMMARY_SIZE

    small = ag.tensor(np.ones(SUMMARY_SIZE), requires_grad=True)
    large = ag.tensor(np.ones(SUMMARY_SIZE + 1), requires_grad=True)
    ys = (small * 2.0, large * 2.0)
    for y in ys:
        (y * 3.0).sum().backward()
    np.testing.assert_array_equal(record_of(ys[0].grad_fn).grad, np.full(SUMMARY_SIZE, 3.0))
    assert record_of(ys[1].grad_fn).grad is None


def test_binary_ops_whose_inputs_both_need_a_gradient():
    # leaves and intermediates on either side, and the same value on both sides
    x = ag.tensor([0.3, -1.2], requires_grad=True)
    xv = x.data
    t = np.tanh(xv)
    dt = 1 - t ** 2
    cases = {
        "x*x": (lambda x, t: x * x, 2 * xv),
        "t*t": (lambda x, t: t * t, 2 * t * dt),
        "x*t": (lambda x, t: x * t, t + xv * dt),
        "t+x": (lambda x, t: t + x, dt + 1),
        "x-t": (lambda x, t: x - t, 1 - dt),
        "t/(x+2)": (lambda x, t: t / (x + 2.0), dt / (xv + 2) - t / (xv + 2) ** 2),
    }
    for name, (f, expected) in cases.items():
        x.grad = None
        t = ag.tanh(x)
        y = f(x, t)
        y.sum().backward()
        np.testing.assert_allclose(x.grad.data, expected, rtol=1e-12, err_msg=name)
    # the skeleton kept for pictures, in input order: the leaf itself, the node of tanh
    assert y.grad_fn.op.name == "div" and record_of(y.grad_fn).parents[0] is t.grad_fn
    x.grad = None
    y = x * ag.tanh(x)
    y.sum().backward()
    parents = record_of(y.grad_fn).parents
    assert parents[0] is x and parents[1].op.name == "tanh"


@pytest.mark.parametrize("x0, p0, bad", [(0.0, 0.5, 0), (-2.0, 2.0, 1)])
def test_detect_anomaly_names_the_input_of_a_binary_op_in_backward(x0, p0, bad):
    # 0 ** 0.5: d/dx = 0.5 / sqrt(0) is infinite; (-2) ** 2: d/dx = -4 but d/dp = 4 log(-2)
    # is nan (0 ** 2 no longer serves: d/dp is 0 there, PyTorch's convention)
    x = ag.tensor([x0], requires_grad=True)
    p = ag.tensor([p0], requires_grad=True)
    with ag.detect_anomaly():
        y = (x ** p).sum()
        with pytest.raises(FloatingPointError, match=f"backward of op 'pow'.*input {bad}"), \
                np.errstate(divide="ignore", invalid="ignore"):
            y.backward()


# -- the one backward step checks every gradient's shape -----------------------------------


def _opaque(n_inputs, wrong_input, wrong_shape):
    from autograd.registry import OpDef

    def rule(i):
        if i == wrong_input:
            return lambda F, g, y, *xs: F.sum(g) * F.raw(np.ones(wrong_shape))
        return lambda F, g, y, *xs: g

    return OpDef("opaque_shape", lambda *a: a[0], tuple(rule(i) for i in range(n_inputs)))


@pytest.mark.parametrize("n_inputs, wrong", [(1, 0), (2, 1), (2, 0), (3, 2)])
@pytest.mark.parametrize("create_graph", [False, True])
@pytest.mark.parametrize("made_by_an_op", [False, True])
def test_a_rule_returning_a_wrong_shape_is_an_error_naming_the_op_and_input(
        n_inputs, wrong, create_graph, made_by_an_op):
    # one input needing a gradient, two, and the general case; leaves and intermediates
    from autograd.tensor import apply

    xs = [ag.tensor(np.linspace(0.1, 0.3, 3) + i, requires_grad=True) for i in range(n_inputs)]
    ins = tuple(x * 1.0 if made_by_an_op else x for x in xs)
    y = apply(_opaque(n_inputs, wrong, (7,)), ins, ins[0].data * 2)
    with pytest.raises(RuntimeError, match=rf"opaque_shape: the derivative rule of input "
                                           rf"{wrong} returned a gradient of shape \(7,\), but "
                                           rf"the input has shape \(3,\)"):
        ag.grad(y.sum(), xs, create_graph=create_graph)


def test_a_rule_may_return_a_broadcast_shape_and_the_engine_sums_it_back():
    from autograd.tensor import apply

    x = ag.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = apply(_opaque(1, 0, (4, 3)), (x,), x.data * 2)
    (g,) = ag.grad(y.sum(), x)
    np.testing.assert_array_equal(g.data, np.full(3, 3.0 * 4))


# -- grad() walks only what leads to its inputs ---------------------------------------------


def test_grad_walks_only_the_nodes_on_a_path_to_its_inputs():
    x = ag.tensor([0.3, 0.5], requires_grad=True)
    y = ag.tensor([0.2, -0.1], requires_grad=True)
    a = ag.tanh(x)
    b = ag.exp(y) * 2.0
    out = (a * b).sum()
    ran = []
    with ag.graph.observe_steps(lambda run, step, node, g, sent: ran.append(node.op.name)):
        (gx,) = ag.grad(out, x, retain_graph=True)
    assert ran == ["sum", "mul", "tanh"]
    np.testing.assert_allclose(gx.data, (1 - np.tanh(x.data) ** 2) * 2 * np.exp(y.data))
    assert y.grad is None  # grad() returns, it stores nothing
    ran.clear()
    with ag.graph.observe_steps(lambda run, step, node, g, sent: ran.append(node.op.name)):
        ga, gy = ag.grad(out, [a, y])
    assert sorted(ran) == ["exp", "mul", "mul", "sum"]  # stops at a, goes on to y
    np.testing.assert_allclose(ga.data, b.data)
    np.testing.assert_allclose(gy.data, a.data * 2 * np.exp(y.data))
    branch = ag.exp(y) * 2.0
    out = (ag.tanh(x) * branch).sum()
    ag.grad(out, x)  # frees what it walked, and only that
    assert out.grad_fn.inputs is None and branch.grad_fn.inputs is not None

"""The edges of in-place changes and shared gradients that a review of the engine found:
each was a silently wrong gradient, a false error or a crash before."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from test_pytorch_habits import Cube  # the suite's custom Function

import autograd as ag


def test_recorded_in_place_through_or_onto_a_view_is_refused():
    x = ag.tensor([1.0, 2.0, 3.0], requires_grad=True)
    a = x * 1.0
    with pytest.raises(RuntimeError, match="shares its memory with a view"):
        a[0:2].mul_(10.0)  # PyTorch rebases the view's graph; cygrad refuses
    b = x * 1.0
    v = b[0:2]
    with pytest.raises(RuntimeError, match="shares its memory with a view"):
        b.mul_(10.0)  # v's graph would not follow
    assert np.array_equal(v.data, [1.0, 2.0])  # nothing half-done
    w = ag.tensor([1.0, 2.0, 3.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="shares its memory with a view"):
        w[0:2].mul_(10.0)  # a view of a leaf that requires grad, outside no_grad
    with ag.no_grad():
        w[0:2].mul_(10.0)  # an update: fine
    assert w.data.tolist() == [10.0, 20.0, 3.0]


def test_grad_checks_versions_before_pruning_with_a_changed_node():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    a = x * 1.0
    c = a * a + x
    a += 1.0  # a recorded change of a saved value
    with pytest.raises(RuntimeError, match="'mul'.*changed in place"):
        ag.grad(c.sum(), x)


def test_numpy_functions_that_write_count_or_refuse():
    w = ag.tensor([1.0, 2.0], requires_grad=True)
    y = (w * w).sum()
    np.copyto(w.detach(), np.array([5.0, 5.0]))  # writes w's memory: a new version
    assert w._version == 1
    with pytest.raises(RuntimeError, match="changed in place"):
        y.backward()
    with pytest.raises(TypeError, match="np.copyto .*writes into a tensor"):
        np.copyto(w, np.zeros(2))
    a = w * 1.0
    with pytest.raises(TypeError, match="np.floor.*out=a tensor"):
        np.floor(a, out=a)
    d = w.detach()
    np.add.at(d, [0], 1.0)  # ufunc.at writes too
    assert w._version == 2 and w.data[0] == 6.0


def test_create_graph_never_hands_out_one_tensor_as_two_gradients():
    x = ag.tensor(1.0, requires_grad=True)
    w = ag.tensor(2.0, requires_grad=True)
    (x + w).backward(create_graph=True)
    assert x.grad is not w.grad
    (x * 3.0).backward()
    assert x.grad.item() == 4.0 and w.grad.item() == 1.0
    v = ag.tensor([1.0, 1.0])
    z = ag.tensor([1.0, 2.0], requires_grad=True)
    (z + 0.0).backward(v, create_graph=True)
    assert z.grad is not v
    (z * 1.0).sum().backward()
    assert v.data.tolist() == [1.0, 1.0]


def test_a_function_returning_its_input_gives_an_output_of_its_own():
    class Identity(ag.Function):
        @staticmethod
        def forward(ctx, x):
            return x

        @staticmethod
        def backward(ctx, g):
            return g

    x = ag.tensor([1.0, 2.0], requires_grad=True)
    z = (x * x).sum()
    y = Identity.apply(x)
    assert not np.shares_memory(y.data, x.data)
    y.mul_(3.0)
    z.backward()
    np.testing.assert_array_equal(x.grad.data, [2.0, 4.0])


def test_new_memory_through_data_continues_the_version():

    x = ag.tensor([1.0, 2.0], requires_grad=True)
    with ag.no_grad():
        x += 1.0  # version 1
    y = Cube.apply(x)
    x.data = np.array([10.0, 10.0])  # new memory: version 2, not a fresh 1
    with pytest.raises(RuntimeError, match="version 2, forward saved version 1"):
        y.sum().backward()


def test_in_place_on_0d_results_and_item_assignment():
    w = ag.tensor([1.0, 2.0], requires_grad=True)
    loss = (w * w).sum()
    loss += (w * 0.5).sum()  # a 0-d op result, changed in place while recording
    loss.backward()
    np.testing.assert_array_equal(w.grad.data, 2 * w.data + 0.5)
    with ag.no_grad():
        s = (w * w).sum()
        s += 1.0
        s.zero_()
    assert s.item() == 0.0
    t = ag.tensor([-1.0, 2.0, -3.0])
    t[t < 0] = 0.0
    assert t.data.tolist() == [0.0, 2.0, 0.0] and t._version == 1
    with pytest.raises(RuntimeError, match="item assignment on a tensor in the graph"):
        (w * 1.0)[0] = 5.0
    with pytest.raises(IndexError, match="item assignment into a tensor of shape"):
        t[7] = 1.0


def test_data_update_after_create_graph_and_retain_grad_after_in_place():
    w = ag.tensor([1.0, 2.0], requires_grad=True)
    (w * w).sum().backward(create_graph=True)  # w.grad carries a graph
    w.data -= 0.1 * w.grad  # an update outside autograd, as PyTorch allows
    np.testing.assert_allclose(w.data, [0.8, 1.6])
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3.0
    y.retain_grad()
    y += 1.0
    (y * y).sum().backward()
    np.testing.assert_array_equal(y.grad.data, 2 * y.data)


def test_set_grad_enabled_as_a_plain_call_stays_in_force():
    try:
        ag.set_grad_enabled(False)
        assert not ag.is_grad_enabled()
        with ag.set_grad_enabled(True):
            assert ag.is_grad_enabled()
        assert not ag.is_grad_enabled()
    finally:
        ag.set_grad_enabled(True)
    assert ag.is_grad_enabled() and ag.mode.changed[0] == 0


def test_backward_in_threads_into_shared_leaves_adds_every_gradient():
    w = ag.tensor(np.zeros(4), requires_grad=True)

    def work():
        for _ in range(300):
            (w * 1.0).sum().backward()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert w.grad.data.tolist() == [1200.0] * 4


def test_numpy_functions_with_an_op_give_tensors_recording_or_not():
    x = ag.tensor(np.arange(6.0))
    for r in (np.reshape(x, (2, 3)), np.transpose(x), np.concatenate([x, x]), np.exp(x)):
        assert isinstance(r, ag.Tensor)

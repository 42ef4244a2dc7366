"""Parameter bookkeeping: discovery, names, state dicts, modes, name scopes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import autograd as ag
import nn

sizes_st = st.lists(st.integers(1, 6), min_size=2, max_size=5)


@given(sizes=sizes_st, batch=st.integers(1, 5))
def test_mlp_shapes_and_parameter_count(sizes, batch):
    model = nn.MLP(sizes, rng=0)
    out = model(np.ones((batch, sizes[0])))
    assert out.shape == (batch, sizes[-1])
    expected = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
    assert model.num_parameters() == expected
    names = [n for n, _ in model.named_parameters()]
    assert len(names) == len(set(names)) == 2 * (len(sizes) - 1)
    assert names[0] == "layers.0.weight" and names[-1] == f"layers.{2 * len(sizes) - 4}.bias"
    assert set(model.state_dict()) == set(names)


@given(sizes=sizes_st)
def test_state_dict_round_trip_is_bit_exact(sizes):
    a, b = nn.MLP(sizes, rng=1), nn.MLP(sizes, rng=2)
    b.load_state_dict(a.state_dict())
    for (na, pa), (nb, pb) in zip(a.named_parameters(), b.named_parameters()):
        assert na == nb and pa.data.tobytes() == pb.data.tobytes()


class Block(nn.Module):
    def __init__(self):
        self.scale = nn.Parameter(np.ones(3))
        self.branches = {"left": nn.Linear(3, 3, rng=0), "right": nn.Linear(3, 3, rng=1)}
        self.stack = [nn.Linear(3, 3, rng=2), (nn.Tanh(), nn.Linear(3, 2, rng=3))]
        self.not_a_param = ag.Tensor(np.ones(2))

    def forward(self, x):
        x = x * self.scale
        x = self.branches["left"](x) + self.branches["right"](x)
        x = self.stack[0](x)
        return self.stack[1][1](self.stack[1][0](x))


def test_discovery_through_attributes_dicts_nested_lists():
    names = [n for n, _ in Block().named_parameters()]
    assert names == ["scale", "branches.left.weight", "branches.left.bias",
                     "branches.right.weight", "branches.right.bias", "stack.0.weight",
                     "stack.0.bias", "stack.1.1.weight", "stack.1.1.bias"]
    mods = [n for n, _ in Block().named_modules()]
    assert mods == ["", "branches.left", "branches.right", "stack.0", "stack.1.0", "stack.1.1"]


def test_shared_parameters_count_once():
    class Tied(nn.Module):
        def __init__(self):
            self.a = nn.Linear(2, 2, rng=0)
            self.b = self.a

        def forward(self, x):
            return self.b(self.a(x))

    assert len(list(Tied().parameters())) == 2


def test_sequential_names_zero_grad_and_modes():
    seq = nn.Sequential(nn.Linear(2, 4, rng=0), nn.ReLU(), nn.Dropout(0.5, rng=0),
                        nn.Linear(4, 1, rng=1))
    assert [n for n, _ in seq.named_parameters()] == ["0.weight", "0.bias", "3.weight",
                                                      "3.bias"]
    seq(np.ones((3, 2))).sum().backward()
    assert all(p.grad is not None for p in seq.parameters())
    seq.zero_grad()
    assert all(p.grad is None for p in seq.parameters())
    seq.eval()
    assert not any(m.training for m in seq.modules())
    seq.train()
    assert all(m.training for m in seq.modules())


def test_layers_run_inside_their_name_scope():
    class Net(nn.Module):
        def __init__(self):
            self.body = nn.Sequential(nn.Linear(2, 3, rng=0), nn.Tanh())
            self.head = nn.Linear(3, 1, rng=1)

        def forward(self, x):
            return self.head(self.body(x))

    scopes = set()
    with ag.graph.observe_records(lambda node, out: scopes.add(ag.mode.state.scope)):
        Net()(np.ones((2, 2)))
    assert scopes == {"body.0", "body.1", "head"}


def test_module_appended_later_is_named_by_named_modules():
    model = nn.MLP([2, 2], rng=0)
    model.layers.append(nn.Sigmoid())
    assert [n for n, _ in model.named_modules()][-1] == "layers.1"
    assert model.layers[1]._name == "layers.1"


def test_load_state_dict_lists_every_problem_and_changes_nothing():
    model = nn.MLP([2, 3, 1], rng=0)
    before = model.state_dict()
    bad = dict(before)
    del bad["layers.0.bias"]
    bad["layers.2.weight"] = np.zeros((5, 5))
    bad["extra"] = np.zeros(1)
    with pytest.raises(ValueError) as err:
        model.load_state_dict(bad)
    msg = str(err.value)
    assert "missing keys ['layers.0.bias']" in msg and "unexpected keys ['extra']" in msg
    assert "layers.2.weight: model has (1, 3), state has (5, 5)" in msg
    for k, v in model.state_dict().items():
        assert np.array_equal(v, before[k])


def test_load_state_dict_non_strict_loads_the_rest():
    a, b = nn.MLP([2, 3, 1], rng=0), nn.MLP([2, 3, 1], rng=1)
    state = a.state_dict()
    del state["layers.0.bias"]
    b.layers[0].bias.data[:] = 5.0
    b.load_state_dict(state, strict=False)
    assert np.array_equal(b.layers[0].weight.data, a.layers[0].weight.data)
    assert np.all(b.layers[0].bias.data == 5.0)


def test_float32_model_keeps_its_dtype_through_training():
    model = nn.MLP([2, 4, 2], rng=0, dtype=np.float32)
    opt = nn.optim.Adam(model.parameters(), lr=0.01)
    loss = nn.CrossEntropyLoss()(model(np.ones((3, 2))), np.array([0, 1, 0]))
    assert loss.dtype == np.float32
    loss.backward()
    opt.step()
    assert all(p.dtype == np.float32 for p in model.parameters())
    assert model.double().layers[0].weight.dtype == np.float64


def test_parameter_is_a_leaf_tensor():
    p = nn.Parameter([1, 2, 3])
    assert isinstance(p, ag.Tensor) and p.requires_grad and p.dtype == np.float64
    assert (p * 2).sum().requires_grad
    assert repr(p).startswith("Parameter(")


def test_manual_seed_makes_init_reproducible():
    nn.manual_seed(7)
    a = nn.MLP([3, 5, 2])
    nn.manual_seed(7)
    b = nn.MLP([3, 5, 2])
    assert all(np.array_equal(x.data, y.data) for x, y in zip(a.parameters(), b.parameters()))

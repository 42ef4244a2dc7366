"""PyTorch's nn habits: TensorDataset with DataLoader, ModuleList, Module.apply, and the
state-dict round trip through a file, written as a PyTorch user writes them."""

from __future__ import annotations

import numpy as np
import pytest

import autograd as ag
import nn


def test_dataloader_over_a_tensordataset_gives_the_same_batches_as_over_arrays():
    X, y = np.arange(20.0).reshape(10, 2), np.arange(10)
    ds = nn.TensorDataset(ag.tensor(X), ag.tensor(y))
    assert len(ds) == 10
    xi, yi = ds[3]
    assert xi.tolist() == [6.0, 7.0] and yi.item() == 3
    via_ds = [(a.data, b.data) for a, b in nn.DataLoader(ds, batch_size=4, shuffle=False)]
    via_arrays = [(a.data, b.data) for a, b in nn.DataLoader(X, y, batch_size=4, shuffle=False)]
    assert [a.shape[0] for a, _ in via_ds] == [4, 4, 2]
    for (a, b), (c, d) in zip(via_ds, via_arrays):
        np.testing.assert_array_equal(a, c)
        np.testing.assert_array_equal(b, d)


def test_dataloader_refuses_other_datasets_clearly():
    class Squares:  # a map-style Dataset as PyTorch users write them
        def __len__(self):
            return 4

        def __getitem__(self, i):
            return i * i

    with pytest.raises(TypeError, match="DataLoader: takes arrays or tensors.*Squares"):
        nn.DataLoader(Squares(), batch_size=2)
    with pytest.raises(ValueError, match="same number of samples"):
        nn.TensorDataset(np.zeros(3), np.zeros(4))


def test_modulelist_registers_its_modules_and_has_no_forward():
    class Net(nn.Module):
        def __init__(self):
            self.blocks = nn.ModuleList([nn.Linear(2, 3), nn.Linear(3, 3)])
            self.blocks.append(nn.Linear(3, 1))

        def forward(self, x):
            for block in self.blocks:
                x = block(x).tanh()
            return x

    net = Net()
    names = [n for n, _ in net.named_parameters()]
    assert names == ["blocks.0.weight", "blocks.0.bias", "blocks.1.weight", "blocks.1.bias",
                     "blocks.2.weight", "blocks.2.bias"]
    assert len(net.blocks) == 3 and isinstance(net.blocks[2], nn.Linear)
    assert net(ag.ones(5, 2)).shape == (5, 1)
    with pytest.raises(NotImplementedError, match="iterate over it"):
        net.blocks(ag.ones(5, 2))
    with pytest.raises(TypeError, match="item 3 is a int"):
        net.blocks.append(3)


def test_apply_visits_children_before_parents_and_initialises():
    model = nn.Sequential(nn.Linear(2, 4), nn.Sequential(nn.ReLU(), nn.Linear(4, 1)))
    seen = []
    assert model.apply(lambda m: seen.append(type(m).__name__)) is model
    assert seen == ["Linear", "ReLU", "Linear", "Sequential", "Sequential"]

    def init(m):
        if isinstance(m, nn.Linear):
            nn.init.zeros_(m.bias)
            m.weight.data = np.full(m.weight.shape, 0.5)

    model.apply(init)
    assert all(np.all(p.data == (0.5 if n.endswith("weight") else 0.0))
               for n, p in model.named_parameters())


def test_state_dict_round_trip_through_a_file(tmp_path):
    a, b = nn.Linear(3, 2), nn.Linear(3, 2)
    nn.save_state(a.state_dict(), tmp_path / "m.npz")
    b.load_state_dict(nn.read_state(tmp_path / "m.npz"))
    x = ag.ones(4, 3)
    np.testing.assert_array_equal(a(x).data, b(x).data)

"""Bad input gives an error naming the layer (by its path in the model) and the shapes."""

from __future__ import annotations

import numpy as np
import pytest

import nn


def model() -> nn.Module:
    class Net(nn.Module):
        def __init__(self):
            self.features = nn.Sequential(nn.Linear(3, 4, rng=0), nn.ReLU())
            self.head = nn.Linear(4, 2, rng=1)

        def forward(self, x):
            return self.head(self.features(x))

    return Net()


def test_wrong_input_width_names_layer_and_shapes():
    with pytest.raises(nn.LayerInputError) as err:
        model()(np.ones((5, 7)))
    msg = str(err.value)
    assert "Linear 'features.0'" in msg and "(batch, 3)" in msg and "(5, 7)" in msg


def test_nan_in_batch_names_layer_shape_and_position():
    x = np.ones((4, 3))
    x[2, 1] = np.nan
    with pytest.raises(nn.LayerInputError, match=r"Linear 'features.0'.*\(4, 3\).*\(2, 1\)"):
        model()(x)
    with pytest.raises(nn.LayerInputError, match="NaN"):
        nn.fit(nn.MLP([3, 2], rng=0), nn.CrossEntropyLoss(),
               nn.optim.SGD(nn.MLP([3, 2], rng=0).parameters()), (x, np.zeros(4, int)),
               epochs=1, progress=False)


def test_labels_out_of_range_name_the_loss_and_shapes():
    logits = model()(np.ones((3, 3)))
    with pytest.raises(nn.LayerInputError) as err:
        nn.CrossEntropyLoss()(logits, np.array([0, 1, 5]))
    msg = str(err.value)
    assert msg.startswith("CrossEntropyLoss") and "[0, 2)" in msg and "(3, 2)" in msg


def test_target_shape_mismatch_names_the_loss():
    out = nn.MLP([3, 1], rng=0)(np.ones((4, 3)))
    with pytest.raises(nn.LayerInputError, match=r"BCEWithLogitsLoss.*\(4,\)"):
        nn.BCEWithLogitsLoss()(out, np.ones(4))
    with pytest.raises(nn.LayerInputError, match=r"MSELoss.*\(4, 1\)"):
        nn.MSELoss()(out, np.ones(4))


def test_conv_and_batchnorm_shape_errors():
    expected = r"Conv2d.*\(batch, 1, height, width\).*\(2, 3, 5, 5\)"
    with pytest.raises(nn.LayerInputError, match=expected):
        nn.Conv2d(1, 2, 3)(np.ones((2, 3, 5, 5)))
    with pytest.raises(nn.LayerInputError, match="smaller than the kernel"):
        nn.Conv2d(1, 2, 3)(np.ones((2, 1, 2, 5)))
    with pytest.raises(nn.LayerInputError, match=r"BatchNorm1d.*C = 4.*\(2, 3\)"):
        nn.BatchNorm1d(4)(np.ones((2, 3)))
    with pytest.raises(nn.LayerInputError, match="more than one value per channel"):
        nn.BatchNorm1d(3)(np.ones((1, 3)))


def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match="unknown activation"):
        nn.MLP([2, 2], activation="swish")
    with pytest.raises(TypeError, match="not a Module"):
        nn.Sequential(nn.ReLU(), np.ones(2))
    with pytest.raises(ValueError, match="unknown init"):
        nn.Linear(2, 2, init="orthogonal")

"""Each layer's gradients against finite differences (autograd.gradcheck), and each
layer against an independent numpy reference."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import autograd as ag
import nn
import nn.functional as F


def leaf(rng, *shape):
    return ag.Tensor(rng.normal(size=shape), requires_grad=True)


def check_layer(layer, x, second_order=False):
    """gradcheck (and with ``second_order`` gradgradcheck) with respect to the input and
    every parameter of ``layer``: each Parameter attribute is swapped for a probe tensor
    that gradcheck perturbs."""
    params = list(layer.parameters())
    owners = [(m, name, p) for m in layer.modules() for name, p in list(vars(m).items())
              if any(p is q for q in params)]

    def fn(x, *probes):
        swap = {id(p): q for p, q in zip(params, probes)}
        try:
            for m, name, p in owners:
                object.__setattr__(m, name, swap[id(p)])
            return layer(x)
        finally:
            for m, name, p in owners:
                object.__setattr__(m, name, p)

    assert len(owners) == len(params)
    inputs = [x, *[ag.Tensor(p.data.copy(), requires_grad=True) for p in params]]
    assert ag.gradcheck(fn, inputs)
    if second_order:
        assert ag.gradgradcheck(fn, inputs)


@pytest.mark.parametrize("make", [
    lambda: nn.Linear(3, 2, rng=0),
    lambda: nn.MLP([3, 4, 2], activation="tanh", rng=0),
    lambda: nn.MLP([3, 4, 2], activation="sigmoid", output="softmax", rng=0),
    lambda: nn.Sequential(nn.Linear(3, 4, rng=0), nn.LeakyReLU(0.1), nn.Linear(4, 2, rng=1)),
], ids=["linear", "mlp_tanh", "mlp_softmax", "leaky"])
def test_dense_layers_gradcheck(make):
    check_layer(make(), leaf(np.random.default_rng(0), 4, 3))


@pytest.mark.parametrize("kernel,stride,padding,dilation", [
    ((2, 3), 1, 0, 1), ((2, 3), 2, 1, 1), ((2, 3), (1, 2), (0, 1), 1),
    ((2, 3), 1, 0, 2), ((2, 2), (2, 1), ((1, 0), (2, 1)), (1, 2)), ((2, 3), 1, "same", 1),
    ((4, 1), 1, "same", 1), ((1, 5), 1, "same", 1), ((3, 1), 1, ((2, 0), (0, 0)), (2, 1)),
], ids=["plain", "stride_pad", "pairs", "dilation", "asymmetric", "same", "column_same",
        "row_same", "column_dilated"])
def test_conv2d_gradcheck(kernel, stride, padding, dilation):
    # first and second derivatives (check_layer), through both of the kernels' layouts:
    # im2col and, for one-axis kernels at stride 1, one GEMM per output row
    conv = nn.Conv2d(2, 3, kernel, stride=stride, padding=padding, dilation=dilation, rng=0)
    check_layer(conv, leaf(np.random.default_rng(1), 2, 2, 4, 5), second_order=True)


@pytest.mark.parametrize("mode", ["train", "eval"])
@pytest.mark.parametrize("make,shape", [(lambda: nn.BatchNorm1d(3), (5, 3)),
                                        (lambda: nn.BatchNorm1d(3), (4, 3, 2)),
                                        (lambda: nn.BatchNorm2d(2), (3, 2, 2, 3))],
                         ids=["bn1d", "bn1d_len", "bn2d"])
def test_batchnorm_gradcheck(make, shape, mode):
    bn = make()
    rng = np.random.default_rng(2)
    bn.weight.data[:] = rng.uniform(0.5, 2.0, bn.num_features)
    bn.bias.data[:] = rng.normal(size=bn.num_features)
    bn.running_mean.data[:] = rng.normal(size=bn.num_features)
    bn.running_var.data[:] = rng.uniform(0.5, 2.0, bn.num_features)
    bn.train(mode == "train")
    check_layer(bn, leaf(rng, *shape))


def naive_conv(x, w, b, stride, padding, dilation=(1, 1)):
    sh, sw = stride
    (pt, pb), (pl, pr) = ((p, p) if np.ndim(p) == 0 else p for p in padding)
    dh, dw = dilation
    x = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    n, _, h, wd = x.shape
    o, _, kh, kw = w.shape
    oh, ow = (h - dh * (kh - 1) - 1) // sh + 1, (wd - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros((n, o, oh, ow))
    for i in range(oh):
        for j in range(ow):
            patch = x[:, :, i * sh:i * sh + dh * (kh - 1) + 1:dh,
                      j * sw:j * sw + dw * (kw - 1) + 1:dw]
            out[:, :, i, j] = np.einsum("nckl,ockl->no", patch, w) + b
    return out


@given(n=st.integers(1, 2), c=st.integers(1, 3), o=st.integers(1, 3),
       h=st.integers(3, 7), w=st.integers(3, 7), k=st.integers(1, 3),
       stride=st.integers(1, 3), padding=st.integers(0, 2), seed=st.integers(0, 9))
def test_conv2d_matches_the_definition(n, c, o, h, w, k, stride, padding, seed):
    conv = nn.Conv2d(c, o, k, stride=stride, padding=padding, rng=seed)
    conv.bias.data[:] = np.arange(o)
    x = np.random.default_rng(seed).normal(size=(n, c, h, w))
    out = conv(x)
    ref = naive_conv(x, conv.weight.data, conv.bias.data, (stride, stride), (padding,) * 2)
    assert out.shape == ref.shape == (n, o, (h + 2 * padding - k) // stride + 1,
                                      (w + 2 * padding - k) // stride + 1)
    np.testing.assert_allclose(out.data, ref, atol=1e-12)


@given(n=st.integers(1, 2), c=st.integers(1, 3), o=st.integers(1, 3),
       h=st.integers(2, 7), w=st.integers(2, 7), along=st.sampled_from([0, 1]),
       same=st.booleans(), seed=st.integers(0, 9))
def test_one_axis_conv_matches_the_definition(n, c, o, h, w, along, same, seed):
    # the Hodge networks' kernels: a whole column or row, "same" or unpadded
    kernel = (h, 1) if along == 0 else (1, w)
    conv = nn.Conv2d(c, o, kernel, padding="same" if same else 0, rng=seed)
    conv.bias.data[:] = np.arange(o)
    x = np.random.default_rng(seed).normal(size=(n, c, h, w))
    ref = naive_conv(x, conv.weight.data, conv.bias.data, (1, 1), conv.padding)
    assert conv(x).shape == ref.shape == ((n, o, h, w) if same else
                                          (n, o, 1, w) if along == 0 else (n, o, h, 1))
    np.testing.assert_allclose(conv(x).data, ref, atol=1e-12)


@given(d=st.integers(1, 3), k=st.integers(1, 3), seed=st.integers(0, 9))
def test_dilated_conv_matches_the_definition(d, k, seed):
    conv = nn.Conv2d(2, 2, k, dilation=d, padding=1, rng=seed)
    x = np.random.default_rng(seed).normal(size=(2, 2, 7, 8))
    ref = naive_conv(x, conv.weight.data, conv.bias.data, (1, 1), (1, 1), (d, d))
    np.testing.assert_allclose(conv(x).data, ref, atol=1e-12)


def test_batchnorm_train_normalises_and_tracks_running_stats():
    rng = np.random.default_rng(0)
    x = rng.normal(3.0, 2.0, size=(64, 4))
    bn = nn.BatchNorm1d(4, momentum=0.5)
    y = bn(x).data
    np.testing.assert_allclose(y.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=0), 1, atol=1e-3)  # eps = 1e-5 in the denominator
    np.testing.assert_allclose(bn.running_mean.data, 0.5 * x.mean(axis=0))
    np.testing.assert_allclose(bn.running_var.data, 0.5 + 0.5 * x.var(axis=0, ddof=1))
    bn.eval()
    expected = (x - bn.running_mean.data) / np.sqrt(bn.running_var.data + bn.eps)
    np.testing.assert_allclose(bn(x).data, expected, atol=1e-12)


def test_batchnorm2d_normalises_each_channel_over_batch_and_space():
    x = np.random.default_rng(1).normal(2.0, 3.0, size=(4, 3, 5, 5))
    y = nn.BatchNorm2d(3)(x).data
    np.testing.assert_allclose(y.mean(axis=(0, 2, 3)), 0, atol=1e-12)
    np.testing.assert_allclose(y.std(axis=(0, 2, 3)), 1, atol=1e-3)


def test_dropout_train_and_eval():
    x = np.ones((200, 50))
    drop = nn.Dropout(0.3, rng=0)
    y = drop(x).data
    assert set(np.unique(y)) <= {0.0, 1 / 0.7}
    assert abs((y == 0).mean() - 0.3) < 0.02
    assert abs(y.mean() - 1.0) < 0.03  # inverted dropout keeps the expectation
    drop.eval()
    assert np.array_equal(drop(x).data, x)


def test_activation_modules_match_their_formulas():
    x = np.linspace(-3, 3, 13)
    np.testing.assert_allclose(nn.ReLU()(x).data, np.maximum(x, 0))
    np.testing.assert_allclose(nn.LeakyReLU(0.2)(x).data, np.where(x > 0, x, 0.2 * x))
    np.testing.assert_allclose(nn.Tanh()(x).data, np.tanh(x))
    np.testing.assert_allclose(nn.Sigmoid()(x).data, 1 / (1 + np.exp(-x)))
    p = nn.Softmax()(x.reshape(1, -1)).data
    np.testing.assert_allclose(p[0], np.exp(x) / np.exp(x).sum(), rtol=1e-12)
    assert nn.Flatten()(np.ones((2, 3, 4))).shape == (2, 12)


@given(n=st.integers(1, 5), c=st.integers(1, 3), h=st.integers(1, 4), w=st.integers(1, 4))
def test_flatten_then_linear_shapes(n, c, h, w):
    net = nn.Sequential(nn.Flatten(), nn.Linear(c * h * w, 2, rng=0))
    assert net(np.ones((n, c, h, w))).shape == (n, 2)


def test_init_statistics():
    w = nn.Parameter(np.zeros((400, 300)))
    nn.init.xavier_uniform_(w, rng=0)
    assert abs(w.data.var() - 2 / 700) < 0.05 * 2 / 700
    assert np.abs(w.data).max() <= np.sqrt(6 / 700)
    nn.init.kaiming_normal_(w, rng=0)
    assert abs(w.data.std() - np.sqrt(2 / 300)) < 0.02 * np.sqrt(2 / 300)
    nn.init.he_uniform_(w, rng=1)
    assert np.abs(w.data).max() <= np.sqrt(6 / 300)
    a, b = nn.Parameter(np.zeros((3, 3))), nn.Parameter(np.zeros((3, 3)))
    nn.init.glorot_normal_(a, rng=5)
    nn.init.glorot_normal_(b, rng=5)
    assert np.array_equal(a.data, b.data)
    with pytest.raises(ValueError, match="fan_in"):
        nn.init.xavier_uniform_(nn.Parameter(np.zeros(3)))


def test_penalties():
    ps = [nn.Parameter([1.0, -2.0]), nn.Parameter([[3.0]])]
    assert F.l1_penalty(ps, 0.5).item() == pytest.approx(3.0)
    l2 = F.l2_penalty(ps, 0.1)
    assert l2.item() == pytest.approx(1.4)
    l2.backward()
    np.testing.assert_allclose(ps[0].grad.data, [0.2, -0.4])

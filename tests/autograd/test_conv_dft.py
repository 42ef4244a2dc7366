"""The DFT layout of one-axis convolutions (autograd/ops/_conv_dft.py): where it is chosen,
agreement with the rows layout, and gradients first and second order through it. The op
registry's samples are too small for the cost model to choose it, so here it is forced."""

from __future__ import annotations

from unittest import mock

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import autograd as ag
from autograd.ops import _conv_dft as D
from autograd.ops import _conv_gemm as K
from autograd.registry import REGISTRY
from autograd.testing import flat_call, op_inputs

CONV_OPS = [REGISTRY[name] for name in ("conv2d", "conv2d_input", "conv2d_weight")]


def _layout(spectral: bool):
    return mock.patch.object(D, "worth", lambda *args: spectral)


def test_chosen_for_the_hodge_networks_many_channels_and_not_for_one():
    # W6's modules: 12x1 over 12 rows (pad 5, 6) and 1x15 over 15 columns (pad 7, 7)
    for c, o in ((64, 64), (128, 32)):
        assert D.worth(12, 12, 12, 5, c, o) and D.worth(15, 15, 15, 7, c, o)
    assert not D.worth(12, 12, 12, 5, 1, 32) and not D.worth(15, 15, 15, 7, 1, 32)
    assert D.length(12, 12, 12, 5) == 18 and D.length(15, 15, 15, 7) == 22
    assert D.planes(18) == 26 and D.planes(22) == 32 and D.planes(5) == 7


CASES = [((12, 1), ((5, 6), (0, 0))), ((1, 15), ((0, 0), (7, 7))), ((5, 1), ((1, 3), (0, 0))),
         ((1, 4), ((0, 0), (0, 0))), ((2, 1), ((3, 4), (0, 0))), ((1, 1), ((0, 0), (2, 0)))]


@pytest.mark.parametrize("kernel,pads", CASES)
def test_agrees_with_the_rows_layout(kernel, pads):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 5, 12, 15))
    w = rng.normal(size=(4, 5) + kernel)
    geo = K.Geometry((1, 1), pads, (1, 1))
    results = []
    for spectral in (False, True):
        with _layout(spectral):
            y = K.forward(x, w, None, geo)
            g = np.random.default_rng(1).normal(size=y.shape)
            results.append((y, K.input_grad(g, w, x.shape, geo),
                            K.weight_grad(x, g, w.shape, geo)))
    for rows, dft in zip(*results):
        np.testing.assert_allclose(dft, rows, rtol=0, atol=1e-12 * np.abs(rows).max())


def test_float32_is_as_accurate_as_the_rows_layout():
    rng = np.random.default_rng(2)
    x, w = rng.normal(size=(8, 64, 12, 15)), rng.normal(size=(64, 64, 12, 1))
    geo = K.Geometry((1, 1), ((5, 6), (0, 0)), (1, 1))
    ref = K.forward(x, w, None, geo)
    errors = []
    for spectral in (False, True):
        with _layout(spectral):
            y = K.forward(x.astype(np.float32), w.astype(np.float32), None, geo)
        assert y.dtype == np.float32
        errors.append(np.abs(y - ref).max() / np.abs(ref).max())
    assert errors[1] < 2 * errors[0] + 1e-7


def _one_axis(op, args, kwargs):
    """True when the drawn case is a one-axis kernel at stride 1 (the layout applies)."""
    wshape = {"conv2d": lambda: args[1].shape, "conv2d_input": lambda: args[1].shape,
              "conv2d_weight": lambda: tuple(args[2])}[op.name]()
    return K.rows_axis(wshape, K.Geometry(kwargs["stride"],
                                          tuple(tuple(p) for p in kwargs["padding"]),
                                          kwargs["dilation"])) is not None


@pytest.mark.parametrize("op", CONV_OPS, ids=lambda op: op.name)
@given(data=st.data())
def test_gradients_first_and_second_order(op, data):
    args, kwargs = data.draw(op_inputs(op), label="inputs")
    assume(_one_axis(op, args, kwargs))  # im2col cases are the registry's to check
    fn, inputs = flat_call(op, args, kwargs)
    with _layout(True):
        assert ag.gradcheck(fn, inputs)
        assert ag.gradgradcheck(fn, inputs)


def test_results_never_share_the_reused_temporaries():
    # the relaid-out input and the bins of one call are reused by the next: nothing a
    # call returns or caches may live there
    rng = np.random.default_rng(3)
    x, w = rng.normal(size=(2, 3, 12, 15)), rng.normal(size=(4, 3, 12, 1))
    geo = K.Geometry((1, 1), ((5, 6), (0, 0)), (1, 1))
    with _layout(True):
        cache: dict = {}
        y = K.forward(x, w, None, geo, cache)
        g = rng.normal(size=y.shape)
        dx = K.input_grad(g, w, x.shape, geo, share=True)
        kept = [a.copy() for a in (y, cache["rows"], dx)]
        K.forward(2 * x, w, None, geo)
        K.input_grad(2 * g, w, x.shape, geo)
        dw = K.weight_grad(x, g, w.shape, geo, cache["rows"])
    for a, b in zip((y, cache["rows"], dx), kept):
        np.testing.assert_array_equal(a, b)
    with _layout(False):
        np.testing.assert_allclose(dw, K.weight_grad(x, g, w.shape, geo), atol=1e-12)


def test_scratch_reuses_one_buffer_per_slot_and_thread():
    from concurrent.futures import ThreadPoolExecutor

    from autograd.ops._scratch import scratch

    a = scratch("test-a", (3, 4), np.float32)
    b = scratch("test-a", (2, 2), np.float64)
    assert a.shape == (3, 4) and b.dtype == np.float64 and np.shares_memory(a, b)
    assert not np.shares_memory(a, scratch("test-b", (3, 4), np.float32))
    big = scratch("test-a", (100,), np.float64)  # grows: a fresh buffer
    assert big.shape == (100,) and not np.shares_memory(a, big)
    with ThreadPoolExecutor(1) as pool:
        other = pool.submit(scratch, "test-a", (3, 4), np.float32).result()
    assert not np.shares_memory(other, scratch("test-a", (3, 4), np.float32))

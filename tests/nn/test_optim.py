"""Optimizers against their update formulas, and schedules against closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import nn

GRADS = [np.array([1.0, -2.0]), np.array([0.5, 0.5]), np.array([-1.0, 3.0])]


def run(opt_cls, grads=GRADS, **kw):
    p = nn.Parameter([1.0, 2.0])
    opt = opt_cls([p], **kw)
    for g in grads:
        p.grad = nn.Parameter(g, requires_grad=False)
        opt.step()
    return p.data


@given(lr=st.floats(0.01, 1.0), mom=st.floats(0.0, 0.95), wd=st.floats(0.0, 0.1),
       nesterov=st.booleans())
def test_sgd_momentum_nesterov_weight_decay(lr, mom, wd, nesterov):
    if nesterov and mom == 0:
        mom = 0.5
    theta, v = np.array([1.0, 2.0]), None
    for g in GRADS:
        g = g + wd * theta
        v = g.copy() if v is None else mom * v + g  # eq. 16 (heavy ball), v_0 = g_0
        theta = theta - lr * (g + mom * v if nesterov else v)  # eq. 15
    got = run(nn.optim.SGD, lr=lr, momentum=mom, weight_decay=wd, nesterov=nesterov)
    np.testing.assert_allclose(got, theta, rtol=1e-12)


def test_adam_first_step_is_lr_times_sign():
    # With bias correction, the first Adam step is lr * g / (|g| + eps) ~ lr * sign(g).
    got = run(nn.optim.Adam, grads=GRADS[:1], lr=0.1)
    np.testing.assert_allclose(got, [1.0 - 0.1, 2.0 + 0.1], rtol=1e-6)


def test_adam_and_adamw_against_formulas():
    lr, b1, b2, eps, wd = 0.05, 0.8, 0.9, 1e-8, 0.1
    for decoupled, cls in ((False, nn.optim.Adam), (True, nn.optim.AdamW)):
        theta, m, v = np.array([1.0, 2.0]), 0.0, 0.0
        for t, g in enumerate(GRADS, start=1):
            if decoupled:
                theta = theta * (1 - lr * wd)
            else:
                g = g + wd * theta
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * g * g
            theta = theta - lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps)
        got = run(cls, lr=lr, betas=(b1, b2), eps=eps, weight_decay=wd)
        np.testing.assert_allclose(got, theta, rtol=1e-12)


def test_rmsprop_against_formula():
    lr, alpha, eps, mom = 0.01, 0.9, 1e-8, 0.5
    theta, v, buf = np.array([1.0, 2.0]), 0.0, 0.0
    for g in GRADS:
        v = alpha * v + (1 - alpha) * g * g
        buf = mom * buf + g / (np.sqrt(v) + eps)
        theta = theta - lr * buf
    got = run(nn.optim.RMSprop, lr=lr, alpha=alpha, eps=eps, momentum=mom)
    np.testing.assert_allclose(got, theta, rtol=1e-12)


def test_step_skips_params_without_grad_and_groups_have_own_lr():
    a, b, c = nn.Parameter([1.0]), nn.Parameter([1.0]), nn.Parameter([1.0])
    opt = nn.optim.SGD([{"params": [a]}, {"params": [b, c], "lr": 0.5}], lr=0.1)
    a.grad = nn.Parameter([1.0], requires_grad=False)
    b.grad = nn.Parameter([1.0], requires_grad=False)
    opt.step()
    assert a.data[0] == pytest.approx(0.9) and b.data[0] == pytest.approx(0.5)
    assert c.data[0] == 1.0
    opt.zero_grad()
    assert a.grad is None and b.grad is None


def test_optimizer_state_dict_round_trip_continues_identically():
    def make():
        p = nn.Parameter([1.0, 2.0])
        return p, nn.optim.Adam([p], lr=0.1)

    p1, o1 = make()
    for g in GRADS[:2]:
        p1.grad = nn.Parameter(g, requires_grad=False)
        o1.step()
    p2, o2 = make()
    p2.data[:] = p1.data
    o2.load_state_dict(o1.state_dict())
    for p, o in ((p1, o1), (p2, o2)):
        p.grad = nn.Parameter(GRADS[2], requires_grad=False)
        o.step()
    assert np.array_equal(p1.data, p2.data)


def test_bad_optimizer_arguments():
    with pytest.raises(ValueError, match="empty parameter list"):
        nn.optim.SGD([], lr=0.1)
    with pytest.raises(ValueError, match="momentum"):
        nn.optim.SGD([nn.Parameter([1.0])], momentum=1.5)
    with pytest.raises(TypeError, match="requires_grad"):
        nn.optim.Adam([np.zeros(3)])


def _opt(lr=1.0):
    return nn.optim.SGD([nn.Parameter([0.0])], lr=lr)


@given(step=st.integers(1, 5), gamma=st.floats(0.1, 0.99), epochs=st.integers(0, 20))
def test_step_and_exponential_lr(step, gamma, epochs):
    o1, o2 = _opt(), _opt()
    s1, s2 = nn.optim.StepLR(o1, step, gamma), nn.optim.ExponentialLR(o2, gamma)
    for _ in range(epochs):
        s1.step()
        s2.step()
    assert s1.get_last_lr()[0] == pytest.approx(gamma ** (epochs // step))
    assert s2.get_last_lr()[0] == pytest.approx(gamma ** epochs)


def test_cosine_annealing_endpoints_and_midpoint():
    o = _opt(0.1)
    s = nn.optim.CosineAnnealingLR(o, T_max=10, eta_min=0.01)
    lrs = []
    for _ in range(12):
        s.step()
        lrs.append(o.param_groups[0]["lr"])
    assert lrs[4] == pytest.approx(0.01 + 0.09 * (1 + math.cos(math.pi / 2)) / 2)
    assert lrs[9] == pytest.approx(0.01) and lrs[11] == pytest.approx(0.01)
    assert all(a >= b for a, b in zip(lrs, lrs[1:]))


def test_reduce_on_plateau():
    o = _opt(1.0)
    s = nn.optim.ReduceLROnPlateau(o, factor=0.5, patience=2)
    for v in [1.0, 0.9, 0.9, 0.9]:
        s.step(v)
    assert o.param_groups[0]["lr"] == 1.0  # two bad epochs: still patient
    s.step(0.9)
    assert o.param_groups[0]["lr"] == 0.5
    s.step(0.1)
    assert o.param_groups[0]["lr"] == 0.5


def _p():
    return nn.Parameter([1.0, 2.0])


BAD_ARGUMENTS = [
    (lambda: nn.optim.Adam([_p()], lr=float("nan")), ValueError, "lr must be finite"),
    (lambda: nn.optim.Adam([_p()], eps=float("nan")), ValueError, "eps"),
    (lambda: nn.optim.Adam([_p()], eps=-1e-8), ValueError, "eps must be >= 0"),
    (lambda: nn.optim.AdamW([_p()], weight_decay=float("nan")), ValueError, "weight_decay"),
    (lambda: nn.optim.Adam([_p()], betas=(0.9, 1.0)), ValueError, r"betas\[1\]"),
    (lambda: nn.optim.Adam([_p()], betas=0.9), TypeError, "pair"),
    (lambda: nn.optim.SGD([_p()], lr=-0.1), ValueError, "lr must be >= 0"),
    (lambda: nn.optim.SGD([_p()], lr="0.1"), TypeError, "lr must be a real number"),
    (lambda: nn.optim.SGD([_p()], lr=True), TypeError, "lr must be a real number"),
    (lambda: nn.optim.SGD([_p()], momentum=-0.5), ValueError, "momentum"),
    (lambda: nn.optim.SGD([_p()], weight_decay=-1), ValueError, "weight_decay"),
    (lambda: nn.optim.SGD([_p()], lr=float("inf")), ValueError, "finite"),
    (lambda: nn.optim.SGD([_p()], momentum=0.9, nesterov="yes"), TypeError, "nesterov"),
    (lambda: nn.optim.SGD([_p()], nesterov=True), ValueError, "Nesterov"),
    (lambda: nn.optim.RMSprop([_p()], alpha=float("nan")), ValueError, "alpha"),
    (lambda: nn.optim.SGD(nn.MLP([2, 2]).parameters, lr=0.1), TypeError, "call it"),
    (lambda: nn.optim.SGD(_p(), lr=0.1), TypeError, "single Tensor"),
    (lambda: nn.optim.SGD(nn.MLP([2, 2]), lr=0.1), TypeError, "model.parameters()"),
    (lambda: nn.optim.SGD([{"lr": 0.1}]), ValueError, "no 'params'"),
    (lambda: nn.optim.SGD([{"params": [_p()], "lr": -1.0}]), ValueError, "group 0"),
]


@pytest.mark.parametrize("make,exc,words", BAD_ARGUMENTS)
def test_optimizer_arguments_are_checked_as_pytorch_does(make, exc, words):
    with pytest.raises(exc, match=words):
        make()


def test_a_parameter_listed_twice_is_refused():
    p = _p()
    with pytest.raises(ValueError, match="listed twice"):
        nn.optim.SGD([p, p], lr=0.1)
    with pytest.raises(ValueError, match="group 0 item 0 and group 1 item 0"):
        nn.optim.Adam([{"params": [p]}, {"params": [p], "lr": 0.1}])

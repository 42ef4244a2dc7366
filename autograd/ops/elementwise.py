"""Elementwise ops: arithmetic (broadcasting), activations, and their derivatives.

Each op's forward and derivative stand side by side. ``g`` is the gradient of the op's
output, ``y`` the output itself. A binary op's rule returns its gradient at the output's
(broadcast) shape; the engine sums it back to each input's shape, in one place.
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

from .. import kernels
from ..registry import defop, passthrough
from ..tensor import Tensor, apply
from ._common import _NDARRAY, as_tensor, binary, binary_sample, const, param_fits, unary

# -- arithmetic ------------------------------------------------------------------------
# The forwards call Python's operators, not the ufuncs: on arrays they reach the same
# ufunc, and on 0-d values (numpy scalars) numpy's scalar arithmetic is several times
# faster than a ufunc call, which is what scalar graphs are made of.


@defop(passthrough, passthrough, sample=binary_sample(), label="+", saves=(), saves_out=False)
def add(a: Any, b: Any) -> Tensor:
    """a + b, broadcasting."""
    return binary(add.op, a, b, operator.add)


@defop(passthrough,
       lambda F, g, y, a, b: -g,
       sample=binary_sample(), label="-", saves=(), saves_out=False)
def sub(a: Any, b: Any) -> Tensor:
    """a - b, broadcasting."""
    return binary(sub.op, a, b, operator.sub)


@defop(lambda F, g, y, a, b: g * b,
       lambda F, g, y, a, b: g * a,
       sample=binary_sample(), label="*", saves_out=False, reads=((1,), (0,)))
def mul(a: Any, b: Any) -> Tensor:
    """a * b, broadcasting."""
    return binary(mul.op, a, b, operator.mul)


@defop(lambda F, g, y, a, b: g / b,
       lambda F, g, y, a, b: -g * y / b,
       sample=binary_sample("real", "nonzero"), label="/", saves=(1,))
def div(a: Any, b: Any) -> Tensor:
    """a / b, broadcasting. d/db = -a/b^2 = -y/b."""
    return binary(div.op, a, b, operator.truediv)


def _pow_base_vjp(F: Any, g: Any, y: Any, a: Any, b: Any) -> Any:
    # d/da a^b = b a^(b-1). At a = b = 0 that is 0 (a^0 is constant), but the formula
    # gives 0 * 0^-1 = nan (x ** 0, features x ** arange(k) at x = 0), so raise a to the
    # power 0 just there: 0 * 0^0 = 0. Elsewhere the formula, and its derivative in b,
    # stand as they are.
    zero = F.raw(b) == 0
    if zero is False or (zero is not True and not zero.any()):
        return g * b * a ** (b - 1)
    zero = zero & (F.raw(a) == 0)
    if isinstance(b, Tensor):  # recording with a differentiable exponent: keep b in it
        e = F.where(zero, b * 0, b - 1)
    else:
        e = np.where(zero, 0, np.asarray(b) - 1).astype(F.raw(y).dtype, copy=False)
    return g * b * a ** e


def _pow_exponent_vjp(F: Any, g: Any, y: Any, a: Any, b: Any) -> Any:
    # d/db a^b = a^b log a (a > 0). At a = 0 with b >= 0 it is 0, PyTorch's convention
    # (pow_backward_exponent): a^b is 0 or 1 there, but the formula gives 0 * -inf = nan
    # or 1 * -inf. Taking log(1) = 0 at exactly those places keeps the result, and its
    # derivatives (where passes no gradient to the replaced entries), 0 as in PyTorch.
    # A Python-number base is logged in y's dtype: np.log(2.0) is a float64 numpy
    # scalar, which would make 2.0 ** x32's gradient float64.
    dtype = F.raw(y).dtype
    if not hasattr(a, "dtype"):
        if a == 0:
            return g * y * np.where(np.asarray(F.raw(b)) >= 0, 0, -np.inf).astype(dtype)
        return g * y * np.log(np.asarray(a, dtype=dtype))
    zero = (F.raw(a) == 0) & (np.asarray(F.raw(b)) >= 0)
    if not zero.any():
        return g * y * F.log(a)
    if zero.shape != np.shape(F.raw(a)):  # a broadcast against a larger b: mask in y's shape
        a = a * np.ones(np.shape(F.raw(y)), dtype)
    return g * y * F.log(F.where(zero, np.ones((), dtype), a))


@defop(_pow_base_vjp, _pow_exponent_vjp, sample=binary_sample("positive", "real"), label="**",
       method="pow")
def pow(a: Any, b: Any) -> Tensor:
    """a ** b, broadcasting. d/da = b a^(b-1) (0 where b = 0); d/db = a^b log a (a > 0,
    and 0 where a = 0 and b >= 0, as in PyTorch)."""
    return binary(pow.op, a, b, operator.pow)


@defop(lambda F, g, y, a: -g, sample=unary(), label="neg", saves=(), saves_out=False)
def neg(a: Any) -> Tensor:
    """-a."""
    a = as_tensor(a)
    return apply(neg.op, (a,), np.negative(a._data), like=a.grad_fn)


def _tie_split(F: Any, g: Any, a: Any, b: Any, pick_a: bool) -> Any:
    # Where a == b the gradient is shared equally, so maximum(x, x) has gradient 1.
    ad, bd = F.raw(a), F.raw(b)
    share = np.where(ad > bd, 1.0, np.where(ad == bd, 0.5, 0.0))
    if not pick_a:
        share = 1.0 - share
    return g * share.astype(np.result_type(ad, bd), copy=False)


@defop(lambda F, g, y, a, b: _tie_split(F, g, a, b, True),
       lambda F, g, y, a, b: _tie_split(F, g, a, b, False),
       sample=binary_sample(("lattice", 0.0), ("lattice", 0.25)), saves_out=False,
       method="maximum")
def maximum(a: Any, b: Any) -> Tensor:
    """Elementwise max(a, b). At ties each side gets half the gradient."""
    return binary(maximum.op, a, b, np.maximum)


@defop(lambda F, g, y, a, b: _tie_split(F, g, b, a, True),
       lambda F, g, y, a, b: _tie_split(F, g, b, a, False),
       sample=binary_sample(("lattice", 0.0), ("lattice", 0.25)), saves_out=False,
       method="minimum")
def minimum(a: Any, b: Any) -> Tensor:
    """Elementwise min(a, b). At ties each side gets half the gradient."""
    return binary(minimum.op, a, b, np.minimum)


# -- functions of one variable -----------------------------------------------------------


@defop(lambda F, g, y, x: g * y, sample=unary(), method="exp", saves=())
def exp(x: Any) -> Tensor:
    """e^x; derivative e^x."""
    x = as_tensor(x)
    return apply(exp.op, (x,), np.exp(x._data), like=x.grad_fn)


@defop(lambda F, g, y, x: g / x, sample=unary("positive"), method="log", saves_out=False)
def log(x: Any) -> Tensor:
    """Natural log; derivative 1/x."""
    x = as_tensor(x)
    return apply(log.op, (x,), np.log(x._data), like=x.grad_fn)


@defop(lambda F, g, y, x: g / (2 * y), sample=unary("positive"), method="sqrt", saves=())
def sqrt(x: Any) -> Tensor:
    """Square root; derivative 1/(2 sqrt x)."""
    x = as_tensor(x)
    return apply(sqrt.op, (x,), np.sqrt(x._data), like=x.grad_fn)


@defop(lambda F, g, y, x: g * np.sign(F.raw(x)), sample=unary(("away", 0.0)), method="abs",
       saves_out=False)
def abs(x: Any) -> Tensor:  # noqa: A001 - numpy's and PyTorch's name
    """|x|; derivative sign(x), taken as 0 at x = 0."""
    x = as_tensor(x)
    return apply(abs.op, (x,), np.abs(x._data), like=x.grad_fn)


# relu(x) > 0 exactly where x > 0, so the rule reads the output and the input can go.
@defop(lambda F, g, y, x: g * (F.raw(y) > 0), sample=unary(("away", 0.0)), method="relu",
       saves=())
def relu(x: Any) -> Tensor:
    """max(x, 0) (lecture eq. 8); derivative 1 for x > 0, else 0 (eq. 19)."""
    x = as_tensor(x)
    # a Python 0 keeps the dtype (NEP 50)
    return apply(relu.op, (x,), np.maximum(x._data, 0), like=x.grad_fn)


@defop(lambda F, g, y, x, negative_slope=0.01: F.where(F.raw(x) > 0, g, g * negative_slope),
       sample=unary(("away", 0.0), negative_slope=0.1), label="leaky_relu", saves_out=False,
       method="leaky_relu")
def leaky_relu(x: Any, negative_slope: float = 0.01) -> Tensor:
    """x for x > 0, negative_slope * x otherwise; derivative 1 or negative_slope."""
    x = as_tensor(x)
    xd = x._data
    negative_slope = const(negative_slope, xd.dtype)  # a numpy scalar would promote float32
    param_fits("leaky_relu", "negative_slope", negative_slope, xd.shape)
    return apply(leaky_relu.op, (x,), np.where(xd > 0, xd, xd * negative_slope),
                 {"negative_slope": negative_slope})


def _tanh_vjp(F: Any, g: Any, y: Any, x: Any) -> Any:
    # g (1 - y^2) written as g - g y y: array-array products only (a Python-number operand
    # takes numpy's slow path on small arrays) and, unrecorded, all in one new buffer.
    d = g * y
    if type(d) is not _NDARRAY:  # a Tensor (a recorded backward) or a numpy scalar (0-d)
        return g - d * y
    d *= y
    return np.subtract(g, d, d)  # out= given by position: numpy parses it faster


@defop(_tanh_vjp, sample=unary(), method="tanh", saves=())
def tanh(x: Any) -> Tensor:
    """tanh x (lecture eq. 8); derivative 1 - tanh^2 x (eq. 20)."""
    x = as_tensor(x)
    return apply(tanh.op, (x,), np.tanh(x._data), like=x.grad_fn)


@defop(lambda F, g, y, x: g * y * (1 - y), sample=unary(), method="sigmoid", saves=())
def sigmoid(x: Any) -> Tensor:
    """1/(1 + e^-x) (lecture eq. 8), computed without overflow; derivative s(1 - s) (eq. 21)."""
    x = as_tensor(x)
    return apply(sigmoid.op, (x,), kernels.sigmoid(x._data), like=x.grad_fn)


@defop(lambda F, g, y, x: g * F.sigmoid(x), sample=unary(), method="softplus", saves_out=False)
def softplus(x: Any) -> Tensor:
    """log(1 + e^x), computed without overflow; derivative sigmoid(x)."""
    x = as_tensor(x)
    return apply(softplus.op, (x,), kernels.softplus(x._data), like=x.grad_fn)


def _clip_pass(F: Any, g: Any, x: Any, lo: Any, hi: Any) -> Any:
    xd = F.raw(x)
    inside = np.ones(xd.shape, dtype=bool)
    if lo is not None:
        inside &= xd >= lo
    if hi is not None:
        inside &= xd <= hi
    return g * inside


@defop(lambda F, g, y, x, min=None, max=None: _clip_pass(F, g, x, min, max),
       sample=unary(("away", (-0.5, 0.5)), min=-0.5, max=0.5), method="clip",
       saves_out=False)
def clip(x: Any, min: float | None = None, max: float | None = None) -> Tensor:  # noqa: A002
    """x limited to [min, max]; gradient 1 inside (bounds included), 0 outside."""
    x = as_tensor(x)
    if min is None and max is None:
        raise ValueError("clip: give min, max or both")
    # numpy-scalar or float64-array bounds would promote a float32 tensor
    min = None if min is None else const(min, x.dtype)  # noqa: A001
    max = None if max is None else const(max, x.dtype)  # noqa: A001
    param_fits("clip", "min", min, x.shape)
    param_fits("clip", "max", max, x.shape)
    return apply(clip.op, (x,), np.clip(x._data, min, max), {"min": min, "max": max})


clamp = clip  # PyTorch's name

# where(cond, a, b): cond selects, so it carries no gradient.


@defop(None,
       lambda F, g, y, c, a, b: F.where(c, g, 0 * g),
       lambda F, g, y, c, a, b: F.where(c, 0 * g, g),
       sample=lambda d: _where_sample(d), saves=(0,), saves_out=False)
def where(condition: Any, a: Any, b: Any) -> Tensor:
    """a where condition holds, else b (broadcasting all three)."""
    cond = condition._data if isinstance(condition, Tensor) else np.asarray(condition)
    if cond.dtype != np.bool_:
        raise TypeError(f"where: condition must be boolean, got dtype {cond.dtype}; "
                        "compare first, e.g. where(x > 0, x, 0)")
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        a = as_tensor(a)
    ref = a if isinstance(a, Tensor) else b
    a_ = a if isinstance(a, Tensor) else np.asarray(a, dtype=ref.dtype)
    b_ = b if isinstance(b, Tensor) else np.asarray(b, dtype=ref.dtype)
    ad = a_._data if isinstance(a_, Tensor) else a_
    bd = b_._data if isinstance(b_, Tensor) else b_
    try:
        data = np.where(cond, ad, bd)
    except ValueError as e:
        raise ValueError(f"where: shapes {cond.shape}, {np.shape(ad)} and {np.shape(bd)} do "
                         "not broadcast together") from e
    return apply(where.op, (cond, a_, b_), data)


def _where_sample(d: Any) -> tuple[tuple, dict]:
    sc, sa, sb = d.broadcast_shapes(3)
    return (d.mask(sc), d.array(sa), d.array(sb)), {}

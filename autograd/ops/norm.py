"""Batch normalisation with batch statistics as one op, with its closed-form backward.

Composed from elementwise ops, a normalisation records about ten nodes and its backward
walks them all, with a broadcast and a reduction at each. As one op the forward is a few
passes over the input and the backward one more (Ioffe & Szegedy 2015, section 3):

    xhat = (x - mean) / sqrt(var + eps),   y = gamma xhat + beta,
    dx = (gamma / sqrt(var + eps)) (g - mean(g) - xhat mean(g xhat)),
    dgamma = sum(g xhat),   dbeta = sum(g),

means and sums over every axis but the channel axis 1; the backward recomputes xhat from
the input and its three rules share the two sums. When the backward pass is recorded
(``create_graph=True``) the same formulas are written with Tensor ops, so the op is
differentiable again.
"""

from __future__ import annotations

import weakref
from typing import Any

import numpy as np

from ..registry import defop
from ..tensor import Tensor, apply
from ._common import as_tensor
from ._scratch import Memo, scratch


def _axes(ndim: int) -> tuple[int, ...]:
    return (0,) + tuple(range(2, ndim))


def _shape(x: Any) -> tuple[int, ...]:
    return (1, x.shape[1]) + (1,) * (len(x.shape) - 2)


def _ncl(a: np.ndarray) -> np.ndarray:
    return a.reshape(a.shape[0], a.shape[1], -1)


# Sums over a channel's N*H*W values run in two stages: over each sample's H*W values in
# the array's dtype, then over the samples in float64. One float32 pass over all 5760
# values of a (32, C, 12, 15) batch drifted by ~1e-4 of the sum of magnitudes, and the
# backward's mean subtractions turned that into 3e-4 errors in the first layers'
# gradients; two stages are as accurate as float64 and as fast as one float32 pass.
def channel_sum(a: np.ndarray) -> np.ndarray:
    """Sum over every axis but axis 1: (N, C, ...) -> (C,)."""
    return np.einsum("ncl->nc", _ncl(a)).sum(axis=0, dtype=np.float64).astype(a.dtype)


def channel_dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """sum(a * b) over every axis but axis 1, without the product array."""
    return np.einsum("ncl,ncl->nc", _ncl(a), _ncl(b)).sum(axis=0, dtype=np.float64
                                                        ).astype(a.dtype)


def _xhat_tensor(F: Any, x: Any, eps: float) -> tuple[Any, Any]:
    axes = _axes(len(x.shape))
    centred = x - F.mean(x, axes, True)
    rstd = 1.0 / F.sqrt(F.mean(centred * centred, axes, True) + eps)
    return centred * rstd, rstd


def _xhat(x: np.ndarray, mean: np.ndarray, rstd: np.ndarray) -> np.ndarray:
    """xhat recomputed from the input, in reused memory (valid until the next BatchNorm
    call): keeping it from the forward would cost a fresh array there."""
    shape = _shape(x)
    xhat = scratch("batch_norm", x.shape, np.result_type(x, rstd))
    np.subtract(x, mean.reshape(shape), out=xhat)
    xhat *= rstd.reshape(shape)
    return xhat


_sums = Memo()  # (weakref to g, the node's mean, (sum g, sum g xhat))


def _make_sums(g: np.ndarray, x: np.ndarray, mean: np.ndarray,
               rstd: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(sum g, sum g xhat, xhat) per channel; the sums are kept for the weight's and the
    bias's rules, which the engine calls next with the same ``g`` (held weakly)."""
    xhat = _xhat(x, mean, rstd)
    sums = (channel_sum(g), channel_dot(g, xhat))
    _sums.entry = (weakref.ref(g), mean, sums)
    return (*sums, xhat)


def _get_sums(g: np.ndarray, x: np.ndarray, mean: np.ndarray,
              rstd: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    e = _sums.entry
    if e and e[0]() is g and e[1] is mean:
        return e[2]
    return _make_sums(g, x, mean, rstd)[:2]


def _bn_x(F: Any, g: Any, y: Any, x: Any, weight: Any = None, bias: Any = None,
          eps: float = 1e-5, _mean: Any = None, _rstd: Any = None) -> Any:
    if not F.recording and _mean is not None:
        shape = _shape(x)
        m = x.size // x.shape[1]
        sum_g, dot, xhat = _make_sums(g, x, _mean, _rstd)
        scale = _rstd if weight is None else _rstd * weight
        # dx = scale (g - sum_g / m - xhat dot / m), the last two terms made in xhat's memory
        xhat *= (dot * scale / m).reshape(shape)
        xhat += (sum_g * scale / m).reshape(shape)
        d = g * scale.reshape(shape)
        d -= xhat
        return d
    axes = _axes(len(x.shape))
    xhat, rstd = _xhat_tensor(F, x, eps)
    dxhat = g if weight is None else g * F.reshape(weight, _shape(x))
    return rstd * (dxhat - F.mean(dxhat, axes, True)
                   - xhat * F.mean(dxhat * xhat, axes, True))


def _bn_weight(F: Any, g: Any, y: Any, x: Any, weight: Any = None, bias: Any = None,
               eps: float = 1e-5, _mean: Any = None, _rstd: Any = None) -> Any:
    if not F.recording and _mean is not None:
        return _get_sums(g, x, _mean, _rstd)[1]
    xhat, _ = _xhat_tensor(F, x, eps)
    return F.sum(g * xhat, _axes(len(x.shape)), False)


def _bn_bias(F: Any, g: Any, y: Any, x: Any, weight: Any = None, bias: Any = None,
             eps: float = 1e-5, _mean: Any = None, _rstd: Any = None) -> Any:
    if not F.recording and _mean is not None:
        return _get_sums(g, x, _mean, _rstd)[0]
    return F.sum(g, _axes(len(g.shape)), False)


@defop(_bn_x, _bn_weight, _bn_bias, sample=lambda d: _bn_sample(d), saves_out=False,
       label="batch_norm")
def batch_norm(input: Any, weight: Any = None, bias: Any = None,  # noqa: A002
               running_mean: np.ndarray | None = None, running_var: np.ndarray | None = None,
               momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Training-mode batch normalisation of (N, C, ...) over every axis but 1:
    y = weight (x - mean) / sqrt(var + eps) + bias, with the batch's mean and biased
    variance. Given ``running_mean``/``running_var`` (arrays of shape (C,)), moves them in
    place toward the batch's mean and unbiased variance: r <- (1 - momentum) r + momentum
    batch (PyTorch's convention; Keras' momentum m is PyTorch's 1 - m).
    """
    x = as_tensor(input)
    if x.ndim < 2 or x.size == x.shape[1]:
        raise ValueError(f"batch_norm: input of shape {x.shape} needs a channel axis 1 and "
                         "more than one value per channel to estimate a variance")
    c = x.shape[1]
    for name, t in (("weight", weight), ("bias", bias), ("running_mean", running_mean),
                    ("running_var", running_var)):
        if t is not None and np.shape(t.data if isinstance(t, Tensor) else t) != (c,):
            raise ValueError(f"batch_norm: {name} must have shape ({c},) for an input of "
                             f"shape {x.shape}")
    data = x.data
    m = data.size // c
    shape = _shape(x)
    mean = channel_sum(data) / m
    centred = scratch("batch_norm", data.shape, data.dtype)
    np.subtract(data, mean.reshape(shape), out=centred)
    var = channel_dot(centred, centred) / m
    rstd = (1.0 / np.sqrt(var + eps)).astype(data.dtype, copy=False)
    if running_mean is not None:
        running_mean *= 1.0 - momentum
        running_mean += momentum * mean
    if running_var is not None:
        running_var *= 1.0 - momentum
        running_var += (momentum * m / max(m - 1, 1)) * var
    # xhat lives in reused memory: the backward recomputes it from x (which the node keeps
    # anyway) rather than keep a fresh array per call. Rounded as xhat * weight, like the
    # numpy baseline: centred * (rstd weight) moved W6's third step by 1e-3 (ReLU kinks)
    centred *= rstd.reshape(shape)  # xhat
    out = centred * _data(weight).reshape(shape) if weight is not None else centred.copy()
    if bias is not None:
        out += _data(bias).reshape(shape)
    inputs = (x, weight, bias) if bias is not None else (x, weight) if weight is not None \
        else (x,)
    return apply(batch_norm.op, inputs, out, {"eps": eps, "_mean": mean, "_rstd": rstd})


def _data(t: Any) -> np.ndarray:
    return t.data if isinstance(t, Tensor) else np.asarray(t)


def _bn_sample(d: Any) -> tuple[tuple, dict]:
    n, c = d.integers(2, 3), d.integers(1, 2)
    shape = (n, c) + tuple(d.integers(1, 3) for _ in range(d.integers(0, 2)))
    args: tuple = (d.array(shape, "distinct"),)
    if d.boolean():
        args += (d.array((c,), "positive"), d.array((c,)))
    return args, {"eps": 1e-3}

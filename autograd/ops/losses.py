"""Losses, fused for speed and stability; their derivative rules are Tensor code too, so
losses can be differentiated twice.

cross_entropy goes through logsumexp, binary_cross_entropy_with_logits through softplus:
logits of +-1e4 give finite losses and gradients.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import kernels
from ..registry import defop
from ..tensor import Tensor, apply
from ._common import as_tensor, const

_REDUCTIONS = ("mean", "sum", "none")


def _reduce(op: str, per_item: np.ndarray, reduction: str) -> np.ndarray:
    if reduction == "mean":
        if per_item.size and per_item.dtype.itemsize >= 4:
            # ndarray.mean's own steps without its Python-level wrapper; float16 keeps
            # mean's float32 accumulator (its sum and count overflow at 65504)
            return np.asarray(np.add.reduce(per_item, axis=None) / per_item.size)
        return np.asarray(per_item.mean())
    if reduction == "sum":
        return np.asarray(per_item.sum())
    if reduction == "none":
        return per_item
    raise ValueError(f"{op}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def _per_item(F: Any, g: Any, shape: tuple[int, ...], reduction: str) -> Any:
    """The gradient reaching each item of the unreduced loss (of ``shape``)."""
    if reduction == "none":
        return g
    g = F.broadcast_to(g, shape)
    if reduction == "mean":
        return g * (1.0 / max(int(np.prod(shape)), 1))
    return g


def _onehot_or_probs(F: Any, target: Any, logits: Any) -> Any:
    t = F.raw(target)
    if t.dtype.kind in "iu":
        onehot = np.zeros(logits.shape, dtype=F.raw(logits).dtype)
        np.put_along_axis(onehot, t[..., None], 1.0, axis=-1)
        return onehot
    return target


def _ce_logits_vjp(F: Any, g: Any, y: Any, z: Any, target: Any, reduction: str = "mean",
                   _softmax: np.ndarray | None = None, _rows: np.ndarray | None = None) -> Any:
    # d/dz_j of sum_j p_j (lse - z_j) = softmax_j * sum(p) - p_j; with one-hot labels this
    # is lecture eq. 32, dJ/da_j = (1/n) sum_i (p_j(a_i) - y_ij).
    if not F.recording and _softmax is not None:
        return _ce_logits_grad_array(g, target, _softmax, reduction, _rows)
    p = _onehot_or_probs(F, target, z)
    gl = _per_item(F, g, z.shape[:-1], reduction)
    psum = F.sum(p, -1, True)
    return F.reshape(gl, gl.shape + (1,)) * (F.softmax(z, -1) * psum - p)


def _ce_logits_grad_array(g: np.ndarray, target: np.ndarray, probs: np.ndarray,
                          reduction: str, rows: np.ndarray | None) -> np.ndarray:
    """The same gradient from the forward pass's softmax (and its row numbers, for
    integer labels), in place: the training hot path."""
    if target.dtype.kind in "iu":
        d = probs.copy()
        if d.ndim == 1:
            d[target] -= 1
        else:
            d[rows, target] -= 1
    else:
        d = probs * target.sum(axis=-1, keepdims=True) - target
    if reduction == "none":
        d *= g[..., None]
    elif reduction == "mean":
        d *= g * (1.0 / max(probs.size // probs.shape[-1], 1))
    else:
        d *= g
    return d


def _ce_target_vjp(F: Any, g: Any, y: Any, z: Any, target: Any, reduction: str = "mean",
                   _softmax: np.ndarray | None = None, _rows: np.ndarray | None = None) -> Any:
    gl = _per_item(F, g, z.shape[:-1], reduction)
    return -F.reshape(gl, gl.shape + (1,)) * F.log_softmax(z, -1)


@defop(_ce_logits_vjp, _ce_target_vjp, sample=lambda d: _ce_sample(d), saves_out=False)
def cross_entropy(logits: Any, target: Any, reduction: str = "mean") -> Tensor:
    """Softmax cross-entropy (lecture eqs. 22, 31) from unnormalised logits.

    ``logits`` has shape (N, C) (or (C,) for one sample). ``target`` is either integer class
    labels of shape (N,) in [0, C), or class probabilities of shape (N, C) (one-hot or soft).
    J_i = logsumexp(a_i) - sum_j y_ij a_ij; ``reduction`` is 'mean' (the lecture's 1/n),
    'sum' or 'none'. The gradient is (softmax(a) - y)/n (eq. 32).
    """
    z = as_tensor(logits)
    if z.ndim not in (1, 2):
        raise ValueError(f"cross_entropy: logits must have shape (N, C) or (C,), got {z.shape}")
    n_classes = z.shape[-1]
    if n_classes == 0:
        raise ValueError(f"cross_entropy: logits of shape {z.shape} have no classes")
    tgt = target if isinstance(target, Tensor) else np.asarray(target)
    td = tgt._data if isinstance(tgt, Tensor) else tgt
    if td.dtype.kind == "f" and td.shape == z.shape[:-1] and td.shape != z.shape:
        raise TypeError(f"cross_entropy: float targets of shape {td.shape} look like class "
                        "labels; labels must be integers (target.astype(int)), float targets "
                        f"are class probabilities of the logits' shape {z.shape}")
    probs, lse = kernels.softmax_and_logsumexp(z._data)
    rows = None
    if td.dtype.kind in "iu":
        if td.shape != z.shape[:-1]:
            raise ValueError(f"cross_entropy: labels of shape {td.shape} do not match logits of "
                             f"shape {z.shape}; expected labels of shape {z.shape[:-1]}")
        try:
            if td.size and td.min() < 0:  # indexing would wrap these around silently
                raise IndexError
            rows = None if z.ndim == 1 else np.arange(len(td))
            picked = z._data[td] if rows is None else z._data[rows, td]
        except IndexError:  # a label below 0 or at least n_classes
            raise ValueError(f"cross_entropy: labels must lie in [0, {n_classes}) for "
                             f"{n_classes} classes, got values in [{td.min()}, {td.max()}]"
                             ) from None
        per_item = lse - picked
        target_in = td
    elif td.dtype.kind == "f":
        if td.shape != z.shape:
            raise ValueError(f"cross_entropy: class probabilities of shape {td.shape} must "
                             f"match logits of shape {z.shape}")
        per_item = lse * td.sum(axis=-1) - np.sum(td * z._data, axis=-1)
        target_in = tgt if isinstance(tgt, Tensor) else const(td, z.dtype)
    else:
        raise TypeError(f"cross_entropy: target must be integer labels or float probabilities, "
                        f"got dtype {td.dtype}")
    data = _reduce("cross_entropy", per_item.astype(z.dtype, copy=False), reduction)
    return apply(cross_entropy.op, (z, target_in), data,
                 {"reduction": reduction, "_softmax": probs, "_rows": rows})


def _ce_sample(d: Any) -> tuple[tuple, dict]:
    n, c = d.integers(1, 4), d.integers(2, 4)
    target = d.choice(["labels", "probs"])
    tgt = d.labels((n,), c) if target == "labels" else d.probabilities((n, c))
    return (d.array((n, c)), tgt), {"reduction": d.choice(list(_REDUCTIONS))}


def _bce_z_vjp(F: Any, g: Any, out: Any, z: Any, t: Any, reduction: str = "mean") -> Any:
    return _per_item(F, g, z.shape, reduction) * (F.sigmoid(z) - t)


def _bce_t_vjp(F: Any, g: Any, out: Any, z: Any, t: Any, reduction: str = "mean") -> Any:
    return -_per_item(F, g, z.shape, reduction) * z


@defop(_bce_z_vjp, _bce_t_vjp, sample=lambda d: _bce_sample(d), saves_out=False)
def binary_cross_entropy_with_logits(logits: Any, target: Any,
                                     reduction: str = "mean") -> Tensor:
    """Binary cross-entropy (lecture eq. 24) of sigmoid(z) against targets y in [0, 1].

    Computed as softplus(z) - z y, which never overflows; the gradient is sigmoid(z) - y.
    """
    z = as_tensor(logits)
    t = target if isinstance(target, Tensor) else const(np.asarray(target), z.dtype)
    td = t._data if isinstance(t, Tensor) else t
    if td.shape != z.shape:
        raise ValueError(f"binary_cross_entropy_with_logits: target shape {td.shape} must "
                         f"match logits shape {z.shape}")
    per_item = kernels.softplus(z._data) - z._data * td
    return apply(binary_cross_entropy_with_logits.op, (z, t),
                 _reduce("binary_cross_entropy_with_logits", per_item, reduction),
                 {"reduction": reduction})


def _bce_sample(d: Any) -> tuple[tuple, dict]:
    shape = d.shape(min_dims=1)
    return (d.array(shape), d.array(shape, "unit")), {"reduction": d.choice(list(_REDUCTIONS))}


@defop(lambda F, g, y, a, b, reduction="mean": _per_item(F, g, a.shape, reduction) * 2 * (a - b),
       lambda F, g, y, a, b, reduction="mean": _per_item(F, g, a.shape, reduction) * 2 * (b - a),
       sample=lambda d: _mse_sample(d), saves_out=False)
def mse_loss(input: Any, target: Any, reduction: str = "mean") -> Tensor:  # noqa: A002
    """Mean squared error, (1/n) sum (x - y)^2 (lecture eq. 9 up to the factor 1/2)."""
    a = as_tensor(input)
    b = target if isinstance(target, Tensor) else const(np.asarray(target), a.dtype)
    bd = b._data if isinstance(b, Tensor) else b
    if bd.shape != a.shape:
        raise ValueError(f"mse_loss: input shape {a.shape} and target shape {bd.shape} must "
                         "match (broadcasting here usually hides a bug); reshape one of them")
    diff = a._data - bd
    return apply(mse_loss.op, (a, b), _reduce("mse_loss", diff * diff, reduction),
                 {"reduction": reduction})


def _mse_sample(d: Any) -> tuple[tuple, dict]:
    shape = d.shape()
    return (d.array(shape), d.array(shape)), {"reduction": d.choice(list(_REDUCTIONS))}

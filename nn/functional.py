"""Stateless forms of the layers and losses: ``nn.functional`` (PyTorch's name).

Everything here is composed from autograd's public ops, so every function is
differentiable (twice, where its ops are) without a hand-written backward.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

import autograd as ag
from autograd import leaky_relu, log_softmax, relu, sigmoid, softmax, tanh

from ._util import as_rng

__all__ = ["batch_norm", "binary_cross_entropy_with_logits", "conv2d", "cross_entropy",
           "dropout", "flatten", "huber_loss", "l1_penalty", "l2_penalty", "leaky_relu",
           "linear", "log_softmax", "mse_loss", "nll_loss", "relu", "sigmoid", "softmax",
           "tanh"]

cross_entropy = ag.cross_entropy
mse_loss = ag.mse_loss
binary_cross_entropy_with_logits = ag.binary_cross_entropy_with_logits


def nll_loss(log_probs: ag.Tensor, target: Any, reduction: str = "mean") -> ag.Tensor:
    """Negative log-likelihood of integer labels under log-probabilities (N, C):
    -log_probs[i, target_i], averaged (PyTorch's ``nll_loss``). ``nll_loss(log_softmax(z),
    y)`` equals ``cross_entropy(z, y)``; the lecture derives both from maximum likelihood."""
    log_probs = log_probs if isinstance(log_probs, ag.Tensor) else ag.Tensor(log_probs)
    labels = np.asarray(target.data if isinstance(target, ag.Tensor) else target)
    if log_probs.ndim != 2:
        raise ValueError(f"nll_loss: log-probabilities must have shape (N, C), got "
                         f"{log_probs.shape}")
    if labels.dtype.kind not in "iu" or labels.shape != log_probs.shape[:1]:
        raise ValueError(f"nll_loss: target must be integer labels of shape "
                         f"{log_probs.shape[:1]}, got dtype {labels.dtype} shape {labels.shape}")
    n_classes = log_probs.shape[1]
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(f"nll_loss: labels must lie in [0, {n_classes}), got values from "
                         f"{labels.min()} to {labels.max()}")
    onehot = np.zeros(log_probs.shape, log_probs.dtype)
    onehot[np.arange(len(labels)), labels] = 1.0
    per_item = -(log_probs * onehot).sum(axis=1)
    if reduction == "none":
        return per_item
    if reduction == "sum":
        return per_item.sum()
    if reduction == "mean":
        return per_item.mean()
    raise ValueError(f"nll_loss: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def linear(x: Any, weight: ag.Tensor, bias: ag.Tensor | None = None) -> ag.Tensor:
    """x W^T + b: lecture eq. 6 z = W x + b for a batch of row vectors x (one fused
    op, ``autograd.linear``)."""
    return ag.linear(x, weight, bias)


def flatten(x: ag.Tensor, start_dim: int = 1) -> ag.Tensor:
    """Merge all axes from ``start_dim`` on into one (the batch axis stays)."""
    return x.reshape(x.shape[:start_dim] + (-1,))


def dropout(x: ag.Tensor, p: float = 0.5, training: bool = True,
            rng: Any = None) -> ag.Tensor:
    """Zero each entry with probability ``p`` and scale the rest by 1/(1-p) (inverted
    dropout), so evaluation needs no rescaling. Identity when not training or p == 0."""
    if not 0.0 <= p < 1.0:
        raise ValueError(f"dropout: p must lie in [0, 1), got {p}")
    if not isinstance(x, ag.Tensor):
        x = ag.Tensor(x)
    if not training or p == 0.0:
        return x
    keep = as_rng(rng).random(x.shape) >= p
    return x * (keep / (1.0 - p)).astype(x.dtype)


def _pair(v: Any, what: str) -> tuple[int, int]:
    pair = (int(v), int(v)) if np.ndim(v) == 0 else tuple(int(a) for a in v)
    if len(pair) != 2:
        raise ValueError(f"conv2d: {what} must be an int or a pair, got {v!r}")
    return pair  # type: ignore[return-value]


def same_padding(kernel_size: tuple[int, int], dilation: Any = 1
                 ) -> tuple[tuple[int, int], tuple[int, int]]:
    """The padding that keeps H x W at stride 1: d (k - 1) zeros per axis, the odd one
    after (PyTorch's and TensorFlow's "same"; a 12-row kernel gets 5 rows above, 6 below)."""
    dh, dw = _pair(dilation, "dilation")
    totals = (dh * (kernel_size[0] - 1), dw * (kernel_size[1] - 1))
    return tuple((t // 2, t - t // 2) for t in totals)  # type: ignore[return-value]


def conv2d(x: ag.Tensor, weight: ag.Tensor, bias: ag.Tensor | None = None, stride: Any = 1,
           padding: Any = 0, dilation: Any = 1) -> ag.Tensor:
    """2-d cross-correlation (what deep learning calls convolution), PyTorch's layout.

    x (N, C, H, W), weight (O, C, kh, kw), bias (O,) -> (N, O, H', W') with
    H' = (H + top + bottom - dh (kh - 1) - 1) // sh + 1. ``padding``: an int, a pair,
    ((top, bottom), (left, right)), or "same" / "valid". One op, ``autograd.conv2d``:
    one matrix product over the whole batch forward, and one for each gradient.
    """
    if isinstance(padding, str):
        if padding == "valid":
            padding = 0
        elif padding == "same":
            if _pair(stride, "stride") != (1, 1):
                raise ValueError(f"conv2d: padding='same' needs stride 1, got {stride!r}")
            padding = same_padding(tuple(weight.shape[2:]), dilation)
        else:
            raise ValueError(f"conv2d: padding must be a number, pairs, 'same' or 'valid', "
                             f"got {padding!r}")
    return ag.conv2d(x, weight, bias, stride, padding, dilation)


def batch_norm(x: ag.Tensor, running_mean: ag.Tensor | None, running_var: ag.Tensor | None,
               weight: ag.Tensor | None = None, bias: ag.Tensor | None = None,
               training: bool = False, momentum: float = 0.1,
               eps: float = 1e-5) -> ag.Tensor:
    """Normalise each channel (axis 1) over the batch and spatial axes, then scale and shift.

    Training uses the batch's mean and (biased) variance, and moves the running estimates
    toward them in place: r <- (1 - momentum) r + momentum * batch (the variance unbiased,
    as PyTorch). Evaluation uses the running estimates, so it is a fixed affine map.
    """
    shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    if training:  # one op with a closed-form backward (autograd.batch_norm)
        return ag.batch_norm(x, weight, bias,
                             None if running_mean is None else running_mean.data,
                             None if running_var is None else running_var.data, momentum, eps)
    if running_mean is None or running_var is None:
        raise ValueError("batch_norm: evaluation needs running_mean and running_var")
    scale = 1.0 / np.sqrt(running_var.data + eps)
    out = (x - running_mean.data.reshape(shape)) * scale.reshape(shape).astype(x.dtype)
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out


def huber_loss(input: ag.Tensor, target: Any, delta: float = 1.0,  # noqa: A002
               reduction: str = "mean") -> ag.Tensor:
    """Huber loss: d^2/2 for |d| <= delta, delta (|d| - delta/2) beyond; d = input - target.

    Written as q^2/2 + delta (|d| - q) with q = min(|d|, delta), which is smooth at |d| =
    delta and differentiable everywhere (quadratic near 0, linear in the tails).
    """
    t = target.data if isinstance(target, ag.Tensor) else np.asarray(target)
    if t.shape != input.shape:
        raise ValueError(f"huber_loss: input shape {input.shape} and target shape {t.shape} "
                         "must match; reshape one of them")
    d = input - target
    ad = d.abs()
    q = ag.minimum(ad, delta)
    per_item = 0.5 * q * q + delta * (ad - q)
    if reduction == "mean":
        return per_item.mean()
    if reduction == "sum":
        return per_item.sum()
    if reduction == "none":
        return per_item
    raise ValueError(f"huber_loss: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def l1_penalty(parameters: Iterable[ag.Tensor], weight: float = 1.0) -> ag.Tensor:
    """weight * sum_p sum |p| (lasso): add to a loss to push weights to exactly zero."""
    return weight * _total(p.abs().sum() for p in parameters)


def l2_penalty(parameters: Iterable[ag.Tensor], weight: float = 1.0) -> ag.Tensor:
    """weight * sum_p sum p^2 (ridge, weight decay as a loss term; gradient 2 weight p)."""
    return weight * _total((p * p).sum() for p in parameters)


def _total(terms: Iterable[ag.Tensor]) -> ag.Tensor:
    total = None
    for t in terms:
        total = t if total is None else total + t
    if total is None:
        raise ValueError("penalty: no parameters given (an exhausted generator?); pass "
                         "list(model.parameters())")
    return total

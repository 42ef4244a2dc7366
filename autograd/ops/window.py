"""Ops for convolutions: zero padding, and sliding windows with their adjoint.

``sliding_window`` turns a convolution into a product (im2col): every window of the last
``k`` axes becomes an entry of new trailing axes, so Conv2d is one ``einsum`` away.
``fold_windows`` is its adjoint: it scatter-adds windows back to where they came from,
with overlapping windows accumulating. Each is the other's derivative, so both are
twice differentiable. ``pad``'s derivative is a slice (``getitem``).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import product
from typing import Any

import numpy as np

from ..registry import defop
from ..tensor import Tensor, apply
from ._common import as_tensor


def _pad_widths(ndim: int, pad_width: Any) -> tuple[tuple[int, int], ...]:
    widths = np.broadcast_to(np.asarray(pad_width, dtype=np.int64), (ndim, 2))
    if (widths < 0).any():
        raise ValueError(f"pad: pad widths must be >= 0, got {pad_width}")
    return tuple((int(a), int(b)) for a, b in widths)


def _unpad(F: Any, g: Any, y: Any, x: Any, pad_width: tuple) -> Any:
    return F.getitem(g, tuple(slice(a, a + n) for (a, _), n in zip(pad_width, x.shape)))


@defop(_unpad, sample=lambda d: _pad_sample(d), saves=(), saves_out=False)
def pad(x: Any, pad_width: Any) -> Tensor:
    """Zero padding, as ``numpy.pad(x, pad_width)``: ``pad_width`` is an int, a
    ``(before, after)`` pair, or one pair per axis. The gradient is the unpadded slice."""
    x = as_tensor(x)
    try:
        widths = _pad_widths(x.ndim, pad_width)
    except ValueError as e:
        if "pad widths" in str(e):
            raise
        raise ValueError(f"pad: pad_width {pad_width!r} does not fit a tensor of shape "
                         f"{x.shape}; give an int, a (before, after) pair, or one pair "
                         "per axis") from e
    return apply(pad.op, (x,), np.pad(x.data, widths), {"pad_width": widths})


def _pad_sample(d: Any) -> tuple[tuple, dict]:
    shape = d.shape(min_dims=1)
    widths = tuple((d.integers(0, 2), d.integers(0, 2)) for _ in shape)
    return (d.array(shape),), {"pad_width": widths}


def _window_geometry(op: str, spatial: tuple[int, ...], window: Sequence[int],
                     stride: Any) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    """(window, stride, number of windows) per axis, validated."""
    window = tuple(int(w) for w in window)
    k = len(window)
    strides = (int(stride),) * k if np.ndim(stride) == 0 else tuple(int(s) for s in stride)
    if len(strides) != k or len(spatial) != k:
        raise ValueError(f"{op}: window {window} and stride {strides} must name the same "
                         f"number of trailing axes as the input has ({spatial})")
    if min(window, default=1) < 1 or min(strides, default=1) < 1:
        raise ValueError(f"{op}: window sizes and strides must be >= 1, got window {window} "
                         f"and stride {strides}")
    if any(w > s for w, s in zip(window, spatial)):
        raise ValueError(f"{op}: window {window} is larger than the input's trailing axes "
                         f"{spatial}; pad the input or use a smaller window")
    count = tuple((s - w) // st + 1 for s, w, st in zip(spatial, window, strides))
    return window, strides, count


def _windows_kernel(x: np.ndarray, window: tuple, stride: tuple) -> np.ndarray:
    k = len(window)
    view = np.lib.stride_tricks.sliding_window_view(x, window, axis=tuple(range(-k, 0)))
    lead = (slice(None),) * (x.ndim - k)
    return view[lead + tuple(slice(None, None, s) for s in stride)]


def _fold_kernel(cols: np.ndarray, shape: tuple, window: tuple, stride: tuple) -> np.ndarray:
    k = len(window)
    lead_shape = cols.shape[:cols.ndim - 2 * k]
    count = cols.shape[cols.ndim - 2 * k:cols.ndim - k]
    out = np.zeros(lead_shape + tuple(shape), dtype=cols.dtype)
    lead = (Ellipsis,)
    # One vectorised add per window offset (kh * kw of them), never one per window.
    for offset in product(*(range(w) for w in window)):
        dst = tuple(slice(o, o + s * (n - 1) + 1, s) for o, s, n in zip(offset, stride, count))
        out[lead + dst] += cols[lead + offset]
    return out


def _window_vjp(F: Any, g: Any, y: Any, x: Any, window: tuple, stride: tuple) -> Any:
    shape = tuple(x.shape[len(x.shape) - len(window):])
    if isinstance(g, Tensor):
        return fold_windows(g, shape, window, stride)
    return _fold_kernel(g, shape, window, stride)


@defop(_window_vjp, sample=lambda d: _window_sample(d, fold=False), label="windows",
       saves=(), saves_out=False)
def sliding_window(x: Any, window: Sequence[int], stride: Any = 1) -> Tensor:
    """All windows of size ``window`` over the last ``len(window)`` axes, ``stride`` apart.

    Shape (*lead, S1..Sk) -> (*lead, O1..Ok, K1..Kk) with Oi = (Si - Ki) // stride + 1,
    the layout of ``numpy.lib.stride_tricks.sliding_window_view`` (a read-only view, no
    copy). A convolution is then ``einsum('nchwij,ocij->nohw', windows, weight)``.
    """
    x = as_tensor(x)
    window, strides, _ = _window_geometry("sliding_window", x.shape[x.ndim - len(window):],
                                          window, stride)
    return apply(sliding_window.op, (x,), _windows_kernel(x.data, window, strides),
                 {"window": window, "stride": strides})


def _fold_vjp(F: Any, g: Any, y: Any, cols: Any, shape: tuple, window: tuple,
              stride: tuple) -> Any:
    if isinstance(g, Tensor):
        return sliding_window(g, window, stride)
    return _windows_kernel(g, window, stride)


@defop(_fold_vjp, sample=lambda d: _window_sample(d, fold=True), label="fold", saves=(),
       saves_out=False)
def fold_windows(cols: Any, shape: Sequence[int], window: Sequence[int],
                 stride: Any = 1) -> Tensor:
    """The adjoint of ``sliding_window``: windows (*lead, O1..Ok, K1..Kk) added back into
    zeros of shape (*lead, *shape); where windows overlap their entries accumulate."""
    cols = as_tensor(cols)
    shape = tuple(int(s) for s in shape)
    k = len(shape)
    window, strides, count = _window_geometry("fold_windows", shape, window, stride)
    if cols.ndim < 2 * k or cols.shape[cols.ndim - 2 * k:] != count + window:
        raise ValueError(f"fold_windows: windows of shape {cols.shape} do not fit output "
                         f"{shape} with window {window} and stride {strides}; expected "
                         f"trailing axes {count + window}")
    return apply(fold_windows.op, (cols,), _fold_kernel(cols.data, shape, window, strides),
                 {"shape": shape, "window": window, "stride": strides})


def _window_sample(d: Any, fold: bool) -> tuple[tuple, dict]:
    shape = d.shape(min_dims=1)
    k = d.integers(1, min(2, len(shape)))
    spatial = shape[len(shape) - k:]
    window = tuple(d.integers(1, s) for s in spatial)
    stride = tuple(d.integers(1, 2) for _ in spatial)
    if not fold:
        return (d.array(shape),), {"window": window, "stride": stride}
    count = tuple((s - w) // st + 1 for s, w, st in zip(spatial, window, stride))
    cols = shape[:len(shape) - k] + count + window
    return (d.array(cols),), {"shape": spatial, "window": window, "stride": stride}

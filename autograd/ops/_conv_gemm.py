"""Array kernels of 2-d convolution: the forward product and both backward products, each
one matrix product (GEMM) per call over the whole batch.

Two ways to lay a convolution out as one GEMM:

* **im2col** (any kernel): gather every window into a (C*kh*kw, N*H'*W') matrix; the
  forward is W (O, C*kh*kw) @ cols, the weight gradient G @ cols^T, and the input
  gradient W^T @ G scattered back with one vectorised add per kernel offset (col2im).
* **band** (a kernel that slides along one axis only, and spans most of it: the 12x1 and
  1x15 kernels of the Hodge-number networks): along that axis a convolution is a banded
  (O*A', C*A) matrix T acting on the input laid out as (C*A, N*B), A the convolved axis
  and B the other. T is built from the kernel with one small product, the input needs
  only a transpose (no window copies), and padding costs nothing: a padded row is a row
  of T that is not there. When A is at most ``BAND_RATIO`` times the kernel, T's zeros cost
  no more than im2col's padded windows.

Layouts are chosen so that every GEMM operand is contiguous; outputs are returned as
transposed views in (N, C, H, W) order (the next op copies them once, if at all).
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import numpy as np

BAND_RATIO = 1.5


class Geometry(NamedTuple):
    """stride (sh, sw), padding ((top, bottom), (left, right)), dilation (dh, dw)."""

    stride: tuple[int, int]
    padding: tuple[tuple[int, int], tuple[int, int]]
    dilation: tuple[int, int]


def out_size(n: int, k: int, stride: int, pad: tuple[int, int], dilation: int) -> int:
    return (n + pad[0] + pad[1] - dilation * (k - 1) - 1) // stride + 1


def out_shape(xshape: tuple, wshape: tuple, geo: Geometry) -> tuple[int, int, int, int]:
    n, _, h, w = xshape
    o, _, kh, kw = wshape
    return (n, o, out_size(h, kh, geo.stride[0], geo.padding[0], geo.dilation[0]),
            out_size(w, kw, geo.stride[1], geo.padding[1], geo.dilation[1]))


def band_axis(xshape: tuple, wshape: tuple, geo: Geometry) -> int | None:
    """The axis (2 or 3) a one-axis kernel slides along, when the band layout pays."""
    for axis, other in ((2, 3), (3, 2)):
        j = other - 2
        if (wshape[other] == 1 and geo.stride[j] == 1 and geo.padding[j] == (0, 0)
                and xshape[axis] <= BAND_RATIO * wshape[axis]):
            return axis
    return None


# ------------------------------------------------------------------ band layout
def _perm(axis: int) -> tuple[int, int, int, int]:
    """(N, C, H, W) -> (C, A, N, B): channels, the convolved axis, batch, the other axis."""
    return (1, axis, 0, 5 - axis)


_UNPERM = {2: (2, 0, 1, 3), 3: (2, 0, 3, 1)}  # the inverse of _perm(axis)


@lru_cache(maxsize=64)
def _band_selector(a: int, a_out: int, k: int, stride: int, pad: int, dilation: int,
                   dtype: np.dtype) -> np.ndarray:
    """S (k, A'*A): S[i, a'*A + r] = 1 where output position a' reads input position r
    through kernel tap i (r = a' stride + i dilation - pad), 0 elsewhere."""
    s = np.zeros((k, a_out, a), dtype)
    for i in range(k):
        r = np.arange(a_out) * stride + i * dilation - pad
        ok = (r >= 0) & (r < a)
        s[i, np.nonzero(ok)[0], r[ok]] = 1
    s.setflags(write=False)
    return s.reshape(k, a_out * a)


def _band(w: np.ndarray, xshape: tuple, axis: int, geo: Geometry) -> tuple:
    """The band matrix T (O*A', C*A) of kernel ``w`` and the selector that built it."""
    o, c = w.shape[:2]
    k, a, j = w.shape[axis], xshape[axis], axis - 2
    a_out = out_size(a, k, geo.stride[j], geo.padding[j], geo.dilation[j])
    sel = _band_selector(a, a_out, k, geo.stride[j], geo.padding[j][0], geo.dilation[j],
                         w.dtype)
    t = (w.reshape(o * c, k) @ sel).reshape(o, c, a_out, a)
    return t.transpose(0, 2, 1, 3).reshape(o * a_out, c * a), sel, a_out


def _band_rows(x: np.ndarray, axis: int) -> np.ndarray:
    """x (N, C, H, W) as the (C*A, N*B) matrix of the band layout (one copy)."""
    t = x.transpose(_perm(axis))
    return t.reshape(t.shape[0] * t.shape[1], -1)


# ------------------------------------------------------------------ im2col layout
def _padded(x: np.ndarray, geo: Geometry) -> np.ndarray:
    (pt, pb), (pl, pr) = geo.padding
    if pt or pb or pl or pr:
        return np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    return x


def _cols(x: np.ndarray, wshape: tuple, geo: Geometry) -> np.ndarray:
    """Every window of x as a column: (C*kh*kw, N*H'*W'), one copy."""
    n, c = x.shape[:2]
    _, _, kh, kw = wshape
    _, _, oh, ow = out_shape(x.shape, wshape, geo)
    xp = _padded(x, geo)
    sn, sc, sh, sw = xp.strides
    (st_h, st_w), (dh, dw) = geo.stride, geo.dilation
    view = np.lib.stride_tricks.as_strided(
        xp, (c, kh, kw, n, oh, ow), (sc, sh * dh, sw * dw, sn, sh * st_h, sw * st_w),
        writeable=False)
    return view.reshape(c * kh * kw, n * oh * ow)


def _fold_cols(dcols: np.ndarray, xshape: tuple, wshape: tuple, geo: Geometry) -> np.ndarray:
    """The adjoint of ``_cols``: columns (C*kh*kw, N*H'*W') added back into x's shape,
    one vectorised add per kernel offset (kh*kw of them)."""
    n, c, h, w = xshape
    _, _, kh, kw = wshape
    _, _, oh, ow = out_shape(xshape, wshape, geo)
    (pt, pb), (pl, pr) = geo.padding
    (st_h, st_w), (dh, dw) = geo.stride, geo.dilation
    out = np.zeros((n, c, h + pt + pb, w + pl + pr), dcols.dtype)
    d = dcols.reshape(c, kh, kw, n, oh, ow)
    for i in range(kh):
        for j in range(kw):
            out[:, :, i * dh:i * dh + st_h * (oh - 1) + 1:st_h,
                j * dw:j * dw + st_w * (ow - 1) + 1:st_w] += d[:, i, j].transpose(1, 0, 2, 3)
    return out[:, :, pt:pt + h, pl:pl + w]


# ------------------------------------------------------------------ the three products
def forward(x: np.ndarray, w: np.ndarray, b: np.ndarray | None, geo: Geometry) -> np.ndarray:
    """y (N, O, H', W') = conv(x, w) + b, as a transposed view of one GEMM's output."""
    o = w.shape[0]
    axis = band_axis(x.shape, w.shape, geo)
    if axis is not None:
        t, _, a_out = _band(w, x.shape, axis, geo)
        y = t @ _band_rows(x, axis)  # (O*A', N*B)
        if b is not None:
            y.reshape(o, -1)[...] += b[:, None]
        b_size = x.shape[5 - axis]
        return y.reshape(o, a_out, x.shape[0], b_size).transpose(_UNPERM[axis])
    n, _, oh, ow = out_shape(x.shape, w.shape, geo)
    y = w.reshape(o, -1) @ _cols(x, w.shape, geo)  # (O, N*H'*W')
    if b is not None:
        y += b[:, None]
    return y.reshape(o, n, oh, ow).transpose(1, 0, 2, 3)


def _grad_rows(g: np.ndarray, axis: int | None) -> np.ndarray:
    """The output gradient (N, O, H', W') in the layout of its layer's GEMM (one copy)."""
    if axis is not None:
        return _band_rows(g, axis)
    t = g.transpose(1, 0, 2, 3)
    return t.reshape(t.shape[0], -1)


def input_grad(g: np.ndarray, w: np.ndarray, xshape: tuple, geo: Geometry) -> np.ndarray:
    """dL/dx (of shape ``xshape``) from dL/dy = g: the transposed convolution."""
    axis = band_axis(xshape, w.shape, geo)
    if axis is not None:
        t, _, _ = _band(w, xshape, axis, geo)
        dx = t.T @ _grad_rows(g, axis)  # (C*A, N*B)
        c, a, n, b = (xshape[i] for i in _perm(axis))
        return dx.reshape(c, a, n, b).transpose(_UNPERM[axis])
    dcols = w.reshape(w.shape[0], -1).T @ _grad_rows(g, None)
    return _fold_cols(dcols, xshape, w.shape, geo)


def weight_grad(x: np.ndarray, g: np.ndarray, wshape: tuple, geo: Geometry) -> np.ndarray:
    """dL/dw (of shape ``wshape``) from the input x and dL/dy = g."""
    axis = band_axis(x.shape, wshape, geo)
    if axis is not None:
        o, c, k = wshape[0], wshape[1], wshape[axis]
        rows = _grad_rows(g, axis)  # (O*A', N*B)
        dt = rows @ _band_rows(x, axis).T  # (O*A', C*A)
        a_out, a = rows.shape[0] // o, x.shape[axis]
        j = axis - 2
        sel = _band_selector(a, a_out, k, geo.stride[j], geo.padding[j][0], geo.dilation[j],
                             dt.dtype)
        folded = dt.reshape(o, a_out, c, a).transpose(0, 2, 1, 3).reshape(o * c, a_out * a)
        return (folded @ sel.T).reshape(wshape)
    return (_grad_rows(g, None) @ _cols(x, wshape, geo).T).reshape(wshape)

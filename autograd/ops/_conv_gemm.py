"""Array kernels of 2-d convolution: the forward product and both backward products as
matrix products (GEMMs) over the whole batch at once, never one per sample.

Two layouts:

* **im2col** (any kernel): gather every window into a (C*kh*kw, N*H'*W') matrix; the
  forward is W (O, C*kh*kw) @ cols, the weight gradient G @ cols^T, and the input
  gradient W^T @ G scattered back with one vectorised add per kernel offset (col2im).
  One GEMM per product.
* **rows** (a kernel that slides along one axis only, stride and dilation 1 there: the
  12x1 and 1x15 "same" kernels of the Hodge-number networks): with the input laid out
  as (A, C, N*B), A the convolved axis and B the other, the taps that reach one output
  row read a contiguous block of input rows, so each output row is one GEMM over the whole
  batch, (O, n*C) @ (n*C, N*B), written in place, and likewise each input row of the input
  gradient and each output row's share of the weight gradient. No window is copied, and
  padding costs nothing: a padded row is a row that is not read. For a 12-row kernel with
  "same" padding over 12 rows that skips 36 of 144 row pairs (56 of 225 for 1x15 over 15
  columns), the zeros im2col multiplies. Blocks of 2-4 output rows per GEMM (larger
  products, some zeros back) measured no faster on this machine.
* **DFT** (the same kernels with many channels, ``_conv_dft``): the rows layout's matrix
  taken along the convolved axis into the planes of a short DFT (three real products per
  complex bin, Gauss's trick), where each product is one GEMM per plane: 26 O C
  multiplications per column against the rows layout's 108 (12x1 over 12 rows) and 32
  against 169 (1x15 over 15). Chosen by a count of multiplications
  (``_conv_dft.worth``): the first Hodge layer (one channel) stays in the rows layout.

Outputs are returned as transposed views in (N, C, H, W) order (the next op copies them
once, if at all).
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import numpy as np

from . import _conv_dft as D
from ._scratch import Memo, scratch


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


def rows_axis(wshape: tuple, geo: Geometry) -> int | None:
    """The axis (2 or 3) a one-axis kernel slides along with stride and dilation 1 there
    and nothing done along the other axis, or None (then im2col)."""
    for axis, other in ((2, 3), (3, 2)):
        i, j = axis - 2, other - 2
        if (wshape[other] == 1 and wshape[axis] > 1 and geo.stride == (1, 1)
                and geo.dilation[i] == 1 and geo.padding[j] == (0, 0)):
            return axis
    return None


# ------------------------------------------------------------------ rows layout
_INVERSE = {2: (2, 1, 0, 3), 3: (2, 1, 3, 0)}  # undoes x.transpose(axis, 1, 0, other)


def _rows(x: np.ndarray, axis: int, temporary: bool = False) -> np.ndarray:
    """x (N, C, H, W) as the (A*C, N*B) matrix of the rows layout (one copy; into reused
    memory when the caller drops it before returning)."""
    t = x.transpose(axis, 1, 0, 5 - axis)
    if temporary:
        out = scratch("rows", t.shape, x.dtype)
        np.copyto(out, t)
    else:
        out = np.ascontiguousarray(t)
    return out.reshape(t.shape[0] * t.shape[1], -1)


def _spectral(a: int, a_out: int, k: int, pad: int, c: int, o: int,
              dtype: np.dtype) -> D.Plan | None:
    """The DFT plan when the bins are cheaper than the rows layout's GEMMs, else None."""
    return D.plan(a, a_out, k, pad, np.dtype(dtype)) if D.worth(a, a_out, k, pad, c, o) \
        else None


def _rows_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray | None, axis: int,
                  geo: Geometry, cache: dict | None) -> np.ndarray:
    o, c, k = w.shape[0], w.shape[1], w.shape[axis]
    n, a, other = x.shape[0], x.shape[axis], x.shape[5 - axis]
    pad = geo.padding[axis - 2][0]
    a_out = out_size(a, k, 1, geo.padding[axis - 2], 1)
    dtype = np.result_type(x, w)
    spec = _spectral(a, a_out, k, pad, c, o, dtype)
    xr = _rows(x, axis, temporary=spec is not None)
    if spec is not None:
        xr = D.spectrum_in(spec, xr.reshape(a, -1), c)
        y = D.forward(spec, xr, w.reshape(o, c, k))
    else:
        # the kernel as (k*C, O), tap-major: each row's taps are a contiguous block, read
        # transposed (BLAS takes a transposed operand without a copy)
        wkt = w.reshape(o, c, k).transpose(2, 1, 0).reshape(k * c, o)
        y = np.empty((a_out * o, n * other), dtype)
        for row, (i0, i1, r0) in enumerate(_plan(a, a_out, k, pad)):
            dst = y[row * o:(row + 1) * o]
            if i1 <= i0:
                dst[...] = 0
            else:
                np.matmul(wkt[i0 * c:i1 * c].T, xr[r0 * c:(r0 + i1 - i0) * c], out=dst)
    if cache is not None:
        cache["rows"] = xr  # the weight gradient reads the same layout (or its spectrum)
    if b is not None:
        y.reshape(a_out, o, -1)[...] += b[:, None]
    return y.reshape(a_out, o, n, other).transpose(_INVERSE[axis])


_grad_rows_memo = Memo()  # (g, axis, plan, rows)


def _grad_rows(g: np.ndarray, axis: int, spec: D.Plan | None, keep: bool) -> np.ndarray:
    """The output gradient in the rows layout (or its spectrum), made once for both of a
    layer's backward products: the engine asks for the input gradient and then the weight
    gradient with the same array ``g``, so the second finds it here (released when used)."""
    e = _grad_rows_memo.entry
    if e and e[0] is g and e[1] == axis and e[2] is spec:
        rows = e[3]
    else:
        rows = _rows(g, axis, temporary=spec is not None)
        if spec is not None:
            rows = D.spectrum_grad(spec, rows.reshape(g.shape[axis], -1), g.shape[1])
    _grad_rows_memo.entry = (g, axis, spec, rows) if keep else ()
    return rows


def _rows_input_grad(g: np.ndarray, w: np.ndarray, xshape: tuple, axis: int,
                     geo: Geometry, share: bool) -> np.ndarray:
    o, c, k = w.shape[0], w.shape[1], w.shape[axis]
    n, a, other = xshape[0], xshape[axis], xshape[5 - axis]
    pad = geo.padding[axis - 2][0]
    a_out = g.shape[axis]
    dtype = np.result_type(g, w)
    spec = _spectral(a, a_out, k, pad, c, o, dtype)
    gr = _grad_rows(g, axis, spec, keep=share)
    if spec is not None:
        dx = D.input_grad(spec, gr, w.reshape(o, c, k))
        return dx.reshape(a, c, n, other).transpose(_INVERSE[axis])
    # WR[j, o, c] = w[o, c, k-1-j]: for input row r the output rows h' = r + pad - i rise
    # as the tap i falls, so reversed taps make them one contiguous block
    wrt = w.reshape(o, c, k)[:, :, ::-1].transpose(2, 0, 1).reshape(k * o, c)
    dx = np.empty((a * c, n * other), dtype)
    for r in range(a):
        h0, h1 = max(0, r + pad - k + 1), min(a_out, r + pad + 1)
        dst = dx[r * c:(r + 1) * c]
        if h1 <= h0:
            dst[...] = 0
            continue
        j0 = k - 1 - r - pad + h0
        np.matmul(wrt[j0 * o:(j0 + h1 - h0) * o].T, gr[h0 * o:h1 * o], out=dst)
    return dx.reshape(a, c, n, other).transpose(_INVERSE[axis])


def _rows_weight_grad(x: np.ndarray, g: np.ndarray, wshape: tuple, axis: int,
                      geo: Geometry, xr: np.ndarray | None) -> np.ndarray:
    o, c, k = wshape[0], wshape[1], wshape[axis]
    a, a_out = x.shape[axis], g.shape[axis]
    pad = geo.padding[axis - 2][0]
    dtype = np.result_type(x, g)
    spec = _spectral(a, a_out, k, pad, c, o, dtype)
    if xr is None:
        xr = _rows(x, axis, temporary=spec is not None)
        if spec is not None:
            xr = D.spectrum_in(spec, xr.reshape(a, -1), c)
    gr = _grad_rows(g, axis, spec, keep=False)
    if spec is not None:
        return D.weight_grad(spec, gr, xr, o, c).reshape(wshape)
    dwkt = np.zeros((k * c, o), dtype)
    for row, (i0, i1, r0) in enumerate(_plan(a, a_out, k, pad)):
        if i1 > i0:
            dwkt[i0 * c:i1 * c] += xr[r0 * c:(r0 + i1 - i0) * c] @ gr[row * o:(row + 1) * o].T
    return dwkt.reshape(k, c, o).transpose(2, 1, 0).reshape(wshape)


@lru_cache(maxsize=256)
def _plan(a: int, a_out: int, k: int, pad: int) -> tuple[tuple[int, int, int], ...]:
    """For each output row a' (stride 1): the taps [i0, i1) that land inside the input
    and the first input row they read, r0 = a' + i0 - pad."""
    return tuple((max(0, pad - row), min(k, a + pad - row), max(0, pad - row) + row - pad)
                 for row in range(a_out))


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
def forward(x: np.ndarray, w: np.ndarray, b: np.ndarray | None, geo: Geometry,
            cache: dict | None = None) -> np.ndarray:
    """y (N, O, H', W') = conv(x, w) + b. ``cache``, if given, receives the input's
    rows-layout copy for ``weight_grad`` (rows layout only)."""
    axis = rows_axis(w.shape, geo)
    if axis is not None:
        return _rows_forward(x, w, b, axis, geo, cache)
    o = w.shape[0]
    n, _, oh, ow = out_shape(x.shape, w.shape, geo)
    y = w.reshape(o, -1) @ _cols(x, w.shape, geo)  # (O, N*H'*W')
    if b is not None:
        y += b[:, None]
    return y.reshape(o, n, oh, ow).transpose(1, 0, 2, 3)


def _grad_cols(g: np.ndarray) -> np.ndarray:
    """The output gradient (N, O, H', W') as (O, N*H'*W') (one copy)."""
    t = g.transpose(1, 0, 2, 3)
    return t.reshape(t.shape[0], -1)


def input_grad(g: np.ndarray, w: np.ndarray, xshape: tuple, geo: Geometry,
               share: bool = False) -> np.ndarray:
    """dL/dx (of shape ``xshape``) from dL/dy = g: the transposed convolution. ``share``:
    keep g's rows layout for the ``weight_grad`` call that follows (the conv2d rule)."""
    axis = rows_axis(w.shape, geo)
    if axis is not None:
        return _rows_input_grad(g, w, xshape, axis, geo, share)
    dcols = w.reshape(w.shape[0], -1).T @ _grad_cols(g)
    return _fold_cols(dcols, xshape, w.shape, geo)


def weight_grad(x: np.ndarray, g: np.ndarray, wshape: tuple, geo: Geometry,
                rows: np.ndarray | None = None) -> np.ndarray:
    """dL/dw (of shape ``wshape``) from the input x and dL/dy = g (``rows``: forward's
    cached copy of x in the rows layout)."""
    axis = rows_axis(wshape, geo)
    if axis is not None:
        return _rows_weight_grad(x, g, wshape, axis, geo, rows)
    return (_grad_cols(g) @ _cols(x, wshape, geo).T).reshape(wshape)

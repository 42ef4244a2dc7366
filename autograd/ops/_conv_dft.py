"""One-axis convolutions through a short discrete Fourier transform along the convolved
axis: fewer multiplications than the rows layout's GEMMs when there are many channels.

A kernel of k taps sliding (stride and dilation 1) along an axis of A rows, with ``pad``
zeros before it, is a cyclic correlation of length n once n is large enough that no
needed output wraps around onto a tap it must not see: n >= max(A + pad,
A_out + k - 1 - pad). The 12x1 and 1x15 "same" kernels of the Hodge-number networks need
n = 18 and 22. On the DFT's n // 2 + 1 bins the correlation is a product per bin, so
each product of the three (forward, input gradient, weight gradient) becomes one
(2O, 2C) x (2C, N*B) real GEMM per bin (real and imaginary parts stacked: a complex
product is a real one of twice the size each way), batched over the bins in one call:
4 (n // 2 + 1) O C multiplications per column where the rows layout does one per
(output row, input row) pair the kernel joins (108 for 12x1 over 12 rows, 169 for 1x15
over 15 columns). The transforms into and out of the bins are GEMMs too, with small
matrices built once per shape; they cost 2 (n // 2 + 1) (A C + A_out O) per column,
which is why few channels stay with the rows layout (``worth``).

Arrays here are in the rows layout of ``_conv_gemm``: an input (A, C, N*B) as an
(A, C*N*B) matrix; a spectrum is (bins, 2C, N*B), the real parts of a bin's C rows then
their imaginary parts. All three products are real linear maps, and each backward one
is the transpose of a forward one, so the adjoint identities hold to rounding.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import numpy as np

from ._scratch import scratch


class Plan(NamedTuple):
    """The transform matrices for one (A, A_out, k, pad) in one dtype."""

    bins: int
    into: np.ndarray  # (2 bins, A): the DFT of an input column, (re, im) per bin
    out_of: np.ndarray  # (A_out, 2 bins): the bins back to the needed output rows
    taps: np.ndarray  # (k, 2 bins): a kernel's taps to its (re, im) per bin


def length(a: int, a_out: int, k: int, pad: int) -> int:
    """The shortest cyclic length whose correlation has the linear one's needed outputs:
    inputs read below row 0 (down to -pad) must wrap past row A - 1, and those read at or
    past row A (up to A_out - 1 + k - 1 - pad) must wrap below row 0."""
    return max(a + pad, a_out + k - 1 - pad, 1)


def worth(a: int, a_out: int, k: int, pad: int, c: int, o: int) -> bool:
    """True when the bins cost fewer multiplications per column than the rows layout."""
    bins = length(a, a_out, k, pad) // 2 + 1
    pairs = sum(min(k, a + pad - r) - max(0, pad - r) for r in range(a_out)
                if min(k, a + pad - r) > max(0, pad - r))
    return 4 * bins * o * c + 2 * bins * (a * c + a_out * o) < pairs * o * c


@lru_cache(maxsize=64)
def plan(a: int, a_out: int, k: int, pad: int, dtype: np.dtype) -> Plan:
    n = length(a, a_out, k, pad)
    bins = n // 2 + 1
    m = np.arange(bins)
    into = np.empty((bins, 2, a))
    ang = 2 * np.pi * np.outer(m, np.arange(a)) / n
    into[:, 0], into[:, 1] = np.cos(ang), -np.sin(ang)
    # a real signal's spectrum is Hermitian: bins 0 < m < n/2 stand for two each
    weight = np.where((m == 0) | (2 * m == n), 1.0, 2.0) / n
    # output row a' is the cyclic correlation at lag a' - pad
    ang = 2 * np.pi * np.outer(np.arange(a_out) - pad, m) / n
    out_of = np.stack([weight * np.cos(ang), -weight * np.sin(ang)], axis=2)
    # correlation multiplies the input's bin by the kernel's conjugate DFT
    ang = 2 * np.pi * np.outer(np.arange(k), m) / n
    taps = np.stack([np.cos(ang), np.sin(ang)], axis=2)
    cast = [t.astype(dtype) for t in (into.reshape(2 * bins, a),
                                      out_of.reshape(a_out, 2 * bins),
                                      taps.reshape(k, 2 * bins))]
    for t in cast:
        t.flags.writeable = False
    return Plan(bins, *cast)


def spectrum_in(p: Plan, rows: np.ndarray, c: int) -> np.ndarray:
    """An input (A, C*N*B) in the bins: (bins, 2C, N*B)."""
    return (p.into @ rows).reshape(p.bins, 2 * c, -1)


def spectrum_grad(p: Plan, rows: np.ndarray, o: int) -> np.ndarray:
    """An output gradient (A_out, O*N*B) pulled back into the bins: (bins, 2O, N*B)."""
    return (p.out_of.T @ rows).reshape(p.bins, 2 * o, -1)


def _blocks(p: Plan, w: np.ndarray) -> np.ndarray:
    """The kernel (O, C, k) as one real (2O, 2C) matrix per bin: [[re, -im], [im, re]]."""
    o, c, k = w.shape
    wk = (w.reshape(o * c, k) @ p.taps).reshape(o, c, p.bins, 2).transpose(2, 3, 0, 1)
    m = np.empty((p.bins, 2, o, 2, c), wk.dtype)
    m[:, 0, :, 0] = m[:, 1, :, 1] = wk[:, 0]
    m[:, 1, :, 0] = wk[:, 1]
    np.negative(wk[:, 1], out=m[:, 0, :, 1])
    return m.reshape(p.bins, 2 * o, 2 * c)


def forward(p: Plan, z: np.ndarray, w: np.ndarray) -> np.ndarray:
    """The convolution of the input spectrum z with w (O, C, k): (A_out*O, N*B)."""
    blocks = _blocks(p, w)
    yb = np.matmul(blocks, z, out=scratch("bins", (p.bins, 2 * w.shape[0], z.shape[2]),
                                          np.result_type(blocks, z)))
    y = p.out_of @ yb.reshape(2 * p.bins, -1)
    return y.reshape(-1, z.shape[2])


def input_grad(p: Plan, gz: np.ndarray, w: np.ndarray) -> np.ndarray:
    """The transposed convolution of the gradient spectrum gz: (A*C, N*B)."""
    blocks = _blocks(p, w).transpose(0, 2, 1)
    xb = np.matmul(blocks, gz, out=scratch("bins", (p.bins, 2 * w.shape[1], gz.shape[2]),
                                           np.result_type(blocks, gz)))
    dx = p.into.T @ xb.reshape(2 * p.bins, -1)
    return dx.reshape(-1, gz.shape[2])


def weight_grad(p: Plan, gz: np.ndarray, z: np.ndarray, o: int, c: int) -> np.ndarray:
    """sum over columns of the gradient times the input, as taps: (O, C, k)."""
    dm = np.matmul(gz, z.transpose(0, 2, 1)).reshape(p.bins, 2, o, 2, c)
    dwk = np.empty((o, c, p.bins, 2), dm.dtype)
    # the adjoint of _blocks: re collects both diagonal blocks, im the off-diagonal ones
    np.add(dm[:, 0, :, 0], dm[:, 1, :, 1], out=dwk[..., 0].transpose(2, 0, 1))
    np.subtract(dm[:, 1, :, 0], dm[:, 0, :, 1], out=dwk[..., 1].transpose(2, 0, 1))
    return (dwk.reshape(o * c, 2 * p.bins) @ p.taps.T).reshape(o, c, -1)

"""One-axis convolutions as a bilinear algorithm built from a short discrete Fourier
transform along the convolved axis: fewer multiplications than the rows layout's GEMMs
when there are many channels.

A kernel of k taps sliding (stride and dilation 1) along an axis of A rows, with ``pad``
zeros before it, is a cyclic correlation of length n once n is large enough that no
needed output wraps around onto an input it must not see: n >= max(A + pad,
A_out + k - 1 - pad) (``length``; 18 and 22 for the Hodge networks' 12x1 and 1x15 "same"
kernels). On the DFT's n // 2 + 1 bins the correlation is one complex product per bin,
which takes three real ones (Gauss: Wr Xr, Wi Xi, (Wr + Wi)(Xr + Xi)), one where the
bin is real (0 and n / 2). So the convolution is a sum over P such products, "planes":

    y[a'] = sum_p out_of[a', p] (sum_i taps[i, p] w[i]) (sum_r into[p, r] x[r]),

and with channels each plane's product is one (O, C) x (C, N*B) GEMM, batched over the
planes in one call: P O C multiplications per column (P = 26 for 12x1 over 12 rows, 32
for 1x15 over 15) where the rows layout does one per (output row, input row) pair the
kernel joins (108 and 169). The three matrices are tiny and built once per shape; taking
the input into the planes and the product out of them are GEMMs of P (A C + A_out O)
multiplications per column, so few channels stay with the rows layout (``worth``). The
backward products are the transposed maps, plane by plane:

    dx = into^T (W_p^T (out_of^T g)_p),   dw[i] = sum_p taps[i, p] (out_of^T g)_p (into x)_p^T.

Arrays are in the rows layout of ``_conv_gemm``: an input (A, C, N*B) as an (A, C*N*B)
matrix; planes are (P, C, N*B).
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import numpy as np

from ._scratch import scratch


class Plan(NamedTuple):
    """The bilinear algorithm for one (A, A_out, k, pad) in one dtype."""

    into: np.ndarray  # (P, A): an input column into the planes
    out_of: np.ndarray  # (A_out, P): the planes' products back to the output rows
    taps: np.ndarray  # (k, P): a kernel's taps into the planes


def length(a: int, a_out: int, k: int, pad: int) -> int:
    """The shortest cyclic length whose correlation has the linear one's needed outputs:
    inputs read below row 0 (down to -pad) must wrap past row A - 1, and those read at or
    past row A (up to A_out - 1 + k - 1 - pad) must wrap below row 0."""
    return max(a + pad, a_out + k - 1 - pad, 1)


def planes(n: int) -> int:
    """Real products per column for cyclic length n: 1 per real bin, 3 per complex one."""
    real = 1 if n % 2 else 2
    return real + 3 * (n // 2 + 1 - real)


@lru_cache(maxsize=256)
def worth(a: int, a_out: int, k: int, pad: int, c: int, o: int) -> bool:
    """True when the planes cost fewer multiplications per column than the rows layout."""
    p = planes(length(a, a_out, k, pad))
    pairs = sum(max(0, min(k, a + pad - r) - max(0, pad - r)) for r in range(a_out))
    return p * o * c + p * (a * c + a_out * o) < pairs * o * c


@lru_cache(maxsize=64)
def plan(a: int, a_out: int, k: int, pad: int, dtype: np.dtype) -> Plan:
    n = length(a, a_out, k, pad)
    into, taps, out_of = [], [], []
    for m in range(n // 2 + 1):
        # X = sum_r x_r e^{-i th r}; correlation takes the kernel's conjugate transform
        # W = sum_i w_i e^{+i th i}; output row a' is the cyclic lag a' - pad
        th = 2 * np.pi * m / n
        cx, sx = np.cos(th * np.arange(a)), np.sin(th * np.arange(a))
        cw, sw = np.cos(th * np.arange(k)), np.sin(th * np.arange(k))
        lag = th * (np.arange(a_out) - pad)
        co, so = np.cos(lag), np.sin(lag)
        if m == 0 or 2 * m == n:  # a real bin, counted once
            into.append(cx), taps.append(cw), out_of.append(co / n)
            continue
        # the bin and its mirror: 2/n Re((Wr + i Wi)(Xr + i Xi) e^{i lag}), Xi = -sum sx x,
        # through Gauss's products P1 = Wr Xr, P2 = Wi Xi, P3 = (Wr + Wi)(Xr + Xi):
        # Re = Yr cos - Yi sin with Yr = P1 - P2, Yi = P3 - P1 - P2
        into += [cx, -sx, cx - sx]
        taps += [cw, sw, cw + sw]
        out_of += [2 / n * (co + so), 2 / n * (so - co), -2 / n * so]
    made = Plan(np.array(into), np.array(out_of).T, np.array(taps).T)
    cast = [t.astype(dtype) for t in made]
    for t in cast:
        t.flags.writeable = False
    return Plan(*cast)


def spectrum_in(p: Plan, rows: np.ndarray, c: int) -> np.ndarray:
    """An input (A, C*N*B) in the planes: (P, C, N*B)."""
    return (p.into @ rows).reshape(len(p.into), c, -1)


def spectrum_grad(p: Plan, rows: np.ndarray, o: int) -> np.ndarray:
    """An output gradient (A_out, O*N*B) pulled back into the planes: (P, O, N*B)."""
    return (p.out_of.T @ rows).reshape(len(p.into), o, -1)


def _kernel(p: Plan, w: np.ndarray) -> np.ndarray:
    """The kernel (O, C, k) in the planes: (P, O, C)."""
    o, c, k = w.shape
    return (p.taps.T @ w.reshape(o * c, k).T).reshape(-1, o, c)


def forward(p: Plan, z: np.ndarray, w: np.ndarray) -> np.ndarray:
    """The convolution of the input's planes z with w (O, C, k): (A_out*O, N*B)."""
    wp = _kernel(p, w)
    yp = np.matmul(wp, z, out=scratch("planes", (len(wp), w.shape[0], z.shape[2]),
                                      np.result_type(wp, z)))
    return (p.out_of @ yp.reshape(len(yp), -1)).reshape(-1, z.shape[2])


def input_grad(p: Plan, gz: np.ndarray, w: np.ndarray) -> np.ndarray:
    """The transposed convolution of the gradient's planes gz: (A*C, N*B)."""
    wp = _kernel(p, w).transpose(0, 2, 1)
    xp = np.matmul(wp, gz, out=scratch("planes", (len(wp), w.shape[1], gz.shape[2]),
                                       np.result_type(wp, gz)))
    return (p.into.T @ xp.reshape(len(xp), -1)).reshape(-1, gz.shape[2])


def weight_grad(p: Plan, gz: np.ndarray, z: np.ndarray, o: int, c: int) -> np.ndarray:
    """sum over columns of the gradient times the input, as taps: (O, C, k)."""
    dwp = np.matmul(gz, z.transpose(0, 2, 1))  # (P, O, C)
    return (p.taps @ dwp.reshape(len(dwp), -1)).T.reshape(o, c, -1)

"""Exact integer linear algebra for small symmetric matrices, vectorized over a batch.

Everything here works on integer arrays of shape (B, m, m) (int64 or Python-int objects)
and is meant for m <= 8: the minors are memoized over pairs of row/column subsets, of which
there are C(2m, m).
"""

from __future__ import annotations

from fractions import Fraction
from itertools import combinations
from math import factorial

import numpy as np

from ._validate import INT64_SAFE

MAX_EXACT_DIM = 8


def _bits(mask: int) -> list[int]:
    return [i for i in range(mask.bit_length()) if mask >> i & 1]


class Minors:
    """All minors det(M[R, C]) of a batch of square integer matrices, computed on demand.

    Laplace expansion along the first row of R, memoized on (R, C) bitmasks, so each minor
    is a handful of vectorized multiply-adds and integer arithmetic stays exact.
    """

    def __init__(self, M: np.ndarray) -> None:
        self.M = M
        self._memo: dict[tuple[int, int], np.ndarray | int] = {}

    def __call__(self, rows: int, cols: int) -> np.ndarray | int:
        if rows == 0:
            return 1
        key = (rows, cols)
        hit = self._memo.get(key)
        if hit is not None:
            return hit
        r0 = (rows & -rows).bit_length() - 1
        rest = rows & ~(1 << r0)
        total: np.ndarray | int = 0
        for pos, c in enumerate(_bits(cols)):
            entry = self.M[:, r0, c]
            if not np.any(entry):
                continue
            term = entry * self(rest, cols & ~(1 << c))
            total = total + term if pos % 2 == 0 else total - term
        if isinstance(total, int):
            total = np.zeros(self.M.shape[0], dtype=self.M.dtype)
        self._memo[key] = total
        return total


def exact_dtype(M: np.ndarray) -> np.ndarray:
    """Return M as int64 when every minor's Laplace expansion stays below 2**62, else objects."""
    m = M.shape[-1]
    if M.dtype == object:
        return M
    emax = int(np.max(np.abs(M))) if M.size else 0
    if factorial(m) * float(emax) ** m >= INT64_SAFE:
        return M.astype(object)
    return M


def principal_data(M: np.ndarray) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """For each non-empty subset S (bitmask): det(M_S) (B,) and the adjugate of M_S (B, s, s)."""
    m = M.shape[-1]
    minors = Minors(M)
    out: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for size in range(1, m + 1):
        for subset in combinations(range(m), size):
            mask = sum(1 << i for i in subset)
            det = np.asarray(minors(mask, mask))
            adj = np.empty((M.shape[0], size, size), dtype=M.dtype)
            for a, i in enumerate(subset):
                for b, j in enumerate(subset[a:], start=a):
                    # cofactor C_ij of a symmetric matrix; the adjugate is its transpose = itself
                    cof = minors(mask & ~(1 << i), mask & ~(1 << j))
                    val = cof if (a + b) % 2 == 0 else -cof
                    adj[:, a, b] = val
                    adj[:, b, a] = val
            out[mask] = (np.broadcast_to(det, (M.shape[0],)), adj)
    return out


def copositivity(
    M: np.ndarray, data: dict[int, tuple[np.ndarray, np.ndarray]]
) -> tuple[np.ndarray, np.ndarray]:
    """Exact copositivity of M and of -M (x^T M x >= 0 for all x >= 0).

    Cottle-Habetler-Lemke (Linear Algebra Appl. 3, 1970, Thm 3.1): if every principal
    submatrix of order s-1 is copositive, M_S fails to be copositive iff M_S is invertible
    and M_S^{-1} <= 0 entrywise, i.e. det != 0 and sign(det) * adj(M_S) <= 0.  For -M_S the
    sign flips: sign(det(-M_S)) adj(-M_S) = -sign(det(M_S)) adj(M_S).
    Applied over subsets by increasing size.
    """
    B, m = M.shape[0], M.shape[-1]
    cop_pos: dict[int, np.ndarray] = {}
    cop_neg: dict[int, np.ndarray] = {}
    for size in range(1, m + 1):
        for subset in combinations(range(m), size):
            mask = sum(1 << i for i in subset)
            det, adj = data[mask]
            sgn = (det > 0).astype(np.int64) - (det < 0).astype(np.int64)
            sadj = adj * sgn.reshape(B, 1, 1)
            nonsing = sgn != 0
            fail_pos = nonsing & np.all(sadj <= 0, axis=(1, 2))
            fail_neg = nonsing & np.all(sadj >= 0, axis=(1, 2))
            inherit_pos = np.ones(B, dtype=bool)
            inherit_neg = np.ones(B, dtype=bool)
            if size > 1:
                for i in subset:
                    inherit_pos &= cop_pos[mask & ~(1 << i)]
                    inherit_neg &= cop_neg[mask & ~(1 << i)]
            cop_pos[mask] = inherit_pos & ~fail_pos
            cop_neg[mask] = inherit_neg & ~fail_neg
    full = (1 << m) - 1
    return cop_pos[full], cop_neg[full]


def kernel_has_positive(
    det: np.ndarray, adj: np.ndarray, sub: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Decide, where cheap, whether ker(A) contains a strictly positive vector.

    det, adj: determinant and adjugate of the batch of s x s matrices `sub`.
    Returns (answer, undecided).  det != 0: no.  rank s-1 (adj != 0): adj = lambda v v^T
    with v spanning the kernel, so a positive kernel vector exists iff every entry of adj
    is non-zero with one common sign.  A = 0: yes.  Rank <= s-2 otherwise: undecided,
    for :func:`kernel_has_positive_exact`.
    """
    B = sub.shape[0]
    nonsing = det != 0
    adj_zero = np.all(adj == 0, axis=(1, 2))
    rank_def1 = ~nonsing & ~adj_zero
    same_sign = np.all(adj > 0, axis=(1, 2)) | np.all(adj < 0, axis=(1, 2))
    zero = np.all(sub.reshape(B, -1) == 0, axis=1)
    answer = (rank_def1 & same_sign) | zero
    undecided = ~nonsing & adj_zero & ~zero
    return answer, undecided


def _nullspace(A: list[list[int]]) -> list[list[Fraction]]:
    """Basis of the rational null space of an integer matrix (reduced row echelon form)."""
    rows = [[Fraction(x) for x in row] for row in A]
    n = len(A[0])
    pivots: list[int] = []
    r = 0
    for c in range(n):
        p = next((i for i in range(r, len(rows)) if rows[i][c] != 0), None)
        if p is None:
            continue
        rows[r], rows[p] = rows[p], rows[r]
        piv = rows[r][c]
        rows[r] = [x / piv for x in rows[r]]
        for i in range(len(rows)):
            if i != r and rows[i][c] != 0:
                f = rows[i][c]
                rows[i] = [x - f * y for x, y in zip(rows[i], rows[r], strict=True)]
        pivots.append(c)
        r += 1
        if r == len(rows):
            break
    free = [c for c in range(n) if c not in pivots]
    basis = []
    for f in free:
        v = [Fraction(0)] * n
        v[f] = Fraction(1)
        for i, pc in enumerate(pivots):
            v[pc] = -rows[i][f]
        basis.append(v)
    return basis


def _feasible(constraints: list[tuple[list[Fraction], Fraction]], nvars: int) -> bool:
    """Fourier-Motzkin: is {c : a.c >= b for every (a, b)} non-empty?  Exact, small systems."""
    cons = constraints
    for var in range(nvars):
        pos, neg, rest = [], [], []
        for a, b in cons:
            (pos if a[var] > 0 else neg if a[var] < 0 else rest).append((a, b))
        new = list(rest)
        for ap, bp in pos:
            for an, bn in neg:
                # combine so that variable `var` cancels; both multipliers are positive
                lp, ln = -an[var], ap[var]
                new.append(
                    ([lp * x + ln * y for x, y in zip(ap, an, strict=True)], lp * bp + ln * bn)
                )
        # drop duplicates: FM grows quadratically per step and repeats are common
        seen: dict[tuple, tuple[list[Fraction], Fraction]] = {}
        for a, b in new:
            scale = max((abs(x) for x in a), default=Fraction(0))
            key = (tuple(x / scale for x in a), b / scale) if scale else (tuple(a), b)
            seen.setdefault(key, (a, b))
        cons = list(seen.values())
    return all(b <= 0 for _, b in cons)


def kernel_has_positive_exact(A: np.ndarray) -> bool:
    """Exactly: does {x : A x = 0, x > 0} have a point?  (Rational null space + Fourier-Motzkin.)

    Homogeneity lets x > 0 be replaced by x >= 1 componentwise.
    """
    rows = [[int(v) for v in row] for row in np.asarray(A)]
    basis = _nullspace(rows)
    if not basis:
        return False
    n, k = len(rows[0]), len(basis)
    constraints = [([basis[j][i] for j in range(k)], Fraction(1)) for i in range(n)]
    return _feasible(constraints, k)

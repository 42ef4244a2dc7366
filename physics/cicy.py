r"""Complete Intersection Calabi-Yau threefolds: configurations and their exact topology.

A configuration lists projective factors :math:`\mathbb{P}^{n_r}` (rows) and the
multi-degrees :math:`q_a^r` of the K defining polynomials (columns).  Two notations are in
use and both are reachable without ambiguity:

* with the dimension column first, as in the lecture and pyCICY:
  the bicubic of eq. (33) is ``CICY([[2, 3], [2, 3]])`` and the quintic ``CICY([[4, 5]])``;
* without it, as in the JSON CICY lists where :math:`n_r = \sum_a q_a^r - 1`:
  ``CICY.from_degrees([[3], [3]])``.

All topological numbers are computed exactly in the truncated ring
:math:`\mathbb{Z}[J_1..J_m]/(J_r^{n_r+1})` of the ambient space, integrating over X by
multiplying with the top class of the normal bundle :math:`\prod_a (\sum_r q_a^r J_r)`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

import numpy as np

from ._validate import INT64_SAFE, as_int_array, check_last_axis, promote_if_large

__all__ = ["CICY", "topological_data"]

ArrayLike = np.ndarray | Sequence


def validate_degrees(dims: list[int], degrees: list[list[int]]) -> None:
    """Check a configuration in exact Python integers, before any numpy arithmetic (an
    int64 row sum can wrap around and pass the Calabi-Yau test). A configuration that
    passes has every entry at most K + m + 3, so int64 holds it afterwards."""
    m, k = len(degrees), len(degrees[0]) if degrees else 0
    if m == 0 or k == 0:
        raise ValueError(
            f"a configuration needs at least one factor and one polynomial, got {m} x {k}"
        )
    for r, row in enumerate(degrees):
        for a, q in enumerate(row):
            if q < 0:
                raise ValueError(
                    f"negative degree {q} in row {r}, polynomial {a}: "
                    "multi-degrees of defining polynomials must be >= 0"
                )
    for r, n in enumerate(dims):
        if n < 1:
            raise ValueError(
                f"row {r} has projective dimension {n}; each factor must be P^n, n>=1"
            )
    zero_cols = [a for a in range(k) if all(row[a] == 0 for row in degrees)]
    if zero_cols:
        raise ValueError(
            f"polynomial column(s) {zero_cols} have degree 0 in every factor "
            "(a constant cuts out nothing); remove them"
        )
    for r, (n, row) in enumerate(zip(dims, degrees)):
        if sum(row) != n + 1:
            raise ValueError(
                f"not Calabi-Yau: row {r} (P^{n}) has degree sum {sum(row)}, but c1 = 0 "
                f"needs sum_a q_a^r = n_r + 1 = {n + 1} in every row"
            )
    if sum(dims) - k != 3:
        raise ValueError(
            f"not a threefold: sum n_r - #polynomials = {sum(dims)} - {k} = "
            f"{sum(dims) - k}, expected 3"
        )


def _config_matrix(config: object, name: str) -> np.ndarray:
    if isinstance(config, CICY):
        return config.config
    if isinstance(config, (list, tuple)):
        if not config or not all(isinstance(row, (list, tuple, np.ndarray)) for row in config):
            raise ValueError(f"{name} must be a non-empty list of rows (a 2-d matrix)")
        lengths = [len(row) for row in config]
        if len(set(lengths)) != 1:
            bad = next(i for i, n in enumerate(lengths) if n != lengths[0])
            raise ValueError(
                f"ragged {name}: row 0 has {lengths[0]} entries but row {bad} has {lengths[bad]}; "
                "every row needs one entry per column"
            )
    arr = as_int_array(config, name)
    if arr.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-d matrix (rows = projective factors), got shape {arr.shape}"
        )
    return arr


class CICY:
    r"""A Complete Intersection Calabi-Yau threefold.

    Parameters
    ----------
    config:
        Integer matrix with the dimension column first: row r is ``[n_r, q_1^r, ..., q_K^r]``.
        The bicubic of eq. (33) is ``[[2, 3], [2, 3]]``.

    Raises ValueError naming the failing condition: ragged rows, negative degrees, a zero
    column, not Calabi-Yau (:math:`\sum_a q_a^r \neq n_r + 1`), not a threefold
    (:math:`\sum_r n_r - K \neq 3`).
    """

    def __init__(self, config: ArrayLike) -> None:
        arr = _config_matrix(config, "config")
        if arr.shape[1] < 2:
            raise ValueError(
                f"config needs the dimension column plus at least one polynomial column, got "
                f"shape {arr.shape}; use CICY.from_degrees for matrices without the "
                "dimension column"
            )
        rows = [[int(v) for v in row] for row in arr.tolist()]  # exact, any size
        validate_degrees([row[0] for row in rows], [row[1:] for row in rows])
        self._dims = np.array([row[0] for row in rows], dtype=np.int64)
        self._degrees = np.array([row[1:] for row in rows], dtype=np.int64)
        self._dims.setflags(write=False)
        self._degrees.setflags(write=False)
        self._d: np.ndarray | None = None
        self._c2: np.ndarray | None = None
        self._euler: int | None = None

    @classmethod
    def from_degrees(cls, degrees: ArrayLike) -> CICY:
        r"""Build from the degree matrix alone (the JSON list form).

        The dimensions follow from the Calabi-Yau condition, :math:`n_r = \sum_a q_a^r - 1`.
        """
        arr = _config_matrix(degrees, "degrees")
        rows = [[int(v) for v in row] for row in arr.tolist()]  # exact: no int64 wrap
        return cls([[sum(row) - 1, *row] for row in rows])

    # ------------------------------------------------------------------ structure
    @property
    def dims(self) -> np.ndarray:
        """Projective dimensions n_r, shape (m,)."""
        return self._dims

    @property
    def degrees(self) -> np.ndarray:
        """Degree matrix q_a^r, shape (m, K) (rows = factors, columns = polynomials)."""
        return self._degrees

    @property
    def config(self) -> np.ndarray:
        """Configuration with the dimension column first, shape (m, K + 1)."""
        return np.concatenate([self._dims[:, None], self._degrees], axis=1)

    @property
    def num_factors(self) -> int:
        """m, the number of projective factors (= h11 for favourable configurations)."""
        return int(self._dims.shape[0])

    def __repr__(self) -> str:
        return f"CICY({self.config.tolist()})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CICY) and np.array_equal(self.config, other.config)

    def __hash__(self) -> int:
        return hash(self.config.tobytes())

    # ------------------------------------------------------------------ topology
    def _compute(self) -> None:
        (d,), (c2,), (chi,) = topological_data([self])
        self._d, self._c2, self._euler = d, c2, chi

    @property
    def intersection_numbers(self) -> np.ndarray:
        r"""Triple intersection numbers :math:`d_{ijk} = \int_X J_i J_j J_k`, int array (m, m, m).

        :math:`d_{ijk}` is the coefficient of :math:`\prod_r J_r^{n_r}` in
        :math:`J_i J_j J_k \prod_a \sum_r q_a^r J_r`.  Bicubic (eq. 33): d_001 = d_011 = 3.
        """
        if self._d is None:
            self._compute()
        return self._d

    @property
    def c2(self) -> np.ndarray:
        r"""Second Chern class as a vector, :math:`c_{2,i} = \int_X c_2(TX) J_i`, int array (m,).

        From :math:`c(TX) = \prod_r (1+J_r)^{n_r+1} / \prod_a (1 + \sum_r q_a^r J_r)`
        with c1 = 0: :math:`c_2 = \tfrac12(\sum_a L_a^2 - \sum_r (n_r+1) J_r^2)`.
        """
        if self._c2 is None:
            self._compute()
        return self._c2

    @property
    def euler_characteristic(self) -> int:
        r"""Euler number :math:`\chi = \int_X c_3`, an int.

        :math:`c_3 = \tfrac13 (\sum_r (n_r+1) J_r^3 - \sum_a L_a^3)` when c1 = 0.
        """
        if self._euler is None:
            self._compute()
        return self._euler

    # ------------------------------------------------------------------ line bundles
    def _charges(self, q: object, name: str = "q") -> np.ndarray:
        arr = as_int_array(q, name)
        check_last_axis(arr, self.num_factors, name)
        return arr

    def index(self, q: ArrayLike) -> np.ndarray:
        r"""Index of :math:`\mathcal{O}(q)` by Hirzebruch-Riemann-Roch, exact.

        :math:`\chi(\mathcal{O}(q)) = \tfrac16 d_{ijk} q^i q^j q^k + \tfrac1{12} c_{2,i} q^i
        = h^0 - h^1 + h^2 - h^3`.  q has shape (..., m); returns integers of shape (...).
        Computed as :math:`(2 d_{ijk}q^iq^jq^k + c_{2,i}q^i)/12` in integers; a nonzero
        remainder would mean wrong topology and raises ArithmeticError.
        """
        qa = self._charges(q)
        d = self.intersection_numbers
        qmax = int(np.max(np.abs(qa))) if qa.size else 0
        bound = 2 * qmax**3 * int(np.abs(d).sum()) + qmax * int(np.abs(self.c2).sum())
        qa = promote_if_large(qa, bound)
        dd = d.astype(object) if qa.dtype == object else d
        c2 = self.c2.astype(object) if qa.dtype == object else self.c2
        M = np.tensordot(qa, dd, axes=([-1], [0]))  # (..., m, m)
        cubic = (
            np.einsum("...j,...jk,...k->...", qa, M, qa)
            if qa.dtype != object
            else ((qa[..., :, None] * M * qa[..., None, :]).sum(axis=(-1, -2)))
        )
        num = 2 * cubic + (qa * c2).sum(axis=-1)
        if np.any(num % 12 != 0):
            raise ArithmeticError(
                f"HRR numerator 2 d q^3 + c2.q not divisible by 12 for {self!r}; "
                "the topology is inconsistent"
            )
        return num // 12

    def slope(self, q: ArrayLike, t: ArrayLike) -> np.ndarray:
        r"""Slope :math:`\mu(q; t) = d_{ijk} q^i t^j t^k` (eq. 34), broadcasting (..., m) q and t.

        For the bicubic, :math:`\mu = 6 q_0 t_0 t_1 + 3 q_0 t_1^2 + 3 q_1 t_0^2 + 6 q_1 t_0 t_1`.
        Integer q and t give exact integers, otherwise floats.
        """
        m = self.num_factors
        qa = np.asarray(q)
        ta = np.asarray(t)
        for arr, name in ((qa, "q"), (ta, "t")):
            if arr.dtype == bool or not np.issubdtype(arr.dtype, np.number):
                raise TypeError(f"{name} must be numeric, got dtype {arr.dtype}")
            check_last_axis(arr, m, name)
        M = np.tensordot(qa, self.intersection_numbers, axes=([-1], [0]))  # (..., m, m)
        return np.einsum("...j,...jk,...k->...", ta, M, ta)

    def is_stable(self, q: ArrayLike, cone: str = "open") -> np.ndarray:
        """Stability label of eq. (35); see :func:`physics.stability.is_stable`."""
        from .stability import is_stable

        return is_stable(self.intersection_numbers, self._charges(q), cone=cone)

    def is_polystable_sum(
        self, charges: ArrayLike, cone: str = "open", method: str = "auto", **kwargs: object
    ) -> np.ndarray:
        """Poly-stability of a sum of line bundles, see :func:`physics.stability.is_polystable_sum`.

        charges: (n, m) or (batch, n, m) with vanishing sum over n.
        """
        from .stability import is_polystable_sum

        return is_polystable_sum(
            self.intersection_numbers,
            self._charges(charges, "charges"),
            cone=cone,
            method=method,
            **kwargs,
        )


# ---------------------------------------------------------------------- batched topology
def _top_coefficients(dims: tuple[int, ...], Q: np.ndarray) -> np.ndarray:
    """d_ijk for a batch of configurations sharing the row dimensions `dims`.

    Q has shape (B, m, K).  The product of the K linear forms is expanded in the truncated
    ring as a dense array of shape (n_1+1, ..., n_m+1, B); multiplying by J_r is a shift
    along axis r, and dropping what falls off the end is exactly the relation J_r^{n_r+1}=0.
    """
    B, m, K = Q.shape
    if any(n < 0 for n in dims):
        # more hyperplanes than the factor's dimension allows: the intersection is empty
        return np.zeros((B, m, m, m), dtype=np.int64)
    # the l1-norm of the coefficient vector is submultiplicative: it bounds every coefficient
    bound = np.prod(np.abs(Q).sum(axis=1).astype(float), axis=1).max() if K else 1.0
    dtype = object if bound >= INT64_SAFE else np.int32 if bound < 2**31 else np.int64
    Q = Q.astype(dtype)
    n = np.asarray(dims)
    touches = np.any(Q != 0, axis=0)  # (m, K): does column a involve row r anywhere in the batch
    seen = np.concatenate([np.zeros((m, 1), int), np.cumsum(touches, axis=1)], axis=1)
    remaining = seen[:, -1:] - seen
    # window of exponents that can be non-zero (hi) and can still reach a monomial that
    # J_i J_j J_k completes to the top class (lo); cells outside are never read
    hi = np.minimum(n[:, None], seen)
    lo = np.maximum(0, n[:, None] - 3 - remaining)
    # batch last: the slices below then move contiguous runs of B numbers
    state = np.zeros(tuple(n + 1) + (B,), dtype=dtype)
    state[(0,) * m] = 1
    for a in range(K):
        new = np.zeros_like(state)
        for r in range(m):
            coeff = Q[:, r, a]
            if not np.any(coeff):
                continue
            dst, src = [], []
            for ax in range(m):
                shift = 1 if ax == r else 0
                start = max(lo[ax, a + 1], lo[ax, a] + shift)
                stop = min(hi[ax, a + 1], hi[ax, a] + shift) + 1
                if start >= stop:
                    break
                dst.append(slice(start, stop))
                src.append(slice(start - shift, stop - shift))
            else:
                new[tuple(dst)] += coeff * state[tuple(src)]
        state = new
    state = np.moveaxis(state, -1, 0)
    grid = np.indices((m, m, m))
    exps = np.asarray(dims).reshape(m, 1, 1, 1) - sum(
        (grid[i][None] == np.arange(m).reshape(m, 1, 1, 1)) for i in range(3)
    )
    valid = np.all(exps >= 0, axis=0)
    idx = tuple(np.where(valid, exps[r], 0) for r in range(m))
    d = state[(slice(None),) + idx]
    return np.where(valid[None], d, 0).astype(object if dtype is object else np.int64)


def _split_hyperplanes(degrees: np.ndarray, dims: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Take out columns with a single non-zero entry.

    Such a column is L_a = q J_r, so multiplying by it only shifts the top monomial:
    integrating over P^{n_r} against q J_r equals q times integrating over P^{n_r - 1}.
    Removing them shrinks the dense ring expansion, which dominates the run time.
    Returns the remaining columns, the reduced dimensions and the product of the q's.
    """
    single = np.count_nonzero(degrees, axis=0) == 1
    if not single.any():
        return degrees, dims, 1
    sub = degrees[:, single]
    reduced = dims - np.count_nonzero(sub, axis=1)
    factor = int(np.prod(sub.sum(axis=0), dtype=object))
    return degrees[:, ~single], reduced, factor


def topological_data(
    cicys: Iterable[CICY | ArrayLike],
) -> tuple[list[np.ndarray], list[np.ndarray], list[int]]:
    r"""Intersection numbers, c2 vectors and Euler numbers of many configurations at once.

    Accepts CICY objects or configurations with the dimension column.  Configurations are
    grouped by their multiset of projective dimensions (rows sorted), so the ring expansion
    of a whole group runs as one vectorized numpy computation.  Results are exact
    (int64, or Python ints when a bound says int64 could overflow), with
    :math:`c_{2,i} = \tfrac12(\sum_a q_a^j q_a^k d_{ijk} - \sum_r (n_r+1) d_{irr})` and
    :math:`\chi = \tfrac13(\sum_r (n_r+1) d_{rrr} - \sum_a q_a^i q_a^j q_a^k d_{ijk})`.
    Results are stored on CICY objects passed in, so later attribute access is free.
    """
    objs = [c if isinstance(c, CICY) else CICY(c) for c in cicys]
    groups: dict[tuple[int, ...], list[int]] = defaultdict(list)
    perms: list[np.ndarray] = []
    reduced_q: list[np.ndarray] = []
    factors: list[int] = []
    for idx, c in enumerate(objs):
        q, dims, factor = _split_hyperplanes(c.degrees, c.dims)
        perm = np.argsort(dims, kind="stable")
        perms.append(perm)
        reduced_q.append(q[perm])
        factors.append(factor)
        groups[tuple(dims[perm].tolist())].append(idx)
    ds: list[np.ndarray | None] = [None] * len(objs)
    c2s: list[np.ndarray | None] = [None] * len(objs)
    chis: list[int | None] = [None] * len(objs)
    for dims, members in groups.items():
        by_k: dict[int, list[int]] = defaultdict(list)
        for idx in members:
            # the reduced column count follows from dims; the original one may differ
            by_k[objs[idx].degrees.shape[1]].append(idx)
        for members_k in by_k.values():
            d_sorted = _top_coefficients(dims, np.stack([reduced_q[i] for i in members_k]))
            scale = np.array([factors[i] for i in members_k])
            if scale.dtype == object or d_sorted.dtype == object:
                d_sorted = d_sorted.astype(object) * scale.astype(object)[:, None, None, None]
            else:
                d_sorted = d_sorted * scale[:, None, None, None]
            # c2 and chi need the full configuration (hyperplanes included), in sorted rows
            Q = np.stack([objs[i].degrees[perms[i]] for i in members_k])
            n1 = np.stack([objs[i].dims[perms[i]] for i in members_k]) + 1
            diag_r = np.arange(len(dims))
            # sum_a q_a^j q_a^k and sum_a q_a^i q_a^j q_a^k as tensors, contracted with d
            Qd = Q.astype(d_sorted.dtype)
            quad = np.einsum("bja,bka->bjk", Qd, Qd)
            cub = np.einsum("bia,bja,bka->bijk", Qd, Qd, Qd)
            c2_twice = np.einsum("bijk,bjk->bi", d_sorted, quad) - (
                d_sorted[:, :, diag_r, diag_r] * n1[:, None, :]
            ).sum(axis=-1)
            chi_thrice = (d_sorted[:, diag_r, diag_r, diag_r] * n1).sum(axis=-1) - np.einsum(
                "bijk,bijk->b", d_sorted, cub
            )
            if np.any(c2_twice % 2) or np.any(chi_thrice % 3):
                raise ArithmeticError(
                    "Chern class integrals are not integers: bug in the ring expansion"
                )
            for b, i in enumerate(members_k):
                inv = np.argsort(perms[i])
                d = d_sorted[b][np.ix_(inv, inv, inv)]
                ds[i] = d
                c2s[i] = (c2_twice[b] // 2)[inv]
                chis[i] = int(chi_thrice[b] // 3)
    for c, d, c2, chi in zip(objs, ds, c2s, chis, strict=True):
        d.setflags(write=False)
        c2.setflags(write=False)
        c._d, c._c2, c._euler = d, c2, chi
    return ds, c2s, chis  # type: ignore[return-value]

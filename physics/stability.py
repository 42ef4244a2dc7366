r"""Slopes and slope stability of line bundles and of sums of line bundles (eqs. 34-35).

The slope of :math:`L = \mathcal{O}(q)` at a Kähler class t is

.. math:: \mu(q; t) = d_{ijk} q^i t^j t^k = t^T M(q)\, t, \qquad M(q)_{jk} = d_{ijk} q^i
   \tag{34}

and, following the lecture (eq. 35), a line bundle is *labelled stable* iff
:math:`\mu(q; t) = 0` for some t in the Kähler cone.  The cone is taken to be the positive
orthant (true for favourable configurations), either open (t > 0, the lecture's choice)
or closed (t >= 0, t != 0, which also labels the axes stable as in Ruehle's data).

Exact decision (integers only, no sampling):

* open cone: a zero exists iff :math:`\mu` takes both signs on the orthant (neither M nor
  -M copositive), or M t = 0 for some t > 0.  The second case covers q = 0 (mu = 0,
  stable by convention) and forms that are semidefinite on the cone: a zero of a form
  that is >= 0 on the open orthant is an interior minimum, so its gradient 2 M t vanishes.
* closed cone: both signs, or :math:`M_S t_S = 0` with :math:`t_S > 0` for some principal
  submatrix :math:`M_S` (S = support of t; same argument on the face).

Copositivity is decided with the Cottle-Habetler-Lemke criterion on principal submatrices
and kernels with adjugates (rank deficiency 1) or exact rational Fourier-Motzkin (rarer
cases), see :mod:`physics._exact`.  On the bicubic over [-10, 10]^2 this gives 201 stable
charges in the open cone (q0 q1 < 0 or q = 0) and 241 in the closed one (axes added).

pyCICY's quick rule labels a bundle stable when the slope polynomial's coefficients
(the entries of :math:`M(q) = q \cdot d`) have mixed signs.  Mixed signs are necessary
for a zero in the open cone when :math:`\mu \not\equiv 0` (if every coefficient is >= 0
and one is > 0, mu > 0 on t > 0), but not sufficient: a copositive form such as
:math:`t_0^2 - t_0 t_1 + t_1^2` has mixed signs and no zero.  So the rule differs from
both exact labels: (i) it calls mu = 0 (q = 0, or q in the kernel of d) unstable, where
eq. (35) is satisfied; (ii) it ignores zeros on the boundary faces, which the closed cone
counts (the bicubic's axes: 200 quick vs 201 open vs 241 closed on [-10, 10]^2);
(iii) from h11 ~ 5 on it calls some one-signed forms with mixed coefficients stable
(e.g. CICY #2381 of the original list with q = (-1, -1, -1, 2, 1)).
:func:`pycicy_quick_rule` reimplements it so the tests can show these differences.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ._exact import (
    MAX_EXACT_DIM,
    copositivity,
    exact_dtype,
    kernel_has_positive,
    kernel_has_positive_exact,
    principal_data,
)
from ._validate import as_int_array, promote_if_large

__all__ = [
    "slope",
    "slope_matrix",
    "is_stable",
    "is_polystable_sum",
    "pycicy_quick_rule",
]

CONES = ("open", "closed")


def _check_d(d: object) -> np.ndarray:
    arr = as_int_array(d, "intersection numbers d")
    if arr.ndim != 3 or len(set(arr.shape)) != 1:
        raise ValueError(f"intersection numbers must have shape (m, m, m), got {arr.shape}")
    return arr


def _check_cone(cone: str) -> None:
    if cone not in CONES:
        raise ValueError(f"cone must be 'open' (t > 0) or 'closed' (t >= 0, t != 0), got {cone!r}")


def slope_matrix(d: np.ndarray, q: np.ndarray) -> np.ndarray:
    r"""M(q)_{jk} = d_{ijk} q^i for charges of shape (..., m); exact for integers (eq. 34)."""
    d = _check_d(d)
    m = d.shape[0]
    q = np.asarray(q)
    if q.shape[-1:] != (m,):
        raise ValueError(f"charges must have shape (..., {m}), got {q.shape}")
    if np.issubdtype(q.dtype, np.integer) or q.dtype == object:
        qmax = int(np.max(np.abs(q))) if q.size else 0
        bound = qmax * int(np.abs(d).sum(axis=0).max())
        q = promote_if_large(q, bound)
        if q.dtype == object:
            d = d.astype(object)
    return np.tensordot(q, d, axes=([-1], [0]))


def slope(d: np.ndarray, q: np.ndarray, t: np.ndarray) -> np.ndarray:
    r"""mu(q; t) = d_{ijk} q^i t^j t^k (eq. 34), broadcasting q and t of shape (..., m)."""
    M = slope_matrix(d, q)
    return np.einsum("...j,...jk,...k->...", np.asarray(t), M, np.asarray(t))


def _subset_indices(mask: int) -> list[int]:
    return [i for i in range(mask.bit_length()) if mask >> i & 1]


def _resolve_exact(M: np.ndarray, todo: np.ndarray, idx: list[int]) -> np.ndarray:
    """Exact kernel positivity for the (rare) rank <= s-2 submatrices, once per distinct one."""
    subs = M[np.ix_(todo, idx, idx)]
    cache: dict[tuple, bool] = {}
    out = np.empty(todo.size, dtype=bool)
    for n, sub in enumerate(subs):
        key = tuple(int(v) for v in sub.ravel())
        if key not in cache:
            cache[key] = kernel_has_positive_exact(sub)
        out[n] = cache[key]
    return out


def is_stable(d: np.ndarray, q: np.ndarray, cone: str = "open") -> np.ndarray:
    r"""Exact stability label of eq. (35): does :math:`\mu(q; t) = 0` for some t in the cone?

    Parameters
    ----------
    d : int array (m, m, m), triple intersection numbers.
    q : int array (..., m), line-bundle charges.
    cone : "open" (t > 0, the lecture's eq. 35) or "closed" (t >= 0, t != 0).

    Returns a bool array of shape (...).  Integer arithmetic throughout (int64 when a bound
    allows it, Python ints otherwise); supports h11 = m <= 8.
    """
    _check_cone(cone)
    d = _check_d(d)
    m = d.shape[0]
    if m > MAX_EXACT_DIM:
        raise ValueError(
            f"exact stability is implemented for h11 <= {MAX_EXACT_DIM} (got {m}); the number of "
            "principal minors grows like C(2m, m)"
        )
    q = as_int_array(q, "q")
    if q.shape[-1:] != (m,):
        raise ValueError(f"q must have shape (..., {m}) (one charge per factor), got {q.shape}")
    batch_shape = q.shape[:-1]
    M = exact_dtype(slope_matrix(d, q.reshape(-1, m)))
    B = M.shape[0]
    if B == 0:
        return np.zeros(batch_shape, dtype=bool)
    data = principal_data(M)
    cop_pos, cop_neg = copositivity(M, data)
    stable = np.asarray(~cop_pos & ~cop_neg, dtype=bool)
    full = (1 << m) - 1
    masks = [full] if cone == "open" else sorted(data, key=lambda s: (s.bit_count(), s))
    pending = []
    for mask in masks:
        det, adj = data[mask]
        idx = _subset_indices(mask)
        ans, undecided = kernel_has_positive(det, adj, M[:, idx][:, :, idx])
        stable |= np.asarray(ans, dtype=bool)
        pending.append((idx, np.asarray(undecided, dtype=bool)))
    for idx, undecided in pending:
        todo = np.flatnonzero(undecided & ~stable)
        if todo.size:
            stable[todo] |= _resolve_exact(M, todo, idx)
    return stable.reshape(batch_shape)


# ---------------------------------------------------------------------- sums of line bundles
def _check_sum_charges(d: np.ndarray, charges: object) -> np.ndarray:
    m = d.shape[0]
    c = as_int_array(charges, "charges")
    if c.ndim not in (2, 3) or c.shape[-1] != m:
        raise ValueError(
            f"charges must have shape (n, {m}) or (batch, n, {m}) (n line bundles with one charge "
            f"per factor), got {c.shape}"
        )
    c1 = c.sum(axis=-2)
    bad = np.flatnonzero(np.any(c1 != 0, axis=-1).reshape(-1))
    if bad.size:
        where = "" if c.ndim == 2 else f" at batch index {int(bad[0])}"
        first = c1.reshape(-1, m)[bad[0]].tolist()
        raise ValueError(
            f"c1(V) = sum of the charges must vanish for a poly-stability check; "
            f"got {first}{where} "
            f"({bad.size} offending sum(s)). Complete each sum with the charge -sum(others)."
        )
    return c


def _exact_h11_2(d: np.ndarray, c: np.ndarray, cone: str) -> np.ndarray:
    r"""Common zero of binary quadratic forms in the cone, exactly (h11 = 2).

    Each slope is :math:`w_a \cdot (t_0^2, t_0 t_1, t_1^2)` with
    :math:`w_a = (M_{00}, 2M_{01}, M_{11})`.  With W = span(w_a): rank 0, every t works;
    rank 1, the zeros of one form (the single-bundle decision); rank 3, only t = 0; rank 2,
    the common zeros are the line spanned by :math:`v = w_a \times w_b`, which is a point of
    the cone iff :math:`v_0 v_2 = v_1^2` with v_0, v_1, v_2 of one sign (strict for open).
    """
    B, n, _ = c.shape
    M = slope_matrix(d, c)  # (B, n, 2, 2)
    w = np.stack([M[..., 0, 0], 2 * M[..., 0, 1], M[..., 1, 1]], axis=-1)
    emax = int(np.max(np.abs(w))) if w.size else 0
    w = promote_if_large(w, 6 * emax**3)
    nonzero_rows = np.any(w != 0, axis=-1)  # (B, n)
    result = np.zeros(B, dtype=bool)
    rank0 = ~np.any(nonzero_rows, axis=1)
    result[rank0] = True
    pairs = [(a, b) for a in range(n) for b in range(a + 1, n)]
    if pairs:
        crosses = np.stack([np.cross(w[:, a], w[:, b]) for a, b in pairs], axis=1)  # (B, P, 3)
        has_cross = np.any(crosses != 0, axis=-1)
        rank_ge2 = np.any(has_cross, axis=1)
    else:
        rank_ge2 = np.zeros(B, dtype=bool)
    rank1 = ~rank0 & ~rank_ge2
    if np.any(rank1):
        rows = np.flatnonzero(rank1)
        pick = np.argmax(nonzero_rows[rows], axis=1)
        result[rows] = is_stable(d, c[rows, pick], cone=cone)
    if np.any(rank_ge2):
        rows = np.flatnonzero(rank_ge2)
        v = crosses[rows, np.argmax(has_cross[rows], axis=1)]  # (R, 3)
        rank3 = np.any(np.einsum("rnk,rk->rn", w[rows], v) != 0, axis=1)
        on_curve = v[:, 0] * v[:, 2] == v[:, 1] ** 2
        if cone == "open":
            signed = np.all(v > 0, axis=1) | np.all(v < 0, axis=1)
        else:
            signed = np.all(v >= 0, axis=1) | np.all(v <= 0, axis=1)
        result[rows] = np.asarray(~rank3 & on_curve & signed, dtype=bool)
    return result


def _charge_rank_one(c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each sum, whether all charges are multiples of one vector, and that vector."""
    B, n, m = c.shape
    minors = (
        c[:, :, None, :, None] * c[:, None, :, None, :]
        - c[:, :, None, None, :] * c[:, None, :, :, None]
    )
    rank_le1 = ~np.any(minors.reshape(B, -1) != 0, axis=1)
    pick = np.argmax(np.any(c != 0, axis=-1), axis=1)
    return rank_le1, c[np.arange(B), pick]


def _float_forms(M: np.ndarray) -> np.ndarray:
    """Integer slope forms (..., m, m) as floats with the same zeros: each form divided
    exactly by the gcd of its entries, so charges k q and q give the same floats (and the
    same numeric answer); forms still beyond float range go through Python's correctly
    rounded int / int after division by a power of two near their largest entry."""
    flat = M.reshape(M.shape[:-2] + (-1,))
    g = np.gcd.reduce(flat, axis=-1)
    reduced = flat // np.where(g == 0, 1, g)[..., None]
    if reduced.dtype != object:
        return reduced.astype(float).reshape(M.shape)
    out = np.empty(reduced.shape, dtype=float)
    for idx in np.ndindex(reduced.shape[:-1]):
        row = [int(v) for v in reduced[idx]]
        scale = 1 << max(abs(v).bit_length() for v in row)
        out[idx] = [v / scale for v in row]
    return out.reshape(M.shape)


def _numeric_common_zero(
    M: np.ndarray,
    cone: str,
    tol: float,
    n_starts: int,
    max_iter: int,
    boundary_tol: float,
    seed: int,
) -> np.ndarray:
    r"""Levenberg-Marquardt search for t in the cone with :math:`t^T M_a t = 0` for all a.

    Forms are scaled to unit Frobenius norm and t to unit l1 norm, so the residual
    :math:`r_a = u^T \hat M_a u` (u = t / |t|_1) is scale-free.  t = exp(z) for the open
    cone and t = z**2 for the closed one.  Multi-start from the centroid and Dirichlet
    samples (seeded); a sum is reported stable when max_a |r_a| <= tol at some start and,
    for the open cone, min(u) >= boundary_tol * max(u): a zero that is only approached
    towards a face is a boundary zero, outside the open cone.  Starts stop once they
    converge, stall, or their sum is already decided.
    """
    B, n, m, _ = M.shape
    # largest entry first, so squaring cannot overflow (forms of 1e155 and more)
    Mf = M.astype(float)
    amax = np.max(np.abs(Mf), axis=(-2, -1), keepdims=True)
    Mf = Mf / np.where(amax > 0, amax, 1.0)
    norms = np.sqrt(np.sum(Mf**2, axis=(-2, -1), keepdims=True))
    Mh = Mf / np.where(norms > 0, norms, 1.0)
    rng = np.random.default_rng(seed)
    starts = np.vstack(
        [np.full((1, m), 1.0 / m), rng.dirichlet(np.ones(m), size=max(n_starts - 1, 0))]
    )
    S = starts.shape[0]
    owner = np.repeat(np.arange(B), S)
    z = np.tile(np.log(starts) if cone == "open" else np.sqrt(starts), (B, 1))

    def evaluate(z: np.ndarray, Mx: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        t = np.exp(z) if cone == "open" else z**2
        s = t.sum(axis=-1, keepdims=True)
        u = t / s
        Mu = np.einsum("bnjk,bk->bnj", Mx, u)
        r = np.einsum("bnj,bj->bn", Mu, u)
        dr_dt = (2 * Mu - 2 * r[..., None]) / s[:, None, :]
        dt_dz = t if cone == "open" else 2 * z
        return r, dr_dt * dt_dz[:, None, :], u

    found = np.zeros(B, dtype=bool)
    eye = np.eye(m)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        r, J, u = evaluate(z, Mh[owner])
        lam = np.full(z.shape[0], 1e-3)
        active = np.arange(z.shape[0])
        for _ in range(max_iter + 1):
            res = np.max(np.abs(r[active]), axis=-1)
            ua = u[active]
            hit = res <= tol
            if cone == "open":
                hit &= ua.min(axis=-1) >= boundary_tol * ua.max(axis=-1)
            found[owner[active[hit]]] = True
            keep = ~found[owner[active]] & (res > tol * 1e-3) & (lam[active] < 1e12)
            active = active[keep]
            if active.size == 0:
                break
            Ja, ra, za = J[active], r[active], z[active]
            JtJ = np.einsum("bnj,bnk->bjk", Ja, Ja)
            g = np.einsum("bnj,bn->bj", Ja, ra)
            # damping relative to the largest curvature keeps the system well conditioned
            scale = np.einsum("bjj->bj", JtJ).max(axis=-1)
            scale = np.where(scale > 0, scale, 1.0)
            damp = (lam[active] * scale)[:, None, None] * eye
            step = np.linalg.solve(JtJ + damp, -g[..., None])[..., 0]
            z_new = za + step
            if cone == "open":
                # scale invariance: centre z, and clip so exp stays finite
                z_new = np.clip(z_new - z_new.mean(axis=-1, keepdims=True), -60.0, 60.0)
            else:
                z_new = z_new / np.linalg.norm(z_new, axis=-1, keepdims=True)
            r_new, J_new, u_new = evaluate(z_new, Mh[owner[active]])
            cost_old = np.sum(ra**2, axis=-1)
            cost_new = np.sum(r_new**2, axis=-1)
            better = np.isfinite(cost_new) & (cost_new < cost_old)
            upd = active[better]
            z[upd], r[upd], J[upd], u[upd] = (
                z_new[better],
                r_new[better],
                J_new[better],
                u_new[better],
            )
            lam[active] = np.where(better, np.maximum(lam[active] / 3, 1e-10), lam[active] * 3)
    return found


def is_polystable_sum(
    d: np.ndarray,
    charges: np.ndarray | Sequence,
    cone: str = "open",
    method: str = "auto",
    *,
    tol: float = 1e-10,
    n_starts: int = 16,
    max_iter: int = 200,
    boundary_tol: float = 1e-4,
    seed: int = 0,
) -> np.ndarray:
    r"""Do all slopes of :math:`V = \oplus_a \mathcal{O}(q_a)` vanish at one t in the cone?

    Requires :math:`c_1(V) = \sum_a q_a = 0` (ValueError otherwise).  charges: (n, m) or
    (batch, n, m); returns a bool (0-d array) or a bool array (batch,).

    method="exact" (or "auto" where possible) is exact:
      * h11 = 1: only if all charges vanish;
      * h11 = 2: common zeros of binary quadratic forms via the rank of their coefficient
        vectors (see :func:`_exact_h11_2`);
      * any h11 <= 8 when all charges are multiples of one vector q (e.g. L + L^*):
        then every slope is a multiple of mu(q) and the answer is :func:`is_stable` of q.
    method="numeric" (used by "auto" for the remaining h11 > 2 cases): Levenberg-Marquardt
    multi-start search on the simplex (:func:`_numeric_common_zero`) with tolerance `tol`
    on the normalized residuals; it can miss zeros it does not reach (false negatives)
    and, for the open cone, counts zeros within `boundary_tol` of a face as outside.
    """
    _check_cone(cone)
    if method not in ("auto", "exact", "numeric"):
        raise ValueError(f"method must be 'auto', 'exact' or 'numeric', got {method!r}")
    d = _check_d(d)
    m = d.shape[0]
    c = _check_sum_charges(d, charges)
    single = c.ndim == 2
    c3 = c[None] if single else c
    B = c3.shape[0]
    result = np.zeros(B, dtype=bool)
    if B == 0:
        return result
    if method != "numeric" and m == 1:
        result = ~np.any(c3 != 0, axis=(1, 2))
    elif method != "numeric" and m == 2:
        result = _exact_h11_2(d, c3, cone)
    else:
        todo = np.ones(B, dtype=bool)
        if method != "numeric":
            rank1, gen = _charge_rank_one(c3)
            if np.any(rank1):
                result[rank1] = is_stable(d, gen[rank1], cone=cone)
                todo &= ~rank1
            if method == "exact" and np.any(todo):
                raise ValueError(
                    f"exact poly-stability is available for h11 <= 2 or charges spanning one "
                    f"direction; got h11 = {m} with independent charges. Use method='numeric'."
                )
        if np.any(todo):
            M = _float_forms(slope_matrix(d, c3[todo]))
            result[todo] = _numeric_common_zero(
                M, cone, tol, n_starts, max_iter, boundary_tol, seed
            )
    return result[0] if single else result


def pycicy_quick_rule(d: np.ndarray, q: np.ndarray) -> np.ndarray:
    r"""pyCICY's quick stability test, for comparison only: mixed signs among the entries of
    :math:`(q \cdot d)_{jk} = M(q)_{jk}` (its ``line_slope`` coefficients).

    It is neither of the exact labels: for the bicubic, q = 0 and the axes have no mixed
    signs (labelled unstable), while q0 q1 < 0 has mixed signs (stable).  Off the bicubic
    mixed coefficients need not produce a sign change of the form on the orthant.
    """
    M = slope_matrix(_check_d(d), as_int_array(q, "q"))
    flat = M.reshape(M.shape[:-2] + (-1,))
    return np.any(flat > 0, axis=-1) & np.any(flat < 0, axis=-1)

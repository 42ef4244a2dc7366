"""Slopes (eq. 34) and the exact stability labels (eq. 35), single bundles and sums."""

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from physics import CICY, is_stable, pycicy_quick_rule, slope_matrix
from physics._exact import (
    copositivity,
    kernel_has_positive_exact,
    principal_data,
)

BICUBIC = CICY([[2, 3], [2, 3]])
SMALL = [
    [[2, 3], [2, 3]],
    [[1, 2], [1, 2], [1, 2], [1, 2]],
    [[1, 2], [3, 4]],
    [[1, 0, 2], [2, 3, 0], [2, 0, 3]],
    [[1, 1, 1, 0, 0], [1, 1, 0, 1, 0], [5, 2, 1, 1, 2]],
    # five factors, P1^3 x P2^2
    [[1, 0, 0, 1, 1], [1, 1, 1, 0, 0], [1, 0, 1, 1, 0], [2, 1, 1, 0, 1], [2, 1, 0, 1, 1]],
]
BOX = np.stack(np.meshgrid(np.arange(-10, 11), np.arange(-10, 11), indexing="ij"), -1).reshape(
    -1, 2
)


def charges(m, bound=6):
    return st.lists(st.integers(-bound, bound), min_size=m, max_size=m).map(np.array)


@st.composite
def config_and_charge(draw, bound=6):
    c = CICY(draw(st.sampled_from(SMALL)))
    return c, draw(charges(c.num_factors, bound))


def test_small_configurations_are_valid():
    for config in SMALL:
        assert CICY(config).euler_characteristic % 2 == 0


# ---------------------------------------------------------------------------- eq. 34
@given(charges(2, 20), charges(2, 20))
def test_bicubic_slope_is_the_polynomial_of_eq34(q, t):
    (q0, q1), (t0, t1) = q, t
    expected = 6 * q0 * t0 * t1 + 3 * q0 * t1**2 + 3 * q1 * t0**2 + 6 * q1 * t0 * t1
    assert BICUBIC.slope(q, t) == expected


@given(config_and_charge(), st.floats(0.1, 10), st.integers(-5, 5), st.data())
def test_slope_is_quadratic_in_t_and_linear_in_q(cq, lam, a, data):
    c, q = cq
    m = c.num_factors
    t = np.array(data.draw(st.lists(st.floats(0.01, 5), min_size=m, max_size=m)))
    p = data.draw(charges(m))
    mu = c.slope(q, t)
    assert np.isclose(c.slope(q, lam * t), lam**2 * mu, rtol=1e-10, atol=1e-9)
    assert np.isclose(c.slope(a * q + p, t), a * mu + c.slope(p, t), rtol=1e-10, atol=1e-9)


def test_slope_broadcasts_q_against_t():
    q = np.array([[1, -1], [2, 3], [0, 1]])[:, None, :]  # (3, 1, 2)
    t = np.array([[1.0, 2.0], [0.5, 0.5]])[None]  # (1, 2, 2)
    out = BICUBIC.slope(q, t)
    assert out.shape == (3, 2)
    assert out[1, 0] == BICUBIC.slope([2, 3], [1.0, 2.0])


def test_slope_rejects_mismatched_last_axis():
    with pytest.raises(ValueError, match=r"\(\.\.\., 2\)"):
        BICUBIC.slope([1, 2, 3], [1, 1])


# ---------------------------------------------------------------------------- eq. 35, bicubic
def test_bicubic_labels_on_the_box():
    open_ = BICUBIC.is_stable(BOX)
    closed = BICUBIC.is_stable(BOX, cone="closed")
    assert open_.sum() == 201 and closed.sum() == 241
    q0, q1 = BOX.T
    assert np.array_equal(open_, (q0 * q1 < 0) | ((q0 == 0) & (q1 == 0)))
    assert np.array_equal(closed, q0 * q1 <= 0)


def test_pycicy_quick_rule_differs_as_documented():
    quick = pycicy_quick_rule(BICUBIC.intersection_numbers, BOX)
    q0, q1 = BOX.T
    assert quick.sum() == 200
    assert np.array_equal(quick, q0 * q1 < 0)  # misses q = 0 (open) and the axes (closed)
    # from h11 = 5 on it calls forms stable that keep one sign on the cone (CICY #2381)
    c = CICY.from_degrees(
        [[1, 1, 0, 0, 0], [1, 0, 1, 0, 0], [0, 0, 0, 1, 1], [0, 0, 1, 2, 0], [1, 1, 0, 0, 2]]
    )
    q = np.array([-1, -1, -1, 2, 1])
    assert pycicy_quick_rule(c.intersection_numbers, q)
    M = slope_matrix(c.intersection_numbers, q)
    pos, _ = copositivity(M[None], principal_data(M[None]))
    assert pos[0]  # t^T M t >= 0 on the orthant ...
    assert not c.is_stable(q)  # ... and never 0 inside it


def test_cone_argument_is_checked():
    with pytest.raises(ValueError, match="cone must be"):
        BICUBIC.is_stable([1, -1], cone="half-open")


def test_scalar_and_batched_shapes():
    assert BICUBIC.is_stable([1, -1]).shape == ()
    assert BICUBIC.is_stable(np.zeros((4, 3, 2), int)).shape == (4, 3)


# ---------------------------------------------------------------------------- properties
@given(config_and_charge(), st.randoms(use_true_random=False), st.sampled_from(["open", "closed"]))
def test_labels_invariant_under_consistent_factor_permutation(cq, rnd, cone):
    c, q = cq
    perm = list(range(c.num_factors))
    rnd.shuffle(perm)
    p = CICY(c.config[perm])
    assert p.is_stable(q[perm], cone=cone) == c.is_stable(q, cone=cone)


@given(config_and_charge(), st.integers(1, 7), st.sampled_from(["open", "closed"]))
def test_labels_invariant_under_positive_scaling_and_sign(cq, k, cone):
    c, q = cq
    label = c.is_stable(q, cone=cone)
    assert c.is_stable(k * q, cone=cone) == label
    assert c.is_stable(-q, cone=cone) == label  # mu(-q) = -mu(q)


@given(config_and_charge(bound=4), st.integers(0, 2**32 - 1))
def test_exact_decision_agrees_with_dense_sampling(cq, seed):
    c, q = cq
    m = c.num_factors
    rng = np.random.default_rng(seed)
    t = np.vstack([rng.dirichlet(np.full(m, 0.3), size=4000), rng.dirichlet(np.ones(m), size=4000)])
    mu = c.slope(q, t)
    if mu.max() > 1e-9 and mu.min() < -1e-9:
        assert c.is_stable(q)  # a sign change in the open cone forces a zero there
    if c.is_stable(q):
        assert c.is_stable(q, cone="closed")  # the closed cone only adds zeros
    if not c.is_stable(q, cone="closed"):
        assert mu.max() <= 0 or mu.min() >= 0


def test_sampling_finds_the_sign_changes_the_exact_rule_reports():
    # on the small configurations most exact "both signs" verdicts are visible to sampling;
    # this guards against an exact rule that says "stable" far too often
    rng = np.random.default_rng(0)
    for config in SMALL:
        c = CICY(config)
        q = rng.integers(-3, 4, size=(300, c.num_factors))
        t = rng.dirichlet(np.ones(c.num_factors), size=3000)
        mu = np.einsum("tj,bjk,tk->bt", t, slope_matrix(c.intersection_numbers, q), t)
        sampled = (mu.max(1) > 0) & (mu.min(1) < 0)
        exact = c.is_stable(q)
        assert not np.any(sampled & ~exact)
        assert (exact & ~sampled).sum() <= 0.1 * max(exact.sum(), 1)


# ---------------------------------------------------------------------------- exact helpers
def _kaplan_copositive(M):
    """Kaplan (2000): M is copositive iff no principal submatrix has an eigenvector > 0
    with a negative eigenvalue.  Floating point, independent of the exact criterion."""
    m = M.shape[0]
    for size in range(1, m + 1):
        for S in itertools.combinations(range(m), size):
            w, v = np.linalg.eigh(M[np.ix_(S, S)].astype(float))
            for lam, vec in zip(w, v.T, strict=True):
                if lam < -1e-9 and (np.all(vec > 1e-12) or np.all(vec < -1e-12)):
                    return False
    return True


@given(
    st.integers(1, 4).flatmap(
        lambda m: st.lists(st.integers(-4, 4), min_size=m * m, max_size=m * m)
    )
)
def test_copositivity_matches_kaplan_criterion(entries):
    m = int(round(len(entries) ** 0.5))
    A = np.array(entries).reshape(m, m)
    M = A + A.T
    pos, neg = copositivity(M[None], principal_data(M[None]))
    assert pos[0] == _kaplan_copositive(M)
    assert neg[0] == _kaplan_copositive(-M)


def test_kernel_positivity_exact_examples():
    assert kernel_has_positive_exact(np.zeros((3, 3), int))
    assert kernel_has_positive_exact(np.array([[1, -1, 0], [-1, 1, 0], [0, 0, 0]]))
    assert not kernel_has_positive_exact(np.array([[1, 1, 0], [1, 1, 0], [0, 0, 0]]))
    assert not kernel_has_positive_exact(np.eye(3, dtype=int))
    # rank 1 in 3 variables: kernel {x0 = x1 + x2} contains (2, 1, 1)
    assert kernel_has_positive_exact(np.array([[1, -1, -1], [-1, 1, 1], [-1, 1, 1]]))
    # kernel {x0 = -x1 - x2}: no positive point
    assert not kernel_has_positive_exact(np.array([[1, 1, 1], [1, 1, 1], [1, 1, 1]]))


def test_degenerate_forms_take_the_exact_path():
    # tetraquadric, q = (1, -1, 0, 0): mu = 4 t2 t3 (t1 - t0); M has rank 2 < 3 = m - 1
    c = CICY([[1, 2]] * 4)
    assert c.is_stable([1, -1, 0, 0])
    # q = (1, 0, 0, 0): mu = 4 (t1 t2 + t1 t3 + t2 t3) > 0 inside, 0 on a 2-codim face
    assert not c.is_stable([1, 0, 0, 0])
    assert c.is_stable([1, 0, 0, 0], cone="closed")


def test_large_charges_fall_back_to_python_integers():
    c = CICY([[1, 2]] * 4)
    rng = np.random.default_rng(3)
    small = rng.integers(-3, 4, size=(50, 4))
    big = small * 10**6  # minors reach ~1e29: int64 would wrap around
    for cone in ("open", "closed"):
        assert np.array_equal(c.is_stable(big, cone=cone), c.is_stable(small, cone=cone))
    assert is_stable(c.intersection_numbers, big).dtype == bool


# ---------------------------------------------------------------------------- sums
def test_polystable_sum_requires_c1_zero():
    with pytest.raises(ValueError, match="c1"):
        BICUBIC.is_polystable_sum([[1, -1], [1, 0]])
    with pytest.raises(ValueError, match="batch index 1"):
        BICUBIC.is_polystable_sum([[[1, -1], [-1, 1]], [[1, 0], [0, 0]]])
    with pytest.raises(ValueError, match=r"\(n, 2\)"):
        BICUBIC.is_polystable_sum([1, -1])


@given(config_and_charge(), st.sampled_from(["open", "closed"]))
def test_sum_with_dual_is_stability_of_the_bundle(cq, cone):
    c, q = cq
    assert c.is_polystable_sum([q, -q], cone=cone) == c.is_stable(q, cone=cone)


def test_bicubic_sums_exact_against_numeric():
    rng = np.random.default_rng(0)
    q = rng.integers(-3, 4, size=(400, 3, 2))
    q[:, 2] = -q[:, 0] - q[:, 1]
    for cone in ("open", "closed"):
        exact = BICUBIC.is_polystable_sum(q, cone=cone)
        numeric = BICUBIC.is_polystable_sum(q, cone=cone, method="numeric")
        assert exact.sum() > 10
        assert np.array_equal(exact, numeric)


def test_bicubic_sum_examples():
    # (1,-1) + (-1,1): both slopes vanish at t0 = t1
    assert BICUBIC.is_polystable_sum([[1, -1], [-1, 1]])
    # (1,0) + (-1,0): mu = +-3 t1 (2 t0 + t1), zero only on the face t1 = 0
    assert not BICUBIC.is_polystable_sum([[1, 0], [-1, 0]])
    assert BICUBIC.is_polystable_sum([[1, 0], [-1, 0]], cone="closed")
    # three independent slopes: no common zero
    assert not BICUBIC.is_polystable_sum([[2, -1], [-1, 3], [-1, -2]])


def test_numeric_sums_at_h11_3_agree_with_exact_pairs():
    c = CICY(SMALL[4])
    rng = np.random.default_rng(1)
    q = rng.integers(-3, 4, size=(150, 3))
    pairs = np.stack([q, -q], axis=1)
    for cone in ("open", "closed"):
        numeric = c.is_polystable_sum(pairs, cone=cone, method="numeric")
        assert np.array_equal(numeric, c.is_stable(q, cone=cone))


def test_exact_method_refuses_independent_sums_at_h11_3():
    c = CICY(SMALL[4])
    with pytest.raises(ValueError, match="numeric"):
        c.is_polystable_sum([[1, 0, -1], [0, 1, 0], [-1, -1, 1]], method="exact")


@given(charges(2, 3), charges(2, 3), st.randoms(use_true_random=False))
def test_sum_labels_invariant_under_reordering_summands(q, p, rnd):
    summands = [q, p, -q - p]
    order = [0, 1, 2]
    rnd.shuffle(order)
    for cone in ("open", "closed"):
        assert BICUBIC.is_polystable_sum(summands, cone=cone) == BICUBIC.is_polystable_sum(
            [summands[i] for i in order], cone=cone
        )

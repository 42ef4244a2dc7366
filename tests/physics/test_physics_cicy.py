"""CICY geometry: published facts, input validation, and the whole CICY list exactly."""

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from physics import CICY, load_cicy_json, load_line_bundle_cohomology, topological_data

QUINTIC = [[4, 5]]
BICUBIC = [[2, 3], [2, 3]]
TETRAQUADRIC = [[1, 2], [1, 2], [1, 2], [1, 2]]
P5_33 = [[5, 3, 3]]
SMALL = [
    QUINTIC,
    BICUBIC,
    TETRAQUADRIC,
    P5_33,
    [[1, 2], [3, 4]],
    [[1, 0, 2], [2, 3, 0], [2, 0, 3]],
    [[1, 1, 1, 0, 0], [1, 1, 0, 1, 0], [5, 2, 1, 1, 2]],
]


def test_quintic():
    c = CICY(QUINTIC)
    assert c.intersection_numbers.tolist() == [[[5]]]
    assert c.c2.tolist() == [50]
    assert c.euler_characteristic == -200


def test_bicubic_eq33():
    c = CICY(BICUBIC)
    d = c.intersection_numbers
    assert d[0, 0, 1] == d[0, 1, 1] == 3
    assert d[0, 0, 0] == d[1, 1, 1] == 0
    assert c.c2.tolist() == [36, 36]
    assert c.euler_characteristic == -162


def test_tetraquadric():
    c = CICY(TETRAQUADRIC)
    d = c.intersection_numbers
    for i, j, k in itertools.product(range(4), repeat=3):
        assert d[i, j, k] == (2 if len({i, j, k}) == 3 else 0)
    assert c.c2.tolist() == [24] * 4
    assert c.euler_characteristic == -128


def test_p5_33():
    c = CICY(P5_33)
    assert c.intersection_numbers.item() == 9
    assert c.euler_characteristic == -144


def test_from_degrees_matches_dimension_column():
    assert CICY.from_degrees([[3], [3]]) == CICY(BICUBIC)
    assert CICY.from_degrees([[5]]).euler_characteristic == -200
    assert CICY(BICUBIC).config.tolist() == BICUBIC


def test_results_are_exact_integers():
    c = CICY(TETRAQUADRIC)
    assert c.intersection_numbers.dtype.kind == "i"
    assert c.c2.dtype.kind == "i"
    assert isinstance(c.euler_characteristic, int)


@pytest.mark.parametrize(
    "config, message",
    [
        ([[2, 3], [2, 3, 1]], "ragged"),
        ([[2, 4, -1], [2, 3, 0]], "negative degree"),
        ([[2, 2], [2, 3]], "not Calabi-Yau"),
        ([[4, 5], [1, 2]], "not a threefold"),
        ([[4, 5, 0], [1, 0, 0]], "degree 0 in every factor"),
        ([[4]], "dimension column plus"),
        ([[[4, 5]]], "2-d"),
    ],
)
def test_invalid_configurations_name_the_condition(config, message):
    with pytest.raises(ValueError, match=message):
        CICY(config)


def test_non_integer_configuration_is_a_type_error():
    with pytest.raises(TypeError):
        CICY([["a", "b"]])
    with pytest.raises(ValueError, match="integers"):
        CICY([[4, 5.5]])


@given(st.sampled_from(SMALL), st.randoms(use_true_random=False))
def test_topology_is_invariant_under_row_and_column_permutations(config, rnd):
    c = CICY(config)
    rows = list(range(c.num_factors))
    cols = list(range(c.degrees.shape[1]))
    rnd.shuffle(rows)
    rnd.shuffle(cols)
    p = CICY(c.config[rows][:, [0] + [1 + a for a in cols]])
    assert np.array_equal(p.intersection_numbers, c.intersection_numbers[np.ix_(rows, rows, rows)])
    assert np.array_equal(p.c2, c.c2[rows])
    assert p.euler_characteristic == c.euler_characteristic


@given(st.sampled_from(SMALL))
def test_intersection_numbers_are_symmetric(config):
    d = CICY(config).intersection_numbers
    for perm in itertools.permutations(range(3)):
        assert np.array_equal(d, d.transpose(perm))


def test_batch_equals_one_by_one():
    ds, c2s, chis = topological_data([CICY(c) for c in SMALL])
    for config, d, c2, chi in zip(SMALL, ds, c2s, chis, strict=True):
        fresh = CICY(config)
        fresh._compute()
        assert np.array_equal(d, fresh.intersection_numbers)
        assert np.array_equal(c2, fresh.c2) and chi == fresh.euler_characteristic


def test_hyperplane_reduction_matches_the_bicubic():
    # P3 x P2 with a linear hyperplane in P3 is the bicubic again
    assert CICY([[3, 1, 3], [2, 0, 3]]).euler_characteristic == -162
    assert CICY([[3, 1, 3], [2, 0, 3]]).intersection_numbers.tolist() == (
        CICY(BICUBIC).intersection_numbers.tolist()
    )


# ---------------------------------------------------------------------------- index
def test_index_of_quintic_hyperplane_bundle():
    # O(1) on the quintic has 5 sections and no higher cohomology
    assert int(CICY(QUINTIC).index([1])) == 5
    assert int(CICY(QUINTIC).index([0])) == 0


@given(
    st.sampled_from(SMALL),
    st.lists(st.integers(-30, 30), min_size=4, max_size=4),
)
def test_index_is_integer_and_odd_under_serre_duality(config, raw):
    c = CICY(config)
    q = np.array(raw[: c.num_factors])
    chi = c.index(q)
    assert np.asarray(chi).dtype.kind == "i"
    # Serre duality on a Calabi-Yau threefold: chi(L*) = -chi(L)
    assert int(c.index(-q)) == -int(chi)


def test_index_broadcasts_over_leading_axes():
    c = CICY(BICUBIC)
    q = np.arange(24).reshape(3, 4, 2) - 10
    out = c.index(q)
    assert out.shape == (3, 4)
    assert out[1, 2] == c.index(q[1, 2])


def test_index_rejects_wrong_shape():
    with pytest.raises(ValueError, match=r"shape \(\.\.\., 2\)"):
        CICY(BICUBIC).index([1, 2, 3])


def test_index_of_huge_charges_stays_exact():
    q = np.array([10**7, -(10**7)])
    c = CICY(BICUBIC)
    d = c.intersection_numbers
    exact = sum(
        int(d[i, j, k]) * int(q[i]) * int(q[j]) * int(q[k])
        for i, j, k in itertools.product(range(2), repeat=3)
    )
    assert int(c.index(q)) == (2 * exact + int(c.c2 @ q)) // 12


# ---------------------------------------------------------------------------- shared data
def test_all_7890_euler_numbers_and_c2_exactly(shared_data):
    records = load_cicy_json(shared_data / "cicy" / "cicy3o.json.gz")
    assert len(records) == 7890
    _, c2s, chis = topological_data([r.cicy() for r in records])
    wrong = [
        r.id
        for r, c2, chi in zip(records, c2s, chis, strict=True)
        if chi != r.euler or not np.array_equal(c2, r.c2)
    ]
    assert wrong == []
    products = [r for r in records if _is_block_diagonal(r.matrix)]
    assert len(products) > 10  # products (e.g. K3 x T2) are part of the check
    assert all(r.euler == 0 for r in products)


def _is_block_diagonal(matrix):
    """True when factors and polynomials split into two groups that share no entry."""
    rows = {0}
    changed = True
    while changed:
        cols = set(np.flatnonzero(matrix[sorted(rows)].any(axis=0)).tolist())
        new_rows = set(np.flatnonzero(matrix[:, sorted(cols)].any(axis=1)).tolist())
        changed = new_rows != rows
        rows = new_rows
    return len(rows) < matrix.shape[0]


def test_favourable_list_c2_and_euler(shared_data):
    original = load_cicy_json(shared_data / "cicy" / "cicy3o.json.gz")
    favourable = load_cicy_json(shared_data / "cicy" / "cicy3f.json.gz")
    _, c2s, chis = topological_data([r.cicy() for r in favourable])
    assert all(np.array_equal(c2, r.c2) for r, c2 in zip(favourable, c2s, strict=True))
    # same numbering, different (favourable) descriptions of the same manifolds
    assert [o.euler for o in original] == chis


@pytest.mark.parametrize("number", [7806, 7882])
def test_index_equals_alternating_sum_of_cohomology(shared_data, number):
    # the table's number is the 1-based id of the original list (cicy3o; cicy3f has the same
    # matrices for these two), and m0, m1 are the charges on the rows in the listed order
    records = load_cicy_json(shared_data / "cicy" / "cicy3o.json.gz")
    record = records[number - 1]
    assert record.id == number
    table = load_line_bundle_cohomology(shared_data / "line_bundle_cohomology" / f"{number}.csv")
    assert table.charges.shape == (441, 2)
    assert np.array_equal(record.cicy().index(table.charges), table.index)

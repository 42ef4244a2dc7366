"""Datasets (.npz, atomic) and loaders (CICY lists, cohomology tables, padded matrices)."""

import gzip
import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from physics import (
    CICY,
    StabilityDataset,
    configuration_tensor,
    load_cicy_json,
    load_cicy_text,
    load_dataset,
    load_line_bundle_cohomology,
    make_stability_dataset,
    pad_configuration,
    parse_cicy_text,
    permute_configuration,
)

BICUBIC = CICY([[2, 3], [2, 3]])


# ---------------------------------------------------------------------------- datasets
def test_grid_dataset_is_the_labelled_box():
    ds = make_stability_dataset(BICUBIC, box=(-10, 10))
    assert ds.X.shape == (441, 2) and ds.y.shape == (441,)
    assert ds.y.sum() == 201
    assert np.array_equal(ds.y, BICUBIC.is_stable(ds.X).astype(np.int8))
    closed = make_stability_dataset(BICUBIC, cone="closed")
    assert closed.y.sum() == 241 and closed.meta["cone"] == "closed"


def test_balancing_and_seeding():
    a = make_stability_dataset(BICUBIC, balance=True, seed=3)
    b = make_stability_dataset(BICUBIC, balance=True, seed=3)
    c = make_stability_dataset(BICUBIC, balance=True, seed=4)
    assert a.y.sum() == len(a) - a.y.sum() == 201
    assert np.array_equal(a.X, b.X)
    assert not np.array_equal(a.X, c.X)


@given(st.integers(1, 400), st.integers(0, 1000))
def test_random_single_bundles_are_unique_and_in_the_box(n, seed):
    ds = make_stability_dataset(BICUBIC, sampling="random", n_samples=n, box=(-5, 5), seed=seed)
    assert len(ds) <= n
    assert np.unique(ds.X, axis=0).shape[0] == len(ds)
    assert ds.X.min() >= -5 and ds.X.max() <= 5


def test_sums_have_zero_c1_and_are_deduplicated_up_to_order():
    ds = make_stability_dataset(BICUBIC, rank=3, box=(-2, 2))
    assert ds.X.shape[1:] == (3, 2)
    assert not np.any(ds.X.sum(axis=1))
    canon = {tuple(sorted(map(tuple, x))) for x in ds.X.tolist()}
    assert len(canon) == len(ds)
    assert np.array_equal(ds.y, BICUBIC.is_polystable_sum(ds.X).astype(np.int8))
    pairs = make_stability_dataset(BICUBIC, rank=2, box=(-3, 3))
    assert len(pairs) == (7 * 7 + 1) // 2  # q + (-q) and (-q) + q are one bundle


def test_random_sums_without_dedupe_keep_repeats_possible():
    ds = make_stability_dataset(
        BICUBIC, rank=2, sampling="random", n_samples=300, box=(-1, 1), dedupe=False, seed=0
    )
    assert len(ds) == 300
    assert np.unique(ds.X.reshape(300, -1), axis=0).shape[0] < 300


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"rank": 0}, "rank"),
        ({"box": (3, -3)}, "lo <= hi"),
        ({"sampling": "sobol"}, "sampling"),
        ({"sampling": "random"}, "n_samples"),
        ({"rank": 4, "box": (-20, 20)}, "grid has"),
    ],
)
def test_dataset_arguments_are_checked(kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_stability_dataset(BICUBIC, **kwargs)


def test_cannot_balance_a_single_class():
    with pytest.raises(ValueError, match="cannot balance"):
        make_stability_dataset(BICUBIC, box=(1, 3), balance=True)


def test_save_load_roundtrip_is_atomic(tmp_path):
    ds = make_stability_dataset(BICUBIC, rank=2, box=(-2, 2))
    path = ds.save(tmp_path / "d.npz")
    assert [p.name for p in tmp_path.iterdir()] == ["d.npz"]  # no temp file left behind
    back = load_dataset(path)
    assert np.array_equal(back.X, ds.X) and np.array_equal(back.y, ds.y)
    assert np.array_equal(back.config, BICUBIC.config)
    assert back.meta == ds.meta
    assert StabilityDataset.load(path).cicy == BICUBIC


def test_truncated_file_gives_a_clear_error(tmp_path):
    path = make_stability_dataset(BICUBIC).save(tmp_path / "d.npz")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="truncated"):
        load_dataset(path)


def test_foreign_files_give_clear_errors(tmp_path):
    np.savez(tmp_path / "other.npz", a=np.zeros(3))
    with pytest.raises(ValueError, match="missing arrays"):
        load_dataset(tmp_path / "other.npz")
    (tmp_path / "text.npz").write_text("hello")
    with pytest.raises(ValueError, match="d.npz|text.npz"):
        load_dataset(tmp_path / "text.npz")
    np.savez(
        tmp_path / "bad.npz",
        X=np.zeros((3, 2), int),
        y=np.zeros(4, int),
        config=BICUBIC.config,
        meta=np.array(json.dumps({"format": "cygrad.physics.StabilityDataset", "version": 1})),
    )
    with pytest.raises(ValueError, match=r"y must have shape \(3,\)"):
        load_dataset(tmp_path / "bad.npz")


# ---------------------------------------------------------------------------- text list
SAMPLE = """\
Num    : 7806
NumPs  : 2
NumPol : 2
Eta    : -108
H11    : 2
H21    : 56
C2     : {24,48}
Redun  : {}
 1  0  2
 4  3  2

Num    : 7890
NumPs  : 1
NumPol : 1
Eta    : -200
H11    : 1
H21    : 101
C2     : {50}
Redun  : {}
{5}
"""


def test_parse_text_list_both_row_widths():
    first, quintic = parse_cicy_text(SAMPLE)
    assert first.id == 7806 and first.euler == -108 and first.h21 == 56
    assert first.matrix.tolist() == [[0, 2], [3, 2]]
    assert first.c2.tolist() == [24, 48]
    assert quintic.matrix.tolist() == [[5]] and quintic.redun == ()
    assert first.cicy().euler_characteristic == first.euler
    assert first.cicy().c2.tolist() == first.c2.tolist()
    assert quintic.cicy().c2.tolist() == quintic.c2.tolist()


def test_text_list_from_gzip_file(tmp_path):
    path = tmp_path / "cicylist.txt.gz"
    with gzip.open(path, "wt") as fh:
        fh.write(SAMPLE)
    assert [r.id for r in load_cicy_text(path)] == [7806, 7890]


@pytest.mark.parametrize(
    "broken, message",
    [
        (SAMPLE.replace("NumPol : 2", "NumPoly : 2"), r"line 3: expected 'NumPol"),
        (SAMPLE.replace(" 4  3  2\n", " 4  3  2  1\n"), r"line 10: expected 3 integers like"),
        (SAMPLE.replace(" 1  0  2\n", " 2  0  2\n"), r"line 9: dimension 2"),
        (SAMPLE.replace("C2     : {24,48}", "C2     : {24,x}"), r"line 7: C2"),
        (SAMPLE.replace("C2     : {24,48}", "C2     : {24}"), "C2 has 1 entries"),
        (SAMPLE.rsplit("{5}", 1)[0], "ends after 0 of 1 matrix rows"),
        (SAMPLE.replace("Eta    : -108", "Eta    : many"), "line 4: Eta must be an integer"),
    ],
)
def test_malformed_text_names_the_line(broken, message):
    with pytest.raises(ValueError, match=message):
        parse_cicy_text(broken)


# ---------------------------------------------------------------------------- json list
def test_json_loader_errors(tmp_path):
    (tmp_path / "a.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match="mapping ids"):
        load_cicy_json(tmp_path / "a.json")
    (tmp_path / "b.json").write_text('{"1": {"matrix": [[5]], "h11": 1}}')
    with pytest.raises(ValueError, match=r"record '1': missing fields \['c2', 'h21'\]"):
        load_cicy_json(tmp_path / "b.json")
    (tmp_path / "c.json").write_text('{"1": {"matrix": [[5]], "h11": 1, "h21": 101, "c2": [1, 2]}}')
    with pytest.raises(ValueError, match="one entry per matrix row"):
        load_cicy_json(tmp_path / "c.json")
    (tmp_path / "d.json.gz").write_bytes(gzip.compress(b'{"1": {}}')[:15])
    with pytest.raises(ValueError, match="truncated"):
        load_cicy_json(tmp_path / "d.json.gz")
    (tmp_path / "e.json").write_text('{"1": ')
    with pytest.raises(ValueError, match="not valid JSON at line 1"):
        load_cicy_json(tmp_path / "e.json")


def test_json_list_fields(shared_data):
    records = load_cicy_json(shared_data / "cicy" / "cicy3f.json.gz")
    assert [r.id for r in records[:3]] == [1, 2, 3]
    assert set(records[0].extra) == {"favour", "kahlerpos", "isprod", "size"}
    assert records[0].euler is None  # the favourable list carries no Euler numbers


# ---------------------------------------------------------------------------- tables
def test_cohomology_table_format(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(" m0 m1 h0 h1 h2 h3\n0 -1.0 2.0 0.0 3 0.0 0\n1 0 0 1.0 0 0 1\n")
    table = load_line_bundle_cohomology(path)
    assert table.charges.tolist() == [[-1, 2], [0, 0]]
    assert table.index.tolist() == [-3, 0]
    path.write_text(" m0 m1 h0 h1 h2 h3\n0 -1.5 2.0 0.0 3 0.0 0\n")
    with pytest.raises(ValueError, match="line 2: '-1.5' is not an integer"):
        load_line_bundle_cohomology(path)
    path.write_text(" m0 m1 h0 h1 h2\n")
    with pytest.raises(ValueError, match="line 1: header"):
        load_line_bundle_cohomology(path)
    path.write_text(" m0 m1 h0 h1 h2 h3\n1 2 3\n")
    with pytest.raises(ValueError, match="line 2: expected 6 values"):
        load_line_bundle_cohomology(path)


def test_shared_cohomology_tables(shared_data):
    table = load_line_bundle_cohomology(shared_data / "line_bundle_cohomology" / "7806.csv")
    assert table.h.shape == (441, 4) and table.h.min() >= 0
    assert table.charges.min() == -10 and table.charges.max() == 10


# ---------------------------------------------------------------------------- encodings
def test_padding_and_transposes():
    padded = pad_configuration([[3], [3]])
    assert padded.shape == (12, 15) and padded[:2, 0].tolist() == [3, 3] and padded.sum() == 6
    stack = configuration_tensor([[[5]], [[3], [3]]], transpose=True)
    assert stack.shape == (2, 15, 12) and stack[1, 0, :2].tolist() == [3, 3]
    with pytest.raises(ValueError, match="does not fit"):
        pad_configuration(np.ones((13, 2), int))
    with pytest.raises(ValueError, match="rng"):
        configuration_tensor([[[5]]], permute=True)


@given(st.integers(0, 10_000))
def test_permutation_augmentation_preserves_the_manifold(seed):
    matrix = np.array([[1, 1, 0, 0], [1, 0, 1, 0], [2, 1, 1, 2]])
    rng = np.random.default_rng(seed)
    perm = permute_configuration(matrix, rng)
    assert sorted(perm.ravel().tolist()) == sorted(matrix.ravel().tolist())
    a, b = CICY.from_degrees(matrix), CICY.from_degrees(perm)
    assert a.euler_characteristic == b.euler_characteristic
    assert sorted(a.c2.tolist()) == sorted(b.c2.tolist())
    aug = configuration_tensor([matrix] * 3, permute=True, rng=np.random.default_rng(seed))
    assert aug.shape == (3, 12, 15) and (aug.sum(axis=(1, 2)) == matrix.sum()).all()


def test_shared_list_fits_the_12_by_15_encoding(shared_data):
    records = load_cicy_json(shared_data / "cicy" / "cicy3o.json.gz")
    tensor = configuration_tensor(r.matrix for r in records)
    assert tensor.shape == (7890, 12, 15)

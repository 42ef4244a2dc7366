"""examples/line_bundle_cohomology.py on a few epochs (needs ../shared/data)."""

from __future__ import annotations

import numpy as np
from test_stability import metrics_of, run

import physics


def test_all_models_tiny_run(tmp_path, shared_data):
    proc = run("line_bundle_cohomology.py", "--epochs", "3", "--data",
               str(shared_data / "line_bundle_cohomology"), "--cicy-list",
               str(shared_data / "cicy" / "cicy3o.json.gz"), "--out", str(tmp_path))
    m = metrics_of(proc, tmp_path)
    for n in (7806, 7882):
        table = physics.load_line_bundle_cohomology(
            shared_data / "line_bundle_cohomology" / f"{n}.csv")
        # the held-out part keeps the table's share of h1 = 0 (stratified split), and
        # predicting 0 is exact exactly there
        zero_share = np.mean(table.h[:, 1] == 0)
        assert abs(m[f"{n}_baseline_test_exact"] - zero_share) < 0.02
        assert m[f"{n}_baseline_test_exact_h1_positive"] == 0.0
        for mode in ("regression", "classification", "physics-regression",
                     "physics-classification"):
            for part in ("train", "test"):
                assert 0.0 <= m[f"{n}_{mode}_{part}_exact"] <= 1.0
                assert m[f"{n}_{mode}_{part}_rmse"] >= 0.0
        assert (tmp_path / f"learning_curves_{n}.png").exists()
    assert m["headline_model"] == "physics-classification"


def test_physics_informed_model_learns(tmp_path, shared_data):
    m = metrics_of(run("line_bundle_cohomology.py", "--modes", "physics-classification",
                       "--no-plots", "--manifolds", "7882", "--out", str(tmp_path)), tmp_path)
    assert m["7882_physics-classification_test_exact"] > m["7882_baseline_test_exact"]
    assert m["7882_physics-classification_test_rmse"] < m["7882_baseline_test_rmse"]


def test_missing_table_is_one_clear_line(tmp_path):
    proc = run("line_bundle_cohomology.py", "--data", str(tmp_path / "nowhere"),
               "--cicy-list", str(tmp_path / "none.json.gz"), "--out", str(tmp_path),
               check=False)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "not found" in lines[0] and "shared/data" in lines[0]

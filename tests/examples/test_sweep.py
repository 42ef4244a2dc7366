"""examples/sweep.py: parallel runs, one JSON line per finished run, re-runs skip them."""

from __future__ import annotations

import json
import sys

from test_stability import EXAMPLES, metrics_of, run

sys.path.insert(0, str(EXAMPLES))
import sweep  # noqa: E402

TINY = ["--", "--epochs", "2", "--no-plots", "--box", "-4", "4"]


def lines(path):
    return [json.loads(x) for x in path.read_text().splitlines()]


def test_grid_runs_in_parallel_and_resumes(tmp_path):
    argv = ["--width", "4", "8", "--activation", "relu", "tanh", "--workers", "2",
            "--out", str(tmp_path), *TINY]
    m = metrics_of(run("sweep.py", *argv), tmp_path)
    records = lines(tmp_path / "runs.jsonl")
    assert len(records) == 4 and m["runs"] == 4 and m["finished"] == 4
    assert {(r["config"]["width"], r["config"]["activation"]) for r in records} == \
        {(4, "relu"), (4, "tanh"), (8, "relu"), (8, "tanh")}
    for r in records:
        assert r["status"] == "ok"
        saved = json.loads((tmp_path / "runs" / r["id"] / "metrics.json").read_text())
        assert saved == r["metrics"] and saved["width"] == r["config"]["width"]
    best = max(r["metrics"]["test_accuracy"] for r in records)
    assert m["best_value"] == best
    # a crash mid-write leaves a torn line: it is ignored and nothing finished is re-run
    with open(tmp_path / "runs.jsonl", "a") as fh:
        fh.write('{"id": "torn')
    again = metrics_of(run("sweep.py", *argv), tmp_path)
    assert "4 configs, 4 already finished, 0 to run" in run("sweep.py", *argv).stdout
    assert again["best_value"] == best
    assert len(sweep.read_records(tmp_path / "runs.jsonl")) == 4


def test_failed_runs_are_recorded_and_retried(tmp_path):
    argv = ["--out", str(tmp_path), "--workers", "1", "--", "--epochs", "0"]
    proc = run("sweep.py", *argv)
    record = lines(tmp_path / "runs.jsonl")[0]
    assert record["status"] == "failed" and "--epochs" in record["error"]
    assert "failed" in proc.stdout
    run("sweep.py", *argv)
    assert len(lines(tmp_path / "runs.jsonl")) == 2  # retried, not skipped


def test_random_search_draws_distinct_configs_deterministically(tmp_path):
    args = sweep.build_parser().parse_args(
        ["--search", "random", "--trials", "5", "--width", "4", "8", "16",
         "--lr", "0.1", "0.01", "--seeds", "0", "1", "--seed", "3"])
    a, b = sweep.configs(args), sweep.configs(args)
    assert a == b and len(a) == 5
    assert len({json.dumps(c, sort_keys=True) for c in a}) == 5
    assert all(c["width"] in (4, 8, 16) and c["lr"] in (0.1, 0.01) for c in a)

"""examples/stability.py end to end on small configurations (a few epochs)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def run(script: str, *argv: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run an example script with this interpreter; the last stdout line is its metrics."""
    proc = subprocess.run([sys.executable, str(EXAMPLES / script), *argv, "--progress", "off"],
                          capture_output=True, text=True, timeout=300)
    if check and proc.returncode != 0:
        raise AssertionError(f"{script} {argv} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


def metrics_of(proc: subprocess.CompletedProcess, out: Path) -> dict:
    printed = json.loads(proc.stdout.strip().splitlines()[-1])
    saved = json.loads((out / "metrics.json").read_text())
    assert printed == saved
    assert f"output folder: {out.resolve()}" in proc.stdout
    return saved


def test_default_problem_tiny_run_writes_everything(tmp_path):
    proc = run("stability.py", "--epochs", "3", "--out", str(tmp_path))
    m = metrics_of(proc, tmp_path)
    assert m["n_train"] + m["n_test"] == 441  # every charge in [-10, 10]^2
    assert m["n_test"] == round(0.2 * 441)
    assert 0.0 <= m["train_accuracy"] <= 1.0 and 0.0 <= m["test_accuracy"] <= 1.0
    assert m["seconds"] > 0 and m["input_scale"] == 10.0
    # 201 of 441 bundles are stable in the open cone; the split is stratified
    assert abs(m["stable_fraction"] - 201 / 441) < 0.01
    history = json.loads((tmp_path / "history.json").read_text())
    assert len(history["loss"]) == 3 and len(history["accuracy"]) == 3
    assert not any(k.startswith("val_") for k in history)  # the test set is not watched
    for name in ("learning_curves.png", "decision_regions.png"):
        assert (tmp_path / name).read_bytes()[:4] == b"\x89PNG"


def test_adam_recipe_learns_the_stability_rule(tmp_path):
    m = metrics_of(run("stability.py", "--no-plots", "--out", str(tmp_path)), tmp_path)
    assert m["train_accuracy"] >= 0.99
    # at most the trivial bundle q = 0 (stable by eq. 35 with mu == 0, unlike all its
    # lattice neighbours on the axes) can be missed when it falls in the test set
    assert m["test_accuracy"] >= 87 / 88
    assert all(q == [0, 0] for q in m["test_misclassified"])


def test_same_seed_same_run_other_seed_other_split(tmp_path):
    a = metrics_of(run("stability.py", "--epochs", "2", "--no-plots", "--seed", "5",
                       "--out", str(tmp_path / "a")), tmp_path / "a")
    b = metrics_of(run("stability.py", "--epochs", "2", "--no-plots", "--seed", "5",
                       "--out", str(tmp_path / "b")), tmp_path / "b")
    c = metrics_of(run("stability.py", "--epochs", "2", "--no-plots", "--seed", "6",
                       "--out", str(tmp_path / "c")), tmp_path / "c")
    drop = {"seconds"}
    assert {k: v for k, v in a.items() if k not in drop} == \
        {k: v for k, v in b.items() if k not in drop}
    assert a["final_loss"] != c["final_loss"]


def test_generalization_closed_cone_and_lecture_recipe(tmp_path):
    m = metrics_of(run("stability.py", "--box", "-3", "3", "--generalize", "5", "--epochs",
                       "2", "--cone", "closed", "--recipe", "lecture", "--out",
                       str(tmp_path)), tmp_path)
    assert m["n_generalization"] == 11 ** 2 - 7 ** 2  # [-5, 5]^2 minus the box
    assert 0.0 <= m["generalization_accuracy"] <= 1.0
    assert (m["optimizer"], m["lr"], m["input_scale"]) == ("sgd", 1e-3, 1.0)


def test_sums_of_line_bundles_and_other_configuration(tmp_path):
    m = metrics_of(run("stability.py", "--rank", "2", "--epochs", "2", "--out",
                       str(tmp_path / "sums")), tmp_path / "sums")
    assert m["rank"] == 2 and m["n_train"] + m["n_test"] > 0
    m = metrics_of(run("stability.py", "--config", "[[1,2],[1,2],[2,3]]", "--box", "-2", "2",
                       "--epochs", "2", "--no-plots", "--out", str(tmp_path / "h3")),
                   tmp_path / "h3")
    assert m["config"] == [[1, 2], [1, 2], [2, 3]] and m["n_train"] + m["n_test"] == 5 ** 3


@pytest.mark.parametrize("argv, words", [
    (["--config", "[[2,3],[2"], "--config"),
    (["--generalize", "5"], "--generalize"),
    (["--lr", "-1"], "--lr"),
    (["--momentum", "0.9"], "--optimizer sgd"),  # the Adam recipe has no momentum option
    (["--recipe", "lecture", "--nesterov"], "--momentum > 0"),
    (["--recipe", "lecture", "--momentum", "1.5"], "[0, 1)"),
])
def test_bad_options_exit_with_one_clear_line(tmp_path, argv, words):
    proc = run("stability.py", *argv, "--out", str(tmp_path), check=False)
    assert proc.returncode != 0
    assert words in proc.stderr and "Traceback" not in proc.stderr


def test_help_explains_every_option():
    text = run("stability.py", "--help").stdout
    for option in ("--config", "--cone", "--rank", "--box", "--generalize", "--recipe",
                   "--seed", "--out", "--scale", "--epochs", "--lr", "--momentum",
                   "--nesterov"):
        assert option in text


def test_lecture_recipe_with_momentum_and_nesterov(tmp_path):
    # Eq. 16 on the lecture's slow recipe (SGD, lr 1e-3, raw charges): heavy-ball momentum
    # 0.9 takes ~10x longer effective steps, so after 3 epochs its loss is lower.
    runs = {}
    for name, extra in (("plain", ()), ("momentum", ("--momentum", "0.9")),
                        ("nesterov", ("--momentum", "0.9", "--nesterov"))):
        out = tmp_path / name
        runs[name] = metrics_of(run("stability.py", "--recipe", "lecture", "--epochs", "3",
                                    "--no-plots", *extra, "--out", str(out)), out)
    assert (runs["plain"]["momentum"], runs["plain"]["nesterov"]) == (0.0, False)
    assert (runs["nesterov"]["momentum"], runs["nesterov"]["nesterov"]) == (0.9, True)
    assert runs["momentum"]["final_loss"] < runs["plain"]["final_loss"]
    assert runs["nesterov"]["final_loss"] != runs["momentum"]["final_loss"]


def test_last_batch_is_dropped_by_the_adam_recipe_and_kept_on_request(tmp_path):
    # 353 training bundles: 11 batches of 32 and a last batch of 1, which the Adam
    # recipe drops; keeping it trains on other batches, so the runs differ.
    runs = {}
    for choice in ("default", "keep", "drop"):
        extra = () if choice == "default" else ("--last-batch", choice)
        out = tmp_path / choice
        runs[choice] = metrics_of(run("stability.py", "--epochs", "2", "--no-plots",
                                      *extra, "--out", str(out)), out)
    assert runs["default"]["last_batch"] == "drop" and runs["keep"]["last_batch"] == "keep"
    assert runs["default"]["final_loss"] == runs["drop"]["final_loss"]
    assert runs["keep"]["final_loss"] != runs["drop"]["final_loss"]
    lecture = metrics_of(run("stability.py", "--recipe", "lecture", "--epochs", "1",
                             "--no-plots", "--out", str(tmp_path / "lecture")),
                         tmp_path / "lecture")
    assert lecture["last_batch"] == "keep"


def test_a_training_set_smaller_than_a_batch_keeps_its_only_batch(tmp_path):
    # [-2, 2]^2: 20 training bundles, fewer than the batch of 32 the Adam recipe uses
    m = metrics_of(run("stability.py", "--box", "-2", "2", "--epochs", "1", "--no-plots",
                       "--out", str(tmp_path)), tmp_path)
    assert m["n_train"] < 32 and m["last_batch"] == "keep"

"""examples/sweep.py: Optuna studies run on a real Dask LocalCluster, and its faults.

The fault tests kill real processes (a worker, the sweep itself) in the middle of a trial
and check the study afterwards: every trial recorded exactly once, nothing finished lost
or repeated. They wait on what the study shows (a trial running with epochs reported),
never on sleeps.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

optuna = pytest.importorskip("optuna")
pytest.importorskip("distributed")

from optuna.trial import TrialState  # noqa: E402
from test_stability import EXAMPLES  # noqa: E402

sys.path.insert(0, str(EXAMPLES))
import _sweep_study as ss  # noqa: E402
import _sweep_worker as sw  # noqa: E402
import stability  # noqa: E402
import sweep  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
# Trials of about a second: long enough to be caught mid-run (40 epochs over the 1681
# charges of [-20, 20]^2), and a grid so "each once" is checkable parameter by parameter.
SLOW_GRID = ["--search", "grid", "--depth", "2", "--width", "64", "--pruner", "none",
             "--no-plots"]
SLOW_RUN = ["--", "--epochs", "40", "--box", "-20", "20", "--no-plots"]


# ------------------------------------------------------------------ helpers
def start(tmp_path: Path, *argv: str, log: str = "sweep.log",
          out: Path | None = None) -> subprocess.Popen:
    """sweep.py in its own process; its output goes to a file (no pipe to fill). A short
    heartbeat, so a rerun after a kill reaps the dead sweep's trials within 1.5 s."""
    own = ["--out", str(out or tmp_path / "out"), "--progress", "off", "--dashboard", "off",
           "--heartbeat", "0.5"]
    with open(tmp_path / log, "w") as fh:
        return subprocess.Popen([sys.executable, str(EXAMPLES / "sweep.py"), *own, *argv],
                                stdout=fh, stderr=subprocess.STDOUT, text=True)


def finish(proc: subprocess.Popen, tmp_path: Path, log: str = "sweep.log",
           code: int = 0) -> str:
    try:
        proc.wait(timeout=240)
    finally:
        if proc.poll() is None:
            proc.kill()
    text = (tmp_path / log).read_text()
    assert proc.returncode == code, f"sweep exited {proc.returncode}:\n{text}"
    return text


def wait_for(predicate, what: str, timeout: float = 120.0, log: Path | None = None):
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}"
                         + (f"\n{log.read_text()}" if log and log.exists() else ""))


def study_of(out: Path):
    """The one study in <out>/study.db, or None before the sweep has made it."""
    if not (out / "study.db").exists():
        return None
    # opened as the sweep opens it, under its lock: the first opener creates the tables
    storage = ss.open_storage(ss.storage_spec(f"sqlite:///{out / 'study.db'}", out))
    names = optuna.get_all_study_names(storage)
    return optuna.load_study(study_name=names[0], storage=storage) if names else None


def trials_of(out: Path) -> list:
    study = study_of(out)
    return study.get_trials() if study else []


def mid_run(trials: list) -> list:
    """Trials running on a worker with at least one epoch reported."""
    return [t for t in trials if t.state == TrialState.RUNNING and ss.mark(t, ss.ATTEMPT)
            and t.intermediate_values]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def check_each_once(trials: list, budget: int, grid: list[dict] | None = None) -> list:
    """The study's promise: ``budget`` trials that count, all finished; every trial that
    was replaced failed because a process died and its retry has its parameters; a grid
    has each combination once; a complete trial's files match the study."""
    replaced = ss.retried_numbers(trials)
    counted = [t for t in trials if t.number not in replaced]
    assert len(counted) == budget, [(t.number, t.state.name) for t in trials]
    assert all(t.state in FINISHED for t in counted), [(t.number, t.state) for t in counted]
    by_number = {t.number: t for t in trials}
    for t in trials:
        if t.number in replaced:
            assert t.state == TrialState.FAIL and ss.mark(t, ss.REASON), t
        origin = ss.RETRY.retried_trial_number(t)
        if origin is not None:
            assert t.params == by_number[origin].params
    if grid is not None:
        keys = sorted(json.dumps(t.params, sort_keys=True) for t in counted)
        assert keys == sorted(json.dumps(g, sort_keys=True) for g in grid)
    for t in counted:
        if t.state == TrialState.COMPLETE:
            saved = json.loads((Path(t.user_attrs["run_dir"]) / "metrics.json").read_text())
            assert saved == t.user_attrs["metrics"] and saved["test_accuracy"] == t.value
    return counted


def seed_grid(seeds) -> list[dict]:
    return [{"depth": 2, "width": 64, "seed": s} for s in seeds]


# ------------------------------------------------------------------ in-process pieces
def test_axes_take_values_or_ranges_and_reject_what_cannot_work():
    a = ss.parse_axis("lr", ["1e-4:1e-1"], float, True, "--lr")
    assert (a.low, a.high, a.log) == (1e-4, 1e-1, True)
    assert isinstance(a.distribution(), optuna.distributions.FloatDistribution)
    b = ss.parse_axis("width", ["16", "64", "16"], int, True, "--width")
    assert b.values == (16, 64) and ss.grid_size([b, b]) == 4
    for texts, kind, log in ((["0:1"], float, True), (["3:1"], int, False),
                             (["x"], int, False)):
        with pytest.raises(SystemExit, match="error: --a"):
            ss.parse_axis("a", texts, kind, log, "--a")
    parser = sweep.build_parser()
    grid = parser.parse_args(["--search", "grid", "--lr", "1e-3:1e-1"])
    grid.extra = []
    with pytest.raises(SystemExit, match="takes values, not a range"):
        sweep.search_space(grid)
    clash = parser.parse_args(["--width", "8", "16"])
    clash.extra = ["--width", "32"]
    with pytest.raises(SystemExit, match="--width is an axis"):
        sweep.search_space(clash)
    tpe = parser.parse_args([])
    tpe.extra = []
    assert [a.name for a in sweep.search_space(tpe)] == ["depth", "width", "activation", "lr"]


def test_experiments_take_callbacks_and_a_pruner_stops_them(tmp_path):
    args = stability.build_parser().parse_args(
        ["--epochs", "4", "--box", "-4", "4", "--no-plots", "--out", str(tmp_path),
         "--progress", "off"])
    seen = []
    stability.run(args, callbacks=[lambda epoch, h: seen.append((epoch, h["accuracy"][-1]))])
    assert [e for e, _ in seen] == [0, 1, 2, 3]
    # a pruner on an in-memory study: one good finished trial, then a worse one is stopped
    study = optuna.create_study(direction="maximize",
                                pruner=optuna.pruners.MedianPruner(n_startup_trials=1))
    good = study.ask()
    for step in range(4):
        good.report(1.5, step)  # better than any accuracy
    study.tell(good, 1.5)
    task = sw.TrialTask(storage=None, study="s", trial_id=0, number=1, experiment="stability",
                        argv=(), run_dir="", metric="test_accuracy", prune_on="auto",
                        maximize=True)
    pruning = sw.Pruning(study.ask(), task, sw.Timer())
    with pytest.raises(optuna.TrialPruned, match="after epoch 1 \\(accuracy"):
        stability.run(args, callbacks=[pruning])
    # a loss is negated for a maximized study, so the pruner reads it the study's way
    task = sw.TrialTask(**{**task.__dict__, "prune_on": "val_loss"})
    pruning = sw.Pruning(study.ask(), task, sw.Timer())
    pruning.key = None
    with pytest.raises(optuna.TrialPruned):
        pruning(0, {"val_loss": [0.5]})
    assert pruning.trial.study.trials[-1].intermediate_values == {0: -0.5}


def test_budget_counts_a_retry_once_and_only_one_process_fails_a_trial():
    study = optuna.create_study()
    dist = {"x": optuna.distributions.FloatDistribution(0, 1)}
    running = study.ask(dist)
    done = study.ask(dist)
    study.tell(done, 1.0)
    frozen = study.trials[running.number]
    assert ss.fail_and_retry(study, frozen, "its worker died", 1, worker_died=True)
    assert not ss.fail_and_retry(study, frozen, "again", 1, worker_died=True)  # failed
    trials = study.get_trials()
    assert len(trials) == 3 and len(ss.live(trials)) == 2
    retry = trials[-1]
    assert retry.state == TrialState.WAITING and retry.params == frozen.params
    assert ss.mark(trials[running.number], ss.REASON)["reason"] == "its worker died"
    assert ss.mark(retry, ss.REASON) is None  # inherited from trial 0, not its own
    # popped, its worker dies again: two deaths > max_retries 1, so no copy; it counts
    popped = study.ask(dist)
    assert popped.number == retry.number
    assert ss.fail_and_retry(study, study.trials[popped.number], "died", 1, worker_died=True)
    assert len(study.trials) == 3 and len(ss.live(study.get_trials())) == 2
    # a stopped sweep is no fault of the trial's: queued again whatever max_retries says
    stopped = study.ask(dist)
    for _ in range(3):
        assert ss.fail_and_retry(study, study.trials[stopped.number], "sweep stopped", 0,
                                 worker_died=False)
        stopped = study.ask(dist)  # pops the copy
        assert stopped.params == study.trials[3].params
    assert len(study.trials) == 7 and len(ss.live(study.get_trials())) == 3


def test_stale_means_the_owner_stopped_beating():
    frozen = optuna.trial.create_trial(state=TrialState.RUNNING, params={}, distributions={},
                                       system_attrs={ss.DRIVER: {"trial": 0, "id": "a"}})
    frozen.number = 0
    now = time.time()
    fresh = {ss.LEASE + "a": {"beat": now - 1, "interval": 1.0, "closed": False}}
    old = {ss.LEASE + "a": {"beat": now - 10, "interval": 1.0, "closed": False}}
    closed = {ss.LEASE + "a": {"beat": now, "interval": 1.0, "closed": True}}
    assert ss.stale_reason(frozen, fresh, "b", now, 3.0) is None
    assert "stopped (no heartbeat for 10 s)" in ss.stale_reason(frozen, old, "b", now, 3.0)
    assert "ended without finishing" in ss.stale_reason(frozen, closed, "b", now, 3.0)
    assert ss.stale_reason(frozen, old, "a", now, 3.0) is None  # its owner knows better


@pytest.mark.parametrize("kind", ["sqlite", "journal"])
def test_a_worker_records_its_trial_once_and_fails_one_whose_worker_died(tmp_path, kind):
    """run_trial in this process (no Dask): it runs the experiment, reports each epoch and
    tells the study; run again it does nothing; finding an earlier attempt's mark (Dask
    reruns a task whose worker died) it fails the trial and queues a copy."""
    where = f"sqlite:///{tmp_path}/s.db" if kind == "sqlite" else f"journal:{tmp_path}/s.log"
    spec = ss.storage_spec(where, tmp_path)
    study = optuna.create_study(storage=ss.open_storage(spec), study_name="s",
                                direction="maximize")
    lease = ss.Lease(study, 60.0)
    widths = {"width": optuna.distributions.CategoricalDistribution((4, 8))}

    def task(trial):
        run_dir = str(tmp_path / f"trial_{trial.number}")
        argv = (f"--width={trial.params['width']}", "--epochs", "2", "--box", "-4", "4",
                "--no-plots", "--out", run_dir, "--progress", "off")
        return sw.TrialTask(storage=spec, study="s", trial_id=trial._trial_id,
                            number=trial.number, experiment="stability", argv=argv,
                            run_dir=run_dir, metric="test_accuracy", prune_on="auto",
                            maximize=True)
    try:
        trial = study.ask(widths)
        lease.stamp(trial)
        report = sw.run_trial(task(trial))
        done = study.get_trials()[0]
        assert report["status"] == "complete" and done.state == TrialState.COMPLETE
        assert done.value == done.user_attrs["metrics"]["test_accuracy"] == report["value"]
        assert sorted(done.intermediate_values) == [0, 1]
        assert set(done.user_attrs["timing"]) == {"run", "storage_start", "storage_epochs",
                                                  "storage_finish"}
        assert sw.run_trial(task(trial))["status"] == "skipped"  # never twice

        second = study.ask(widths)
        lease.stamp(second)
        study._storage.set_trial_system_attr(
            second._trial_id, ss.ATTEMPT, {"trial": second.number, "worker": "tcp://w", "pid": 1})
        report = sw.run_trial(task(second))
        assert report["status"] == "worker died" and report["retried"]
        trials = study.get_trials()
        assert trials[1].state == TrialState.FAIL and trials[2].state == TrialState.WAITING
        assert "worker tcp://w (pid 1) died" in ss.mark(trials[1], ss.REASON)["reason"]
        assert trials[2].params == trials[1].params and len(ss.live(trials)) == 2
    finally:
        lease.close()


def test_help_without_the_extra_names_it(tmp_path):
    code = ("import sys, runpy; sys.modules['optuna'] = None; "
            f"sys.path.insert(0, {str(EXAMPLES)!r}); sys.argv = ['sweep.py'] + sys.argv[1:]; "
            f"runpy.run_path({str(EXAMPLES / 'sweep.py')!r}, run_name='__main__')")
    shown = subprocess.run([sys.executable, "-c", code, "--help"], capture_output=True,
                           text=True, timeout=60)
    assert shown.returncode == 0 and "pip install -e '.[sweep]'" in shown.stdout
    ran = subprocess.run([sys.executable, "-c", code, "--out", str(tmp_path)],
                         capture_output=True, text=True, timeout=60)
    assert ran.returncode != 0 and "needs the sweep extra" in ran.stderr
    assert "optuna" in ran.stderr


# ------------------------------------------------------------------ on a LocalCluster
def test_grid_sweep_keeps_failures_with_tracebacks_and_resumes(tmp_path):
    """lr 1e300 makes the loss overflow: nn.fit raises, the trial fails with its
    traceback and the sweep goes on; a rerun finds every trial finished."""
    out = tmp_path / "out"
    argv = ["--search", "grid", "--width", "4", "8", "--lr", "0.01", "1e300", "--workers",
            "2", "--", "--epochs", "3", "--box", "-4", "4", "--no-plots"]
    text = finish(start(tmp_path, *argv), tmp_path)
    trials = trials_of(out)
    counted = check_each_once(trials, 4, [{"width": w, "lr": lr} for w in (4, 8)
                                          for lr in (0.01, 1e300)])
    assert len(trials) == 4
    for t in counted:
        if t.params["lr"] == 1e300:
            assert t.state == TrialState.FAIL
            assert t.user_attrs["error"].startswith("FloatingPointError: fit: the loss")
            assert 'nn/fit.py", line' in t.user_attrs["traceback"]
            log = (Path(t.user_attrs["run_dir"]) / "log.txt").read_text()
            assert "FloatingPointError" in log
        else:
            assert t.state == TrialState.COMPLETE and len(t.intermediate_values) == 3
    assert text.count("failed: FloatingPointError") == 2
    assert "4 trials: 2 complete, 0 pruned, 2 failed" in text
    metrics = json.loads(text.strip().splitlines()[-1])
    assert metrics == json.loads((out / "metrics.json").read_text())
    best = max((t for t in counted if t.state == TrialState.COMPLETE), key=lambda t: t.value)
    assert metrics["best_value"] == best.value and metrics["best_config"] == best.params
    assert set(metrics["overhead_seconds_per_trial"]) == {
        "ask", "dispatch", "storage_start", "storage_epochs", "storage_finish"}
    for name in ("best_runs.png", "optimization_history.png", "param_importances.png"):
        assert (out / name).read_bytes()[:4] == b"\x89PNG", name
    lines = [json.loads(x) for x in (out / "trials.jsonl").read_text().splitlines()]
    assert sorted(x["state"] for x in lines) == ["complete", "complete", "fail", "fail"]
    # the same command again: nothing to run, so no cluster; the same table
    again = finish(start(tmp_path, *argv, log="again.log"), tmp_path, log="again.log")
    assert "4 of 4 trials finished" in again and "dask:" not in again
    assert len(trials_of(out)) == 4


def stop_mid_run(proc: subprocess.Popen, out: Path, sig: int, complete: int,
                 log: Path) -> tuple[dict, list]:
    """Send ``sig`` to the sweep once ``complete`` trials are complete and two run
    mid-trial; returns the complete trials' parameters and the running ones."""
    def ready():
        trials = trials_of(out)
        done = {t.number: t.params for t in trials if t.state == TrialState.COMPLETE}
        busy = mid_run(trials)
        return (done, busy) if len(done) >= complete and len(busy) == 2 else None
    done, busy = wait_for(ready, f"{complete} trials complete and two mid-run", log=log)
    os.kill(proc.pid, sig)
    return done, busy


def test_sweep_interrupted_killed_and_a_worker_killed_loses_and_repeats_nothing(tmp_path):
    """Ctrl-C (SIGINT) fails the running trials and queues them at once; SIGKILL leaves
    them running, and the next sweep fails and queues them when the dead one's heartbeat
    is old; a worker SIGKILLed mid-trial has its trial failed with the reason and queued
    again (Dask reruns the task, which finds the dead attempt's mark). Each time: no
    finished trial lost or run again, no worker left behind; at the end each of the six
    grid points recorded once. (One scenario, so the suite starts fewer clusters.)"""
    out = tmp_path / "out"
    argv = [*SLOW_GRID, "--seeds", *map(str, range(6)), *SLOW_RUN]
    proc = start(tmp_path, *argv, log="1.log")
    try:
        done_1, busy = stop_mid_run(proc, out, signal.SIGINT, 1, tmp_path / "1.log")
        text = finish(proc, tmp_path, log="1.log", code=130)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "interrupted:" in text and "rerun the same command to resume" in text
    wait_for(lambda: not any(alive(ss.mark(t, ss.ATTEMPT)["pid"]) for t in busy),
             "the workers to exit with the sweep", timeout=30)
    now = {t.number: t for t in trials_of(out)}
    stopped = [now[t.number] for t in busy if now[t.number].state != TrialState.COMPLETE]
    assert stopped  # (one may complete in the instant the signal flies)
    for t in stopped:
        assert t.state == TrialState.FAIL
        assert ss.mark(t, ss.REASON)["reason"] == "the sweep was interrupted"
    queued = [t for t in now.values() if t.state == TrialState.WAITING]
    assert sorted(ss.RETRY.retried_trial_number(t) for t in queued) == \
        sorted(t.number for t in stopped)

    proc = start(tmp_path, *argv, log="2.log")
    try:
        done_2, busy = stop_mid_run(proc, out, signal.SIGKILL, len(done_1) + 1,
                                    tmp_path / "2.log")
        finish(proc, tmp_path, log="2.log", code=-signal.SIGKILL)
    finally:
        if proc.poll() is None:
            proc.kill()
    wait_for(lambda: not any(alive(ss.mark(t, ss.ATTEMPT)["pid"]) for t in busy),
             "the workers to die with the sweep", timeout=30)
    left = [t for t in trials_of(out) if t.state == TrialState.RUNNING]
    assert left  # nobody is left to fail them

    proc = start(tmp_path, *argv, log="3.log")
    try:
        dead_sweeps = {t.number for t in left}  # mid-run too, but nobody runs them
        victim = wait_for(lambda: [t for t in mid_run(trials_of(out))
                                   if t.number not in dead_sweeps], "a new trial mid-run",
                          log=tmp_path / "3.log")[0]
        pid = ss.mark(victim, ss.ATTEMPT)["pid"]
        os.kill(pid, signal.SIGKILL)
        text = finish(proc, tmp_path, log="3.log")
    finally:
        if proc.poll() is None:
            proc.kill()
    assert text.count("stopped (no heartbeat for") + text.count("ended without") == len(left)
    trials = trials_of(out)
    check_each_once(trials, 6, seed_grid(range(6)))
    after = {t.number: t for t in trials}
    assert done_1.items() <= done_2.items()
    for number, params in done_2.items():  # nothing finished was lost or run again
        assert after[number].state == TrialState.COMPLETE and after[number].params == params
    dead = after[victim.number]
    assert dead.state == TrialState.FAIL
    assert f"(pid {pid}) died during the trial" in ss.mark(dead, ss.REASON)["reason"]
    retry = [t for t in trials if t.system_attrs.get("retry_history", [])[-1:] == [dead.number]]
    assert len(retry) == 1 and retry[0].state == TrialState.COMPLETE
    assert "died during the trial; queued again" in text
    assert "6 trials: 6 complete" in text


def test_two_sweeps_on_one_study_split_it_without_duplicates(tmp_path):
    """One sweep on its own LocalCluster, the other on an existing cluster (--scheduler),
    both on one SQLite study: the budget is run once between them. (A heartbeat of 2 s:
    each judges the other's, and a busy machine must not make a live sweep look dead.)"""
    from distributed import LocalCluster

    out = tmp_path / "out"
    argv = ["--search", "random", "--trials", "6", "--width", "64", "--depth", "2",
            "--lr", "1e-3:1e-2", "--pruner", "none", "--no-plots", "--heartbeat", "2",
            "--seed", "7", "--", "--epochs", "20", "--box", "-20", "20", "--no-plots"]
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                      dashboard_address=":0", scheduler_kwargs={"dashboard": False}) as cluster:
        a = start(tmp_path, "--workers", "2", *argv, log="a.log", out=out)
        b = start(tmp_path, "--scheduler", cluster.scheduler_address, *argv, log="b.log",
                  out=out)
        try:
            text_a = finish(a, tmp_path, log="a.log")
            text_b = finish(b, tmp_path, log="b.log")
        finally:
            for p in (a, b):
                if p.poll() is None:
                    p.kill()
    trials = trials_of(out)
    counted = check_each_once(trials, 6)
    assert len(trials) == 6 and all(t.state == TrialState.COMPLETE for t in counted)
    owners = {ss.mark(t, ss.DRIVER)["id"] for t in trials}
    assert len(owners) == 2  # both sweeps ran trials
    # the two samplers did not draw the same settings
    assert len({t.params["lr"] for t in trials}) == 6
    for text in (text_a, text_b):
        assert "6 of 6 trials finished" not in text
        assert "6 trials: 6 complete" in text
    assert np.isfinite([t.value for t in trials]).all()

"""What a Dask worker does for sweep.py: run one trial of an experiment in-process and
record it in the Optuna study.

The trial was asked (its parameters sampled) by the sweep process; the worker runs the
experiment's ``run(args, callbacks)`` with a callback that reports each epoch's validation
value to Optuna and raises ``optuna.TrialPruned`` when the pruner says stop, then tells
the study the result itself, so a finished trial is stored even if the sweep process dies
the next moment.  The run's printed output goes to ``<run folder>/log.txt``; an
exception fails the trial with its traceback kept in the study and in that log.
"""

from __future__ import annotations

import importlib
import io
import math
import os
import time
import traceback
from collections.abc import Sequence
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import _common as common
import _sweep_study as sweep_study
import optuna
from optuna.exceptions import UpdateFinishedTrialError
from optuna.trial import TrialState


@dataclass(frozen=True)
class TrialTask:
    """Everything a worker needs for one trial (pickled to it by Dask)."""

    storage: sweep_study.StorageSpec
    study: str
    trial_id: int
    number: int
    experiment: str                 # module name: stability, hodge_numbers, ...
    argv: tuple[str, ...]           # the experiment's options for this trial
    run_dir: str
    metric: str                     # metrics key that is the trial's value
    prune_on: str                   # history key the pruner watches ("auto": see below)
    maximize: bool
    pruner: optuna.pruners.BasePruner = field(default_factory=optuna.pruners.NopPruner)
    max_retries: int = 2


class Timer:
    """Seconds spent in storage calls, per phase of the trial (start: load the study and
    mark the trial; epochs: reports and pruning questions; finish: results and tell)."""

    def __init__(self) -> None:
        self.phase = "start"
        self.seconds = {"start": 0.0, "epochs": 0.0, "finish": 0.0}

    def __call__(self, fn: Any, *args: Any, **kw: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return fn(*args, **kw)
        finally:
            self.seconds[self.phase] += time.perf_counter() - t0


class Pruning:
    """nn.fit callback: report each epoch's training value, stop when the pruner says.

    The reported value is ``prune_on`` from the history ("auto": the training twin of the
    metric, accuracy for an accuracy, else the loss), negated when its direction is
    the opposite of the study's, since Optuna's pruners read values in the study's
    direction. Steps count epochs across all the fits of a run (hodge_numbers trains
    several models), the same sequence in every trial."""

    def __init__(self, trial: optuna.Trial, task: TrialTask, timer: Timer) -> None:
        self.trial, self.task, self.timer = trial, task, timer
        self.step = 0
        self.history: dict[str, list[float]] = {}
        self.key: str | None = None

    def _key(self, history: dict[str, list[float]]) -> str:
        if self.task.prune_on != "auto":
            if self.task.prune_on not in history:
                raise KeyError(f"sweep: --prune-on {self.task.prune_on!r} is not recorded by "
                               f"{self.task.experiment}; recorded are {sorted(history)}")
            return self.task.prune_on
        # The experiments record training curves (their test sets are scored once, after
        # training): prune on the training twin of the metric, else the training loss.
        twin = self.task.metric.removeprefix("test_").removeprefix("train_")
        return twin if twin in history else "loss"

    def __call__(self, epoch: int, history: dict[str, list[float]]) -> None:
        self.history = history
        self.key = self.key or self._key(history)
        value = float(history[self.key][-1])
        if sweep_study.higher_is_better(self.key) != self.task.maximize:
            value = -value
        if math.isfinite(value):
            self.timer(self.trial.report, value, self.step)
        self.step += 1
        if self.timer(self.trial.should_prune):
            raise optuna.TrialPruned(f"pruned after epoch {self.step} ({self.key} "
                                     f"{history[self.key][-1]:.4g})")


def run_trial(task: TrialTask) -> dict[str, Any]:
    """Run one trial and record it; returns a short report for the sweep process."""
    started = time.perf_counter()
    timer = Timer()
    study = timer(lambda: optuna.Study(task.study, sweep_study.open_storage(task.storage),
                                       sampler=optuna.samplers.RandomSampler(),
                                       pruner=task.pruner))
    storage = study._storage  # Optuna's cached view of the storage, as the pruner reads it
    frozen = timer(storage.get_trial, task.trial_id)
    report: dict[str, Any] = {"number": task.number, "status": "skipped"}
    if frozen.state != TrialState.RUNNING:  # failed meanwhile by a sweep process
        return report
    worker = _worker_address()
    earlier = sweep_study.mark(frozen, sweep_study.ATTEMPT)
    if earlier is not None:
        # Dask reruns a task whose worker died; the trial already ran there once.
        reason = f"worker {earlier['worker']} (pid {earlier['pid']}) died during the trial"
        retried = sweep_study.fail_and_retry(study, frozen, reason, task.max_retries,
                                             worker_died=True)
        return {**report, "status": "worker died", "reason": reason, "retried": retried}
    run_dir = Path(task.run_dir)
    try:
        timer(storage.set_trial_system_attr, task.trial_id, sweep_study.ATTEMPT,
              {"trial": task.number, "worker": worker, "pid": os.getpid()})
        timer(storage.set_trial_user_attr, task.trial_id, "run_dir", str(run_dir))
    except UpdateFinishedTrialError:
        return report
    trial = optuna.Trial(study, task.trial_id)
    pruning = Pruning(trial, task, timer)
    log = io.StringIO()
    run_started, timer.phase = time.perf_counter(), "epochs"
    state, value, attrs = TrialState.FAIL, None, {}
    try:
        with redirect_stdout(log), redirect_stderr(log):
            module, args = experiment_args(task.experiment, task.argv)
            metrics = module.run(args, callbacks=[pruning])
        if task.metric not in metrics:
            raise KeyError(f"sweep: --metric {task.metric!r} is not in {task.experiment}'s "
                           f"metrics; it has {sorted(metrics)}")
        state, value = TrialState.COMPLETE, float(metrics[task.metric])
        attrs = {"metrics": common.to_jsonable(metrics)}
    except optuna.TrialPruned as e:
        state = TrialState.PRUNED
        attrs = {"pruned": str(e)}
        run_dir.mkdir(parents=True, exist_ok=True)
        common.write_json(run_dir / "history.json", dict(pruning.history))
    except (Exception, SystemExit) as e:  # SystemExit: an experiment's option error
        # KeyboardInterrupt is not caught: the trial stays RUNNING for the sweep process
        # to fail and queue again, as it was not the experiment's fault.
        tb = traceback.format_exc()
        attrs = {"error": _error(e, log.getvalue()), "traceback": tb}
        print(tb, file=log)
    # the run's own time, without the reports to the storage made from inside it
    run_seconds = time.perf_counter() - run_started - timer.seconds["epochs"]
    timer.phase = "finish"
    run_dir.mkdir(parents=True, exist_ok=True)
    common.write_atomic(run_dir / "log.txt", log.getvalue())
    try:
        for key, val in {**attrs, "worker": worker}.items():
            timer(storage.set_trial_user_attr, task.trial_id, key, val)
        t0 = time.perf_counter()
        # the last writes: the timing holds every storage second but these two
        timing = {"run": run_seconds, **{f"storage_{k}": v for k, v in timer.seconds.items()}}
        storage.set_trial_user_attr(task.trial_id, "timing", timing)
        told = study.tell(trial, value, state=state, skip_if_finished=True)
        timing["storage_finish"] += time.perf_counter() - t0
    except UpdateFinishedTrialError:
        told = None
    if told is None or told.state != state:  # failed meanwhile as stale; its retry reruns it
        return {**report, "status": "superseded"}
    timing["worker_total"] = time.perf_counter() - started
    return {**report, "status": state.name.lower(), "value": value,
            "error": attrs.get("error"), "pruned": attrs.get("pruned"), "timing": timing,
            "run_dir": str(run_dir)}


def experiment_args(experiment: str, argv: Sequence[str]) -> tuple[Any, Any]:
    """The experiment's module and its parsed options (argparse errors exit, naming it)."""
    module = importlib.import_module(experiment)
    parser = module.build_parser()
    parser.prog = f"{experiment}.py"
    return module, parser.parse_args(list(argv))


def _error(e: BaseException, printed: str) -> str:
    """One line for the error: an experiment exits with a number after printing why."""
    if isinstance(e, SystemExit) and not isinstance(e.code, str):
        lines = [x for x in printed.splitlines() if x.strip()]
        return f"SystemExit {e.code}: {lines[-1] if lines else 'no message'}"
    return f"{type(e).__name__}: {e}"


def _worker_address() -> str:
    try:
        from distributed import get_worker

        return get_worker().address
    except (ImportError, ValueError):  # run outside a Dask worker (tests, debugging)
        return f"pid {os.getpid()}"

"""The Optuna side of sweep.py, shared by the sweep process and its Dask workers: the
search space, the storage, the trial budget, and how a trial whose process died is failed
and queued again.

Who owns a running trial.  Every sweep process (a "driver") beats: every ``interval``
seconds it writes the wall-clock time into a study system attribute of its own (its
lease), and it stamps each trial it asks with its id.  A RUNNING trial is stale when its
driver's lease is older than three intervals (or closed); any driver that sees one fails
it and queues a copy (Optuna's RetryHeartbeatStaleTrialCallback).  The same failing path
serves a Dask worker that died mid-trial (the rescheduled task finds its predecessor's
mark) and a sweep interrupted with Ctrl-C.  Why not Optuna's own heartbeat: only its RDB
storage has one (not the journal file storage that shared filesystems need), and it would
have to beat from every worker.  Failing is one atomic storage transition
(RUNNING -> FAIL), so however many processes notice, exactly one queues the retry.

The budget.  ``--trials`` counts trials that are not superseded by a retry: a failed
trial that was queued again is replaced by its copy, one whose experiment raised counts
(it would fail again).  Asking happens under a file lock (next to a file storage, or in
the output folder), so two sweeps on one study never ask past the budget; with a database
server and sweeps on several machines they can overshoot by one trial each at the end.

The storage clocks: leases compare wall-clock times written by different machines, so the
machines sharing a study must agree on the time to well within the grace period (NTP).
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import fcntl
import functools
import hashlib
import json
import os
import socket
import sqlite3
import threading
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.exceptions import ExperimentalWarning, UpdateFinishedTrialError
from optuna.trial import FrozenTrial, TrialState

# Optuna marks the retry callback and the matplotlib plots experimental; we pin the version.
warnings.filterwarnings("ignore", category=ExperimentalWarning)
optuna.logging.set_verbosity(optuna.logging.WARNING)

DRIVER = "sweep:driver"      # trial system attr: {"trial": n, "id": driver that asked it}
ATTEMPT = "sweep:attempt"    # trial system attr: {"trial": n, "worker", "pid"} once started
REASON = "sweep:failed"      # trial system attr: {"trial": n, "reason", "worker_died"}
LEASE = "sweep:lease:"       # study system attr per driver: {"beat", "interval", "closed"}
STALE_BEATS = 3              # a lease this many intervals old is dead
RETRY = optuna.storages.RetryHeartbeatStaleTrialCallback


# ------------------------------------------------------------------ search space
@dataclass(frozen=True)
class Axis:
    """One hyperparameter: a list of values (any search) or a range LO:HI (random, tpe).

    ``name`` is both the Optuna parameter and the experiment's option (``--name``)."""

    name: str
    values: tuple[Any, ...] | None = None
    low: float | None = None
    high: float | None = None
    integer: bool = False
    log: bool = False

    def distribution(self) -> BaseDistribution:
        if self.values is not None:
            return CategoricalDistribution(self.values)
        if self.integer:
            return IntDistribution(int(self.low), int(self.high), log=self.log)
        return FloatDistribution(float(self.low), float(self.high), log=self.log)

    def describe(self) -> str:
        if self.values is not None:
            return " ".join(map(str, self.values))
        return f"{self.low:g}:{self.high:g}" + (" (log)" if self.log else "")


def parse_axis(name: str, texts: Sequence[str], kind: type, log: bool,
               option: str) -> Axis:
    """``texts`` from the command line: values of ``kind``, or one range 'LO:HI'."""
    if len(texts) == 1 and ":" in texts[0] and kind is not str:
        lo_text, _, hi_text = texts[0].partition(":")
        try:
            lo, hi = kind(lo_text), kind(hi_text)
        except ValueError:
            raise SystemExit(f"error: {option} range must be LO:HI with {kind.__name__} "
                             f"ends, got {texts[0]!r}") from None
        if not lo < hi or (log and lo <= 0):
            raise SystemExit(f"error: {option} range needs LO < HI" +
                             (" and LO > 0 (it is searched on a log scale)" if log else "") +
                             f", got {texts[0]!r}")
        return Axis(name, low=lo, high=hi, integer=kind is int, log=log)
    try:
        values = tuple(dict.fromkeys(kind(t) for t in texts))  # repeated values once
    except ValueError:
        raise SystemExit(f"error: {option} takes {kind.__name__} values or one range "
                         f"LO:HI, got {' '.join(texts)!r}") from None
    return Axis(name, values=values, integer=kind is int)


def higher_is_better(metric: str) -> bool:
    """Accuracies and R^2 go up; losses, errors and times go down."""
    return not any(w in metric.lower() for w in ("loss", "error", "rmse", "mae", "seconds"))


def grid_size(space: Sequence[Axis]) -> int:
    size = 1
    for axis in space:
        size *= len(axis.values or ())
    return size


def make_sampler(search: str, space: Sequence[Axis], seed: int, trials: int,
                 number: int) -> optuna.samplers.BaseSampler:
    """Grid, random or TPE for the trial about to be asked, trial ``number`` of the study.

    Random and TPE draw from a seed mixed with ``number``, so a resumed or a second sweep
    process draws new settings instead of repeating the first ones. The grid keeps
    ``seed`` alone: it shuffles the combinations once by it and gives trial k the k-th,
    so every process must shuffle alike."""
    if search == "grid":
        return optuna.samplers.GridSampler({a.name: list(a.values) for a in space}, seed=seed)
    seed = int(np.random.SeedSequence([seed, number]).generate_state(1)[0])
    if search == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    # TPE models the results once n_startup_trials random ones are in: a quarter of the
    # budget, between 4 and Optuna's default 10, so short sweeps get to use the model.
    # constant_liar: trials still running count as bad guesses, so parallel workers
    # spread out instead of all asking near the same point.
    return optuna.samplers.TPESampler(seed=seed, n_startup_trials=min(10, max(4, trials // 4)),
                                      constant_liar=True)


def study_name(experiment: str, search: str, space: Sequence[Axis], extra: Sequence[str],
               metric: str, direction: str) -> str:
    """The same command gives the same name, so re-running it resumes the study."""
    text = json.dumps({"experiment": experiment, "search": search,
                       "space": [(a.name, a.describe()) for a in space],
                       "extra": list(extra), "metric": metric, "direction": direction},
                      sort_keys=True)
    return f"{experiment}-{search}-{hashlib.sha1(text.encode()).hexdigest()[:8]}"


# ------------------------------------------------------------------ storage
@dataclass(frozen=True)
class StorageSpec:
    """Where the study lives: a database URL (SQLite by default) or 'journal:PATH' (Optuna's
    journal file, for a filesystem shared by cluster nodes, where SQLite's locks fail)."""

    url: str

    @property
    def file(self) -> Path | None:
        """The storage's file, for SQLite and journal files; None for a database server."""
        if self.url.startswith("journal:"):
            return Path(self.url[len("journal:"):])
        if self.url.startswith("sqlite:///"):
            return Path(self.url[len("sqlite:///"):])
        return None

    def lock_path(self, out: Path) -> Path:
        return Path(f"{self.file}.sweep-lock") if self.file else out / ".sweep-lock"


def storage_spec(text: str | None, out: Path) -> StorageSpec:
    """--storage as given, with relative file paths made absolute (workers may run in
    another folder); None: SQLite in the output folder."""
    if text is None:
        return StorageSpec(f"sqlite:///{(out / 'study.db').resolve()}")
    if text.startswith("journal:"):
        return StorageSpec(f"journal:{Path(text[len('journal:'):]).resolve()}")
    if text.startswith("sqlite:///"):
        return StorageSpec(f"sqlite:///{Path(text[len('sqlite:///'):]).resolve()}")
    if "://" in text:
        return StorageSpec(text)
    raise SystemExit(f"error: --storage takes a database URL (sqlite:///study.db, "
                     f"postgresql://user@host/db) or journal:PATH, got {text!r}")


@functools.cache
def open_storage(spec: StorageSpec) -> optuna.storages.BaseStorage:
    """One storage object per process and URL (a worker runs many trials)."""
    if spec.url.startswith("journal:"):
        backend = optuna.storages.journal.JournalFileBackend(str(spec.file))
        return optuna.storages.JournalStorage(backend)
    if not spec.url.startswith("sqlite:"):
        return optuna.storages.RDBStorage(spec.url)
    # The first processes to open a new file would race to create its tables. (Not the
    # budget lock: opening takes a worker up to a second or two, asking must not wait.)
    with file_lock(Path(f"{spec.file}.open-lock")):
        return optuna.storages.RDBStorage(spec.url, engine_kwargs={
            "creator": functools.partial(_sqlite_connection, str(spec.file))})


def _sqlite_connection(path: str) -> sqlite3.Connection:
    """A connection to the study's SQLite file as several processes need it.

    The timeout waits for another process's write instead of failing with "database is
    locked" after SQLite's default 5 s. Write-ahead logging lets readers (the pruner asks
    each epoch) go on while one process writes, and with synchronous=NORMAL a commit is
    safe against any process crash, only the last commits may go in a power cut; together
    they make a trial's per-epoch report and pruning question about 2x cheaper (measured
    in the sweep's own overhead report). WAL needs a local filesystem, as SQLite's locks
    do anyway; on a shared one use journal:PATH.
    """
    con = sqlite3.connect(path, timeout=120, check_same_thread=False)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    return con


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive lock between processes on one machine (the kernel releases it if its
    holder dies)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


@contextlib.contextmanager
def budget_lock(spec: StorageSpec, out: Path) -> Iterator[None]:
    """The lock sweep processes ask trials under. A journal file lives on a filesystem
    shared by nodes, where fcntl locks may not work: there, Optuna's own journal lock (an
    atomic symlink, broken after 30 s if its holder died)."""
    if not spec.url.startswith("journal:"):
        with file_lock(spec.lock_path(out)):
            yield
        return
    lock = optuna.storages.journal.JournalFileSymlinkLock(str(spec.lock_path(out)))
    lock.acquire()
    try:
        yield
    finally:
        lock.release()


# ------------------------------------------------------------------ bookkeeping
def mark(trial: FrozenTrial, key: str) -> dict[str, Any] | None:
    """A sweep attribute of this very trial (a retry inherits its original's attributes,
    each tagged with the original's number, so those are ignored)."""
    value = trial.system_attrs.get(key)
    return value if isinstance(value, dict) and value.get("trial") == trial.number else None


def retried_numbers(trials: Sequence[FrozenTrial]) -> set[int]:
    """Numbers of the trials that a retry replaced."""
    out: set[int] = set()
    for t in trials:
        out.update(RETRY.retry_history(t))
    return out


def live(trials: Sequence[FrozenTrial]) -> list[FrozenTrial]:
    """The trials that count: each one not replaced by a retry."""
    replaced = retried_numbers(trials)
    return [t for t in trials if t.number not in replaced]


def fail_and_retry(study: optuna.Study, trial: FrozenTrial, reason: str, max_retries: int,
                   worker_died: bool) -> bool:
    """Fail a RUNNING trial that its process can no longer finish and queue a copy with the
    same parameters (see requeue). True for the one caller whose transition won; False if
    the trial had already finished (completed by its worker, or failed by another
    process)."""
    storage = study._storage  # Optuna's public storage API, reached through the study
    try:
        storage.set_trial_system_attr(trial._trial_id, REASON, {
            "trial": trial.number, "reason": reason, "worker_died": worker_died})
        if not storage.set_trial_state_values(trial._trial_id, TrialState.FAIL):
            return False
    except UpdateFinishedTrialError:
        return False
    requeue(study, storage.get_trial(trial._trial_id), max_retries)
    return True


def requeue(study: optuna.Study, failed: FrozenTrial, max_retries: int) -> bool:
    """Queue a copy of a trial the sweep failed, unless its worker died under it (or under
    its earlier copies) more than ``max_retries`` times: a trial that keeps killing its
    worker (running out of memory, say) stops there. A stopped sweep is no fault of the
    trial's and does not count."""
    chain = set(RETRY.retry_history(failed)) | {failed.number}
    deaths = sum(bool((mark(t, REASON) or {}).get("worker_died"))
                 for t in study.get_trials(deepcopy=False) if t.number in chain)
    if deaths > max_retries:
        return False
    # The callback appends to the list it finds in the trial, so it gets a copy: the
    # storage's cache may hand out the very object it keeps.
    RETRY(max_retry=None)(study, copy.deepcopy(failed))
    return True


class Lease:
    """This driver's heartbeat in the study (see the module docstring)."""

    def __init__(self, study: optuna.Study, interval: float) -> None:
        self.study, self.interval = study, interval
        self.id = f"{socket.gethostname()}-{os.getpid()}-{os.urandom(3).hex()}"
        self._stop = threading.Event()
        self._beat()
        self._thread = threading.Thread(target=self._run, name="sweep-lease", daemon=True)
        self._thread.start()

    def _beat(self, closed: bool = False) -> None:
        self.study._storage.set_study_system_attr(
            self.study._study_id, LEASE + self.id,
            {"beat": time.time(), "interval": self.interval, "closed": closed,
             "host": socket.gethostname(), "pid": os.getpid()})

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self._beat()
            except Exception as e:  # a busy database: the next beat tries again
                print(f"sweep: heartbeat not written ({type(e).__name__}: {e})", flush=True)

    def stamp(self, trial: optuna.trial.Trial) -> None:
        """Record that this driver runs ``trial``."""
        self.study._storage.set_trial_system_attr(trial._trial_id, DRIVER,
                                                  {"trial": trial.number, "id": self.id})

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        with contextlib.suppress(Exception):
            self._beat(closed=True)


def stale_reason(trial: FrozenTrial, leases: dict[str, Any], me: str, now: float,
                 grace: float) -> str | None:
    """Why a RUNNING trial has nobody running it, or None while its driver beats."""
    owner = mark(trial, DRIVER)
    if owner is None:  # asked, but its driver died before stamping it
        started = trial.datetime_start or dt.datetime.now()
        age = (dt.datetime.now() - started).total_seconds()
        return f"no sweep process claimed it in {age:.0f} s" if age > grace else None
    if owner["id"] == me:
        return None
    lease = leases.get(LEASE + owner["id"])
    if lease is None:
        return f"sweep process {owner['id']} left no heartbeat"
    if lease.get("closed"):
        return f"sweep process {owner['id']} ended without finishing it"
    age = now - float(lease["beat"])
    if age > STALE_BEATS * float(lease["interval"]):
        return f"sweep process {owner['id']} stopped (no heartbeat for {age:.0f} s)"
    return None


def reap(study: optuna.Study, lease: Lease, max_retries: int) -> list[tuple[int, str]]:
    """Fail and queue again every running trial whose sweep process is gone."""
    running = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    if not running:
        return []
    leases = study._storage.get_study_system_attrs(study._study_id)
    now = time.time()
    done = []
    for t in running:
        reason = stale_reason(t, leases, lease.id, now, STALE_BEATS * lease.interval)
        if reason and fail_and_retry(study, t, reason, max_retries, worker_died=False):
            done.append((t.number, reason))
    return done


def requeue_lost(study: optuna.Study, max_retries: int, settle: float = 60.0) -> list[int]:
    """Queue again trials the sweep failed but whose retry was never queued (a process
    killed between the two writes). Only failures older than ``settle`` seconds: a younger
    one's retry may be on its way from the process that failed it."""
    trials = study.get_trials(deepcopy=False)
    replaced = retried_numbers(trials)
    now = dt.datetime.now()
    return [t.number for t in trials
            if t.state == TrialState.FAIL and t.number not in replaced and mark(t, REASON)
            and t.datetime_complete is not None
            and (now - t.datetime_complete).total_seconds() > settle
            and requeue(study, t, max_retries)]

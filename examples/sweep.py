"""Many experiments: a grid, random or TPE search over depth, width, activation, learning
rate and seed for any of the example scripts, on a Dask cluster, recorded in an Optuna
study.

The lecture's recipe ends with "run many experiments with different NNs, repeat".  Optuna
chooses each trial's settings (grid: every combination of the values; random; TPE: a model
of the results so far) and stores every trial in a study: by default a SQLite file
``<out>/study.db``; ``--storage`` takes any database URL Optuna accepts (PostgreSQL when
many machines share one study) or ``journal:PATH`` (Optuna's journal file, for a shared
filesystem where SQLite's locks are unreliable).  Dask runs the trials: a LocalCluster of
``--workers`` processes that the script starts and stops, or an existing cluster with
``--scheduler tcp://HOST:PORT``.

Each trial runs the experiment's ``run`` in a worker with its options plus
``--out <out>/runs/trial_NNNN``, so every run leaves its own metrics.json, history.json,
pictures and log.txt.  Each epoch's validation value goes to the pruner (``--pruner``
median or halving), which stops runs that trail the others; note that the experiments'
validation data are their test sets, which the sweep also ranks by.

Re-running the same command resumes the study: finished trials are not rerun, and trials
left running by a sweep that died are failed and queued again (after three heartbeats,
``--heartbeat`` seconds each) -- as is a trial whose worker died.  A trial whose experiment
raised is failed with its traceback kept and the sweep goes on.  Several sweep processes
may share one study.  At the end: a summary table of the best runs by ``--metric``,
best_runs.png with their test curves, Optuna's optimization_history.png and
param_importances.png, and trials.jsonl with one line per trial.

Examples::

    python examples/sweep.py --experiment stability --search tpe --trials 16 --workers 2 \\
        -- --epochs 30
    python examples/sweep.py --search grid --depth 1 2 --width 16 64 --lr 1e-2 1e-3 \\
        --seeds 0 1
    python examples/sweep.py --search random --trials 32 --lr 1e-4:1e-1 --width 8:256 \\
        --scheduler tcp://10.0.0.5:8786 --storage journal:/shared/sweeps/study.log
    python examples/sweep.py --experiment hodge_numbers --width 128 256 --search grid -- \\
        --models dense --train-fractions 0.8 --epochs 30

Options after ``--`` go unchanged to every run of the experiment.  Axes take values, or
for random and TPE one range LO:HI (width and lr are searched on a log scale); an axis
not given is not varied in a grid and gets a default range in random and TPE searches.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import signal
import sys
import time
import uuid
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import _common as common
import numpy as np


def missing_packages() -> list[str]:
    """The sweep extra's packages that are not installed."""
    names = {"optuna": "optuna", "dask": "dask", "distributed": "dask[distributed]"}
    return [pip for mod, pip in names.items() if importlib.util.find_spec(mod) is None]


MISSING = missing_packages()
if not MISSING:  # without the extra, --help still works and names it
    import _sweep_study as ss
    import _sweep_worker as sw
    import optuna
    from distributed import Client, LocalCluster, wait
    from optuna.trial import TrialState

EXPERIMENTS = ("stability", "line_bundle_cohomology", "hodge_numbers")
EXTRA = "pip install -e '.[sweep]'  (optuna, dask[distributed], bokeh)"
# name, option, type, log scale, default range for random/TPE (None: not varied)
AXES = (("depth", "--depth", int, False, ["1:3"]),
        ("width", "--width", int, True, ["16:256"]),
        ("activation", "--activation", str, False, list(common.ACTIVATIONS)),
        ("lr", "--lr", float, True, ["1e-4:1e-1"]),
        ("seed", "--seeds", int, False, None))


def build_parser() -> Any:
    doc = __doc__ + (f"\nNEEDS the sweep extra, missing here ({', '.join(MISSING)}):\n"
                     f"    {EXTRA}\n" if MISSING else "")
    p = common.parser(doc, "sweep")
    p.add_argument("--experiment", choices=EXPERIMENTS, default="stability",
                   help="which example script to run (default: %(default)s)")
    s = p.add_argument_group("search")
    s.add_argument("--search", choices=("grid", "random", "tpe"), default="tpe",
                   help="grid: every combination of the values; random: independent "
                        "draws; tpe: Optuna's tree-structured Parzen estimator, which "
                        "models the results so far (default: %(default)s)")
    s.add_argument("--trials", type=int, default=16,
                   help="trials of a random or TPE search (a grid has one per "
                        "combination; default: %(default)s)")
    s.add_argument("--depth", nargs="+", metavar="D",
                   help="hidden layers: values, or LO:HI (random/tpe default 1:3)")
    s.add_argument("--width", nargs="+", metavar="W",
                   help="units per hidden layer: values, or LO:HI on a log scale "
                        "(random/tpe default 16:256)")
    s.add_argument("--activation", nargs="+", choices=common.ACTIVATIONS,
                   help="activations (random/tpe default: all four)")
    s.add_argument("--lr", nargs="+", metavar="LR",
                   help="learning rates: values, or LO:HI on a log scale (random/tpe "
                        "default 1e-4:1e-1)")
    s.add_argument("--seeds", nargs="+", metavar="S",
                   help="the runs' seeds, an axis like the others (default: not varied, "
                        "the experiment's own); --seed seeds the sampler")
    s.add_argument("--metric", default="test_accuracy",
                   help="metrics.json key that is each trial's value (default: %(default)s)")
    s.add_argument("--direction", choices=("auto", "maximize", "minimize"), default="auto",
                   help="auto: minimize losses, errors and times, maximize the rest")
    s.add_argument("--pruner", choices=("median", "halving", "none"), default="median",
                   help="stop trials early: median (below the median of earlier trials at "
                        "the same epoch), halving (successive halving), none "
                        "(default: %(default)s)")
    s.add_argument("--prune-on", default="auto", metavar="KEY",
                   help="history key the pruner watches (default auto: the training "
                        "accuracy for an accuracy metric, else the training loss; the "
                        "experiments score their test sets only after training)")
    s.add_argument("--prune-warmup", type=int, default=5, metavar="EPOCHS",
                   help="median pruner: epochs every trial runs first (default: %(default)s)")
    r = p.add_argument_group("engines")
    r.add_argument("--workers", type=int, default=2,
                   help="worker processes of the local Dask cluster (default: %(default)s)")
    r.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                   help="use this running Dask cluster instead of starting one")
    r.add_argument("--dashboard", default=":8787", metavar="[HOST]:PORT",
                   help="local cluster's dashboard address, 'off' for none (default: "
                        "%(default)s; another free port if taken)")
    r.add_argument("--storage", metavar="URL",
                   help="Optuna storage: a database URL or journal:PATH (default: "
                        "sqlite:///<out>/study.db)")
    r.add_argument("--study", help="study name (default: from the experiment, search, axes, "
                                   "metric and the options after --)")
    r.add_argument("--heartbeat", type=float, default=10.0, metavar="SECONDS",
                   help="how often this sweep tells the study it is alive; trials of a "
                        "sweep silent for 3 beats are failed and queued again "
                        "(default: %(default)s)")
    r.add_argument("--max-retries", type=int, default=2,
                   help="times a trial whose worker died is queued again; one whose sweep "
                        "stopped always is (default: %(default)s)")
    o = p.add_argument_group("report")
    o.add_argument("--top", type=int, default=5,
                   help="rows in the summary table and curves in the plot (default: 5)")
    o.add_argument("--no-plots", action="store_true", help="skip the PNG pictures")
    # Options for the experiment itself follow a lone "--"; main() splits them off before
    # parsing, so a stray word before "--" is an error instead of a silent experiment option.
    p.usage = "%(prog)s [options] [-- experiment options passed to every run]"
    return p


@dataclass
class Plan:
    """One sweep: what to run, where it is stored, and how many trials."""

    args: Any
    space: list[ss.Axis]
    budget: int
    maximize: bool
    spec: ss.StorageSpec
    study_name: str
    pruner: optuna.pruners.BasePruner
    out: Path
    distributions: dict[str, Any] = field(default_factory=dict)


def search_space(args: Any) -> list[ss.Axis]:
    """The Axis list from the command line (see AXES for the defaults)."""
    space = []
    for name, option, kind, log, default in AXES:
        given = getattr(args, option.lstrip("-"))
        texts = given if given is not None else (None if args.search == "grid" else default)
        if texts is None:
            continue
        axis = ss.parse_axis(name, texts, kind, log, option)
        if args.search == "grid" and axis.values is None:
            raise SystemExit(f"error: --search grid takes values, not a range: {option} "
                             f"{texts[0]}; list the values or use --search random or tpe")
        space.append(axis)
        if any(a == f"--{name}" or a.startswith(f"--{name}=") for a in args.extra):
            raise SystemExit(f"error: {option} is an axis of the sweep; remove --{name} "
                             "from the experiment options after --")
    if not space:
        raise SystemExit("error: --search grid needs at least one axis (--depth, --width, "
                         "--activation, --lr, --seeds)")
    return space


def make_plan(args: Any) -> Plan:
    if args.workers < 1 or args.trials < 1 or args.heartbeat <= 0 or args.max_retries < 0:
        raise SystemExit(f"error: need --workers >= 1, --trials >= 1, --heartbeat > 0 and "
                         f"--max-retries >= 0, got {args.workers}, {args.trials}, "
                         f"{args.heartbeat}, {args.max_retries}")
    space = search_space(args)
    maximize = (ss.higher_is_better(args.metric) if args.direction == "auto"
                else args.direction == "maximize")
    pruner = {"median": optuna.pruners.MedianPruner(n_startup_trials=4,
                                                    n_warmup_steps=args.prune_warmup),
              "halving": optuna.pruners.SuccessiveHalvingPruner(),
              "none": optuna.pruners.NopPruner()}[args.pruner]
    out = Path(args.out)
    name = args.study or ss.study_name(args.experiment, args.search, space, args.extra,
                                       args.metric, "maximize" if maximize else "minimize")
    budget = ss.grid_size(space) if args.search == "grid" else args.trials
    return Plan(args, space, budget, maximize, ss.storage_spec(args.storage, out), name,
                pruner, out, {a.name: a.distribution() for a in space})


# ------------------------------------------------------------------ the driver
@dataclass
class Pending:
    trial: optuna.Trial
    ask_seconds: float
    submitted: float


class Driver:
    """Asks trials of the study and runs them on Dask until the budget is finished."""

    def __init__(self, plan: Plan, study: Any, lease: Any) -> None:
        self.plan, self.study, self.lease = plan, study, lease
        self.inflight: dict[Any, Pending] = {}
        self.overheads: list[dict[str, float]] = []

    # -- asking, under the budget lock
    def ask(self) -> Any | None:
        plan = self.plan
        with ss.budget_lock(plan.spec, plan.out):
            trials = self.study.get_trials(deepcopy=False)
            counted = ss.live(trials)
            waiting = any(t.state == TrialState.WAITING for t in counted)
            if not waiting and len(counted) >= plan.budget:
                return None
            sampler = ss.make_sampler(plan.args.search, plan.space, plan.args.seed,
                                      plan.budget, len(trials))
            asker = optuna.Study(plan.study_name, self.study._storage, sampler=sampler,
                                 pruner=plan.pruner)
            trial = asker.ask(fixed_distributions=plan.distributions)
            self.lease.stamp(trial)
            return trial

    def task(self, trial: Any) -> Any:
        plan, args = self.plan, self.plan.args
        run_dir = (plan.out / "runs" / f"trial_{trial.number:04d}").resolve()
        argv = [f"--{k}={v}" for k, v in trial.params.items()]
        argv += list(args.extra) + ["--out", str(run_dir), "--progress", "off"]
        return sw.TrialTask(storage=plan.spec, study=plan.study_name, trial_id=trial._trial_id,
                            number=trial.number, experiment=args.experiment, argv=tuple(argv),
                            run_dir=str(run_dir), metric=args.metric, prune_on=args.prune_on,
                            maximize=plan.maximize, pruner=plan.pruner,
                            max_retries=args.max_retries)

    # -- the loop
    def run(self, client: Any, slots: Any, bar: Any) -> None:
        """Keep every worker thread busy with a trial until the study's budget is finished;
        every poll also fails the trials of sweeps that died."""
        plan, poll = self.plan, min(1.0, self.plan.args.heartbeat)
        last_reap, told_no_workers = 0.0, False
        while True:
            if time.monotonic() - last_reap >= poll:
                for number, reason in ss.reap(self.study, self.lease, plan.args.max_retries):
                    self.say(bar, f"trial {number} failed: {reason}; queued again")
                last_reap = time.monotonic()
            while len(self.inflight) < slots():
                t0 = time.perf_counter()
                trial = self.ask()
                if trial is None:  # the budget is asked for
                    break
                ask_seconds = time.perf_counter() - t0
                future = client.submit(sw.run_trial, self.task(trial), pure=False,
                                       key=f"trial-{trial.number}-{uuid.uuid4().hex[:8]}")
                self.inflight[future] = Pending(trial, ask_seconds, time.perf_counter())
            self.progress(bar)
            if not self.inflight:
                if self.finished():
                    return
                if slots() == 0 and not told_no_workers:
                    self.say(bar, "waiting for workers to join the cluster")
                    told_no_workers = True
                time.sleep(poll)  # others' trials are running: wait for them or their death
                continue
            try:
                done = wait(list(self.inflight), timeout=poll, return_when="FIRST_COMPLETED")[0]
            except TimeoutError:  # nothing finished: reap and look again
                continue
            for future in done:
                self.collect(future, bar)

    def finished(self) -> bool:
        trials = ss.live(self.study.get_trials(deepcopy=False))
        open_states = (TrialState.RUNNING, TrialState.WAITING)
        return len(trials) >= self.plan.budget and not any(t.state in open_states
                                                           for t in trials)

    def collect(self, future: Any, bar: Any) -> None:
        """A trial's future is done: note its result (or fail it if Dask gave up)."""
        pending = self.inflight.pop(future)
        trial, number = pending.trial, pending.trial.number
        if future.status == "finished":
            report = future.result()
        else:  # KilledWorker (Dask stops rescheduling a task that kills its workers), or
            # the worker could not reach the storage
            exc = future.exception() if future.status == "error" else future.status
            reason = f"its Dask task failed ({type(exc).__name__}: {exc})"
            frozen = self.study._storage.get_trial(trial._trial_id)
            ss.fail_and_retry(self.study, frozen, reason, self.plan.args.max_retries,
                              worker_died=True)
            report = {"status": "worker died", "reason": reason}
        status = report["status"]
        if "timing" in report:  # the engines' share of this trial's time
            t = report["timing"]
            roundtrip = time.perf_counter() - pending.submitted
            self.overheads.append({
                "run": t["run"], "ask": pending.ask_seconds,
                "dispatch": max(roundtrip - t["worker_total"], 0.0),
                **{k: v for k, v in t.items() if k.startswith("storage_")}})
        if status == "complete":
            self.say(bar, f"trial {number} complete: {self.plan.args.metric} "
                          f"{report['value']:.4f}, {report['timing']['run']:.1f} s, "
                          f"{_params(trial.params)}")
        elif status == "pruned":
            self.say(bar, f"trial {number} {report['pruned']}, {_params(trial.params)}")
        elif status == "fail":
            self.say(bar, f"trial {number} failed: {report['error']} (traceback in "
                          f"{report['run_dir']}/log.txt and the study)")
        elif status == "worker died":
            self.say(bar, f"trial {number} failed: {report['reason']}; queued again")
        elif status == "superseded":
            self.say(bar, f"trial {number} finished after another process had failed it "
                          "as stale; its retry counts instead")

    def progress(self, bar: Any) -> None:
        if bar is None:
            return
        trials = ss.live(self.study.get_trials(deepcopy=False))
        done = sum(t.state.is_finished() for t in trials)
        bar.n = min(done, bar.total)
        best = _best(self.study, self.plan.maximize)
        bar.set_postfix_str(f"best {best.value:.4f} (trial {best.number})" if best else "")
        bar.refresh()

    @staticmethod
    def say(bar: Any, text: str) -> None:
        (bar.write if bar is not None else print)(text)


def _params(params: dict[str, Any]) -> str:
    return " ".join(f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}"
                    for k, v in params.items())


def _ranked(trials: list, maximize: bool) -> list:
    """The complete trials, best first."""
    done = [t for t in trials if t.state == TrialState.COMPLETE]
    return sorted(done, key=lambda t: -t.value if maximize else t.value)


def _best(study: Any, maximize: bool) -> Any | None:
    ranked = _ranked(study.get_trials(deepcopy=False), maximize)
    return ranked[0] if ranked else None


def open_cluster(plan: Plan) -> tuple[Any, Any, Any]:
    """(client, the LocalCluster we started or None, a function giving the free slots):
    the cluster at --scheduler, else a new LocalCluster of --workers processes."""
    args = plan.args
    if args.scheduler:
        client = Client(args.scheduler)
        # The workers need our modules, and a cluster's workers may run in another folder.
        here = Path(__file__).resolve().parent
        for name in ("_common", "_sweep_study", "_sweep_worker", args.experiment):
            client.upload_file(str(here / f"{name}.py"))
        return client, None, lambda: sum(client.nthreads().values())
    # One thread per worker: trials are Python-bound, and Dask's nanny already sets
    # OMP/MKL/OPENBLAS_NUM_THREADS=1 in each worker so numpy does not oversubscribe.
    # The scheduler serves HTTP (health, metrics) even without the dashboard; "off" puts
    # that on a free port rather than 8787.
    off = args.dashboard == "off"
    cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                           dashboard_address=":0" if off else args.dashboard,
                           scheduler_kwargs={"dashboard": not off},
                           silence_logs=logging.ERROR)
    return Client(cluster), cluster, lambda: args.workers


# ------------------------------------------------------------------ the report
def summary(plan: Plan, trials: list, top: int) -> str:
    """The best complete trials by the metric, then what happened to the others."""
    metric = plan.args.metric
    counted = ss.live(trials)
    ok = _ranked(counted, plan.maximize)
    names = [a.name for a in plan.space]
    head = (f"{'rank':>4} {'trial':>5}  " + " ".join(f"{n:>10}" for n in names) +
            f"  {metric:>14} {'train_accuracy':>14} {'seconds':>8}")
    lines = [head]
    for i, t in enumerate(ok[:top], 1):
        m = t.user_attrs.get("metrics", {})
        cells = " ".join(f"{t.params[n]:>10.3g}" if isinstance(t.params[n], float)
                         else f"{t.params[n]!s:>10}" for n in names)
        lines.append(f"{i:>4} {t.number:>5}  {cells}  {t.value:>14.4f} "
                     f"{float(m.get('train_accuracy', float('nan'))):>14.4f} "
                     f"{t.user_attrs.get('timing', {}).get('run', float('nan')):>8.1f}")
    states = [t.state.name.lower() for t in counted]
    retried = len(trials) - len(counted)
    lines.append(f"{len(counted)} trials: {states.count('complete')} complete, "
                 f"{states.count('pruned')} pruned, {states.count('fail')} failed"
                 + (f", {states.count('running') + states.count('waiting')} unfinished"
                    if set(states) & {"running", "waiting"} else "")
                 + (f" ({retried} more failed when a worker or sweep died, and ran again)"
                    if retried else ""))
    return "\n".join(lines)


def plot_best(plan: Plan, trials: list, path: Path) -> Path | None:
    """The best runs' training curves (accuracy, else loss) from their history.json (the
    test set is scored once, after training, and never watched during it)."""
    plt = common.pyplot()
    ok = _ranked(trials, plan.maximize)
    fig, ax = plt.subplots(figsize=(7, 4))
    for t in ok[:plan.args.top]:
        hist_path = Path(t.user_attrs.get("run_dir", "")) / "history.json"
        if not hist_path.is_file():
            continue
        hist = json.loads(hist_path.read_text())
        if "loss" not in hist:  # several models per run: take the first
            hist = next(iter(hist.values()), {})
        key = "accuracy" if "accuracy" in hist else "loss"
        if key not in hist:
            continue
        ax.plot(np.arange(1, len(hist[key]) + 1), hist[key],
                label=f"trial {t.number}: {_params(t.params)}: {t.value:.4f}")
        ax.set_ylabel(f"train {key}")
    if not ax.lines:
        plt.close(fig)
        return None
    ax.set_xlabel("epoch")
    ax.set_title(f"best runs by {plan.args.metric}")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    return common.save_figure(fig, path)


def plot_optuna(study: Any, out: Path, metric: str) -> list[str]:
    """Optuna's optimization history and parameter importances as PNGs."""
    plt = common.pyplot()
    from optuna.visualization import matplotlib as ovm

    notes = []
    for name, draw in (("optimization_history", ovm.plot_optimization_history),
                       ("param_importances", ovm.plot_param_importances)):
        try:
            with warnings.catch_warnings():  # PED-ANOVA's "importances will be equal"
                warnings.simplefilter("ignore", UserWarning)
                ax = draw(study)
        except (ValueError, RuntimeError, ZeroDivisionError) as e:
            notes.append(f"{name}.png skipped: {e}")
            plt.close("all")
            continue
        if name == "optimization_history":
            ax.set_ylabel(metric)
        fig = ax.figure
        fig.set_size_inches(7, 4)
        common.save_figure(fig, out / f"{name}.png")
    return notes


def export_jsonl(plan: Plan, trials: list, path: Path) -> Path:
    """One JSON line per trial, for people who want plain files."""
    replaced = ss.retried_numbers(trials)
    rows = []
    for t in trials:
        row = {"number": t.number, "state": t.state.name.lower(), "params": t.params,
               "value": t.value, "metric": plan.args.metric, "experiment":
               plan.args.experiment, "extra": plan.args.extra,
               "started": t.datetime_start, "completed": t.datetime_complete,
               "intermediate_values": t.intermediate_values,
               "replaced_by_retry": t.number in replaced,
               "retry_of": ss.RETRY.retried_trial_number(t)}
        row.update({k: v for k, v in t.user_attrs.items()})
        failed = ss.mark(t, ss.REASON)
        if failed:
            row["failed_because"] = failed["reason"]
        rows.append(json.dumps(common.to_jsonable(row), sort_keys=True, default=str))
    return common.write_atomic(path, "".join(r + "\n" for r in rows))


def overhead_stats(overheads: list[dict[str, float]]) -> dict[str, Any]:
    """Medians over this run's trials of the engines' seconds per trial (Optuna's ask and
    storage writes and reads, Dask's dispatch and return) against the trial's own."""
    if not overheads:
        return {}
    med = {k: float(np.median([o[k] for o in overheads])) for k in overheads[0]}
    engines = sum(v for k, v in med.items() if k != "run")
    return {"overhead_seconds_per_trial": {k: round(v, 4) for k, v in med.items()
                                           if k != "run"},
            "trial_seconds_median": round(med["run"], 3),
            "overhead_fraction": round(engines / max(med["run"], 1e-9), 4)}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    argv = list(sys.argv[1:] if argv is None else argv)
    cut = argv.index("--") if "--" in argv else len(argv)
    args = build_parser().parse_args(argv[:cut])
    args.extra = argv[cut + 1:]
    missing = missing_packages()
    if missing:
        raise SystemExit(f"error: sweep.py needs the sweep extra, missing here "
                         f"({', '.join(missing)}): {EXTRA}")
    started = time.perf_counter()
    plan = make_plan(args)
    # the experiment's own options are checked here once, not failed in every trial
    sample = [f"--{a.name}={a.values[0] if a.values else a.low}" for a in plan.space]
    sw.experiment_args(args.experiment, sample + list(args.extra))
    out = common.output_folder(args)
    storage = ss.open_storage(plan.spec)
    study = optuna.create_study(storage=storage, study_name=plan.study_name,
                                direction="maximize" if plan.maximize else "minimize",
                                load_if_exists=True)
    lease = ss.Lease(study, args.heartbeat)
    driver = Driver(plan, study, lease)
    try:
        with ss.budget_lock(plan.spec, out):
            for number in ss.requeue_lost(study, args.max_retries):
                print(f"trial {number}: failed earlier without its retry; queued again")
        counted = ss.live(study.get_trials(deepcopy=False))
        done = sum(t.state.is_finished() for t in counted)
        print(f"study {plan.study_name} in {plan.spec.url}: {done} of {plan.budget} trials "
              f"finished ({args.search} search over "
              + ", ".join(f"{a.name} {a.describe()}" for a in plan.space) + ")")
        if not driver.finished():
            run_cluster(driver, plan)
    finally:
        lease.close()
    trials = study.get_trials(deepcopy=False)
    print(summary(plan, trials, args.top))
    cost = overhead_stats(driver.overheads)
    if cost:
        parts = ", ".join(f"{k} {v:.3f}" for k, v in cost["overhead_seconds_per_trial"].items())
        print(f"engines per trial (median s): {parts}; the trial itself "
              f"{cost['trial_seconds_median']:.3f}")
    export_jsonl(plan, trials, out / "trials.jsonl")
    if not args.no_plots:
        plot_best(plan, trials, out / "best_runs.png")
        for note in plot_optuna(study, out, args.metric):
            print(note)
    counted = ss.live(trials)
    states = [t.state.name.lower() for t in counted]
    metrics: dict[str, Any] = {
        "experiment": args.experiment, "study": plan.study_name, "storage": plan.spec.url,
        "search": args.search, "trials": len(counted), "complete": states.count("complete"),
        "pruned": states.count("pruned"), "failed": states.count("fail"),
        "retried": len(trials) - len(counted), "metric": args.metric,
        "direction": "maximize" if plan.maximize else "minimize",
        **cost}
    best = _best(study, plan.maximize)
    if best is not None:
        m = best.user_attrs.get("metrics", {})
        metrics.update(best_trial=best.number, best_config=best.params, best_value=best.value,
                       test_accuracy=m.get("test_accuracy"),
                       train_accuracy=m.get("train_accuracy"))
    return common.finish(out, metrics, started)


def run_cluster(driver: Driver, plan: Plan) -> None:
    """Start (or join) the Dask cluster and drive the study. Ctrl-C fails the running
    trials and queues them again, so a rerun starts with them at once."""
    client, cluster, slots = open_cluster(plan)
    bar = _bar(plan)
    try:
        info = client.scheduler_info()
        link = None if cluster is not None and plan.args.dashboard == "off" \
            else client.dashboard_link
        print(f"dask: {len(info['workers'])} workers, scheduler {client.scheduler.address}"
              + (f", dashboard {link}" if link else ", no dashboard"), flush=True)
        # a batch system stops a job with SIGTERM: handle it as Ctrl-C
        previous = signal.signal(signal.SIGTERM, _interrupt)
        try:
            driver.run(client, slots, bar)
        finally:
            signal.signal(signal.SIGTERM, previous)
    except KeyboardInterrupt:
        for future, pending in list(driver.inflight.items()):
            future.cancel()
            frozen = driver.study._storage.get_trial(pending.trial._trial_id)
            if frozen.state == TrialState.RUNNING:
                ss.fail_and_retry(driver.study, frozen, "the sweep was interrupted",
                                  plan.args.max_retries, worker_died=False)
        print(f"interrupted: {len(driver.inflight)} running trials failed and queued again; "
              "rerun the same command to resume", flush=True)
        raise SystemExit(130) from None
    finally:
        if bar is not None:
            bar.close()
        client.close()
        if cluster is not None:
            cluster.close()


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def _bar(plan: Plan) -> Any:
    """One tqdm bar for the sweep (trials done, best so far), when bars are on."""
    show = common.show_progress(plan.args)
    if show is False or (show is None and not sys.stderr.isatty()):
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=plan.budget, desc="trials", unit="trial")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    main(sys.argv[1:])

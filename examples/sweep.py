"""Many experiments: a grid or random search over depth, width, activation, learning rate
and seed for any of the example scripts, in parallel worker processes.

The lecture's recipe ends with "run many experiments with different NNs, repeat".  Each
run calls the experiment's ``main`` with its options plus ``--out <out>/runs/<id>``, so
every run leaves its own metrics.json, history.json and pictures.  As each run finishes,
its config and metrics are appended as one line to ``<out>/runs.jsonl`` (flushed and
fsynced by the parent process alone, so a crash loses no finished run and lines never
interleave).  Re-running the same command skips configs that already finished and
retries failed ones.  At the end: a summary table of the best runs by ``--metric`` and
``best_runs.png`` with their test-accuracy (or loss) curves.

Examples::

    python examples/sweep.py --experiment stability --depth 1 2 --width 16 64 \\
        --activation relu tanh --lr 1e-2 1e-3 --seeds 0 1
    python examples/sweep.py --experiment stability --search random --trials 8 -- \\
        --recipe lecture --epochs 50
    python examples/sweep.py --experiment hodge_numbers --width 128 256 -- \\
        --models dense --train-fractions 0.8 --epochs 30

Options after ``--`` go unchanged to every run of the experiment.
"""

from __future__ import annotations

import hashlib
import importlib
import io
import itertools
import json
import multiprocessing as mp
import os
import sys
import time
import traceback
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import _common as common
import numpy as np

EXPERIMENTS = ("stability", "line_bundle_cohomology", "hodge_numbers")
AXES = ("depth", "width", "activation", "lr", "seed")


def build_parser() -> Any:
    p = common.parser(__doc__, "sweep")
    p.add_argument("--experiment", choices=EXPERIMENTS, default="stability",
                   help="which example script to run (default: %(default)s)")
    p.add_argument("--search", choices=("grid", "random"), default="grid",
                   help="grid: every combination of the values; random: --trials draws, "
                        "each axis value picked uniformly (default: %(default)s)")
    p.add_argument("--trials", type=int, default=8,
                   help="number of random configs (--search random; default: %(default)s)")
    p.add_argument("--depth", type=int, nargs="+", default=[1],
                   help="hidden layers to try (default: 1)")
    p.add_argument("--width", type=int, nargs="+", default=[64],
                   help="units per hidden layer to try (default: 64)")
    p.add_argument("--activation", nargs="+", choices=common.ACTIVATIONS, default=["relu"],
                   help="activations to try (default: relu)")
    p.add_argument("--lr", type=float, nargs="+", default=[1e-2],
                   help="learning rates to try (default: 0.01)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0],
                   help="seeds to try; each is a separate run (default: 0); --seed seeds the "
                        "random search itself")
    p.add_argument("--workers", type=int, default=2,
                   help="parallel worker processes (default: %(default)s)")
    p.add_argument("--metric", default="test_accuracy",
                   help="metrics.json key that ranks the runs; higher is better unless it "
                        "names a loss or error (default: %(default)s)")
    p.add_argument("--top", type=int, default=5,
                   help="rows in the summary table and curves in the plot (default: 5)")
    # Options for the experiment itself follow a lone "--"; main() splits them off before
    # parsing, so a stray word before "--" is an error instead of a silent experiment option.
    p.usage = "%(prog)s [options] [-- experiment options passed to every run]"
    return p


def configs(args: Any) -> list[dict[str, Any]]:
    """The runs to do, each a dict over AXES, in a fixed order."""
    values = {"depth": args.depth, "width": args.width, "activation": args.activation,
              "lr": args.lr, "seed": args.seeds}
    if args.search == "grid":
        return [dict(zip(AXES, combo)) for combo in itertools.product(*values.values())]
    rng = np.random.default_rng(args.seed)
    out: list[dict[str, Any]] = []
    space = int(np.prod([len(v) for v in values.values()]))
    while len(out) < min(args.trials, space):
        cfg = {k: v[int(rng.integers(len(v)))] for k, v in values.items()}
        cfg = {k: (v.item() if isinstance(v, np.generic) else v) for k, v in cfg.items()}
        if cfg not in out:
            out.append(cfg)
    return out


def run_id(experiment: str, cfg: dict[str, Any], extra: list[str]) -> str:
    """A stable name for a config: the same options give the same id on every re-run."""
    text = json.dumps({"experiment": experiment, "config": cfg, "extra": extra},
                      sort_keys=True)
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def argv_for(cfg: dict[str, Any], extra: list[str], out: Path) -> list[str]:
    argv = [f"--{k}={v}" for k, v in cfg.items()]
    return argv + list(extra) + ["--out", str(out), "--progress", "off"]


def worker(task: tuple[str, str, dict[str, Any], list[str], str]) -> dict[str, Any]:
    """Run one config in this process; never raises (failures become records)."""
    experiment, rid, cfg, extra, out = task
    run_dir = Path(out) / "runs" / rid
    record: dict[str, Any] = {"id": rid, "experiment": experiment, "config": cfg,
                              "extra": extra, "out": str(run_dir)}
    log = io.StringIO()
    started = time.perf_counter()
    try:
        module = importlib.import_module(experiment)
        with redirect_stdout(log):
            metrics = module.main(argv_for(cfg, extra, run_dir))
        record.update(status="ok", metrics=metrics)
    except BaseException as e:  # SystemExit from argparse too: keep the sweep going
        record.update(status="failed", error=f"{type(e).__name__}: {e}",
                      traceback=traceback.format_exc(limit=3))
    record["seconds"] = round(time.perf_counter() - started, 3)
    run_dir.mkdir(parents=True, exist_ok=True)
    common.write_atomic(run_dir / "log.txt", log.getvalue())
    return record


def read_records(path: Path) -> list[dict[str, Any]]:
    """Finished runs; a torn last line (a crash mid-write) is ignored."""
    if not path.exists():
        return []
    records = []
    for line in path.read_text().splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records


def append_record(path: Path, record: dict[str, Any]) -> None:
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(common.to_jsonable(record), sort_keys=True) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def higher_is_better(metric: str) -> bool:
    return not any(w in metric.lower() for w in ("loss", "error", "rmse", "mae", "seconds"))


def ranked(records: list[dict[str, Any]], metric: str) -> list[dict[str, Any]]:
    ok = [r for r in records if r.get("status") == "ok" and metric in r.get("metrics", {})]
    sign = -1.0 if higher_is_better(metric) else 1.0
    return sorted(ok, key=lambda r: sign * float(r["metrics"][metric]))


def summary(records: list[dict[str, Any]], metric: str, top: int) -> str:
    rows = ranked(records, metric)
    head = (f"{'rank':>4}  {'depth':>5} {'width':>5} {'activation':<10} {'lr':>8} "
            f"{'seed':>4}  {metric:>14} {'train_accuracy':>14} {'seconds':>8}")
    lines = [head]
    for i, r in enumerate(rows[:top], 1):
        c, m = r["config"], r["metrics"]
        train = m.get("train_accuracy", float("nan"))
        lines.append(f"{i:>4}  {c['depth']:>5} {c['width']:>5} {c['activation']:<10} "
                     f"{c['lr']:>8.2g} {c['seed']:>4}  {float(m[metric]):>14.4f} "
                     f"{float(train):>14.4f} {m.get('seconds', r['seconds']):>8.1f}")
    failed = sum(r.get("status") != "ok" for r in records)
    lines.append(f"{len(rows)} finished runs" + (f", {failed} failed" if failed else ""))
    return "\n".join(lines)


def plot_best(records: list[dict[str, Any]], metric: str, top: int, path: Path) -> Path | None:
    """The best runs' training curves (accuracy, else loss) from their history.json (the
    test set is scored once, after training, and never watched during it)."""
    plt = common.pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    for r in ranked(records, metric)[:top]:
        hist_path = Path(r["out"]) / "history.json"
        if not hist_path.exists():
            continue
        hist = json.loads(hist_path.read_text())
        if "loss" not in hist:  # several models per run: take the first
            hist = next(iter(hist.values()), {})
        key = "accuracy" if "accuracy" in hist else "loss"
        if key not in hist:
            continue
        c = r["config"]
        ax.plot(np.arange(1, len(hist[key]) + 1), hist[key],
                label=f"d{c['depth']} w{c['width']} {c['activation']} lr {c['lr']:g} "
                      f"s{c['seed']}: {float(r['metrics'][metric]):.4f}")
        ax.set_ylabel(f"train {key}")
    if not ax.lines:
        plt.close(fig)
        return None
    ax.set_xlabel("epoch")
    ax.set_title(f"best runs by {metric}")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    return common.save_figure(fig, path)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    argv = list(sys.argv[1:] if argv is None else argv)
    cut = argv.index("--") if "--" in argv else len(argv)
    args = build_parser().parse_args(argv[:cut])
    args.extra = argv[cut + 1:]
    started = time.perf_counter()
    if args.workers < 1:
        raise SystemExit(f"error: --workers must be >= 1, got {args.workers}")
    out = common.output_folder(args)
    log_path = out / "runs.jsonl"
    done = {r["id"] for r in read_records(log_path) if r.get("status") == "ok"}
    tasks = [(args.experiment, run_id(args.experiment, c, args.extra), c, args.extra,
              str(out)) for c in configs(args)]
    todo = [t for t in tasks if t[1] not in done]
    print(f"{len(tasks)} configs, {len(tasks) - len(todo)} already finished, "
          f"{len(todo)} to run on {args.workers} workers")
    if todo:
        # Each worker gets one BLAS thread: the workers already fill the cores.
        os.environ.setdefault("OMP_NUM_THREADS", "1")
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
        ctx = mp.get_context("spawn")
        with ctx.Pool(min(args.workers, len(todo))) as pool:
            results = pool.imap_unordered(worker, todo)
            for record in common.progress(results, args, total=len(todo), desc="runs"):
                append_record(log_path, record)
                if record["status"] != "ok":
                    print(f"run {record['id']} {record['config']} failed: {record['error']}")
    wanted = {t[1] for t in tasks}
    records = [r for r in read_records(log_path) if r["id"] in wanted]
    latest = {r["id"]: r for r in records}  # a retried run's last record wins
    records = list(latest.values())
    print(summary(records, args.metric, args.top))
    plot_best(records, args.metric, args.top, out / "best_runs.png")
    best = ranked(records, args.metric)
    metrics = {"experiment": args.experiment, "runs": len(records),
               "finished": len(best), "failed": sum(r["status"] != "ok" for r in records),
               "metric": args.metric}
    if best:
        metrics.update(best_config=best[0]["config"],
                       best_value=best[0]["metrics"][args.metric],
                       test_accuracy=best[0]["metrics"].get("test_accuracy"),
                       train_accuracy=best[0]["metrics"].get("train_accuracy"))
    return common.finish(out, metrics, started)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    main(sys.argv[1:])

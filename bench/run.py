#!/usr/bin/env python
"""Side-by-side speed of cygrad, its peers, and hand-written numpy (see bench/README.md).

    python bench/run.py [--quick] [--json FILE] [--engines numpy,cygrad,torch]
                        [--workloads W1,W3] [--python-for peers=/path/to/python]

A fresh process on this VM runs in a fast or a slow mode, so engines are never compared
across processes. Every process (bench/worker.py) times one engine against the numpy
baseline on one case, interleaved, at one BLAS thread and at the library default; each
engine gets several fresh processes per case. A table per case gives, per engine and
thread setting, the median over processes of the per-process ratio to numpy and its
min .. max, the times per step (which vary with the process's mode), the correctness
check, and cygrad's floors (met / MISSED). The environment is the default one users get.
Exit status: 0, or 1 when an engine disagreed with the baseline or failed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from engines import ENGINES
from report import (
    case_table,
    floor_verdicts,
    fmt_time,
    setting_label,
    summarize,
    summary_table,
    verdict_line,
)
from worker import DEFAULT, THREAD_VARS
from workloads import BY_NAME, GROUPS, Case, select

BENCH = Path(__file__).resolve().parent
PEERS = ("torch", "mygrad", "hips", "micrograd")
MIN_PROCESSES = 5  # fewer, and the median over processes is not the method's figure

# glibc returns freed blocks above these sizes to the OS and page-faults them back on the
# next allocation; where a step's ~1 MB temporaries fall depends on the process's history.
# Pinning the thresholds steadies large-batch figures, but no user sets them: an option,
# labelled wherever its figures appear, never the headline.
MALLOC_PINNED = {"MALLOC_MMAP_THRESHOLD_": str(64 << 20), "MALLOC_TRIM_THRESHOLD_": str(256 << 20)}
MALLOC_VARS = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_",
               "MALLOC_ARENA_MAX", "GLIBC_TUNABLES")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true",
                    help="3 processes of 3 rounds of short blocks: checks that everything "
                         "runs (a few minutes with every peer), not figures to quote")
    ap.add_argument("--json", metavar="FILE", help="also write all results as JSON")
    ap.add_argument("--engines", default=",".join(ENGINES),
                    help=f"comma list (default all: {','.join(ENGINES)}); numpy is the "
                         "baseline in every process")
    ap.add_argument("--workloads", default="",
                    help=f"comma list of groups {','.join(GROUPS)} or case names "
                         f"({','.join(BY_NAME)}); default all")
    ap.add_argument("--python-for", action="append", default=[], metavar="ENGINE=PATH",
                    help="run ENGINE's processes with this Python (repeatable); 'peers=PATH' "
                         f"sets it for {', '.join(PEERS)} at once")
    ap.add_argument("--engine-module", action="append", default=[], metavar="NAME=FILE",
                    help="an extra engine from a module file (same interface as "
                         "bench/engines/*.py)")
    ap.add_argument("--threads", default=f"1,{DEFAULT}",
                    help="thread settings measured side by side in every process: positive "
                         "integers (a threadpoolctl limit) and 'default' (the libraries' own "
                         "choice, what users get); default '1,default'")
    ap.add_argument("--processes", type=int,
                    help=f"fresh processes per engine and case (default {MIN_PROCESSES}, "
                         "quick 3)")
    ap.add_argument("--rounds", type=int, help="timed rounds per process (default 5, quick 3)")
    ap.add_argument("--block-seconds", type=float,
                    help="target length of one timed block (default 0.1 s, quick 0.03 s)")
    ap.add_argument("--pause", type=float,
                    help="untimed pause before each block (default 0.05 s, quick 0.02 s)")
    ap.add_argument("--min-steps", type=int,
                    help="at least this many steps per block however slow the engine "
                         "(default 3, quick 2), so garbage-collector lumps spread evenly")
    ap.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                    help="wall time (default, the headline) or the process's CPU time: a "
                         "diagnostic for a busy machine, comparable at one thread only "
                         "(it counts every BLAS thread's work and spinning)")
    ap.add_argument("--pin-malloc", action="store_true",
                    help="pin glibc's malloc thresholds for every process (not what users "
                         "get; labelled in the output, see bench/README.md)")
    ap.add_argument("--timeout", type=float, default=900.0,
                    help="seconds one worker process may take")
    args = ap.parse_args(argv)
    args.processes = args.processes or (3 if args.quick else MIN_PROCESSES)
    args.rounds = args.rounds or (3 if args.quick else 5)
    args.block_seconds = args.block_seconds or (0.03 if args.quick else 0.1)
    args.pause = args.pause if args.pause is not None else (0.02 if args.quick else 0.05)
    args.min_steps = args.min_steps or (2 if args.quick else 3)
    if min(args.processes, args.rounds, args.min_steps) < 1 or args.block_seconds <= 0 \
            or args.pause < 0:
        ap.error("--processes, --rounds and --min-steps must be >= 1, --block-seconds > 0, "
                 "--pause >= 0")
    args.settings = [s.strip() for s in args.threads.split(",") if s.strip()]
    if not args.settings or any(s != DEFAULT and not (s.isdigit() and int(s) > 0)
                                for s in args.settings):
        ap.error(f"--threads takes positive integers and/or '{DEFAULT}', got {args.threads!r}")
    return args


def _pairs(items: list[str], flag: str) -> dict[str, str]:
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name or not value:
            raise SystemExit(f"run.py: {flag} takes NAME=VALUE, got {item!r}")
        out[name] = value
    return out


def subjects(args: argparse.Namespace, custom: dict[str, str]) -> list[str]:
    """The engines timed against numpy, in the order given."""
    names = [e.strip() for e in args.engines.split(",") if e.strip()]
    names += [c for c in custom if c not in names]
    for e in names:
        if e not in ENGINES and e not in custom:
            raise SystemExit(f"run.py: unknown engine {e!r}; known: {', '.join(ENGINES)} "
                             "(or add one with --engine-module NAME=FILE)")
    return [e for e in names if e != "numpy"]


def worker_env(pin_malloc: bool) -> tuple[dict[str, str], dict[str, str]]:
    """The environment users get: without thread-count and malloc variables (returned as
    the second value when the caller had set them), unless malloc pinning was asked for.
    OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, if set, pass unchanged (they pick kernels)."""
    env = dict(os.environ)
    removed = {v: env.pop(v) for v in THREAD_VARS + MALLOC_VARS if v in env}
    if pin_malloc:
        env.update(MALLOC_PINNED)
    env.pop("PYTHONPATH", None)  # each worker sets its own path (cygrad: this checkout)
    return env, removed


class Runner:
    """Starts worker processes: one per engine, case and repetition, one at a time."""

    def __init__(self, args: argparse.Namespace, pythons: dict[str, str],
                 custom: dict[str, str], env: dict[str, str]) -> None:
        self.args, self.pythons, self.custom, self.env = args, pythons, custom, env

    def call(self, engine: str, *extra: str) -> dict[str, Any]:
        """One worker process; failures come back as a reply, never raised."""
        python = self.pythons.get(engine, sys.executable)
        cmd = [python, str(BENCH / "worker.py"), engine, *extra]
        if engine in self.custom:
            cmd += ["--module", self.custom[engine]]
        try:
            proc = subprocess.run(cmd, env=self.env, capture_output=True, text=True,
                                  timeout=self.args.timeout)
        except OSError as e:
            return {"available": False, "reason": f"not installed (cannot run {python}: {e})"}
        except subprocess.TimeoutExpired:
            return {"ok": False, "status": "failed",
                    "reason": f"no answer within {self.args.timeout:.0f} s (killed)"}
        lines = proc.stdout.strip().splitlines()
        if lines:
            try:
                return json.loads(lines[-1])
            except json.JSONDecodeError:
                pass
        tail = " | ".join(proc.stderr.strip().splitlines()[-3:])
        return {"ok": False, "status": "failed", "available": False,
                "reason": f"worker exited with code {proc.returncode}; {tail}"}

    def hello(self, engine: str) -> dict[str, Any]:
        info = self.call(engine, "--hello")
        if not info.get("available"):
            return {"available": False, "reason": info.get("reason", "no answer"),
                    "executable": info.get("executable", self.pythons.get(engine, sys.executable))}
        return info

    def measure(self, engine: str, case: Case) -> dict[str, Any]:
        a = self.args
        return self.call(engine, case.name, "--rounds", str(a.rounds), "--block-seconds",
                         str(a.block_seconds), "--pause", str(a.pause),
                         "--min-steps", str(a.min_steps), "--clock", a.clock,
                         "--threads", ",".join(a.settings))


def run_case(case: Case, engines: list[str], infos: dict[str, dict], runner: Runner,
             args: argparse.Namespace) -> dict[str, Any]:
    """Every engine's processes for one case, interleaved across engines (process p of
    each before process p+1 of any), and the figures over them."""
    names = [e for e in engines if case.engines is None or e in case.engines]
    rows: dict[str, dict[str, Any]] = {}
    procs: dict[str, list[dict[str, Any]]] = {}
    for e in names:
        if infos[e].get("available"):
            procs[e] = []
        else:
            rows[e] = {"status": infos[e]["reason"]}
    t0 = time.perf_counter()
    active = list(procs)
    # --quick gives a long case (one step per block, e.g. the 1,000,000-op chain) one process
    for p in range(1 if args.quick and case.repeats else args.processes):
        for e in active[p % len(active):] + active[:p % len(active)] if active else []:
            if e in rows:  # stopped: not supported, or failed in an earlier process
                continue
            res = runner.measure(e, case)
            if not res.get("ok"):
                rows[e] = {"status": f"{res.get('status', 'failed')}: {res['reason']}"}
                if res.get("status") == "failed" and procs[e]:
                    rows[e]["status"] += f" (in process {len(procs[e]) + 1})"
                continue
            procs[e].append(res)
    for e in names:
        if e in rows:
            rows[e].setdefault("version", infos[e].get("version", "-"))
            continue
        rows[e] = {"version": infos[e]["version"], **summarize(case, procs[e], args.settings),
                   "note": procs[e][0].get("note", ""),
                   "steps_per_block": [p["steps"] for p in procs[e]],
                   "raw": [{"pid": p["pid"], "settings": p["settings"]} for p in procs[e]]}
    return {"title": case.title, "rtol": case.rtol, "length": case.length,
            "wall_seconds": time.perf_counter() - t0, "engines": {e: rows[e] for e in names},
            "floors": floor_verdicts(case, rows, args.settings)}


def print_case(case: Case, rec: dict[str, Any], settings: list[str]) -> None:
    print(case_table(f"\n[{case.name}] {rec['title']}", rec["engines"], settings,
                     per_op=case.length if case.per_op else 0))
    for e, r in rec["engines"].items():
        if r.get("note"):
            print(f"  note: {r['note']}")
        for p in r.get("problems", [])[:5]:
            print(f"  MISMATCH {e}: {p}")
    for v in rec["floors"]:
        print("  " + verdict_line(v))
    n = sum(len(r.get("raw", [])) for r in rec["engines"].values())
    print(f"  ({n} timed processes in {fmt_time(rec['wall_seconds'])})")
    sys.stdout.flush()


def run_physics(args: argparse.Namespace, env: dict[str, str]) -> dict[str, Any]:
    """Workload P: the physics colleague's bench/bench_physics.py, run as a subprocess.

    Preferred contract: ``bench_physics.py [--quick] --json FILE`` writes a JSON object
    {label: seconds}. Failing that (argparse exits 2 on unknown options) it is run with
    fewer options and its printed output is shown as is. Times only: no ratios.
    """
    script = BENCH / "bench_physics.py"
    if not script.exists():
        return {"status": "physics bench not available"}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "physics.json"
        attempts = [["--quick"] if args.quick else [], []]
        attempts = [a + ["--json", str(out)] for a in attempts] + [[]]
        for extra in attempts:
            t0 = time.perf_counter()
            try:
                proc = subprocess.run([sys.executable, str(script), *extra], env=env,
                                      capture_output=True, text=True, timeout=args.timeout)
            except subprocess.TimeoutExpired:
                return {"status": f"failed: no result within {args.timeout:.0f} s"}
            wall = time.perf_counter() - t0
            if proc.returncode == 2 and "usage" in proc.stderr.lower():
                continue  # an option it does not know; try with fewer
            if proc.returncode != 0:
                tail = " | ".join(proc.stderr.strip().splitlines()[-3:])
                return {"status": f"failed: exit code {proc.returncode}: {tail}"}
            res: dict[str, Any] = {"status": "ok", "args": extra, "wall_seconds": wall,
                                   "output": proc.stdout}
            if out.exists():
                res["timings"] = json.loads(out.read_text())
            return res
    return {"status": "failed: bench_physics.py rejected every way of calling it"}


def print_physics(rec: dict[str, Any]) -> None:
    print("\n[P] physics: CICY geometry of the whole list, 10^6 stability labels (times only, "
          "one process)")
    if rec["status"] != "ok":
        print(f"  {rec['status']}")
        return
    timings = rec.get("timings")
    if isinstance(timings, dict):
        # bench_physics.py writes {"benchmarks": [{"task": ..., "seconds...": ...}], ...};
        # a flat {label: seconds} is shown the same way.
        entries = timings.get("benchmarks", [timings])
        for entry in entries if isinstance(entries, list) else [entries]:
            if not isinstance(entry, dict):
                continue
            if "task" in entry:
                print(f"  {entry['task']}")
            for k, v in entry.items():
                if k != "task" and not isinstance(v, (list, dict)):
                    shown = fmt_time(v) if "second" in k and isinstance(v, (int, float)) else v
                    print(f"    {k:<28} {shown}")
    else:
        print("\n".join("  " + line for line in rec["output"].rstrip().splitlines()))
    print(f"  (whole script: {fmt_time(rec['wall_seconds'])} wall, run as "
          f"bench_physics.py {' '.join(rec['args'][:1]) or '(no options)'})")


def write_json(path: str, obj: Any) -> None:
    """Atomically: a temporary file in the same directory, then os.replace."""
    target = Path(path).resolve()
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=target.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(obj, f, indent=1)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def machine_info(args: argparse.Namespace, removed: dict[str, str]) -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "platform": platform.platform(),
            "python": sys.version.split()[0], "thread_settings": args.settings,
            "clock": args.clock,
            "malloc": MALLOC_PINNED if args.pin_malloc else "defaults",
            "removed_from_env": removed, "processes": args.processes, "rounds": args.rounds,
            "block_seconds": args.block_seconds, "pause": args.pause,
            "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
            "openblas_env": {k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
                             if k in os.environ},
            "date": time.strftime("%Y-%m-%d %H:%M:%S")}


def print_header(meta: dict[str, Any], infos: dict[str, dict], args: argparse.Namespace) -> None:
    load = meta["load_average"]
    print(f"cygrad bench: {meta['cpu']}, {meta['cores']} cores, Python {meta['python']}, "
          f"load average {' '.join(f'{x:.2f}' for x in load or [])}")
    if load and load[0] > 0.5 * (meta["cores"] or 1):
        print("  the machine is busy: ratios hold better than times under load, but quote "
              "figures from a quiet machine")
    print(f"method: each engine against the numpy baseline in the same fresh process, "
          f"interleaved; {args.processes} processes per engine and case, {args.rounds} "
          f"rounds each, blocks of ~{args.block_seconds} s (at least {args.min_steps} steps) "
          f"after an untimed {args.pause} s pause")
    if args.processes < MIN_PROCESSES:
        print(f"  ({args.processes} processes: fewer than the method's {MIN_PROCESSES}; "
              "a check that everything runs, not figures to quote)")
    env = "the default environment users get (no thread or malloc variables"
    if meta["removed_from_env"]:
        env += "; removed: " + " ".join(f"{k}={v}" for k, v in meta["removed_from_env"].items())
    print(env + ")" + ("; MALLOC THRESHOLDS PINNED (not what users get): " + " ".join(
        f"{k}={v}" for k, v in MALLOC_PINNED.items()) if args.pin_malloc else ""))
    if args.clock == "cpu":
        print("CLOCK: PROCESS CPU TIME, not wall time (a diagnostic for a busy machine; the "
              "default-thread columns count every BLAS thread's work and spinning)")
    print(f"thread settings side by side: {', '.join(setting_label(s) for s in args.settings)}"
          f"; OpenBLAS env as found: {meta['openblas_env'] or 'none'}")
    for e, info in infos.items():
        where = f" [{info['executable']}]" if info.get("executable") != sys.executable else ""
        if not info.get("available"):
            print(f"  {e:<10} {info.get('reason')}{where}")
            continue
        pools = ", ".join(f"{k} {v}" for k, v in info.get("threads", {}).items())
        print(f"  {e:<10} {info['version']}{where}; numpy {info['numpy']} ({info['blas']}); "
              f"default threads: {pools or 'unknown (no threadpoolctl)'}")
    print("x numpy: the median over processes of each process's ratio (engine's mean time "
          "per step over numpy's, interleaved); min .. max over processes. *Times per step "
          "vary with each process's speed mode (up to 2x on this VM); ratios are the headline.")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # A SIGTERM becomes SystemExit, so subprocess.run kills the worker it is waiting for
    # instead of leaving it to run on.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = time.perf_counter()
    custom = _pairs(args.engine_module, "--engine-module")
    pythons = _pairs(args.python_for, "--python-for")
    if "peers" in pythons:
        for e in PEERS:
            pythons.setdefault(e, pythons["peers"])
    try:
        cases = select(args.workloads)
    except ValueError as e:
        raise SystemExit(f"run.py: {e}") from None
    wanted = {s.strip().upper() for s in args.workloads.split(",") if s.strip()}
    engines = subjects(args, custom)
    env, removed = worker_env(args.pin_malloc)
    runner = Runner(args, pythons, custom, env)
    meta = machine_info(args, removed)
    infos = {e: runner.hello(e) for e in engines}
    meta["engines"] = infos
    print_header(meta, infos, args)
    results: dict[str, Any] = {"meta": meta, "cases": {}}
    bad = False
    for case in cases:
        rec = run_case(case, engines, infos, runner, args)
        results["cases"][case.name] = rec
        print_case(case, rec, args.settings)
        bad |= any(r.get("check") == "MISMATCH" or str(r.get("status", "")).startswith(
            "failed") for r in rec["engines"].values())
    if not wanted or "P" in wanted:
        results["physics"] = run_physics(args, env)
        print_physics(results["physics"])
        bad |= results["physics"]["status"].startswith("failed")
    if results["cases"]:
        shown = [e for e in engines if infos[e].get("available")]
        print("\n" + summary_table(results["cases"], shown, args.settings))
    if hasattr(os, "getloadavg"):
        meta["load_average_end"] = os.getloadavg()
        print(f"\nload average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    meta["wall_seconds"] = time.perf_counter() - started
    print(f"whole run: {fmt_time(meta['wall_seconds'])}")
    if args.json:
        write_json(args.json, results)
        print(f"\nresults written to {args.json}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

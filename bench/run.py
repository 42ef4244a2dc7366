#!/usr/bin/env python
"""Side-by-side speed of cygrad, its peers, and hand-written numpy (see bench/README.md).

    python bench/run.py [--quick] [--json FILE] [--engines numpy,cygrad,torch]
                        [--workloads W1,W3] [--python-for torch=/path/to/python]

Each engine runs in its own worker process (bench/worker.py). For every case the workers
first run an untimed correctness check and warm-up, then the orchestrator times blocks of
steps round-robin over the engines for several rounds (rotating who goes first), with an
untimed pause before each block. A table per case gives the median time per step over the
rounds, the ratio to the numpy baseline of the same run, and the spread.
Exit status: 0, or 1 when an engine disagreed with the baseline or failed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import selectors
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from checks import compare
from engines import ENGINES
from report import fmt_time, stats, table
from worker import THREAD_VARS
from workloads import BY_NAME, GROUPS, Case, select

BENCH = Path(__file__).resolve().parent


class Worker:
    """A worker process and its JSON-line conversation; failures become replies, not raises."""

    def __init__(self, engine: str, python: str, module: str | None, env: dict[str, str],
                 timeout: float) -> None:
        self.engine = engine
        self.timeout = timeout
        self.stderr = tempfile.TemporaryFile()
        cmd = [python, str(BENCH / "worker.py"), engine] + (["--module", module] if module else [])
        try:
            self.proc: subprocess.Popen | None = subprocess.Popen(
                cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr, env=env)
        except OSError as e:
            self.proc = None
            self.info = {"available": False, "reason": f"not installed (cannot run {python}: {e})"}
            return
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.proc.stdout, selectors.EVENT_READ)
        hello = self._read(timeout)
        if hello.get("ok") is False:  # the worker died before saying hello
            hello = {"available": False, "reason": hello["reason"]}
        self.info = hello
        if not hello.get("available"):
            self.close()

    def _read(self, timeout: float) -> dict[str, Any]:
        assert self.proc is not None and self.proc.stdout is not None
        if not self.sel.select(timeout):
            self.close()
            return self._failed(f"no answer within {timeout:.0f} s (killed)")
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait()
            return self._failed(f"worker exited with code {self.proc.returncode}")
        return json.loads(line)

    def _failed(self, why: str) -> dict[str, Any]:
        self.stderr.seek(0)
        tail = self.stderr.read().decode(errors="replace").strip().splitlines()[-3:]
        return {"ok": False, "status": "failed", "reason": why + ("; " if tail else "")
                + " | ".join(tail)}

    def request(self, cmd: dict[str, Any], timeout: float | None = None) -> dict[str, Any]:
        if self.proc is None or self.proc.poll() is not None:
            return {"ok": False, "status": "failed", "reason": "worker is not running"}
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write((json.dumps(cmd) + "\n").encode())
            self.proc.stdin.flush()
        except BrokenPipeError:
            return self._failed("worker went away")
        return self._read(timeout or self.timeout)

    def close(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.write(b'{"op": "quit"}\n')
                self.proc.stdin.flush()
                self.proc.wait(5)
            except (BrokenPipeError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        self.proc = None


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true",
                    help="3 rounds of short blocks (about a minute) instead of 7 longer ones")
    ap.add_argument("--json", metavar="FILE", help="also write all results as JSON")
    ap.add_argument("--engines", default=",".join(ENGINES),
                    help=f"comma list (default all: {','.join(ENGINES)}); numpy is always "
                         "added as the baseline")
    ap.add_argument("--workloads", default="",
                    help=f"comma list of groups {','.join(GROUPS)} or case names "
                         f"({','.join(BY_NAME)}); default all")
    ap.add_argument("--python-for", action="append", default=[], metavar="ENGINE=PATH",
                    help="run ENGINE's worker with this Python (repeatable); 'peers=PATH' "
                         "sets it for torch, mygrad, hips and micrograd at once")
    ap.add_argument("--engine-module", action="append", default=[], metavar="NAME=FILE",
                    help="an extra engine from a module file (same interface as "
                         "bench/engines/*.py)")
    ap.add_argument("--threads", type=int, default=1,
                    help="BLAS/OpenMP/torch threads for every engine (default 1)")
    ap.add_argument("--malloc-default", action="store_true",
                    help="leave glibc's malloc thresholds at their defaults instead of pinning "
                         "them for every engine (see bench/README.md, 'Allocator')")
    ap.add_argument("--rounds", type=int, help="timed rounds per case (default 7, quick 3)")
    ap.add_argument("--block-seconds", type=float,
                    help="target length of one timed block (default 0.25 s, quick 0.05 s)")
    ap.add_argument("--pause", type=float,
                    help="untimed pause before each block (default 0.2 s, quick 0.05 s)")
    ap.add_argument("--timeout", type=float, default=900.0,
                    help="seconds a worker may take to answer one command")
    args = ap.parse_args(argv)
    args.rounds = args.rounds or (3 if args.quick else 7)
    args.block_seconds = args.block_seconds or (0.05 if args.quick else 0.25)
    args.pause = args.pause if args.pause is not None else (0.05 if args.quick else 0.2)
    if args.rounds < 1 or args.block_seconds <= 0 or args.pause < 0 or args.threads < 1:
        ap.error("--rounds and --threads must be >= 1, --block-seconds > 0, --pause >= 0")
    return args


def _pairs(items: list[str], flag: str) -> dict[str, str]:
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name or not value:
            raise SystemExit(f"run.py: {flag} takes NAME=VALUE, got {item!r}")
        out[name] = value
    return out


def engine_list(args: argparse.Namespace, custom: dict[str, str]) -> list[str]:
    names = [e.strip() for e in args.engines.split(",") if e.strip()]
    names += [c for c in custom if c not in names]
    for e in names:
        if e not in ENGINES and e not in custom:
            raise SystemExit(f"run.py: unknown engine {e!r}; known: {', '.join(ENGINES)} "
                             "(or add one with --engine-module NAME=FILE)")
    return ["numpy"] + [e for e in names if e != "numpy"]


# glibc returns freed blocks above these sizes to the OS (mmap'd, or trimmed off the heap)
# and page-faults them back on the next allocation. With the defaults, whether a step's
# ~1 MB temporaries land on either side depends on each process's allocation history, and
# large-batch ratios swung from 0.5x to 1.6x between runs of the same code. Pinned for
# every engine alike, large temporaries are reused and the ratios measure the engines.
MALLOC_PINNED = {"MALLOC_MMAP_THRESHOLD_": str(64 << 20), "MALLOC_TRIM_THRESHOLD_": str(256 << 20)}


def worker_env(threads: int, pin_malloc: bool = True) -> dict[str, str]:
    """The same thread counts (and malloc thresholds) for every engine.
    OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, if set, are passed through unchanged (they pick
    OpenBLAS kernels for this machine)."""
    env = dict(os.environ)
    for var in THREAD_VARS:
        env[var] = str(threads)
    if pin_malloc:
        env.update(MALLOC_PINNED)
    env.pop("PYTHONPATH", None)  # each worker sets its own path (cygrad: this checkout)
    return env


def run_case(case: Case, workers: dict[str, Worker], args: argparse.Namespace) -> dict:
    """Check, warm up and time one case on every engine; returns its result record."""
    names = [e for e in workers if case.engines is None or e in case.engines]
    rows: dict[str, dict[str, Any]] = {}
    steps: dict[str, int] = {}
    for e in names:
        w = workers[e]
        row: dict[str, Any] = {"engine": e, "version": w.info.get("version", "-")}
        rows[e] = row
        if not w.info.get("available"):
            row["status"] = w.info["reason"]
            continue
        res = w.request({"op": "setup", "case": case.name, "block_seconds": args.block_seconds})
        if not res.get("ok"):
            row["status"] = f"{res['status']}: {res['reason']}"
            continue
        row["check_data"] = res["check"]
        if res.get("note"):
            row["note"] = res["note"]
        steps[e] = res["steps"]
    ref = rows["numpy"].get("check_data")
    for e, row in rows.items():
        if "check_data" not in row:
            continue
        if e == "numpy":
            row["check"] = "ref"
        elif ref is None:
            row["check"] = "no baseline"
        else:
            problems = compare(ref, row["check_data"], case.rtol)
            row["check"] = "ok" if not problems else "MISMATCH"
            row["problems"] = problems
    timed = list(steps)
    times: dict[str, list[float]] = {e: [] for e in timed}
    for r in range(case.repeats or args.rounds):
        order = timed[r % len(timed):] + timed[:r % len(timed)] if timed else []
        for e in order:
            res = workers[e].request({"op": "time", "steps": steps[e], "pause": args.pause})
            if not res.get("ok"):
                rows[e]["status"] = f"{res['status']}: {res['reason']}"
                rows[e]["check"] = rows[e].get("check", "-")
                timed.remove(e)
                continue
            times[e].append(res["seconds"] / res["steps"])
    for e in list(steps):
        workers[e].request({"op": "drop"})
        if e in timed:
            rows[e]["stats"] = stats(times[e])
            rows[e]["steps_per_block"] = steps[e]
    base = rows["numpy"].get("stats")
    for row in rows.values():
        if "stats" in row and base:
            row["ratio"] = row["stats"]["median"] / base["median"]
    return {"title": case.title, "rtol": case.rtol, "length": case.length,
            "engines": rows, "floor": floor_verdict(case, rows, args.threads)}


def floor_verdict(case: Case, rows: dict[str, dict], threads: int = 1) -> str:
    """cygrad's standing against the case's floor (a report, never an assertion)."""
    if not case.floor:
        return ""
    cy = rows.get("cygrad", {})
    kind = case.floor[0]
    if "stats" not in cy:
        return f"floor ({kind}): cygrad not measured"
    med = cy["stats"]["median"]
    if kind == "ratio":
        ok = cy.get("ratio") is not None and cy["ratio"] <= case.floor[1]
        got = f"{cy['ratio']:.2f}x" if cy.get("ratio") is not None else "no numpy baseline"
        text = f"cygrad <= {case.floor[1]}x numpy: {got}"
    elif kind == "per_op":
        ok = med / case.length <= case.floor[1]
        text = (f"cygrad <= {fmt_time(case.floor[1])} per op: "
                f"{fmt_time(med / case.length)} per op")
    elif kind == "vs":
        peer = rows.get(case.floor[1], {})
        if "stats" not in peer:
            return f"floor: cygrad no slower than {case.floor[1]}: {case.floor[1]} not measured"
        # ("vs", peer, factor on one thread, factor on two or more): at most factor x peer
        factor = case.floor[min(threads, len(case.floor) - 1) + 1] if len(case.floor) > 2 else 1
        ok = med <= factor * peer["stats"]["median"]
        text = (f"cygrad <= {factor}x {case.floor[1]}: {fmt_time(med)} vs "
                f"{fmt_time(peer['stats']['median'])}")
    else:
        ok = True
        text = f"cygrad completes: yes, in {fmt_time(med)}"
    return f"floor: {text} -> {'met' if ok else 'MISSED'}"


def print_case(name: str, rec: dict) -> None:
    rows = list(rec["engines"].values())
    for r in rows:
        if "stats" not in r and "status" not in r:
            r["status"] = "-"
    print(table(f"\n[{name}] {rec['title']}", rows, per_op=rec["length"] if
                BY_NAME[name].per_op else 0))
    for r in rows:
        if r.get("note"):
            print(f"  note: {r['note']}")
        for p in r.get("problems", [])[:5]:
            print(f"  MISMATCH {r['engine']}: {p}")
    if rec["floor"]:
        print("  " + rec["floor"])
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
    print("\n[P] physics: CICY geometry of the whole list, 10^6 stability labels (times only)")
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


def machine_info(args: argparse.Namespace) -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "platform": platform.platform(),
            "python": sys.version.split()[0], "threads": args.threads,
            "malloc": "defaults" if args.malloc_default else MALLOC_PINNED,
            "rounds": args.rounds, "block_seconds": args.block_seconds, "pause": args.pause,
            "openblas_env": {k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
                             if k in os.environ},
            "date": time.strftime("%Y-%m-%d %H:%M:%S")}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    custom = _pairs(args.engine_module, "--engine-module")
    pythons = _pairs(args.python_for, "--python-for")
    if "peers" in pythons:
        for e in ("torch", "mygrad", "hips", "micrograd"):
            pythons.setdefault(e, pythons["peers"])
    try:
        cases = select(args.workloads)
    except ValueError as e:
        raise SystemExit(f"run.py: {e}") from None
    wanted = {s.strip().upper() for s in args.workloads.split(",") if s.strip()}
    names = engine_list(args, custom)
    env = worker_env(args.threads, pin_malloc=not args.malloc_default)
    meta = machine_info(args)
    print(f"cygrad bench: {meta['cpu']}, {meta['cores']} cores, Python {meta['python']}; "
          f"{args.threads} thread(s) per engine ({', '.join(THREAD_VARS[:3])}, "
          f"torch.set_num_threads); OpenBLAS env as found: {meta['openblas_env'] or 'none'}; "
          f"malloc thresholds: {'defaults' if args.malloc_default else 'pinned'}")
    print(f"{args.rounds} interleaved rounds per case, blocks of ~{args.block_seconds} s, "
          f"{args.pause} s untimed pause before each block; ratio = median / numpy median")
    workers = {e: Worker(e, pythons.get(e, sys.executable), custom.get(e), env, args.timeout)
               for e in names}
    meta["engines"] = {e: w.info for e, w in workers.items()}
    base_np = workers["numpy"].info
    for e, w in workers.items():
        info = w.info
        where = f" [{info['executable']}]" if info.get("executable") != sys.executable else ""
        state = info.get("version") if info.get("available") else info.get("reason")
        print(f"  {e:<10} {state}{where}")
        if info.get("available") and (info.get("numpy"), info.get("blas")) != (
                base_np.get("numpy"), base_np.get("blas")):
            print(f"    note: {e} runs numpy {info.get('numpy')} ({info.get('blas')}), the "
                  f"baseline numpy {base_np.get('numpy')} ({base_np.get('blas')})")
    results: dict[str, Any] = {"meta": meta, "cases": {}}
    bad = False
    try:
        for case in cases:
            rec = run_case(case, workers, args)
            results["cases"][case.name] = rec
            print_case(case.name, rec)
            bad |= any(r.get("check") == "MISMATCH" or str(r.get("status", "")).startswith(
                "failed") for r in rec["engines"].values())
        if not wanted or "P" in wanted:
            results["physics"] = run_physics(args, env)
            print_physics(results["physics"])
            bad |= results["physics"]["status"].startswith("failed")
    finally:
        for w in workers.values():
            w.close()
    if args.json:
        write_json(args.json, results)
        print(f"\nresults written to {args.json}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

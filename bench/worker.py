#!/usr/bin/env python
"""One engine's side of the benchmark, in a process of its own.

    python bench/worker.py ENGINE              # serve JSON-line commands on stdin (run.py)
    python bench/worker.py ENGINE CASE         # one-shot: check, calibrate, time, print JSON
    python bench/worker.py NAME --module FILE  # an engine module outside bench/engines

Every engine has its own process because HIPS autograd and cygrad share the import name
``autograd``, and so one engine's allocator, threads and caches never touch another's.
The protocol: the worker first prints a hello line, then answers each command line
(``setup``, ``time``, ``drop``, ``quit``) with exactly one JSON line on stdout. Anything else
that writes to stdout (libraries, warnings) is redirected to stderr.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import importlib.util
import json
import os
import sys
import time
import traceback
from pathlib import Path
from types import ModuleType
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
# Set to the same count for every engine by run.py (before any of them imports numpy).
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
               "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")


def _fix_path(engine: str) -> None:
    """cygrad is measured from this checkout; every other engine must not see it.

    ``import autograd`` would otherwise find cygrad for HIPS when the repository root (or
    the current directory, '') is on the path.
    """
    sys.path[:] = [p for p in sys.path if p not in ("", ".") and Path(p).resolve() != REPO]
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))
    if engine == "cygrad":
        sys.path.insert(0, str(REPO))


def load_engine(name: str, module_file: str | None = None) -> ModuleType:
    """The engine module ``bench/engines/<name>.py``, or the given file."""
    if module_file:
        spec = importlib.util.spec_from_file_location(f"engines._custom_{name}", module_file)
        if spec is None or spec.loader is None:
            raise FileNotFoundError(f"worker: cannot load engine module {module_file!r}")
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        return mod
    from engines import ENGINES

    if name not in ENGINES:
        raise ValueError(f"worker: unknown engine {name!r}; known: {', '.join(ENGINES)}")
    return importlib.import_module(f"engines.{name}")


def hello(name: str, mod: ModuleType) -> dict[str, Any]:
    import numpy as np

    info: dict[str, Any] = {"engine": name, "python": sys.version.split()[0],
                            "executable": sys.executable, "numpy": np.__version__,
                            "blas": _blas(np), "pid": os.getpid()}
    try:
        info["version"] = mod.version()
        info["available"] = True
    except ImportError as e:
        info["available"] = False
        info["reason"] = f"not installed ({e})"
    return info


def _blas(np: Any) -> str:
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return f"{blas.get('name', '?')} {blas.get('version', '?')}"
    except Exception:  # older numpy: no dict mode; the version string is enough then
        return "unknown"


class Worker:
    """Holds the current case's runner between the orchestrator's commands."""

    def __init__(self, mod: ModuleType) -> None:
        self.mod = mod
        self.runner: Any = None
        self.case: Any = None

    def setup(self, case_name: str, block_seconds: float) -> dict[str, Any]:
        from checks import summarize
        from engines import NotSupported
        from workloads import BY_NAME, make_data

        self.runner = None
        self.case = BY_NAME[case_name]
        try:
            runner = self.mod.build(self.case, make_data(self.case))
        except NotSupported as e:
            return {"ok": False, "status": "not supported", "reason": str(e)}
        # Untimed correctness check from the shared initial state.
        check = []
        for _ in range(self.case.check_steps):
            loss, grads = runner.read(runner.step())
            check.append(summarize(loss, grads))
        self.runner = runner
        if self.case.repeats == 1:  # a long case: the check step was its warm-up
            return {"ok": True, "check": check, "steps": 1, "note": runner.note}
        # Untimed warm-up, which also calibrates how many steps fill one timed block.
        step = runner.step
        n, t0 = 0, time.perf_counter()
        while True:
            step()
            n += 1
            elapsed = time.perf_counter() - t0
            if n >= 3 and elapsed >= 0.5 * block_seconds:
                break
        steps = max(1, round(block_seconds * n / elapsed))
        return {"ok": True, "check": check, "steps": steps, "note": runner.note}

    def time(self, steps: int, pause: float) -> dict[str, Any]:
        step = self.runner.step
        gc.collect()  # the previous block's garbage is not this block's cost
        time.sleep(pause)  # let other processes' (and our) spinning BLAS threads go idle
        t0 = time.perf_counter()
        for _ in range(steps):
            step()
        return {"ok": True, "seconds": time.perf_counter() - t0, "steps": steps}

    def handle(self, cmd: dict[str, Any]) -> dict[str, Any]:
        try:
            if cmd["op"] == "setup":
                return self.setup(cmd["case"], cmd["block_seconds"])
            if cmd["op"] == "time":
                return self.time(cmd["steps"], cmd["pause"])
            if cmd["op"] == "drop":
                self.runner = self.case = None
                gc.collect()
                return {"ok": True}
            return {"ok": False, "status": "failed", "reason": f"unknown command {cmd!r}"}
        except Exception as e:  # reported to the orchestrator as this engine's failure
            traceback.print_exc()
            return {"ok": False, "status": "failed", "reason": f"{type(e).__name__}: {e}"}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("engine")
    ap.add_argument("case", nargs="?", help="one-shot mode: run this case and exit")
    ap.add_argument("--module", help="load the engine from this file instead of bench/engines")
    ap.add_argument("--block-seconds", type=float, default=0.2)
    args = ap.parse_args(argv)
    _fix_path(args.engine)
    # Keep the protocol stream clean: whatever else prints to stdout goes to stderr.
    proto = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    def send(msg: dict[str, Any]) -> None:
        proto.write(json.dumps(msg) + "\n")
        proto.flush()

    mod = load_engine(args.engine, args.module)
    info = hello(args.engine, mod)
    send(info)
    if not info["available"]:
        return 0
    worker = Worker(mod)
    if args.case:
        res = worker.handle({"op": "setup", "case": args.case,
                             "block_seconds": args.block_seconds})
        if res.get("ok"):
            res["timing"] = worker.handle({"op": "time", "steps": res["steps"], "pause": 0.1})
        send(res)
        return 0 if res.get("ok") else 1
    for line in sys.stdin:
        if not line.strip():
            continue
        cmd = json.loads(line)
        if cmd.get("op") == "quit":
            break
        send(worker.handle(cmd))
    return 0


if __name__ == "__main__":
    sys.exit(main())

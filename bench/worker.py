#!/usr/bin/env python
"""One fresh process of the benchmark: an engine and the numpy baseline, timed interleaved.

    python bench/worker.py ENGINE CASE [--rounds 5] [--block-seconds 0.1] [--pause 0.05]
                           [--threads 1,default] [--module FILE]
    python bench/worker.py ENGINE --hello     # is ENGINE installed here? versions, threads

On this VM a fresh process lands in a fast or a slow mode (the same numpy loop 2x apart
from one process to the next), so a ratio between two engines means something only when
both were timed in the same process. The worker builds the case in ENGINE and in the numpy
baseline, runs both from the shared initial state for the untimed correctness check,
calibrates a block of steps for each, then times blocks round-robin: every round, for every
thread setting, one block of each, the order rotating, an untimed pause before each block.
It prints one JSON object (the raw per-step times) on stdout and exits; run.py starts
several such processes per engine and case and summarises them.

Engines other than cygrad never see this checkout on ``sys.path``: HIPS autograd's import
name is ``autograd``, like cygrad's. Anything else written to stdout goes to stderr.
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
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
# Variables that fix thread counts before a library starts. run.py removes them from the
# workers' environment: the headline is what a user gets without them.
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
               "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")
DEFAULT = "default"  # the thread setting the libraries choose themselves


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


def _blas(np: Any) -> str:
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return f"{blas.get('name', '?')} {blas.get('version', '?')}"
    except Exception:  # older numpy: no dict mode; the version string is enough then
        return "unknown"


class Threads:
    """The thread count of every pool in this process, switchable between blocks.

    ``default`` is what the libraries chose at start, what users get. An integer limits
    every BLAS/OpenMP pool threadpoolctl finds, and an engine's own pool through its
    module's optional ``set_threads(n | None) -> int`` (torch's intra-op threads).
    """

    def __init__(self, mods: list[ModuleType]) -> None:
        self.hooks = {m.__name__.rsplit(".", 1)[-1]: m.set_threads for m in mods
                      if hasattr(m, "set_threads")}
        self.limiter: Any = None
        try:
            import threadpoolctl
        except ImportError:
            self.tp: Any = None
        else:
            self.tp = threadpoolctl
        self.default = self.describe()

    def describe(self) -> dict[str, int]:
        """Threads per pool as now in effect, e.g. {"openblas": 2, "torch": 2}; call it
        at the default setting."""
        out: dict[str, int] = {}
        if self.tp is not None:
            for pool in self.tp.threadpool_info():
                out[pool.get("internal_api", pool.get("prefix", "?"))] = pool["num_threads"]
        for name, hook in self.hooks.items():
            out[name] = hook(None)
        return out

    def unavailable(self, setting: str) -> str | None:
        """Why ``setting`` cannot be measured here, or None."""
        if setting != DEFAULT and self.tp is None:
            return (f"not measured: threadpoolctl is not installed for {sys.executable} "
                    "(pip install threadpoolctl)")
        return None

    def apply(self, setting: str) -> None:
        if self.limiter is not None:
            self.limiter.restore_original_limits()
            self.limiter = None
        n = None if setting == DEFAULT else int(setting)
        if n is not None:
            self.limiter = self.tp.threadpool_limits(limits=n)
        for hook in self.hooks.values():
            hook(n)


def hello(name: str, mod: ModuleType) -> dict[str, Any]:
    """Whether the engine is installed in this Python, and what it runs on."""
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


def _check(runner: Any, steps: int) -> list[dict[str, Any]]:
    from checks import summarize

    return [summarize(*runner.read(runner.step())) for _ in range(steps)]


def _calibrate(step: Callable[[], Any], block_seconds: float, min_steps: int) -> int:
    """Untimed warm-up that also finds how many steps fill one block: block_seconds over
    the median step (a collector's lump in the warm-up must not shorten the blocks, which
    then hold too few steps to see the lumps at all), and at least ``min_steps``."""
    times: list[float] = []
    t0 = time.perf_counter()
    while len(times) < 2 or time.perf_counter() - t0 < 0.5 * block_seconds:
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
    times.sort()
    return max(min_steps, round(block_seconds / times[len(times) // 2]))


# Wall time is what a user waits for and the headline. Process CPU time (every thread of
# the process) is a diagnostic for a busy machine: it leaves out the time other processes
# hold the cores, which wall time cannot, but it also counts BLAS threads' work and
# spinning, so it is comparable only at one thread.
CLOCKS: dict[str, Callable[[], float]] = {"wall": time.perf_counter, "cpu": time.process_time}


def _block(step: Callable[[], Any], steps: int, pause: float,
           clock: Callable[[], float] = time.perf_counter) -> float:
    """Seconds per step over one block.

    No gc.collect() here: an engine whose graphs are reference cycles (micrograd) pays for
    collecting them in a user's training loop, so it pays inside its blocks too; an
    explicit collection in the untimed pause would hide that cost (blocks of one slow step
    would never see it). The numpy baseline makes almost no garbage the collector tracks.
    """
    time.sleep(pause)  # let spinning BLAS threads (ours and other processes') go idle
    t0 = clock()
    for _ in range(steps):
        step()
    return (clock() - t0) / steps


def _rotate(items: list[str], k: int) -> list[str]:
    k %= len(items)
    return items[k:] + items[:k]


def measure(mod: ModuleType, base: ModuleType, case_name: str, rounds: int,
            block_seconds: float, pause: float, settings: list[str],
            min_steps: int = 1, clock: str = "wall") -> dict[str, Any]:
    """Check, calibrate and time ``mod`` against the numpy baseline ``base`` in this
    process. Returns per setting the per-step time of every block, in round order."""
    from engines import NotSupported
    from workloads import BY_NAME, make_data

    case = BY_NAME[case_name]
    runners: dict[str, Any] = {}
    for who, m in (("numpy", base), ("engine", mod)):
        try:
            runners[who] = m.build(case, make_data(case))
        except NotSupported as e:
            return {"ok": False, "status": "not supported",
                    "reason": str(e) if who == "engine" else f"baseline: {e}"}
    check = {who: _check(r, case.check_steps) for who, r in runners.items()}
    gc.collect()  # setup's garbage; from here on the collector runs as in a user's loop
    threads = Threads([mod])
    skipped = {s: why for s in settings if (why := threads.unavailable(s))}
    timed = [s for s in settings if s not in skipped]
    # Steps per block, per setting: two BLAS threads on a busy machine can make a step
    # 100x slower than one thread does, and a block sized for one would then take minutes.
    steps: dict[str, dict[str, int]] = {}
    for s in timed:
        threads.apply(s)
        steps[s] = {who: 1 if case.repeats else _calibrate(r.step, block_seconds, min_steps)
                    for who, r in runners.items()}
    if case.repeats:  # a long case: the check step was its warm-up, one step per block
        rounds = case.repeats
    times: dict[str, dict[str, list[float]]] = {s: {"numpy": [], "engine": []} for s in timed}
    for r in range(rounds):
        for i, s in enumerate(_rotate(timed, r) if timed else []):
            threads.apply(s)
            for who in _rotate(["numpy", "engine"], r + i):
                times[s][who].append(_block(runners[who].step, steps[s][who], pause,
                                            CLOCKS[clock]))
    threads.apply(DEFAULT)
    return {"ok": True, "check": check, "steps": steps, "settings": times,
            "skipped": skipped, "threads": threads.default,
            "note": runners["engine"].note or runners["numpy"].note}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("engine")
    ap.add_argument("case", nargs="?", help="the case to time (see workloads.py)")
    ap.add_argument("--hello", action="store_true", help="only report whether ENGINE is "
                    "installed here, its version and the default thread counts")
    ap.add_argument("--module", help="load the engine from this file instead of bench/engines")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--block-seconds", type=float, default=0.1)
    ap.add_argument("--pause", type=float, default=0.05)
    ap.add_argument("--min-steps", type=int, default=3, help="at least this many steps per "
                    "block, however long a step takes")
    ap.add_argument("--threads", default=f"1,{DEFAULT}",
                    help="comma list of thread settings: integers and/or 'default'")
    ap.add_argument("--clock", choices=list(CLOCKS), default="wall")
    args = ap.parse_args(argv)
    if not args.hello and not args.case:
        ap.error("give a CASE to time, or --hello")
    _fix_path(args.engine)
    # Keep the result stream clean: whatever else prints to stdout goes to stderr.
    out = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    def send(msg: dict[str, Any]) -> None:
        out.write(json.dumps(msg) + "\n")
        out.flush()

    mod = load_engine(args.engine, args.module)
    info = hello(args.engine, mod)
    if not info["available"] or args.hello:
        if info["available"]:
            info["threads"] = Threads([mod]).describe()
        send(info)
        return 0
    try:
        res = measure(mod, load_engine("numpy"), args.case, args.rounds, args.block_seconds,
                      args.pause, [s.strip() for s in args.threads.split(",") if s.strip()],
                      args.min_steps, args.clock)
    except Exception as e:  # reported to run.py as this engine's failure
        traceback.print_exc()
        res = {"ok": False, "status": "failed", "reason": f"{type(e).__name__}: {e}"}
    send({**info, **res})
    return 0 if res.get("ok") else 1


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python
"""Where an engine spends a workload's step: cProfile over many steps, top functions.

    python bench/hotspots.py                       # cygrad on W1-b128-f64 and W3-chain1000
    python bench/hotspots.py W4-mlp --steps 200 --top 20
    python bench/hotspots.py W1-b128-f32 --engine torch   # with a Python that has torch

Runs the same engine code as the timed benchmark (bench/engines/), in this process, after
the same warm-up. cProfile's per-call overhead inflates many-small-call code, so read the
ranking, not the absolute times.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys

from worker import THREAD_VARS, _fix_path, load_engine


def profile(engine: str, case_name: str, steps: int, top: int, sort: str) -> str:
    from workloads import BY_NAME, make_data

    case = BY_NAME[case_name]
    runner = load_engine(engine).build(case, make_data(case))
    for _ in range(3):
        runner.step()
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(steps):
        runner.step()
    prof.disable()
    buf = io.StringIO()
    st = pstats.Stats(prof, stream=buf).strip_dirs().sort_stats(sort)
    buf.write(f"== {engine} {case_name}: {steps} steps, sorted by {sort}\n")
    st.print_stats(top)
    return buf.getvalue()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("cases", nargs="*", default=["W1-b128-f64", "W3-chain1000"])
    ap.add_argument("--engine", default="cygrad")
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--top", type=int, default=15)
    ap.add_argument("--sort", default="tottime", choices=["tottime", "cumulative", "ncalls"])
    ap.add_argument("--threads", type=int,
                    help="BLAS/OpenMP threads (default: the libraries' own choice, as users "
                         "get it)")
    args = ap.parse_args(argv)
    # Before numpy is imported: with 2 OpenBLAS threads on a busy 2-core machine the
    # backward's transposed matmuls were seen to take ~50x longer than with one.
    for var in THREAD_VARS if args.threads else ():
        os.environ[var] = str(args.threads)
    _fix_path(args.engine)
    from workloads import BY_NAME

    for c in args.cases:
        if c not in BY_NAME:
            ap.error(f"unknown case {c!r}; choose from {', '.join(BY_NAME)}")
        print(profile(args.engine, c, args.steps, args.top, args.sort))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Speed of the physics package (a script, not a test).

    python bench/bench_physics.py [--data PATH] [--json FILE]

1. intersection numbers + c2 + Euler numbers of the whole original CICY list (7890)
   (issue floor: <= 10 s); also checks them against the list's own c2 and Euler numbers;
2. stability labels (open and closed cone) + HRR indices for 10^6 line bundles on the
   bicubic of eq. (33) (issue floor: <= 2 s).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from physics import CICY, load_cicy_json, topological_data  # noqa: E402

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def best_of(fn, repeat: int = 3) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def bench_list(data: Path) -> dict:
    path = data / "cicy" / "cicy3o.json.gz"
    records = load_cicy_json(path)

    def run():
        return topological_data([r.cicy() for r in records])

    seconds, (_, c2s, chis) = best_of(run)
    wrong = sum(
        chi != r.euler or not np.array_equal(c2, r.c2)
        for r, c2, chi in zip(records, c2s, chis, strict=True)
    )
    return {
        "task": "d_ijk + c2 + Euler, whole CICY list (incl. building CICY objects)",
        "configurations": len(records),
        "seconds": round(seconds, 3),
        "floor_seconds": 10.0,
        "mismatches_with_list": int(wrong),
    }


def bench_bicubic(n: int = 10**6) -> dict:
    cicy = CICY([[2, 3], [2, 3]])
    q = np.random.default_rng(0).integers(-10, 11, size=(n, 2))
    out = {}
    for cone in ("open", "closed"):
        seconds, _ = best_of(lambda cone=cone: (cicy.is_stable(q, cone=cone), cicy.index(q)))
        out[cone] = round(seconds, 3)
    return {
        "task": "stability labels + indices, 10^6 bicubic line bundles in [-10, 10]^2",
        "seconds_open": out["open"],
        "seconds_closed": out["closed"],
        "floor_seconds": 2.0,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the shared data folder")
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    args = parser.parse_args()
    results = {"numpy": np.__version__, "cpus": os.cpu_count(), "benchmarks": []}
    if (args.data / "cicy" / "cicy3o.json.gz").is_file():
        results["benchmarks"].append(bench_list(args.data))
    else:
        print(f"skipping the CICY list: {args.data}/cicy/cicy3o.json.gz not found", file=sys.stderr)
    results["benchmarks"].append(bench_bicubic())
    text = json.dumps(results, indent=2)
    print(text)
    if args.json:
        fd, tmp = tempfile.mkstemp(dir=args.json.parent or ".", suffix=".tmp")
        with os.fdopen(fd, "w") as fh:
            fh.write(text + "\n")
        os.replace(tmp, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

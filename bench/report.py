"""From raw block times to figures: per-process ratios, their spread over processes, the
tables run.py prints, and cygrad's floors (met / MISSED, a report, never an assertion).

A worker process times, for each thread setting, blocks of the engine and of the numpy
baseline in alternation. A process's ratio is the engine's mean time per step over its
blocks divided by numpy's over theirs; the headline is the median over processes, with the
min .. max (and, in the JSON, the IQR) of the per-process ratios.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from checks import compare
from workloads import Case, Floor

FLOOR_ENGINE = "cygrad"  # whose targets the floors are


def stats(values: list[float]) -> dict[str, float]:
    """Median, quartiles and range of a list of figures (one per round or per process)."""
    a = np.asarray(values, dtype=np.float64)
    q1, med, q3 = np.percentile(a, [25, 50, 75])
    return {"median": float(med), "q1": float(q1), "q3": float(q3), "min": float(a.min()),
            "max": float(a.max()), "n": len(a)}


def process_figures(times: dict[str, list[float]]) -> dict[str, float]:
    """One process, one thread setting: each side's mean time per step over its blocks
    (which moves with the process's speed mode) and their ratio (which does not).

    Means, not medians over blocks: an engine whose graphs are reference cycles pays for
    them in lumps (micrograd's 5000-op chain: every other step took 8x longer, a full
    collection), and a median of blocks of a step or two would leave the lumps out. What
    a training loop pays is the mean. Load from elsewhere falls on both sides alike through
    the interleaving, and a process hit harder than the others is outvoted by the median
    over processes.
    """
    e, n = float(np.mean(times["engine"])), float(np.mean(times["numpy"]))
    return {"ratio": e / n, "engine": e, "numpy": n}


def summarize(case: Case, procs: list[dict[str, Any]], settings: list[str]) -> dict[str, Any]:
    """One engine on one case over its processes: per setting, the stats of the
    per-process ratios and times; and the correctness check of every process."""
    row: dict[str, Any] = {"processes": len(procs), "settings": {}}
    for s in settings:
        figs = [process_figures(p["settings"][s]) for p in procs if s in p["settings"]]
        if not figs:
            row["settings"][s] = {"status": next(
                (p["skipped"][s] for p in procs if s in p.get("skipped", {})), "not measured")}
            continue
        row["settings"][s] = {"ratios": [f["ratio"] for f in figs],
                              **{k: stats([f[k] for f in figs]) for k in figs[0]}}
    problems: list[str] = []
    for i, p in enumerate(procs, start=1):
        found = compare(p["check"]["numpy"], p["check"]["engine"], case.rtol)
        if found:
            problems = [f"process {i}: {x}" for x in found]
            break
    row["check"] = "MISMATCH" if problems else "ok"
    row["problems"] = problems
    return row


def fmt_time(seconds: float) -> str:
    """A duration with a unit that keeps 3-4 significant digits (ns, us, ms, s)."""
    if seconds >= 100:
        return f"{seconds:.0f} s"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds * 1e9:.3g} ns"


def setting_label(s: str) -> str:
    return "default" if s == "default" else f"{s} thread{'s' if s != '1' else ''}"


def _grid(head: list[str], rows: list[list[str]], group: list[str] | None = None) -> list[str]:
    """Left-aligned columns under ``head``; a row shorter than the header spans its last
    cell; ``group`` labels (one per column, mostly empty) start above their column and
    may run over the empty ones after them."""
    full = len(head)
    widths = [max(len(r[i]) for r in [head] + rows if len(r) == full or i < len(r) - 1)
              for i in range(full)]
    out = []
    if group:
        line, col = "  ", 2
        for label, w in zip(group, widths):
            if label:
                line = line.ljust(col) + label + " "
            col += w + 2
        out.append(line.rstrip())
    for r in [head] + rows:
        if len(r) == full:
            out.append("  " + "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
        else:
            lead = "  ".join(c.ljust(w) for c, w in zip(r[:-1], widths))
            out.append("  " + lead + "  " + r[-1])
    return out


def case_table(title: str, rows: dict[str, dict[str, Any]], settings: list[str],
               per_op: int = 0) -> str:
    """The per-case table: per engine, the thread settings side by side, each with the
    median ratio over processes and its min .. max; then the median times (engine / its
    numpy baseline), which move with each process's speed mode."""
    group, head = ["", ""], ["engine", "version"]
    for s in settings:
        group += [setting_label(s), ""]
        head += ["x numpy", "min .. max"]
    group += [f"time {'per op' if per_op else 'per step'}* (engine / numpy)"] + \
        [""] * len(settings)
    head += [setting_label(s) for s in settings] + ["check"]
    lines = []
    for e, r in rows.items():
        if "status" in r:
            lines.append([e, r.get("version", "-"), r["status"]])
            continue
        cells, times = [e, r["version"]], []
        for s in settings:
            f = r["settings"][s]
            if "ratio" not in f:
                cells += [f["status"].split(":")[0], ""]
                times.append("-")
                continue
            q, d = f["ratio"], per_op or 1
            cells += [f"{q['median']:.2f}x", f"{q['min']:.2f} .. {q['max']:.2f}"]
            times.append(f"{fmt_time(f['engine']['median'] / d)} / "
                         f"{fmt_time(f['numpy']['median'] / d)}")
        lines.append(cells + times + [r["check"]])
    return "\n".join([title] + _grid(head, lines, group))


def floor_verdicts(case: Case, rows: dict[str, dict[str, Any]],
                   settings: list[str]) -> list[dict[str, Any]]:
    """cygrad's standing against each of the case's floors, per thread setting."""
    out = []
    for fl in case.floors:
        for s in settings if fl.threads is None else [fl.threads]:
            out.append({"setting": s, **_verdict(fl, rows, s)})
    return out


def _figures(rows: dict[str, dict[str, Any]], engine: str, s: str) -> dict[str, Any] | None:
    f = rows.get(engine, {}).get("settings", {}).get(s, {})
    return f if "ratio" in f else None


def _verdict(fl: Floor, rows: dict[str, dict[str, Any]], s: str) -> dict[str, Any]:
    cy = _figures(rows, FLOOR_ENGINE, s)
    where = f"({setting_label(s)})"
    if cy is None:
        return {"met": None, "text": f"{FLOOR_ENGINE} not measured {where}"}
    med, n = cy["ratio"]["median"], cy["ratio"]["n"]
    if fl.kind == "completes":
        return {"met": True, "text": f"{FLOOR_ENGINE} completes {where}: in {n} processes, "
                                     f"{fmt_time(cy['engine']['median'])} median"}
    if fl.kind == "ratio":
        r = cy["ratio"]
        return {"met": med <= fl.limit,
                "text": f"{FLOOR_ENGINE} <= {fl.limit}x numpy {where}: {med:.2f}x "
                        f"({r['min']:.2f} .. {r['max']:.2f} over {n} processes)"}
    peer = _figures(rows, fl.peer, s)
    if peer is None:
        return {"met": None, "text": f"{FLOOR_ENGINE} against {fl.peer} {where}: {fl.peer} "
                                     "not measured"}
    if fl.kind == "vs":
        pm = peer["ratio"]["median"]
        return {"met": med <= fl.limit * pm,
                "text": f"{FLOOR_ENGINE} <= {fl.limit}x {fl.peer} {where}: {med:.3g}x / "
                        f"{pm:.3g}x numpy = {med / pm:.2f}"}
    worst, best = cy["ratio"]["max"], peer["ratio"]["min"]
    return {"met": worst < fl.limit * best,
            "text": f"{FLOOR_ENGINE} faster than {fl.peer} in every process {where}: its "
                    f"slowest {worst:.3g}x numpy, {fl.peer}'s fastest {best:.3g}x"}


def verdict_line(v: dict[str, Any]) -> str:
    state = {True: "met", False: "MISSED", None: "not judged"}[v["met"]]
    return f"floor: {v['text']} -> {state}"


def summary_table(results: dict[str, dict[str, Any]], engines: list[str],
                  settings: list[str]) -> str:
    """All cases at a glance: each engine's median ratio per setting, and the floors."""
    head = ["case"] + engines + ["floors"]
    lines = []
    for name, rec in results.items():
        cells = [name]
        for e in engines:
            r = rec["engines"].get(e)
            if r is None:
                cells.append("")
            elif "status" in r:
                cells.append("n/s" if r["status"].startswith("not supported") else "-")
            else:
                cells.append(" / ".join(
                    f"{r['settings'][s]['ratio']['median']:.2f}x"
                    if "ratio" in r["settings"][s] else "-" for s in settings))
        missed = [v["setting"] for v in rec["floors"] if v["met"] is False]
        judged = [v for v in rec["floors"] if v["met"] is not None]
        cells.append("" if not rec["floors"] else
                     f"MISSED ({', '.join(missed)})" if missed else
                     "met" if judged else "not judged")
        lines.append(cells)
    title = ("Summary: median ratio to numpy over processes, "
             + " / ".join(setting_label(s) for s in settings))
    return "\n".join([title] + _grid(head, lines))

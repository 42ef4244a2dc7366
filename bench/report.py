"""Statistics over the timed rounds and the text tables run.py prints."""

from __future__ import annotations

from typing import Any

import numpy as np


def stats(per_step: list[float]) -> dict[str, float]:
    """Median, quartiles and range of one engine's per-step times (one value per round)."""
    a = np.asarray(per_step, dtype=np.float64)
    q1, med, q3 = np.percentile(a, [25, 50, 75])
    return {"median": float(med), "q1": float(q1), "q3": float(q3), "min": float(a.min()),
            "max": float(a.max()), "rounds": len(a)}


def fmt_time(seconds: float) -> str:
    """A duration with a unit that keeps 3-4 significant digits (ns, us, ms, s)."""
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds * 1e9:.3g} ns"


def table(title: str, rows: list[dict[str, Any]], per_op: int = 0) -> str:
    """The per-case table: one row per engine, timed or with its status."""
    head = ["engine", "version", "median/step"]
    if per_op:
        head.append("per op")
    head += ["x numpy", "IQR", "min .. max", "check"]
    lines = []
    for r in rows:
        if "stats" not in r:
            lines.append([r["engine"], r.get("version", "-"), r["status"]])
            continue
        s = r["stats"]
        cells = [r["engine"], r.get("version", "-"), fmt_time(s["median"])]
        if per_op:
            cells.append(fmt_time(s["median"] / per_op))
        ratio = r.get("ratio")
        cells += [f"{ratio:.2f}x" if ratio is not None else "-",
                  f"{fmt_time(s['q1'])} .. {fmt_time(s['q3'])}",
                  f"{fmt_time(s['min'])} .. {fmt_time(s['max'])}", r["check"]]
        lines.append(cells)
    widths = [max(len(head[i]), *(len(c[i]) for c in lines if len(c) == len(head) or i < 2))
              for i in range(len(head))]
    out = [title, "  " + "  ".join(h.ljust(w) for h, w in zip(head, widths))]
    for cells in lines:
        if len(cells) == len(head):
            out.append("  " + "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip())
        else:  # not timed: the status spans the rest of the row
            out.append("  " + cells[0].ljust(widths[0]) + "  " + cells[1].ljust(widths[1])
                       + "  " + cells[2])
    return "\n".join(out)

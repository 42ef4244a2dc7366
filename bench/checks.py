"""The correctness cross-check: what a worker reports, and how it is compared.

Each engine runs a case's first ``check_steps`` steps untimed from the shared initial
state and reports, per step, the loss and, per parameter gradient, three numbers: its sum,
its sum of absolute values, and its dot product with a fixed probe. The probe (a cosine
pattern, no randomness) catches errors that leave sums intact, such as swapped entries.
Numbers are compared with the numpy baseline's relative to the quantity's scale: the
loss's magnitude, or the gradient's absolute sum (a plain sum may cancel to ~0).
"""

from __future__ import annotations

from typing import Any

import numpy as np


def probe(shape: tuple[int, ...]) -> np.ndarray:
    """A fixed pattern with entries in [-1, 1], the same in every process."""
    n = int(np.prod(shape, dtype=np.int64))
    return np.cos(0.7 * np.arange(n) + 0.3).reshape(shape)


def summarize(loss: float | None, grads: list[np.ndarray]) -> dict[str, Any]:
    """One step's loss and gradient summary, as plain JSON-ready floats."""
    out = []
    for g in grads:
        g = np.asarray(g, dtype=np.float64)
        out.append({"shape": list(g.shape), "sum": float(g.sum()),
                    "abs": float(np.abs(g).sum()), "probe": float((g * probe(g.shape)).sum())})
    return {"loss": None if loss is None else float(loss), "grads": out}


def compare(ref: list[dict], got: list[dict], rtol: float) -> list[str]:
    """Disagreements of ``got`` with the baseline ``ref`` (lists of step summaries).

    Returns human-readable problems; an empty list means the engine agrees.
    """
    problems: list[str] = []
    if len(ref) != len(got):
        return [f"reported {len(got)} check steps, the baseline {len(ref)}"]
    for step, (r, g) in enumerate(zip(ref, got), start=1):
        if r["loss"] is not None and g["loss"] is not None:
            if not _close(g["loss"], r["loss"], abs(r["loss"]), rtol):
                problems.append(f"step {step}: loss {g['loss']:.10g} vs numpy {r['loss']:.10g}")
        if len(r["grads"]) != len(g["grads"]):
            problems.append(f"step {step}: {len(g['grads'])} gradients vs numpy "
                            f"{len(r['grads'])}")
            continue
        for i, (rg, gg) in enumerate(zip(r["grads"], g["grads"])):
            if rg["shape"] != gg["shape"]:
                problems.append(f"step {step}: gradient {i} has shape {tuple(gg['shape'])}, "
                                f"numpy's {tuple(rg['shape'])}")
                continue
            for key in ("sum", "abs", "probe"):
                if not _close(gg[key], rg[key], rg["abs"], rtol):
                    problems.append(f"step {step}: gradient {i} {key} {gg[key]:.10g} vs "
                                    f"numpy {rg[key]:.10g}")
    return problems


def _close(value: float, ref: float, scale: float, rtol: float) -> bool:
    return bool(np.isfinite(value)) and abs(value - ref) <= rtol * scale

"""Numbers and arrays as the short text a picture can hold.

Small arrays are printed in full (rounded); larger ones are summarised by min, mean and
max, so a 64 x 2 weight never turns a node into a wall of digits.
"""

from __future__ import annotations

from typing import Any

import numpy as np

PRECISION = 4


def number(v: Any) -> str:
    """One number, rounded to 4 significant digits (``-0`` shown as ``0``)."""
    v = np.asarray(v).item()
    if isinstance(v, float):
        return f"{v + 0.0:.{PRECISION}g}"
    return str(v)


def array_lines(a: np.ndarray, max_values: int) -> list[str]:
    """Text lines for an array: every value if ``a.size <= max_values``, else a summary."""
    a = np.asarray(a)
    if a.size == 1:
        return [number(a.reshape(()))]
    if a.size == 0:
        return ["(empty)"]
    if a.size <= max_values:
        kw: dict[str, Any] = {}
        if a.dtype.kind == "f":
            # 3 significant digits, right-aligned columns; tiny values stay visible as 1e-05
            # rather than printing as a misleading "-0."
            width = max(len(f"{v + 0.0:.{PRECISION - 1}g}") for v in a.flat)
            kw["formatter"] = {"float_kind": lambda v: f"{v + 0.0:.{PRECISION - 1}g}".rjust(width)}
        text = np.array2string(a, separator=" ", max_line_width=64, **kw)
        return [line.rstrip() for line in text.splitlines()]
    if a.dtype.kind in "fiu":
        return [f"min {number(a.min())}", f"mean {number(a.mean())}",
                f"max {number(a.max())}", f"({a.size} values)"]
    return [f"({a.size} values)"]


def shape_text(shape: tuple[int, ...] | None) -> str:
    if shape is None:
        return "shape ?"
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def param_text(params: dict | None, limit: int = 28) -> str:
    """An op's non-tensor parameters, e.g. ``axis=1`` (long values cut with an ellipsis)."""
    if not params:
        return ""
    parts = []
    for k, v in params.items():
        if k.startswith("_"):  # a forward cache kept for the derivative rule, not a setting
            continue
        if isinstance(v, np.ndarray):
            v = f"array{shape_text(v.shape)}"
        s = f"{k}={v}"
        parts.append(s if len(s) <= limit else s[: limit - 1] + "…")
    return ", ".join(parts)


def tooltip(a: np.ndarray | None, limit: int = 400) -> str:
    """The fuller printout shown when the mouse rests on a node (SVG/HTML viewers)."""
    if a is None:
        return ""
    with np.printoptions(precision=6, threshold=limit, edgeitems=4, linewidth=80):
        return np.array2string(np.asarray(a), separator=", ")

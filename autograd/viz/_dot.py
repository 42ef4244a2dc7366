"""DOT for a ``Graph``: record-like tensor boxes, small op ellipses, clusters, a legend.

Imported only when a picture is made, so ``import autograd`` never needs graphviz.
Labels are graphviz HTML tables (the modern form of ``shape=record``), which allows a red
gradient cell, a monospace value cell and a grey "not computed yet" bar.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import graphviz
import numpy as np

from safeio import atomic_write as write_atomic

from . import _format as fmt
from ._collapse import inside
from ._files import INSTALL_HINT, GraphvizNotFoundError
from ._graph import INPUT, INTERMEDIATE, LEAF, OUTPUT, PARAMETER, Graph, Vertex

FILL = {
    PARAMETER: "#b7e4c7",
    LEAF: "#a9d6f5",
    INPUT: "#e9ecef",
    OUTPUT: "#ffd6a5",
    INTERMEDIATE: "#ffffff",
}
KIND_TEXT = {
    PARAMETER: "parameter (named, trained)",
    LEAF: "leaf tensor that requires grad",
    INPUT: "input / data (no grad)",
    OUTPUT: "output (backward starts here)",
    INTERMEDIATE: "intermediate result",
}
OP_FILL, OP_DONE, OP_NOW = "#e9e3f7", "#f8c8cf", "#ff6b81"
MODULE_FILL, OMITTED_FILL = "#fdf0d5", "#f1f1f1"
RED, PARTIAL, PENDING, MUTED = "#c1121f", "#e36414", "#dddddd", "#666666"
FONT, MONO = "Helvetica,Arial,sans-serif", "DejaVu Sans Mono,Menlo,Consolas,monospace"
NBSP = "\u00a0"


@dataclass
class FrameState:
    """What one frame of ``backprop_frames`` adds to the static picture.

    ``grads``: vertex key -> gradient accumulated so far; ``complete``: keys whose gradient
    is final; ``done``: op keys already processed; ``current``: the op of this step;
    ``active``: (src, dst) edges that carried gradient in this step; ``pad``: key ->
    (lines, columns) every frame reserves for the gradient text, so the layout does not
    move between frames.
    """

    step: int
    grads: dict[str, np.ndarray]
    complete: set[str]
    done: set[str]
    current: str
    active: set[tuple[str, str]]
    pad: dict[str, tuple[int, int]] = field(default_factory=dict)
    caption: str = ""


class GraphPicture(graphviz.Digraph):
    """A ``graphviz.Digraph`` that shows inline in Jupyter, saves atomically, and says in
    one line how to install Graphviz when ``dot`` is missing. ``.source`` is the DOT text;
    ``.summary`` says what was collapsed or left out."""

    summary: str = ""
    order_kind: str | None = None

    def pipe(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().pipe(*args, **kwargs)
        except graphviz.ExecutableNotFound as e:
            raise GraphvizNotFoundError() from e

    def render(self, *args: Any, **kwargs: Any) -> str:
        try:
            return super().render(*args, **kwargs)
        except graphviz.ExecutableNotFound as e:
            raise GraphvizNotFoundError() from e

    def save(self, path: str | Path, format: str | None = None) -> Path:
        """Write the picture to ``path``; the format comes from the suffix (``.svg``,
        ``.png``, ``.pdf``; ``.dot``/``.gv`` write the DOT source, no ``dot`` needed)."""
        path = Path(path)
        fmt_ = (format or path.suffix.lstrip(".") or "svg").lower()
        data = self.source if fmt_ in ("dot", "gv") else self.pipe(format=fmt_)
        return write_atomic(path, data)

    def svg(self) -> str:
        """The rendered SVG as text."""
        return self.pipe(format="svg", encoding="utf-8")

    def _repr_svg_(self) -> str:
        return self.svg()

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None,
                          **kwargs: Any) -> dict:
        try:
            return super()._repr_mimebundle_(include, exclude, **kwargs)
        except GraphvizNotFoundError:
            return {"text/plain": INSTALL_HINT + "\n\n" + self.source}


def _e(s: Any) -> str:
    return html.escape(str(s), quote=True)


def _mono(lines: list[str], color: str, pad: tuple[int, int] | None = None) -> str:
    if pad is not None:
        nlines, width = pad
        lines = [line.ljust(width) for line in lines] + [" " * width] * (nlines - len(lines))
    body = '<BR ALIGN="LEFT"/>'.join(_e(line).replace(" ", NBSP) for line in lines)
    return f'<FONT FACE="{MONO}" COLOR="{color}">{body}</FONT>'


def _small(text: str, color: str = MUTED) -> str:
    return f'<FONT POINT-SIZE="8" COLOR="{color}">{_e(text)}</FONT>'


def _grad_cell(v: Vertex, graph: Graph, max_values: int, state: FrameState | None) -> str:
    head = _small("grad", RED)
    if state is not None:
        g = state.grads.get(v.key)
        pad = state.pad.get(v.key)
        if g is None:
            return (f'<TD ALIGN="LEFT" BALIGN="LEFT" BGCOLOR="{PENDING}">{head}<BR/>'
                    f'{_mono(["·"], PENDING, pad)}</TD>')
        color = RED if v.key in state.complete else PARTIAL
        return (f'<TD ALIGN="LEFT" BALIGN="LEFT">{head}<BR/>'
                f'{_mono(fmt.array_lines(g, max_values), color, pad)}</TD>')
    if v.grad is not None:
        body = _mono(fmt.array_lines(v.grad, max_values), RED)
    else:
        body = _small(v.grad_note or "— (run backward)", MUTED)
    return f'<TD ALIGN="LEFT" BALIGN="LEFT">{head}<BR/>{body}</TD>'


def tensor_label(v: Vertex, graph: Graph, max_values: int, show_shape: bool,
                 state: FrameState | None) -> str:
    cells = []
    if v.name:
        cells.append(f"<TD><B>{_e(v.name)}</B></TD>")
    if show_shape:
        dtype = "" if v.dtype is None else str(np.dtype(v.dtype))
        cells.append(f'<TD>{_small(fmt.shape_text(v.shape))}<BR/>{_small(dtype)}</TD>')
    if v.value is not None:
        value = _mono(fmt.array_lines(v.value, max_values), "#000000")
    else:
        value = _small("freed by backward")
    cells.append(f'<TD ALIGN="LEFT" BALIGN="LEFT">{_small("value")}<BR/>{value}</TD>')
    if v.kind != INPUT:
        cells.append(_grad_cell(v, graph, max_values, state))
    return ('<<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0" CELLPADDING="3" '
            f'COLOR="#555555" BGCOLOR="{FILL[v.kind]}"><TR>{"".join(cells)}</TR></TABLE>>')


def op_label(v: Vertex) -> str:
    parts = [f"<B>{_e(v.label)}</B>"]
    params = fmt.param_text(v.node.params)
    if params:
        parts.append(_small(params))
    if v.order is not None:
        parts.append(f'<FONT POINT-SIZE="9" COLOR="{RED}">step {v.order + 1}</FONT>')
    return "<" + "<BR/>".join(parts) + ">"


def module_label(v: Vertex, state: FrameState | None) -> str:
    """A collapsed scope: its ops, its parameters with the norm of their gradient (in a
    frame: as accumulated so far, in a fixed-width slot so the layout stays put)."""
    ops = [m for m in v.members if m.role == "op"]
    lines = [f"<B>{_e(v.label)}</B>"]
    names = sorted({m.label for m in ops})
    lines.append(_small(f"{len(ops)} op{'s' * (len(ops) != 1)}: " + " ".join(names)))
    for m in v.members:
        if m.role == "tensor" and m.node is None:
            name = m.name or m.kind
            if name.startswith(v.label + "."):
                name = name[len(v.label) + 1:]
            line = _small(f"{name} {fmt.shape_text(m.shape)}", "#1b4332")
            g = m.grad if state is None else state.grads.get(m.key)
            if g is not None or state is not None:
                norm = "·" if g is None else fmt.number(np.linalg.norm(g))
                color = RED if state is None or m.key in state.complete else PARTIAL
                line += " " + _small("|grad|", RED) + " " + _mono([norm], color, (1, 10))
            lines.append(line)
    steps = sorted(m.order for m in ops if m.order is not None)
    if steps:
        span = (f"step {steps[0] + 1}" if steps[0] == steps[-1]
                else f"steps {steps[0] + 1}–{steps[-1] + 1}")
        lines.append(f'<FONT POINT-SIZE="9" COLOR="{RED}">{span}</FONT>')
    return "<" + "<BR/>".join(lines) + ">"


def legend_label(graph: Graph, show_shape: bool, frames: bool) -> str:
    """A compact grid of swatches, only for what this picture contains."""
    entries: list[tuple[str, str]] = []  # (swatch cell attributes or text, explanation)
    kinds = {v.kind for v in graph.vertices if v.role == "tensor"}
    kinds |= {m.kind for v in graph.vertices for m in v.members if m.role == "tensor"}
    entries += [(f'BGCOLOR="{FILL[k]}"', KIND_TEXT[k])
                for k in (PARAMETER, LEAF, INPUT, OUTPUT, INTERMEDIATE) if k in kinds]
    if graph.ops():
        when = {"actual": " (as the last backward() ran)",
                "planned": " (the order backward() will use)"}.get(graph.order_kind or "", "")
        entries.append((f'BGCOLOR="{OP_FILL}"', f"op; step n = backward step n{when}"))
    if any(v.role == "module" for v in graph.vertices):
        entries.append((f'BGCOLOR="{MODULE_FILL}"', "a collapsed module (scope) of ops"))
    if frames:
        entries += [(f'BGCOLOR="{OP_NOW}"', "op processed in this step"),
                    (f'BGCOLOR="{OP_DONE}"', "op already processed"),
                    (f'BGCOLOR="{PENDING}"', "gradient not computed yet")]
    rows = ['<TR><TD COLSPAN="6" ALIGN="LEFT"><B>legend</B>   ' + _small(
        "box: " + ("name | shape dtype | value | grad" if show_shape else
                   "name | value | grad (every tensor here is a float64 scalar)")) + "</TD></TR>"]
    per_row = 3
    for i in range(0, len(entries), per_row):
        cells = "".join(f'<TD BORDER="1" {sw} FIXEDSIZE="TRUE" WIDTH="16" HEIGHT="11"></TD>'
                        f'<TD ALIGN="LEFT">{_e(text)}</TD>' for sw, text in entries[i:i + per_row])
        rows.append(f"<TR>{cells}</TR>")
    notes = [f'<FONT COLOR="{RED}">grad</FONT> in red: the gradient d output / d this tensor']
    if frames:
        notes.append(f'<FONT COLOR="{PARTIAL}">orange</FONT>: partial, more paths still to add')
    if any(e.derivative is not None for e in graph.edges):
        notes.append(f'<FONT COLOR="{RED}">×d</FONT> on an edge: local derivative d out / d in; '
                     "chain rule: grad(in) += grad(out) × d")
    rows += [f'<TR><TD COLSPAN="6" ALIGN="LEFT">{n}</TD></TR>' for n in notes]
    return ('<FONT POINT-SIZE="9"><TABLE ALIGN="LEFT" BORDER="1" COLOR="#999999" CELLBORDER="0" '
            f'CELLSPACING="3" CELLPADDING="1">{"".join(rows)}</TABLE></FONT>')


def summary_text(graph: Graph) -> str:
    parts = []
    if graph.collapsed:
        boxes = [f"{s} ({n} op{'s' * (n != 1)}{', automatically' if auto else ''})"
                 for s, n, auto in graph.collapsed]
        parts.append("collapsed to one box each: " + "; ".join(boxes))
    if graph.omitted:
        parts.append(graph.omitted)
    return ". ".join(parts)


def render(graph: Graph, *, title: str, max_values: int, show_shape: bool | None,
           legend: bool, state: FrameState | None = None) -> GraphPicture:
    if show_shape is None:
        show_shape = not (graph.scalar and all(
            v.dtype is None or np.dtype(v.dtype) == np.float64
            for v in graph.vertices if v.role == "tensor"))
    dot = GraphPicture(name="cygrad", format="svg")
    dot.graph_attr.update(rankdir="LR", fontname=FONT, fontsize="12", nodesep="0.25",
                          ranksep="0.35", labelloc="t", labeljust="l", newrank="true")
    dot.node_attr.update(fontname=FONT, fontsize="10")
    dot.edge_attr.update(fontname=FONT, fontsize="9", color="#777777", arrowsize="0.6")
    summary = summary_text(graph)
    lines = [f"<B>{_e(title)}</B>"]
    if state is not None and state.caption:
        lines.append(f'<FONT COLOR="{RED}">{_e(state.caption)}</FONT>')
    lines += [_e(t) for t in [summary] * bool(summary) + graph.notes]
    # Title, notes and legend form the graph's own label: a header that takes no column
    # of the layout, so the first ops stay at the left edge.
    header = "".join(f'<TR><TD ALIGN="LEFT">{t}</TD></TR>' for t in lines)
    if legend:
        header += (f'<TR><TD ALIGN="LEFT">{legend_label(graph, show_shape, state is not None)}'
                   "</TD></TR>")
    dot.attr(label=f'<<TABLE BORDER="0" CELLPADDING="1" CELLSPACING="2">{header}</TABLE>>')
    dot.summary = summary
    dot.order_kind = graph.order_kind

    by_scope: dict[str | None, list[Vertex]] = {}
    for v in graph.vertices:
        by_scope.setdefault(v.scope, []).append(v)
    clusters = sorted(s for s in by_scope if s)
    tree = _scope_tree(clusters)
    for v in by_scope.get(None, []):
        _node(dot, v, graph, max_values, show_shape, state)
    _clusters(dot, tree, None, by_scope, graph, max_values, show_shape, state)
    for e in graph.edges:
        attrs: dict[str, str] = {}
        if e.derivative is not None:
            d = fmt.number(e.derivative)
            attrs.update(label=f"×({d})" if d.startswith("-") else f"×{d}", fontcolor=RED)
        if state is not None and (e.src.key, e.dst.key) in state.active:
            attrs.update(color=RED, penwidth="2")
        dot.edge(e.src.key, e.dst.key, **attrs)
    return dot


def _scope_tree(scopes: list[str]) -> dict[str | None, list[str]]:
    """Children of each scope (``None`` is the top), with every dotted prefix present."""
    full = set()
    for s in scopes:
        parts = s.split(".")
        full.update(".".join(parts[: k + 1]) for k in range(len(parts)))
    tree: dict[str | None, list[str]] = {}
    for s in sorted(full):
        parent = next((p for p in sorted(full, key=len, reverse=True)
                       if p != s and inside(s, p)), None)
        tree.setdefault(parent, []).append(s)
    return tree


def _clusters(dot: Any, tree: dict, parent: str | None, by_scope: dict, graph: Graph,
              max_values: int, show_shape: bool, state: FrameState | None) -> None:
    # Recursion over the scope tree (nesting depth of nn modules), not over the graph.
    for scope in tree.get(parent, []):
        with dot.subgraph(name=f"cluster_{scope}") as c:
            c.attr(label=scope, style="rounded,dashed", color="#888888", fontcolor="#444444",
                   fontsize="11")
            for v in by_scope.get(scope, []):
                _node(c, v, graph, max_values, show_shape, state)
            _clusters(c, tree, scope, by_scope, graph, max_values, show_shape, state)


def _node(dot: Any, v: Vertex, graph: Graph, max_values: int, show_shape: bool,
          state: FrameState | None) -> None:
    if v.role == "tensor":
        dot.node(v.key, tensor_label(v, graph, max_values, show_shape, state), shape="plain",
                 tooltip=fmt.tooltip(v.value) or "value freed by backward")
    elif v.role == "op":
        fill = OP_FILL
        if state is not None:
            fill = OP_NOW if v.key == state.current else OP_DONE if v.key in state.done else fill
        dot.node(v.key, op_label(v), shape="ellipse", style="filled", fillcolor=fill,
                 margin="0.04,0.02", height="0.3")
    elif v.role == "constant":
        dot.node(v.key, " ".join(fmt.array_lines(v.value, 8)), shape="plaintext",
                 fontsize="9", fontcolor=MUTED)
    elif v.role == "module":
        fill = MODULE_FILL
        if state is not None:
            fill = OP_NOW if v.key == state.current else OP_DONE if v.key in state.done else fill
        dot.node(v.key, module_label(v, state), shape="box3d", style="filled",
                 margin="0.12,0.08", fillcolor=fill)
    else:
        dot.node(v.key, f"… {v.label}\n(raise max_nodes to see them)", shape="note",
                 style="filled", fillcolor=OMITTED_FILL, fontcolor=MUTED)

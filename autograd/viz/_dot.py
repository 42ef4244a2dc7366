"""DOT for a ``Graph``: record-like tensor boxes, small op ellipses, clusters, a legend.

Imported only when a picture is made, so ``import autograd`` never needs graphviz.
Labels are graphviz HTML tables (the modern form of ``shape=record``), which allows a red
gradient cell, a monospace value cell and a grey "not computed yet" bar.
"""

from __future__ import annotations

import html
import re
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
KIND_SHORT = {
    PARAMETER: "parameter",
    LEAF: "leaf, requires grad",
    INPUT: "input (no grad)",
    OUTPUT: "output",
    INTERMEDIATE: "intermediate",
}
STYLES = ("screen", "slide")


@dataclass(frozen=True)
class Style:
    """How a picture is dressed: ``"screen"`` (default) or ``"slide"`` (fonts 1.5x, a
    compact legend, PNGs at 200 dpi for a projector), laid out left to right or, with
    ``vertical``, top to bottom (tall slides, narrow notebook columns)."""

    name: str = "screen"
    vertical: bool = False

    @property
    def scale(self) -> float:
        return 1.5 if self.name == "slide" else 1.0

    @property
    def compact(self) -> bool:
        return self.name == "slide"

    @property
    def dpi(self) -> int | None:
        return 200 if self.name == "slide" else None

    def pt(self, size: float) -> str:
        """A point size of the screen style, scaled for this one."""
        return f"{size * self.scale:g}"


SCREEN = Style()


def make_style(style: str, layout: str, who: str) -> Style:
    """``Style`` from the user's ``style=`` and ``layout=`` words, or a clear error."""
    if style not in STYLES:
        raise ValueError(f"{who}: style={style!r} is not one of {STYLES}; 'slide' enlarges "
                         "the fonts and compacts the legend for a projector")
    if layout not in ("horizontal", "vertical"):
        raise ValueError(f"{who}: layout={layout!r}; use 'horizontal' (left to right, the "
                         "default) or 'vertical' (top to bottom)")
    return Style(style, layout == "vertical")


def _spaced(label: str) -> str:
    """Graphviz writes each font run of a label as its own SVG text element, and browsers
    drop a text element's leading and trailing spaces ("grad in red" shows as "gradin
    red"): spaces at a run's edge become no-break spaces, which browsers keep."""
    label = re.sub(r"(</(?:FONT|B)>) ", "\\1" + NBSP, label)
    return re.sub(r" (<(?:FONT|B)\b)", NBSP + "\\1", label)


@dataclass
class FrameState:
    """What one frame of ``backprop_frames`` adds to the static picture.

    ``grads``: vertex key -> gradient accumulated so far; ``complete``: keys whose gradient
    is final; ``done``: op keys already processed; ``current``: the op of this step (None
    in step 0, before any);
    ``active``: (src, dst) edges that carried gradient in this step; ``pad``: key ->
    (lines, columns) every frame reserves for the gradient text, so the layout does not
    move between frames.
    """

    step: int
    grads: dict[str, np.ndarray]
    complete: set[str]
    done: set[str]
    current: str | None
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


def _small(text: str, color: str = MUTED, style: Style = SCREEN) -> str:
    return f'<FONT POINT-SIZE="{style.pt(8)}" COLOR="{color}">{_e(text)}</FONT>'


def _grad_cell(v: Vertex, graph: Graph, max_values: int, state: FrameState | None,
               style: Style) -> str:
    head = _small("grad", RED, style)
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
        body = _small(v.grad_note or "— (run backward)", MUTED, style)
    return f'<TD ALIGN="LEFT" BALIGN="LEFT">{head}<BR/>{body}</TD>'


def tensor_label(v: Vertex, graph: Graph, max_values: int, show_shape: bool,
                 state: FrameState | None, style: Style = SCREEN) -> str:
    cells = []
    if v.name:
        cells.append(f"<TD><B>{_e(v.name)}</B></TD>")
    if show_shape:
        dtype = "" if v.dtype is None else str(np.dtype(v.dtype))
        cells.append(f'<TD>{_small(fmt.shape_text(v.shape), MUTED, style)}<BR/>'
                     f'{_small(dtype, MUTED, style)}</TD>')
    if v.value is not None:
        value = _mono(fmt.array_lines(v.value, max_values), "#000000")
    else:
        value = _small("freed by backward", MUTED, style)
    cells.append(f'<TD ALIGN="LEFT" BALIGN="LEFT">{_small("value", MUTED, style)}<BR/>'
                 f'{value}</TD>')
    if v.kind != INPUT:
        cells.append(_grad_cell(v, graph, max_values, state, style))
    return ('<<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0" CELLPADDING="3" '
            f'COLOR="#555555" BGCOLOR="{FILL[v.kind]}"><TR>{"".join(cells)}</TR></TABLE>>')


def op_label(v: Vertex, style: Style = SCREEN) -> str:
    parts = [f"<B>{_e(v.label)}</B>"]
    params = fmt.param_text(v.node.params)
    if params:
        parts.append(_small(params, MUTED, style))
    if v.order is not None:
        parts.append(f'<FONT POINT-SIZE="{style.pt(9)}" COLOR="{RED}">'
                     f"step {v.order + 1}</FONT>")
    return "<" + "<BR/>".join(parts) + ">"


def module_label(v: Vertex, state: FrameState | None, style: Style = SCREEN) -> str:
    """A collapsed scope: its ops, its parameters with the norm of their gradient (in a
    frame: as accumulated so far, in a fixed-width slot so the layout stays put)."""
    ops = [m for m in v.members if m.role == "op"]
    lines = [f"<B>{_e(v.label)}</B>"]
    names = sorted({m.label for m in ops})
    lines.append(_small(f"{len(ops)} op{'s' * (len(ops) != 1)}: " + " ".join(names), MUTED,
                        style))
    for m in v.members:
        if m.role == "tensor" and m.node is None:
            name = m.name or m.kind
            if name.startswith(v.label + "."):
                name = name[len(v.label) + 1:]
            line = _small(f"{name} {fmt.shape_text(m.shape)}", "#1b4332", style)
            g = m.grad if state is None else state.grads.get(m.key)
            if g is not None or state is not None:
                norm = "·" if g is None else fmt.number(np.linalg.norm(g))
                color = RED if state is None or m.key in state.complete else PARTIAL
                line += (" " + _small("|grad|", RED, style) + " "
                         + _mono([norm], color, (1, 10)))
            lines.append(line)
    steps = sorted(m.order for m in ops if m.order is not None)
    if steps:
        span = (f"step {steps[0] + 1}" if steps[0] == steps[-1]
                else f"steps {steps[0] + 1}–{steps[-1] + 1}")
        lines.append(f'<FONT POINT-SIZE="{style.pt(9)}" COLOR="{RED}">{span}</FONT>')
    return "<" + _spaced("<BR/>".join(lines)) + ">"


def legend_label(graph: Graph, show_shape: bool, frames: bool, style: Style = SCREEN) -> str:
    """A grid of swatches, only for what this picture contains (compact on slides)."""
    entries: list[tuple[str, str]] = []  # (swatch cell attributes, explanation)
    kinds = {v.kind for v in graph.vertices if v.role == "tensor"}
    kinds |= {m.kind for v in graph.vertices for m in v.members if m.role == "tensor"}
    texts = KIND_SHORT if style.compact else KIND_TEXT
    entries += [(f'BGCOLOR="{FILL[k]}"', texts[k])
                for k in (PARAMETER, LEAF, INPUT, OUTPUT, INTERMEDIATE) if k in kinds]
    if graph.ops():
        when = {"actual": " (as the last backward() ran)",
                "planned": " (the order backward() will use)"}.get(graph.order_kind or "", "")
        entries.append((f'BGCOLOR="{OP_FILL}"', "op, backward step n" if style.compact
                        else f"op; step n = backward step n{when}"))
    modules = any(v.role == "module" for v in graph.vertices)
    if modules:
        entries.append((f'BGCOLOR="{MODULE_FILL}"', "layer (collapsed)" if style.compact
                        else "a collapsed module (scope) of ops"))
    if frames:
        compact = ("this step", "done", "grad not yet computed")
        full = ("op processed in this step", "op already processed",
                "gradient not computed yet")
        entries += [(f'BGCOLOR="{fill}"', text) for fill, text in
                    zip((OP_NOW, OP_DONE, PENDING), compact if style.compact else full)]
    derivatives = any(e.derivative is not None for e in graph.edges)
    per_row = 4 if style.compact else 3
    rows = []
    if not style.compact:
        rows.append(f'<TR><TD COLSPAN="{2 * per_row}" ALIGN="LEFT"><B>legend</B>   ' + _small(
            "box: " + ("name | shape dtype | value | grad" if show_shape else
                       "name | value | grad (every tensor here is a float64 scalar)"),
            MUTED, style) + "</TD></TR>")
    for i in range(0, len(entries), per_row):
        cells = "".join(f'<TD BORDER="1" {sw} FIXEDSIZE="TRUE" WIDTH="{style.pt(16)}" '
                        f'HEIGHT="{style.pt(11)}"></TD><TD ALIGN="LEFT">{_e(text)}</TD>'
                        for sw, text in entries[i:i + per_row])
        rows.append(f"<TR>{cells}</TR>")
    red = f'<FONT COLOR="{RED}">'
    if style.compact:
        notes = [f"{red}grad</FONT> = d output / d tensor"
                 + f', <FONT COLOR="{PARTIAL}">orange</FONT> = partial' * frames
                 + f" · {red}×d</FONT> = local derivative" * derivatives
                 + f" · {red}|grad|</FONT> = norm" * modules]
    else:
        notes = [f"{red}grad</FONT> in red: the gradient d output / d this tensor"]
        if frames:
            notes.append(f'<FONT COLOR="{PARTIAL}">orange</FONT>: partial, more paths still '
                         "to add")
        if derivatives:
            notes.append(f"{red}×d</FONT> on an edge: local derivative d out / d in; chain "
                         "rule: grad(in) += grad(out) × d")
        if modules:
            notes.append(f"{red}|grad|</FONT> in a collapsed layer: the norm, sqrt of the sum "
                         "of squares, of a parameter's whole gradient (not one value)")
    rows += [f'<TR><TD COLSPAN="{2 * per_row}" ALIGN="LEFT">{n}</TD></TR>' for n in notes]
    return (f'<FONT POINT-SIZE="{style.pt(9)}"><TABLE ALIGN="LEFT" BORDER="1" '
            'COLOR="#999999" CELLBORDER="0" CELLSPACING="3" CELLPADDING="1">'
            f'{_spaced("".join(rows))}</TABLE></FONT>')


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
           legend: bool, state: FrameState | None = None,
           style: Style = SCREEN) -> GraphPicture:
    if show_shape is None:
        show_shape = not (graph.scalar and all(
            v.dtype is None or np.dtype(v.dtype) == np.float64
            for v in graph.vertices if v.role == "tensor"))
    dot = GraphPicture(name="cygrad", format="svg")
    dot.graph_attr.update(rankdir="TB" if style.vertical else "LR", fontname=FONT,
                          fontsize=style.pt(12), nodesep="0.25", ranksep="0.35",
                          labelloc="t", labeljust="l", newrank="true")
    if style.dpi:
        dot.graph_attr["dpi"] = str(style.dpi)  # read by bitmap formats (PNG)
    dot.node_attr.update(fontname=FONT, fontsize=style.pt(10))
    dot.edge_attr.update(fontname=FONT, fontsize=style.pt(9), color="#777777",
                         arrowsize=f"{0.6 * style.scale:g}")
    summary = summary_text(graph)
    lines = [f"<B>{_e(title)}</B>"]
    if state is not None and state.caption:
        lines.append(f'<FONT COLOR="{RED}">{_e(state.caption)}</FONT>')
    lines += [_e(t) for t in [summary] * bool(summary) + graph.notes]
    # Title, notes and legend form the graph's own label: a header that takes no column
    # of the layout, so the first ops stay at the left edge.
    header = "".join(f'<TR><TD ALIGN="LEFT">{t}</TD></TR>' for t in lines)
    if legend:
        key = legend_label(graph, show_shape, state is not None, style)
        header += f'<TR><TD ALIGN="LEFT">{key}</TD></TR>'
    dot.attr(label=f'<<TABLE BORDER="0" CELLPADDING="1" CELLSPACING="2">{header}</TABLE>>')
    dot.summary = summary
    dot.order_kind = graph.order_kind

    by_scope: dict[str | None, list[Vertex]] = {}
    for v in graph.vertices:
        by_scope.setdefault(v.scope, []).append(v)
    clusters = sorted(s for s in by_scope if s)
    tree = _scope_tree(clusters)
    for v in by_scope.get(None, []):
        _node(dot, v, graph, max_values, show_shape, state, style)
    _clusters(dot, tree, None, by_scope, graph, max_values, show_shape, state, style)
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
              max_values: int, show_shape: bool, state: FrameState | None,
              style: Style) -> None:
    # Recursion over the scope tree (nesting depth of nn modules), not over the graph.
    for scope in tree.get(parent, []):
        with dot.subgraph(name=f"cluster_{scope}") as c:
            c.attr(label=scope, style="rounded,dashed", color="#888888", fontcolor="#444444",
                   fontsize=style.pt(11))
            for v in by_scope.get(scope, []):
                _node(c, v, graph, max_values, show_shape, state, style)
            _clusters(c, tree, scope, by_scope, graph, max_values, show_shape, state, style)


def _node(dot: Any, v: Vertex, graph: Graph, max_values: int, show_shape: bool,
          state: FrameState | None, style: Style) -> None:
    if v.role == "tensor":
        dot.node(v.key, tensor_label(v, graph, max_values, show_shape, state, style),
                 shape="plain",
                 tooltip=fmt.tooltip(v.value) or "value freed by backward")
    elif v.role == "op":
        fill = OP_FILL
        if state is not None:
            fill = OP_NOW if v.key == state.current else OP_DONE if v.key in state.done else fill
        dot.node(v.key, op_label(v, style), shape="ellipse", style="filled", fillcolor=fill,
                 margin="0.04,0.02", height="0.3")
    elif v.role == "constant":
        dot.node(v.key, " ".join(fmt.array_lines(v.value, 8)), shape="plaintext",
                 fontsize=style.pt(9), fontcolor=MUTED)
    elif v.role == "module":
        fill = MODULE_FILL
        if state is not None:
            fill = OP_NOW if v.key == state.current else OP_DONE if v.key in state.done else fill
        dot.node(v.key, module_label(v, state, style), shape="box3d", style="filled",
                 margin="0.12,0.08", fillcolor=fill)
    else:
        dot.node(v.key, f"… {v.label}\n(raise max_nodes to see them)", shape="note",
                 style="filled", fillcolor=OMITTED_FILL, fontcolor=MUTED)

"""The backward pass as a sequence of pictures, and the HTML page that steps through them.

The pass is the engine's own: its walk runs on the live graph (keeping it) with an
observer that records every step, the gradient each node received and what it sent to
each input, so the frames show exactly what ``backward()`` computes, in its order. The
gradients are returned to the replay, never written to the user's tensors or ``.grad``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from safeio import atomic_write as write_atomic

from .. import engine
from ..tensor import Node, Tensor
from . import _collapse, _widget
from . import _format as fmt
from ._dot import FrameState, GraphPicture, make_style, render
from ._graph import Graph, add_local_derivatives, build, named_tensors

_FREED = ("backprop_frames(): the graph of this tensor was already freed by backward(); "
          "build it again (run the forward pass) or call backward(retain_graph=True) first")


def _seed(loss: Tensor, gradient: Any) -> np.ndarray:
    if gradient is None:
        if loss.size != 1:
            raise ValueError(
                f"backprop_frames(): loss has shape {loss.shape}, not a single value; pass "
                f"gradient= (an array of shape {loss.shape}) or reduce it first (.sum())")
        return np.ones_like(loss.data)
    g = np.asarray(gradient.data if isinstance(gradient, Tensor) else gradient,
                   dtype=loss.dtype)
    if g.shape != loss.shape:
        raise ValueError(f"backprop_frames(): gradient has shape {g.shape} but loss has "
                         f"shape {loss.shape}; they must match")
    return g


def replay(loss: Tensor, seed: np.ndarray, graph: Graph) -> list[FrameState]:
    """One ``FrameState`` per backward step, keyed by the vertices of ``graph``, after a
    step 0 in which nothing is computed yet."""
    out_key = {id(v.node): v.key for v in graph.vertices if v.role == "tensor" and v.node}
    op_key = {id(v.node): v.key for v in graph.vertices if v.role == "op"}
    leaf_key = {id(v.tensor): v.key for v in graph.vertices
                if v.role == "tensor" and v.node is None}
    names = {v.key: v.name for v in graph.vertices if v.role == "tensor" and v.name}
    labels = {v.key: v.label for v in graph.vertices if v.role == "op"}
    consumers = Counter(e.src.key for e in graph.edges if e.dst.role == "op")
    steps: list[tuple[Node, np.ndarray, list]] = []

    def watch(run: int, step: int, node: Node, g: Any, sent: list) -> None:
        steps.append((node, np.array(g), [(i, t, np.array(gi))
                                          for i, (t, gi) in zip(_needs(node), sent)]))

    engine._run([loss], [seed], retain_graph=True, create_graph=False, observers=[watch])
    step_of = {id(node): k for k, (node, _, _) in enumerate(steps)}

    def who(key: str, target: Any) -> str:
        """How a caption names a tensor: its name, else the op box that made it."""
        if key in names:
            return names[key]
        if type(target) is Node:
            return f"[{labels[op_key[id(target)]]} step {step_of[id(target)] + 1}]"
        return "a leaf"

    out_name = names.get(out_key[id(loss.grad_fn)])
    start = f"the gradient {_brief(seed)}"
    if out_name and seed.size == 1 and seed.reshape(()) == 1:
        start += f" (d{out_name}/d{out_name})"
    states = [FrameState(-1, {}, set(), set(), None, set(), caption=(
        f"step 0 of {len(steps)}: nothing computed yet. backward() starts at the output"
        f"{' ' + out_name if out_name else ''} with {start}, then runs the ops in their "
        "numbered order"))]
    grads: dict[str, np.ndarray] = {}
    complete: set[str] = set()
    done: set[str] = set()
    for k, (node, g, sent) in enumerate(steps):
        here, out = op_key[id(node)], out_key[id(node)]
        grads[out] = g
        complete.add(out)  # every consumer of this output ran in an earlier step
        active = {(here, out)}
        local = _local_derivatives(node, g)
        sums = []
        for i, target, gi in sent:
            src = out_key[id(target)] if type(target) is Node else leaf_key[id(target)]
            before = grads.get(src)
            grads[src] = gi if before is None else before + gi
            active.add((src, here))
            consumers[src] -= 1
            if consumers[src] == 0:
                complete.add(src)
            sums.append(_arithmetic(who(src, target), g, local.get(i), gi, before,
                                    grads[src]))
        done.add(here)
        caption = (f"step {k + 1} of {len(steps)}: '{labels[here]}' receives "
                   f"{_grad_of(who(out, node), g)}; " + "; ".join(sums))
        states.append(FrameState(k, dict(grads), set(complete), set(done), here, active,
                                 caption=caption))
    return states


def _needs(node: Node) -> tuple[int, ...]:
    """The inputs that get a gradient, in the order the engine's step sends them."""
    return (node.needs,) if type(node.needs) is int else tuple(node.needs)


def _local_derivatives(node: Node, g: np.ndarray) -> dict[int, np.ndarray]:
    """d out / d input for the inputs that get a gradient, when the output is a scalar:
    the engine's step with the output's gradient set to 1 (the graph is still alive)."""
    if g.size != 1:
        return {}
    with np.errstate(all="ignore"):
        sent = engine.input_grads(node, np.ones_like(g))
    return {i: np.asarray(gi) for i, (_, gi) in zip(_needs(node), sent)}


def _grad_of(name: str, g: np.ndarray) -> str:
    return f"{name}.grad = {_brief(g)}"


def _arithmetic(name: str, g: np.ndarray, d: np.ndarray | None, gi: np.ndarray,
                before: np.ndarray | None, total: np.ndarray) -> str:
    """One input's share of a step, as arithmetic when every number is a scalar:
    ``w1.grad += 0.5 × 2 = 1`` (and the running total when the tensor already had a
    share from another path)."""
    if g.size == 1 and gi.size == 1 and d is not None and d.size == 1:
        text = f"{name}.grad += {_brief(g)} × {_paren(_brief(d))} = {_brief(gi)}"
        return text + (f", now {_brief(total)}" if before is not None else "")
    return (f"{name}.grad += grad × local derivative "
            f"(shape {fmt.shape_text(gi.shape)})" + (", adding to it" if before is not None
                                                      else ""))


def _paren(number: str) -> str:
    return f"({number})" if number.startswith("-") else number


def _brief(g: np.ndarray) -> str:
    return fmt.number(g.reshape(())) if g.size == 1 else f"(shape {fmt.shape_text(g.shape)})"


def _stable_layout(states: list[FrameState], max_values: int) -> None:
    """Give every frame the same text block size per gradient cell (monospace), so dot
    lays out every frame identically and the slider does not make boxes jump."""
    pad: dict[str, tuple[int, int]] = {}
    for s in states:
        for key, g in s.grads.items():
            lines = fmt.array_lines(g, max_values)
            n, w = pad.get(key, (1, 1))
            pad[key] = (max(n, len(lines)), max(w, *(len(x) for x in lines)))
    for s in states:
        s.pad = pad


def _onto_boxes(states: list[FrameState], graph: Graph) -> None:
    """After collapsing, a module box stands for its members: it is 'current' while one
    of its ops runs and 'done' once all of them ran."""
    boxes = [v for v in graph.vertices if v.role in ("module", "omitted")]
    where = {m.key: b.key for b in boxes for m in b.members}
    for s in states:
        for b in boxes:
            ops = [m.key for m in b.members if m.role == "op"]
            if ops and all(o in s.done for o in ops):
                s.done.add(b.key)
        s.current = where.get(s.current, s.current)
        s.active = {(where.get(a, a), where.get(b, b)) for a, b in s.active}


def make_frames(loss: Tensor, gradient: Any, draw_kwargs: dict) -> Frames:
    if loss.grad_fn is None:
        raise ValueError("backprop_frames(): loss is a leaf tensor (no op made it), so "
                         "there is no backward pass to show; pass the result of a computation")
    if loss.grad_fn.inputs is None:
        raise RuntimeError(_FREED)
    allowed = {"params", "module", "tensors", "collapse", "max_nodes", "max_values",
               "derivatives", "show_shape", "legend", "title", "style", "layout"}
    unknown = set(draw_kwargs) - allowed
    if unknown:
        raise TypeError(f"backprop_frames(): unknown keyword(s) {sorted(unknown)}; "
                        f"it takes gradient= and draw()'s {sorted(allowed)}")
    kw = dict(draw_kwargs)
    dress = make_style(kw.pop("style", "screen"), kw.pop("layout", "horizontal"),
                       "backprop_frames()")
    seed = _seed(loss, gradient)
    names, param_ids, by_node = named_tensors(kw.pop("params", None), kw.pop("module", None),
                                              kw.pop("tensors", None))
    graph = build([loss], names, param_ids, by_node)
    states = replay(loss, seed, graph)
    for v in graph.vertices:  # number the ops by the steps shown, whatever ran before
        if v.role == "op":
            v.order = next(s.step for s in states[1:] if s.current == v.key)
    graph.order_kind = "planned"
    _collapse.collapse_scopes(graph, _collapse.select(graph, kw.pop("collapse", False)))
    _collapse.limit(graph, kw.pop("max_nodes", 150))
    add_local_derivatives(graph, kw.pop("derivatives", None))
    max_values = kw.pop("max_values", 16)
    _stable_layout(states, max_values)
    _onto_boxes(states, graph)
    title = kw.pop("title", None) or "cygrad backward pass, step by step"
    pictures = [render(graph, title=title, max_values=max_values, state=s,
                       show_shape=kw.get("show_shape"), legend=kw.get("legend", True),
                       style=dress)
                for s in states]
    return Frames(pictures, [s.caption for s in states], title)


class Frames(Sequence):
    """The pictures of one backward pass (a sequence of ``GraphPicture``)."""

    def __init__(self, pictures: list[GraphPicture], captions: list[str], title: str) -> None:
        self.pictures = pictures
        self.captions = captions
        self.title = title
        self._svgs: list[str] | None = None

    def __len__(self) -> int:
        return len(self.pictures)

    def __getitem__(self, i: Any) -> Any:
        return self.pictures[i]

    def svgs(self) -> list[str]:
        """Each frame rendered to SVG text (rendered once, then reused)."""
        if self._svgs is None:
            self._svgs = [p.svg() for p in self.pictures]
        return self._svgs

    def save(self, directory: str | Path, format: str = "svg", html_page: bool = True,
             prefix: str = "step") -> list[Path]:
        """Write ``{prefix}_000.svg`` (step 0, nothing computed yet), ``{prefix}_001.svg``
        ... (or ``.png``) and ``backprop.html`` into ``directory``; returns the paths
        written, the HTML page last."""
        directory = Path(directory)
        width = max(3, len(str(len(self))))
        paths = []
        for i, pic in enumerate(self.pictures):
            path = directory / f"{prefix}_{i:0{width}d}.{format}"
            if format == "svg":
                paths.append(write_atomic(path, self.svgs()[i]))
            else:
                paths.append(pic.save(path, format))
        if html_page:
            paths.append(write_atomic(directory / "backprop.html", self.html()))
        return paths

    def html(self) -> str:
        """One self-contained page: every frame's SVG inline, a slider, buttons and arrow
        keys to step; no network access, no external scripts."""
        return _widget.page(self.svgs(), self.captions, self.title)

    def _repr_html_(self) -> str:
        """The stepper in a notebook: self-contained, so several coexist in one page;
        without scripts (an untrusted notebook) the first frame and a note."""
        return _widget.fragment(self.svgs(), self.captions, self.title)

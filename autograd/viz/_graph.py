"""The picture's model: vertices and edges read from a tensor's ``grad_fn`` Nodes.

No graphviz here; ``_dot`` turns a ``Graph`` into DOT. The walk works on both states of a
graph: *alive* (``node.inputs`` holds what the rules read: input tensors, or the producing
Node in place of an input whose value they don't need, so local derivatives can be
evaluated) and *freed* by a backward pass (then the skeleton, and the small values and
gradients, come from what ``_record`` kept while watching the engine; ``node.shape`` and
``dtype`` stay on the node). It uses an explicit stack, never recursion, so a long chain
draws.

Every op application becomes two vertices, micrograd-style: an op vertex (ellipse) and
the tensor it produced (record), so the value and gradient of every intermediate result
have a place to be shown.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..engine import input_grads, topological_order
from ..tensor import Node, Tensor
from ._record import Record, record_of

# Tensor kinds, in legend order.
PARAMETER, LEAF, INPUT, OUTPUT, INTERMEDIATE = (
    "parameter", "leaf", "input", "output", "intermediate")


@dataclass(eq=False)
class Vertex:
    """One box of the picture.

    ``role`` is ``"tensor"``, ``"op"``, ``"constant"``, ``"module"`` (a collapsed scope)
    or ``"omitted"`` (everything beyond the node limit). Tensor vertices carry ``kind``
    (one of the kinds above), ``value`` (``None`` once backward freed it) and ``grad``.
    """

    key: str
    role: str
    kind: str = ""
    name: str | None = None
    label: str = ""
    shape: tuple[int, ...] | None = None
    dtype: Any = None
    value: np.ndarray | None = None
    grad: np.ndarray | None = None
    grad_note: str = ""
    scope: str | None = None
    order: int | None = None
    node: Node | None = None
    tensor: Tensor | None = None
    members: list[Vertex] = field(default_factory=list)

    @property
    def size(self) -> int | None:
        return None if self.shape is None else math.prod(self.shape)


@dataclass(eq=False)
class Edge:
    """``src -> dst`` in forward direction. ``index``: which input of the op ``dst`` is
    (known while the graph is alive); ``derivative``: the local derivative d(dst's output)
    / d(src) for scalar graphs, the factor the chain rule multiplies by."""

    src: Vertex
    dst: Vertex
    index: int | None = None
    derivative: float | None = None


@dataclass(eq=False)
class Graph:
    vertices: list[Vertex]
    edges: list[Edge]
    roots: list[Vertex]
    order_kind: str | None  # "actual" (last backward), "planned" (before backward) or None
    scalar: bool
    notes: list[str] = field(default_factory=list)
    collapsed: list[tuple[str, int, bool]] = field(default_factory=list)  # scope, ops, auto
    omitted: str = ""

    def ops(self) -> list[Vertex]:
        return [v for v in self.vertices if v.role == "op"]


def named_tensors(params: Mapping[str, Tensor] | None, module: Any,
                  tensors: Mapping[str, Tensor] | Iterable[Tensor] | None
                  ) -> tuple[dict[int, str], set[int], dict[int, Tensor]]:
    """Names from the user: ``(id(tensor) -> name, ids of parameters, id(node) -> tensor)``.

    ``module`` is duck-typed: anything with ``named_parameters()`` (an ``nn.Module``).
    ``tensors`` may name intermediate results, whose values then stay visible after a
    backward pass freed the graph (the engine keeps no forward values on freed nodes).
    """
    names: dict[int, str] = {}
    param_ids: set[int] = set()
    by_node: dict[int, Tensor] = {}
    pairs: list[tuple[str, Any, bool]] = []
    if module is not None:
        if not hasattr(module, "named_parameters"):
            raise TypeError(
                f"draw(module=...): expected an object with named_parameters() (an "
                f"nn.Module), got {type(module).__name__}; or pass params=dict(...)"
            )
        pairs += [(n, p, True) for n, p in module.named_parameters()]
    if params is not None:
        pairs += [(n, p, True) for n, p in dict(params).items()]
    if tensors is not None:
        items = (tensors.items() if isinstance(tensors, Mapping)
                 else ((t.name if isinstance(t, Tensor) else None, t) for t in tensors))
        pairs += [(n, t, False) for n, t in items]
    for name, t, is_param in pairs:
        if not isinstance(t, Tensor):
            raise TypeError(
                f"draw(): {name!r} is a {type(t).__name__}, not an autograd Tensor; pass "
                "tensors (nn Parameters are Tensors)"
            )
        if name:
            names[id(t)] = name
        if is_param:
            param_ids.add(id(t))
        if t.grad_fn is not None:
            by_node[id(t.grad_fn)] = t
    return names, param_ids, by_node


class _Builder:
    """Walks the graph once, creating vertices with deterministic keys (walk order)."""

    def __init__(self, names: dict[int, str], param_ids: set[int],
                 by_node: dict[int, Tensor]) -> None:
        self.names = names
        self.param_ids = param_ids
        self.by_node = dict(by_node)
        self.vertices: list[Vertex] = []
        self.edges: list[Edge] = []
        self.op_of: dict[int, Vertex] = {}  # id(node) -> op vertex
        self.out_of: dict[int, Vertex] = {}  # id(node) -> vertex of the tensor it made
        self.leaf_of: dict[int, Vertex] = {}  # id(leaf tensor) -> vertex

    def _add(self, prefix: str, **kw: Any) -> Vertex:
        v = Vertex(key=f"{prefix}{len(self.vertices)}", **kw)
        self.vertices.append(v)
        return v

    def leaf(self, t: Tensor) -> Vertex:
        v = self.leaf_of.get(id(t))
        if v is None:
            kind = (PARAMETER if id(t) in self.param_ids
                    else LEAF if t.requires_grad else INPUT)
            v = self._add("leaf", role="tensor", kind=kind, name=self.names.get(id(t), t.name),
                          shape=t.shape, dtype=t.dtype, value=t.data, tensor=t,
                          grad=None if t.grad is None else t.grad.data)
            self.leaf_of[id(t)] = v
        return v

    def produced(self, node: Node) -> Vertex:
        """The op vertex of ``node`` and the vertex of its output (created together)."""
        v = self.out_of.get(id(node))
        if v is None:
            scope = _record(node).scope
            op = self._add("op", role="op", label=node.op.label, node=node, scope=scope)
            self.op_of[id(node)] = op
            v = self._add("t", role="tensor", kind=INTERMEDIATE, node=node, scope=scope)
            self.out_of[id(node)] = v
            self.edges.append(Edge(op, v))
        return v

    def fill_outputs(self) -> None:
        """Shape, value and gradient of each op's output, from the tensor while it is
        known (alive graph, the root, or named by the user), else from the freed node."""
        for key, v in self.out_of.items():
            node = v.node
            rec = _record(node)
            t = self.by_node.get(key)
            if t is None:
                t = rec.tensor
            if t is not None:
                v.tensor, v.value, v.shape, v.dtype = t, t.data, t.shape, t.dtype
                v.name = self.names.get(id(t), t.name)
            else:
                v.shape, v.dtype, v.value = node.shape, node.dtype, rec.value
            v.grad = rec.grad
            if v.grad is None and rec.step is not None:
                v.grad_note = "not kept (> 64 values)"

    def walk(self, roots: list[Tensor]) -> list[Vertex]:
        root_vs = []
        stack: list[Node] = []
        for r in roots:
            if r.grad_fn is None:
                root_vs.append(self.leaf(r))
            else:
                self.by_node[id(r.grad_fn)] = r
                root_vs.append(self.produced(r.grad_fn))
                stack.append(r.grad_fn)
        done: set[int] = set()
        while stack:
            node = stack.pop()
            if id(node) in done:
                continue
            done.add(id(node))
            op = self.op_of[id(node)]
            alive = node.inputs is not None
            for i, x in enumerate(node.inputs if alive else _record(node).parents or ()):
                if isinstance(x, Tensor) and x.grad_fn is not None:
                    self.by_node[id(x.grad_fn)] = x
                    x = x.grad_fn
                if isinstance(x, Node):
                    src = self.produced(x)
                    stack.append(x)
                elif isinstance(x, Tensor):
                    src = self.leaf(x)
                else:
                    src = self._add("const", role="constant", value=np.asarray(x),
                                    shape=np.shape(x), scope=_record(node).scope)
                self.edges.append(Edge(src, op, i))  # the skeleton keeps the inputs' order
        self.fill_outputs()
        for v in root_vs:
            v.kind = OUTPUT
        return root_vs


def build(roots: list[Tensor], names: dict[int, str], param_ids: set[int],
          by_node: dict[int, Tensor]) -> Graph:
    b = _Builder(names, param_ids, by_node)
    root_vs = b.walk(roots)
    tensors = [v for v in b.vertices if v.role == "tensor"]
    scalar = all(v.size == 1 for v in tensors)
    graph = Graph(b.vertices, b.edges, root_vs, None, scalar)
    _number_steps(graph, roots)
    _place_leaves(graph)
    if any(v.role == "tensor" and v.node is not None and v.value is None for v in tensors):
        graph.notes.append(
            "backward() freed the values of intermediate results: to see them, draw before "
            "backward, name them in tensors=[...], or use backward(retain_graph=True)")
    return graph


def producer_edges(graph: Graph) -> list[tuple[Vertex, Vertex]]:
    """(producer op, consumer op) pairs: the producer's output is an input of the consumer."""
    made_by = {e.dst.key: e.src for e in graph.edges if e.src.role == "op"}
    return [(made_by[e.src.key], e.dst) for e in graph.edges
            if e.dst.role == "op" and e.src.key in made_by]


def _number_steps(graph: Graph, roots: list[Tensor]) -> None:
    """Backward step of each op: the step the engine ran it in, if one backward pass
    covered this whole graph, else the order ``backward()`` will use (reversed
    ``topological_order``) while the graph is alive."""
    ops = graph.ops()
    if not ops:
        return
    recs = [_record(v.node) for v in ops]
    actual = {v.key: r.step for v, r in zip(ops, recs)}
    if len({r.run for r in recs}) == 1 and recs[0].run is not None:
        chosen, graph.order_kind = actual, "actual"
    elif all(v.node.inputs is not None for v in ops):
        planned = {id(n): k for k, n in
                   enumerate(reversed(topological_order([r for r in roots if r.grad_fn])))}
        chosen = {v.key: planned[id(v.node)] for v in ops}
        graph.order_kind = "planned"
    else:
        graph.notes.append("backward steps are not numbered: this graph was only partly "
                           "backpropagated and its saved values are freed")
        return
    for v in ops:
        v.order = chosen[v.key]


def _place_leaves(graph: Graph) -> None:
    """Scope of a leaf: from its parameter name (``layers.0.weight`` -> ``layers.0``) when
    that names a scope in the graph, else the scope shared by all ops that use a
    gradient-requiring leaf. Data inputs stay outside every cluster."""
    scopes = {v.scope for v in graph.vertices if v.scope}
    prefixes = {s.rsplit(".", k)[0] for s in scopes for k in range(s.count(".") + 1)}
    users: dict[str, set[str | None]] = {}
    for e in graph.edges:
        if e.src.role == "tensor" and e.src.node is None:
            users.setdefault(e.src.key, set()).add(e.dst.scope)
    for v in graph.vertices:
        if v.role != "tensor" or v.node is not None or v.kind in (INPUT, OUTPUT):
            continue
        if v.name and "." in v.name and v.name.rsplit(".", 1)[0] in prefixes:
            v.scope = v.name.rsplit(".", 1)[0]
            continue
        used_in = users.get(v.key, set())
        if len(used_in) == 1:
            v.scope = next(iter(used_in))


def _record(node: Node) -> Record:
    return record_of(node) or _NO_RECORD


_NO_RECORD = Record()


def local_derivatives(node: Node, g: np.ndarray) -> dict[int, np.ndarray]:
    """The gradient each input of ``node`` receives when its output's gradient is ``g``,
    by input index: the engine's own step (``engine.input_grads``). With ``g = 1`` on a
    scalar op it is the local derivative d out / d input, the factor the chain rule
    (lecture eqs. 17-18) multiplies in, e.g. 1 - tanh^2 for tanh (eq. 20)."""
    with np.errstate(all="ignore"):
        sent = input_grads(node, g, every=True)
    found, k = {}, 0
    for i, x in enumerate(node.inputs):  # sent follows the inputs' order, skipping some
        target = x if type(x) is Node else (x.grad_fn or x) if isinstance(x, Tensor) else x
        if k < len(sent) and sent[k][0] is target:
            found[i] = np.asarray(sent[k][1])
            k += 1
    return found


def add_local_derivatives(graph: Graph, derivatives: bool | None) -> None:
    """Label the drawn edges with local derivatives (by default for scalar graphs). Run
    after collapsing and limiting, so edges that are not drawn cost nothing.

    While the graph is alive they are evaluated (``local_derivatives``); after a backward
    pass freed it, they come from what each input received in that pass divided by the
    gradient of the op's output (``Record.derivative``). The picture says why an edge has
    none: backward computes nothing for an input that needs no gradient, and a zero
    gradient hides the factor it was multiplied by.
    """
    if not (derivatives or (derivatives is None and graph.scalar)):
        return
    out_of = {e.src.key: e.dst for e in graph.edges if e.src.role == "op"}
    found: dict[str, dict[int, np.ndarray]] = {}
    missing = {"no gradient": 0, "zero": 0}
    for e in graph.edges:
        node = e.dst.node
        if e.dst.role != "op" or e.index is None:
            continue
        out = out_of[e.dst.key]
        if out.size != 1 or e.src.size != 1:
            continue
        if node.inputs is None:  # freed by backward: what the pass recorded
            rec = _record(node)
            if rec.step is None:
                continue
            d = rec.derivative(e.index)
            if d is None:
                needs = (rec.needs,) if type(rec.needs) is int else rec.needs
                missing["no gradient" if e.index not in needs else "zero"] += 1
            else:
                e.derivative = d
            continue
        if out.value is None:
            continue
        if e.dst.key not in found:
            try:
                found[e.dst.key] = local_derivatives(node, np.ones_like(out.value))
            except RuntimeError as err:  # a saved value changed in place: no factor to show
                found[e.dst.key] = {}
                graph.notes.append(f"no local derivatives on '{node.op.label}': {err}")
        d = found[e.dst.key].get(e.index)
        if d is not None:
            e.derivative = float(d.reshape(()))
    if missing["no gradient"]:
        graph.notes.append(
            "edges into an op from inputs that need no gradient (data, constants) show no ×d "
            "after backward(), which computes nothing for them: draw before backward, or "
            "use backward(retain_graph=True), to see those local derivatives")
    if missing["zero"]:
        graph.notes.append(
            "edges into an op whose output got gradient 0 show no ×d after backward(): "
            "0 × d is 0 whatever d is; draw before backward to see it")

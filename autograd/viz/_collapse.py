"""Keeping large graphs readable: collapse scopes (nn layers) to one box, cap node count.

Both rewrite a ``Graph`` in place and record in plain words what they did, which the
picture prints under its title, so nothing disappears silently.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterable
from fnmatch import fnmatchcase

from ._graph import OUTPUT, Edge, Graph, Vertex


def all_scopes(graph: Graph) -> set[str]:
    """Every scope and each of its dotted prefixes (``layers.0`` gives ``layers`` too)."""
    out: set[str] = set()
    for v in graph.vertices:
        if v.scope:
            parts = v.scope.split(".")
            out.update(".".join(parts[: k + 1]) for k in range(len(parts)))
    return out


def inside(scope: str | None, prefix: str) -> bool:
    return scope is not None and (scope == prefix or scope.startswith(prefix + "."))


def innermost(scopes: set[str]) -> list[str]:
    """Scopes that contain no other scope: the individual layers."""
    return sorted(s for s in scopes if not any(inside(o, s) and o != s for o in scopes))


def select(graph: Graph, collapse: bool | str | Iterable[str]) -> list[str]:
    """The scopes to collapse: ``True`` -> each innermost scope (one box per layer); a
    pattern or patterns (``fnmatch``: ``"layers.*"``) -> the matching scopes. A scope
    inside another selected one is covered by the outer box."""
    scopes = all_scopes(graph)
    if collapse is True:
        chosen = innermost(scopes)
    elif not collapse:
        return []
    else:
        patterns = [collapse] if isinstance(collapse, str) else list(collapse)
        chosen = sorted(s for s in scopes if any(fnmatchcase(s, p) for p in patterns))
        unmatched = [p for p in patterns if not any(fnmatchcase(s, p) for s in scopes)]
        if unmatched:
            raise ValueError(
                f"draw(collapse=...): {unmatched} match no scope of this graph; its scopes "
                f"are {sorted(scopes) or 'none (ops recorded outside autograd.name_scope)'}"
            )
    return [s for s in chosen if not any(inside(s, o) and o != s for o in chosen)]


def collapse_scopes(graph: Graph, scopes: list[str], auto: bool = False) -> None:
    """Replace everything recorded inside each scope by one ``module`` vertex."""
    box_of: dict[str, Vertex] = {}
    for scope in scopes:
        members = [v for v in graph.vertices
                   if inside(v.scope, scope) and v.kind != OUTPUT and v.role != "module"]
        if not members:
            continue
        box = Vertex(key=f"module{len(graph.vertices)}", role="module", label=scope,
                     scope=scope.rpartition(".")[0] or None, members=members)
        orders = [v.order for v in members if v.order is not None]
        box.order = min(orders) if orders else None
        for v in members:
            box_of[v.key] = box
        graph.vertices.append(box)
        graph.collapsed.append((scope, sum(v.role == "op" for v in members), auto))
    _reroute(graph, box_of)


def _reroute(graph: Graph, replace: dict[str, Vertex]) -> None:
    """Point edges at the replacing vertices; drop edges that became internal or repeated."""
    graph.vertices = [v for v in graph.vertices if v.key not in replace]
    seen: set[tuple[str, str]] = set()
    edges = []
    for e in graph.edges:
        src = replace.get(e.src.key, e.src)
        dst = replace.get(e.dst.key, e.dst)
        if src is dst:
            continue
        if src is e.src and dst is e.dst:
            edges.append(e)
            continue
        if (src.key, dst.key) not in seen:
            seen.add((src.key, dst.key))
            edges.append(Edge(src, dst))
    graph.edges = edges
    graph.roots = [replace.get(v.key, v) for v in graph.roots]


def limit(graph: Graph, max_nodes: int) -> None:
    """Fit the graph into ``max_nodes`` vertices: first collapse innermost scopes, largest
    first; then keep the vertices nearest the output and merge the rest into one box."""
    if len(graph.vertices) <= max_nodes:
        return
    done = {scope for scope, _, _ in graph.collapsed}
    sizes = Counter(v.scope for v in graph.vertices if v.scope and v.role != "module")
    for scope in sorted(innermost(all_scopes(graph) - done),
                        key=lambda s: -sum(n for sc, n in sizes.items() if inside(sc, s))):
        if len(graph.vertices) <= max_nodes:
            break
        collapse_scopes(graph, [scope], auto=True)
    if len(graph.vertices) > max_nodes:
        _prune(graph, max_nodes)


def _prune(graph: Graph, max_nodes: int) -> None:
    inputs_of: dict[str, list[Vertex]] = {}
    for e in graph.edges:
        inputs_of.setdefault(e.dst.key, []).append(e.src)
    keep: dict[str, Vertex] = {}
    queue = deque(graph.roots)
    while queue and len(keep) < max_nodes - 1:
        v = queue.popleft()
        if v.key in keep:
            continue
        keep[v.key] = v
        queue.extend(inputs_of.get(v.key, ()))
    dropped = [v for v in graph.vertices if v.key not in keep]
    n_ops = sum(v.role == "op" for v in dropped)
    box = Vertex(key="omitted", role="omitted", members=dropped,
                 label=f"{len(dropped)} more nodes ({n_ops} ops) not drawn")
    graph.vertices.append(box)
    _reroute(graph, {v.key: box for v in dropped})
    graph.omitted = (f"{len(dropped)} nodes ({n_ops} ops) farthest from the output merged "
                     f"into one box to stay within max_nodes={max_nodes}")

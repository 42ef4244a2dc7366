"""Reverse-mode differentiation: topological order, ``backward`` and ``grad``.

The graph is walked with an explicit stack, never by recursion, so a chain of a million
ops backpropagates. Each op's derivative rule is evaluated against a backend ``F``:
numpy arrays when ``create_graph=False`` (fast, nothing recorded), or Tensor ops when
``create_graph=True`` (the backward pass is itself recorded, so it can be differentiated
again: Hessian-vector products, grad of grad).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from heapq import heappop, heappush
from typing import Any

import numpy as np

from . import tensor as tensor_module
from .backend import numpy_backend, tensor_backend
from .mode import state
from .registry import passthrough
from .tensor import Node, Tensor, wrap

# Tensor.backward calls into this module; it cannot import it (this module imports it).
tensor_module._engine = sys.modules[__name__]

_FREED = (
    "backward through a graph whose saved values were already freed: the first backward "
    "released them. Pass retain_graph=True to the first backward()/grad() call if you need "
    "to run backward through the same graph again"
)


def _node_of(x: Any) -> Node | None:
    """The node that produced an input entry (a Tensor, or a Node kept in its place)."""
    if type(x) is Node:
        return x
    return x.grad_fn if isinstance(x, Tensor) else None


def topological_order(roots: Sequence[Tensor]) -> list[Node]:
    """The nodes reachable from ``roots``, every node after the nodes of its inputs.

    Nodes are numbered in creation order, and an op's inputs always exist before it, so
    sorting the reachable nodes by that number is a topological order. The search uses
    an explicit stack, never recursion.
    """
    found: dict[int, Node] = {}
    stack = [r.grad_fn for r in roots if r.grad_fn is not None]
    while stack:
        node = stack.pop()
        if id(node) in found:
            continue
        found[id(node)] = node
        if node.inputs is None:
            raise RuntimeError(_FREED)
        for x in node.inputs:
            xnode = _node_of(x)
            if xnode is not None and id(xnode) not in found:
                stack.append(xnode)
    return sorted(found.values(), key=lambda n: n.seq)


def _as_output_tensor(node: Node) -> Tensor | None:
    """The node's saved output as a Tensor made by the node (for a recorded backward)."""
    if node.out is None:
        return None
    t = wrap(node.out)
    t.grad_fn = node
    t.requires_grad = True
    return t


def _run(roots: Sequence[Tensor], root_grads: Sequence[Any], retain_graph: bool,
         create_graph: bool, capture: set[int] | None = None) -> tuple[dict, dict]:
    """Propagate ``root_grads`` back through the graph.

    Nodes are taken from a heap in decreasing creation order: every consumer of a value
    was created after it, so all of a node's output gradient has arrived when it is
    popped. One loop orders and propagates, with no recursion and no sorting pass.
    The gradient arriving at an intermediate value waits on the node that made it
    (``node.grad``), so it does not matter which Tensor object (or a Node kept in its
    place) a consumer holds; a node holds one exactly while it waits (on the heap, or
    handed over as ``ready``). A node is processed on one of three paths, the same work
    written out for the common shapes: one input needing a gradient, two that both do,
    and the general loop over any number of inputs.

    Returns ``(leaf_grads, captured)``: ``leaf_grads`` maps id(leaf) -> (leaf, gradient);
    ``captured`` maps id(node) -> gradient for the node ids in ``capture``. Gradients are
    arrays, or Tensors when ``create_graph``.
    """
    F = tensor_backend if create_graph else numpy_backend
    leaf_grads: dict[int, tuple[Tensor, Any]] = {}
    heap: list[tuple[int, Node]] = []
    for r, g in zip(roots, root_grads):
        node = r.grad_fn
        if node is None:
            prev = leaf_grads.get(id(r))
            leaf_grads[id(r)] = (r, g if prev is None else prev[1] + g)
        elif node.grad is not None:
            node.grad = node.grad + g
        else:
            node.grad = g
            heappush(heap, (-node.seq, node))
    captured: dict[int, Any] = {}
    anomaly = state.anomaly
    prev_mode = state.grad_enabled
    state.grad_enabled = create_graph
    # A recorded backward pass runs ops; their forward checks would blame an inner op
    # ('div') for what is the backward of the op being differentiated, checked below.
    state.anomaly = False
    step = 0
    # A chain never needs the heap: a node's input (the later of two new ones) comes
    # next when nothing waiting in the heap was made after it, so it is handed over
    # directly (``ready``).
    ready = None
    try:
        while True:
            if ready is None:
                if not heap:
                    break
                node = heappop(heap)[1]
            else:
                node = ready
                ready = None
            g = node.grad
            node.grad = None
            if capture is not None and id(node) in capture:
                captured[id(node)] = g
            inputs = node.inputs
            if inputs is None:
                raise RuntimeError(_FREED)
            params = node.params
            vjps = node.op.vjps
            out = _as_output_tensor(node) if create_graph else node.out
            only = node.only
            if only >= 0:
                # One input needs a gradient (the commonest node: unary ops, tensor <op>
                # constant), written out without the per-input loop below.
                x = inputs[only]
                if type(x) is Node:
                    xnode = arg = x
                else:
                    xnode = x.grad_fn
                    arg = x if create_graph else x.data
                rule = vjps[only] or _not_differentiable(node, only)
                if len(inputs) == 1:
                    gi = rule(F, g, out, arg, **params) if params else rule(F, g, out, arg)
                    # A unary rule's gradient has the input's shape already. The skeleton
                    # is the input itself when it is a leaf or a Node already.
                    parents = inputs if xnode is None or xnode is x else (xnode,)
                else:
                    c = inputs[1 - only]  # a constant: a raw value or a tensor
                    if isinstance(c, Tensor):
                        parents = (xnode or x, c) if only == 0 else (c, xnode or x)
                        if not create_graph:
                            c = c.data
                    else:
                        parents = (xnode or x,)
                    if rule is passthrough:
                        gi = g
                    elif params:
                        args = (arg, c) if only == 0 else (c, arg)
                        gi = rule(F, g, out, *args, **params)
                    else:
                        gi = rule(F, g, out, arg, c) if only == 0 else rule(F, g, out, c, arg)
                    # (a node has its output's shape at hand; numpy makes a new tuple
                    # for every .shape.) An output that shares x's shape tuple was made
                    # elementwise from x (``apply``'s ``like``: tensor <op> number), and
                    # elementwise rules return the output's shape: nothing to undo. The
                    # empty tuple is one shared object, so 0-d shapes are always compared.
                    xshape = x.data.shape if xnode is None else xnode.shape
                    if (xshape is not node.shape or not xshape) and gi.shape != xshape:
                        gi = F.unbroadcast(gi, xshape)
                if anomaly:
                    _check_grad(node.op, node, only, gi)
                if xnode is None:
                    prev = leaf_grads.get(id(x))
                    leaf_grads[id(x)] = (x, gi if prev is None else prev[1] + gi)
                elif xnode.grad is None:
                    xnode.grad = gi
                    if heap and heap[0][0] < -xnode.seq:  # the heap holds a later node
                        heappush(heap, (-xnode.seq, xnode))
                    else:
                        ready = xnode
                else:
                    xnode.grad = xnode.grad + gi
            elif len(inputs) == 2:
                # Two inputs that both need a gradient (w * h and a + b in a scalar
                # graph): the loop below, written out for them.
                a, b = inputs
                na = a if type(a) is Node else a.grad_fn
                nb = b if type(b) is Node else b.grad_fn
                if create_graph:
                    ad, bd = a, b
                else:
                    ad = a if na is a else a.data
                    bd = b if nb is b else b.data
                ra = vjps[0] or _not_differentiable(node, 0)
                rb = vjps[1] or _not_differentiable(node, 1)
                if params:
                    ga = g if ra is passthrough else ra(F, g, out, ad, bd, **params)
                    gb = g if rb is passthrough else rb(F, g, out, ad, bd, **params)
                else:
                    ga = g if ra is passthrough else ra(F, g, out, ad, bd)
                    gb = g if rb is passthrough else rb(F, g, out, ad, bd)
                xshape = a.data.shape if na is None else na.shape
                if ga.shape != xshape:
                    ga = F.unbroadcast(ga, xshape)
                xshape = b.data.shape if nb is None else nb.shape
                if gb.shape != xshape:
                    gb = F.unbroadcast(gb, xshape)
                if anomaly:
                    _check_grad(node.op, node, 0, ga)
                    _check_grad(node.op, node, 1, gb)
                parents = (na or a, nb or b)
                for x, xnode, gi in ((a, na, ga), (b, nb, gb)):
                    if xnode is None:
                        prev = leaf_grads.get(id(x))
                        leaf_grads[id(x)] = (x, gi if prev is None else prev[1] + gi)
                    elif xnode.grad is None:
                        xnode.grad = gi
                        # the later of two new waiting nodes may be handed over
                        if ready is None:
                            ready = xnode
                        else:
                            if xnode.seq > ready.seq:
                                ready, xnode = xnode, ready
                            heappush(heap, (-xnode.seq, xnode))
                    else:
                        xnode.grad = xnode.grad + gi
                if ready is not None and heap and heap[0][0] < -ready.seq:
                    heappush(heap, (-ready.seq, ready))  # a later node waits in the heap
                    ready = None
            else:
                args = inputs if create_graph else [
                    x.data if isinstance(x, Tensor) else x for x in inputs]
                parents = []
                for i, x in enumerate(inputs):
                    if type(x) is Node:
                        xnode = x
                        xshape = x.shape
                    elif isinstance(x, Tensor):
                        if not x.requires_grad:
                            parents.append(x)  # a constant tensor: drawn, not differentiated
                            continue
                        xnode = x.grad_fn
                        xshape = x.data.shape if xnode is None else xnode.shape
                    else:
                        continue  # a raw constant (a Python number, an array)
                    rule = vjps[i] or _not_differentiable(node, i)
                    if rule is passthrough:
                        gi = g
                    else:
                        gi = rule(F, g, out, *args, **params) if params else rule(F, g, out, *args)
                    # Broadcasting is undone by the engine alone (one helper, called
                    # wherever a gradient's shape is not its input's), never by a rule.
                    if gi.shape != xshape:
                        gi = F.unbroadcast(gi, xshape)
                    if anomaly:
                        _check_grad(node.op, node, i, gi)
                    if xnode is None:
                        key = id(x)
                        prev = leaf_grads.get(key)
                        leaf_grads[key] = (x, gi) if prev is None else (x, prev[1] + gi)
                        parents.append(x)
                    else:
                        parents.append(xnode)
                        if xnode.grad is None:
                            xnode.grad = gi
                            heappush(heap, (-xnode.seq, xnode))
                        else:
                            xnode.grad = xnode.grad + gi
                parents = tuple(parents)
            node.order = step
            step += 1
            if node.value_summary is not None:  # a small output, so a small gradient too
                node.grad_summary = g.data if create_graph else g
            if not retain_graph:
                # Drop the saved values (releasing their arrays), keep the skeleton.
                node.parents = parents
                node.inputs = None
                node.out = None
                node.params = None  # may hold forward caches (cross_entropy's softmax)
    finally:
        state.grad_enabled = prev_mode
        state.anomaly = anomaly
        for _, pending in heap:  # an error stopped the pass: leave no gradient behind
            pending.grad = None
        if ready is not None:
            ready.grad = None
    return leaf_grads, captured


def _not_differentiable(node: Node, i: int) -> Any:
    raise RuntimeError(
        f"{node.op.name}: input {i} is not differentiable; pass it as a tensor without "
        "requires_grad (or detach() it)"
    )


def _check_grad(op: Any, node: Node, i: int, gi: Any) -> None:
    arr = gi.data if isinstance(gi, Tensor) else np.asarray(gi)
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise FloatingPointError(
            f"detect_anomaly: the backward of op '{op.name}' produced a non-finite gradient "
            f"(NaN or inf) for its input {i} of shape {arr.shape}; the op was created at "
            f"{node.origin or '<created outside detect_anomaly>'}"
        )


def _seed(t: Tensor, gradient: Any, who: str) -> Any:
    if gradient is None:
        if t.data.size != 1:
            raise RuntimeError(
                f"{who}: the gradient can be created implicitly only for a scalar output, this "
                f"one has shape {t.shape}; pass gradient= (a tensor of shape {t.shape}), or "
                "reduce the output first (e.g. .sum())"
            )
        # np.array, not np.ones, for the usual 0-d loss: no Python-level wrapper
        return np.array(1, t.data.dtype) if t.data.ndim == 0 else np.ones(t.data.shape,
                                                                           t.data.dtype)
    garr = gradient.data if isinstance(gradient, Tensor) else np.array(gradient,
                                                                        dtype=t.data.dtype)
    if garr.shape != t.shape:
        raise ValueError(
            f"{who}: gradient has shape {garr.shape} but the output has shape {t.shape}; "
            "they must match"
        )
    if isinstance(gradient, Tensor) and garr.dtype != t.data.dtype:
        return garr.astype(t.data.dtype)
    return gradient if isinstance(gradient, Tensor) else garr


def backward(tensor: Tensor, gradient: Any = None, retain_graph: bool = False,
             create_graph: bool = False) -> None:
    """Accumulate d(tensor)/d(leaf), contracted with ``gradient``, into each leaf's ``.grad``.

    Like PyTorch: gradients add up across calls (zero them between steps), a non-scalar
    output needs ``gradient``, and the graph's saved values are released afterwards unless
    ``retain_graph=True``. With ``create_graph=True`` the ``.grad`` tensors carry a graph
    of their own, for higher derivatives.
    """
    if not tensor.requires_grad:
        raise RuntimeError(
            "backward(): this tensor does not require grad and has no graph; create the "
            "leaves with requires_grad=True and compute it outside no_grad()"
        )
    seed = _seed(tensor, gradient, "backward()")
    if create_graph and not isinstance(seed, Tensor):
        seed = Tensor(seed)
    if not create_graph and isinstance(seed, Tensor):
        seed = seed.data
    leaf_grads, _ = _run([tensor], [seed], retain_graph or create_graph, create_graph)
    seen: set[int] = {id(seed)}  # a cotangent array the caller passed in is theirs
    for leaf, g in leaf_grads.values():
        if not isinstance(g, Tensor):
            g = _own(g, seen, leaf.data.dtype)
        elif not create_graph:
            g = g.detach()
        leaf.grad = g if leaf.grad is None else _add_grads(leaf.grad, g, create_graph)


def _own(g: Any, seen: set[int], dtype: np.dtype) -> Tensor:
    """A gradient array as a Tensor that owns its data: not a (read-only) broadcast view
    (sum's rule returns one), not shared with another result (add's rule hands the same
    array to both inputs), not the cotangent array the caller passed in (callers put its
    id in ``seen`` first). Fresh arrays, the common case, are not copied. The result has
    ``dtype``, that of the tensor it is the gradient of: a float32 tensor used by a
    float64 op gets a float32 gradient, as in PyTorch."""
    if type(g) is not np.ndarray:
        return wrap(np.array(g, dtype))  # a numpy scalar (0-d ops give those): fresh 0-d
    if g.dtype is not dtype and g.dtype != dtype:
        g = g.astype(dtype)
    elif g.base is not None or id(g) in seen:
        g = g.copy()
    seen.add(id(g))
    return wrap(g)


def _add_grads(a: Tensor, b: Tensor, create_graph: bool) -> Tensor:
    if create_graph:
        return a + b
    return Tensor(a.data + b.data)


def grad(outputs: Tensor | Sequence[Tensor], inputs: Tensor | Sequence[Tensor],
         grad_outputs: Any = None, retain_graph: bool | None = None,
         create_graph: bool = False, allow_unused: bool = False) -> tuple[Tensor | None, ...]:
    """Gradients of ``outputs`` with respect to ``inputs``, returned, not stored in ``.grad``.

    ``inputs`` may be leaves or intermediate tensors. ``grad_outputs`` gives one cotangent
    per output (needed for non-scalar outputs). ``retain_graph`` defaults to
    ``create_graph``. An input the outputs do not depend on raises unless
    ``allow_unused=True``, in which case its gradient is ``None``.
    """
    outs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    ins = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if not isinstance(grad_outputs, (list, tuple)):
        grad_outputs = [grad_outputs] * len(outs)
    if len(grad_outputs) != len(outs):
        raise ValueError(
            f"grad(): {len(outs)} outputs but {len(grad_outputs)} grad_outputs; give one each"
        )
    for i, t in enumerate(ins):
        if not isinstance(t, Tensor) or not t.requires_grad:
            raise RuntimeError(
                f"grad(): input {i} does not require grad; create it with requires_grad=True"
            )
    seeds = []
    roots = []
    for o, go in zip(outs, grad_outputs):
        if not isinstance(o, Tensor) or not o.requires_grad:
            raise RuntimeError("grad(): an output does not require grad and has no graph")
        s = _seed(o, go, "grad()")
        roots.append(o)
        if create_graph:
            seeds.append(s if isinstance(s, Tensor) else Tensor(s))
        else:
            seeds.append(s.data if isinstance(s, Tensor) else s)
    retain = create_graph if retain_graph is None else retain_graph
    capture = {id(t.grad_fn) for t in ins if t.grad_fn is not None}
    leaf_grads, captured = _run(roots, seeds, retain, create_graph, capture)
    result: list[Tensor | None] = []
    seen: set[int] = {id(s) for s in seeds}
    for i, t in enumerate(ins):
        if t.grad_fn is None:
            g = leaf_grads.get(id(t), (None, None))[1]
        else:
            g = captured.get(id(t.grad_fn))
        if g is None:
            if not allow_unused:
                raise RuntimeError(
                    f"grad(): input {i} was not used to compute the outputs; pass "
                    "allow_unused=True to get None for it"
                )
            result.append(None)
            continue
        if not isinstance(g, Tensor):
            g = _own(g, seen, t.data.dtype)
        elif not create_graph:
            g = g.detach()
        result.append(g)
    return tuple(result)

"""Reverse-mode differentiation: topological order, ``backward`` and ``grad``.

The graph is walked with an explicit stack, never by recursion, so a chain of a million
ops backpropagates. Each op's derivative rule is evaluated against a backend ``F``:
numpy arrays when ``create_graph=False`` (fast, nothing recorded), or Tensor ops when
``create_graph=True`` (the backward pass is itself recorded, so it can be differentiated
again: Hessian-vector products, grad of grad).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .mode import state
from .tensor import Node, Tensor

# Arrays up to this size are kept on the freed graph so pictures can show them after backward.
SUMMARY_SIZE = 64

_FREED = (
    "backward through a graph whose saved values were already freed: the first backward "
    "released them. Pass retain_graph=True to the first backward()/grad() call if you need "
    "to run backward through the same graph again"
)


def topological_order(roots: Sequence[Tensor]) -> list[Tensor]:
    """Non-leaf tensors reachable from ``roots``, every tensor after all of its inputs.

    Iterative depth-first search: each tensor is pushed once to expand and once to emit.
    """
    order: list[Tensor] = []
    seen: set[int] = set()
    stack: list[tuple[Tensor, bool]] = [(r, False) for r in roots if r.grad_fn is not None]
    while stack:
        t, expanded = stack.pop()
        if expanded:
            order.append(t)
            continue
        if id(t) in seen:
            continue
        seen.add(id(t))
        stack.append((t, True))
        inputs = t.grad_fn.inputs
        if inputs is None:
            raise RuntimeError(_FREED)
        for x in inputs:
            if isinstance(x, Tensor) and x.grad_fn is not None and id(x) not in seen:
                stack.append((x, False))
    return order


def _run(roots: Sequence[Tensor], root_grads: Sequence[Any], retain_graph: bool,
         create_graph: bool, capture: set[int] | None = None) -> tuple[dict, dict]:
    """Propagate ``root_grads`` back through the graph.

    Returns ``(leaf_grads, captured)``: ``leaf_grads`` maps id(leaf) -> (leaf, gradient);
    ``captured`` maps id(non-leaf) -> gradient for the ids in ``capture``. Gradients are
    arrays, or Tensors when ``create_graph``.
    """
    from .backend import numpy_backend, tensor_backend

    F = tensor_backend if create_graph else numpy_backend
    order = topological_order(roots)
    grads: dict[int, Any] = {}
    leaf_grads: dict[int, tuple[Tensor, Any]] = {}
    for r, g in zip(roots, root_grads):
        _accumulate(r, g, grads, leaf_grads)
    captured: dict[int, Any] = {}
    anomaly = state.anomaly
    prev_mode = state.grad_enabled
    state.grad_enabled = create_graph
    try:
        for step, t in enumerate(reversed(order)):
            node = t.grad_fn
            g = grads.pop(id(t), None)
            if capture is not None and id(t) in capture:
                captured[id(t)] = g
            if g is not None:
                _propagate(F, node, t, g, create_graph, anomaly, grads, leaf_grads)
                node.order = step
                node.grad_summary = _summary(g)
            if not retain_graph:
                _free(node, t)
    finally:
        state.grad_enabled = prev_mode
    return leaf_grads, captured


def _propagate(F: Any, node: Node, t: Tensor, g: Any, create_graph: bool, anomaly: bool,
               grads: dict, leaf_grads: dict) -> None:
    op = node.op
    inputs = node.inputs
    if create_graph:
        args = inputs
        out = t
    else:
        args = [x.data if isinstance(x, Tensor) else x for x in inputs]
        out = t.data
    params = node.params or {}
    for i, x in enumerate(inputs):
        if isinstance(x, Tensor) and x.requires_grad:
            rule = op.vjps[i]
            if rule is None:
                raise RuntimeError(
                    f"{op.name}: input {i} is not differentiable; pass it as a tensor "
                    "without requires_grad (or detach() it)"
                )
            gi = rule(F, g, out, *args, **params)
            if anomaly:
                _check_grad(op, node, i, gi)
            _accumulate(x, gi, grads, leaf_grads)


def _accumulate(x: Tensor, g: Any, grads: dict, leaf_grads: dict) -> None:
    key = id(x)
    if x.grad_fn is None:
        prev = leaf_grads.get(key)
        leaf_grads[key] = (x, g if prev is None else prev[1] + g)
    else:
        prev = grads.get(key)
        grads[key] = g if prev is None else prev + g


def _summary(g: Any) -> np.ndarray | None:
    arr = g.data if isinstance(g, Tensor) else g
    return arr if arr.size <= SUMMARY_SIZE else None


def _free(node: Node, t: Tensor) -> None:
    """Drop the saved inputs (releasing intermediate arrays); keep the graph's skeleton."""
    inputs = node.inputs
    if inputs is None:
        return
    node.parents = tuple(x.grad_fn if x.grad_fn is not None else x
                         for x in inputs if isinstance(x, Tensor))
    node.shape = t.data.shape
    node.dtype = t.data.dtype
    node.inputs = None


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
        return np.ones_like(t.data)
    garr = gradient.data if isinstance(gradient, Tensor) else np.asarray(gradient,
                                                                          dtype=t.data.dtype)
    if garr.shape != t.shape:
        raise ValueError(
            f"{who}: gradient has shape {garr.shape} but the output has shape {t.shape}; "
            "they must match"
        )
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
    leaf_grads, _ = _run([tensor], [seed], retain_graph or create_graph, create_graph)
    for leaf, g in leaf_grads.values():
        if not isinstance(g, Tensor):
            g = Tensor(g)
        elif not create_graph:
            g = g.detach()
        leaf.grad = g if leaf.grad is None else _add_grads(leaf.grad, g, create_graph)


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
    if grad_outputs is None or isinstance(grad_outputs, Tensor):
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
        seeds.append(Tensor(s) if create_graph and not isinstance(s, Tensor) else s)
    retain = create_graph if retain_graph is None else retain_graph
    capture = {id(t) for t in ins if t.grad_fn is not None}
    leaf_grads, captured = _run(roots, seeds, retain, create_graph, capture)
    result: list[Tensor | None] = []
    for i, t in enumerate(ins):
        if t.grad_fn is None:
            g = leaf_grads.get(id(t), (None, None))[1]
        else:
            g = captured.get(id(t))
        if g is None:
            if not allow_unused:
                raise RuntimeError(
                    f"grad(): input {i} was not used to compute the outputs; pass "
                    "allow_unused=True to get None for it"
                )
            result.append(None)
            continue
        if not isinstance(g, Tensor):
            g = Tensor(g)
        elif not create_graph:
            g = g.detach()
        result.append(g)
    return tuple(result)

"""Reverse-mode differentiation: the backward step of one node, and ``backward``/``grad``.

``input_grads(node, g)`` is the chain rule at one node, and the only place it is written:
given the gradient ``g`` of the node's output, it evaluates the op's derivative rules and
returns the gradient each input that needs one receives. The walk (``_run``) only
schedules: it takes nodes in decreasing creation order from a heap (every consumer of a
value was created after it, so a node's whole output gradient has arrived when it is
taken), adds up the gradients arriving at each node and leaf, and releases what the rules
read. There is no recursion, so a chain of a million ops backpropagates.

Rules are evaluated against a backend ``F``: numpy arrays when ``create_graph=False``
(fast, nothing recorded), or Tensor ops when ``create_graph=True`` (the backward pass is
itself recorded, so it can be differentiated again: Hessian-vector products, grad of grad).
Tools that watch the walk (the pictures) subscribe through ``autograd.graph``.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Sequence
from heapq import heappop, heappush
from itertools import count
from typing import Any

import numpy as np

from . import mode
from .backend import numpy_backend, tensor_backend
from .registry import passthrough
from .tensor import Node, Tensor, _Stale, clock, origins, wrap

_FREED = (
    "backward through a graph whose saved values were already freed: the first backward "
    "released them. Pass retain_graph=True to the first backward()/grad() call if you need "
    "to run backward through the same graph again"
)
_NO_PARAMS: dict = {}

# Observers of the walk (``autograd.graph.observe_steps``): called after each node's step,
# before its saved values are released, with (run, step, node, g, sent).
step_observers: list[Any] = []
_runs = count()
_grad_lock = threading.Lock()
# Non-leaf tensors whose gradient backward keeps in ``.grad`` (``retain_grad()``).
_retained: weakref.WeakKeyDictionary[Node, weakref.ref] = weakref.WeakKeyDictionary()


def input_grads(node: Node, g: Any, create_graph: bool = False, anomaly: bool = False,
                every: bool = False, needs: tuple[int, ...] | None = None
                ) -> list[tuple[Any, Any]]:
    """The chain rule at ``node``: ``[(target, gradient), ...]`` for each input that needs
    a gradient, given the gradient ``g`` of the node's output.

    ``target`` is the Node that made the input, or the input itself when it is a leaf.
    Each gradient is the input's rule evaluated on what the node saved (a pass-through
    input gets ``g`` itself), summed over the axes broadcasting added, and checked to have
    the input's shape. Values the node saved must not have changed in place since it was
    recorded (version counters). With ``create_graph`` the rules run on Tensors and are
    recorded; ``anomaly`` checks every gradient for NaN/inf. ``needs`` narrows the inputs
    to those indices (``grad()`` skips inputs that lead to nothing it was asked for);
    ``every`` (for pictures of local derivatives) includes the inputs that need none but
    have a rule, constants too.
    """
    inputs = node.inputs
    if inputs is None:
        raise RuntimeError(_FREED)
    if node.tick != clock[0]:  # something was changed in place since the node was made
        _check_saved(node)
    if create_graph:
        F, out, args = tensor_backend, _output_tensor(node), inputs
    else:
        # The rules read arrays (and Nodes, standing in for inputs whose values they skip).
        # Written out for one and two inputs: this runs once per node of every backward.
        F, out = numpy_backend, node.out
        if node.plain:  # Nodes and constants only: read as they are
            args = inputs
        elif len(inputs) == 1:
            a = inputs[0]
            args = (a._data,) if isinstance(a, Tensor) else inputs
        elif len(inputs) == 2:
            a, b = inputs
            a = a._data if isinstance(a, Tensor) else a
            b = b._data if isinstance(b, Tensor) else b
            # a scalar op: its rules take numpy's scalar arithmetic
            args = (a, b) if node.shape != () else _scalars(a, b)
        else:
            args = [x._data if isinstance(x, Tensor) else x for x in inputs]
    params = node.params
    op = node.op
    if needs is None:
        needs = node.needs
    joint = op.joint
    if joint is not None:  # one rule gives every input's gradient
        grads = joint(F, g, out, *args, **params) if params else joint(F, g, out, *args)
        if every:
            needs = tuple(i for i, gi in enumerate(grads) if gi is not None)
    elif every:
        needs = _runnable_rules(op, inputs, needs)
    vjps = op.vjps
    sent = []
    for i in needs:
        if joint is not None:
            gi = grads[i]
            if gi is None:
                _not_differentiable(node, i)
        else:
            rule = vjps[i] or _not_differentiable(node, i)
            if rule is passthrough:
                gi = g
            elif params:
                gi = rule(F, g, out, *args, **params)
            # One or two inputs (nearly every node): direct calls. A star call builds a
            # list and a tuple, and CPython 3.11 does not inline its frame.
            elif len(args) == 1:
                gi = rule(F, g, out, args[0])
            elif len(args) == 2:
                gi = rule(F, g, out, args[0], args[1])
            else:
                gi = rule(F, g, out, *args)
        x = inputs[i]
        if x.__class__ is Node:
            target = x
            shape = x.shape
        elif isinstance(x, Tensor):
            target = x.grad_fn or x
            shape = x._data.shape if target is x else target.shape
        else:  # a constant (only with ``every``)
            target = x
            shape = np.shape(x)
        if gi.shape != shape:
            gi = _unbroadcast(F, gi, shape, node, i)
        if anomaly:
            _check_grad(node, i, gi)
        sent.append((target, gi))
    return sent


def _scalars(a: Any, b: Any) -> tuple[Any, Any]:
    """0-d arrays (leaves' values) as numpy scalars, as the forward pass reads them
    (``binary``): a rule's ``g * w`` then takes scalar arithmetic instead of a ufunc call.
    The values, and so the gradients, are the same. Measured: W4's MLP 2.7% faster.
    Two arguments, not a comprehension over a tuple: that was a second frame, a list and
    a tuple per scalar node."""
    if type(a) is np.ndarray and not a.ndim:
        a = a[()]
    if type(b) is np.ndarray and not b.ndim:
        b = b[()]
    return a, b


def _runnable_rules(op: Any, inputs: tuple, needs: tuple[int, ...]) -> tuple[int, ...]:
    """The inputs whose rules can run on what the node kept (for ``every``). A helper of
    its own: a generator inside input_grads would make its locals cells on every call."""
    return tuple(i for i in range(len(inputs)) if op.vjps[i] is not None and (
        op.reads is None or i in needs
        or all(type(inputs[j]) is not Node for j in op.reads[i])))


def _output_tensor(node: Node) -> Tensor | None:
    """The node's saved output as a Tensor made by the node (for a recorded backward)."""
    if node.out is None:
        return None
    t = wrap(node.out)
    t.grad_fn = node
    t.requires_grad = True
    return t


def _unbroadcast(F: Any, gi: Any, shape: tuple, node: Node, i: int) -> Any:
    """Sum a gradient of the output's (broadcast) shape back to its input's ``shape``; a
    gradient that no broadcasting of ``shape`` could have made is a wrong rule."""
    gshape = tuple(gi.shape)
    lead = len(gshape) - len(shape)
    ok = lead >= 0 and (gshape[lead:] == shape or all(  # leading axes only: a bias
        s == t or s == 1 for s, t in zip(shape, gshape[lead:])))
    if not ok:
        raise RuntimeError(
            f"{node.op.name}: the derivative rule of input {i} returned a gradient of shape "
            f"{gshape}, but the input has shape {shape}; a rule must return the input's "
            "shape or a shape the input broadcasts to (the engine sums it back)"
        )
    return F.unbroadcast(gi, shape)


def _check_saved(node: Node) -> None:
    """Refuse to backpropagate through values the node saved that changed in place."""
    out = node.out
    if type(out) is _Stale:
        raise RuntimeError(
            f"backward through '{node.op.name}': its output (shape {node.shape}), which its "
            f"derivative rule reads, was changed in place after the op ran: it is at version "
            f"{out.version}, the op saved version {out.version - 1}. Use an out-of-place op "
            "(y = y + 1 instead of y += 1), or run backward before changing it"
        )
    saves = node.op.saves_for(node.needs)
    for i, x in enumerate(node.inputs):
        if type(x) is Node or not isinstance(x, Tensor) or (saves is not None and i not in saves):
            continue
        vc = x._vc
        if vc is not None and vc.changed_since(node.tick):
            then, exact = vc.version_at(node.tick)
            what = f"'{x.name}'" if x.name else f"of shape {x.shape}"
            raise RuntimeError(
                f"backward through '{node.op.name}': its input {i} (the tensor {what}, "
                f"dtype {x.dtype}), which its derivative rule reads, was changed in place "
                f"after the op ran: it is at version {vc.version}, the op saved version "
                f"{then if exact else f'{then} or earlier'}. Change it after backward (an "
                "optimizer step after loss.backward()), or use an out-of-place op"
            )


def _not_differentiable(node: Node, i: int) -> Any:
    raise RuntimeError(
        f"{node.op.name}: input {i} is not differentiable; pass it as a tensor without "
        "requires_grad (or detach() it)"
    )


def _check_grad(node: Node, i: int, gi: Any) -> None:
    arr = gi._data if isinstance(gi, Tensor) else np.asarray(gi)
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise FloatingPointError(
            f"detect_anomaly: the backward of op '{node.op.name}' produced a non-finite "
            f"gradient (NaN or inf) for its input {i} of shape {arr.shape}; the op was "
            f"created at {origins.get(node, '<created outside detect_anomaly>')}"
        )


def _run(roots: Sequence[Tensor], seeds: Sequence[Any], retain_graph: bool,
         create_graph: bool, capture: Any = (), wanted: set | None = None,
         observers: list | None = None) -> dict:
    """Propagate ``seeds`` (one gradient per root) back through the graph.

    Returns the gradients that arrived, keyed by leaf Tensor, plus those of the nodes in
    ``capture`` (the gradient of their output). ``wanted`` (from ``grad()``): the leaves
    and nodes asked for; the walk then visits only nodes on a path to one of them.
    ``observers`` replaces the subscribed step observers for this walk (a replay that
    pictures make and no one else should see).
    """
    flows = None if wanted is None else _leading_to(roots, wanted)
    anomaly = bool(mode.changed[0]) and mode.state.anomaly
    if observers is None:
        observers = step_observers[:] if step_observers else None
    run = next(_runs) if observers else None
    pending: dict[Any, Any] = {}  # node or leaf -> the gradient arrived so far
    got: dict[Any, Any] = {}
    heap: list[tuple[int, Node]] = []
    for r, s in zip(roots, seeds):
        target = r.grad_fn or r
        if target in pending:
            pending[target] = pending[target] + s
        else:
            pending[target] = s
            if type(target) is Node:
                heappush(heap, (-target.seq, target))
    # ``ready`` is a waiting node made after every node in the heap, so it comes next; it
    # and its gradient (``ready_g``) skip the heap and the dict (in a chain, every node).
    ready = ready_g = None
    switches = _recording_backward() if create_graph else None
    step = 0
    try:
        while True:
            if ready is not None:
                node, g, ready = ready, ready_g, None
            elif heap:
                node = heappop(heap)[1]
                g = pending.pop(node)
            else:
                break
            if capture and node in capture:
                got[node] = g
            if flows is None:
                sent = input_grads(node, g, create_graph, anomaly)
            elif node in flows:  # only the inputs on a path to what grad() asked for
                sent = input_grads(node, g, create_graph, anomaly, needs=flows[node])
            else:
                continue  # asked for by grad(), but leading to nothing else asked for
            for target, gi in sent:
                if target is ready:  # the one place where gradients add up (with below)
                    ready_g = ready_g + gi
                    continue
                node_target = target.__class__ is Node
                if node_target and ready is None and (not heap or heap[0][0] > -target.seq):
                    # made after every node in the heap, so nothing waiting for it yet
                    ready, ready_g = target, gi
                    continue
                prev = pending.get(target)
                if prev is not None:
                    pending[target] = prev + gi
                elif not node_target:  # a leaf: nothing to schedule
                    pending[target] = gi
                elif ready is not None and target.seq > ready.seq:  # the later one is next
                    pending[ready] = ready_g
                    heappush(heap, (-ready.seq, ready))
                    ready, ready_g = target, gi
                else:
                    pending[target] = gi
                    heappush(heap, (-target.seq, target))
            if observers is not None:
                for observe in observers:
                    observe(run, step, node, g, sent)
                step += 1
            if not retain_graph:  # release what the rules read; the node stays
                node.inputs = node.out = node.params = None
    finally:
        if switches is not None:
            switches.__exit__()
    for t, gi in pending.items():  # what is left: the leaves' gradients
        got[t] = gi
    return got


class _recording_backward:
    """A backward pass with create_graph=True records its ops (even inside no_grad), and
    its ops' forward checks are off: the pass checks its gradients itself."""

    def __init__(self) -> None:
        self.prev = (mode._set("grad_enabled", True), mode._set("anomaly", False))

    def __exit__(self) -> None:
        mode._set("grad_enabled", self.prev[0])
        mode._set("anomaly", self.prev[1])


def _leading_to(roots: Sequence[Tensor], wanted: set) -> dict[Node, tuple[int, ...]]:
    """The nodes from which a wanted leaf or node can be reached, each with the indices of
    its inputs that lead there: the only steps ``grad()`` needs. Nodes are numbered after
    their inputs, so one pass in creation order decides each node after its inputs."""
    flows: dict[Node, tuple[int, ...]] = {}
    for node in topological_order(roots):
        if node.tick != clock[0]:  # an input's node below is read from it: check first
            _check_saved(node)
        inputs = node.inputs
        lead = tuple(i for i in node.needs
                     if _target(inputs[i]) in wanted or _target(inputs[i]) in flows)
        if lead:
            flows[node] = lead
    return flows


def _target(x: Any) -> Any:
    return x if type(x) is Node else x.grad_fn or x


def topological_order(roots: Sequence[Tensor]) -> list[Node]:
    """The nodes reachable from ``roots``, every node after the nodes of its inputs.

    Nodes are numbered in creation order, and an op's inputs always exist before it, so
    sorting the reachable nodes by that number is a topological order. The search uses
    an explicit stack, never recursion.
    """
    found: set[Node] = set()
    stack = [r.grad_fn for r in roots if r.grad_fn is not None]
    while stack:
        node = stack.pop()
        if node in found:
            continue
        found.add(node)
        if node.inputs is None:
            raise RuntimeError(_FREED)
        for x in node.inputs:
            xnode = x if type(x) is Node else x.grad_fn if isinstance(x, Tensor) else None
            if xnode is not None and xnode not in found:
                stack.append(xnode)
    return sorted(found, key=lambda n: n.seq)


def _seed(t: Tensor, gradient: Any, who: str) -> Any:
    if gradient is None:
        if t._data.size != 1:
            raise RuntimeError(
                f"{who}: the gradient can be created implicitly only for a scalar output, this "
                f"one has shape {t.shape}; pass gradient= (a tensor of shape {t.shape}), or "
                "reduce the output first (e.g. .sum())"
            )
        # np.array, not np.ones, for the usual 0-d loss: no Python-level wrapper
        return np.array(1, t._data.dtype) if t._data.ndim == 0 else np.ones(t._data.shape,
                                                                             t._data.dtype)
    garr = gradient._data if isinstance(gradient, Tensor) else np.array(gradient,
                                                                         dtype=t._data.dtype)
    if garr.shape != t.shape:
        raise ValueError(
            f"{who}: gradient has shape {garr.shape} but the output has shape {t.shape}; "
            "they must match"
        )
    if isinstance(gradient, Tensor) and garr.dtype != t._data.dtype:
        return garr.astype(t._data.dtype)
    return gradient if isinstance(gradient, Tensor) else garr


def _seeds(outs: Sequence[Tensor], grad_outputs: Sequence[Any], create_graph: bool,
           who: str) -> list[Any]:
    seeds = []
    for o, go in zip(outs, grad_outputs):
        s = _seed(o, go, who)
        if create_graph:
            seeds.append(s if isinstance(s, Tensor) else Tensor(s))
        else:
            seeds.append(s._data if isinstance(s, Tensor) else s)
    return seeds


def backward(tensor: Tensor, gradient: Any = None, retain_graph: bool = False,
             create_graph: bool = False) -> None:
    """Accumulate d(tensor)/d(leaf), contracted with ``gradient``, into each leaf's ``.grad``.

    Like PyTorch: gradients add up across calls (zero them between steps), a non-scalar
    output needs ``gradient``, and the graph's saved values are released afterwards unless
    ``retain_graph=True``. With ``create_graph=True`` the ``.grad`` tensors carry a graph
    of their own, for higher derivatives. Non-leaf tensors that called ``retain_grad()``
    get their ``.grad`` too.
    """
    if not tensor.requires_grad:
        raise RuntimeError(
            "backward(): this tensor does not require grad and has no graph; create the "
            "leaves with requires_grad=True and compute it outside no_grad()"
        )
    seeds = _seeds([tensor], [gradient], create_graph, "backward()")
    retained = _retained_nodes() if _retained else ()
    got = _run([tensor], seeds, retain_graph or create_graph, create_graph, retained)
    seen: set[int] = {id(seeds[0])}  # a cotangent array the caller passed in is theirs
    with _grad_lock:  # backward in several threads into shared leaves adds up every time
        for t, g in got.items():
            if type(t) is Node:
                t = retained[t]
            _accumulate(t, _as_grad(g, t, seen, create_graph), create_graph)


def _retained_nodes() -> dict[Node, Tensor]:
    live = {}
    for node, ref in list(_retained.items()):
        t = ref()
        if t is not None and t.grad_fn is node:
            live[node] = t
    return live


def retain_grad(t: Tensor) -> None:
    if not t.requires_grad:
        raise RuntimeError("retain_grad(): the tensor does not require grad, so it gets none")
    if t.grad_fn is not None:
        _retained[t.grad_fn] = weakref.ref(t)


def _as_grad(g: Any, t: Tensor, seen: set[int], create_graph: bool) -> Tensor:
    """A gradient as the Tensor stored in ``.grad`` or returned by ``grad()``: detached
    unless ``create_graph``; an array owned by it (not a read-only broadcast view, which
    sum's rule returns, not shared with another result, as add's rule hands one array to
    both inputs, not the cotangent the caller passed in: callers put its id in ``seen``),
    in the dtype of ``t`` (a float32 tensor used by a float64 op gets a float32 gradient,
    as in PyTorch). Fresh arrays, the common case, are not copied."""
    if isinstance(g, Tensor):
        if not create_graph:
            g = g.detach()
        elif id(g) in seen:  # shared with another result or the caller's cotangent
            from .ops import clone

            g = clone(g)
        seen.add(id(g))
        return g
    dtype = t._data.dtype
    if type(g) is not np.ndarray:
        return wrap(np.array(g, dtype))  # a numpy scalar (0-d ops give those): fresh 0-d
    if g.dtype is not dtype and g.dtype != dtype:
        g = g.astype(dtype)
    elif g.base is not None or id(g) in seen:
        g = g.copy()
    seen.add(id(g))
    return wrap(g)


def _accumulate(t: Tensor, g: Tensor, create_graph: bool) -> None:
    """``t.grad += g``: in place into an existing gradient that owns its array (as
    PyTorch does, so a ``.grad`` zeroed with ``zero_()`` keeps its identity), else a new
    tensor (and always under create_graph, where the sum is recorded)."""
    old = t.grad
    if old is None:
        t.grad = g
    elif create_graph or old.grad_fn is not None:
        t.grad = old + g
    else:
        od = old._data
        if (od.shape == g._data.shape and od.dtype == g._data.dtype and od.base is None
                and od.flags.writeable):
            np.add(od, g._data, out=od)
            old._changed()
        else:
            t.grad = Tensor(od + g._data)


def grad(outputs: Tensor | Sequence[Tensor], inputs: Tensor | Sequence[Tensor],
         grad_outputs: Any = None, retain_graph: bool | None = None,
         create_graph: bool = False, allow_unused: bool = False) -> tuple[Tensor | None, ...]:
    """Gradients of ``outputs`` with respect to ``inputs``, returned, not stored in ``.grad``.

    ``inputs`` may be leaves or intermediate tensors; only the part of the graph that
    leads to them is walked. ``grad_outputs`` gives one cotangent per output (needed for
    non-scalar outputs). ``retain_graph`` defaults to ``create_graph``. An input the
    outputs do not depend on raises unless ``allow_unused=True``, which gives ``None``.
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
    for o in outs:
        if not isinstance(o, Tensor) or not o.requires_grad:
            raise RuntimeError("grad(): an output does not require grad and has no graph")
    seeds = _seeds(outs, grad_outputs, create_graph, "grad()")
    retain = create_graph if retain_graph is None else retain_graph
    wanted = {t.grad_fn or t for t in ins}
    nodes = {w for w in wanted if type(w) is Node}
    got = _run(outs, seeds, retain, create_graph, nodes, wanted)
    result: list[Tensor | None] = []
    seen: set[int] = {id(s) for s in seeds}
    for i, t in enumerate(ins):
        g = got.get(t.grad_fn or t)
        if g is None:
            if not allow_unused:
                raise RuntimeError(
                    f"grad(): input {i} was not used to compute the outputs; pass "
                    "allow_unused=True to get None for it"
                )
            result.append(None)
            continue
        result.append(_as_grad(g, t, seen, create_graph))
    return tuple(result)

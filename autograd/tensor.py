"""The Tensor: a numpy array, its gradient, and the node of the graph that produced it.

A tensor made by an op while recording is on carries a ``Node``: the op, the input
tensors (kept until backward frees them) and the op's non-tensor parameters. Leaves
(tensors you create) have no node. Operators and methods such as ``x.tanh()`` are
attached by ``autograd.ops`` from the op registry, so every op is declared exactly once.
"""

from __future__ import annotations

import os
import traceback
from itertools import count
from typing import Any

import numpy as np

from .mode import state

_FLOATS = (np.float16, np.float32, np.float64)


_seq = count()  # next(_seq) is a faster call than a bound count().__next__
_engine: Any = None  # autograd.engine, set when it is imported (it imports this module)
# Outputs up to this size keep a copy on their node, so pictures can show them after the
# tensor itself is gone.
SUMMARY_SIZE = 64


class Node:
    """One recorded op application.

    ``inputs`` holds what the derivative rules read: the input tensors they use (and raw
    constants), and, for inputs whose values they never read, the input's own Node (which
    knows its ``shape`` and ``dtype``), so those arrays are not kept alive; ``out`` is the
    output array when the rules read it. Leaves are always kept. The engine sets
    ``inputs``/``out`` to ``None`` after backward unless ``retain_graph=True``;
    ``parents`` then keeps the skeleton (input nodes and leaves) that pictures need.

    Nodes are made only by ``apply``. ``seq`` numbers them in creation order (an op's
    inputs always exist before it), which the engine uses as its topological order.
    ``scope`` is the ``name_scope`` active when the op ran (an nn layer's name, or None).
    ``order`` and ``grad_summary`` (the gradient of the output, when small) are filled in
    by the engine so the backward pass can be drawn after it ran; ``value_summary`` is the
    output's value when small. ``grad`` holds the gradient arriving at the output while
    the engine's backward pass waits to process the node (None otherwise); ``only`` is
    the index of the one input that needs a gradient, or -1 when several do. ``params``
    entries whose names start with an underscore are forward caches for the derivative
    rule (not shown in pictures).
    """

    __slots__ = ("op", "inputs", "out", "params", "parents", "origin", "order",
                 "grad_summary", "value_summary", "shape", "dtype", "scope", "seq", "name",
                 "grad", "only")

    def __repr__(self) -> str:
        return f"<Node {self.op.name}>"


class Tensor:
    """An n-dimensional array that records the operations applied to it.

    ``Tensor(data, requires_grad=False, dtype=None)``: ``data`` is anything ``numpy.asarray``
    takes. Python floats and float lists become float64 (numpy's default and what gradient
    checks need); pass ``dtype=np.float32`` for single precision. Every op keeps its
    input's dtype. Only floating tensors can require grad.
    """

    __slots__ = ("data", "grad", "requires_grad", "grad_fn", "_name", "__weakref__")
    __array_priority__ = 1000  # so ndarray <op> Tensor defers to Tensor's reflected ops

    def __init__(self, data: Any, requires_grad: bool = False, dtype: Any = None,
                 name: str | None = None) -> None:
        if isinstance(data, Tensor):
            data = data.data
        arr = np.asarray(data, dtype=dtype)
        if dtype is None and arr.dtype.kind in "iu" and _looks_float(data):
            arr = arr.astype(np.float64)
        elif not arr.dtype.isnative:
            # Big-endian data (read from a file, say) in native order, as numpy's results
            # are: an op that keeps its input's dtype would otherwise change it.
            arr = arr.astype(arr.dtype.newbyteorder("="))
        self.data = arr
        self.grad: Tensor | None = None
        self.grad_fn: Node | None = None
        self._name = name
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    # -- basic attributes -------------------------------------------------------------
    @property
    def name(self) -> str | None:
        """A label for pictures. Naming a tensor made by an op names its node too, so the
        picture keeps the name even where the graph holds only the node."""
        return self._name

    @name.setter
    def name(self, value: str | None) -> None:
        self._name = value
        if self.grad_fn is not None:
            self.grad_fn.name = value


    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def size(self) -> int:
        return self.data.size

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self.data)

    def item(self) -> Any:
        """The value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise ValueError(
                f"item(): only one-element tensors can be converted to a Python number, "
                f"this one has shape {self.shape}; index it or reduce it first"
            )
        return self.data.item()

    def numpy(self) -> np.ndarray:
        """The underlying array (shared, not copied; detach first if you mutate it)."""
        return self.data

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return np.asarray(self.data, dtype=dtype)  # op results on 0-d data are numpy scalars

    def tolist(self) -> Any:
        return self.data.tolist()

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __bool__(self) -> bool:
        if self.data.size != 1:
            raise ValueError(
                f"the truth value of a tensor of shape {self.shape} is ambiguous; "
                "use .any() or .all() on .data"
            )
        return bool(self.data)

    __hash__ = object.__hash__  # == is elementwise, so identity is the hash

    # -- graph bookkeeping ------------------------------------------------------------
    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set ``requires_grad`` in place (only on leaves and floating dtypes).

        Which inputs of an op need a gradient is settled when the op runs: set this
        before the forward pass, not between it and ``backward()``."""
        if requires_grad and self.data.dtype.type not in _FLOATS:
            raise TypeError(
                f"requires_grad=True needs floating data, got dtype {self.data.dtype}; "
                "convert first, e.g. Tensor(x, dtype=np.float64, requires_grad=True)"
            )
        if not requires_grad and self.grad_fn is not None:
            raise RuntimeError(
                "requires_grad_(False) on a non-leaf tensor; use .detach() instead"
            )
        self.requires_grad = requires_grad
        return self

    def detach(self) -> Tensor:
        """A new leaf sharing this tensor's data, cut from the graph."""
        return Tensor(self.data)

    def __deepcopy__(self, memo: dict) -> Tensor:
        """A copy of a leaf: its data, grad and flags. Copying a tensor made by an op would
        duplicate a node of the graph, so that is refused, as in PyTorch."""
        if self.grad_fn is not None:
            raise RuntimeError(
                f"deepcopy of a tensor made by op '{self.grad_fn.op.name}' is not supported; "
                "copy t.detach() instead (a leaf with the same data)"
            )
        new = type(self).__new__(type(self))
        new.data = self.data.copy()
        new.grad = None if self.grad is None else Tensor(self.grad.data.copy())
        new.grad_fn = None
        new._name = self._name
        new.requires_grad = self.requires_grad
        memo[id(self)] = new
        return new

    def backward(self, gradient: Any = None, retain_graph: bool = False,
                 create_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad`` (see ``engine.backward``)."""
        _engine.backward(self, gradient, retain_graph=retain_graph, create_graph=create_graph)

    def zero_grad(self) -> None:
        self.grad = None

    # -- display ----------------------------------------------------------------------
    def __repr__(self) -> str:
        body = np.array2string(self.data, precision=4, threshold=20, edgeitems=3,
                               separator=", ", prefix="tensor(")
        extras = []
        if self.data.dtype != np.float64:
            extras.append(f"dtype={self.data.dtype}")
        if self.grad_fn is not None:
            extras.append(f"op={self.grad_fn.op.name}")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        if self.name:
            extras.append(f"name={self.name!r}")
        return "tensor(" + body + "".join(", " + e for e in extras) + ")"


def _looks_float(data: Any) -> bool:
    """True for Python floats (or lists of them) so Tensor([1.0, 2]) is float64, as numpy."""
    if isinstance(data, float):
        return True
    if isinstance(data, (list, tuple)):
        return any(_looks_float(d) for d in data)
    return False


def tensor(data: Any, requires_grad: bool = False, dtype: Any = None,
           name: str | None = None) -> Tensor:
    """Construct a Tensor (same as ``Tensor(...)``, PyTorch's spelling)."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype, name=name)


_new = object.__new__


def wrap(data: np.ndarray) -> Tensor:
    """A leaf Tensor around an existing array, skipping __init__'s conversions (hot path)."""
    t = _new(Tensor)
    t.data = data
    t.grad = None
    t.grad_fn = None
    t._name = None
    t.requires_grad = False
    return t


def apply(op: Any, inputs: tuple, data: np.ndarray, params: dict | None = None,
          like: Node | None = None) -> Tensor:
    """Wrap ``data`` (already computed by ``op``'s forward) and record the node if needed.

    ``like``, when given, is a node whose output has the shape and dtype that ``data``
    has (the input's node of an elementwise op): the new node copies them from it
    instead of asking the array, whose attribute reads CPython cannot speed up (and
    ``.shape`` makes a new tuple each time). A test checks every op's node against its
    output. This is the hot path of every op, hence the hand-inlined attribute setting.
    """
    out = _new(Tensor)
    out.data = data
    out.grad = None
    out._name = None
    if state.grad_enabled:
        # Which inputs need a gradient: ``only`` is the index of the single one (the
        # engine then skips its per-input loop: unary ops, tensor <op> constant), -1 when
        # several do, None when none does (nothing to record).
        n = len(inputs)
        if n == 1:
            x = inputs[0]
            only = 0 if isinstance(x, Tensor) and x.requires_grad else None
        elif n == 2:
            a, b = inputs
            if isinstance(a, Tensor) and a.requires_grad:
                only = -1 if isinstance(b, Tensor) and b.requires_grad else 0
            else:
                only = 1 if isinstance(b, Tensor) and b.requires_grad else None
        else:
            only = -1 if any(isinstance(x, Tensor) and x.requires_grad for x in inputs) else None
        if only is not None:
            # Nodes are only made here, field by field: this runs once per recorded op.
            node = Node()  # no __init__: the type call is faster than object.__new__
            node.op = op
            node.params = params
            node.scope = state.scope
            node.seq = next(_seq)
            if like is None:
                node.shape = data.shape
                node.dtype = data.dtype
                node.value_summary = data if data.size <= SUMMARY_SIZE else None
            else:
                node.shape = like.shape
                node.dtype = like.dtype
                node.value_summary = data if like.value_summary is not None else None
            node.out = data if op.saves_out else None
            node.grad = None
            node.only = only
            # Set now although filled in later: with every slot set, no __getattr__
            # fallback is needed, and attribute reads in the engine stay on CPython's
            # specialised fast path (a type with __getattr__ is never specialised).
            node.parents = node.origin = node.order = node.grad_summary = node.name = None
            # Keep only what the rules read; an input they don't read is replaced by
            # the node that made it, so its array can be freed as soon as possible.
            saves = op.saves
            if saves is None:
                node.inputs = inputs
            elif n == 1:
                node.inputs = inputs if saves else (x.grad_fn or x,)
            elif n == 2:  # written out: binary ops are the next commonest
                if 0 not in saves and isinstance(a, Tensor):
                    a = a.grad_fn or a
                if 1 not in saves and isinstance(b, Tensor):
                    b = b.grad_fn or b
                node.inputs = (a, b)
            else:
                node.inputs = tuple([
                    x if i in saves or not isinstance(x, Tensor) else x.grad_fn or x
                    for i, x in enumerate(inputs)])
            out.grad_fn = node
            out.requires_grad = True
            if state.anomaly:
                _check_anomaly(op, node, data)
            return out
    out.grad_fn = None
    out.requires_grad = False
    return out


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def _user_frame() -> str:
    """file:line of the innermost frame outside the autograd package (where the op was called)."""
    for frame in reversed(traceback.extract_stack()[:-2]):
        if not os.path.abspath(frame.filename).startswith(_PACKAGE_DIR):
            return f"{frame.filename}:{frame.lineno}"
    return "<unknown>"


def _check_anomaly(op: Any, node: Node, data: np.ndarray) -> None:
    node.origin = _user_frame()
    if data.dtype.kind == "f" and not np.isfinite(data).all():
        raise FloatingPointError(
            f"detect_anomaly: op '{op.name}' produced a non-finite value (NaN or inf) in its "
            f"forward result of shape {data.shape}; created at {node.origin}"
        )

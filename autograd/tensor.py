"""The Tensor: a numpy array, its gradient, and the node of the graph that produced it.

A tensor made by an op while recording is on carries a ``Node``: the op, what its
derivative rules read (kept until backward frees them) and the op's non-tensor
parameters. Leaves (tensors you create) have no node. Operators and methods such as
``x.tanh()`` are attached by ``autograd.ops`` from the op registry, so every op is declared
exactly once; the in-place methods (``add_``, ``+=``, ...) are in ``autograd.inplace``.

Version counters (PyTorch's): every in-place change of a tensor's values (an in-place op,
an optimizer step, assigning ``.data``) counts as a new version of its storage, shared by
the tensors that alias it (``detach()``, views made by reshape or indexing). A node
remembers when it was recorded, and backward through a value it saved that changed since
is an error naming the op, the tensor and both versions, never a silently wrong gradient.
"""

from __future__ import annotations

import os
import threading
import traceback
import weakref
from collections import deque
from itertools import count
from typing import Any

import numpy as np

from . import mode

_FLOATS = (np.float16, np.float32, np.float64)

_seq = count()  # next(_seq) numbers nodes in creation order: a topological order

# The in-place clock: every in-place change takes the next tick, and clock[0] holds the
# latest. A node stores the tick current when it was recorded, so backward knows with one
# comparison that nothing was changed in place since (the common case), and looks closer
# only otherwise. next() on a count is atomic, so threads never share a tick.
_ticks = count(1)
clock = [0]
_tick_lock = threading.Lock()


class Version:
    """The version counter of one storage (an array and the tensors that alias it).

    ``version`` counts its in-place changes; ``log`` keeps the ticks of the latest ones, so
    an error can say which version a node saved. ``owner`` is the node whose output this
    storage is, when that node kept its output for its derivative rule. ``views`` tells
    that a view op (reshape, indexing, ...) made a tensor of this storage: the graph then
    relates them, and a recorded in-place change of one would leave the other's graph
    wrong, so it is refused.
    """

    __slots__ = ("version", "log", "owner", "views")

    def __init__(self, owner: Node | None = None, version: int = 0) -> None:
        self.version = version
        self.log: deque[tuple[int, int]] = deque(maxlen=16)  # (tick, version after it)
        self.owner = owner
        self.views = False

    def version_at(self, tick: int) -> tuple[int, bool]:
        """The version this storage had at ``tick``, and whether that is exact: the log
        keeps only the latest changes, so before them it knows only an upper bound."""
        for t, v in reversed(self.log):
            if t <= tick:
                return v, True
        if not self.log:
            return self.version, True
        first = self.log[0][1]
        return first - 1, first == 1

    def changed_since(self, tick: int) -> bool:
        return bool(self.log) and self.log[-1][0] > tick


class _Stale:
    """Stands in a node's ``out`` once the output it saved was changed in place."""

    __slots__ = ("version", "tick")

    def __init__(self, version: int, tick: int) -> None:
        self.version, self.tick = version, tick


class Node:
    """One recorded op application.

    ``inputs`` holds what the derivative rules read: the input tensors they use (and raw
    constants), and, for inputs whose values they never read, the input's own Node (which
    knows its ``shape`` and ``dtype``), so those arrays are not kept alive; ``out`` is the
    output array when the rules read it. Leaves are always kept. Backward sets
    ``inputs``, ``out`` and ``params`` to ``None`` unless ``retain_graph=True``.

    Nodes are made only by ``apply``. ``seq`` numbers them in creation order (an op's
    inputs always exist before it), which the engine uses as its topological order.
    ``plain`` says that ``inputs`` holds no tensor (only Nodes and constants), so backward
    hands it to the numpy rules as it is, converting nothing: measured 3% of W3's time.
    ``needs`` is the tuple of the indices of the inputs that need a gradient. ``tick`` is
    the in-place clock when the node was recorded. ``params`` entries whose names start
    with an underscore are forward caches for the derivative rule. Nothing here exists
    for pictures: ``autograd.viz`` keeps what it draws itself (``autograd.graph``).
    """

    __slots__ = ("op", "inputs", "plain", "out", "params", "shape", "dtype", "seq", "needs",
                 "tick", "__weakref__")

    def __repr__(self) -> str:
        return f"<Node {self.op.name}>"


class Tensor:
    """An n-dimensional array that records the operations applied to it.

    ``Tensor(data, requires_grad=False, dtype=None)``: ``data`` is anything ``numpy.asarray``
    takes. Python floats and float lists become float64 (numpy's default and what gradient
    checks need); pass ``dtype=np.float32`` for single precision. Every op keeps its
    input's dtype. Only floating tensors can require grad.

    ``np.asarray(t)`` (or ``t.numpy()``) gives the array and leaves the graph; numpy
    functions called on a tensor run the registered op of the same name, and refuse
    (TypeError) when they would silently drop a gradient.
    """

    __slots__ = ("_data", "grad", "requires_grad", "grad_fn", "_name", "_vc", "__weakref__")
    __array_priority__ = 1000  # so ndarray <op> Tensor defers to Tensor's reflected ops

    def __init__(self, data: Any, requires_grad: bool = False, dtype: Any = None,
                 name: str | None = None) -> None:
        self._vc: Version | None = None
        if isinstance(data, Tensor):
            # the same storage: an in-place change of either is a change of both
            self._vc = data._version_counter()
            data = data._data
        arr = np.asarray(data, dtype=dtype)
        if dtype is None and arr.dtype.kind in "iu" and _looks_float(data):
            arr = arr.astype(np.float64)
        elif not arr.dtype.isnative:
            # Big-endian data (read from a file, say) in native order, as numpy's results
            # are: an op that keeps its input's dtype would otherwise change it.
            arr = arr.astype(arr.dtype.newbyteorder("="))
        if self._vc is not None and not np.may_share_memory(arr, data):
            self._vc = None  # converted, so a copy: a storage of its own
        self._data = arr
        self.grad: Tensor | None = None
        self.grad_fn: Node | None = None
        self._name = name
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    # -- basic attributes -------------------------------------------------------------
    @property
    def data(self) -> np.ndarray:
        """The values as a numpy array (shared, not copied). Assigning an array or a
        Tensor replaces them, as a new version (see the module docstring); changing the
        array in place with numpy is invisible to autograd, as ``.data`` is in PyTorch:
        prefer the in-place ops (``w -= lr * w.grad`` under ``no_grad()``)."""
        return self._data

    @data.setter
    def data(self, value: Any) -> None:
        if value is self._data:  # changed in place (w.data -= ...): a new version
            self._changed()
            return
        if isinstance(value, Tensor):
            value = value._data
        arr = np.asarray(value)
        if not arr.dtype.isnative:
            arr = arr.astype(arr.dtype.newbyteorder("="))
        if self.requires_grad and arr.dtype.type not in _FLOATS:
            raise TypeError(f"Tensor.data: a tensor that requires grad needs floating data, "
                            f"got dtype {arr.dtype}")
        if not np.may_share_memory(arr, self._data):
            # other memory: no longer an alias of anything, but its versions go on, so a
            # graph that saved the old values still sees the change
            self._vc = Version(version=self._version)
        self._data = arr
        self._changed()

    @property
    def name(self) -> str | None:
        """A label for pictures."""
        return self._name

    @name.setter
    def name(self, value: str | None) -> None:
        self._name = value

    @property
    def shape(self) -> tuple[int, ...]:
        return self._data.shape

    @property
    def ndim(self) -> int:
        return self._data.ndim

    @property
    def dtype(self) -> np.dtype:
        return self._data.dtype

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def _version(self) -> int:
        """How many times this tensor's storage was changed in place (PyTorch's name)."""
        return 0 if self._vc is None else self._vc.version

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self._data)

    def __iter__(self) -> Any:
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(len(self._data)))

    def item(self) -> Any:
        """The value of a one-element tensor as a Python number."""
        if self._data.size != 1:
            raise ValueError(
                f"item(): only one-element tensors can be converted to a Python number, "
                f"this one has shape {self.shape}; index it or reduce it first"
            )
        return self._data.item()

    def numpy(self) -> np.ndarray:
        """The underlying array (shared, not copied; detach first if you mutate it)."""
        return self._data

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        if copy:
            return np.array(self._data, dtype=dtype, copy=True)
        return np.asarray(self._data, dtype=dtype)  # op results on 0-d data are numpy scalars

    def tolist(self) -> Any:
        return self._data.tolist()

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError(f"only integer tensors of one element can be used as an index, "
                            f"got dtype {self._data.dtype} and shape {self.shape}")
        return int(self._data.item())

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise ValueError(
                f"the truth value of a tensor of shape {self.shape} is ambiguous; "
                "use .any() or .all() on .data"
            )
        return bool(self._data)

    __hash__ = object.__hash__  # == is elementwise, so identity is the hash

    # -- graph bookkeeping ------------------------------------------------------------
    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set ``requires_grad`` in place (only on leaves and floating dtypes).

        Which inputs of an op need a gradient is settled when the op runs: set this
        before the forward pass, not between it and ``backward()``."""
        if requires_grad and self._data.dtype.type not in _FLOATS:
            raise TypeError(
                f"requires_grad=True needs floating data, got dtype {self._data.dtype}; "
                "convert first, e.g. Tensor(x, dtype=np.float64, requires_grad=True)"
            )
        if not requires_grad and self.grad_fn is not None:
            raise RuntimeError(
                "requires_grad_(False) on a non-leaf tensor; use .detach() instead"
            )
        self.requires_grad = bool(requires_grad)
        return self

    def detach(self) -> Tensor:
        """A new leaf sharing this tensor's data (and its version counter), cut from the
        graph."""
        t = wrap(self._data)
        t._vc = self._version_counter()
        return t

    def _version_counter(self) -> Version:
        """This storage's counter, made on first need and then shared by its aliases."""
        vc = self._vc
        if vc is None:
            node = self.grad_fn
            vc = self._vc = Version(node if node is not None and node.out is not None
                                    else None)
        return vc

    def _changed(self) -> None:
        """Count an in-place change of this tensor's values: a new version of its storage.

        A node that saved these values before now refuses to backpropagate through them.
        Optimizers call this after updating a parameter (``autograd.increment_version``)."""
        vc = self._version_counter()
        with _tick_lock:  # the clock only moves forward, whatever the threads do
            tick = next(_ticks)
            clock[0] = tick
            vc.version += 1
            vc.log.append((tick, vc.version))
        if vc.owner is not None or self.grad_fn is not None:  # not for a leaf's update
            data = self._data
            for node in (vc.owner, self.grad_fn):
                out = node.out if node is not None else None
                if (out is not None and type(out) is not _Stale
                        and (out is data or np.may_share_memory(out, data))):
                    node.out = _Stale(vc.version, tick)

    def __deepcopy__(self, memo: dict) -> Tensor:
        """A copy of a leaf: its data, grad and flags. Copying a tensor made by an op would
        duplicate a node of the graph, so that is refused, as in PyTorch."""
        if self.grad_fn is not None:
            raise RuntimeError(
                f"deepcopy of a tensor made by op '{self.grad_fn.op.name}' is not supported; "
                "copy t.detach() instead (a leaf with the same data)"
            )
        new = type(self).__new__(type(self))
        new._data = self._data.copy()
        new.grad = None if self.grad is None else Tensor(self.grad._data.copy())
        new.grad_fn = None
        new._name = self._name
        new._vc = None
        new.requires_grad = self.requires_grad
        memo[id(self)] = new
        return new

    def backward(self, gradient: Any = None, retain_graph: bool = False,
                 create_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad`` (see ``engine.backward``)."""
        from .engine import backward

        backward(self, gradient, retain_graph=retain_graph, create_graph=create_graph)

    def retain_grad(self) -> Tensor:
        """Keep this non-leaf tensor's gradient in ``.grad`` after backward (leaves always
        keep theirs)."""
        from .engine import retain_grad

        retain_grad(self)
        return self

    def zero_grad(self) -> None:
        self.grad = None

    # -- display ----------------------------------------------------------------------
    def __repr__(self) -> str:
        body = np.array2string(self._data, precision=4, threshold=20, edgeitems=3,
                               separator=", ", prefix="tensor(")
        extras = []
        if self._data.dtype != np.float64:
            extras.append(f"dtype={self._data.dtype}")
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


def increment_version(t: Tensor) -> None:
    """Record that ``t``'s values were changed in place by code autograd does not see (a
    numpy update of ``t.data``): backward through an op that saved the old values is then
    an error instead of a wrong gradient. PyTorch's ``autograd.graph.increment_version``."""
    t._changed()


_new = object.__new__


def wrap(data: np.ndarray) -> Tensor:
    """A leaf Tensor around an existing array, skipping __init__'s conversions (hot path)."""
    t = _new(Tensor)
    t._data = data
    t.grad = None
    t.grad_fn = None
    t._name = None
    t._vc = None
    t.requires_grad = False
    return t


# A recording observer (``autograd.graph``) sees every node as it is made. ``watched[0]``
# is true while an observer is subscribed or any thread is in anomaly mode: otherwise
# checking it is the only cost.
record_observers = mode.record_observers
watched = mode.watched
_modes = mode.state
_changed_modes = mode.changed


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
    out._data = data
    out.grad = None
    out._name = None
    out._vc = None
    # Grad mode is per thread; while no thread has left the defaults, it is on (one read).
    if not _changed_modes[0] or _modes.grad_enabled:
        # Which inputs need a gradient, as a tuple of indices (shared constants for the
        # common ones); None when none does (nothing to record).
        n = len(inputs)
        if n == 1:
            x = inputs[0]
            needs = _FIRST if isinstance(x, Tensor) and x.requires_grad else None
        elif n == 2:
            a, b = inputs
            if isinstance(a, Tensor) and a.requires_grad:
                needs = _BOTH if isinstance(b, Tensor) and b.requires_grad else _FIRST
            else:
                needs = _SECOND if isinstance(b, Tensor) and b.requires_grad else None
        else:
            needs = tuple([i for i, x in enumerate(inputs)
                           if isinstance(x, Tensor) and x.requires_grad]) or None
        if needs is not None:
            # Nodes are only made here, field by field: this runs once per recorded op.
            node = Node()  # no __init__: the type call is faster than object.__new__
            node.op = op
            node.params = params
            node.seq = next(_seq)
            if like is None:
                node.shape = data.shape
                node.dtype = data.dtype
            else:
                node.shape = like.shape
                node.dtype = like.dtype
            node.out = data if op.saves_out else None
            node.needs = needs
            node.tick = clock[0]
            # Keep only what the rules read; an input they don't read is replaced by
            # the node that made it, so its array can be freed as soon as possible.
            saves = op.saves if op.reads is None else op.saves_by_needs[needs]
            # ``plain``: the kept inputs are Nodes and constants only, which the numpy
            # rules read as they are (backward then converts nothing).
            if saves is None:
                node.inputs = inputs
                node.plain = False
            elif n == 1:
                if saves:
                    node.inputs = inputs
                    node.plain = False
                else:
                    xnode = x.grad_fn
                    node.inputs = (xnode or x,)
                    node.plain = xnode is not None
            elif n == 2:  # written out: binary ops are the next commonest
                plain = True
                if isinstance(a, Tensor):
                    if 0 in saves or a.grad_fn is None:
                        plain = False
                    else:
                        a = a.grad_fn
                if isinstance(b, Tensor):
                    if 1 in saves or b.grad_fn is None:
                        plain = False
                    else:
                        b = b.grad_fn
                node.inputs = (a, b)
                node.plain = plain
            else:
                node.inputs = _kept(inputs, saves)
                node.plain = False
            out.grad_fn = node
            out.requires_grad = True
            if watched[0]:  # anomaly mode in some thread, or an observer: look closer
                if _changed_modes[0] and _modes.anomaly:
                    _check_anomaly(op, node, data)
                for observe in record_observers:
                    observe(node, out)
            return out
    out.grad_fn = None
    out.requires_grad = False
    return out


_FIRST, _SECOND, _BOTH = (0,), (1,), (0, 1)


def _kept(inputs: tuple, saves: tuple[int, ...]) -> tuple:
    """``inputs`` with each tensor the rules do not read replaced by its node. (A helper:
    a comprehension in apply would make ``saves`` a cell on every call.)"""
    return tuple([x if i in saves or not isinstance(x, Tensor) else x.grad_fn or x
                  for i, x in enumerate(inputs)])


def view_of(out: Tensor, x: Tensor) -> Tensor:
    """Mark ``out`` (made by a view op: reshape, transpose, indexing) as sharing ``x``'s
    storage when its array is a view of ``x``'s, so an in-place change of either is
    counted for both. (numpy gives a view the array owning the memory as its ``base``.)"""
    base = out._data.base
    if base is not None and (base is x._data or base is x._data.base):
        vc = out._vc = x._version_counter()
        vc.views = True
    return out


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def _user_frame() -> str:
    """file:line of the innermost frame outside the autograd package (where the op was called)."""
    for frame in reversed(traceback.extract_stack()[:-2]):
        if not os.path.abspath(frame.filename).startswith(_PACKAGE_DIR):
            return f"{frame.filename}:{frame.lineno}"
    return "<unknown>"


# Where each node recorded under detect_anomaly was created (user code's file:line).
origins: weakref.WeakKeyDictionary[Node, str] = weakref.WeakKeyDictionary()


def _check_anomaly(op: Any, node: Node, data: np.ndarray) -> None:
    origin = origins[node] = _user_frame()
    if data.dtype.kind == "f" and not np.isfinite(data).all():
        raise FloatingPointError(
            f"detect_anomaly: op '{op.name}' produced a non-finite value (NaN or inf) in its "
            f"forward result of shape {data.shape}; created at {origin}"
        )

"""Hypothesis strategies for tensors and op inputs (public API; needs ``hypothesis``).

    from hypothesis import given
    from autograd.testing import tensors, logits, class_labels

Values are drawn from modest ranges (finite differences need well-scaled inputs) and can
be kept away from kinks, ties and domain edges: ``elements(domain)`` knows the domains
the op registry asks for ("real", "positive", "nonzero", "unit", ("away", points),
("lattice", offset), "distinct").
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from .tensor import Tensor

MARGIN = 0.1  # distance kept from kinks: far beyond a finite-difference step


def shapes(min_dims: int = 0, max_dims: int = 3, min_side: int = 1,
           max_side: int = 4) -> st.SearchStrategy[tuple[int, ...]]:
    """Array shapes, 0-d scalars included by default."""
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side,
                            max_side=max_side)


def broadcastable_shapes(num_shapes: int, min_dims: int = 0, max_dims: int = 3,
                         max_side: int = 4) -> st.SearchStrategy[tuple[tuple[int, ...], ...]]:
    """``num_shapes`` shapes that broadcast together (size-1 and missing axes included)."""
    return hnp.mutually_broadcastable_shapes(num_shapes=num_shapes, min_dims=min_dims,
                                             max_dims=max_dims, max_side=max_side).map(
        lambda bs: bs.input_shapes)


def _away(points: tuple[float, ...]) -> Any:
    def push(v: float) -> float:
        for p in points:
            if abs(v - p) < MARGIN:
                return p + (MARGIN if v >= p else -MARGIN)
        return v

    return push


def elements(domain: Any = "real") -> st.SearchStrategy[float]:
    """Floats for one domain: see the module docstring."""
    if domain == "real":
        return st.floats(-2.0, 2.0)
    if domain == "positive":
        return st.floats(0.5, 3.0)
    if domain == "nonzero":
        return st.floats(0.5, 2.0).flatmap(lambda v: st.sampled_from([v, -v]))
    if domain == "unit":
        return st.floats(0.0, 1.0)
    if isinstance(domain, tuple) and domain[0] == "away":
        points = domain[1] if isinstance(domain[1], tuple) else (domain[1],)
        return st.floats(-2.0, 2.0).map(_away(points))
    if isinstance(domain, tuple) and domain[0] == "lattice":
        return st.integers(-4, 4).map(lambda k: 0.5 * k + domain[1])
    raise ValueError(f"elements: unknown domain {domain!r}")


def arrays(shape: tuple[int, ...] | st.SearchStrategy | None = None, domain: Any = "real",
           dtype: Any = np.float64) -> st.SearchStrategy[np.ndarray]:
    """ndarrays of the given (or a drawn) shape with values from ``domain``.

    ``domain="distinct"`` gives pairwise-distinct values (no ties for max/min).
    """
    shape_st = shapes() if shape is None else shape
    if not isinstance(shape_st, st.SearchStrategy):
        shape_st = st.just(tuple(shape_st))
    if domain == "distinct":
        return shape_st.flatmap(lambda s: st.permutations(range(int(np.prod(s)))).map(
            lambda p: (np.asarray(p, dtype=dtype) * 0.3 - 1.0).reshape(s)))
    return shape_st.flatmap(lambda s: hnp.arrays(dtype, s, elements=elements(domain)))


def tensors(shape: tuple[int, ...] | st.SearchStrategy | None = None, domain: Any = "real",
            dtype: Any = np.float64, requires_grad: bool = True) -> st.SearchStrategy[Tensor]:
    """Tensors of the given (or a drawn) shape and dtype."""
    return arrays(shape, domain, dtype).map(
        lambda a: Tensor(a, requires_grad=requires_grad and a.dtype.kind == "f"))


def logits(batch: int | None = None, classes: int | None = None,
           scale: float = 5.0) -> st.SearchStrategy[np.ndarray]:
    """(batch, classes) logit arrays with values in [-scale, scale]."""
    b = st.integers(1, 8) if batch is None else st.just(batch)
    c = st.integers(2, 6) if classes is None else st.just(classes)
    return st.tuples(b, c).flatmap(lambda bc: hnp.arrays(
        np.float64, bc, elements=st.floats(-scale, scale)))


def probability_vectors(shape: tuple[int, ...]) -> st.SearchStrategy[np.ndarray]:
    """Arrays whose last axis holds probabilities summing to 1 (all entries > 0)."""
    return hnp.arrays(np.float64, shape, elements=st.floats(0.05, 1.0)).map(
        lambda a: a / a.sum(axis=-1, keepdims=True))


def class_labels(shape: tuple[int, ...], num_classes: int) -> st.SearchStrategy[np.ndarray]:
    """Integer labels in [0, num_classes)."""
    return hnp.arrays(np.int64, shape, elements=st.integers(0, num_classes - 1))


def indices(shape: tuple[int, ...]) -> st.SearchStrategy[Any]:
    """An index into an array of ``shape``: a slice, an integer, an integer array (with
    repeats) or a boolean mask."""
    n = shape[0]
    return st.one_of(
        st.builds(slice, st.integers(0, n - 1), st.integers(1, n), st.sampled_from([1, 2])),
        st.integers(-n, n - 1),
        hnp.arrays(np.int64, st.integers(1, 5), elements=st.integers(0, n - 1)),
        hnp.arrays(np.bool_, shape),
        st.just((slice(None), Ellipsis)),
    )


class Draw:
    """The drawing interface the op registry's samplers use (see ``OpDef.sample``)."""

    def __init__(self, draw: Any) -> None:
        self._draw = draw

    def shape(self, min_dims: int = 0, max_dims: int = 3) -> tuple[int, ...]:
        return self._draw(shapes(min_dims, max_dims))

    def broadcast_shapes(self, n: int) -> tuple[tuple[int, ...], ...]:
        return self._draw(broadcastable_shapes(n))

    def array(self, shape: tuple[int, ...], domain: Any = "real") -> np.ndarray:
        return self._draw(arrays(tuple(shape), domain))

    def mask(self, shape: tuple[int, ...]) -> np.ndarray:
        return self._draw(hnp.arrays(np.bool_, shape))

    def axis(self, ndim: int) -> Any:
        if ndim == 0:
            return None
        single = st.integers(-ndim, ndim - 1)
        many = st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim,
                        unique=True).map(tuple)
        return self._draw(st.one_of(st.none(), single, many))

    def boolean(self) -> bool:
        return self._draw(st.booleans())

    def integers(self, lo: int, hi: int) -> int:
        return self._draw(st.integers(lo, hi))

    def choice(self, options: list) -> Any:
        return self._draw(st.sampled_from(options))

    def permutation(self, n: int) -> tuple[int, ...]:
        return tuple(self._draw(st.permutations(range(n))))

    def labels(self, shape: tuple[int, ...], num_classes: int) -> np.ndarray:
        return self._draw(class_labels(shape, num_classes))

    def probabilities(self, shape: tuple[int, ...]) -> np.ndarray:
        return self._draw(probability_vectors(shape))

    def index(self, shape: tuple[int, ...]) -> Any:
        return self._draw(indices(shape))


@st.composite
def op_inputs(draw: Any, op: Any) -> tuple[tuple, dict]:
    """Valid ``(args, kwargs)`` for a registered op, float arrays as leaf tensors that
    require grad where the op differentiates them."""
    args, kwargs = op.sample(Draw(draw))
    out: list[Any] = []
    for i, a in enumerate(args):
        if isinstance(a, list):  # a sequence argument (concatenate, stack)
            out.append([_leaf(x, True) for x in a])
        else:
            out.append(_leaf(a, "variadic" in op.tags or
                             (i < len(op.vjps) and op.vjps[i] is not None)))
    return tuple(out), kwargs


def _leaf(a: Any, differentiable: bool) -> Any:
    if isinstance(a, np.ndarray) and a.dtype.kind == "f":
        return Tensor(a, requires_grad=differentiable)
    return a


def flat_call(op: Any, args: tuple, kwargs: dict) -> tuple[Any, list]:
    """``(fn, inputs)`` such that ``fn(*inputs)`` calls the op, every tensor a top-level
    argument: the form ``gradcheck`` takes, also for ops that take a list of tensors."""
    slots: list[tuple[int, int | None]] = []
    flat: list[Any] = []
    for i, a in enumerate(args):
        if isinstance(a, list):
            for j, x in enumerate(a):
                slots.append((i, j))
                flat.append(x)
        else:
            slots.append((i, None))
            flat.append(a)

    def fn(*xs: Any) -> Any:
        rebuilt: list[Any] = [[] if isinstance(a, list) else None for a in args]
        for (i, j), x in zip(slots, xs):
            if j is None:
                rebuilt[i] = x
            else:
                rebuilt[i].append(x)
        return op.fn(*rebuilt, **kwargs)

    fn.__name__ = op.name
    return fn, flat


def concurrently(fn: Any, args: list[tuple], switch_interval: float = 1e-6) -> list[Any]:
    """``[fn(*a) for a in args]``, each call in its own thread, all at once, with the
    interpreter switching threads every ``switch_interval`` seconds (so they interleave
    between almost any two bytecodes): compare with the results of the plain loop to test
    that threads running autograd at once each get their own results. An exception in a
    thread is raised here."""
    import sys
    import threading

    results: list[Any] = [None] * len(args)
    errors: list[BaseException] = []
    start = threading.Barrier(len(args))  # no thread gets a head start

    def run(i: int) -> None:
        try:
            start.wait()
            results[i] = fn(*args[i])
        except BaseException as e:  # handed to the caller below
            errors.append(e)

    old = sys.getswitchinterval()
    sys.setswitchinterval(switch_interval)
    try:
        threads = [threading.Thread(target=run, args=(i,)) for i in range(len(args))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(old)
    if errors:
        raise errors[0]
    return results

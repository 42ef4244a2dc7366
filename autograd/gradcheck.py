"""Finite-difference checks of first and second derivatives (public API).

``gradcheck(fn, inputs)`` compares the gradient the engine computes for
``sum(fn(*inputs) * v)`` (a random cotangent ``v``) with central differences,
(f(x + eps) - f(x - eps)) / (2 eps), element by element. ``gradgradcheck`` does the same
for the gradient itself, which checks the backward pass's own derivative.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .engine import grad
from .mode import enable_grad, no_grad
from .tensor import Tensor


class GradcheckError(AssertionError):
    """An analytic derivative disagrees with its finite-difference estimate."""


def _outputs(result: Any) -> list[Tensor]:
    items = result if isinstance(result, (tuple, list)) else [result]
    return [r if isinstance(r, Tensor) else Tensor(r) for r in items if r is not None]


def _checked_inputs(inputs: Sequence[Any], who: str) -> list[Tensor]:
    tensors = [x for x in inputs if isinstance(x, Tensor) and x.requires_grad]
    if not tensors:
        raise ValueError(f"{who}: no input requires grad; pass tensors with requires_grad=True")
    for i, x in enumerate(tensors):
        if x.dtype != np.float64:
            raise ValueError(f"{who}: input {i} has dtype {x.dtype}; finite differences need "
                             "float64 inputs (Tensor(x, dtype=np.float64, requires_grad=True))")
    return tensors


def _weighted_sum(outs: list[Tensor], vs: list[np.ndarray]) -> Tensor | None:
    total = None
    for o, v in zip(outs, vs):
        if o.requires_grad:
            term = (o * v).sum()
            total = term if total is None else total + term
    return total


def _fmt_index(idx: tuple) -> str:
    return str(idx) if idx else "()"


def gradcheck(fn: Callable[..., Any], inputs: Sequence[Any], eps: float = 1e-6,
              atol: float = 1e-5, rtol: float = 1e-3, seed: int = 0,
              raise_exception: bool = True, _record: bool = False) -> bool:
    """Check first derivatives of ``fn`` at ``inputs`` against central differences.

    ``inputs`` is a sequence of arguments; the float64 tensors among them with
    ``requires_grad=True`` are checked. ``fn`` returns a tensor or a tuple of tensors.
    On a mismatch raises ``GradcheckError`` naming the input, the element, the analytic
    and the numeric value (or returns False when ``raise_exception=False``).
    """
    inputs = list(inputs)
    checked = _checked_inputs(inputs, "gradcheck")
    rng = np.random.default_rng(seed)
    with enable_grad():
        outs = _outputs(fn(*inputs))
    vs = [rng.standard_normal(o.shape) for o in outs]
    with enable_grad():
        total = _weighted_sum(outs, vs)
        analytic = (grad(total, checked, allow_unused=True) if total is not None
                    else (None,) * len(checked))
    analytic_arrays = [np.zeros(x.shape) if a is None else a.data
                       for x, a in zip(checked, analytic)]

    def f() -> float:
        # A function that itself differentiates (gradgradcheck's) must record to run.
        with enable_grad() if _record else no_grad():
            res = _outputs(fn(*inputs))
        return float(sum(np.sum(o.data * v) for o, v in zip(res, vs)))

    for i, (x, a) in enumerate(zip(checked, analytic_arrays)):
        if np.shape(a) != x.shape:
            raise GradcheckError(f"gradcheck: the gradient of input {i} has shape "
                                 f"{np.shape(a)} but the input has shape {x.shape}")
        # Perturb x.data itself, element by element: x.data.reshape(-1) would be a copy
        # for a non-contiguous array (a transposed leaf), and perturbing it nothing.
        data = x.data
        numeric = np.empty(x.shape)
        for j in np.ndindex(*x.shape):
            orig = data[j]
            data[j] = orig + eps
            plus = f()
            data[j] = orig - eps
            minus = f()
            data[j] = orig
            numeric[j] = (plus - minus) / (2 * eps)
        bad = np.abs(a - numeric) > atol + rtol * np.abs(numeric)
        if bad.any():
            idx = tuple(int(k) for k in np.argwhere(bad)[0])
            msg = (f"gradcheck failed for {getattr(fn, '__name__', fn)!s}: input {i} "
                   f"(shape {x.shape}), element {_fmt_index(idx)}: analytic {a[idx]!r}, "
                   f"numeric {numeric[idx]!r} (atol={atol}, rtol={rtol})")
            if raise_exception:
                raise GradcheckError(msg)
            return False
    return True


def gradgradcheck(fn: Callable[..., Any], inputs: Sequence[Any], eps: float = 1e-6,
                  atol: float = 1e-5, rtol: float = 1e-3, seed: int = 0,
                  raise_exception: bool = True) -> bool:
    """Check second derivatives: gradcheck of the gradient of ``sum(fn(*inputs) * v)``.

    The gradient is computed with ``create_graph=True``, so this verifies that the backward
    pass is itself correctly differentiable (Hessian-vector products, grad of grad). Like
    PyTorch's, it differentiates with respect to the cotangent ``v`` too: inside a larger
    graph the gradient reaching an op depends on the inputs, so a rule must be
    differentiable in it, not only in the op's inputs. And the recorded backward's values
    must equal the plain (numpy) backward's, which gradcheck alone never compares.
    """
    inputs = list(inputs)
    checked = _checked_inputs(inputs, "gradgradcheck")
    rng = np.random.default_rng(seed + 1)
    with enable_grad():
        outs = _outputs(fn(*inputs))
    vs = [rng.standard_normal(o.shape) for o in outs]
    n = len(inputs)
    name = getattr(fn, "__name__", fn)

    def first_derivative(*args: Any) -> tuple:
        xs, cotangents = args[:n], list(args[n:])
        ts = [x for x in xs if isinstance(x, Tensor) and x.requires_grad]
        total = _weighted_sum(_outputs(fn(*xs)), cotangents)
        if total is None:
            return tuple(Tensor(np.zeros(t.shape)) for t in ts)
        gs = grad(total, ts, create_graph=True, allow_unused=True)
        return tuple(Tensor(np.zeros(t.shape)) if g is None else g for t, g in zip(ts, gs))

    first_derivative.__name__ = f"grad of {name!s}"
    with enable_grad():
        recorded = first_derivative(*inputs, *vs)
        total = _weighted_sum(_outputs(fn(*inputs)), vs)
        plain = (grad(total, checked, allow_unused=True) if total is not None
                 else (None,) * len(checked))
    for i, (x, r, p) in enumerate(zip(checked, recorded, plain)):
        p = np.zeros(x.shape) if p is None else p.data
        if r.shape != np.shape(p) or not np.allclose(r.data, p, rtol=1e-7, atol=1e-9):
            msg = (f"gradgradcheck failed for {name!s}: the gradient of input {i} (shape "
                   f"{x.shape}) recorded with create_graph=True differs from the plain "
                   f"backward's: {r.data!r} vs {p!r}; the rule's Tensor-backend path is wrong")
            if raise_exception:
                raise GradcheckError(msg)
            return False
    cotangents = [Tensor(v, requires_grad=True) for v in vs]
    return gradcheck(first_derivative, inputs + cotangents, eps=eps, atol=atol, rtol=rtol,
                     seed=seed, raise_exception=raise_exception, _record=True)

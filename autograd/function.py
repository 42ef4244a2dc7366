"""Your own op, PyTorch's way: subclass ``Function`` and write ``forward`` and ``backward``.

    class Cube(autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x * x            # runs without recording

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 3 * x * x        # Tensor ops: differentiable again

    y = Cube.apply(x)

``forward`` gets the arguments as given (Tensors stay Tensors) and runs with recording off;
it returns one Tensor (or array). ``backward`` gets the gradient of that output as a
Tensor and returns one gradient per argument of ``forward`` (``None`` for arguments that
need none). Written with Tensor ops, it is recorded under ``create_graph=True``, so the op
is twice differentiable; ``gradcheck``/``gradgradcheck`` check it like any op. The engine
checks each gradient's shape (broadcast gradients are summed back) and names the class in
its errors; ``ctx.saved_tensors`` refuses values changed in place since they were saved.

Differences from PyTorch: one output per Function; arguments are positional.
For ops written against the array backend with a sampler for the property tests, see
``autograd.defop``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import mode
from .registry import OpDef
from .tensor import Tensor, apply, wrap


class FunctionCtx:
    """What ``forward`` leaves for ``backward``: saved tensors, ``needs_input_grad``, and
    any attribute you set (``ctx.alpha = alpha``)."""

    def __init__(self, needs_input_grad: tuple[bool, ...]) -> None:
        self.needs_input_grad = needs_input_grad
        self._saved: tuple[tuple[Tensor | None, int], ...] = ()
        self._function = ""
        self._shapes: tuple = ()

    def save_for_backward(self, *tensors: Tensor | None) -> None:
        for t in tensors:
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(f"{self._function}: save_for_backward takes tensors (or None), "
                                f"got {type(t).__name__}; keep other values as ctx attributes")
        self._saved = tuple((t, 0 if t is None else t._version) for t in tensors)

    @property
    def saved_tensors(self) -> tuple[Tensor | None, ...]:
        for i, (t, version) in enumerate(self._saved):
            if t is not None and t._version != version:
                raise RuntimeError(
                    f"backward through '{self._function}': saved tensor {i} (shape {t.shape}) "
                    f"was changed in place after forward saved it: it is at version "
                    f"{t._version}, forward saved version {version}. Change it after "
                    "backward, or save a clone()")
        return tuple(t for t, _ in self._saved)

    def mark_non_differentiable(self, *tensors: Tensor) -> None:
        """Accepted for PyTorch compatibility; with one output per Function, an output
        that is not differentiable is one whose backward returns None."""


class Function:
    """Subclass with static ``forward(ctx, *args)`` and ``backward(ctx, grad)``; call
    ``YourFunction.apply(*args)``. See the module docstring."""

    @staticmethod
    def forward(ctx: FunctionCtx, *args: Any) -> Any:
        raise NotImplementedError("a Function subclass must define forward(ctx, *args)")

    @staticmethod
    def backward(ctx: FunctionCtx, grad: Any) -> Any:
        raise NotImplementedError("a Function subclass must define backward(ctx, grad)")

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Tensor:
        name = cls.__name__
        if kwargs:
            raise TypeError(f"{name}.apply: pass arguments positionally (as PyTorch's "
                            f"Function.apply), got keywords {sorted(kwargs)}")
        recording = not (mode.changed[0] and not mode.state.grad_enabled)
        needs = tuple(recording and isinstance(a, Tensor) and a.requires_grad for a in args)
        ctx = FunctionCtx(needs)
        ctx._function = name
        ctx._shapes = tuple(np.shape(a._data) if isinstance(a, Tensor) else None for a in args)
        with mode.no_grad():
            out = cls.forward(ctx, *args)
        if isinstance(out, (tuple, list)):
            raise TypeError(f"{name}.forward returned {len(out)} values; a cygrad Function "
                            "has one output (split it into several Functions)")
        data = out._data if isinstance(out, Tensor) else np.asarray(out)
        if any(isinstance(a, Tensor) and np.may_share_memory(data, a._data) for a in args):
            data = data.copy()  # an input's own memory: the output must not alias it
        if data.dtype.kind != "f" and any(needs):
            raise TypeError(f"{name}.forward returned dtype {data.dtype}; a differentiable "
                            "output must be floating")
        made = apply(_opdef(cls, len(args)), args, data, {"_ctx": ctx})
        if not isinstance(out, Tensor) or data is not out._data or out.grad_fn:
            return made  # an array, an input (or its memory) returned: a tensor of its own
        # The tensor forward returned becomes the output, so a saved output is the one in
        # the graph (its backward can be differentiated through it).
        out.grad_fn, out.requires_grad = made.grad_fn, made.requires_grad
        if made.grad_fn is not None and made.grad_fn.out is not None:
            made.grad_fn.out = out._data
        return out


def _opdef(cls: type, n: int) -> OpDef:
    """The op a Function class records as: one joint rule, a call of ``backward``."""
    cache = cls.__dict__.get("_opdefs")
    if cache is None:
        cache = {}
        cls._opdefs = cache  # type: ignore[attr-defined]
    if n not in cache:
        cache[n] = OpDef(cls.__name__, cls.apply, (None,) * n, label=cls.__name__, saves=(),
                         saves_out=False, joint=_joint(cls, n))
    return cache[n]


def _joint(cls: type, n: int) -> Any:
    def gradients(F: Any, g: Any, y: Any, *args: Any, _ctx: FunctionCtx) -> list:
        """``backward``'s gradients as the engine takes them: arrays, or Tensors when
        the backward pass is recorded (create_graph), where ``backward`` records too."""
        name = cls.__name__
        if F.recording:
            grads = cls.backward(_ctx, g)
        else:
            with mode.no_grad():
                grads = cls.backward(_ctx, wrap(np.asarray(g)))
        if not isinstance(grads, (tuple, list)):
            grads = (grads,)
        if len(grads) != n:
            raise RuntimeError(f"{name}.backward returned {len(grads)} gradients, but forward "
                               f"took {n} arguments; return one per argument (None where none)")
        out = []
        for k, gk in enumerate(grads):
            if gk is None:
                if _ctx.needs_input_grad[k]:  # None means zero, as in PyTorch
                    gk = np.zeros(_ctx._shapes[k], np.asarray(F.raw(g)).dtype)
                    gk = Tensor(gk) if F.recording else gk
            elif not F.recording:
                gk = gk._data if isinstance(gk, Tensor) else np.asarray(gk)
            elif not isinstance(gk, Tensor):
                gk = Tensor(gk)
            out.append(gk)
        return out

    return gradients

"""The op registry: every differentiable op is declared once, with its derivative rules
and a description of the inputs its tests draw.

``@defop(vjps=..., sample=...)`` on an op's public function registers it. The test suite
and the pictures read ``REGISTRY``; nothing keeps a second list, so an op cannot exist
without being gradient-checked (a test also checks that README's op list matches it).

A derivative rule (a *vector-Jacobian product*) has the signature
``rule(F, g, out, *inputs, **params)`` and returns the gradient for one input, given the
gradient ``g`` of the op's output ``out``. ``F`` is a backend: with numpy arrays when the
backward pass is not recorded, with Tensors when ``create_graph=True``. Written once
against ``F``, a rule is both fast and twice differentiable.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Rule = Callable[..., Any]


@dataclass(eq=False)
class OpDef:
    """One registered op.

    ``fn``: the public function (``autograd.<name>``). ``vjps``: one rule per input
    (``None`` for inputs that are not differentiable, like labels). ``sample``: a function
    ``sample(d) -> (args, kwargs)`` that draws valid inputs through the drawing interface
    of ``autograd.testing``, kept away from kinks and ties where the op has them.
    ``second_order``: whether tests also check the derivative of the backward pass.
    ``label``: the name shown in graph pictures.

    ``reads`` (optional) says it per rule: ``reads[i]`` lists the inputs the rule of input
    ``i`` reads, so a node keeps only what the rules of the inputs that need a gradient
    read (``w * c`` with only ``w`` requiring grad keeps ``c``, not ``w``: an optimizer
    step on ``w`` before backward is then fine, as in PyTorch).

    ``joint``, for ops with any number of inputs (concatenate, stack, a ``Function``): one
    rule ``joint(F, g, y, *inputs, **params)`` returning every input's gradient (``None``
    where there is none) in one call, instead of ``vjps``.

    ``saves`` and ``saves_out`` say what the rules read, so a node keeps nothing else
    alive until backward (as PyTorch's saved tensors do): ``saves`` lists the inputs whose
    values the rules use (``None``: all of them), and ``saves_out`` whether they use the
    output ``y``. An intermediate input that is not saved reaches its rule as the Node that
    produced it (a leaf as itself), which still has its ``shape`` and ``dtype``; with
    ``saves_out=False`` the rule gets ``y=None``.
    """

    name: str
    fn: Callable[..., Any]
    vjps: tuple[Rule | None, ...]
    sample: Callable[[Any], tuple[tuple, dict]] | None = None
    second_order: bool = True
    label: str = ""
    method: str | None = None
    tags: tuple[str, ...] = field(default_factory=tuple)
    saves: tuple[int, ...] | None = None
    saves_out: bool = True
    joint: Rule | None = None
    reads: tuple[tuple[int, ...], ...] | None = None
    saves_by_needs: dict = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        # With ``reads``: what a node keeps for each set of inputs needing a gradient,
        # made once (apply looks it up for every op it records).
        if self.reads is not None:
            n = len(self.reads)
            for mask in range(1, 1 << n):
                needs = tuple(i for i in range(n) if mask >> i & 1)
                self.saves_by_needs[needs] = tuple(sorted({j for i in needs
                                                           for j in self.reads[i]}))

    def saves_for(self, needs: tuple[int, ...]) -> tuple[int, ...] | None:
        """The inputs a node keeps when ``needs`` are the inputs that need a gradient."""
        return self.saves if self.reads is None else self.saves_by_needs[needs]

    def __repr__(self) -> str:
        return f"<op {self.name}>"


REGISTRY: dict[str, OpDef] = {}


def passthrough(F: Any, g: Any, y: Any, *inputs: Any, **params: Any) -> Any:
    """The rule of an input whose gradient is the output's, unchanged (both sides of
    ``a + b``, ``a`` of ``a - b``): the engine hands ``g`` on without calling it."""
    return g


def defop(*vjps: Rule | None, sample: Callable | None = None, second_order: bool = True,
          label: str = "", method: str | None = None, name: str | None = None,
          tags: tuple[str, ...] = (), saves: tuple[int, ...] | None = None,
          saves_out: bool = True, joint: Rule | None = None,
          reads: tuple[tuple[int, ...], ...] | None = None) -> Callable[[Callable], Callable]:
    """Register the decorated public function as an op with the given derivative rules.

    Public: your own op joins the registry like the built-in ones. The function computes
    the forward on arrays and wraps the result with ``autograd.tensor.apply(fn.op,
    inputs, data)``; each rule is ``rule(F, g, y, *inputs, **params)``, written against
    the backend ``F`` so it runs on arrays and, under ``create_graph=True``, on Tensors
    (twice differentiable); ``joint=`` gives one rule for all inputs instead. ``sample``
    draws valid inputs for the property tests
    (``autograd.testing.op_inputs``). ``method`` also makes it a Tensor method.
    Registering a name again (re-running a notebook cell) replaces the op, with a warning.
    """

    def register(fn: Callable) -> Callable:
        op_name = name or fn.__name__
        if op_name in REGISTRY:
            warnings.warn(f"defop: op {op_name!r} was registered before; the new definition "
                          "replaces it", stacklevel=2)
        op = OpDef(op_name, fn, tuple(vjps), sample, second_order, label or op_name,
                   method, tuple(tags), saves, saves_out, joint, reads)
        REGISTRY[op_name] = op
        fn.op = op  # type: ignore[attr-defined]
        if method:
            from .tensor import Tensor

            setattr(Tensor, method, fn)
        return fn

    return register

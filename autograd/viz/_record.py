"""What pictures need that the engine does not keep, recorded by watching it.

Importing ``autograd.viz`` subscribes two observers (``autograd.graph``): one sees each op
as it is recorded and keeps its layer scope, a weak reference to the tensor it made and
that tensor's value when small; the other sees each backward step and keeps its number,
the gradient of the node's output when small, and the node's inputs (the skeleton), so
a graph can be drawn after backward released its saved values. For a scalar op it also
keeps what each input received: that share divided by the output's gradient is the
local derivative on the edge, so scalar pictures keep their ``×d`` after a plain
``backward()``. Everything is keyed
weakly by node: it goes when the graph goes. Graphs built before ``autograd.viz`` was
imported have no record; their pictures say so.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import graph, mode
from ..tensor import Node, Tensor

# Outputs up to this size keep a copy of their value and gradient for pictures.
SUMMARY_SIZE = 64


@dataclass(eq=False)
class Record:
    scope: str | None = None
    out: weakref.ref | None = None  # the Tensor the node made
    value: np.ndarray | None = None  # its value, when small
    run: int | None = None  # the backward pass that last ran the node, and its step there
    step: int | None = None
    grad: np.ndarray | None = None  # the gradient of its output in that pass, when small
    parents: tuple | None = None  # its inputs as nodes and leaves (constants as themselves)
    small: bool = False
    needs: int | tuple[int, ...] = ()  # the inputs that got a gradient in that pass ...
    shares: tuple | None = None  # ... and what each got, when every one is a scalar

    def derivative(self, i: int) -> float | None:
        """d out / d input ``i`` from the last backward pass (scalar ops), or None: when
        input ``i`` got no gradient, or the output's gradient was 0 (then the shares are
        0 whatever the derivative)."""
        needs = (self.needs,) if type(self.needs) is int else self.needs
        if self.shares is None or i not in needs or self.grad is None:
            return None
        g = float(self.grad.reshape(()))
        if g == 0 or not np.isfinite(g):
            return None
        return self.shares[needs.index(i)] / g

    @property
    def tensor(self) -> Tensor | None:
        return None if self.out is None else self.out()


records: weakref.WeakKeyDictionary[Node, Record] = weakref.WeakKeyDictionary()


def _on_record(node: Node, out: Tensor) -> None:
    small = out._data.size <= SUMMARY_SIZE
    # copies: the tensor may be changed in place later, the picture shows this moment
    records[node] = Record(scope=mode.state.scope, out=weakref.ref(out),
                           value=np.array(out._data) if small else None, small=small)


def _on_step(run: int, step: int, node: Node, g: Any, sent: list) -> None:
    rec = records.get(node)
    if rec is None:
        rec = records[node] = Record(small=int(np.prod(node.shape)) <= SUMMARY_SIZE)
    rec.run, rec.step = run, step
    rec.grad = np.array(g._data if isinstance(g, Tensor) else g) if rec.small else None
    grad = rec.grad
    if grad is not None and grad.size == 1:
        try:  # .item() copies (what the engine sent may be added into later) ...
            rec.shares = tuple([(gi._data if type(gi) is Tensor else gi).item()
                                for _, gi in sent])
        except (AttributeError, ValueError):  # ... and refuses an input with more values
            rec.shares = None
        rec.needs = node.needs
    else:
        rec.shares = None
    rec.parents = tuple(
        x if type(x) is Node or not isinstance(x, Tensor) else (x.grad_fn or x)
        for x in node.inputs)


def record_of(node: Node) -> Record | None:
    return records.get(node)


_handles = (graph.observe_records(_on_record), graph.observe_steps(_on_step))

"""Watching autograd work: hooks for tools that observe the graph (the pictures use them).

The engine keeps nothing for anyone watching it. A tool subscribes instead:

- ``observe_records(fn)``: ``fn(node, out)`` is called as each op is recorded, with the
  Tensor it made (a picture keeps small values and layer scopes from here);
- ``observe_steps(fn)``: ``fn(run, step, node, g, sent)`` is called after each node's
  backward step, before its saved values are released: ``run`` numbers the backward pass,
  ``step`` the node within it, ``g`` is the gradient of the node's output and ``sent`` the
  ``[(target, gradient), ...]`` that ``engine.input_grads`` returned for its inputs.

Both return a handle whose ``remove()`` unsubscribes. An observer must not change what
it is given. With no observer, each op costs one check of an empty list.
``increment_version`` is PyTorch's name for counting an in-place change autograd did not see.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import engine, mode
from .engine import input_grads
from .tensor import Node, increment_version

__all__ = ["Node", "RemovableHandle", "increment_version", "input_grads", "observe_records",
           "observe_steps"]


class RemovableHandle:
    """Returned by the ``observe_*`` functions; ``remove()`` unsubscribes (idempotent)."""

    def __init__(self, hooks: list, fn: Callable[..., Any]) -> None:
        self._hooks, self._fn = hooks, fn

    def remove(self) -> None:
        with mode._count_lock:
            if self._fn in self._hooks:
                self._hooks.remove(self._fn)
            mode.refresh_watched()

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


def observe_records(fn: Callable[[Node, Any], None]) -> RemovableHandle:
    """Call ``fn(node, out)`` whenever an op records a node (in any thread)."""
    with mode._count_lock:
        mode.record_observers.append(fn)
        mode.refresh_watched()
    return RemovableHandle(mode.record_observers, fn)


def observe_steps(fn: Callable[[int, int, Node, Any, list], None]) -> RemovableHandle:
    """Call ``fn(run, step, node, g, sent)`` after each backward step (in any thread)."""
    engine.step_observers.append(fn)
    return RemovableHandle(engine.step_observers, fn)

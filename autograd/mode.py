"""Global recording switches: grad mode (``no_grad``/``enable_grad``) and anomaly mode.

They live apart from the Tensor so the engine and the ops read one flag object without
import cycles. Both switches work as context managers and as decorators, like PyTorch's.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


class _State:
    __slots__ = ("grad_enabled", "anomaly", "scope")

    def __init__(self) -> None:
        self.grad_enabled = True
        self.anomaly = False
        self.scope: str | None = None


state = _State()


def is_grad_enabled() -> bool:
    """Whether new operations are being recorded into the graph."""
    return state.grad_enabled


class _Switch:
    """A context manager that sets one flag of ``state`` and restores it on exit."""

    _field = ""
    _value = True

    def __enter__(self) -> _Switch:
        self._prev = getattr(state, self._field)
        setattr(state, self._field, self._value)
        return self

    def __exit__(self, *exc: object) -> None:
        setattr(state, self._field, self._prev)

    def __call__(self, fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with type(self)():
                return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


class no_grad(_Switch):
    """Stop recording: results of ops inside do not require grad (inference, updates)."""

    _field = "grad_enabled"
    _value = False


class enable_grad(_Switch):
    """Record again inside a ``no_grad`` region."""

    _field = "grad_enabled"
    _value = True


class detect_anomaly(_Switch):
    """Check every forward value and backward gradient for NaN/inf.

    The first op that produces one raises ``FloatingPointError`` naming the op and the
    ``file:line`` of user code that created it. Costs a check per op, so it is off by default.
    """

    _field = "anomaly"
    _value = True


class name_scope:
    """Tag the nodes recorded inside with a dotted scope name (``"layers.0"``).

    nn modules enter their own name while they run, so a graph picture can draw each
    layer as a cluster; scopes nest with dots. Usable as a context manager only.
    """

    def __init__(self, name: str) -> None:
        self.name = name

    def __enter__(self) -> name_scope:
        self._prev = state.scope
        state.scope = self.name if not self._prev else f"{self._prev}.{self.name}"
        return self

    def __exit__(self, *exc: object) -> None:
        state.scope = self._prev

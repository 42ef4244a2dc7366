"""Recording switches: grad mode (``no_grad``/``enable_grad``), anomaly mode, name scopes.

Each thread has its own switches, as in PyTorch: ``no_grad`` in one thread leaves another
thread recording, and a backward pass changes nothing outside its thread. They live
apart from the Tensor so the engine and the ops read one object without import cycles.
The switches work as context managers and as decorators, like PyTorch's.

Reading a thread's own state costs more than a plain attribute, and every op asks whether
to record; so ``changed[0]`` counts the threads that have left the defaults (grad on,
anomaly off). While it is 0, which is most of the time, one read answers for every thread.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


class _State(threading.local):
    def __init__(self) -> None:
        self.grad_enabled = True
        self.anomaly = False
        self.scope: str | None = None


state = _State()
changed = [0]  # threads whose switches are not the defaults (see the module docstring)
# Whether ops must look closer when they record: some thread is in anomaly mode, or an
# observer (``autograd.graph``) is subscribed. Kept by ``refresh_watched``.
watched = [False]
_anomalous = [0]  # threads in anomaly mode
_count_lock = threading.Lock()


def _set(field: str, value: Any) -> Any:
    """Set one switch of this thread, keeping ``changed`` right; returns the old value."""
    prev = getattr(state, field)
    was_default = state.grad_enabled and not state.anomaly
    was_anomalous = state.anomaly
    setattr(state, field, value)
    now_default = state.grad_enabled and not state.anomaly
    if was_default != now_default or was_anomalous != state.anomaly:
        with _count_lock:
            if was_default != now_default:
                changed[0] += -1 if now_default else 1
            if was_anomalous != state.anomaly:
                _anomalous[0] += 1 if state.anomaly else -1
            refresh_watched()
    return prev


# Functions called with (node, out) as each op is recorded (``autograd.graph``).
record_observers: list[Any] = []


def refresh_watched() -> None:
    """Recompute ``watched`` (callers hold ``_count_lock``, or change the observers)."""
    watched[0] = bool(_anomalous[0] or record_observers)


def is_grad_enabled() -> bool:
    """Whether new operations are being recorded into the graph (in this thread)."""
    return state.grad_enabled


def is_anomaly_enabled() -> bool:
    return state.anomaly


class _Switch:
    """A context manager that sets one switch of this thread and restores it on exit."""

    _field = ""
    _value = True

    def __enter__(self) -> _Switch:
        self._prev = _set(self._field, self._value)
        return self

    def __exit__(self, *exc: object) -> None:
        _set(self._field, self._prev)

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


class set_grad_enabled:
    """Switch recording on or off in this thread at once, as PyTorch's: a plain call
    ``set_grad_enabled(False)`` stays in force; as a context manager (or decorator) the
    previous mode comes back on exit."""

    def __init__(self, mode: bool) -> None:
        self._value = bool(mode)
        self._prev = _set("grad_enabled", self._value)

    def __enter__(self) -> set_grad_enabled:
        return self

    def __exit__(self, *exc: object) -> None:
        _set("grad_enabled", self._prev)

    def __call__(self, fn: F) -> F:
        _set("grad_enabled", self._prev)  # used as a decorator: switch only while it runs
        value = self._value

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with set_grad_enabled(value):
                return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


class inference_mode(no_grad):
    """PyTorch's faster no_grad; here the same as ``no_grad``."""

    def __init__(self, mode: bool = True) -> None:
        self._value = not mode


class detect_anomaly(_Switch):
    """Check every forward value and backward gradient for NaN/inf.

    The first op that produces one raises ``FloatingPointError`` naming the op and the
    ``file:line`` of user code that created it. Costs a check per op, so it is off by default.
    """

    _field = "anomaly"
    _value = True


class name_scope:
    """Tag the ops run inside with a dotted scope name (``"layers.0"``), for pictures.

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

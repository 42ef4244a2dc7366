"""Tensor factories with PyTorch's names and arguments: ``zeros``, ``ones``, ``full``,
``empty``, their ``*_like`` forms, ``arange``, ``linspace``, ``eye``, ``rand``, ``randn``,
``randint``, ``from_numpy``; random numbers from ``manual_seed`` or a ``Generator``.

Sizes are given as PyTorch takes them (``zeros(2, 3)`` or ``zeros((2, 3))``). The one
deliberate difference: floating results are float64 unless ``dtype=`` says otherwise
(numpy's default and what gradient checks need; PyTorch's is float32).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .tensor import Tensor

__all__ = ["Generator", "arange", "empty", "eye", "from_numpy", "full", "full_like",
           "linspace", "manual_seed", "ones", "ones_like", "rand", "randint", "randn",
           "zeros", "zeros_like"]


class Generator:
    """A seeded source of random numbers for ``rand``/``randn``/``randint``
    (``Generator().manual_seed(0)``, as PyTorch's); wraps numpy's ``Generator``."""

    def __init__(self, seed: int | None = None) -> None:
        self.manual_seed(seed)

    def manual_seed(self, seed: int | None) -> Generator:
        if seed is not None and (not isinstance(seed, (int, np.integer)) or seed < 0):
            raise ValueError(f"manual_seed: the seed must be an int >= 0, got {seed!r}")
        self._seed = seed
        self.rng = np.random.default_rng(seed)
        return self

    def initial_seed(self) -> int | None:
        return self._seed


_default = Generator()


def manual_seed(seed: int) -> Generator:
    """Seed the default generator (what ``rand``/``randn``/``randint`` use without
    ``generator=``); returns it, as PyTorch does."""
    return _default.manual_seed(seed)


def _size(size: tuple, who: str) -> tuple[int, ...]:
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    for s in size:
        if not isinstance(s, (int, np.integer)) or isinstance(s, bool) or s < 0:
            raise ValueError(f"{who}: sizes must be ints >= 0, got {size!r}")
    return tuple(int(s) for s in size)


def _float(dtype: Any) -> np.dtype:
    return np.dtype(np.float64 if dtype is None else dtype)


def _rng(generator: Any) -> np.random.Generator:
    if generator is None:
        return _default.rng
    if isinstance(generator, Generator):
        return generator.rng
    if isinstance(generator, np.random.Generator):
        return generator
    raise TypeError(f"generator= takes an autograd.Generator or a numpy Generator, got "
                    f"{type(generator).__name__}")


def _make(data: np.ndarray, requires_grad: bool) -> Tensor:
    return Tensor(data, requires_grad=requires_grad)


def zeros(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return _make(np.zeros(_size(size, "zeros"), _float(dtype)), requires_grad)


def ones(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return _make(np.ones(_size(size, "ones"), _float(dtype)), requires_grad)


def empty(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Uninitialised values, as PyTorch's (here: zeros, so nothing is left to chance)."""
    return _make(np.zeros(_size(size, "empty"), _float(dtype)), requires_grad)


def full(size: Any, fill_value: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    size = _size((size,) if isinstance(size, (int, np.integer)) else (size,), "full")
    if dtype is None:
        dtype = np.float64 if isinstance(fill_value, float) else np.asarray(fill_value).dtype
    return _make(np.full(size, fill_value, dtype), requires_grad)


def _like(t: Any, dtype: Any) -> tuple[tuple[int, ...], np.dtype]:
    arr = t._data if isinstance(t, Tensor) else np.asarray(t)
    return arr.shape, np.dtype(arr.dtype if dtype is None else dtype)


def zeros_like(t: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return _make(np.zeros(*_like(t, dtype)), requires_grad)


def ones_like(t: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return _make(np.ones(*_like(t, dtype)), requires_grad)


def full_like(t: Any, fill_value: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    shape, dt = _like(t, dtype)
    return _make(np.full(shape, fill_value, dt), requires_grad)


def arange(start: Any, end: Any = None, step: Any = 1, dtype: Any = None,
           requires_grad: bool = False) -> Tensor:
    """``arange(5)``, ``arange(1, 4, 0.5)``: integers stay int64 unless a float is given."""
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ValueError("arange: step must not be 0")
    return _make(np.arange(start, end, step, dtype=dtype), requires_grad)


def linspace(start: float, end: float, steps: int, dtype: Any = None,
             requires_grad: bool = False) -> Tensor:
    if not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"linspace: steps must be an int >= 0, got {steps!r}")
    return _make(np.linspace(start, end, steps, dtype=_float(dtype)), requires_grad)


def eye(n: int, m: int | None = None, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return _make(np.eye(n, m, dtype=_float(dtype)), requires_grad)


def rand(*size: Any, generator: Any = None, dtype: Any = None,
         requires_grad: bool = False) -> Tensor:
    """Uniform on [0, 1)."""
    data = _rng(generator).random(_size(size, "rand"), dtype=_float(dtype))
    return _make(data, requires_grad)


def randn(*size: Any, generator: Any = None, dtype: Any = None,
          requires_grad: bool = False) -> Tensor:
    """Standard normal."""
    data = _rng(generator).standard_normal(_size(size, "randn"), dtype=_float(dtype))
    return _make(data, requires_grad)


def randint(low: int, high: int | None = None, size: Any = (), generator: Any = None,
            dtype: Any = np.int64) -> Tensor:
    """Integers in [low, high) (``randint(high, size)`` or ``randint(low, high, size)``)."""
    if high is None:
        low, high = 0, low
    if isinstance(high, tuple):  # randint(high, size) written positionally
        low, high, size = 0, low, high
    size = _size((size,) if isinstance(size, (int, np.integer)) else (size,), "randint")
    return Tensor(_rng(generator).integers(low, high, size, dtype=dtype))


def from_numpy(arr: np.ndarray) -> Tensor:
    """A tensor sharing ``arr``'s memory (no copy), as PyTorch's."""
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy array, got {type(arr).__name__}")
    return Tensor(arr)

"""Parameter: a Tensor that a Module owns and an optimizer updates."""

from __future__ import annotations

from typing import Any

import numpy as np

import autograd as ag


class Parameter(ag.Tensor):
    """A leaf Tensor with ``requires_grad=True`` that ``Module`` discovers as a parameter.

    Integer data is stored as float64 (a parameter must be differentiable); pass
    ``dtype=np.float32`` for a single-precision model.
    """

    __slots__ = ()

    def __init__(self, data: Any, requires_grad: bool = True, dtype: Any = None,
                 name: str | None = None) -> None:
        if isinstance(data, ag.Tensor):
            data = data.data
        if dtype is None and np.asarray(data).dtype.kind not in "f":
            dtype = np.float64
        super().__init__(data, requires_grad=requires_grad, dtype=dtype, name=name)

    def __repr__(self) -> str:
        return "Parameter(" + super().__repr__()[len("tensor("):]

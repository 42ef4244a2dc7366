"""The two backends a derivative rule is evaluated with.

``numpy_backend`` works on ndarrays and records nothing: the ordinary backward pass.
``tensor_backend`` works on Tensors through the registered ops, so a backward pass run
with ``create_graph=True`` is itself a graph that can be differentiated again. Both
expose the same names; the shared helpers below are written once against either.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import kernels


class Backend:
    """Helpers built from each backend's primitives (``sum``, ``reshape``, ``broadcast_to``)."""

    def unbroadcast(self, g: Any, shape: tuple[int, ...]) -> Any:
        """Sum ``g`` over the axes broadcasting added or stretched, giving ``shape``.

        The one helper that undoes broadcasting; the engine calls it wherever an input
        of an op with several inputs gets a gradient of another shape than its own.
        """
        gshape = g.shape
        if gshape == shape:
            return g
        lead = len(gshape) - len(shape)
        if gshape[lead:] == shape:  # only leading axes were added (a bias): no reshape needed
            return self.sum(g, tuple(range(lead)), False)
        axes = list(range(lead))  # a loop, not a generator: no cells on this hot path
        for i, s in enumerate(shape):
            if s == 1 and gshape[i + lead] != 1:
                axes.append(i + lead)
        if axes:
            g = self.sum(g, tuple(axes), True)
        return self.reshape(g, shape)

    def expand_reduced(self, g: Any, shape: tuple[int, ...], axis: Any,
                       keepdims: bool) -> Any:
        """Broadcast the gradient of a reduction back to the input's ``shape``."""
        if not keepdims:
            axes = kernels.normalize_axis(axis, len(shape), "reduction")
            kept = tuple(1 if i in axes else s for i, s in enumerate(shape))
            g = self.reshape(g, kept)
        return self.broadcast_to(g, shape)


class NumpyBackend(Backend):
    recording = False  # rules may take array-only shortcuts (in-place, cached values)
    exp = staticmethod(np.exp)
    log = staticmethod(np.log)
    tanh = staticmethod(np.tanh)
    sqrt = staticmethod(np.sqrt)
    matmul = staticmethod(np.matmul)
    einsum = staticmethod(np.einsum)
    where = staticmethod(np.where)
    sigmoid = staticmethod(kernels.sigmoid)
    softmax = staticmethod(kernels.softmax)
    log_softmax = staticmethod(kernels.log_softmax)
    scatter_add = staticmethod(kernels.scatter_add)

    # ndarray methods skip numpy's Python-level dispatch wrappers: this is the hot path.
    @staticmethod
    def sum(x: np.ndarray, axis: Any = None, keepdims: bool = False) -> np.ndarray:
        if axis == (0,) and x.ndim == 2 and x.dtype.char in "fd":  # a bias's gradient
            s = kernels.sum_rows(x)
            return s[None] if keepdims else s
        return np.add.reduce(x, axis=axis, keepdims=keepdims)

    @staticmethod
    def reshape(x: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        return x if x.shape == shape else x.reshape(shape)

    @staticmethod
    def broadcast_to(x: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        return np.broadcast_to(x, shape)

    @staticmethod
    def transpose(x: np.ndarray, axes: Any = None) -> np.ndarray:
        return np.transpose(x, axes)

    @staticmethod
    def getitem(x: np.ndarray, index: Any) -> np.ndarray:
        return x[index]

    @staticmethod
    def astype(x: np.ndarray, dtype: Any) -> np.ndarray:
        return x.astype(dtype, copy=False)

    @staticmethod
    def raw(x: Any) -> Any:
        return x


class TensorBackend(Backend):
    """Resolves each name to the registered op of the same name (bound on first use)."""

    recording = True

    def __getattr__(self, name: str) -> Any:
        from . import ops

        fn = getattr(ops, name)
        setattr(self, name, fn)
        return fn

    @staticmethod
    def raw(x: Any) -> Any:
        from .tensor import Tensor

        return x._data if isinstance(x, Tensor) else x


numpy_backend = NumpyBackend()
tensor_backend = TensorBackend()

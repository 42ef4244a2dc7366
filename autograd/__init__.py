"""cygrad's reverse-mode autograd engine.

    >>> import autograd as ag
    >>> x = ag.tensor([1.0, 2.0], requires_grad=True)
    >>> y = (x * x).sum()
    >>> y.backward()
    >>> x.grad
    tensor([2., 4.])

Every op is declared once in ``autograd.registry.REGISTRY`` with its derivative rule;
``gradcheck``/``gradgradcheck`` and ``autograd.testing`` verify derivatives.
"""

from . import graph, inplace, interop
from .engine import backward, grad, topological_order
from .factories import (
    Generator,
    arange,
    empty,
    eye,
    from_numpy,
    full,
    full_like,
    linspace,
    manual_seed,
    ones,
    ones_like,
    rand,
    randint,
    randn,
    zeros,
    zeros_like,
)
from .function import Function, FunctionCtx
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .mode import (
    detect_anomaly,
    enable_grad,
    inference_mode,
    is_anomaly_enabled,
    is_grad_enabled,
    name_scope,
    no_grad,
    set_grad_enabled,
)
from .ops import *  # noqa: F403 - the op functions are the public API
from .ops import __all__ as _ops_all
from .ops.torchlike import allclose, bmm, is_tensor, mm, numel
from .registry import REGISTRY, OpDef, defop, passthrough
from .tensor import Node, Tensor, increment_version, tensor

inplace.install()
interop.install()

__all__ = [
    "Function", "FunctionCtx", "Generator", "GradcheckError", "Node", "OpDef", "REGISTRY",
    "Tensor", "allclose", "arange", "backward", "bmm", "defop", "detect_anomaly", "empty",
    "enable_grad", "eye", "from_numpy", "full", "full_like", "grad", "graph", "gradcheck",
    "gradgradcheck", "increment_version", "inference_mode", "is_anomaly_enabled",
    "is_grad_enabled", "is_tensor", "linspace", "manual_seed", "mm", "name_scope", "no_grad",
    "numel", "ones", "ones_like", "passthrough", "rand", "randint", "randn", "set_grad_enabled",
    "tensor", "topological_order", "zeros", "zeros_like", *_ops_all,
]

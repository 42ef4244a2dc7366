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

from .engine import backward, grad, topological_order
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .mode import detect_anomaly, enable_grad, is_grad_enabled, name_scope, no_grad
from .ops import *  # noqa: F403 - the op functions are the public API
from .ops import __all__ as _ops_all
from .ops.conv import conv2d, conv2d_input, conv2d_weight
from .ops.norm import batch_norm
from .registry import REGISTRY, OpDef
from .tensor import Node, Tensor, tensor

__all__ = [
    "GradcheckError", "Node", "OpDef", "REGISTRY", "Tensor", "backward", "detect_anomaly",
    "enable_grad", "grad", "name_scope", "gradcheck", "gradgradcheck", "is_grad_enabled", "no_grad",
    "tensor", "topological_order", *_ops_all, "batch_norm", "conv2d", "conv2d_input",
    "conv2d_weight",
]

"""Losses as modules: ``loss_fn = nn.CrossEntropyLoss(); loss = loss_fn(logits, labels)``.

Each wraps its functional form and names itself in errors (wrong label range, shapes).
"""

from __future__ import annotations

from typing import Any

import numpy as np

import autograd as ag

from . import functional as F
from ._util import LayerInputError
from .module import Module


class _Loss(Module):
    def __init__(self, reduction: str = "mean") -> None:
        if reduction not in ("mean", "sum", "none"):
            raise ValueError(f"{type(self).__name__}: reduction must be 'mean', 'sum' or "
                             f"'none', got {reduction!r}")
        self.reduction = reduction

    def _call(self, fn: Any, input: Any, target: Any, **kw: Any) -> ag.Tensor:  # noqa: A002
        try:
            return fn(input, target, reduction=self.reduction, **kw)
        except ValueError as e:
            raise LayerInputError(self, f"{e} (input shape {np.shape(input)}, target shape "
                                  f"{np.shape(target)})") from e

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


class CrossEntropyLoss(_Loss):
    """Softmax cross-entropy from logits (lecture eqs. 22, 29, 31; gradient eq. 32).

    ``target``: integer labels (N,) in [0, C), or one-hot / soft probabilities (N, C).
    """

    def forward(self, logits: ag.Tensor, target: Any) -> ag.Tensor:
        return self._call(F.cross_entropy, logits, target)


class NLLLoss(_Loss):
    """Negative log-likelihood of integer labels under log-probabilities: put it after
    ``LogSoftmax`` (together: ``CrossEntropyLoss``)."""

    def forward(self, log_probs: ag.Tensor, target: Any) -> ag.Tensor:
        return self._call(F.nll_loss, log_probs, target)


class MSELoss(_Loss):
    """Mean squared error (1/n) sum (x - y)^2: lecture eq. 9, averaged, without its 1/2."""

    def forward(self, input: ag.Tensor, target: Any) -> ag.Tensor:  # noqa: A002
        return self._call(F.mse_loss, input, target)


class BCEWithLogitsLoss(_Loss):
    """Binary cross-entropy of sigmoid(z) against y in [0, 1] (eq. 24), from logits z."""

    def forward(self, logits: ag.Tensor, target: Any) -> ag.Tensor:
        return self._call(F.binary_cross_entropy_with_logits, logits, target)


class HuberLoss(_Loss):
    """Quadratic for |x - y| <= delta, linear beyond: MSE's robust cousin."""

    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        super().__init__(reduction)
        if delta <= 0:
            raise ValueError(f"HuberLoss: delta must be > 0, got {delta}")
        self.delta = delta

    def forward(self, input: ag.Tensor, target: Any) -> ag.Tensor:  # noqa: A002
        return self._call(F.huber_loss, input, target, delta=self.delta)

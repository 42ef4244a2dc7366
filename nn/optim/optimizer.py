"""Optimizers: SGD (momentum, Nesterov, weight decay), Adam, AdamW, RMSprop.

Updates work on ``p.data`` in place with numpy and never build a graph; ``step`` also
runs under ``no_grad`` so a user's closure-free extension cannot record by accident.

Parameter groups: ``params`` is an iterable of parameters, or of dicts
``{"params": [...], "lr": ...}`` whose other keys override the defaults for that group
(PyTorch's convention). Schedulers change ``group["lr"]``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

import autograd as ag


class Optimizer:
    def __init__(self, params: Iterable[Any], defaults: dict[str, Any]) -> None:
        items = list(params)
        if not items:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list (an "
                             "exhausted generator? pass model.parameters() fresh)")
        groups = items if isinstance(items[0], dict) else [{"params": items}]
        self.defaults = defaults
        self.param_groups: list[dict[str, Any]] = []
        for g in groups:
            group = {**defaults, **g, "params": list(g["params"])}
            for p in group["params"]:
                if not isinstance(p, ag.Tensor) or not p.requires_grad:
                    raise TypeError(f"{type(self).__name__}: can only optimize tensors with "
                                    f"requires_grad=True, got {type(p).__name__}")
            if group["lr"] < 0:
                raise ValueError(f"{type(self).__name__}: lr must be >= 0, got {group['lr']}")
            group.setdefault("initial_lr", group["lr"])
            self.param_groups.append(group)
        # Per-parameter state (momentum buffers, moments), keyed by position: fast, and
        # saveable without object identities.
        self.state: dict[tuple[int, int], dict[str, Any]] = {}
        self.step_count = 0

    def zero_grad(self) -> None:
        for group in self.param_groups:
            for p in group["params"]:
                p.grad = None

    def step(self) -> None:
        self.step_count += 1
        with ag.no_grad():
            for gi, group in enumerate(self.param_groups):
                for pi, p in enumerate(group["params"]):
                    if p.grad is not None:
                        key = (gi, pi)
                        st = self.state.get(key)
                        if st is None:
                            st = self.state[key] = {}
                        self._update(p.data, p.grad.data, st, group)

    def _update(self, w: np.ndarray, g: np.ndarray, st: dict[str, Any],
                group: dict[str, Any]) -> None:
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        """Hyperparameters per group and per-parameter state (arrays copied)."""
        return {"groups": [{k: v for k, v in g.items() if k != "params"}
                           for g in self.param_groups],
                "state": {k: {n: (v.copy() if isinstance(v, np.ndarray) else v)
                              for n, v in s.items()} for k, s in self.state.items()},
                "step_count": self.step_count}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if len(state["groups"]) != len(self.param_groups):
            raise ValueError(f"{type(self).__name__}.load_state_dict: {len(state['groups'])} "
                             f"groups saved, this optimizer has {len(self.param_groups)}")
        for group, saved in zip(self.param_groups, state["groups"]):
            group.update(saved)
        self.state = {k: {n: (v.copy() if isinstance(v, np.ndarray) else v)
                          for n, v in s.items()} for k, s in state["state"].items()}
        self.step_count = state["step_count"]

    def __repr__(self) -> str:
        hyper = {k: v for k, v in self.param_groups[0].items()
                 if k not in ("params", "initial_lr")}
        return f"{type(self).__name__}({hyper})"


class SGD(Optimizer):
    """Stochastic gradient descent (lecture eqs. 14-16).

    g_k = grad J + weight_decay * theta; with momentum alpha the step direction is
    v_k = g_k + alpha v_{k-1} (eq. 16, v_0 = g_0); theta <- theta - lr v_k (eq. 15).
    Nesterov steps along g_k + alpha v_k instead. The slide prints eq. 16 with a minus
    sign in front of alpha; with alpha > 0 that would damp consistent directions rather
    than accelerate them, so we use PyTorch's heavy-ball convention. momentum=0 is eq. 15.
    """

    def __init__(self, params: Iterable[Any], lr: float = 0.01, momentum: float = 0.0,
                 nesterov: bool = False, weight_decay: float = 0.0,
                 dampening: float = 0.0) -> None:
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"SGD: momentum must lie in [0, 1), got {momentum}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: Nesterov needs momentum > 0 and dampening = 0")
        super().__init__(params, {"lr": lr, "momentum": momentum, "nesterov": nesterov,
                                  "weight_decay": weight_decay, "dampening": dampening})

    def _update(self, w: np.ndarray, g: np.ndarray, st: dict[str, Any],
                group: dict[str, Any]) -> None:
        wd, mom = group["weight_decay"], group["momentum"]
        if wd:
            g = g + wd * w
        if mom:
            buf = st.get("momentum")
            if buf is None:
                buf = st["momentum"] = np.array(g, dtype=w.dtype)
            else:
                buf *= mom
                buf += (1.0 - group["dampening"]) * g
            g = g + mom * buf if group["nesterov"] else buf
        w -= group["lr"] * g


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015): bias-corrected running means of g and g^2.

    m <- b1 m + (1-b1) g, v <- b2 v + (1-b2) g^2,
    theta <- theta - lr (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps).
    ``weight_decay`` adds wd * theta to g (L2, coupled); AdamW decouples it.
    """

    _decoupled = False

    def __init__(self, params: Iterable[Any], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0) -> None:
        if not (0.0 <= betas[0] < 1.0 and 0.0 <= betas[1] < 1.0):
            raise ValueError(f"{type(self).__name__}: betas must lie in [0, 1), got {betas}")
        super().__init__(params, {"lr": lr, "betas": tuple(betas), "eps": eps,
                                  "weight_decay": weight_decay})

    def _update(self, w: np.ndarray, g: np.ndarray, st: dict[str, Any],
                group: dict[str, Any]) -> None:
        lr, (b1, b2), wd = group["lr"], group["betas"], group["weight_decay"]
        if wd and self._decoupled:
            w *= 1.0 - lr * wd
        elif wd:
            g = g + wd * w
        if not st:
            st["t"] = 0
            st["m"] = np.zeros_like(w)
            st["v"] = np.zeros_like(w)
        st["t"] += 1
        t, m, v = st["t"], st["m"], st["v"]
        m *= b1
        m += (1.0 - b1) * g
        v *= b2
        v += (1.0 - b2) * (g * g)
        step = lr / (1.0 - b1 ** t)
        w -= step * m / (np.sqrt(v / (1.0 - b2 ** t)) + group["eps"])


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter 2019):
    theta <- theta (1 - lr wd) before the Adam step; default wd = 0.01."""

    _decoupled = True

    def __init__(self, params: Iterable[Any], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2) -> None:
        super().__init__(params, lr, betas, eps, weight_decay)


class RMSprop(Optimizer):
    """RMSprop: v <- alpha v + (1-alpha) g^2, theta <- theta - lr g / (sqrt(v) + eps),
    with optional momentum on the scaled step (PyTorch's formulation)."""

    def __init__(self, params: Iterable[Any], lr: float = 1e-2, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0.0, momentum: float = 0.0) -> None:
        if not 0.0 <= alpha < 1.0:
            raise ValueError(f"RMSprop: alpha must lie in [0, 1), got {alpha}")
        super().__init__(params, {"lr": lr, "alpha": alpha, "eps": eps,
                                  "weight_decay": weight_decay, "momentum": momentum})

    def _update(self, w: np.ndarray, g: np.ndarray, st: dict[str, Any],
                group: dict[str, Any]) -> None:
        alpha, wd, mom = group["alpha"], group["weight_decay"], group["momentum"]
        if wd:
            g = g + wd * w
        if not st:
            st["v"] = np.zeros_like(w)
        v = st["v"]
        v *= alpha
        v += (1.0 - alpha) * (g * g)
        scaled = g / (np.sqrt(v) + group["eps"])
        if mom:
            buf = st.get("momentum")
            if buf is None:
                buf = st["momentum"] = np.zeros_like(w)
            buf *= mom
            buf += scaled
            scaled = buf
        w -= group["lr"] * scaled

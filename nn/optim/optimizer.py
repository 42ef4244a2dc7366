"""Optimizers: SGD (momentum, Nesterov, weight decay), Adam, AdamW, RMSprop.

Updates work on ``p.data`` in place with numpy and never build a graph; ``step`` also
runs under ``no_grad`` so a user's closure-free extension cannot record by accident.

Parameter groups: ``params`` is an iterable of parameters, or of dicts
``{"params": [...], "lr": ...}`` whose other keys override the defaults for that group
(PyTorch's convention). Schedulers change ``group["lr"]``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

import autograd as ag

from .._state import Problems, array_of, as_mapping, key_diff, like, real_scalar


def _real(who: str, name: str, value: Any) -> float:
    """``value`` as a finite Python float, or a TypeError/ValueError naming the argument."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer,
                                                                    np.floating)):
        hint = f" (pass {name}=0.1, not the string)" if isinstance(value, str) else ""
        raise TypeError(f"{who}: {name} must be a real number, got {type(value).__name__} "
                        f"{value!r}{hint}")
    try:
        out = float(value)
    except OverflowError:
        out = math.inf
    if not math.isfinite(out):
        raise ValueError(f"{who}: {name} must be finite, got {value!r}")
    return out


def _at_least_zero(who: str, name: str, value: Any) -> float:
    out = _real(who, name, value)
    if not out >= 0.0:
        raise ValueError(f"{who}: {name} must be >= 0, got {value!r}")
    return out


def _unit(who: str, name: str, value: Any) -> float:
    """A decay rate in [0, 1): 1 would freeze the running average at its start."""
    out = _real(who, name, value)
    if not 0.0 <= out < 1.0:
        raise ValueError(f"{who}: {name} must lie in [0, 1), got {value!r}")
    return out


def _fraction(who: str, name: str, value: Any) -> float:
    out = _real(who, name, value)
    if not 0.0 <= out <= 1.0:
        raise ValueError(f"{who}: {name} must lie in [0, 1], got {value!r}")
    return out


def _flag(who: str, name: str, value: Any) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{who}: {name} must be True or False, got {type(value).__name__} "
                        f"{value!r}")
    return bool(value)


def _betas(who: str, name: str, value: Any) -> tuple[float, float]:
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__") or len(value) != 2:
        raise TypeError(f"{who}: {name} must be a pair (beta1, beta2), got {value!r}")
    return (_unit(who, f"{name}[0]", value[0]), _unit(who, f"{name}[1]", value[1]))


Check = Callable[[str, str, Any], Any]

# How each hyperparameter is checked (PyTorch's rules, with NaN and inf refused too) and
# how it is stored in a state dict: floats and bools as 0-d arrays, betas as a pair.
HYPER: dict[str, Check] = {
    "lr": _at_least_zero, "initial_lr": _at_least_zero, "momentum": _unit,
    "dampening": _fraction, "nesterov": _flag, "weight_decay": _at_least_zero,
    "betas": _betas, "eps": _at_least_zero, "alpha": _unit,
}


def _param_groups(who: str, params: Any) -> list[dict[str, Any]]:
    """The groups of ``params``: an iterable of tensors, or of dicts with "params"."""
    if isinstance(params, ag.Tensor):
        raise TypeError(f"{who}: params must be an iterable of tensors or of dicts, got a "
                        "single Tensor; pass [tensor]")
    if callable(getattr(params, "parameters", None)):
        raise TypeError(f"{who}: params is a {type(params).__name__} (a model); pass its "
                        "parameters: model.parameters()")
    if callable(params) and not hasattr(params, "__iter__"):
        name = getattr(params, "__name__", "the function")
        raise TypeError(f"{who}: params is the method {name!r} itself, not its result; call "
                        f"it: model.{name}()")
    if isinstance(params, (dict, str, bytes)) or not hasattr(params, "__iter__"):
        raise TypeError(f"{who}: params must be an iterable of tensors or of dicts with "
                        f"'params', got {type(params).__name__} (pass model.parameters())")
    items = list(params)
    if not items:
        raise ValueError(f"{who}: got an empty parameter list (an exhausted generator? pass "
                         "model.parameters() fresh)")
    kinds = {isinstance(item, dict) for item in items}
    if kinds == {True}:
        groups = items
    elif kinds == {False}:
        groups = [{"params": items}]
    else:
        raise TypeError(f"{who}: params mixes tensors and group dicts; put every tensor in "
                        "a group dict")
    seen: dict[int, tuple[int, int]] = {}
    for gi, g in enumerate(groups):
        if "params" not in g:
            raise ValueError(f"{who}: parameter group {gi} has no 'params' entry")
        ps = g["params"]
        if isinstance(ps, ag.Tensor):
            ps = [ps]
        elif callable(ps) and not hasattr(ps, "__iter__"):
            raise TypeError(f"{who}: group {gi}'s 'params' is a function; call it")
        g["params"] = ps = list(ps)
        for pi, p in enumerate(ps):
            if not isinstance(p, ag.Tensor) or not p.requires_grad:
                raise TypeError(f"{who}: can only optimize tensors with requires_grad=True, "
                                f"got {type(p).__name__} (group {gi}, item {pi})")
            if p.data.dtype.kind != "f":
                raise TypeError(f"{who}: can only optimize float tensors, got {p.data.dtype} "
                                f"(group {gi}, item {pi})")
            if id(p) in seen:
                g0, p0 = seen[id(p)]
                raise ValueError(f"{who}: the same parameter is listed twice (group {g0} item "
                                 f"{p0} and group {gi} item {pi}); it would be updated twice "
                                 "per step. List each parameter once")
            seen[id(p)] = (gi, pi)
    return groups


class Optimizer:
    """Base class: holds parameter groups and per-parameter state; subclasses define
    ``_update`` and declare their per-parameter state in ``_state_arrays`` (arrays shaped
    like the parameter), ``_state_required`` and ``_state_counters`` (step counts)."""

    _state_arrays: tuple[str, ...] = ()
    _state_required: tuple[str, ...] = ()
    _state_counters: tuple[str, ...] = ()
    _nonnegative: tuple[str, ...] = ()  # state arrays that are running means of squares

    def __init__(self, params: Iterable[Any], defaults: dict[str, Any]) -> None:
        who = type(self).__name__
        self.defaults = {k: HYPER[k](who, k, v) for k, v in defaults.items()}
        self._check_group(who, self.defaults)
        self.param_groups: list[dict[str, Any]] = []
        for gi, g in enumerate(_param_groups(who, params)):
            group = {**self.defaults, **g}
            for k in self.defaults:
                group[k] = HYPER[k](f"{who} (group {gi})", k, group[k])
            self._check_group(f"{who} (group {gi})", group)
            group["initial_lr"] = HYPER["initial_lr"](who, "initial_lr",
                                                      group.get("initial_lr", group["lr"]))
            self.param_groups.append(group)
        # Per-parameter state (momentum buffers, moments), keyed by position: fast, and
        # saveable without object identities.
        self.state: dict[tuple[int, int], dict[str, Any]] = {}
        self.step_count = 0

    def _check_group(self, who: str, group: dict[str, Any]) -> None:
        """Constraints between hyperparameters (Nesterov needs momentum)."""

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients: ``p.grad = None`` (PyTorch's default), or with
        ``set_to_none=False`` zero them in place (the same ``.grad`` tensors)."""
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none or p.grad is None:
                    p.grad = None
                else:
                    p.grad.zero_()

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
                        ag.increment_version(p)  # a graph that saved p refuses it now

    def _update(self, w: np.ndarray, g: np.ndarray, st: dict[str, Any],
                group: dict[str, Any]) -> None:
        raise NotImplementedError

    # -- state ---------------------------------------------------------------------------
    def _hyper_keys(self) -> list[str]:
        return [*self.defaults, "initial_lr"]

    def state_dict(self) -> dict[str, np.ndarray]:
        """Everything needed to resume, as a flat dict of numpy arrays (copies), the same
        shape of state a Module has, so ``nn.save_state(opt, path)`` writes it and
        ``nn.load_state(opt, path)`` restores it::

            step_count                    number of steps taken
            param_groups.<g>.<name>       each hyperparameter of group g (lr, betas, ...)
            param_groups.<g>.num_params   how many parameters group g holds
            state.<g>.<i>.<name>          per-parameter state of item i of group g

        Parameters themselves are not included: save the model beside it. Extra keys a
        user put into a group dict are not saved.
        """
        out: dict[str, np.ndarray] = {"step_count": np.array(self.step_count, np.int64)}
        for gi, group in enumerate(self.param_groups):
            for k in self._hyper_keys():
                out[f"param_groups.{gi}.{k}"] = np.array(group[k])
            out[f"param_groups.{gi}.num_params"] = np.array(len(group["params"]), np.int64)
        for (gi, pi), st in sorted(self.state.items()):
            for name, v in st.items():
                out[f"state.{gi}.{pi}.{name}"] = (np.array(v, np.int64) if name in
                                                  self._state_counters else v.copy())
        return out

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore a ``state_dict()``, all or nothing.

        Every entry is checked before anything changes: the keys, the number of groups
        and of parameters per group, each hyperparameter by the constructor's rules, each
        state array's shape and dtype against its parameter (same dtype, so training
        resumes bit-exact), finite values, step counts >= 1. One error lists every
        problem, and the optimizer keeps its old state.
        """
        who = f"{type(self).__name__}.load_state_dict"
        state = as_mapping(who, state)
        problems = Problems()
        expected = {"step_count"} | {f"param_groups.{gi}.{k}"
                                     for gi in range(len(self.param_groups))
                                     for k in [*self._hyper_keys(), "num_params"]}
        state_keys = {k for k in state if k.startswith("state.")}
        key_diff(problems, expected, set(state) - state_keys)
        step_count = real_scalar(problems, "step_count", state.get("step_count", 0),
                                 integer=True)
        if step_count is not None and step_count < 0:
            problems.append(f"step_count must be >= 0, got {step_count}")
        groups = [self._load_group(problems, gi, group, state)
                  for gi, group in enumerate(self.param_groups)]
        new_state = self._load_param_state(problems, state, state_keys)
        problems.raise_if_any(who, "the optimizer was not changed (was the state saved from "
                                   "another optimizer class or model?)")
        for group, values in zip(self.param_groups, groups):
            group.update(values)
        self.state = new_state
        self.step_count = step_count

    def _load_group(self, problems: Problems, gi: int, group: dict[str, Any],
                    state: Mapping[str, Any]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        prefix = f"param_groups.{gi}."
        count = state.get(prefix + "num_params")
        if count is not None:
            n = real_scalar(problems, prefix + "num_params", count, integer=True)
            if n is not None and n != len(group["params"]):
                problems.append(f"group {gi} was saved with {n} parameters, this optimizer's "
                                f"has {len(group['params'])}")
        for k in self._hyper_keys():
            if prefix + k not in state:
                continue
            raw = array_of(state[prefix + k])
            try:
                if k == "betas" and raw.shape == (2,) and raw.dtype.kind in "iuf":
                    values[k] = HYPER[k](prefix[:-1], k, tuple(raw.tolist()))
                elif raw.shape == () and raw.dtype.kind in "biuf":
                    values[k] = HYPER[k](prefix[:-1], k, raw.item())
                else:
                    problems.append(f"{prefix + k}: unexpected {raw.dtype} array of shape "
                                    f"{raw.shape}")
            except (TypeError, ValueError) as e:
                problems.append(str(e))
        if len(values) == len(self._hyper_keys()):
            try:
                self._check_group(prefix[:-1], values)
            except ValueError as e:
                problems.append(str(e))
        return values

    def _load_param_state(self, problems: Problems, state: Mapping[str, Any],
                          keys: set[str]) -> dict[tuple[int, int], dict[str, Any]]:
        names = set(self._state_arrays) | set(self._state_counters)
        out: dict[tuple[int, int], dict[str, Any]] = {}
        for key in sorted(keys):
            parts = key.split(".")
            if (len(parts) != 4 or not all(x.isdigit() and str(int(x)) == x for x in parts[1:3])
                    or parts[3] not in names):
                problems.append(f"unexpected key {key!r} (this optimizer keeps "
                                f"{sorted(names)} per parameter)")
                continue
            gi, pi, name = int(parts[1]), int(parts[2]), parts[3]
            if gi >= len(self.param_groups) or pi >= len(self.param_groups[gi]["params"]):
                problems.append(f"{key}: no parameter {pi} in group {gi}")
                continue
            if name in self._state_counters:
                value = real_scalar(problems, key, state[key], integer=True)
                if value is not None and value < 1:
                    problems.append(f"{key} must be >= 1, got {value}")
                    value = None
            else:
                p = self.param_groups[gi]["params"][pi]
                value = like(problems, key, state[key], p.data, exact_dtype=True,
                             owner="parameter")
                if value is not None and name in self._nonnegative and (value < 0).any():
                    problems.append(f"{key}: a running mean of squares has negative entries")
                    value = None
            if value is not None:
                out.setdefault((gi, pi), {})[name] = value
        for (gi, pi), st in out.items():
            lacking = [n for n in self._state_required if n not in st]
            if lacking:
                problems.append(f"state.{gi}.{pi} lacks {lacking}")
        return out

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
        super().__init__(params, {"lr": lr, "momentum": momentum, "nesterov": nesterov,
                                  "weight_decay": weight_decay, "dampening": dampening})

    _state_arrays = ("momentum",)
    _state_required = ("momentum",)

    def _check_group(self, who: str, group: dict[str, Any]) -> None:
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(f"{who}: Nesterov needs momentum > 0 and dampening = 0, got "
                             f"momentum={group['momentum']}, dampening={group['dampening']}")

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
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps,
                                  "weight_decay": weight_decay})

    _state_arrays = ("m", "v")
    _state_required = ("t", "m", "v")
    _state_counters = ("t",)
    _nonnegative = ("v",)

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
        super().__init__(params, {"lr": lr, "alpha": alpha, "eps": eps,
                                  "weight_decay": weight_decay, "momentum": momentum})

    _state_arrays = ("v", "momentum")
    _state_required = ("v",)
    _nonnegative = ("v",)

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

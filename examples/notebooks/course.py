"""Checks for the exercises of the session-1 notebooks: each says right or wrong, and why.

A check takes the student's answer (a number or a function) and returns a ``Verdict``,
which prints as one line: ``✔ right`` with what was checked, or ``✘ not yet`` with the
first thing that is off and the likely slip behind it. An answer still left as ``...``
gets a reminder instead. With ``solution=True`` (the notebooks' hidden solution cells)
a wrong answer raises, so running a notebook top to bottom proves its solutions right.

Expected values come from the lecture's formulas written out in numpy here, never from
the engine the notebooks teach, so a check is an independent second opinion.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["Verdict"]  # the checks are listed in CHECKS


class Verdict:
    """The outcome of a check: truthy when right; prints as one line."""

    def __init__(self, exercise: str, ok: bool, why: str, answered: bool = True) -> None:
        self.exercise, self.ok, self.why, self.answered = exercise, ok, why, answered

    def __bool__(self) -> bool:
        return self.ok

    def __repr__(self) -> str:
        if not self.answered:
            return f"… {self.exercise}: not answered yet. {self.why}"
        mark = "✔ right" if self.ok else "✘ not yet"
        return f"{mark} ({self.exercise}): {self.why}"


def _verdict(exercise: str, ok: bool, why: str, solution: bool) -> Verdict:
    if solution and not ok:
        raise AssertionError(f"the solution of '{exercise}' fails its check: {why}")
    return Verdict(exercise, ok, why)


def _unanswered(answer: Any) -> bool:
    return answer is None or answer is Ellipsis


def _todo(exercise: str, what: str) -> Verdict:
    return Verdict(exercise, False, f"replace the ... with {what}, then run this cell again",
                   answered=False)


def _number(answer: Any) -> float:
    """A float from a Python number, a numpy scalar or a one-element Tensor/array."""
    value = getattr(answer, "data", answer)  # an autograd Tensor holds its array in .data
    return float(np.asarray(value, dtype=np.float64).reshape(()))


def _array(answer: Any) -> np.ndarray:
    return np.asarray(getattr(answer, "data", answer), dtype=np.float64)


def _close(a: Any, b: Any, rtol: float = 1e-6, atol: float = 1e-9) -> bool:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=rtol, atol=atol))


def _value_check(exercise: str, answer: Any, expected: float, right: str,
                 slips: list[tuple[float, str]], solution: bool, what: str,
                 rtol: float = 1e-3) -> Verdict:
    """A number against ``expected``; ``slips`` are (value a known slip gives, why)."""
    if _unanswered(answer):
        return _todo(exercise, what)
    try:
        x = _number(answer)
    except (TypeError, ValueError):
        return _verdict(exercise, False, f"expected one number, got {type(answer).__name__} "
                        f"{answer!r}", solution)
    if np.isclose(x, expected, rtol=rtol, atol=1e-9):
        return _verdict(exercise, True, right, solution)
    for value, why in slips:
        if np.isclose(x, value, rtol=rtol, atol=1e-9):
            return _verdict(exercise, False, f"you have {x:.6g}: {why}", solution)
    return _verdict(exercise, False, f"you have {x:.6g}, which is not what the chain of "
                    "local derivatives gives; recompute it step by step", solution)


class _Unanswered(Exception):
    """The student's function still returns ``...``."""


def _call(fn: Callable, *args: Any) -> tuple[Any, str | None]:
    """``fn(*args)``, or the error it raised as a sentence; raises ``_Unanswered`` when
    the function still returns the ``...`` placeholder."""
    try:
        out = fn(*args)
    except Exception as e:  # the student's code: report, don't crash the notebook
        return None, f"calling it raised {type(e).__name__}: {e}"
    if out is Ellipsis or (isinstance(out, tuple) and any(o is Ellipsis for o in out)):
        raise _Unanswered
    return out, None


def _function_check(what: str) -> Callable:
    """Decorate a check of a student's function: a function that still returns ``...``
    gets the not-answered reminder, like a ``...`` in place of the function. ``what``
    names the exercise (``{0}`` is the check's first argument)."""
    def wrap(check: Callable) -> Callable:
        @functools.wraps(check)
        def run(*args: Any, **kwargs: Any) -> Verdict:
            try:
                return check(*args, **kwargs)
            except _Unanswered:
                return _todo(what.format(*args), "your code (the function still returns ...)")
        return run
    return wrap


# ---------------------------------------------------------------- notebook 1: a neuron
# o = tanh(n), n = x1 w1 + x2 w2 + b at micrograd's values: x1 = 2, w1 = -3, x2 = 0,
# w2 = 1, b = 6.8813735870195432, so n = 0.8814 and o = 1/sqrt(2).
N1 = 2.0 * -3.0 + 0.0 * 1.0 + 6.8813735870195432
O1 = np.tanh(N1)


def check_tanh_local_derivative(answer: Any, solution: bool = False) -> Verdict:
    """do/dn for o = tanh(n) at the neuron's n (lecture eq. 20)."""
    return _value_check(
        "do/dn", answer, 1 - O1 ** 2,
        "1 - tanh(n)^2 = 1 - o^2 = 0.5 (lecture eq. 20)",
        [(1 - N1 ** 2, "that is 1 - n^2; eq. 20 squares tanh(n), which is o, not n"),
         (O1, "that is o itself; the derivative of tanh is 1 - tanh^2"),
         (-(1 - O1 ** 2), "the sign: tanh is increasing, so its derivative is positive")],
        solution, "do/dn as a number (or an expression using o)")


def check_w1_grad(answer: Any, solution: bool = False) -> Verdict:
    """do/dw1: the chain rule through n = x1 w1 + ... (lecture eqs. 17-18)."""
    local = 1 - O1 ** 2
    return _value_check(
        "do/dw1", answer, 2.0 * local,
        "do/dn × dn/dw1 = 0.5 × x1 = 0.5 × 2 = 1",
        [(local, "that is do/dn alone; multiply by dn/dw1, the local derivative of "
                 "x1*w1 with respect to w1, which is x1 = 2"),
         (-3.0 * local, "you multiplied by w1; d(x1 w1)/dw1 is the other factor, x1"),
         (2.0, "that is dn/dw1 = x1 alone; the chain rule multiplies it by do/dn = 0.5")],
        solution, "do/dw1 as a number")


def check_reuse_gradient(answer: Any, solution: bool = False) -> Verdict:
    """df/da for f = a*a + a at a = 3: every use of a adds its share."""
    return _value_check(
        "df/da", answer, 7.0,
        "2a + 1 = 7: a*a sends a to each of its two inputs (both are a), + a sends 1, "
        "and the three contributions add up",
        [(6.0, "that is only the path through a*a; the '+ a' uses a once more and adds 1"),
         (4.0, "a*a uses a twice, and each of its inputs receives the other factor (a = 3)"
               ": 3 + 3, plus 1 from '+ a'"),
         (1.0, "that is only the path through '+ a'; a*a contributes 2a = 6 as well")],
        solution, "df/da at a = 3 as a number")


def check_accumulated_grad(answer: Any, solution: bool = False) -> Verdict:
    """a.grad after two backward passes of f without zeroing it in between."""
    return _value_check(
        "a.grad after two backward()", answer, 14.0,
        "7 + 7 = 14: backward adds into .grad, so zero it (a.grad = None, or "
        "optimizer.zero_grad()) before every new pass",
        [(7.0, "backward does not overwrite .grad, it adds to it (+=): the second pass "
               "adds another 7")],
        solution, "the value of a.grad after the second backward()")


# ------------------------------------------------- notebook 2: backprop by hand
_ACTIVATIONS = {
    "relu": (lambda z: np.maximum(z, 0.0), lambda z: (z > 0).astype(np.float64), "19"),
    "tanh": (np.tanh, lambda z: 1.0 - np.tanh(z) ** 2, "20"),
    "sigmoid": (lambda z: 1 / (1 + np.exp(-z)),
                lambda z: np.exp(-z) / (1 + np.exp(-z)) ** 2, "21"),
}


@_function_check("{0}'")
def check_activation_derivative(name: str, fn: Any, solution: bool = False) -> Verdict:
    """``fn(z)``, the derivative of activation ``name`` elementwise on a numpy array."""
    exercise = f"{name}'"
    if name not in _ACTIVATIONS:
        raise ValueError(f"no activation {name!r}; one of {sorted(_ACTIVATIONS)}")
    if _unanswered(fn):
        return _todo(exercise, f"a function z -> {name}'(z) working on numpy arrays")
    f, df, eq = _ACTIVATIONS[name]
    z = np.array([-3.0, -1.2, -0.3, 0.25, 0.7, 1.5, 4.0])  # no kink at 0 for relu
    got, error = _call(fn, z.copy())
    if error:
        return _verdict(exercise, False, error, solution)
    got = np.asarray(got, dtype=np.float64)
    if got.shape != z.shape:
        return _verdict(exercise, False, f"for an array of shape {z.shape} it returned shape "
                        f"{got.shape}; work elementwise with numpy (np.tanh, np.exp, "
                        "comparisons), not math.* or Python if", solution)
    if _close(got, df(z)):
        return _verdict(exercise, True, f"matches lecture eq. {eq} at {len(z)} points",
                        solution)
    if _close(got, f(z)):
        return _verdict(exercise, False, f"that is {name}(z) itself, not its derivative",
                        solution)
    k = int(np.argmax(~np.isclose(got, df(z), rtol=1e-6, atol=1e-9)))
    return _verdict(exercise, False, f"at z = {z[k]:g} you give {got[k]:.6g}, lecture eq. {eq} "
                    f"gives {df(z)[k]:.6g}", solution)


def two_layer_problem(seed: int = 0) -> dict[str, np.ndarray]:
    """A small regression problem for the 2-layer network (4 samples, 3 inputs, 5 hidden
    units, 2 outputs): inputs x, targets y and the parameters W1, b1, W2, b2."""
    rng = np.random.default_rng(seed)
    return {"x": rng.normal(size=(4, 3)), "y": rng.normal(size=(4, 2)),
            "W1": rng.normal(size=(5, 3)) * 0.7, "b1": rng.normal(size=5) * 0.1,
            "W2": rng.normal(size=(2, 5)) * 0.7, "b2": rng.normal(size=2) * 0.1}


def reference_backprop(x: np.ndarray, y: np.ndarray, W1: np.ndarray, b1: np.ndarray,
                       W2: np.ndarray, b2: np.ndarray) -> dict[str, np.ndarray]:
    """f = W2 tanh(W1 x + b1) + b2 per sample (rows of x), J = 1/2 sum (y - f)^2 (eq. 9)."""
    z1 = x @ W1.T + b1
    a1 = np.tanh(z1)
    f = a1 @ W2.T + b2
    d2 = f - y                                # dJ/df: -(y - f), eq. 17
    d1 = (d2 @ W2) * (1 - a1 ** 2)            # eq. 18 with eq. 20
    return {"W1": d1.T @ x, "b1": d1.sum(0), "W2": d2.T @ a1, "b2": d2.sum(0)}


@_function_check("backprop by hand")
def check_backprop(fn: Any, solution: bool = False) -> Verdict:
    """``fn(x, y, W1, b1, W2, b2)`` -> dict of dJ/dW1, dJ/db1, dJ/dW2, dJ/db2 by hand."""
    exercise = "backprop by hand"
    if _unanswered(fn):
        return _todo(exercise, "your function backprop(x, y, W1, b1, W2, b2)")
    problem = two_layer_problem(seed=7)
    got, error = _call(fn, *(problem[k].copy() for k in ("x", "y", "W1", "b1", "W2", "b2")))
    if error:
        return _verdict(exercise, False, error, solution)
    if not isinstance(got, dict):
        return _verdict(exercise, False, f"return a dict with keys W1, b1, W2, b2, not "
                        f"{type(got).__name__}", solution)
    want = reference_backprop(*(problem[k] for k in ("x", "y", "W1", "b1", "W2", "b2")))
    for name in ("W2", "b2", "W1", "b1"):  # output layer first, as backprop goes
        if name not in got:
            return _verdict(exercise, False, f"no gradient for {name} in the dict", solution)
        g, w = np.asarray(got[name], dtype=np.float64), want[name]
        if g.shape != w.shape:
            hint = (" (transposed: dJ/dW has W's shape, out x in, so it is delta^T a, "
                    "not a^T delta)" if g.shape == w.shape[::-1] else "")
            return _verdict(exercise, False, f"dJ/d{name} has shape {g.shape}, {name} has "
                            f"shape {w.shape}{hint}", solution)
        if _close(g, w):
            continue
        if _close(g, -w):
            why = ("every sign is flipped: dJ/df = -(y - f) = f - y, since J = 1/2 (y - f)^2 "
                   "(eq. 9)")
        elif _close(g, 2 * w):
            why = "twice too large: the 1/2 in J = 1/2 sum (y - f)^2 cancels the 2"
        elif name in ("W1", "b1") and _close(g, reference_backprop_no_tanh(problem)[name]):
            why = ("the tanh's derivative is missing: going down through a layer multiplies "
                   "by sigma'(z) = 1 - tanh(z)^2 (eqs. 18, 20)")
        else:
            k = np.unravel_index(np.argmax(np.abs(g - w)), w.shape)
            why = f"element {tuple(int(i) for i in k)} is {g[k]:.6g}, should be {w[k]:.6g}"
        return _verdict(exercise, False, f"dJ/d{name} is off: {why}", solution)
    return _verdict(exercise, True, "all four gradients agree with the chain rule (eqs. "
                    "17-18, 20)", solution)


def reference_backprop_no_tanh(problem: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The same with sigma' dropped: the slip the check names."""
    x, y, W1, b1, W2, b2 = (problem[k] for k in ("x", "y", "W1", "b1", "W2", "b2"))
    a1 = np.tanh(x @ W1.T + b1)
    d1 = (a1 @ W2.T + b2 - y) @ W2
    return {"W1": d1.T @ x, "b1": d1.sum(0)}


# ------------------------------------------------- notebook 3: maximum likelihood
def _gaussian_nll(y: np.ndarray, mu: np.ndarray, sigma: float) -> float:
    return float(np.sum((y - mu) ** 2 / (2 * sigma ** 2) + 0.5 * np.log(2 * np.pi * sigma ** 2)))


@_function_check("Gaussian negative log-likelihood")
def check_gaussian_nll(fn: Any, solution: bool = False) -> Verdict:
    """``fn(y, mu, sigma)`` -> -log prod_i N(y_i | mu_i, sigma^2) (lecture eqs. 1, 12-13)."""
    exercise = "Gaussian negative log-likelihood"
    if _unanswered(fn):
        return _todo(exercise, "your function gaussian_nll(y, mu, sigma)")
    rng = np.random.default_rng(3)
    y, mu = rng.normal(size=6), rng.normal(size=6)
    for sigma in (1.0, 0.4, 2.5):
        got, error = _call(fn, y.copy(), mu.copy(), sigma)
        if error:
            return _verdict(exercise, False, error, solution)
        try:
            got = _number(got)
        except (TypeError, ValueError):
            return _verdict(exercise, False, "return one number, the sum over all samples",
                            solution)
        want = _gaussian_nll(y, mu, sigma)
        if np.isclose(got, want, rtol=1e-8):
            continue
        n = len(y)
        sq = float(np.sum((y - mu) ** 2))
        if np.isclose(got, -want, rtol=1e-8):
            why = "that is the log-likelihood; the loss is its negative (eq. 13 with a minus)"
        elif np.isclose(got, sq / (2 * sigma ** 2), rtol=1e-8):
            why = ("the normalisation n/2 log(2 pi sigma^2) is missing: it does not move the "
                   "best mu, but it is what makes sigma learnable")
        elif np.isclose(got, want / n, rtol=1e-8):
            why = "you averaged over samples; eq. 12's product becomes a sum, not a mean"
        elif np.isclose(got, sq / (2 * sigma) + 0.5 * n * np.log(2 * np.pi * sigma),
                        rtol=1e-8):
            why = "sigma where sigma^2 belongs: the Gaussian's variance is sigma^2 (eq. 1)"
        else:
            why = f"it gives {got:.6g}, the Gaussian gives {want:.6g}"
        return _verdict(exercise, False, f"with sigma = {sigma}: {why}", solution)
    return _verdict(exercise, True, "matches -sum log N(y_i | mu_i, sigma^2) for three "
                    "sigmas", solution)


RESIDUALS = np.array([0.3, -1.1, 0.8, 0.05, -0.4, 1.6, -0.9, 0.2])


def check_sigma_mle(answer: Any, solution: bool = False) -> Verdict:
    """The maximum-likelihood sigma^2 for the residuals ``RESIDUALS``."""
    r = RESIDUALS
    return _value_check(
        "MLE of sigma^2", answer, float(np.mean(r ** 2)),
        "mean of the squared residuals: setting d/d(sigma^2) of the NLL to zero gives "
        "sigma^2 = (1/n) sum (y_i - mu_i)^2",
        [(float(np.sum(r ** 2) / (len(r) - 1)), "that divides by n - 1: the unbiased "
          "estimator, not the maximum-likelihood one (which divides by n)"),
         (float(np.sqrt(np.mean(r ** 2))), "that is sigma; the question asks for sigma^2"),
         (float(np.var(r)), "that subtracts the residuals' mean; the model's mu is fixed, "
          "so the residuals are used as they are")],
        solution, "sigma^2 as a number", rtol=1e-6)


@_function_check("dJ/dtheta of the binary cross-entropy")
def check_bce_gradient(fn: Any, solution: bool = False) -> Verdict:
    """``fn(theta, x, y)`` -> dJ/dtheta for q = sigmoid(theta x), J the mean binary
    cross-entropy (lecture eqs. 23-24, 28)."""
    exercise = "dJ/dtheta of the binary cross-entropy"
    if _unanswered(fn):
        return _todo(exercise, "your function bce_grad(theta, x, y)")
    rng = np.random.default_rng(5)
    x, y, theta = rng.normal(size=9), (rng.random(9) < 0.5).astype(np.float64), 0.7
    got, error = _call(fn, theta, x.copy(), y.copy())
    if error:
        return _verdict(exercise, False, error, solution)
    try:
        got = _number(got)
    except (TypeError, ValueError):
        return _verdict(exercise, False, "return one number, dJ/dtheta", solution)
    s = 1 / (1 + np.exp(-theta * x))
    want = float(np.mean(x * (s - y)))
    if np.isclose(got, want, rtol=1e-8):
        return _verdict(exercise, True, "(1/n) sum x_i (sigma(theta x_i) - y_i): eq. 28 "
                        "with J's sign and its 1/n", solution)
    if np.isclose(got, -want, rtol=1e-8):
        why = ("the sign: eq. 28's x (y - sigma) is the gradient of the log-likelihood, "
               "J = -l/n descends the other way")
    elif np.isclose(got, want * len(x), rtol=1e-8):
        why = "J is a mean (eq. 24's 1/n): divide the sum by n"
    else:
        why = f"you have {got:.6g}, expected {want:.6g}"
    return _verdict(exercise, False, why, solution)


# ------------------------------------------------- notebook 4: optimizers
def quadratic_grad(theta: np.ndarray) -> np.ndarray:
    """Gradient of J = 1/2 (theta_0^2 + 25 theta_1^2), the notebook's ravine."""
    return np.array([1.0, 25.0]) * theta


def _heavy_ball(theta: np.ndarray, steps: int, lr: float, alpha: float,
                sign: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    v = np.zeros_like(theta)  # from 0, v = alpha v + g makes v = g on the first step
    for _ in range(steps):
        v = quadratic_grad(theta) + sign * alpha * v
        theta = theta - lr * v
    return theta, v


@_function_check("a momentum step")
def check_momentum_step(fn: Any, solution: bool = False) -> Verdict:
    """``fn(theta, v, g, lr, alpha)`` -> (theta, v) after one SGD-with-momentum step in
    PyTorch's convention, v = alpha v + g, theta <- theta - lr v (v starts at 0)."""
    exercise = "a momentum step"
    if _unanswered(fn):
        return _todo(exercise, "your function momentum_step(theta, v, g, lr, alpha)")
    lr, alpha, start = 0.03, 0.9, np.array([2.0, 1.0])
    theta, v = start.copy(), np.zeros(2)
    for _ in range(6):
        out, error = _call(fn, theta.copy(), v.copy(), quadratic_grad(theta), lr, alpha)
        if error:
            return _verdict(exercise, False, error, solution)
        if not (isinstance(out, tuple) and len(out) == 2):
            return _verdict(exercise, False, "return the pair (theta, v)", solution)
        theta, v = (np.asarray(a, dtype=np.float64) for a in out)
    want_theta, want_v = _heavy_ball(start, 6, lr, alpha)
    if _close(theta, want_theta) and _close(v, want_v):
        return _verdict(exercise, True, "six steps match heavy-ball momentum, as "
                        "nn.optim.SGD(momentum=0.9) and torch.optim.SGD take them", solution)
    if _close(theta, _heavy_ball(start, 6, lr, alpha, sign=-1.0)[0]):
        why = ("that is eq. 16 as printed, g - alpha g_prev: with alpha > 0 it brakes "
               "instead of accelerating; PyTorch (and nn.optim) add alpha v")
    elif _close(theta, want_theta) and _close(v, lr * want_v):
        why = ("theta is right, but your v carries the learning rate (v = alpha v + lr g, "
               "Sutskever's form): the same path for a fixed lr, but PyTorch keeps v "
               "without lr, so schedules that change lr act differently")
    elif _close(theta, _heavy_ball(start, 6, lr, 0.0)[0]):
        why = "this is plain SGD: the velocity never enters the step"
    else:
        why = f"after 6 steps theta = {np.round(theta, 6)}, expected {np.round(want_theta, 6)}"
    return _verdict(exercise, False, why, solution)


def check_adam_first_step(answer: Any, solution: bool = False) -> Verdict:
    """|change of theta| in Adam's first step with lr = 0.1 and gradient g = 1000."""
    return _value_check(
        "Adam's first step", answer, 0.1,
        "lr: after bias correction m_hat = g and v_hat = g^2, so the step is "
        "lr g / |g| = lr whatever the size of g",
        [(100.0, "that is SGD's step lr × g; Adam divides by sqrt(v_hat) = |g|"),
         (0.01, "that corrects v but not m: m_hat = m / (1 - beta1) = g, while the raw m "
                "after one step is only (1 - beta1) g"),
         (0.1 * 0.1 / np.sqrt(0.001), "that skips both bias corrections: m = 0.1 g and "
          "v = 0.001 g^2 give lr 0.1 / sqrt(0.001), about 3.16 lr")],
        solution, "the size of the first step as a number", rtol=1e-4)


# ------------------------------------------------- notebook 5: softmax and cross-entropy
def _softmax(a: np.ndarray) -> np.ndarray:
    e = np.exp(a - a.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


@_function_check("softmax Jacobian")
def check_softmax_jacobian(fn: Any, solution: bool = False) -> Verdict:
    """``fn(a)`` -> the N x N matrix dp_j/da_k of p = softmax(a) (lecture eq. 30)."""
    exercise = "softmax Jacobian"
    if _unanswered(fn):
        return _todo(exercise, "your function softmax_jacobian(a)")
    for a in (np.array([0.5, -1.0, 2.0]), np.array([1.0, 1.0, 0.0, -2.0])):
        got, error = _call(fn, a.copy())
        if error:
            return _verdict(exercise, False, error, solution)
        got = np.asarray(got, dtype=np.float64)
        p = _softmax(a)
        want = np.diag(p) - np.outer(p, p)
        if _close(got, want):
            continue
        if got.shape != want.shape:
            why = f"for {len(a)} logits the Jacobian is {want.shape}, you return {got.shape}"
        elif _close(got, -np.outer(p, p)):
            why = "the delta_jk p_j term (the diagonal) is missing"
        elif _close(got, np.diag(p)):
            why = "the - p_j p_k term is missing: every p_j depends on every a_k"
        elif _close(got, np.diag(p * (1 - p))):
            why = ("that is only the diagonal p_j (1 - p_j); off the diagonal dp_j/da_k = "
                   "-p_j p_k")
        else:
            why = f"for a = {a} it differs from p_j (delta_jk - p_k)"
        return _verdict(exercise, False, why, solution)
    return _verdict(exercise, True, "p_j (delta_jk - p_k) for 3 and 4 classes (eq. 30)",
                    solution)


@_function_check("dJ/da of softmax cross-entropy")
def check_cross_entropy_grad(fn: Any, solution: bool = False) -> Verdict:
    """``fn(a, y)`` -> dJ/da for logits a (n x N), one-hot labels y and the mean
    cross-entropy J (lecture eqs. 31-32)."""
    exercise = "dJ/da of softmax cross-entropy"
    if _unanswered(fn):
        return _todo(exercise, "your function cross_entropy_grad(a, y)")
    rng = np.random.default_rng(11)
    a = rng.normal(size=(5, 3))
    y = np.eye(3)[rng.integers(0, 3, 5)]
    got, error = _call(fn, a.copy(), y.copy())
    if error:
        return _verdict(exercise, False, error, solution)
    got = np.asarray(got, dtype=np.float64)
    p = _softmax(a)
    want = (p - y) / len(a)
    if _close(got, want):
        return _verdict(exercise, True, "(p - y) / n (lecture eq. 32)", solution)
    if got.shape != want.shape:
        why = f"one gradient per logit: shape {want.shape}, not {got.shape}"
    elif _close(got, p - y):
        why = "the 1/n of the mean (eq. 31) is missing"
    elif _close(got, -want):
        why = "the sign: the loss grows with p of wrong classes, so it is p - y"
    elif _close(got, (a - y) / len(a)):
        why = "that uses the logits a where the probabilities p = softmax(a) belong"
    else:
        why = "it differs from (p - y) / n"
    return _verdict(exercise, False, why, solution)


@_function_check("a stable softmax")
def check_stable_softmax(fn: Any, solution: bool = False) -> Verdict:
    """``fn(a)`` -> softmax of a 1-d array, finite even for logits like 1000."""
    exercise = "a stable softmax"
    if _unanswered(fn):
        return _todo(exercise, "your function stable_softmax(a)")
    for a in (np.array([1.0, 2.0, 3.0]), np.array([1000.0, 1001.0, 1002.0]),
              np.array([-1000.0, -1001.0, -1e4])):
        with np.errstate(all="ignore"):
            got, error = _call(fn, a.copy())
        if error:
            return _verdict(exercise, False, error, solution)
        got = np.asarray(got, dtype=np.float64)
        if not np.all(np.isfinite(got)):
            return _verdict(exercise, False, f"for a = {a} you get {got}: e^1000 overflows "
                            "(e^-1000 underflows to 0/0); subtract max(a) first, which "
                            "leaves softmax unchanged", solution)
        if not _close(got, _softmax(a)):
            return _verdict(exercise, False, f"for a = {a} you get {got}, softmax is "
                            f"{_softmax(a)}", solution)
    return _verdict(exercise, True, "right for small logits, and finite at ±1000", solution)


# ------------------------------------------------- notebook 6: stability
def _slope(q: np.ndarray, t: np.ndarray) -> np.ndarray:
    q0, q1, t0, t1 = q[..., 0], q[..., 1], t[..., 0], t[..., 1]
    return 6 * q0 * t0 * t1 + 3 * q0 * t1 ** 2 + 3 * q1 * t0 ** 2 + 6 * q1 * t0 * t1


@_function_check("the slope, eq. 34")
def check_slope(fn: Any, solution: bool = False) -> Verdict:
    """``fn(q, t)`` -> the slope mu(O(q)) on the bicubic at Kähler parameters t (eq. 34),
    for single vectors q = (q0, q1), t = (t0, t1)."""
    exercise = "the slope, eq. 34"
    if _unanswered(fn):
        return _todo(exercise, "your function slope(q, t)")
    rng = np.random.default_rng(2)
    for _ in range(8):
        q, t = rng.integers(-5, 6, 2).astype(np.float64), rng.uniform(0.1, 3, 2)
        got, error = _call(fn, q.copy(), t.copy())
        if error:
            return _verdict(exercise, False, error, solution)
        got = _number(got)
        want = float(_slope(q, t))
        if not np.isclose(got, want, rtol=1e-9, atol=1e-9):
            swapped = float(_slope(q[::-1], t))
            why = ("q0 and q1 are swapped: q0 goes with t1 (6 q0 t0 t1 + 3 q0 t1^2)"
                   if np.isclose(got, swapped) else f"you have {got:.6g}, eq. 34 gives "
                   f"{want:.6g}")
            return _verdict(exercise, False, f"at q = {q}, t = {np.round(t, 3)}: {why}",
                            solution)
    return _verdict(exercise, True, "eq. 34 at 8 random charges and Kähler parameters",
                    solution)


def _stable_open_cone(q0: int, q1: int) -> bool:
    # mu = 3 q0 t1 (2 t0 + t1) + 3 q1 t0 (t0 + 2 t1): near t0 = 0 it has q0's sign, near
    # t1 = 0 q1's, so it vanishes inside the cone iff the signs differ (or q = 0)
    return (q0 == 0 and q1 == 0) or q0 * q1 < 0


@_function_check("the stability rule, eq. 35")
def check_stability_rule(fn: Any, solution: bool = False) -> Verdict:
    """``fn(q0, q1)`` -> True when O(q0, q1) on the bicubic is stable by eq. 35 (the slope
    vanishes somewhere in the open Kähler cone t0, t1 > 0)."""
    exercise = "the stability rule, eq. 35"
    if _unanswered(fn):
        return _todo(exercise, "your function is_stable(q0, q1)")
    wrong = []
    for q0 in range(-10, 11):
        for q1 in range(-10, 11):
            got, error = _call(fn, q0, q1)
            if error:
                return _verdict(exercise, False, f"at q = ({q0}, {q1}): {error}", solution)
            if bool(got) != _stable_open_cone(q0, q1):
                wrong.append((q0, q1))
    if not wrong:
        return _verdict(exercise, True, "right on all 441 charges of [-10, 10]^2",
                        solution)
    q0, q1 = wrong[0]
    if (q0, q1) == (0, 0) or (0, 0) in wrong:
        why = ("q = (0, 0): its slope is 0 for every t, so it vanishes in the cone: stable "
               "(the trivial bundle)")
    elif q0 == 0 or q1 == 0:
        mu = ("3 q1 t0 (t0 + 2 t1)" if q0 == 0 else "3 q0 t1 (2 t0 + t1)")
        why = (f"q = ({q0}, {q1}) lies on an axis: mu = {mu} never vanishes for t0, t1 > 0 "
               "(only on the cone's boundary), so it is unstable in the open cone")
    elif q0 * q1 > 0:
        why = f"q = ({q0}, {q1}): both charges have one sign, so every term of mu does too"
    else:
        why = (f"q = ({q0}, {q1}): the charges have opposite signs, so mu changes sign "
               "between t0 -> 0 and t1 -> 0 and vanishes in between: stable")
    return _verdict(exercise, False, f"{len(wrong)} of 441 charges are wrong, e.g. {why}",
                    solution)


def check_stable_fraction(answer: Any, solution: bool = False) -> Verdict:
    """The fraction of stable bundles among the 441 charges in [-10, 10]^2."""
    return _value_check(
        "fraction of stable bundles", answer, 201 / 441,
        "201 of 441: 2 × 10 × 10 with opposite signs, plus q = 0",
        [(200 / 441, "q = (0, 0) is stable too (its slope vanishes everywhere)"),
         (241 / 441, "the 40 charges on the axes are unstable in the open cone"),
         (0.5, "count them: opposite-sign quadrants hold 2 × 100 charges of 441")],
        solution, "the fraction as a number between 0 and 1", rtol=1e-6)




# ------------------------------------------------- notebook 7: your own op
def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def _still_stub(fn: Any) -> bool:
    """A function whose source still holds the exercise's placeholder: ``return ...``, or
    a line that is only ``...``."""
    import inspect
    import re

    try:
        source = inspect.getsource(fn)
    except (OSError, TypeError):
        return False
    return bool(re.search(r"return\s+\.\.\.|^\s*\.\.\.\s*(#.*)?$", source, re.M))


def _op_gradient(function: Any, x: np.ndarray, w: np.ndarray) -> tuple[Any, Any, str | None]:
    """(output, d sum(w * f(x)) / dx, error) for a Function subclass, through autograd."""
    import autograd as ag

    xt = ag.tensor(x, requires_grad=True)
    try:
        y = function.apply(xt)
        (y * ag.tensor(w)).sum().backward()
    except Exception as e:  # the student's op: report, don't crash the notebook
        return None, None, f"running it raised {type(e).__name__}: {e}"
    grad = None if xt.grad is None else xt.grad.numpy()
    return np.asarray(getattr(y, "data", y), dtype=np.float64), grad, None


def _check_function(exercise: str, function: Any, f: Callable, df: Callable,
                    slips: list[tuple[Callable, str]], solution: bool) -> Verdict:
    import autograd as ag

    if _unanswered(function) or _still_stub(getattr(function, "backward", None)) or \
            _still_stub(getattr(function, "forward", None)):
        return _todo(exercise, "your forward and backward")
    if not (isinstance(function, type) and issubclass(function, ag.Function)):
        return _verdict(exercise, False, f"pass the class itself, a subclass of "
                        f"autograd.Function (not {type(function).__name__})", solution)
    x = np.array([-1.7, -0.6, 0.0, 0.4, 1.3, 2.2])
    w = np.array([0.5, -1.0, 2.0, 1.5, -0.3, 1.0])  # an upstream gradient other than 1
    y, grad, error = _op_gradient(function, x, w)
    if error:
        return _verdict(exercise, False, error, solution)
    if y.shape != x.shape or not _close(y, f(x)):
        return _verdict(exercise, False, "forward gives the wrong values", solution)
    if grad is None or not grad.any():
        return _verdict(exercise, False, "no gradient reached x: backward returned None "
                        "(or zeros)", solution)
    if _close(grad, w * df(x)):
        return _verdict(exercise, True, "forward and backward agree with the formula at 6 "
                        "points, with an upstream gradient other than 1", solution)
    if _close(grad, df(x)):
        return _verdict(exercise, False, "backward ignores the gradient it receives: return "
                        "g times the local derivative (the chain rule)", solution)
    for slip, why in slips:
        if _close(grad, w * slip(x)):
            return _verdict(exercise, False, why, solution)
    k = int(np.argmax(~np.isclose(grad, w * df(x))))
    return _verdict(exercise, False, f"at x = {x[k]:g} the gradient is {grad[k]:.6g}, the "
                    f"derivative gives {(w * df(x))[k]:.6g}", solution)


def check_silu(function: Any, solution: bool = False) -> Verdict:
    """A Function computing silu(x) = x sigmoid(x) with its derivative."""
    s = _sigmoid
    return _check_function(
        "SiLU's backward", function, lambda x: x * s(x),
        lambda x: s(x) + x * s(x) * (1 - s(x)),
        [(lambda x: x * s(x) * (1 - s(x)), "the product rule's first term, sigmoid(x) "
                                          "(from d x / dx = 1), is missing"),
         (s, "the product rule's second term, x sigmoid'(x), is missing"),
         (lambda x: s(x) * (1 - s(x)), "that is sigmoid'(x) alone; silu is x times sigmoid, "
                                       "so use the product rule")],
        solution)


def check_logcosh(function: Any, solution: bool = False) -> Verdict:
    """A Function computing log(cosh(x)) with its derivative tanh(x)."""
    return _check_function(
        "LogCosh", function, lambda x: np.log(np.cosh(x)), np.tanh,
        [(lambda x: 1 - np.tanh(x) ** 2, "that is tanh's derivative; the derivative of "
                                          "log cosh x is sinh x / cosh x = tanh x"),
         (lambda x: np.sinh(x), "d/dx log(u) = u'/u: divide sinh x by cosh x")],
        solution)


def _silu_functions() -> tuple[Any, Any]:
    """SiLU right, and with a derivative that is wrong only for negative inputs."""
    import autograd as ag

    class Right(ag.Function):
        @staticmethod
        def forward(ctx: Any, x: Any) -> Any:
            ctx.save_for_backward(x)
            return x * x.sigmoid()

        @staticmethod
        def backward(ctx: Any, g: Any) -> Any:
            (x,) = ctx.saved_tensors
            s = x.sigmoid()
            return g * (s + x * s * (1 - s))

    class WrongBelowZero(Right):
        @staticmethod
        def backward(ctx: Any, g: Any) -> Any:
            (x,) = ctx.saved_tensors
            s = x.sigmoid()
            return g * (s + x.abs() * s * (1 - s))

    return Right, WrongBelowZero


def check_property_test(run_test: Any, solution: bool = False) -> Verdict:
    """``run_test(apply)`` runs a hypothesis test of the op ``apply`` (raising when it
    finds a wrong derivative). Checked against a right SiLU, which it must pass, and one
    whose derivative is wrong only for negative inputs, which it must catch."""
    exercise = "a property test that can fail"
    if _unanswered(run_test) or _still_stub(run_test):
        return _todo(exercise, "your property test")
    right, wrong = _silu_functions()
    try:
        if run_test(right.apply) is Ellipsis:
            return _todo(exercise, "your property test")
    except Exception as e:
        return _verdict(exercise, False, f"it fails the correct SiLU ({type(e).__name__}: "
                        f"{str(e)[:200]}); a property must hold for a right op", solution)
    try:
        run_test(wrong.apply)
    except Exception:
        return _verdict(exercise, True, "it passes the right SiLU and catches the one whose "
                        "derivative is wrong below zero", solution)
    return _verdict(exercise, False, "it passes a SiLU whose derivative is wrong for every "
                    "x < 0: draw inputs of both signs (autograd.testing.tensors) and "
                    "compare with gradcheck", solution)


CHECKS: dict[str, Callable[..., Verdict]] = {
    name: fn for name, fn in globals().items() if name.startswith("check_")}

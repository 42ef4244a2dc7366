"""W6 (``bench/w6.py``) in each engine that runs it: hand-written numpy, cygrad's plain
ops (no ``nn``: the engine's floor), and PyTorch as a user writes it."""

from __future__ import annotations

from typing import Any

import numpy as np
import w6
from workloads import Case

from . import Runner


# ------------------------------------------------------------------ numpy
def _np_windows(x: np.ndarray, k: tuple[int, int], pad: tuple) -> np.ndarray:
    xp = np.pad(x, ((0, 0), (0, 0)) + pad)
    return np.lib.stride_tricks.sliding_window_view(xp, k, axis=(2, 3))  # (N,C,H,W,kh,kw)


def _np_conv(x: np.ndarray, w: np.ndarray, b: np.ndarray, pad: tuple) -> tuple:
    win = _np_windows(x, w.shape[2:], pad)
    y = np.tensordot(win, w, axes=([1, 4, 5], [1, 2, 3])).transpose(0, 3, 1, 2) + \
        b[None, :, None, None]
    return y, win


def _np_conv_back(g: np.ndarray, w: np.ndarray, win: np.ndarray, xshape: tuple,
                  pad: tuple, need_x: bool) -> tuple:
    dw = np.tensordot(g, win, axes=([0, 2, 3], [0, 2, 3]))  # (O, C, kh, kw)
    db = g.sum(axis=(0, 2, 3))
    if not need_x:
        return None, dw, db
    dwin = np.tensordot(g, w, axes=([1], [0]))  # (N, H, W, C, kh, kw)
    n, c, h, wd = xshape
    (pt, pb), (pl, pr) = pad
    dxp = np.zeros((n, c, h + pt + pb, wd + pl + pr), g.dtype)
    for i in range(w.shape[2]):
        for j in range(w.shape[3]):
            dxp[:, :, i:i + h, j:j + wd] += dwin[:, :, :, :, i, j].transpose(0, 3, 1, 2)
    return dxp[:, :, pt:pt + h, pl:pl + wd], dw, db


def _cmean(a: np.ndarray) -> np.ndarray:
    """Per-channel mean over (N, H, W), accumulated in float64: a float32 sum over 5760
    values drifts by ~1e-4, and BatchNorm's backward subtracts such means."""
    return a.mean(axis=(0, 2, 3), keepdims=True, dtype=np.float64).astype(a.dtype)


def _np_loss_grad(p: dict, data: dict, running: dict) -> tuple[float, dict]:
    x, saved = data["X"], []
    for m in range(len(w6.FILTERS)):
        a, wa = _np_conv(x, p[f"col{m}_w"], p[f"col{m}_b"], (w6.PAD_COL, (0, 0)))
        b, wb = _np_conv(x, p[f"row{m}_w"], p[f"row{m}_b"], ((0, 0), w6.PAD_ROW))
        z = np.concatenate([np.maximum(a, 0), np.maximum(b, 0)], axis=1)
        mean = _cmean(z)
        var = _cmean((z - mean) ** 2)
        rstd = 1 / np.sqrt(var + w6.EPS)
        xhat = (z - mean) * rstd
        cnt = z.size // z.shape[1]
        for key, val in ((f"bn{m}_mean", mean), (f"bn{m}_var", var * cnt / (cnt - 1))):
            running[key] *= 1 - w6.MOMENTUM
            running[key] += w6.MOMENTUM * val.reshape(-1)
        saved.append((x, wa, wb, z, xhat, rstd))
        x = xhat * p[f"bn{m}_g"][None, :, None, None] + p[f"bn{m}_b"][None, :, None, None]
    h = (x * data["mask"]).reshape(len(x), -1)
    out = h @ p["dense_w"].T + p["dense_b"]
    pred = np.maximum(out, 0)
    diff = pred - data["y"]
    kernels = [k for k in p if k.endswith("_w") and k != "dense_w"]
    loss = (diff * diff).mean() + w6.PENALTY * sum(np.abs(p[k]).sum() + (p[k] * p[k]).sum()
                                                   for k in kernels)
    grads: dict[str, np.ndarray] = {}
    g = (2.0 / diff.size) * diff * (out > 0)
    grads["dense_w"] = g.T @ h
    grads["dense_b"] = g.sum(axis=0)
    gx = (g @ p["dense_w"]).reshape(x.shape) * data["mask"]
    for m in reversed(range(len(w6.FILTERS))):
        xin, wa, wb, z, xhat, rstd = saved[m]
        cnt = gx.size // gx.shape[1]
        grads[f"bn{m}_g"] = _cmean(gx * xhat).reshape(-1) * cnt
        grads[f"bn{m}_b"] = _cmean(gx).reshape(-1) * cnt
        dxhat = gx * p[f"bn{m}_g"][None, :, None, None]
        gz = rstd * (dxhat - _cmean(dxhat) - xhat * _cmean(dxhat * xhat))
        gz = gz * (z > 0)
        f = w6.FILTERS[m]
        dxa, grads[f"col{m}_w"], grads[f"col{m}_b"] = _np_conv_back(
            gz[:, :f], p[f"col{m}_w"], wa, xin.shape, (w6.PAD_COL, (0, 0)), m > 0)
        dxb, grads[f"row{m}_w"], grads[f"row{m}_b"] = _np_conv_back(
            gz[:, f:], p[f"row{m}_w"], wb, xin.shape, ((0, 0), w6.PAD_ROW), m > 0)
        gx = dxa + dxb if m > 0 else None
    for k in kernels:
        grads[k] += w6.PENALTY * (np.sign(p[k]) + 2 * p[k])
    return float(loss), grads


def numpy_runner(case: Case, data: dict) -> Runner:
    names = w6.param_names()
    p = {k: data[k].copy() for k in names}
    running = {k: data[k].copy() for k in data if k.endswith(("_mean", "_var"))}

    def step() -> Any:
        loss, grads = _np_loss_grad(p, data, running)
        for k in names:
            p[k] -= case.lr * grads[k]
        return loss, [grads[k] for k in names]

    return Runner(step, lambda h: (h[0], h[1]))


# ------------------------------------------------------------------ cygrad
def cygrad_runner(case: Case, data: dict) -> Runner:
    import autograd as ag

    names = w6.param_names()
    p = {k: ag.Tensor(data[k].copy(), requires_grad=True) for k in names}
    running = {k: data[k].copy() for k in data if k.endswith(("_mean", "_var"))}
    X, y, mask = ag.Tensor(data["X"]), ag.Tensor(data["y"]), data["mask"]
    kernels = [p[k] for k in names if k.endswith("_w") and k != "dense_w"]
    col_pad, row_pad = (w6.PAD_COL, (0, 0)), ((0, 0), w6.PAD_ROW)

    def step() -> Any:
        x = X
        for m in range(len(w6.FILTERS)):
            a = ag.relu(ag.conv2d(x, p[f"col{m}_w"], p[f"col{m}_b"], padding=col_pad))
            b = ag.relu(ag.conv2d(x, p[f"row{m}_w"], p[f"row{m}_b"], padding=row_pad))
            x = ag.batch_norm(ag.concatenate([a, b], axis=1), p[f"bn{m}_g"], p[f"bn{m}_b"],
                              running[f"bn{m}_mean"], running[f"bn{m}_var"], w6.MOMENTUM,
                              w6.EPS)
        h = (x * mask).reshape((x.shape[0], -1))
        pred = ag.relu(ag.linear(h, p["dense_w"], p["dense_b"]))
        loss = ag.mse_loss(pred, y)
        for k in kernels:
            loss = loss + w6.PENALTY * (k.abs().sum() + (k * k).sum())
        loss.backward()
        grads = []
        for k in names:
            t = p[k]
            g = t.grad
            t.data -= case.lr * g.data
            t.grad = None
            grads.append(g)
        return loss, grads

    return Runner(step, lambda h: (h[0].item(), [g.data for g in h[1]]))


# ------------------------------------------------------------------ torch
def torch_runner(case: Case, data: dict) -> Runner:
    import torch
    import torch.nn.functional as F

    names = w6.param_names()
    p = {k: torch.from_numpy(data[k].copy()).requires_grad_() for k in names}
    running = {k: torch.from_numpy(data[k].copy()) for k in data
               if k.endswith(("_mean", "_var"))}
    X, y, mask = (torch.from_numpy(data[k]) for k in ("X", "y", "mask"))
    kernels = [p[k] for k in names if k.endswith("_w") and k != "dense_w"]
    def step() -> Any:
        x = X
        for m in range(len(w6.FILTERS)):
            # PyTorch's "same" puts an even kernel's extra zero after, as Keras does
            a = torch.relu(F.conv2d(x, p[f"col{m}_w"], p[f"col{m}_b"], padding="same"))
            b = torch.relu(F.conv2d(x, p[f"row{m}_w"], p[f"row{m}_b"], padding="same"))
            x = F.batch_norm(torch.cat([a, b], 1), running[f"bn{m}_mean"],
                             running[f"bn{m}_var"], p[f"bn{m}_g"], p[f"bn{m}_b"], True,
                             w6.MOMENTUM, w6.EPS)
        h = (x * mask).reshape(x.shape[0], -1)
        pred = torch.relu(F.linear(h, p["dense_w"], p["dense_b"]))
        loss = F.mse_loss(pred, y)
        for k in kernels:
            loss = loss + w6.PENALTY * (k.abs().sum() + (k * k).sum())
        loss.backward()
        grads = []
        with torch.no_grad():
            for k in names:
                t = p[k]
                g = t.grad
                t.sub_(g, alpha=case.lr)
                t.grad = None
                grads.append(g)
        return loss, grads

    return Runner(step, lambda h: (h[0].item(), [g.numpy() for g in h[1]]))

"""Stability datasets (eq. 35 labels) for any CICY configuration, saved as .npz atomically.

A dataset is a grid of charges in a box or random charges, of single line bundles
(X of shape (N, m)) or of sums of rank n with c1 = 0 (X of shape (N, n, m)), labelled
1 = stable (single bundles, :func:`physics.stability.is_stable`) or poly-stable
(sums, :func:`physics.stability.is_polystable_sum`).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from itertools import product
from pathlib import Path
from typing import Any

import numpy as np

from safeio import atomic_write, read_npz

from .cicy import CICY

__all__ = ["StabilityDataset", "make_stability_dataset", "load_dataset"]

FORMAT = "cygrad.physics.StabilityDataset"
VERSION = 1
MAX_GRID = 5_000_000


@dataclass(frozen=True)
class StabilityDataset:
    """Charges X, labels y (int8, 1 = stable) and how they were made.

    config is the configuration with the dimension column; meta holds cone, rank,
    sampling, box, seed, balance, dedupe and the labelling method.
    """

    X: np.ndarray
    y: np.ndarray
    config: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check_arrays(self.X, self.y, self.config, "dataset")

    def __len__(self) -> int:
        return int(self.y.shape[0])

    @property
    def cicy(self) -> CICY:
        return CICY(self.config)

    def save(self, path: str | os.PathLike) -> Path:
        """Write X, y, config and meta to `path` (.npz), atomically (temp file + os.replace,
        ``safeio.atomic_write``: the umask's modes, no temporary left behind)."""
        meta = json.dumps({"format": FORMAT, "version": VERSION, **self.meta}, sort_keys=True)
        return atomic_write(path, lambda fh: np.savez(fh, X=self.X, y=self.y,
                                                      config=self.config, meta=np.array(meta)))

    @classmethod
    def load(cls, path: str | os.PathLike) -> StabilityDataset:
        return load_dataset(path)


def _check_arrays(X: np.ndarray, y: np.ndarray, config: np.ndarray, where: str) -> None:
    if config.ndim != 2 or config.shape[1] < 2:
        raise ValueError(f"{where}: config must be an (m, K+1) matrix, got shape {config.shape}")
    m = config.shape[0]
    if X.ndim not in (2, 3) or X.shape[-1] != m:
        raise ValueError(
            f"{where}: X must have shape (N, {m}) or (N, n, {m}) for this configuration, "
            f"got {X.shape}"
        )
    if y.ndim != 1 or y.shape[0] != X.shape[0]:
        raise ValueError(f"{where}: y must have shape ({X.shape[0]},) to match X, got {y.shape}")
    if not np.issubdtype(X.dtype, np.integer) or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"{where}: X and y must be integer arrays, got {X.dtype} and {y.dtype}")
    if y.size and not np.all((y == 0) | (y == 1)):
        raise ValueError(f"{where}: labels y must be 0 or 1")


def load_dataset(path: str | os.PathLike) -> StabilityDataset:
    """Load a dataset written by :meth:`StabilityDataset.save`, validating keys and shapes.

    A truncated, corrupted or foreign file raises ValueError naming the file and the problem.
    """
    path = Path(path)
    arrays = read_npz(path, who="load_dataset")
    missing = {"X", "y", "config", "meta"} - arrays.keys()
    if missing:
        raise ValueError(f"{path} is not a cygrad stability dataset: missing arrays "
                         f"{sorted(missing)} (found {sorted(arrays)})")
    X, y, config, meta_arr = arrays["X"], arrays["y"], arrays["config"], arrays["meta"]
    try:
        meta = json.loads(str(meta_arr[()]))
    except (json.JSONDecodeError, TypeError, IndexError) as exc:
        raise ValueError(f"{path}: the 'meta' entry is not JSON ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ValueError(f"{path}: not a {FORMAT} file (meta format tag is missing or different)")
    if meta.get("version") != VERSION:
        raise ValueError(
            f"{path}: dataset version {meta.get('version')} is not supported ({VERSION})"
        )
    _check_arrays(X, y, config, str(path))
    meta = {k: v for k, v in meta.items() if k not in ("format", "version")}
    return StabilityDataset(X=X, y=y, config=config, meta=meta)


def _canonical_sums(X: np.ndarray) -> np.ndarray:
    """Sort the summands of each sum lexicographically: V = L1+L2 and L2+L1 are one bundle."""
    N, n, m = X.shape
    if n < 2 or N == 0:
        return X
    shift = int(X.min())
    base = int(X.max()) - shift + 1
    if float(base) ** m < 2**62:
        # one integer per summand whose order is the lexicographic order of the charges
        weights = base ** np.arange(m - 1, -1, -1, dtype=np.int64)
        order = np.argsort((X - shift) @ weights, axis=1, kind="stable")
    else:
        order = np.array([sorted(range(n), key=lambda a, row=row: tuple(row[a])) for row in X])
    return np.take_along_axis(X, order[:, :, None], axis=1)


def _unique_rows(X: np.ndarray) -> np.ndarray:
    """Indices of first occurrences, in original order."""
    flat = X.reshape(X.shape[0], -1)
    _, first = np.unique(flat, axis=0, return_index=True)
    return np.sort(first)


def _grid(m: int, rank: int, lo: int, hi: int) -> np.ndarray:
    free = m * (rank - 1) if rank > 1 else m
    size = (hi - lo + 1) ** free
    if size > MAX_GRID:
        raise ValueError(
            f"the full grid has {size} points (> {MAX_GRID}); shrink the box or use "
            "sampling='random'"
        )
    axes = [np.arange(lo, hi + 1)] * free
    pts = np.array(list(product(*axes)), dtype=np.int64).reshape(-1, free)
    if rank == 1:
        return pts
    head = pts.reshape(-1, rank - 1, m)
    last = -head.sum(axis=1, keepdims=True)
    X = np.concatenate([head, last], axis=1)
    inside = np.all((last >= lo) & (last <= hi), axis=(1, 2))
    return X[inside]


def _random(m: int, rank: int, lo: int, hi: int, n: int, rng: np.random.Generator) -> np.ndarray:
    if rank == 1:
        return rng.integers(lo, hi + 1, size=(n, m))
    out = []
    have = 0
    for _ in range(100):
        head = rng.integers(lo, hi + 1, size=(2 * n, rank - 1, m))
        last = -head.sum(axis=1, keepdims=True)
        inside = np.all((last >= lo) & (last <= hi), axis=(1, 2))
        X = np.concatenate([head, last], axis=1)[inside]
        out.append(X)
        have += X.shape[0]
        if have >= n:
            break
    return np.concatenate(out)[:n]


def make_stability_dataset(
    cicy: CICY | np.ndarray | list,
    *,
    rank: int = 1,
    sampling: str = "grid",
    box: tuple[int, int] = (-10, 10),
    n_samples: int | None = None,
    cone: str = "open",
    balance: bool = False,
    dedupe: bool = True,
    seed: int | np.random.Generator | None = 0,
    method: str = "auto",
) -> StabilityDataset:
    """Build a labelled stability dataset on `cicy` (a CICY or a configuration with dims column).

    Parameters
    ----------
    rank : 1 for single line bundles, n >= 2 for sums L_1 + ... + L_n with c1 = 0 (the last
        charge is minus the sum of the others; sums leaving the box are dropped).
    sampling : "grid" (every charge in the box) or "random" (n_samples uniform draws).
    box : inclusive charge range (lo, hi) for every entry.
    balance : downsample the majority class to the size of the minority class.
    dedupe : drop repeated charges (sums compared up to the order of the summands).
    seed : int or numpy Generator; all randomness (draws, balancing) comes from it.
    """
    c = cicy if isinstance(cicy, CICY) else CICY(cicy)
    m = c.num_factors
    if not isinstance(rank, (int, np.integer)) or rank < 1:
        raise ValueError(f"rank must be a positive integer, got {rank!r}")
    lo, hi = (int(b) for b in box)
    if lo > hi:
        raise ValueError(f"box must be (lo, hi) with lo <= hi, got {box}")
    if sampling not in ("grid", "random"):
        raise ValueError(f"sampling must be 'grid' or 'random', got {sampling!r}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    if sampling == "grid":
        X = _grid(m, rank, lo, hi)
    else:
        if n_samples is None or n_samples < 1:
            raise ValueError("sampling='random' needs n_samples >= 1")
        X = _random(m, rank, lo, hi, n_samples, rng)
    if rank > 1 and X.ndim == 2:
        X = X.reshape(-1, rank, m)
    if dedupe and X.shape[0]:
        if rank > 1:
            X = _canonical_sums(X)
        X = X[_unique_rows(X)]
    if rank == 1:
        y = c.is_stable(X, cone=cone)
    else:
        y = c.is_polystable_sum(X, cone=cone, method=method) if X.shape[0] else np.zeros(0, bool)
    y = np.asarray(y, dtype=np.int8)
    if balance:
        pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
        k = min(pos.size, neg.size)
        if k == 0:
            raise ValueError(
                f"cannot balance: {pos.size} stable and {neg.size} unstable examples; "
                "widen the box or draw more samples"
            )
        keep = np.sort(
            np.concatenate([rng.choice(pos, k, replace=False), rng.choice(neg, k, replace=False)])
        )
        X, y = X[keep], y[keep]
    numeric = rank > 1 and m > 2 and method != "exact"
    meta = {
        "cone": cone,
        "rank": int(rank),
        "sampling": sampling,
        "box": [lo, hi],
        "n_samples": n_samples,
        "balance": bool(balance),
        "dedupe": bool(dedupe),
        "seed": seed if isinstance(seed, (int, type(None))) else "generator",
        "labels": "is_polystable_sum(numeric where needed)" if numeric else "exact",
    }
    return StabilityDataset(
        X=np.ascontiguousarray(X, dtype=np.int64), y=y, config=c.config, meta=meta
    )

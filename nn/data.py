"""Data handling: train/test split (stratified), a seeded shuffling batch loader, and a
standardiser fitted on training data only (so no test information leaks into training)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

import autograd as ag

from ._util import as_rng

__all__ = ["DataLoader", "Standardizer", "train_test_split"]


def _arrays(who: str, arrays: tuple) -> list[np.ndarray]:
    if not arrays:
        raise ValueError(f"{who}: pass at least one array")
    for a in arrays:
        # numpy would read any other object with __getitem__ item by item, and one that
        # never raises IndexError (a map-style Dataset) forever
        if not isinstance(a, (ag.Tensor, np.ndarray, Sequence)) and not hasattr(
                a, "__array__"):
            raise TypeError(f"{who}: takes arrays or tensors (one per field, samples along "
                            f"axis 0) or one TensorDataset, got a {type(a).__name__}; "
                            "PyTorch's other Dataset kinds are not supported")
    out = [a.data if isinstance(a, ag.Tensor) else np.asarray(a) for a in arrays]
    n = len(out[0]) if out[0].ndim else 0
    for i, a in enumerate(out):
        if a.ndim == 0 or len(a) != n:
            raise ValueError(f"{who}: all arrays need the same number of samples along axis "
                             f"0, got shapes {[x.shape for x in out]} (array {i} differs)")
    return out


def train_test_split(*arrays: Any, test_size: float | int = 0.25, shuffle: bool = True,
                     stratify: Any = None, rng: Any = None) -> list[np.ndarray]:
    """Split arrays into train and test parts: returns [a_train, a_test, b_train, ...].

    ``test_size``: a fraction in (0, 1) or a number of samples. ``stratify``: class labels
    whose proportions both parts keep (each class split separately, rounding so the total
    test size is as requested). ``rng``: int seed or Generator, for reproducible splits.
    """
    data = _arrays("train_test_split", arrays)
    n = len(data[0])
    n_test = int(round(test_size * n)) if isinstance(test_size, float) else int(test_size)
    if not 0 < n_test < n:
        raise ValueError(f"train_test_split: test_size={test_size} leaves {n_test} of {n} "
                         "samples for testing; both parts must be non-empty")
    gen = as_rng(rng)
    if stratify is None:
        order = gen.permutation(n) if shuffle else np.arange(n)
        test_idx, train_idx = order[:n_test], order[n_test:]
    else:
        test_idx, train_idx = _stratified(np.asarray(stratify), n, n_test, shuffle, gen)
    out: list[np.ndarray] = []
    for a in data:
        out += [a[train_idx], a[test_idx]]
    return out


def _stratified(labels: np.ndarray, n: int, n_test: int, shuffle: bool,
                gen: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    if labels.shape[:1] != (n,):
        raise ValueError(f"train_test_split: stratify labels of shape {labels.shape} do not "
                         f"match {n} samples")
    classes, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    # Largest-remainder rounding: each class gets its share, the total is exactly n_test.
    share = counts * (n_test / n)
    take = np.floor(share).astype(int)
    rest = n_test - take.sum()
    take[np.argsort(-(share - take), kind="stable")[:rest]] += 1
    test, train = [], []
    for c in range(len(classes)):
        idx = np.flatnonzero(inverse == c)
        if shuffle:
            idx = gen.permutation(idx)
        test.append(idx[:take[c]])
        train.append(idx[take[c]:])
    test_idx, train_idx = np.concatenate(test), np.concatenate(train)
    if shuffle:
        test_idx, train_idx = gen.permutation(test_idx), gen.permutation(train_idx)
    return test_idx, train_idx


class TensorDataset:
    """PyTorch's TensorDataset: aligned arrays or tensors, ``dataset[i]`` a tuple of
    Tensors (one sample); ``DataLoader(dataset, batch_size=...)`` batches it."""

    def __init__(self, *tensors: Any) -> None:
        self.arrays = _arrays("TensorDataset", tensors)

    def __len__(self) -> int:
        return len(self.arrays[0])

    def __getitem__(self, i: Any) -> tuple[ag.Tensor, ...]:
        return tuple(ag.Tensor(a[i]) for a in self.arrays)


class DataLoader:
    """Mini-batches of aligned arrays (or of one ``TensorDataset``), as tuples of Tensors
    (no grad).

    ``shuffle=True`` draws a new order every epoch from ``rng`` (int seed or Generator),
    so two loaders with the same seed give the same batches. ``drop_last`` skips a final
    short batch. ``len(loader)`` is the number of batches per epoch.
    """

    def __init__(self, *arrays: Any, batch_size: int = 32, shuffle: bool = True,
                 drop_last: bool = False, rng: Any = None) -> None:
        if len(arrays) == 1 and isinstance(arrays[0], TensorDataset):
            arrays = tuple(arrays[0].arrays)
        self.arrays = _arrays("DataLoader", arrays)
        if isinstance(batch_size, (bool, np.bool_)) or not isinstance(batch_size,
                                                                     (int, np.integer)):
            raise TypeError(f"DataLoader: batch_size must be a whole number, got "
                            f"{type(batch_size).__name__} {batch_size!r}")
        if batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be >= 1, got {batch_size}")
        self.batch_size, self.shuffle, self.drop_last = int(batch_size), shuffle, drop_last
        self.rng = np.random.default_rng(rng) if isinstance(rng, int) else as_rng(rng)

    @property
    def num_samples(self) -> int:
        return len(self.arrays[0])

    def __len__(self) -> int:
        n, b = self.num_samples, self.batch_size
        return n // b if self.drop_last else -(-n // b)

    def __iter__(self) -> Iterator[tuple[ag.Tensor, ...]]:
        n = self.num_samples
        order = self.rng.permutation(n) if self.shuffle else None
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            if order is None:
                sl: Any = slice(start, start + self.batch_size)
            else:
                sl = order[start:start + self.batch_size]
            yield tuple(ag.Tensor(a[sl]) for a in self.arrays)


class Standardizer:
    """x -> (x - mean) / std per feature, with mean and std from ``fit`` (the training
    set). Features with zero spread are only centred (std taken as 1)."""

    def __init__(self) -> None:
        self.mean: np.ndarray | None = None
        self.std: np.ndarray | None = None

    def fit(self, x: Any) -> Standardizer:
        x = np.asarray(x.data if isinstance(x, ag.Tensor) else x, dtype=np.float64)
        if x.ndim < 1 or len(x) < 1:
            raise ValueError(f"Standardizer.fit: need at least one sample, got shape {x.shape}")
        if not np.isfinite(x).all():
            raise ValueError(f"Standardizer.fit: data of shape {x.shape} contains NaN or inf")
        self.mean = x.mean(axis=0)
        std = x.std(axis=0)
        self.std = np.where(std > 0, std, 1.0)
        return self

    def _check(self, x: Any) -> np.ndarray:
        if self.mean is None or self.std is None:
            raise RuntimeError("Standardizer: call fit(train_x) before transform")
        x = np.asarray(x.data if isinstance(x, ag.Tensor) else x)
        if x.shape[1:] != self.mean.shape:
            raise ValueError(f"Standardizer: fitted on features of shape {self.mean.shape}, "
                             f"got data of shape {x.shape}")
        return x

    def transform(self, x: Any) -> np.ndarray:
        x = self._check(x)
        dtype = x.dtype if x.dtype.kind == "f" else np.float64
        return ((x - self.mean) / self.std).astype(dtype)

    def inverse_transform(self, x: Any) -> np.ndarray:
        x = self._check(x)
        return (x * self.std + self.mean).astype(x.dtype if x.dtype.kind == "f" else np.float64)

    def fit_transform(self, x: Any) -> np.ndarray:
        return self.fit(x).transform(x)

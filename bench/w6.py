"""Workload W6: one training step of Erbin and Finotello's Inception network for h11
(arXiv 2007.13379; ``examples/hodge_numbers.py --recipe paper``), the same in every engine.

(N, 1, 12, 15) configuration matrices; three modules of [32, 64, 32] filters per branch,
each a 12x1 and a 1x15 "same" convolution with ReLU, concatenated, batch-normalised
(batch statistics, eps 1e-3, running estimates updated); dropout 0.2 as a fixed mask
(engines cannot share a random generator, and drawing it is not what is compared);
flatten (11520) into one ReLU output; MSE plus 1e-4 (L1 + L2) on the conv kernels; an
SGD step. The numbers every engine starts from are drawn here.
"""

from __future__ import annotations

import numpy as np

FILTERS = (32, 64, 32)
H, W = 12, 15
EPS, MOMENTUM = 1e-3, 0.01  # Keras' BatchNormalization(momentum=0.99), PyTorch's convention
PENALTY = 1e-4  # L1 and L2 factors on every conv kernel
DROPOUT = 0.2
PAD_COL = ((H - 1) // 2, H // 2)  # "same" for the 12x1 kernel: 5 rows above, 6 below
PAD_ROW = ((W - 1) // 2, W // 2)


def param_names() -> list[str]:
    """The parameters in the order engines report their gradients."""
    names = []
    for m in range(len(FILTERS)):
        names += [f"col{m}_w", f"col{m}_b", f"row{m}_w", f"row{m}_b", f"bn{m}_g", f"bn{m}_b"]
    return names + ["dense_w", "dense_b"]


def make_data(batch: int, rng: np.random.Generator, dtype: np.dtype) -> dict[str, np.ndarray]:
    """Glorot-uniform kernels (Keras' default), zero biases, BN weight 1 and bias 0 made
    slightly random (so their gradients are not structured), integer inputs like the CICY
    matrices (0-5), h11-like targets, and the fixed dropout mask (entries 0 or 1/0.8)."""
    data: dict[str, np.ndarray] = {}
    cin = 1
    for m, f in enumerate(FILTERS):
        for name, shape in ((f"col{m}", (f, cin, H, 1)), (f"row{m}", (f, cin, 1, W))):
            fan_in, fan_out = cin * shape[2] * shape[3], f * shape[2] * shape[3]
            lim = np.sqrt(6.0 / (fan_in + fan_out))
            data[name + "_w"] = rng.uniform(-lim, lim, shape).astype(dtype)
            data[name + "_b"] = (0.01 * rng.standard_normal(f)).astype(dtype)
        data[f"bn{m}_g"] = (1 + 0.1 * rng.standard_normal(2 * f)).astype(dtype)
        data[f"bn{m}_b"] = (0.1 * rng.standard_normal(2 * f)).astype(dtype)
        data[f"bn{m}_mean"] = np.zeros(2 * f, dtype)
        data[f"bn{m}_var"] = np.ones(2 * f, dtype)
        cin = 2 * f
    flat = cin * H * W
    lim = np.sqrt(6.0 / (flat + 1))
    data["dense_w"] = rng.uniform(-lim, lim, (1, flat)).astype(dtype)
    data["dense_b"] = np.asarray([8.0], dtype)  # starts near the targets: the ReLU is live
    data["X"] = rng.integers(0, 6, (batch, 1, H, W)).astype(dtype)
    data["y"] = rng.integers(1, 17, (batch, 1)).astype(dtype)
    keep = rng.random((batch, cin, H, W)) >= DROPOUT
    data["mask"] = (keep / (1.0 - DROPOUT)).astype(dtype)
    return data

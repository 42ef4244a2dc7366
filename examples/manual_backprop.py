"""The lecture's fully connected network, trained by hand and by ``nn``, side by side.

Left: plain numpy with the gradients derived on the slides. Right: the same network as
``nn.MLP`` with autograd doing the derivatives. Same data, same initial weights, same
SGD with momentum: the gradients agree to rounding (~1e-16), and so do the parameters
after training. Run it:

    python examples/manual_backprop.py [--steps 20] [--lr 0.5] [--momentum 0.9] [--seed 0]

Network (lecture eqs. 5-7): a_0 = x, z_l = W_l a_{l-1} + b_l, a_l = tanh(z_l) for hidden
layers (eq. 6, 8), and p = softmax(z_n) at the output (eq. 7, 29). Loss: the mean
cross-entropy J = -(1/n) sum_i sum_j y_ij log p_j(x_i) (eq. 31).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field

import numpy as np

import nn

SIZES = (2, 16, 16, 3)


def make_data(n: int = 96, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three interleaved spiral arms in the plane: labels 0, 1, 2."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 3
    r = rng.uniform(0.2, 1.0, n)
    angle = 2 * np.pi * labels / 3 + 3.0 * r + rng.normal(0, 0.1, n)
    x = np.stack([r * np.cos(angle), r * np.sin(angle)], axis=1)
    return x, labels


@dataclass
class ManualNet:
    """The network in numpy; ``W[l]`` has shape (out, in) as in eq. 6."""

    W: list[np.ndarray]
    b: list[np.ndarray]
    velocity: list[np.ndarray] = field(default_factory=list)

    @classmethod
    def init(cls, sizes: tuple[int, ...], seed: int = 0) -> ManualNet:
        rng = np.random.default_rng(seed)
        W = [rng.normal(0.0, np.sqrt(1.0 / a), (b, a)) for a, b in zip(sizes[:-1], sizes[1:])]
        return cls(W, [np.zeros(b) for b in sizes[1:]])

    def forward(self, x: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
        """Activations a_0..a_{n-1} (kept for backprop) and the output probabilities."""
        acts = [x]
        for W, b in zip(self.W[:-1], self.b[:-1]):
            acts.append(np.tanh(acts[-1] @ W.T + b))  # eq. 6 with sigma = tanh
        z = acts[-1] @ self.W[-1].T + self.b[-1]
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return acts, e / e.sum(axis=1, keepdims=True)  # eq. 7, 29

    def loss(self, x: np.ndarray, labels: np.ndarray) -> float:
        _, p = self.forward(x)
        return float(-np.mean(np.log(p[np.arange(len(x)), labels])))  # eq. 31

    def gradients(self, x: np.ndarray, labels: np.ndarray) -> list[np.ndarray]:
        """dJ/dW_l and dJ/db_l for every layer (eq. 14), in the order W_1, b_1, W_2, ...

        Output layer, softmax with cross-entropy: delta_n = dJ/dz_n = (p - y) / n (eq. 32,
        which folds the softmax derivative of eq. 30 into the loss's). Going down, the
        chain rule of eq. 18: delta_{l} = (delta_{l+1} W_{l+1}) * sigma'(z_l), with
        tanh' = 1 - tanh^2 (eq. 20). Each layer's weights collect dJ/dW_l = delta_l^T a_{l-1}
        and dJ/db_l = sum_i delta_l (eq. 17: the error times the layer's input, summed
        over the batch).
        """
        acts, p = self.forward(x)
        n = len(x)
        delta = p.copy()
        delta[np.arange(n), labels] -= 1.0
        delta /= n  # eq. 32
        grads: list[np.ndarray] = []
        for layer in range(len(self.W) - 1, -1, -1):
            grads[:0] = [delta.T @ acts[layer], delta.sum(axis=0)]  # eq. 17
            if layer:
                delta = (delta @ self.W[layer]) * (1.0 - acts[layer] ** 2)  # eqs. 18, 20
        return grads

    def sgd_step(self, x: np.ndarray, labels: np.ndarray, lr: float, momentum: float) -> None:
        """g_k = grad J + alpha g_{k-1} (eq. 16, heavy-ball sign), theta -= lr g_k (eq. 15)."""
        grads = self.gradients(x, labels)
        if not self.velocity:
            self.velocity = [np.zeros_like(g) for g in grads]
        params = [t for pair in zip(self.W, self.b) for t in pair]
        for theta, g, v in zip(params, grads, self.velocity):
            v *= momentum
            v += g
            theta -= lr * v


def nn_twin(manual: ManualNet) -> nn.MLP:
    """The same network in ``nn``, holding copies of the manual network's weights."""
    model = nn.MLP(SIZES, activation="tanh")
    linears = [m for m in model.layers if isinstance(m, nn.Linear)]
    state = {}
    for i, (W, b) in enumerate(zip(manual.W, manual.b)):
        name = next(n for n, m in model.named_modules() if m is linears[i])
        state[f"{name}.weight"], state[f"{name}.bias"] = W, b
    model.load_state_dict(state)
    return model


def nn_gradients(model: nn.MLP, x: np.ndarray, labels: np.ndarray) -> list[np.ndarray]:
    """The same gradients by autograd: the loss of eq. 31 (softmax inside the loss)."""
    model.zero_grad()
    nn.CrossEntropyLoss()(model(x), labels).backward()
    return [p.grad.data for p in model.parameters()]


def train_both(steps: int = 20, lr: float = 0.5, momentum: float = 0.9, batch: int = 32,
               seed: int = 0) -> tuple[ManualNet, nn.MLP]:
    """The same mini-batch SGD with momentum on both networks."""
    x, labels = make_data(seed=seed)
    manual = ManualNet.init(SIZES, seed)
    model = nn_twin(manual)
    opt = nn.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    loss_fn = nn.CrossEntropyLoss()
    order = np.random.default_rng(seed).permutation(len(x))
    for k in range(steps):
        idx = np.roll(order, -k * batch)[:batch]
        manual.sgd_step(x[idx], labels[idx], lr, momentum)
        opt.zero_grad()
        loss_fn(model(x[idx]), labels[idx]).backward()
        opt.step()
    return manual, model


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=20,
                   help="SGD steps on both networks (default: %(default)s)")
    p.add_argument("--lr", type=float, default=0.5,
                   help="learning rate epsilon of eq. 15 (default: %(default)s)")
    p.add_argument("--momentum", type=float, default=0.9,
                   help="momentum alpha of eq. 16, heavy-ball sign as in PyTorch; 0 gives "
                        "plain SGD (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of the data, the initial weights and the batch order "
                        "(default: %(default)s)")
    return p


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    if args.steps < 0 or args.lr <= 0 or not 0 <= args.momentum < 1:
        raise SystemExit(f"error: need --steps >= 0, --lr > 0 and 0 <= --momentum < 1, got "
                         f"{args.steps}, {args.lr}, {args.momentum}")
    x, labels = make_data(seed=args.seed)
    manual = ManualNet.init(SIZES, args.seed)
    model = nn_twin(manual)
    by_hand = manual.gradients(x, labels)
    by_autograd = nn_gradients(model, x, labels)
    diff = max(float(np.max(np.abs(a - b))) for a, b in zip(by_hand, by_autograd))
    print(f"max |gradient by hand - gradient by autograd| = {diff:.3e}")
    manual, model = train_both(args.steps, args.lr, args.momentum, seed=args.seed)
    params = [t for pair in zip(manual.W, manual.b) for t in pair]
    pdiff = max(float(np.max(np.abs(a - p.data))) for a, p in zip(params, model.parameters()))
    print(f"after {args.steps} SGD steps with momentum {args.momentum:g}: loss by hand "
          f"{manual.loss(x, labels):.4f}, max parameter difference {pdiff:.3e}")


if __name__ == "__main__":
    main(sys.argv[1:])

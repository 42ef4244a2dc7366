"""Pictures of backprop: a single neuron, the lecture's classifier, and a backward pass
step by step.

Writes into --out (default ./backprop_pictures):
  neuron_forward.svg/.png   o = tanh(w1 x1 + w2 x2 + b) from 0-d tensors, before backward:
                            values, the planned backward steps, local derivatives on edges
  neuron_backward.svg/.png  the same neuron after o.backward(): every gradient filled in
  classifier.svg/.png       the lecture's 2-64-2 classifier (2 inputs, 64 ReLU, 2-way
                            softmax + cross-entropy; lecture eqs. 6, 7, 29-32), one box per layer
  classifier_clusters.svg   the same network with every op drawn, layers as clusters
  frames/step_NNN.svg       the neuron's backward pass, one picture per step (step_000
                            before the first), and
  frames/backprop.html      one self-contained page with a slider through those steps

PNG copies are written unless --no-png. Needs Graphviz's `dot` to render; without it the
DOT sources (.dot) are written instead and the script says how to install Graphviz.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np

import autograd as ag
from autograd import viz


def neuron() -> tuple[ag.Tensor, dict[str, ag.Tensor], list[ag.Tensor]]:
    """o = tanh(x1 w1 + x2 w2 + b) from 0-d tensors (lecture eq. 6 for one unit, with
    tanh from eq. 8), at the values micrograd's walkthrough uses so o = 1/sqrt(2)."""
    x1 = ag.tensor(2.0, name="x1")
    x2 = ag.tensor(0.0, name="x2")
    w1 = ag.tensor(-3.0, requires_grad=True, name="w1")
    w2 = ag.tensor(1.0, requires_grad=True, name="w2")
    b = ag.tensor(6.8813735870195432, requires_grad=True, name="b")
    x1w1 = x1 * w1
    x1w1.name = "x1*w1"
    x2w2 = x2 * w2
    x2w2.name = "x2*w2"
    n = x1w1 + x2w2 + b
    n.name = "n"
    o = n.tanh()
    o.name = "o"
    return o, {"w1": w1, "w2": w2, "b": b}, [x1w1, x2w2, n]


def _nn_ready() -> Any:
    """The nn package if its Linear/Sequential/ReLU are importable, else None."""
    try:
        import nn
    except ImportError:
        return None
    if all(hasattr(nn, k) for k in ("Module", "Linear", "Sequential", "ReLU")):
        return nn
    return None


def classifier(batch: int = 8, seed: int = 0) -> tuple[ag.Tensor, dict[str, Any]]:
    """Cross-entropy loss of the lecture's 2-64-2 classifier on a small random batch.

    Uses ``nn`` when it is importable; otherwise the same network from plain autograd ops,
    each layer recorded inside ``autograd.name_scope("layers.k")`` as nn modules do.
    Returns the loss and the keyword arguments that name the parameters for ``draw``.
    """
    rng = np.random.default_rng(seed)
    x = ag.tensor(rng.uniform(-10, 10, size=(batch, 2)), name="charges x")
    labels = rng.integers(0, 2, size=batch)
    nn = _nn_ready()
    if nn is not None:
        class Classifier(nn.Module):
            def __init__(self) -> None:
                self.layers = nn.Sequential(nn.Linear(2, 64, rng=seed), nn.ReLU(),
                                            nn.Linear(64, 2, rng=seed + 1))

            def forward(self, x: ag.Tensor) -> ag.Tensor:
                return self.layers(x)

        model = Classifier()
        return ag.cross_entropy(model(x), labels), {"module": model}
    params = {
        "layers.0.weight": ag.tensor(rng.normal(0, 1 / np.sqrt(2), (64, 2)), requires_grad=True),
        "layers.0.bias": ag.tensor(np.zeros(64), requires_grad=True),
        "layers.2.weight": ag.tensor(rng.normal(0, 1 / 8, (2, 64)), requires_grad=True),
        "layers.2.bias": ag.tensor(np.zeros(2), requires_grad=True),
    }
    with ag.name_scope("layers.0"):
        h = x @ params["layers.0.weight"].T + params["layers.0.bias"]
    with ag.name_scope("layers.1"):
        h = h.relu()
    with ag.name_scope("layers.2"):
        logits = h @ params["layers.2.weight"].T + params["layers.2.bias"]
    return ag.cross_entropy(logits, labels), {"params": params}


def _save(picture: Any, stem: Path, png: bool, written: list[Path]) -> None:
    try:
        written.append(picture.save(stem.with_suffix(".svg")))
        if png:
            written.append(picture.save(stem.with_suffix(".png")))
    except viz.GraphvizNotFoundError:
        written.append(picture.save(stem.with_suffix(".dot")))


def run(out: Path, png: bool = True, batch: int = 8) -> list[Path]:
    """Write every picture into ``out``; returns the paths written."""
    written: list[Path] = []
    o, params, intermediates = neuron()
    _save(viz.draw(o, params=params, title="one neuron: o = tanh(x1 w1 + x2 w2 + b), "
                   "before backward"), out / "neuron_forward", png, written)
    frames = viz.backprop_frames(o, params=params,
                                 title="one neuron: the backward pass, step by step")
    o.backward()
    _save(viz.draw(o, params=params, tensors=intermediates,
                   title="one neuron after o.backward()"), out / "neuron_backward", png,
          written)

    loss, names = classifier(batch)
    loss.backward()
    title = "the lecture's 2-64-2 classifier: Linear(2, 64), ReLU, Linear(64, 2), cross-entropy"
    _save(viz.draw(loss, collapse=True, title=title + " (one box per layer)", **names),
          out / "classifier", png, written)
    _save(viz.draw(loss, title=title, **names), out / "classifier_clusters", False, written)

    try:
        written += frames.save(out / "frames", format="svg")
    except viz.GraphvizNotFoundError:
        for i, pic in enumerate(frames):  # step_000: before the first backward step
            written.append(pic.save(out / "frames" / f"step_{i:03d}.dot"))
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Draw backprop: a tanh neuron, the lecture's 2-64-2 classifier "
                    "collapsed by layer, and the frames of one backward pass (SVG/PNG + an "
                    "HTML page with a slider).")
    parser.add_argument("--out", type=Path, default=Path("backprop_pictures"),
                        help="output folder (created if missing; default: %(default)s)")
    parser.add_argument("--no-png", action="store_true", help="write SVG only")
    parser.add_argument("--batch", type=int, default=8,
                        help="batch size of the classifier's input (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.batch < 1:
        parser.error(f"--batch must be >= 1, got {args.batch}")
    written = run(args.out, png=not args.no_png, batch=args.batch)
    print(f"wrote {len(written)} files to {args.out.resolve()}:")
    for p in written:
        print(f"  {p}")
    if any(p.suffix == ".dot" for p in written):
        print(viz.INSTALL_HINT, file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Learning line-bundle cohomology h^1(X, O(m0, m1)) on CICY 7806 and 7882 (session 1's
exercise).

The problem: the tables in ../shared/data/line_bundle_cohomology hold h^0..h^3 of every
O(m0, m1) with charges in [-10, 10]^2 (441 bundles per manifold; h^1 ranges up to ~2000
and vanishes on 77% of them).  A network sees the charges and predicts h^1; we score it
on held-out bundles (an 80/20 split stratified by h^1 > 0) by the exact-match rate of the
integer prediction and the RMSE, against the trivial baseline that predicts 0 (the
majority value).

Four models, each an MLP (default 2 hidden layers of 64 ReLU units, Adam):

* ``regression``: (m0, m1) -> log(1 + h^1), mean squared error; the prediction is
  round(exp(y) - 1).  The log keeps the few huge values from dominating the loss.
* ``classification``: (m0, m1) -> one class per h^1 value seen in training,
  cross-entropy (eqs. 29, 31); values never seen in training cannot be predicted.
* ``physics-regression``: the regression with the index chi = h^0 - h^1 + h^2 - h^3 as a
  third input, computed by ``physics`` from the configuration (Hirzebruch-Riemann-Roch:
  chi = (1/6) d_ijk m^i m^j m^k + (1/12) c2_i m^i), fed as asinh(chi) (a signed log).
* ``physics-classification`` (the physics-informed model): the same three inputs, and
  the network decides which formula holds: h^1 = 0 or h^1 = -chi (true wherever h^1 is
  the only non-zero cohomology).  Bundles with two non-zero cohomologies are scored as
  mistakes when h^1 > 0; they are ~6% of the 7806 table and ~4% of
  7882's, which caps this model near 94% and 96%.

All inputs are standardised with the training mean and spread (nn.Standardizer).
``test_accuracy`` in metrics.json is the physics-informed exact-match rate averaged over
the manifolds (or the first model's, if it was not run).

Outputs in --out: metrics.json, history.json, learning_curves_<id>.png.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import _common as common
import numpy as np

import nn
import physics

MODES = ("regression", "classification", "physics-regression", "physics-classification")
HEADLINE = "physics-classification"
LOSS_NAMES = {True: "MSE on log(1 + h^1)", False: "cross-entropy"}  # by "is a regression"


def build_parser() -> Any:
    p = common.parser(__doc__, "line_bundle_cohomology")
    g = p.add_argument_group("data")
    g.add_argument("--data", type=Path, default=common.DATA_ROOT / "line_bundle_cohomology",
                   help="folder with the tables <id>.csv (default: %(default)s)")
    g.add_argument("--cicy-list", type=Path,
                   default=common.DATA_ROOT / "cicy" / "cicy3o.json.gz",
                   help="the CICY list whose configurations give the index "
                        "(default: %(default)s)")
    g.add_argument("--manifolds", type=int, nargs="+", default=[7806, 7882],
                   help="CICY ids (original list numbering) with a table (default: 7806 7882)")
    g.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES),
                   help="models to train (default: all four)")
    g.add_argument("--test-size", type=float, default=0.2,
                   help="fraction of the bundles held out (default: %(default)s)")
    common.add_network_options(p, depth=2, width=64, lr=1e-2, epochs=300)
    p.add_argument("--no-plots", action="store_true", help="skip the learning-curve PNGs")
    return p


def load(args: Any) -> dict[int, dict[str, np.ndarray]]:
    """Charges, h^1 and the physics index chi per manifold (chi checked against the table)."""
    cicy_list = common.require_file(args.cicy_list, "--cicy-list")
    tables = {n: common.require_file(args.data / f"{n}.csv", "--data") for n in args.manifolds}
    records = {r.id: r for r in physics.load_cicy_json(cicy_list)}
    out = {}
    for n, path in tables.items():
        if n not in records:
            raise SystemExit(f"error: CICY {n} is not in {cicy_list}")
        table = physics.load_line_bundle_cohomology(path)
        chi = records[n].cicy().index(table.charges)
        if not np.array_equal(chi, table.index):
            raise SystemExit(f"error: the index of CICY {n} from physics disagrees with "
                             f"{path} (h0 - h1 + h2 - h3); is --cicy-list the original list?")
        out[n] = {"m": table.charges, "h1": table.h[:, 1], "chi": chi}
    return out


def inputs(d: dict[str, np.ndarray], mode: str) -> np.ndarray:
    cols = [d["m"].astype(np.float64)]
    if mode.startswith("physics"):
        cols.append(np.arcsinh(d["chi"].astype(np.float64))[:, None])
    return np.concatenate(cols, axis=1)


class Model:
    """One mode: how to turn h^1 into training targets and outputs back into h^1."""

    def __init__(self, mode: str, h1_train: np.ndarray) -> None:
        self.mode = mode
        self.values = np.unique(h1_train)  # classification: class k means h^1 = values[k]

    @property
    def n_out(self) -> int:
        return {"regression": 1, "physics-regression": 1, "classification": len(self.values),
                "physics-classification": 2}[self.mode]

    def loss(self) -> nn.Module:
        return nn.MSELoss() if self.mode.endswith("regression") else nn.CrossEntropyLoss()

    def targets(self, d: dict[str, np.ndarray]) -> np.ndarray:
        h1 = d["h1"]
        if self.mode.endswith("regression"):
            return np.log1p(h1.astype(np.float64))[:, None]
        if self.mode == "classification":
            # unseen values (test only) get the nearest class, for the loss curve only
            return np.abs(h1[:, None] - self.values[None, :]).argmin(1)
        return ((h1 > 0) & (h1 == -d["chi"])).astype(np.int64)

    def decode(self, out: np.ndarray, d: dict[str, np.ndarray]) -> np.ndarray:
        """Integer h^1 predictions from network outputs."""
        if self.mode.endswith("regression"):
            return np.maximum(np.rint(np.expm1(out[:, 0])), 0).astype(np.int64)
        k = out.argmax(1)
        if self.mode == "classification":
            return self.values[k]
        return np.where(k == 1, np.maximum(-d["chi"], 0), 0)


def scores(pred: np.ndarray, h1: np.ndarray) -> dict[str, float]:
    pos = h1 > 0
    return {"exact": float(np.mean(pred == h1)),
            "rmse": float(np.sqrt(np.mean((pred - h1).astype(np.float64) ** 2))),
            "exact_h1_positive": float(np.mean(pred[pos] == h1[pos])) if pos.any() else 1.0}


def subset(d: dict[str, np.ndarray], idx: np.ndarray) -> dict[str, np.ndarray]:
    return {k: v[idx] for k, v in d.items()}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """The command line: parse ``argv`` and run."""
    return run(build_parser().parse_args(argv))


def run(args: Any, callbacks: Sequence[common.Callback] | None = None) -> dict[str, Any]:
    """The experiment for parsed ``args``; returns its metrics. ``callbacks`` go to every
    nn.fit of the run (sweep.py prunes through them)."""
    started = time.perf_counter()
    settings = common.network_settings(args)
    data = load(args)
    out = common.output_folder(args)
    metrics: dict[str, Any] = {"seed": args.seed, **settings, "modes": args.modes}
    histories: dict[str, Any] = {}
    headline: dict[str, list[float]] = {"train": [], "test": []}
    jobs = [(n, mode) for n in data for mode in args.modes]
    results: dict[tuple[int, str], dict[str, float]] = {}
    for n, mode in common.progress(jobs, args, desc="models", unit="model"):
        d = data[n]
        idx = np.arange(len(d["h1"]))
        tr_idx, te_idx = nn.train_test_split(idx, test_size=args.test_size,
                                             stratify=d["h1"] > 0, rng=args.seed)[:2]
        train, test = subset(d, tr_idx), subset(d, te_idx)
        model_kind = Model(mode, train["h1"])
        scaler = nn.Standardizer().fit(inputs(train, mode))
        x_tr, x_te = scaler.transform(inputs(train, mode)), scaler.transform(inputs(test, mode))
        net = common.mlp(x_tr.shape[1], model_kind.n_out, settings, args.seed)
        hist = common.train(net, model_kind.loss(), settings,
                            (x_tr, model_kind.targets(train)), args,
                            callbacks=callbacks)
        histories[f"{n} {mode}"] = dict(hist)
        for part, x, dd in (("train", x_tr, train), ("test", x_te, test)):
            pred = model_kind.decode(nn.predict(net, x), dd)
            for key, value in scores(pred, dd["h1"]).items():
                metrics[f"{n}_{mode}_{part}_{key}"] = value
        results[(n, mode)] = scores(model_kind.decode(nn.predict(net, x_te), test), test["h1"])
        if (n, "baseline") not in results:
            zero = scores(np.zeros_like(test["h1"]), test["h1"])
            results[(n, "baseline")] = zero
            for key, value in zero.items():
                metrics[f"{n}_baseline_test_{key}"] = value
        metrics[f"{n}_n_test"] = len(te_idx)
    report(results, data)
    head = HEADLINE if HEADLINE in args.modes else args.modes[0]
    for part in ("train", "test"):
        headline[part] = [metrics[f"{n}_{head}_{part}_exact"] for n in data]
    metrics["headline_model"] = head
    metrics["train_accuracy"] = float(np.mean(headline["train"]))
    metrics["test_accuracy"] = float(np.mean(headline["test"]))
    common.write_json(out / "history.json", histories)
    if not args.no_plots:
        for n in data:
            common.plot_history({k.split(" ", 1)[1]: h for k, h in histories.items()
                                 if k.startswith(f"{n} ")},
                                out / f"learning_curves_{n}.png", f"h^1 on CICY {n}",
                                losses={m: LOSS_NAMES[m.endswith("regression")]
                                        for m in args.modes})
    return common.finish(out, metrics, started)


def report(results: dict[tuple[int, str], dict[str, float]], data: dict) -> None:
    """A table of held-out exact-match rates and RMSEs per manifold and model."""
    print(f"{'CICY':>6} {'model':<24} {'exact':>7} {'exact h1>0':>11} {'RMSE':>9}")
    for n in data:
        for (m, mode), s in results.items():
            if m == n:
                print(f"{n:>6} {'predict 0' if mode == 'baseline' else mode:<24} "
                      f"{s['exact']:>7.1%} {s['exact_h1_positive']:>11.1%} {s['rmse']:>9.2f}")


if __name__ == "__main__":
    main(sys.argv[1:])

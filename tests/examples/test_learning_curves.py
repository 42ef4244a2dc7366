"""examples/_common.history_figure: the learning-curve panels every experiment writes."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

pytest.importorskip("matplotlib")

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
sys.path.insert(0, str(EXAMPLES))

import _common as common  # noqa: E402


def _outside(legend, ax) -> bool:
    fig = ax.figure
    fig.canvas.draw()
    box, area = legend.get_window_extent(), ax.get_window_extent()
    return box.y1 <= area.y0 or box.x0 >= area.x1


def test_each_loss_gets_its_own_axis_and_no_panel_stays_empty():
    # line_bundle_cohomology: two regressions (MSE) and two classifiers (cross-entropy),
    # no metric recorded
    runs = {m: {"loss": [2.0, 1.0, 0.5], "val_loss": [2.5, 1.2, 0.7], "lr": [0.01] * 3}
            for m in ("regression", "classification", "physics-regression",
                      "physics-classification")}
    losses = {m: "MSE" if m.endswith("regression") else "cross-entropy" for m in runs}
    fig = common.history_figure(runs, "t", losses)
    axes = fig.axes
    assert [ax.get_ylabel() for ax in axes] == ["MSE", "cross-entropy"]
    labels = [[line.get_label() for line in ax.lines] for ax in axes]
    assert labels[0] == ["regression train loss", "regression validation loss",
                         "physics-regression train loss", "physics-regression validation loss"]
    assert all("classification" in name for name in labels[1])
    for ax in axes:
        assert _outside(ax.get_legend(), ax)  # the legend covers no curve
    common.pyplot().close(fig)


def test_metrics_get_a_panel_and_one_epoch_curves_stay_visible():
    runs = {"dense": {"loss": [1.3], "val_loss": [1.4], "accuracy": [0.4],
                      "val_accuracy": [0.35]}}
    fig = common.history_figure(runs, "t")
    loss_ax, metric_ax = fig.axes
    assert [line.get_label() for line in metric_ax.lines] == ["dense train accuracy",
                                                             "dense validation accuracy"]
    for ax in fig.axes:
        assert all(line.get_marker() == "o" for line in ax.lines)  # one point still shows
        fig.canvas.draw()
        ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
        assert ticks and all(float(t).is_integer() for t in ticks)
    common.pyplot().close(fig)

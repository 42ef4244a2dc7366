"""Training end to end: XOR, noisy two moons, regression, and fit's bookkeeping
(history, early stopping, checkpoints, schedules)."""

from __future__ import annotations

import numpy as np
import pytest

import nn


def two_moons(n: int, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    t = rng.uniform(0, np.pi, n)
    x = np.where(y[:, None] == 0,
                 np.stack([np.cos(t), np.sin(t)], 1),
                 np.stack([1 - np.cos(t), 0.5 - np.sin(t)], 1))
    return x + rng.normal(0, noise, x.shape), y


def test_learns_xor():
    x = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = np.array([0, 1, 1, 0])
    model = nn.MLP([2, 8, 2], activation="tanh", rng=0)
    opt = nn.optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
    hist = nn.fit(model, nn.CrossEntropyLoss(), opt, (x, y), epochs=200, batch_size=4,
                  metrics=["accuracy"], progress=False)
    assert hist["accuracy"][-1] == 1.0 and hist["loss"][-1] < 0.05
    assert nn.accuracy(nn.predict(model, x), y) == 1.0


def test_learns_noisy_two_moons_with_validation_history():
    x, y = two_moons(400, 0.15, seed=0)
    xtr, xte, ytr, yte = nn.train_test_split(x, y, test_size=0.25, stratify=y, rng=0)
    scaler = nn.Standardizer().fit(xtr)
    xtr, xte = scaler.transform(xtr), scaler.transform(xte)
    model = nn.MLP([2, 32, 32, 2], rng=0)
    opt = nn.optim.Adam(model.parameters(), lr=0.01)
    sched = nn.optim.StepLR(opt, step_size=20, gamma=0.5)
    hist = nn.fit(model, nn.CrossEntropyLoss(), opt, (xtr, ytr), epochs=40, batch_size=32,
                  val_data=(xte, yte), metrics=["accuracy"], scheduler=sched, progress=False)
    assert set(hist) == {"loss", "accuracy", "val_loss", "val_accuracy", "lr"}
    assert all(len(v) == 40 for v in hist.values())
    assert hist["val_accuracy"][-1] >= 0.95
    assert hist["loss"][-1] < hist["loss"][0] / 3
    assert hist["lr"][0] == 0.01 and hist["lr"][-1] == pytest.approx(0.005)
    cm = nn.confusion_matrix(nn.predict(model, xte), yte)
    assert cm.sum() == len(yte) and np.trace(cm) >= 0.95 * len(yte)


def test_regression_with_huber_and_r2():
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, (200, 1))
    y = np.sin(3 * x) + 0.05 * rng.normal(size=x.shape)
    model = nn.MLP([1, 32, 1], activation="tanh", rng=1)
    opt = nn.optim.Adam(model.parameters(), lr=0.02)
    hist = nn.fit(model, nn.HuberLoss(delta=0.5), opt, (x, y), epochs=60, batch_size=32,
                  metrics=["r2", "mae"], progress=False)
    assert hist["r2"][-1] > 0.9 and hist["mae"][-1] < 0.15
    assert nn.r2_score(nn.predict(model, x), y) > 0.95


def test_early_stopping_restores_best_weights_and_checkpoint_holds_them(tmp_path):
    x, y = two_moons(120, 0.3, seed=2)
    model = nn.MLP([2, 16, 2], rng=2)
    opt = nn.optim.SGD(model.parameters(), lr=0.05)
    ckpt = tmp_path / "best.npz"
    # A validation set of label noise: val_loss stops improving soon.
    noise = np.random.default_rng(3).integers(0, 2, 40)
    hist = nn.fit(model, nn.CrossEntropyLoss(), opt, (x, y), epochs=200,
                  val_data=(two_moons(40, 0.3, 4)[0], noise),
                  early_stopping=nn.EarlyStopping(patience=3), checkpoint=ckpt,
                  progress=False)
    assert hist.stopped_early and hist.epochs < 200
    assert hist.epochs == hist.best_epoch + 1 + 4  # patience 3: stop at the 4th bad epoch
    assert hist.best_value == min(hist["val_loss"])
    restored = nn.evaluate(model, nn.CrossEntropyLoss(),
                           (two_moons(40, 0.3, 4)[0], noise))["loss"]
    assert restored == pytest.approx(hist.best_value, rel=1e-12)
    twin = nn.MLP([2, 16, 2], rng=99).load(ckpt)
    assert all(np.array_equal(a.data, b.data)
               for a, b in zip(twin.parameters(), model.parameters()))


def test_fit_reports_a_diverging_loss():
    x, y = two_moons(64, 0.1, seed=0)
    model = nn.MLP([2, 8, 1], rng=0)
    opt = nn.optim.SGD(model.parameters(), lr=1e6)
    with pytest.raises(FloatingPointError, match="loss became"):
        with np.errstate(all="ignore"):
            nn.fit(model, nn.MSELoss(), opt, (x * 1e3, y[:, None] * 1e3), epochs=20,
                   progress=False)


def test_evaluate_restores_training_mode_and_records_no_graph():
    model = nn.MLP([2, 4, 2], dropout=0.5, rng=0)
    x, y = two_moons(20, 0.1, seed=0)
    a = nn.evaluate(model, nn.CrossEntropyLoss(), (x, y), metrics=["accuracy"])
    b = nn.evaluate(model, nn.CrossEntropyLoss(), (x, y), metrics=["accuracy"])
    assert a == b  # dropout is off in eval mode
    assert model.training
    assert all(p.grad is None for p in model.parameters())


def test_callbacks_see_every_epoch_and_can_stop_training():
    x = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = np.array([0, 1, 1, 0])
    seen = []

    def record(epoch, history):
        seen.append((epoch, history.epochs, history["loss"][-1]))

    def stop_at_three(epoch, history):
        return epoch == 2

    model = nn.MLP([2, 8, 2], activation="tanh", rng=0)
    opt = nn.optim.SGD(model.parameters(), lr=0.5)
    hist = nn.fit(model, nn.CrossEntropyLoss(), opt, (x, y), epochs=10, batch_size=4,
                  callbacks=[record, stop_at_three], progress=False)
    assert [(e, n) for e, n, _ in seen] == [(0, 1), (1, 2), (2, 3)]
    assert [v for *_, v in seen] == hist["loss"]
    assert hist.epochs == 3 and hist.stopped_early and hist.stop_reason == "callback"


def test_a_callback_exception_propagates_and_a_bad_callback_is_refused():
    x, y = np.zeros((4, 2)), np.array([0, 1, 1, 0])
    model = nn.MLP([2, 4, 2], rng=0)
    opt = nn.optim.SGD(model.parameters(), lr=0.1)

    class Pruned(Exception):
        pass

    def prune(epoch, history):
        raise Pruned(epoch)

    with pytest.raises(Pruned):
        nn.fit(model, nn.CrossEntropyLoss(), opt, (x, y), epochs=3, callbacks=prune,
               progress=False)
    with pytest.raises(TypeError, match="callbacks must be functions"):
        nn.fit(model, nn.CrossEntropyLoss(), opt, (x, y), epochs=1, callbacks=[3],
               progress=False)

"""Training runs that stop, save model + optimizer + schedule, and resume in another
process (test_resume.py). ``python resume_run.py DIR STEPS`` loads every setup saved in
DIR, trains STEPS more steps and saves the final parameters there."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

import nn

O = nn.optim
# Each optimizer with settings that exercise all of its state, and a schedule beside it.
SETUPS = {
    "sgd_momentum": (lambda ps: O.SGD(ps, lr=0.05, momentum=0.9, dampening=0.1,
                                      weight_decay=1e-3), lambda o: O.StepLR(o, 2, 0.5)),
    "sgd_nesterov": (lambda ps: O.SGD(ps, lr=0.05, momentum=0.8, nesterov=True),
                     lambda o: O.CosineAnnealingLR(o, T_max=5, eta_min=1e-3)),
    "adam": (lambda ps: O.Adam(ps, lr=1e-2, weight_decay=1e-3),
             lambda o: O.ReduceLROnPlateau(o, factor=0.5, patience=0)),
    "adamw": (lambda ps: O.AdamW(ps, lr=1e-2, betas=(0.8, 0.95)),
              lambda o: O.ExponentialLR(o, 0.9)),
    "rmsprop": (lambda ps: O.RMSprop(ps, lr=1e-2, momentum=0.5, weight_decay=1e-3),
                lambda o: O.ReduceLROnPlateau(o, mode="max", factor=0.5, patience=1)),
}


def setup(name: str):
    model = nn.Sequential(nn.Linear(3, 8, rng=1), nn.BatchNorm1d(8), nn.Tanh(),
                          nn.Linear(8, 2, rng=2))
    make_opt, make_sched = SETUPS[name]
    opt = make_opt(model.parameters())
    return model, opt, make_sched(opt)


def train(model, opt, sched, start: int, steps: int) -> None:
    """Steps start .. start+steps-1; batch i depends only on i, the schedule steps every
    second step (an "epoch") on the batch loss."""
    loss_fn = nn.CrossEntropyLoss()
    for i in range(start, start + steps):
        rng = np.random.default_rng(1000 + i)
        x, y = rng.normal(size=(5, 3)), rng.integers(0, 2, 5)
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        if i % 2 == 1:
            if isinstance(sched, O.ReduceLROnPlateau):
                sched.step(loss.item())
            else:
                sched.step()


def save(folder: Path, name: str, model, opt, sched) -> None:
    nn.save_state(model, folder / f"{name}.model.npz")
    nn.save_state(opt, folder / f"{name}.optim.npz")
    nn.save_state(sched, folder / f"{name}.sched.npz")


def resume(folder: Path, steps: int) -> None:
    for name in SETUPS:
        model, opt, sched = setup(name)
        nn.load_state(model, folder / f"{name}.model.npz")
        opt.load_state_dict(nn.load_state(folder / f"{name}.optim.npz"))
        nn.load_state(sched, folder / f"{name}.sched.npz")
        train(model, opt, sched, int(opt.step_count), steps)
        nn.save_state(model, folder / f"{name}.final.npz")


if __name__ == "__main__":
    resume(Path(sys.argv[1]), int(sys.argv[2]))

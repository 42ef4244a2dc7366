"""Optimizers and learning-rate schedules (PyTorch's names)."""

from .lr_scheduler import CosineAnnealingLR, ExponentialLR, LRScheduler, ReduceLROnPlateau, StepLR
from .optimizer import SGD, Adam, AdamW, Optimizer, RMSprop

__all__ = ["SGD", "Adam", "AdamW", "CosineAnnealingLR", "ExponentialLR", "LRScheduler",
           "Optimizer", "RMSprop", "ReduceLROnPlateau", "StepLR"]

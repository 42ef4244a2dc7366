"""Neural-network layers, losses, optimizers and a training loop on cygrad's autograd.

PyTorch's names where PyTorch has the thing::

    import nn
    model = nn.MLP([2, 64, 64, 2], activation="relu", rng=0)
    opt = nn.optim.Adam(model.parameters(), lr=1e-2)
    history = nn.fit(model, nn.CrossEntropyLoss(), opt, (x, y), epochs=50,
                     metrics=["accuracy"])

Built only on ``autograd``'s public API.
"""

from . import data, functional, init, metrics, optim, utils
from ._util import LayerInputError, manual_seed
from .conv import Conv2d
from .data import DataLoader, Standardizer, TensorDataset, train_test_split
from .fit import EarlyStopping, History, evaluate, fit, predict
from .layers import (
    MLP,
    Dropout,
    Flatten,
    Identity,
    LeakyReLU,
    Linear,
    LogSoftmax,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
)
from .losses import BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, MSELoss, NLLLoss
from .metrics import accuracy, confusion_matrix, mean_absolute_error, r2_score
from .module import Module, ModuleList, Sequential
from .norm import BatchNorm1d, BatchNorm2d
from .parameter import Parameter
from .serialization import CheckpointError, load_state, read_state, save_state

__all__ = [
    "BCEWithLogitsLoss", "BatchNorm1d", "BatchNorm2d", "CheckpointError", "Conv2d",
    "CrossEntropyLoss", "DataLoader", "Dropout", "EarlyStopping", "Flatten", "History",
    "HuberLoss", "Identity", "LayerInputError", "LeakyReLU", "Linear", "LogSoftmax", "MLP",
    "MSELoss", "Module", "ModuleList", "NLLLoss", "Parameter", "ReLU", "Sequential",
    "Sigmoid", "Softmax", "Standardizer", "Tanh", "TensorDataset",
    "accuracy", "confusion_matrix", "data", "evaluate", "fit", "functional", "init",
    "load_state", "manual_seed", "mean_absolute_error", "metrics", "optim", "predict",
    "r2_score", "read_state", "save_state", "train_test_split", "utils",
]

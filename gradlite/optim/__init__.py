"""Optimizers and learning-rate schedulers with PyTorch's names, defaults and update rules.

They update ``p.data`` (a numpy array) in place from ``p.grad.data``; no graph is built.
"""

from . import lr_scheduler
from .adam import Adam, AdamW
from .adaptive import Adadelta, Adagrad, RMSprop
from .optimizer import Optimizer
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adagrad", "Adadelta", "RMSprop", "Adam", "AdamW",
           "lr_scheduler"]

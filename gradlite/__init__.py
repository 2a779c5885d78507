"""gradlite: a small, readable deep-learning library.

The scalar engine ``Value``, the tensor engine ``Tensor`` (PyTorch-shaped API),
``gradlite.nn``, ``gradlite.optim``, ``gradlite.data``.
"""
# First: the thread policy sets the environment the OpenMP runtime reads when it loads.
from .parallel import get_num_threads, set_num_threads

from . import autograd, ops
from .autograd import Function, enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .functions import *  # noqa: F401,F403  (exp, sum, cat, stack, where, pad, ...)
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .random import manual_seed
from .scalar import Value
from .serialization import load, save
from .tensor import (Tensor, arange, as_tensor, bool_, empty, empty_like, eye, float16, float32,
                     float64, from_numpy, full, full_like, int32, int64, linspace, ones,
                     ones_like, rand, rand_like, randint, randn, randn_like, tensor, uint8, zeros,
                     zeros_like)
from .viz import draw_dot, render_dot

from . import data, metrics, nn, optim  # noqa: E402  (they build on the core above)

bool = bool_  # noqa: A001  (gradlite.bool, as torch.bool)
__version__ = "0.1.0"

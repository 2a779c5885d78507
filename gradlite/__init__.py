"""gradlite: a small, readable deep-learning library.

The scalar engine ``Value``, the tensor engine ``Tensor`` (PyTorch-shaped API),
``gradlite.nn``, ``gradlite.optim``, ``gradlite.data``.
"""
# First: the thread policy sets the environment the OpenMP runtime reads when it loads.
from .parallel import get_num_threads, set_num_threads

from . import autograd, ops
from .autograd import (Function, enable_grad, inference_mode, is_grad_enabled, no_grad,
                       set_grad_enabled)
from .functions import *  # noqa: F401,F403  (exp, sum, cat, stack, where, pad, ...)
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .random import manual_seed
from .scalar import Value
from .serialization import load, save
from .tensor import Tensor
from .creation import (arange, as_tensor, empty, empty_like, eye, from_numpy, full, full_like,
                       linspace, ones, ones_like, rand, rand_like, randint, randn, randn_like,
                       tensor, zeros, zeros_like)
from .dtypes import bool_, float16, float32, float64, int32, int64, uint8
from .viz import draw_dot, render_dot

from . import data, metrics, nn, optim  # noqa: E402  (they build on the core above)
from . import distributed, onnx  # noqa: E402  (interop; mpi4py and onnx load on first use)

bool = bool_  # noqa: A001  (gradlite.bool, as torch.bool)

# ---- added for PyTorch ports (issue 17): device shims, dtype aliases, torch.utils.data
from .devices import (accelerator, backends, cuda, device, get_default_device,  # noqa: E402
                      set_default_device)
from .random import Generator  # noqa: E402
from .size import Size  # noqa: E402
from . import utils  # noqa: E402,F401  (gradlite.utils.data is gradlite.data)
from .functions_extra import *  # noqa: E402,F401,F403  (gather, sort, einsum, randperm, ...)
float, double, half = float32, float64, float16  # noqa: A001  (torch.float, ...)
long, int = int64, int32  # noqa: A001
__version__ = "0.1.0"

"""The differentiable primitives. Each is a ``Function`` whose docstring states
what it computes and its derivative; Tensor methods and ``nn.functional`` call them."""
from .elementwise import (Abs, Add, Cast, Clamp, Clone, Cos, Div, Exp, Log, Maximum, Minimum,
                          Mul, Neg, Pow, Relu, Sigmoid, Sin, Sqrt, Sub, Tanh, Where)
from .reduce import LogSoftmax, Matmul, Max, Min, Softmax, Sum
from .shape import Cat, Expand, GetItem, IndexAdd, Pad, Permute, Reshape
from .util import kept_shape, reduced_shape, unbroadcast
from .index import Gather, Scatter, ScatterAdd  # noqa: E402  (added for PyTorch ports, issue 17)
from .linalg import Einsum, Norm2  # noqa: E402
from .scan import Cumprod, Cumsum  # noqa: E402

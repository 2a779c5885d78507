"""The differentiable primitives. Each is a ``Function`` whose docstring states
what it computes and its derivative; Tensor methods and ``nn.functional`` call them."""
from .elementwise import (Abs, Add, Cast, Clamp, Clone, Cos, Div, Exp, Log, Maximum, Minimum,
                          Mul, Neg, Pow, Relu, Sigmoid, Sin, Sqrt, Sub, Tanh, Where)
from .reduce import LogSoftmax, Matmul, Max, Min, Softmax, Sum
from .shape import Cat, Expand, GetItem, IndexAdd, Pad, Permute, Reshape
from .util import kept_shape, reduced_shape, unbroadcast

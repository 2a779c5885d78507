"""The differentiable primitives: every ``Function`` of gradlite lives here.

The rule: an operation is a **primitive** (a ``Function`` here, with its forward, its
local derivative and the math in its docstring) when its derivative is not a
combination of other operations' derivatives, or when writing it as one would be
slower or less accurate (the fused cross-entropy, the affine map of ``Linear``,
convolution). Everything else is a **composite**, written with Tensor operations in
``tensor.py``, ``functions.py`` or ``nn/functional.py``: it needs no derivative of its
own and stays differentiable twice.

One file per family: ``elementwise`` (arithmetic and unary math), ``reduce`` (sums,
extremes, matmul), ``shape`` (reshape, index, cat, pad), ``activation`` (tanh,
sigmoid, relu, softmax, ...), ``linear`` (the affine map), ``conv``, ``pool``, ``loss``.
"""
from .activation import (Elu, LeakyRelu, LogSoftmaxOp, NormalCdf, Relu, SigmoidOp, SoftmaxOp,
                         TanhOp, finite_max)
from .conv import Convolution, ConvolutionInputGrad, ConvolutionWeightGrad
from .elementwise import (Abs, Add, Cast, Clamp, Clone, Cos, Div, Exp, Log, Maximum, Minimum,
                          Mul, Neg, Pow, Sin, Sqrt, Sub, Where)
from .linear import Affine
from .loss import BinaryCrossEntropy, BinaryCrossEntropyWithLogits, CrossEntropy
from .pool import AdaptiveAvgPooling, AvgPooling, MaxPooling
from .reduce import Matmul, Max, Min, Sum
from .shape import Cat, Expand, GetItem, IndexAdd, Pad, Permute, Reshape
from .util import kept_shape, reduced_shape, unbroadcast
from .index import Gather, Scatter, ScatterAdd  # noqa: E402  (added for PyTorch ports, issue 17)
from .linalg import Einsum, Norm2  # noqa: E402
from .scan import Cumprod, Cumsum  # noqa: E402

"""How each traced gradlite operation is written as ONNX nodes.

One converter per operation, named as the operation and taking its arguments (bound by
name from the call the model made), plus ``g``, the graph being recorded, and ``out``,
the Tensor the operation returned. It adds nodes with ``g.op(op_type, inputs, **attrs)``
and returns the name of the value that holds ``out``. ``g.name(x)`` is a traced value's
name, or a constant (initializer) made from a parameter, buffer or Python number.

``CONVERTERS`` says which attribute of which object each converter replaces while a model
is traced: ``nn.functional`` for the layers' functions, ``Tensor`` for the methods and
operators forward code uses, ``gradlite`` for ``cat`` (a function is also replaced in the
module that defines it, so calls from inside that module are seen too).
"""
import math

import numpy as np

from .._args import pair


def _hw(value):
    """A layer's int-or-pair argument as (h, w), checked as the layer itself checks it."""
    return pair("onnx.export", "size", value, 0)


def _pads(padding):
    """(ph, pw) -> ONNX's [top, left, bottom, right]."""
    ph, pw = _hw(padding)
    return [ph, pw, ph, pw]


# ------------------------------------------------------------------ layers (nn.functional)

def linear(g, out, input, weight, bias=None):
    """y = x W^T + b: Gemm for a batch of vectors, MatMul (+ Add) for more dims."""
    if input.ndim == 2:
        inputs = [g.name(input), g.name(weight)] + ([g.name(bias)] if bias is not None else [])
        return g.op("Gemm", inputs, transB=1)
    y = g.op("MatMul", [g.name(input), g.constant(weight.data.T, "weight_t")])
    return y if bias is None else g.op("Add", [y, g.name(bias)])


def conv2d(g, out, input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    if isinstance(padding, str):
        g.unsupported(f"conv2d with padding={padding!r}")
    inputs = [g.name(input), g.name(weight)] + ([g.name(bias)] if bias is not None else [])
    return g.op("Conv", inputs, kernel_shape=list(weight.shape[2:]), strides=list(_hw(stride)),
                pads=_pads(padding), dilations=list(_hw(dilation)), group=int(groups))


def max_pool2d(g, out, input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    if return_indices:
        g.unsupported("max_pool2d with return_indices=True")
    kernel = _hw(kernel_size)
    return g.op("MaxPool", [g.name(input)], kernel_shape=list(kernel),
                strides=list(kernel if stride is None else _hw(stride)), pads=_pads(padding),
                dilations=list(_hw(dilation)), ceil_mode=int(ceil_mode))


def avg_pool2d(g, out, input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    if divisor_override is not None:
        g.unsupported("avg_pool2d with divisor_override")
    kernel = _hw(kernel_size)
    return g.op("AveragePool", [g.name(input)], kernel_shape=list(kernel),
                strides=list(kernel if stride is None else _hw(stride)), pads=_pads(padding),
                ceil_mode=int(ceil_mode), count_include_pad=int(count_include_pad))


def _adaptive_pool_matrix(size, out_size, dtype):
    """Row i averages input positions floor(i*size/out) ... ceil((i+1)*size/out) - 1."""
    matrix = np.zeros((out_size, size), dtype=dtype)
    for i in range(out_size):
        start, end = (i * size) // out_size, -(-(i + 1) * size // out_size)
        matrix[i, start:end] = 1 / (end - start)
    return matrix


def adaptive_avg_pool2d(g, out, input, output_size):
    """Global average pooling for a 1x1 output; else y = A_h x A_w^T, with A the
    (output, input) matrices of the windows' averages (exact for any sizes)."""
    (height, width), (out_h, out_w) = input.shape[2:], out.shape[2:]
    if (out_h, out_w) == (1, 1):
        return g.op("GlobalAveragePool", [g.name(input)])
    rows = g.op("MatMul", [g.name(input),
                           g.constant(_adaptive_pool_matrix(width, out_w, out.dtype).T, "pool_w")])
    return g.op("MatMul", [g.constant(_adaptive_pool_matrix(height, out_h, out.dtype), "pool_h"),
                           rows])


def batch_norm(g, out, input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """BatchNormalization with the running statistics (evaluation mode)."""
    if training:
        g.unsupported("batch_norm with batch statistics (training mode, or "
                      "track_running_stats=False)")
    channels = input.shape[1]
    ones, zeros = np.ones(channels, out.dtype), np.zeros(channels, out.dtype)
    scale = g.name(weight) if weight is not None else g.constant(ones, "ones")
    shift = g.name(bias) if bias is not None else g.constant(zeros, "zeros")
    return g.op("BatchNormalization", [g.name(input), scale, shift, g.name(running_mean),
                                       g.name(running_var)], epsilon=float(eps))


def dropout(g, out, input, p=0.5, training=True, inplace=False):
    if training and p > 0:
        g.unsupported("dropout in training mode")
    return g.name(input)


def leaky_relu(g, out, input, negative_slope=0.01, inplace=False):
    return g.op("LeakyRelu", [g.name(input)], alpha=float(negative_slope))


def elu(g, out, input, alpha=1.0, inplace=False):
    return g.op("Elu", [g.name(input)], alpha=float(alpha))


def gelu(g, out, input, approximate="none"):
    """x/2 (1 + erf(x / sqrt 2)), or x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""
    x = g.name(input)
    c = lambda value: g.scalar(value, out.dtype)       # noqa: E731
    if approximate == "tanh":
        cube = g.op("Mul", [g.op("Mul", [x, x]), x])
        inner = g.op("Mul", [g.op("Add", [x, g.op("Mul", [cube, c(0.044715)])]),
                             c(math.sqrt(2 / math.pi))])
        squashed = g.op("Tanh", [inner])
    else:
        squashed = g.op("Erf", [g.op("Div", [x, c(math.sqrt(2))])])
    return g.op("Mul", [g.op("Mul", [x, c(0.5)]), g.op("Add", [squashed, c(1.0)])])


# ------------------------------------------------------------------ Tensor methods

def _unary(op_type):
    def convert(g, out, self):
        return g.op(op_type, [g.name(self)])
    convert.__name__ = op_type.lower()
    return convert


def softmax(g, out, self, dim):
    return g.op("Softmax", [g.name(self)], axis=int(dim))


def log_softmax(g, out, self, dim):
    return g.op("LogSoftmax", [g.name(self)], axis=int(dim))


def _reshape_to(g, out, self):
    """Reshape to ``out``'s shape, batch-size free: dim 0 is copied (0) when it is
    the input's dim 0, else inferred (-1); the other dims are written out."""
    if out is self:
        return g.name(self)
    shape = list(out.shape)
    if shape:
        shape[0] = 0 if self.ndim and self.shape[0] == out.shape[0] else -1
    return g.op("Reshape", [g.name(self), g.constant(np.array(shape, np.int64), "shape")])


def reshape(g, out, self, shape):
    return _reshape_to(g, out, self)


def flatten(g, out, self, start_dim=0, end_dim=-1):
    return _reshape_to(g, out, self)


def _binary(op_type, reflected=False):
    """x (op) y; ``reflected`` for __radd__ and friends, where ``self`` is the right side."""
    def convert(g, out, self, other):
        a, b = g.name(self, out.dtype), g.name(other, out.dtype)
        return g.op(op_type, [b, a] if reflected else [a, b])
    convert.__name__ = op_type.lower()
    return convert


def neg(g, out, self):
    return g.op("Neg", [g.name(self)])


# ------------------------------------------------------------------ gradlite functions

def cat(g, out, tensors, dim=0):
    return g.op("Concat", [g.name(t, out.dtype) for t in tensors], axis=int(dim))


CONVERTERS = {
    "nn.functional": {"linear": linear, "conv2d": conv2d, "max_pool2d": max_pool2d,
                      "avg_pool2d": avg_pool2d, "adaptive_avg_pool2d": adaptive_avg_pool2d,
                      "batch_norm": batch_norm, "dropout": dropout, "leaky_relu": leaky_relu,
                      "elu": elu, "gelu": gelu},
    "Tensor": {"relu": _unary("Relu"), "sigmoid": _unary("Sigmoid"), "tanh": _unary("Tanh"),
               "softmax": softmax, "log_softmax": log_softmax, "reshape": reshape,
               "view": reshape, "flatten": flatten,
               "__add__": _binary("Add"), "__radd__": _binary("Add", reflected=True),
               "__sub__": _binary("Sub"), "__rsub__": _binary("Sub", reflected=True),
               "__mul__": _binary("Mul"), "__rmul__": _binary("Mul", reflected=True),
               "__truediv__": _binary("Div"), "__rtruediv__": _binary("Div", reflected=True),
               "__neg__": neg},
    "gradlite": {"cat": cat, "concatenate": cat},
}

#: In-place Tensor methods: refused on a traced value (the trace would miss the change).
IN_PLACE = ("__iadd__", "__isub__", "__imul__", "__itruediv__", "add_", "sub_", "mul_", "div_",
            "clamp_", "zero_", "fill_", "copy_", "__setitem__")

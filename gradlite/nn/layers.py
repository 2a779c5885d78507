"""Layers: Linear, Conv2d, pooling, Flatten, Dropout, BatchNorm, Identity, Maxout.

Constructor arguments, parameter shapes, ``state_dict`` keys, default initialisation
and ``repr`` are PyTorch's, so a model definition ports by changing imports.
"""
import math


from .._args import int_arg, pair, real_arg, size_arg
from ..creation import zeros, ones, tensor
from . import functional as F
from . import init
from ._conv import check_padding_string
from .module import Module
from .parameter import Parameter


def _reset_affine(weight, bias):
    """PyTorch's default for Linear and Conv: W ~ kaiming_uniform_(a=sqrt(5)), which is
    U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and the bias from the same range."""
    init.kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        fan_in, _ = init._calculate_fan_in_and_fan_out(weight)
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
        init.uniform_(bias, -bound, bound)


class Identity(Module):
    """Returns its input unchanged (a placeholder, e.g. for a removed head)."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, input):
        return input


class Linear(Module):
    """y = x W^T + b;  weight (out_features, in_features), bias (out_features,)."""

    def __init__(self, in_features, out_features, bias=True):
        super().__init__()
        in_features = int_arg("Linear", "in_features", in_features, 0)
        out_features = int_arg("Linear", "out_features", out_features, 0)
        self.in_features, self.out_features = in_features, out_features
        self.weight = Parameter(zeros(*size_arg("Linear", (out_features, in_features))))
        self.register_parameter("bias", Parameter(zeros(out_features)) if bias else None)
        self.reset_parameters()

    def reset_parameters(self):
        _reset_affine(self.weight, self.bias)

    def forward(self, input):
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Maxout(Module):
    """Maxout unit (Goodfellow et al. 2013): each output is the max of ``pieces``
    affine functions of the input,

        y_o = max_k (w_(o,k) . x + b_(o,k)),   e.g. max(w1.x + b1, w2.x + b2) for pieces=2.

    Maxout(in_features, out_features, pieces=2). Not in PyTorch; its state_dict keys
    are ``weight`` of shape (out_features * pieces, in_features) and ``bias`` of shape
    (out_features * pieces,), row o * pieces + k holding piece k of output o (so it
    equals a Linear(in, out * pieces) followed by a max over groups of ``pieces``).
    The gradient goes to the winning piece of each output. Initialised like Linear.
    """

    def __init__(self, in_features, out_features, pieces=2):
        super().__init__()
        in_features = int_arg("Maxout", "in_features", in_features, 0)
        out_features = int_arg("Maxout", "out_features", out_features, 0)
        pieces = int_arg("Maxout", "pieces", pieces, 1)
        self.in_features, self.out_features, self.pieces = in_features, out_features, pieces
        self.weight = Parameter(zeros(*size_arg("Maxout", (out_features * pieces, in_features))))
        self.bias = Parameter(zeros(out_features * pieces))
        _reset_affine(self.weight, self.bias)

    def forward(self, input):
        scores = F.linear(input, self.weight, self.bias)
        return scores.reshape(scores.shape[:-1] + (self.out_features, self.pieces)).amax(dim=-1)

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"pieces={self.pieces}")


class Conv2d(Module):
    """2-d convolution (cross-correlation) of (N, C_in, H, W) input;
    weight (out_channels, in_channels / groups, kh, kw), bias (out_channels,)."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True):
        super().__init__()
        in_channels = int_arg("Conv2d", "in_channels", in_channels, 0)
        out_channels = int_arg("Conv2d", "out_channels", out_channels, 0)
        groups = int_arg("Conv2d", "groups", groups, 1)
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"Conv2d: in_channels ({in_channels}) and out_channels "
                             f"({out_channels}) must both be divisible by groups ({groups})")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = pair("Conv2d", "kernel_size", kernel_size, 1)
        self.stride = pair("Conv2d", "stride", stride, 1)
        if isinstance(padding, str):                  # 'same' / 'valid'
            check_padding_string("Conv2d", padding, stride)
            self.padding = padding
        else:
            self.padding = pair("Conv2d", "padding", padding, 0)
        self.dilation = pair("Conv2d", "dilation", dilation, 1)
        shape = (out_channels, in_channels // groups) + self.kernel_size
        self.weight = Parameter(zeros(*size_arg("Conv2d", shape)))
        self.register_parameter("bias", Parameter(zeros(out_channels)) if bias else None)
        self.reset_parameters()

    def reset_parameters(self):
        _reset_affine(self.weight, self.bias)

    def forward(self, input):
        return F.conv2d(input, self.weight, self.bias, self.stride, self.padding,
                        self.dilation, self.groups)

    def extra_repr(self):
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")
        if self.padding != (0, 0):
            text += f", padding={self.padding}"
        if self.dilation != (1, 1):
            text += f", dilation={self.dilation}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        return text


class MaxPool2d(Module):
    """Max over kernel_size windows, moved by stride (default: kernel_size)."""

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding = padding

    def forward(self, input):
        return F.max_pool2d(input, self.kernel_size, self.stride, self.padding)

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                "dilation=1, ceil_mode=False")


class AvgPool2d(Module):
    """Mean over kernel_size windows, moved by stride (default: kernel_size); with
    ``count_include_pad`` the zero padding counts in the divisor."""

    def __init__(self, kernel_size, stride=None, padding=0, count_include_pad=True):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding = padding
        self.count_include_pad = count_include_pad

    def forward(self, input):
        return F.avg_pool2d(input, self.kernel_size, self.stride, self.padding,
                            count_include_pad=self.count_include_pad)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool2d(Module):
    """Average pooling to a fixed output size (h, w), whatever the input size."""

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, input):
        return F.adaptive_avg_pool2d(input, self.output_size)

    def extra_repr(self):
        return f"output_size={self.output_size}"


class Flatten(Module):
    """Merge dims start_dim..end_dim into one: (N, C, H, W) -> (N, C*H*W) by default."""

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim = int_arg("Flatten", "start_dim", start_dim)
        self.end_dim = int_arg("Flatten", "end_dim", end_dim)

    def forward(self, input):
        return input.flatten(self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Dropout(Module):
    """Inverted dropout (``F.dropout``) in training mode, the identity in eval mode."""

    def __init__(self, p=0.5):
        super().__init__()
        self.p = real_arg("Dropout", "probability p", p, 0.0, 1.0)

    def forward(self, input):
        return F.dropout(input, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}, inplace=False"


class _BatchNorm(Module):
    """Shared by BatchNorm1d and BatchNorm2d; see ``F.batch_norm`` for the math.

    Parameters ``weight`` (gamma, ones) and ``bias`` (beta, zeros; left out with
    ``bias=False``) when ``affine``;
    buffers ``running_mean`` (zeros), ``running_var`` (ones) and ``num_batches_tracked``
    when ``track_running_stats``. ``momentum=None`` uses the cumulative average
    1 / num_batches_tracked instead of a fixed momentum.
    """
    expected_dims = ()

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, *, bias=True):
        super().__init__()
        fn = type(self).__name__
        num_features = int_arg(fn, "num_features", num_features, 0)
        eps = real_arg(fn, "eps", eps, 0.0)
        momentum = None if momentum is None else real_arg(fn, "momentum", momentum, 0.0, 1.0)
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:
            self.weight = Parameter(ones(num_features))
            self.register_parameter("bias", Parameter(zeros(num_features)) if bias else None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", zeros(num_features))
            self.register_buffer("running_var", ones(num_features))
            self.register_buffer("num_batches_tracked", tensor(0))
        else:
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                self.register_buffer(name, None)

    def reset_running_stats(self):
        if self.track_running_stats:
            self.running_mean.data.fill(0)
            self.running_var.data.fill(1)
            self.num_batches_tracked.data.fill(0)

    def forward(self, input):
        if input.ndim not in self.expected_dims:
            raise ValueError(f"{type(self).__name__}: expected {' or '.join(map(str, self.expected_dims))}"
                             f"-d input, got shape {tuple(input.shape)}")
        momentum = self.momentum
        use_batch_stats = self.training or self.running_mean is None
        if self.training and self.track_running_stats:
            self.num_batches_tracked.data += 1
            if momentum is None:
                momentum = 1.0 / float(self.num_batches_tracked.data)
        running_mean, running_var = ((self.running_mean, self.running_var)
                                     if not self.training or self.track_running_stats
                                     else (None, None))
        return F.batch_norm(input, running_mean, running_var, self.weight, self.bias,
                            use_batch_stats, momentum if momentum is not None else 0.0, self.eps)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.bias is not None}, track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of (N, C) or (N, C, L) input, per channel C."""
    expected_dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of (N, C, H, W) input, per channel C."""
    expected_dims = (4,)

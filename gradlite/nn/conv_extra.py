"""Conv1d, ConvTranspose1d, ConvTranspose2d and Upsample (PyTorch's API and layouts)."""
from .. import zeros
from . import _functional_seq as F
from .layers import _reset_affine
from .module import Module
from .parameter import Parameter


def _tuple(value, n):
    return (value,) * n if isinstance(value, int) else tuple(value)


class _ConvNd(Module):
    """Shared by the convolution modules: arguments, parameters, init, repr."""
    dims = 2
    transposed = False

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", output_padding=0):
        super().__init__()
        name = type(self).__name__
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"{name}: in_channels ({in_channels}) and out_channels "
                             f"({out_channels}) must both be divisible by groups ({groups})")
        if padding_mode != "zeros":
            raise NotImplementedError(f"{name}: only padding_mode='zeros' is supported")
        n = self.dims
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size, self.stride = _tuple(kernel_size, n), _tuple(stride, n)
        self.padding = padding if isinstance(padding, str) else _tuple(padding, n)
        self.dilation, self.output_padding = _tuple(dilation, n), _tuple(output_padding, n)
        self.padding_mode = padding_mode
        shape = ((in_channels, out_channels // groups) if self.transposed
                 else (out_channels, in_channels // groups))
        self.weight = Parameter(zeros(*shape, *self.kernel_size))
        self.register_parameter("bias", Parameter(zeros(out_channels)) if bias else None)
        self.reset_parameters()

    def reset_parameters(self):
        """PyTorch's default: U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in from weight dim 1."""
        _reset_affine(self.weight, self.bias)

    def extra_repr(self):
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")
        defaults = {"padding": (0,) * self.dims, "dilation": (1,) * self.dims,
                    "output_padding": (0,) * self.dims, "groups": 1}
        for key, default in defaults.items():
            if getattr(self, key) != default:
                text += f", {key}={getattr(self, key)}"
        return text + ("" if self.bias is not None else ", bias=False")


class Conv1d(_ConvNd):
    """1-d convolution of (N, C_in, L) input; weight (out, in/groups, k), bias (out,)."""
    dims = 1

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros"):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode)

    def forward(self, input):
        padding = self.padding if isinstance(self.padding, str) else self.padding[0]
        return F.conv1d(input, self.weight, self.bias, self.stride[0], padding,
                        self.dilation[0], self.groups)


class _ConvTransposeNd(_ConvNd):
    transposed = True

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, groups=1, bias=True, dilation=1, padding_mode="zeros"):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, output_padding)

    def _output_padding(self, input, output_size):
        """output_padding, or the one that gives ``output_size`` (PyTorch's rule)."""
        if output_size is None:
            return self.output_padding
        wanted = tuple(output_size)[-self.dims:]
        result = []
        for a, want in enumerate(wanted):
            n = input.shape[input.ndim - self.dims + a]
            smallest = ((n - 1) * self.stride[a] - 2 * self.padding[a]
                        + self.dilation[a] * (self.kernel_size[a] - 1) + 1)
            if not smallest <= want < smallest + self.stride[a]:
                raise ValueError(f"{type(self).__name__}: requested an output size of "
                                 f"{wanted}, but valid sizes range from {smallest} to "
                                 f"{smallest + self.stride[a] - 1} (for an input of "
                                 f"{tuple(input.shape)[-self.dims:]})")
            result.append(want - smallest)
        return tuple(result)


class ConvTranspose1d(_ConvTransposeNd):
    """Transposed 1-d convolution of (N, C_in, L); weight (in, out/groups, k)."""
    dims = 1

    def forward(self, input, output_size=None):
        return F.conv_transpose1d(input, self.weight, self.bias, self.stride[0], self.padding[0],
                                  self._output_padding(input, output_size)[0], self.groups,
                                  self.dilation[0])


class ConvTranspose2d(_ConvTransposeNd):
    """Transposed 2-d convolution of (N, C_in, H, W) (the adjoint of Conv2d with the same
    arguments: it maps Conv2d's output shape back to its input shape);
    weight (in, out/groups, kh, kw), bias (out,)."""

    def forward(self, input, output_size=None):
        return F.conv_transpose2d(input, self.weight, self.bias, self.stride, self.padding,
                                  self._output_padding(input, output_size), self.groups,
                                  self.dilation)


class Upsample(Module):
    """``F.interpolate`` as a module: Upsample(size=None, scale_factor=None, mode='nearest',
    align_corners=None)."""

    def __init__(self, size=None, scale_factor=None, mode="nearest", align_corners=None,
                 recompute_scale_factor=None):
        super().__init__()
        self.size, self.scale_factor, self.mode = size, scale_factor, mode
        self.align_corners, self.recompute_scale_factor = align_corners, recompute_scale_factor

    def forward(self, input):
        return F.interpolate(input, self.size, self.scale_factor, self.mode, self.align_corners,
                             self.recompute_scale_factor)

    def extra_repr(self):
        if self.scale_factor is not None:
            return f"scale_factor={self.scale_factor!r}, mode={self.mode!r}"
        return f"size={self.size!r}, mode={self.mode!r}"

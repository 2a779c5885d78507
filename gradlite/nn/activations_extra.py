"""Modules added for PyTorch ports (issue 17): ``SiLU`` and ``Dropout2d``, with their
functional forms ``silu`` and ``dropout2d`` (also in ``nn.functional``)."""
import numpy as np

from ..random import dropout_mask_array
from ..creation import as_tensor
from .module import Module


def silu(input):
    """SiLU (swish): y = x * sigmoid(x);  dy/dx = s + x s (1 - s), s = sigmoid(x)."""
    input = as_tensor(input)
    return input * input.sigmoid()


def dropout2d(input, p=0.5, training=True):
    """Channel dropout on (N, C, H, W) or (C, H, W): in training, zero each whole channel
    with probability p and scale the kept ones by 1 / (1 - p); identity otherwise."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout2d: probability p must be in [0, 1], got {p}")
    if input.ndim not in (3, 4):
        raise ValueError(f"dropout2d: expected a 3-d (C, H, W) or 4-d (N, C, H, W) input, "
                         f"got shape {input.shape}")
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input * 0.0
    dtype = input.dtype if input.dtype in (np.float32, np.float64) else np.float32
    channels = input.shape[:-2] + (1, 1)
    return input * dropout_mask_array(channels, p, dtype)


class SiLU(Module):
    """``F.silu``: x * sigmoid(x)."""

    def forward(self, input):
        return silu(input)


class Dropout2d(Module):
    """``F.dropout2d`` in training mode (whole channels dropped), the identity in eval."""

    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout2d: probability p must be in [0, 1], got {p}")
        self.p = p

    def forward(self, input):
        return dropout2d(input, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}, inplace=False"

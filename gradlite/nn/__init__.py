"""gradlite.nn: modules, layers, activations, losses, ``functional`` and ``init``."""
from . import functional, init
from .activations import ELU, GELU, LeakyReLU, LogSoftmax, ReLU, Sigmoid, Softmax, Tanh
from .containers import ModuleDict, ModuleList, Sequential
from .layers import (AdaptiveAvgPool2d, AvgPool2d, BatchNorm1d, BatchNorm2d, Conv2d, Dropout,
                     Flatten, Identity, Linear, MaxPool2d, Maxout)
from .losses import (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, L1Loss, MSELoss,
                     MultiMarginLoss, NLLLoss, SmoothL1Loss)
from .module import Module
from .parameter import Parameter
from . import parallel  # noqa: E402  (nn.parallel.DistributedDataParallel)

__all__ = ["functional", "init", "Module", "Parameter", "Sequential", "ModuleList",
           "ModuleDict", "Identity", "Linear", "Maxout", "Conv2d", "MaxPool2d", "AvgPool2d",
           "AdaptiveAvgPool2d", "Flatten", "Dropout", "BatchNorm1d", "BatchNorm2d", "ReLU",
           "LeakyReLU", "ELU", "GELU", "Sigmoid", "Tanh", "Softmax", "LogSoftmax", "MSELoss",
           "L1Loss", "HuberLoss", "SmoothL1Loss", "CrossEntropyLoss", "NLLLoss", "BCELoss",
           "BCEWithLogitsLoss", "MultiMarginLoss"]

# ---- added for PyTorch ports (issue 17)
from . import utils  # noqa: E402  (nn.utils.clip_grad_norm_, ...)
from .activations_extra import Dropout2d, SiLU  # noqa: E402
__all__ += ["utils", "SiLU", "Dropout2d"]

# Sequence models (issue 19): embeddings, normalisation, recurrent layers, attention.
from .attention import MultiheadAttention  # noqa: E402
from .conv_extra import Conv1d, ConvTranspose1d, ConvTranspose2d, Upsample  # noqa: E402
from .embedding import Embedding  # noqa: E402
from .normalization import GroupNorm, LayerNorm  # noqa: E402
from .recurrent import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell  # noqa: E402
from .transformer import TransformerEncoder, TransformerEncoderLayer  # noqa: E402

__all__ += ["Embedding", "LayerNorm", "GroupNorm", "RNN", "LSTM", "GRU", "RNNCell", "LSTMCell",
            "GRUCell", "MultiheadAttention", "TransformerEncoderLayer", "TransformerEncoder",
            "Conv1d", "ConvTranspose1d", "ConvTranspose2d", "Upsample"]

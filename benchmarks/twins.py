"""PyTorch twins of gradlite models, and the FLOPs of a model step.

``torch_twin(model)`` rebuilds a gradlite ``nn.Sequential`` layer by layer with
``torch.nn`` and copies gradlite's weights into it, so both compute the same function.
``forward_macs(model, x)`` counts the multiply-accumulates of its Conv2d and Linear layers
(everything else is cheap next to them); a forward pass is ``2 * macs`` FLOPs and a
training step about three times that (backward costs about twice the forward: one
product for the input gradient, one for the weight gradient).
"""
import numpy as np

import gradlite
from gradlite import nn


def _torch_layer(layer, tnn):
    """The torch.nn module equivalent to one gradlite layer (weights not copied yet)."""
    kind = type(layer).__name__
    if kind == "Linear":
        return tnn.Linear(layer.in_features, layer.out_features, bias=layer.bias is not None)
    if kind == "Conv2d":
        return tnn.Conv2d(layer.in_channels, layer.out_channels, layer.kernel_size,
                          layer.stride, layer.padding, layer.dilation, layer.groups,
                          bias=layer.bias is not None)
    if kind in ("MaxPool2d", "AvgPool2d"):
        return getattr(tnn, kind)(layer.kernel_size, layer.stride, layer.padding)
    if kind == "Flatten":
        return tnn.Flatten(layer.start_dim, layer.end_dim)
    if kind == "Dropout":
        return tnn.Dropout(layer.p)
    if kind in ("ReLU", "Tanh", "Sigmoid", "Identity"):
        return getattr(tnn, kind)()
    raise NotImplementedError(f"torch_twin: no PyTorch twin for gradlite layer {kind}")


def torch_twin(model):
    """A ``torch.nn.Sequential`` computing what the gradlite Sequential ``model`` computes,
    from the same weights (copied through ``state_dict``, whose keys match PyTorch's)."""
    import torch
    twin = torch.nn.Sequential(*(_torch_layer(layer, torch.nn) for layer in model))
    weights = {name: torch.from_numpy(np.array(t.data)) for name, t in model.state_dict().items()}
    twin.load_state_dict(weights)
    twin.train(model.training)
    return twin


def forward_macs(model, x):
    """Multiply-accumulates of one forward pass of the Sequential ``model`` on array ``x``."""
    macs = 0
    with gradlite.no_grad():
        h = gradlite.tensor(x)
        for layer in model:
            out = layer(h)
            if isinstance(layer, nn.Linear):
                macs += out.data.size * layer.in_features
            elif isinstance(layer, nn.Conv2d):
                kh, kw = layer.kernel_size
                macs += out.data.size * (layer.in_channels // layer.groups) * kh * kw
            h = out
    return macs

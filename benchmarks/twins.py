"""PyTorch twins of gradlite models, and the FLOPs of a model step.

A model is described by its layer specs, ``[kind, {argument: value}]`` per layer, plain
data (JSON) so that a PyTorch process can build the same network without importing
gradlite (the timing processes import one library each). ``layer_specs(model)`` reads
them off a gradlite ``nn.Sequential``; ``torch_model(specs)`` builds ``torch.nn``;
``torch_twin(model)`` also copies gradlite's weights (through ``state_dict``, whose keys
match PyTorch's), for the agreement checks.

``forward_macs(model, x)`` counts the multiply-accumulates of the Conv2d and Linear layers
(everything else is cheap next to them); a forward pass is ``2 * macs`` FLOPs and a
training step about three times that (the backward does two products per layer).
"""
import numpy as np

_ARGUMENTS = {  # gradlite layer -> the attributes its torch.nn twin is built from
    "Linear": ("in_features", "out_features"),
    "Conv2d": ("in_channels", "out_channels", "kernel_size", "stride", "padding",
               "dilation", "groups"),
    "MaxPool2d": ("kernel_size", "stride", "padding"),
    "AvgPool2d": ("kernel_size", "stride", "padding"),
    "Flatten": ("start_dim", "end_dim"),
    "Dropout": ("p",),
    "ReLU": (), "Tanh": (), "Sigmoid": (), "Identity": (),
}


def layer_specs(model):
    """``[kind, arguments]`` for each layer of the gradlite Sequential ``model``."""
    specs = []
    for layer in model:
        kind = type(layer).__name__
        if kind not in _ARGUMENTS:
            raise NotImplementedError(f"layer_specs: no PyTorch twin for gradlite layer {kind}")
        arguments = {name: getattr(layer, name) for name in _ARGUMENTS[kind]}
        if kind in ("Linear", "Conv2d"):
            arguments["bias"] = layer.bias is not None
        specs.append([kind, arguments])
    return specs


def torch_model(specs):
    """The ``torch.nn.Sequential`` the layer specs describe (PyTorch's initial weights)."""
    import torch
    return torch.nn.Sequential(*(getattr(torch.nn, kind)(**arguments) for kind, arguments in specs))


def torch_twin(model):
    """A ``torch.nn.Sequential`` computing what the gradlite Sequential ``model`` computes,
    from the same weights."""
    import torch
    twin = torch_model(layer_specs(model))
    twin.load_state_dict({name: torch.from_numpy(np.array(t.data))
                          for name, t in model.state_dict().items()})
    twin.train(model.training)
    return twin


def forward_macs(model, x):
    """Multiply-accumulates of one forward pass of the gradlite Sequential ``model`` on ``x``."""
    import gradlite
    from gradlite import nn
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

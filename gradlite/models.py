"""Ready-made classifiers for 28x28 grayscale images (MNIST and friends).

Each builder returns an ``nn.Sequential`` that maps a batch ``(N, 1, 28, 28)`` to logits
``(N, num_classes)``; ``MODELS`` names them for the ``gradlite`` command. The same
layer list, with ``torch.nn`` for ``gradlite.nn``, builds the same network in PyTorch.
"""
from . import nn


def mlp(num_classes=10):
    """A multilayer perceptron: 784-512-512-``num_classes`` with ReLU and dropout 0.2."""
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(28 * 28, 512), nn.ReLU(), nn.Dropout(0.2),
        nn.Linear(512, 512), nn.ReLU(), nn.Dropout(0.2),
        nn.Linear(512, num_classes),
    )


def lenet5(num_classes=10):
    """LeNet-5 (LeCun et al., 1998) with ReLU and max pooling, as usually trained today.

    28x28 -> conv 5x5 (padding 2) -> 6@28x28 -> pool -> 6@14x14 -> conv 5x5 -> 16@10x10
    -> pool -> 16@5x5 = 400 -> 120 -> 84 -> ``num_classes``.
    """
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(),
        nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, num_classes),
    )


def mnist_cnn(num_classes=10):
    """The network of PyTorch's MNIST example (``examples/mnist/main.py``).

    28x28 -> conv 3x3 -> 32@26x26 -> conv 3x3 -> 64@24x24 -> pool -> 64@12x12 = 9216
    -> 128 -> ``num_classes``, with dropout 0.25 and 0.5.
    """
    return nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(),
        nn.Conv2d(32, 64, 3), nn.ReLU(),
        nn.MaxPool2d(2), nn.Dropout(0.25),
        nn.Flatten(),
        nn.Linear(9216, 128), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(128, num_classes),
    )


#: The builders by the names the ``gradlite`` command uses (``--model``).
MODELS = {"mlp": mlp, "lenet": lenet5, "cnn": mnist_cnn}

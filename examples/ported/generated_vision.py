"""The few torchvision names the CIFAR-10 tutorial uses, over generated images.

``cifar10_tutorial.py`` imports this module as ``torchvision`` (its only change besides
the other import lines). ``datasets.CIFAR10`` here draws 32x32x3 uint8 images in ten
classes instead of reading the real CIFAR-10 files (no download; the files are 160 MB):
class k is a grating at angle 18k degrees over a background colour of its own, with
random phase, contrast and noise, so a small CNN can learn it but not at once.
Set ``GRADLITE_PORTED_QUICK=1`` for 2,000 training and 250 test images instead of
50,000 and 10,000. ``utils.make_grid`` lays a batch out side by side.
"""
import os
from types import SimpleNamespace

import numpy as np

from gradlite.data import transforms  # noqa: F401  (torchvision.transforms)
from gradlite.data.datasets import ImageArrayDataset


def generated_images(n, seed, size=32, classes=10):
    """``n`` images (n, size, size, 3) uint8 and labels (n,), a function of ``seed``."""
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n) % classes)
    palette = np.random.default_rng(1234).uniform(0.25, 0.75, (classes, 3))
    angle = np.deg2rad(18.0 * labels)[:, None, None]
    v, u = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
    phase = rng.uniform(0, 2 * np.pi, (n, 1, 1))
    wave = np.sin(0.6 * (u * np.cos(angle) + v * np.sin(angle)) + phase)
    contrast = rng.uniform(0.1, 0.25, (n, 1, 1, 1))
    colour = palette[labels][:, None, None, :] + rng.normal(0, 0.08, (n, 1, 1, 3))
    images = colour + contrast * wave[..., None] + rng.normal(0, 0.1, (n, size, size, 3))
    return np.round(np.clip(images, 0, 1) * 255).astype(np.uint8), labels


class CIFAR10(ImageArrayDataset):
    """Generated stand-in for ``torchvision.datasets.CIFAR10`` (same arguments)."""

    classes = ['plane', 'car', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck']

    def __init__(self, root=None, train=True, transform=None, target_transform=None,
                 download=False):
        quick = os.environ.get("GRADLITE_PORTED_QUICK") == "1"
        n = (2000 if quick else 50000) if train else (250 if quick else 10000)
        images, labels = generated_images(n, seed=int(train))
        super().__init__(images, labels, transform, target_transform)


def make_grid(tensor, nrow=8, padding=2, pad_value=0.0):
    """Images (B, C, H, W) tiled into one image (C, rows * (H + p) + p, cols * (W + p) + p)."""
    batch = np.asarray(tensor)
    b, c, h, w = batch.shape
    cols = min(nrow, b)
    rows = -(-b // cols)
    grid = np.full((c, rows * (h + padding) + padding, cols * (w + padding) + padding),
                   pad_value, dtype=batch.dtype)
    for i, image in enumerate(batch):
        top, left = padding + (i // cols) * (h + padding), padding + (i % cols) * (w + padding)
        grid[:, top:top + h, left:left + w] = image
    return type(tensor)(grid) if not isinstance(tensor, np.ndarray) else grid


datasets = SimpleNamespace(CIFAR10=CIFAR10)
utils = SimpleNamespace(make_grid=make_grid)

"""LeNet-5 written exactly as in PyTorch, with gradlite imports: it learns real MNIST
digits, and its loss and gradients equal PyTorch's for the same weights."""
import time
from pathlib import Path

import numpy as np
import pytest

import gradlite
import gradlite.nn as nn
import gradlite.nn.functional as F
import gradlite.optim as optim

MNIST_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"


def lenet5(nn):
    """LeNet-5 under ``torch.nn`` or ``gradlite.nn``: the same code for both."""
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(),
        nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, 10))


def mnist_subset(count):
    if not (MNIST_DIR / "train-images-idx3-ubyte.gz").exists():
        pytest.skip(f"MNIST not found at {MNIST_DIR}")
    from gradlite.data.datasets import MNIST
    dataset = MNIST(MNIST_DIR, train=True)
    images = np.asarray(dataset.data[:count], dtype=np.float32)[:, None] / 255.0
    images = (images - 0.1307) / 0.3081
    return images, np.asarray(dataset.targets[:count], dtype=np.int64)


def test_lenet_learns_mnist():
    images, labels = mnist_subset(2048)
    gradlite.manual_seed(0)
    model = lenet5(nn)
    optimizer = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    order = np.random.default_rng(0).permutation(len(images))
    batch, losses, start = 32, [], time.perf_counter()
    for step in range(120):
        index = order[(step * batch) % len(images):][:batch]
        loss = F.cross_entropy(model(gradlite.tensor(images[index])), gradlite.tensor(labels[index]))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    first, last = np.mean(losses[:10]), np.mean(losses[-20:])
    print(f"LeNet: loss {first:.3f} -> {last:.3f} in {time.perf_counter() - start:.1f} s")
    assert first > 2.0 and last < 0.6 * first
    model.eval()
    with gradlite.no_grad():
        held_out = model(gradlite.tensor(images[-512:])).argmax(dim=1).data
    assert (held_out == labels[-512:]).mean() > 0.6


def test_lenet_loss_and_gradients_equal_torch():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    reference = lenet5(torch.nn)
    model = lenet5(nn)
    model.load_state_dict({k: v.detach().numpy() for k, v in reference.state_dict().items()})
    rng = np.random.default_rng(1)
    x = rng.standard_normal((16, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, 16)
    expected = torch.nn.functional.cross_entropy(reference(torch.tensor(x)), torch.tensor(y))
    expected.backward()
    loss = F.cross_entropy(model(gradlite.tensor(x)), gradlite.tensor(y))
    loss.backward()
    np.testing.assert_allclose(loss.item(), expected.item(), rtol=1e-5)
    theirs = dict(reference.named_parameters())
    for name, param in model.named_parameters():
        np.testing.assert_allclose(param.grad.data, theirs[name].grad.numpy(), rtol=1e-4,
                                   atol=1e-6, err_msg=name)

"""The lecture exercise: a multilayer perceptron for handwritten digits.

Each 28x28 image is flattened to 784 numbers and goes through two dense (fully
connected) layers of 512 ReLU units and a dense layer of 10 outputs, one score
(logit) per digit. ``nn.CrossEntropyLoss`` applies the softmax and the negative
log-likelihood in one numerically stable step, so the model itself ends with the
logits. Adam does the updates; ``gradlite.train.fit`` runs the epochs.

By default it trains on a few thousand digits of the bundled ``MNISTSmall`` subset
for a couple of epochs (well under a minute); ``--full`` trains on all of it for 10
epochs, and ``--data-dir DIR`` uses the full MNIST files in DIR instead.

    python examples/mnist_mlp.py [--full] [--data-dir DIR] [--out DIR]
"""
import argparse
from pathlib import Path

import numpy as np

import gradlite
from gradlite import nn, optim
from gradlite.data import DataLoader, Subset, transforms
from gradlite.data.datasets import MNIST, MNISTSmall
from gradlite.metrics import plot_history
from gradlite.train import evaluate, fit


def build_model():
    """784 -> 512 -> 512 -> 10, ReLU between the layers."""
    return nn.Sequential(
        nn.Flatten(),                       # (N, 1, 28, 28) -> (N, 784)
        nn.Linear(784, 512), nn.ReLU(),
        nn.Linear(512, 512), nn.ReLU(),
        nn.Linear(512, 10),                 # logits; the loss applies the softmax
    )


def subset(dataset, n, seed=0):
    """A random subset of ``n`` items (all of them if n is None or too big)."""
    if n is None or n >= len(dataset):
        return dataset
    return Subset(dataset, np.random.default_rng(seed).permutation(len(dataset))[:n])


def main(argv=None):
    parser = argparse.ArgumentParser(description="Two dense layers of 512 on MNIST.")
    parser.add_argument("--full", action="store_true", help="all training images, 10 epochs")
    parser.add_argument("--data-dir", help="folder with the MNIST IDX files (default: the bundled subset)")
    parser.add_argument("--epochs", type=int, help="default 2 (10 with --full)")
    parser.add_argument("--train-size", type=int, help="training images (default 3000, all with --full)")
    parser.add_argument("--test-size", type=int, help="test images (default 1000, all with --full)")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--out", default="examples_output", help="folder for mnist_mlp.png")
    args = parser.parse_args(argv)
    epochs = args.epochs or (10 if args.full else 2)
    train_size = args.train_size or (None if args.full else 3000)
    test_size = args.test_size or (None if args.full else 1000)
    gradlite.manual_seed(0)

    if args.data_dir:
        train_set, test_set = MNIST(args.data_dir, train=True), MNIST(args.data_dir, train=False)
    else:
        train_set, test_set = MNISTSmall(train=True, transform=transforms.ToTensor()), MNISTSmall(train=False, transform=transforms.ToTensor())
    train_set, test_set = subset(train_set, train_size), subset(test_set, test_size)
    print(f"training on {len(train_set)} digits, testing on {len(test_set)}, {epochs} epochs")

    model = build_model()
    n_params = sum(p.numel() for p in model.parameters())
    print(model)
    print(f"{n_params:,} parameters")
    train_loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True)
    test_loader = DataLoader(test_set, batch_size=500)
    loss_fn = nn.CrossEntropyLoss()
    history = fit(model, train_loader, loss_fn, optim.Adam(model.parameters(), lr=args.lr),
                  epochs, val_loader=test_loader)
    result = evaluate(model, test_loader, loss_fn)
    print(f"test accuracy: {result['accuracy']:.4f}  (test loss {result['loss']:.4f})")

    try:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        print(f"picture: {plot_history(history, out / 'mnist_mlp.png')}")
    except ImportError:
        print("(matplotlib is not installed: no picture)")
    return result


if __name__ == "__main__":
    main()

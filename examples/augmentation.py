"""Data augmentation: more training images for free, by transforming the ones we have.

A digit rotated by 10 degrees, shifted by two pixels or drawn a little thicker is
still the same digit. Training on such variations (a new random version of every
image each epoch) teaches the network that these changes do not matter, which helps
most when there are few training images.

Part 1 saves a grid: one digit under each transform of ``gradlite.data.transforms``
(six random draws per row). Not every augmentation suits every data set: a
horizontal flip turns a 7 into something that is not a digit, so it is shown but not
used for training.

Part 2 trains the same small dense network twice on a few hundred digits, without and with
augmentation (random rotation, shift and zoom via ``RandomAffine``), and compares
the test accuracy. With so little data and so few epochs the numbers move a few
points from seed to seed; ``--full`` trains longer on more digits.

    python examples/augmentation.py [--train-size 300] [--epochs 20] [--full] [--out DIR]
"""
import argparse
from pathlib import Path

import numpy as np

import gradlite
from gradlite import nn, optim
from gradlite.data import DataLoader, Subset, transforms as T
from gradlite.data.datasets import MNISTSmall
from gradlite.train import evaluate, fit

SHOWN = {
    "rotation +-25": T.RandomRotation(25),
    "shift 15%": T.RandomAffine(0, translate=(0.15, 0.15)),
    "zoom 0.7-1.2": T.RandomAffine(0, scale=(0.7, 1.2)),
    "crop, pad 4": T.RandomCrop(28, padding=4),
    "h-flip (bad here)": T.RandomHorizontalFlip(p=1.0),
    "noise std 0.2": T.GaussianNoise(std=0.2),
    "brightness/contrast": T.ColorJitter(brightness=0.5, contrast=0.5),
}
TRAINING_AUGMENTATION = T.Compose([T.ToTensor(), T.RandomAffine(12, translate=(0.1, 0.1), scale=(0.9, 1.1))])


def small_net():
    """784 -> 128 -> 10: a network with no built-in notion of shifts or rotations,
    so everything it knows about them comes from the data."""
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))


def train_and_test(train_images, test_set, augment, epochs, seed=0):
    gradlite.manual_seed(seed)
    train_set = MNISTSmall(train=True, transform=TRAINING_AUGMENTATION if augment else T.ToTensor())
    train_set = Subset(train_set, train_images)
    model = small_net()
    fit(model, DataLoader(train_set, batch_size=32, shuffle=True), nn.CrossEntropyLoss(),
        optim.Adam(model.parameters(), lr=3e-3), epochs, progress=False)
    return evaluate(model, DataLoader(test_set, batch_size=500))["accuracy"]


def main(argv=None):
    parser = argparse.ArgumentParser(description="Augmentations on a digit, and what they buy.")
    parser.add_argument("--train-size", type=int, help="training digits (default 300, 1000 with --full)")
    parser.add_argument("--test-size", type=int, default=1000, help="test digits")
    parser.add_argument("--epochs", type=int, help="default 20 (60 with --full)")
    parser.add_argument("--full", action="store_true", help="more digits, more epochs")
    parser.add_argument("--out", default="examples_output", help="folder for augmentation.png")
    args = parser.parse_args(argv)
    train_size = args.train_size or (1000 if args.full else 300)
    epochs = args.epochs or (60 if args.full else 20)

    gradlite.manual_seed(0)
    digit, label = MNISTSmall(train=False, transform=T.ToTensor())[0]
    grid = {name: np.stack([t(digit) for _ in range(6)]) for name, t in SHOWN.items()}
    print(f"part 1: digit {label} under {len(SHOWN)} augmentations: " + ", ".join(SHOWN))
    _plot(digit, grid, Path(args.out))

    rng = np.random.default_rng(0)
    train_images = rng.permutation(10000)[:train_size]
    test_all = MNISTSmall(train=False, transform=T.ToTensor())
    test_set = Subset(test_all, rng.permutation(len(test_all))[:args.test_size])
    print(f"\npart 2: 784-128-10 network, {train_size} training digits, {epochs} epochs, "
          f"{len(test_set)} test digits")
    plain = train_and_test(train_images, test_set, False, epochs)
    print(f"  without augmentation: test accuracy {plain:.4f}")
    augmented = train_and_test(train_images, test_set, True, epochs)
    print(f"  with augmentation:    test accuracy {augmented:.4f}")
    print(f"  gain: {100 * (augmented - plain):+.1f} points")
    return {"plain": plain, "augmented": augmented}


def _plot(digit, grid, out):
    try:
        from matplotlib.figure import Figure
    except ImportError:
        print("(matplotlib is not installed: no picture)")
        return
    out.mkdir(parents=True, exist_ok=True)
    columns = 7
    fig = Figure(figsize=(columns * 1.2, len(grid) * 1.25))
    for row, (name, images) in enumerate(grid.items()):
        for col in range(columns):
            ax = fig.add_subplot(len(grid), columns, row * columns + col + 1)
            picture = digit if col == 0 else images[col - 1]
            ax.imshow(picture[0], cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if col == 0:
                ax.set_ylabel(name, rotation=0, ha="right", va="center", fontsize=9)
    fig.suptitle("original (left) and six random draws of each augmentation")
    fig.tight_layout()
    fig.savefig(out / "augmentation.png")
    print(f"picture: {out / 'augmentation.png'}")


if __name__ == "__main__":
    main()

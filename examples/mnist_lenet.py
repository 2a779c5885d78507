"""LeNet-5 on MNIST, and what its mistakes look like.

LeNet-5 (LeCun et al., 1998) is the classic small convolutional network:

    28x28 -> conv 5x5 (6 maps, padding 2) -> max-pool 2 -> conv 5x5 (16 maps)
          -> max-pool 2 -> 16x5x5 = 400 -> dense 120 -> dense 84 -> dense 10

(with ReLU and max pooling, as it is usually trained today; ``gradlite.models.lenet5``
builds the same network). Convolutions share their weights across the image, so it
has about a tenth of the MLP's parameters and still does better.

Accuracy alone hides which digits get confused. After training, the script prints
the confusion matrix (row = true digit, column = prediction) and the per-class
precision (of the images predicted as d, the fraction that are d) and recall (of the
images that are d, the fraction found), and saves the matrix as a picture.

    python examples/mnist_lenet.py [--full] [--data-dir DIR] [--out DIR]
"""
import argparse
from pathlib import Path

import numpy as np

import gradlite
from gradlite import nn, optim
from gradlite.data import DataLoader, Subset, transforms
from gradlite.data.datasets import MNIST, MNISTSmall
from gradlite.metrics import classification_report, confusion_matrix, plot_confusion_matrix
from gradlite.train import fit, predict


def lenet5():
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),    # 6 x 14 x 14
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),              # 16 x 5 x 5
        nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(),
        nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, 10),
    )


def subset(dataset, n, seed=0):
    if n is None or n >= len(dataset):
        return dataset
    return Subset(dataset, np.random.default_rng(seed).permutation(len(dataset))[:n])


def main(argv=None):
    parser = argparse.ArgumentParser(description="LeNet-5 on MNIST with a confusion matrix.")
    parser.add_argument("--full", action="store_true", help="all training images, 10 epochs")
    parser.add_argument("--data-dir", help="folder with the MNIST IDX files (default: the bundled subset)")
    parser.add_argument("--epochs", type=int, help="default 2 (10 with --full)")
    parser.add_argument("--train-size", type=int, help="training images (default 1500, all with --full)")
    parser.add_argument("--test-size", type=int, help="test images (default 500, all with --full)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--out", default="examples_output", help="folder for mnist_lenet.png")
    args = parser.parse_args(argv)
    epochs = args.epochs or (10 if args.full else 2)
    train_size = args.train_size or (None if args.full else 1500)
    test_size = args.test_size or (None if args.full else 500)
    gradlite.manual_seed(0)

    if args.data_dir:
        train_set, test_set = MNIST(args.data_dir, train=True), MNIST(args.data_dir, train=False)
    else:
        train_set, test_set = MNISTSmall(train=True, transform=transforms.ToTensor()), MNISTSmall(train=False, transform=transforms.ToTensor())
    train_set, test_set = subset(train_set, train_size), subset(test_set, test_size)
    model = lenet5()
    print(f"LeNet-5: {sum(p.numel() for p in model.parameters()):,} parameters; "
          f"{len(train_set)} training digits, {len(test_set)} test digits, {epochs} epochs")

    fit(model, DataLoader(train_set, batch_size=args.batch_size, shuffle=True),
        nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=2e-3), epochs)

    test_loader = DataLoader(test_set, batch_size=500)
    predicted = predict(model, test_loader)
    truth = np.concatenate([y.numpy() for _, y in test_loader])
    cm = confusion_matrix(predicted, truth, num_classes=10)
    print(f"\ntest accuracy: {np.mean(predicted == truth):.4f}")
    print("\nconfusion matrix (rows: true digit, columns: predicted digit)")
    print("     " + "".join(f"{d:>5}" for d in range(10)))
    for d, row in enumerate(cm):
        print(f"{d:>5}" + "".join(f"{int(n):>5}" for n in row))
    print()
    print(classification_report(predicted, truth, num_classes=10))

    try:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        path = plot_confusion_matrix(cm, out / "mnist_lenet.png", title="LeNet-5 on MNIST")
        print(f"picture: {path}")
    except ImportError:
        print("(matplotlib is not installed: no picture)")
    return {"accuracy": float(np.mean(predicted == truth)), "confusion_matrix": cm}


if __name__ == "__main__":
    main()

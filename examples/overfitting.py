"""Overfitting, seen on the curves, and two standard cures: dropout and early stopping.

A network with far more parameters than training examples can memorise them: the
training loss keeps falling towards zero while the validation loss (on digits it
never trains on) stops falling and then rises again. The gap between the two curves
is overfitting.

The script trains the same 784-128-128-10 network on a few hundred MNIST digits
three times:

1. plain: it overfits;
2. with dropout (p = 0.5 after each hidden layer): during training every hidden unit
   is zeroed with probability 0.5 (and the rest scaled by 2), so the network cannot
   rely on any single unit; at evaluation (``model.eval()``) dropout is switched off;
3. with dropout and early stopping: ``EarlyStopping(patience=5)`` stops when the
   validation loss has not improved for 5 epochs and restores the best weights.

It prints the best and the final validation loss of each run and plots the
training and validation curves.

    python examples/overfitting.py [--epochs 25] [--full] [--out DIR]
"""
import argparse
from pathlib import Path

import numpy as np

import gradlite
from gradlite import nn, optim
from gradlite.data import DataLoader, Subset, transforms
from gradlite.data.datasets import MNISTSmall
from gradlite.train import EarlyStopping, evaluate, fit


def build_model(dropout):
    layers = [nn.Flatten(), nn.Linear(784, 128), nn.ReLU()]
    layers += [nn.Dropout(dropout)] if dropout else []
    layers += [nn.Linear(128, 128), nn.ReLU()]
    layers += [nn.Dropout(dropout)] if dropout else []
    return nn.Sequential(*layers, nn.Linear(128, 10))


def main(argv=None):
    parser = argparse.ArgumentParser(description="Overfitting, dropout and early stopping.")
    parser.add_argument("--epochs", type=int, help="maximum epochs (default 25, 60 with --full)")
    parser.add_argument("--train-size", type=int, default=300, help="training digits")
    parser.add_argument("--val-size", type=int, default=500, help="validation digits")
    parser.add_argument("--full", action="store_true", help="60 epochs")
    parser.add_argument("--out", default="examples_output", help="folder for overfitting.png")
    args = parser.parse_args(argv)
    epochs = args.epochs or (60 if args.full else 25)

    rng = np.random.default_rng(0)
    train_all, test_all = (MNISTSmall(train=train, transform=transforms.ToTensor()) for train in (True, False))
    train_set = Subset(train_all, rng.permutation(len(train_all))[:args.train_size])
    val_set = Subset(test_all, rng.permutation(len(test_all))[:args.val_size])
    val_loader = DataLoader(val_set, batch_size=500)
    print(f"{len(train_set)} training digits, {len(val_set)} validation digits, "
          f"up to {epochs} epochs")

    runs = {"plain": (0.0, False), "dropout": (0.5, False), "dropout + early stopping": (0.5, True)}
    histories = {}
    print(f"{'run':<26}{'epochs':>7}{'train loss':>12}{'best val loss':>15}{'final val loss':>16}"
          f"{'val accuracy':>14}")
    for name, (p, early) in runs.items():
        gradlite.manual_seed(0)                  # the same initial weights and batches for all
        model = build_model(p)
        stopper = EarlyStopping(monitor="val_loss", patience=5, restore_best=True)
        history = fit(model, DataLoader(train_set, batch_size=32, shuffle=True),
                      nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=1e-3), epochs,
                      val_loader=val_loader, callbacks=[stopper] if early else [],
                      progress=False)
        histories[name] = history
        final = evaluate(model, val_loader, nn.CrossEntropyLoss())   # restored best, if early
        print(f"{name:<26}{history.epochs:>7}{history['loss'][-1]:>12.4f}"
              f"{min(history['val_loss']):>15.4f}{final['loss']:>16.4f}{final['accuracy']:>14.4f}")

    _plot(histories, Path(args.out))
    return {name: min(h["val_loss"]) for name, h in histories.items()}


def _plot(histories, out):
    try:
        from matplotlib.figure import Figure
    except ImportError:
        print("(matplotlib is not installed: no picture)")
        return
    out.mkdir(parents=True, exist_ok=True)
    fig = Figure(figsize=(5 * len(histories), 3.8))
    for k, (name, history) in enumerate(histories.items()):
        ax = fig.add_subplot(1, len(histories), k + 1)
        epochs = np.arange(1, history.epochs + 1)
        ax.plot(epochs, history["loss"], label="training loss")
        ax.plot(epochs, history["val_loss"], label="validation loss")
        ax.set(xlabel="epoch", title=name, ylim=(0, max(2.5, min(history["val_loss"]) * 2)))
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(out / "overfitting.png")
    print(f"picture: {out / 'overfitting.png'}")


if __name__ == "__main__":
    main()

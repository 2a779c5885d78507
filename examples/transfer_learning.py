"""Transfer learning: reuse what a network learned on one task for another.

The early layers of a CNN learn general things (strokes, edges, curves); only the last
layer is specific to the classes it was trained on. So:

1. train a small CNN on the digits 0-4 (plenty of examples);
2. freeze its convolutional layers (``features.requires_grad_(False)``: no gradients,
   no updates) and replace its head, a Linear layer for 0-4, with a fresh one for 5-9;
3. fine-tune only the new head on very few examples of 5-9 (5 per class by default);
4. compare with the same CNN trained from scratch on those same few examples.

With few examples the borrowed features tend to win, and the fewer the examples the
larger the gap (try ``--shots 3`` and ``--shots 20``): the from-scratch network has
to learn its edge detectors from a handful of images, the transferred one only has
to learn which of the existing features mean "5", "6", ... . On a task this easy
the margin is a few points and varies with the seed.

    python examples/transfer_learning.py [--shots 5] [--full] [--out DIR]
"""
import argparse
from pathlib import Path

import numpy as np

import gradlite
from gradlite import nn, optim
from gradlite.data import DataLoader, Subset
from gradlite.data.transforms import ToTensor
from gradlite.data.datasets import MNISTSmall
from gradlite.train import evaluate, fit


def build_cnn():
    features = nn.Sequential(
        nn.Conv2d(1, 8, 5), nn.ReLU(), nn.MaxPool2d(2),      # 8 x 12 x 12
        nn.Conv2d(8, 16, 5), nn.ReLU(), nn.MaxPool2d(2),     # 16 x 4 x 4
        nn.Flatten(),                                        # 256
    )
    return nn.Sequential(features, nn.Linear(256, 5))        # [0] features, [1] head


def pick(dataset, digits, per_class, rng):
    """Indices of ``per_class`` random images of each digit in ``digits``."""
    return np.concatenate([rng.permutation(np.flatnonzero(dataset.targets == d))[:per_class]
                           for d in digits])


def train(model, dataset, epochs, params, lr=3e-3):
    fit(model, DataLoader(dataset, batch_size=32, shuffle=True), nn.CrossEntropyLoss(),
        optim.Adam(params, lr=lr), epochs, progress=False)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Train on 0-4, transfer to 5-9 with few examples.")
    parser.add_argument("--pretrain-per-class", type=int, help="images per digit 0-4 (default 200, 1000 with --full)")
    parser.add_argument("--pretrain-epochs", type=int, help="default 2 (5 with --full)")
    parser.add_argument("--shots", type=int, default=5, help="training images per digit 5-9")
    parser.add_argument("--finetune-epochs", type=int, default=40)
    parser.add_argument("--test-per-class", type=int, default=100, help="test images per digit 5-9")
    parser.add_argument("--full", action="store_true", help="pretrain longer on more digits")
    parser.add_argument("--out", default="examples_output", help="folder for transfer_learning.png")
    args = parser.parse_args(argv)
    per_class = args.pretrain_per_class or (1000 if args.full else 200)
    pretrain_epochs = args.pretrain_epochs or (5 if args.full else 2)
    rng = np.random.default_rng(0)
    gradlite.manual_seed(0)

    train_low = MNISTSmall(train=True, transform=ToTensor())  # labels 0-4 as they are
    # labels 5-9 as 0-4
    train_high = MNISTSmall(train=True, transform=ToTensor(), target_transform=lambda y: y - 5)
    test_high = MNISTSmall(train=False, transform=ToTensor(), target_transform=lambda y: y - 5)
    pretrain_set = Subset(train_low, pick(train_low, range(5), per_class, rng))
    few_shot_set = Subset(train_high, pick(train_high, range(5, 10), args.shots, rng))
    test_set = Subset(test_high, pick(test_high, range(5, 10), args.test_per_class, rng))
    test_loader = DataLoader(test_set, batch_size=500)

    model = build_cnn()
    train(model, pretrain_set, pretrain_epochs, model.parameters())
    test_low = MNISTSmall(train=False, transform=ToTensor())
    source = Subset(test_low, pick(test_low, range(5), 100, rng))
    print(f"1. trained on {len(pretrain_set)} digits 0-4: accuracy on test 0-4 "
          f"{evaluate(model, DataLoader(source, batch_size=500))['accuracy']:.4f}")

    features = model[0]
    features.requires_grad_(False)                # frozen: no gradients, no updates
    model[1] = nn.Linear(256, 5)                  # a fresh head for 5-9
    trainable = [p for p in model.parameters() if p.requires_grad]
    print(f"2. froze the conv layers; trainable parameters: {sum(p.numel() for p in trainable)} "
          f"of {sum(p.numel() for p in model.parameters())}")
    train(model, few_shot_set, args.finetune_epochs, trainable)
    transfer = evaluate(model, test_loader)["accuracy"]
    print(f"3. fine-tuned the head on {len(few_shot_set)} digits 5-9 ({args.shots} per class): "
          f"test accuracy on 5-9 {transfer:.4f}")

    gradlite.manual_seed(1)
    scratch_model = build_cnn()
    train(scratch_model, few_shot_set, args.finetune_epochs, scratch_model.parameters())
    scratch = evaluate(scratch_model, test_loader)["accuracy"]
    print(f"4. the same CNN from scratch on the same {len(few_shot_set)} digits: "
          f"test accuracy on 5-9 {scratch:.4f}")
    print(f"transfer learning vs from scratch: {transfer:.4f} vs {scratch:.4f}")

    _plot(transfer, scratch, len(few_shot_set), Path(args.out))
    return {"transfer": transfer, "scratch": scratch}


def _plot(transfer, scratch, n, out):
    try:
        from matplotlib.figure import Figure
    except ImportError:
        print("(matplotlib is not installed: no picture)")
        return
    out.mkdir(parents=True, exist_ok=True)
    fig = Figure(figsize=(4.5, 3.5))
    ax = fig.add_subplot()
    bars = ax.bar(["transferred\nfeatures", "from\nscratch"], [transfer, scratch],
                  color=["tab:green", "tab:gray"])
    ax.bar_label(bars, fmt="%.3f")
    ax.set(ylim=(0, 1), ylabel="test accuracy on 5-9", title=f"trained on {n} digits 5-9")
    fig.tight_layout()
    fig.savefig(out / "transfer_learning.png")
    print(f"picture: {out / 'transfer_learning.png'}")


if __name__ == "__main__":
    main()

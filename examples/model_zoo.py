"""Three ideas from the ImageNet years, shrunk to fit 28x28 digits.

* VGG-style (2014): only 3x3 convolutions, stacked two at a time before each 2x2 max
  pool. Two 3x3 layers see a 5x5 patch with fewer weights than one 5x5 layer and
  have an extra non-linearity in between.
* ResNet-style (2015): residual blocks compute y = relu(x + F(x)), where F is two
  3x3 conv + BatchNorm layers. The identity path lets gradients flow straight back
  through deep stacks; when a block halves the size or changes the channel count, the
  shortcut becomes a 1x1 convolution with stride 2. Global average pooling
  (``AdaptiveAvgPool2d(1)``) replaces big dense layers at the end.
* Inception-style (GoogLeNet, 2014): each module runs parallel branches (1x1; 1x1 then
  3x3; 1x1 then 5x5; 3x3 max pool then 1x1) on the same input and concatenates their
  outputs along the channel axis (``gradlite.cat(..., dim=1)``), letting the network
  use several receptive-field sizes at once; the 1x1 convolutions keep it cheap.

Each is trained briefly on the bundled MNIST subset; the script prints its
parameter count, training time and test accuracy. The quick default (a few hundred
images, one epoch) only shows that everything runs and learns something; use
``--full`` for numbers worth comparing.

    python examples/model_zoo.py [--train-size 500] [--epochs 1] [--full] [--out DIR]
"""
import argparse
import time
from pathlib import Path

import numpy as np

import gradlite
from gradlite import nn, optim
from gradlite.data import DataLoader, Subset, transforms
from gradlite.data.datasets import MNISTSmall
from gradlite.train import evaluate, fit


def vgg_style(num_classes=10):
    def block(c_in, c_out):
        return [nn.Conv2d(c_in, c_out, 3, padding=1), nn.ReLU(),
                nn.Conv2d(c_out, c_out, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]
    return nn.Sequential(*block(1, 8), *block(8, 16),                  # 16 x 7 x 7
                         nn.Flatten(), nn.Linear(16 * 7 * 7, 64), nn.ReLU(),
                         nn.Linear(64, num_classes))


class ResidualBlock(nn.Module):
    """y = relu(shortcut(x) + bn(conv(relu(bn(conv(x))))))."""

    def __init__(self, c_in, c_out, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut = nn.Identity()
        if stride != 1 or c_in != c_out:            # match the shape of F(x)
            self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False),
                                          nn.BatchNorm2d(c_out))

    def forward(self, x):
        out = self.bn1(self.conv1(x)).relu()
        out = self.bn2(self.conv2(out))
        return (out + self.shortcut(x)).relu()


def resnet_style(num_classes=10):
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(),
        nn.MaxPool2d(2),                              # 8 x 14 x 14
        ResidualBlock(8, 8),                          # 8 x 14 x 14
        ResidualBlock(8, 16, stride=2),               # 16 x 7 x 7
        ResidualBlock(16, 32, stride=2),              # 32 x 4 x 4
        nn.AdaptiveAvgPool2d(1), nn.Flatten(),        # global average pooling: 32
        nn.Linear(32, num_classes),
    )


class InceptionModule(nn.Module):
    """Four parallel branches, concatenated along channels."""

    def __init__(self, c_in, c1, c3, c5, c_pool):
        super().__init__()
        self.branch1 = nn.Sequential(nn.Conv2d(c_in, c1, 1), nn.ReLU())
        self.branch3 = nn.Sequential(nn.Conv2d(c_in, c3 // 2, 1), nn.ReLU(),
                                     nn.Conv2d(c3 // 2, c3, 3, padding=1), nn.ReLU())
        self.branch5 = nn.Sequential(nn.Conv2d(c_in, c5 // 2, 1), nn.ReLU(),
                                     nn.Conv2d(c5 // 2, c5, 5, padding=2), nn.ReLU())
        self.branch_pool = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1),
                                         nn.Conv2d(c_in, c_pool, 1), nn.ReLU())
        self.out_channels = c1 + c3 + c5 + c_pool

    def forward(self, x):
        branches = [self.branch1(x), self.branch3(x), self.branch5(x), self.branch_pool(x)]
        return gradlite.cat(branches, dim=1)


def inception_style(num_classes=10):
    first = InceptionModule(8, 4, 8, 4, 4)            # 8 -> 20 channels
    second = InceptionModule(first.out_channels, 8, 16, 8, 8)   # 20 -> 40 channels
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),   # 8 x 14 x 14
        first, nn.MaxPool2d(2),                                        # 20 x 7 x 7
        second,                                                        # 40 x 7 x 7
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(second.out_channels, num_classes),
    )


MODELS = {"VGG-style": vgg_style, "ResNet-style": resnet_style, "Inception-style": inception_style}


def main(argv=None):
    parser = argparse.ArgumentParser(description="Small VGG, ResNet and Inception networks on MNIST.")
    parser.add_argument("--train-size", type=int, help="training digits (default 500, 10000 with --full)")
    parser.add_argument("--test-size", type=int, help="test digits (default 500, 2000 with --full)")
    parser.add_argument("--epochs", type=int, help="default 1 (5 with --full)")
    parser.add_argument("--models", nargs="+", choices=list(MODELS), default=list(MODELS))
    parser.add_argument("--full", action="store_true", help="the whole subset, 5 epochs")
    parser.add_argument("--out", default="examples_output", help="folder for model_zoo.png")
    args = parser.parse_args(argv)
    train_size = args.train_size or (10000 if args.full else 500)
    test_size = args.test_size or (2000 if args.full else 500)
    epochs = args.epochs or (5 if args.full else 1)

    rng = np.random.default_rng(0)
    train_all, test_all = (MNISTSmall(train=train, transform=transforms.ToTensor()) for train in (True, False))
    train_set = Subset(train_all, rng.permutation(len(train_all))[:train_size])
    test_set = Subset(test_all, rng.permutation(len(test_all))[:test_size])
    print(f"{len(train_set)} training digits, {len(test_set)} test digits, {epochs} epoch(s)")
    print(f"{'model':<16}{'parameters':>11}{'seconds':>9}{'test accuracy':>15}")
    results = {}
    for name in args.models:
        gradlite.manual_seed(0)
        model = MODELS[name]()
        start = time.perf_counter()
        fit(model, DataLoader(train_set, batch_size=32, shuffle=True), nn.CrossEntropyLoss(),
            optim.Adam(model.parameters(), lr=3e-3), epochs, progress=False)
        seconds = time.perf_counter() - start
        accuracy = evaluate(model, DataLoader(test_set, batch_size=250))["accuracy"]
        n_params = sum(p.numel() for p in model.parameters())
        results[name] = {"parameters": n_params, "seconds": seconds, "accuracy": accuracy}
        print(f"{name:<16}{n_params:>11,}{seconds:>9.1f}{accuracy:>15.4f}")

    _plot(results, Path(args.out))
    return results


def _plot(results, out):
    try:
        from matplotlib.figure import Figure
    except ImportError:
        print("(matplotlib is not installed: no picture)")
        return
    out.mkdir(parents=True, exist_ok=True)
    fig = Figure(figsize=(6, 3.5))
    ax = fig.add_subplot()
    for name, r in results.items():
        ax.scatter(r["parameters"], r["accuracy"], s=60)
        ax.annotate(name, (r["parameters"], r["accuracy"]), textcoords="offset points", xytext=(6, 4))
    ax.set(xscale="log", xlabel="parameters", ylabel="test accuracy", ylim=(0, 1),
           title="small networks after brief training")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out / "model_zoo.png")
    print(f"picture: {out / 'model_zoo.png'}")


if __name__ == "__main__":
    main()

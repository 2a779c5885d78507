"""What DataLoader worker processes buy on an augmentation-heavy epoch.

    python -m benchmarks.bench_workers [--images 4000] [--repeats 3] [--workers 0 1 2]

The dataset reads MNIST digits one at a time and augments each in Python, as a
torchvision-style pipeline does (``ToTensor``, ``RandomAffine``, ``GaussianNoise``,
``Normalize`` per image). Two workloads per worker count: the loading alone (one
epoch of batches of 64), and loading plus a LeNet-5 training step per batch (where
workers overlap loading with training). Runs of the settings are interleaved and
the table shows medians in seconds, and images per second.
"""
import argparse
import statistics
import time

import numpy as np

import gradlite
from gradlite import nn, optim
from gradlite.data import DataLoader, Dataset, datasets, transforms
from gradlite.models import lenet5


class AugmentedDigits(Dataset):
    """The first ``n`` bundled training digits, augmented one by one in ``__getitem__``."""

    def __init__(self, n):
        mnist = datasets.MNISTSmall(train=True)
        self.images, self.labels = mnist.data[:n], mnist.targets[:n]
        self.augment = transforms.Compose([
            transforms.ToTensor(),
            transforms.RandomAffine(15, translate=(0.1, 0.1), scale=(0.9, 1.1)),
            transforms.GaussianNoise(0.05),
            transforms.Normalize((0.1307,), (0.3081,))])

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        return self.augment(self.images[i]), int(self.labels[i])


def epoch(loader, model=None, optimizer=None):
    start = time.perf_counter()
    for images, labels in loader:
        if model is not None:
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(images), labels).backward()
            optimizer.step()
    return time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=4000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args(argv)
    gradlite.manual_seed(0)
    data = AugmentedDigits(args.images)
    model = lenet5()
    optimizer = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loaders = {n: DataLoader(data, batch_size=64, shuffle=True, num_workers=n,
                             persistent_workers=n > 0) for n in args.workers}
    times = {(n, train): [] for n in args.workers for train in (False, True)}
    for _ in range(args.repeats):
        for (n, train), runs in times.items():
            runs.append(epoch(loaders[n], *((model, optimizer) if train else ())))
    print(f"DataLoader workers, augmentation-heavy epoch ({args.images} MNIST digits, "
          f"per-image ToTensor + RandomAffine + GaussianNoise + Normalize, batch 64), "
          f"median of {args.repeats}:\n")
    print("| workload | num_workers | epoch (s) | images/s | vs num_workers=0 |")
    print("|---|---|---|---|---|")
    for train in (False, True):
        base = statistics.median(times[(args.workers[0], train)])
        for n in args.workers:
            t = statistics.median(times[(n, train)])
            print(f"| {'load + LeNet-5 step' if train else 'load only'} | {n} | {t:.2f} | "
                  f"{args.images / t:.0f} | {base / t:.2f}x |")


if __name__ == "__main__":
    main()

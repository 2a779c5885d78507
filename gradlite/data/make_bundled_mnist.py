"""Build gradlite/data/_bundled/mnist_small.npz, the MNIST subset shipped with gradlite.

    python -m gradlite.data.make_bundled_mnist --source ../shared/data/mnist

Takes, in file order, the first 1,000 images of each digit from the official training
file and the first 200 of each digit from the official test file (10,000 + 2,000
class-balanced images; no randomness, so rebuilding gives the same arrays), and stores
them as uint8 with their positions in the original files (``train_index``,
``test_index``) in a compressed npz.

MNIST: Y. LeCun, C. Cortes, C. J. C. Burges, http://yann.lecun.com/exdb/mnist/ (CC BY-SA 3.0).
"""
import argparse
from pathlib import Path

import numpy as np

from .datasets import BUNDLED_MNIST, MNIST


def first_per_class(labels, per_class):
    """Positions of the first ``per_class`` samples of every class, in file order."""
    rank_in_class = np.zeros(len(labels), dtype=np.int64)
    for digit in np.unique(labels):
        where = np.flatnonzero(labels == digit)
        if len(where) < per_class:
            raise ValueError(f"only {len(where)} samples of class {digit}, need {per_class}")
        rank_in_class[where] = np.arange(len(where))
    return np.flatnonzero(rank_in_class < per_class)


def build(source, output=BUNDLED_MNIST, train_per_class=1000, test_per_class=200):
    arrays = {}
    for split, train, per_class in (("train", True, train_per_class), ("test", False, test_per_class)):
        full = MNIST(source, train=train)
        keep = first_per_class(full.targets, per_class)
        arrays[f"x_{split}"] = full.data[keep]
        arrays[f"y_{split}"] = full.targets[keep].astype(np.uint8)
        arrays[f"{split}_index"] = keep.astype(np.int32)
    Path(output).parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(output, **arrays)
    return Path(output)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", required=True, help="folder with the four MNIST IDX files")
    parser.add_argument("--output", default=str(BUNDLED_MNIST), help="npz file to write")
    args = parser.parse_args(argv)
    try:
        path = build(args.source, args.output)
    except (OSError, ValueError) as err:  # missing or damaged files
        parser.exit(1, f"make_bundled_mnist: {err}\n")
    print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()

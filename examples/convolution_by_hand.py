"""Convolution and max pooling, first by hand on the lecture's numbers, then on a digit.

A convolution layer slides a small filter over the image; at each position it
multiplies the filter with the patch under it and adds the products (strictly, a
cross-correlation: the filter is not flipped). A 3x3 filter on a 5x5 image, stride 1,
no padding, gives a 3x3 output. For the top-left position of the lecture's quiz:

    1 1 1     1 0 1
    0 1 1  *  0 1 0   ->  1 + 1 + 1 + 1 = 4
    0 0 1     1 0 1

Max pooling 2x2 with stride 2 keeps the largest number of each 2x2 block, halving the
height and width.

Then three classic filters are applied to an MNIST digit with ``F.conv2d`` (all three
at once: a weight of shape (3, 1, 3, 3) is three output channels), and the feature
maps are saved as an image grid:

* sharpen      [[0,-1,0],[-1,5,-1],[0,-1,0]]     the pixel minus its neighbours' excess
* edge detect  [[0,1,0],[1,-4,1],[0,1,0]]        the Laplacian: zero on flat regions
* strong edge  [[-1,-1,-1],[-1,8,-1],[-1,-1,-1]]  the Laplacian with diagonals

    python examples/convolution_by_hand.py [--index 0] [--out DIR]
"""
import argparse
from pathlib import Path

import numpy as np

import gradlite
import gradlite.nn.functional as F
from gradlite.data.datasets import MNISTSmall
from gradlite.data.transforms import ToTensor

IMAGE = [[1, 1, 1, 0, 0],
         [0, 1, 1, 1, 0],
         [0, 0, 1, 1, 1],
         [0, 0, 1, 1, 0],
         [0, 1, 1, 0, 0]]
FILTER = [[1, 0, 1],
          [0, 1, 0],
          [1, 0, 1]]
POOL_INPUT = [[12, 20, 30, 0],
              [8, 12, 2, 0],
              [34, 70, 37, 4],
              [112, 100, 25, 12]]
FILTERS = {"sharpen": [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
           "edge detect": [[0, 1, 0], [1, -4, 1], [0, 1, 0]],
           "strong edge": [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]]}


def conv_by_loops(image, kernel):
    """The definition, written out: out[i, j] = sum_{a,b} image[i+a, j+b] * kernel[a, b]."""
    image, kernel = np.asarray(image, float), np.asarray(kernel, float)
    kh, kw = kernel.shape
    out = np.zeros((image.shape[0] - kh + 1, image.shape[1] - kw + 1))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = np.sum(image[i:i + kh, j:j + kw] * kernel)
    return out


def as_4d(rows):
    """A 2-d list as a (1, 1, H, W) float32 tensor: batch of one, one channel."""
    return gradlite.tensor(np.asarray(rows, np.float32)[None, None])


def main(argv=None):
    parser = argparse.ArgumentParser(description="Convolution and pooling by hand, then filters on a digit.")
    parser.add_argument("--index", type=int, default=0, help="which MNISTSmall test digit")
    parser.add_argument("--out", default="examples_output", help="folder for convolution_by_hand.png")
    parser.add_argument("--full", action="store_true", help="(no long version; accepted for uniformity)")
    args = parser.parse_args(argv)

    conv = F.conv2d(as_4d(IMAGE), as_4d(FILTER)).numpy()[0, 0]
    print("5x5 image * 3x3 filter (F.conv2d):")
    print(conv.astype(int))
    assert np.array_equal(conv, conv_by_loops(IMAGE, FILTER)), "conv2d disagrees with the loops"
    print("(the same as the explicit loops in conv_by_loops)")

    pooled = F.max_pool2d(as_4d(POOL_INPUT), 2).numpy()[0, 0]
    print("\n2x2 max pooling, stride 2 (F.max_pool2d):")
    print(pooled.astype(int))

    digits = MNISTSmall(train=False, transform=ToTensor())
    image, label = digits[args.index]                       # float32 (1, 28, 28) in [0, 1]
    weight = gradlite.tensor(np.array(list(FILTERS.values()), np.float32)[:, None])  # (3, 1, 3, 3)
    maps = F.conv2d(gradlite.tensor(image[None]), weight, padding=1).numpy()[0]       # (3, 28, 28)
    print(f"\nfilters on MNISTSmall test digit #{args.index} (a {label}), padding 1 keeps 28x28:")
    for name, m in zip(FILTERS, maps):
        print(f"  {name:<12} min {m.min():6.2f}  max {m.max():6.2f}  mean |x| {np.abs(m).mean():.3f}")

    _plot(image[0], label, maps, Path(args.out))
    return {"conv": conv, "pooled": pooled}


def _plot(image, label, maps, out):
    try:
        from matplotlib.figure import Figure
    except ImportError:
        print("(matplotlib is not installed: no picture)")
        return
    out.mkdir(parents=True, exist_ok=True)
    fig = Figure(figsize=(10, 2.8))
    panels = [(f"digit {label}", image)] + list(zip(FILTERS, maps))
    for k, (title, picture) in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), k + 1)
        ax.imshow(picture, cmap="gray")
        ax.set_title(title)
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(out / "convolution_by_hand.png")
    print(f"picture: {out / 'convolution_by_hand.png'}")


if __name__ == "__main__":
    main()

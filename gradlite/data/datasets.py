"""Image datasets: MNIST and Fashion-MNIST from their IDX files, a bundled MNIST subset,
and the generated "X or O" set.

All of them keep the images as uint8 arrays ``.data`` (N, H, W) and the labels as int64
``.targets`` (N,), like torchvision.  ``dataset[i]`` returns ``(image, label)`` as
torchvision's do: the image the uint8 array (H, W) and the label an int, after
``transform`` and ``target_transform`` (``transforms.ToTensor()`` makes the image float32
(1, H, W) in [0, 1]).  ``dataset.__getitems__(indices)`` returns a whole batch at once,
transformed per batch, which is what ``DataLoader`` uses.

Data attribution: the MNIST database of handwritten digits is by Yann LeCun, Corinna
Cortes and Christopher J. C. Burges (http://yann.lecun.com/exdb/mnist/), available
under the Creative Commons Attribution-Share Alike 3.0 license (CC BY-SA 3.0).
``MNISTSmall`` ships a subset of it (see ``_bundled/README``).  Fashion-MNIST is by
Zalando Research (Han Xiao, Kashif Rasul, Roland Vollgraf), MIT license.
"""
from pathlib import Path

import numpy as np

from .dataset import Dataset
from .download import DownloadError, download
from .idx import DataFileError, read_idx
from .transforms import affine, apply_transform

BUNDLED_MNIST = Path(__file__).parent / "_bundled" / "mnist_small.npz"


class ImageArrayDataset(Dataset):
    """Images (N, H, W) or (N, H, W, C) as uint8 and integer labels held in memory.

    As torchvision's datasets: ``dataset[i]`` is ``(image, label)`` with the image the
    uint8 array (H, W) (or (H, W, C)) and the label an int, each passed through
    ``transform`` / ``target_transform`` when given; ``transforms.ToTensor()`` turns
    the image into float32 (C, H, W) in [0, 1].
    """

    def __init__(self, data, targets, transform=None, target_transform=None):
        if len(data) != len(targets):
            raise ValueError(f"{type(self).__name__}: {len(data)} images but "
                             f"{len(targets)} labels")
        self.data = np.asarray(data)
        if self.data.ndim not in (3, 4):
            raise ValueError(f"{type(self).__name__}: images must be (N, H, W) or "
                             f"(N, H, W, C), got shape {self.data.shape}")
        self.targets = np.asarray(targets, dtype=np.int64)
        self.transform = transform
        self.target_transform = target_transform

    def __len__(self):
        return len(self.data)

    def __getitems__(self, indices):
        """The batch at ``indices`` in one step: what collating ``dataset[i]`` for each i
        gives (uint8 images, or ``transform``'s output; int64 labels)."""
        images = apply_transform(self.transform, self.data[indices])
        return images, apply_transform(self.target_transform, self.targets[indices])

    def __getitem__(self, index):
        if isinstance(index, (slice, list, np.ndarray)):
            return self.__getitems__(index)
        image, label = self.data[index], int(self.targets[index])
        if self.transform is not None:
            image = self.transform(image)
        if self.target_transform is not None:
            label = self.target_transform(label)
        return image, label

    def __repr__(self):
        return (f"{type(self).__name__}({len(self)} images of shape "
                f"{self.data.shape[1:]}, {len(np.unique(self.targets))} classes)")


def _files(train):
    prefix = "train" if train else "t10k"
    return f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"


class MNIST(ImageArrayDataset):
    """The MNIST handwritten digits (60,000 training, 10,000 test images, 28x28, 10 classes).

    Args:
        root: the folder holding the four IDX files ``train-images-idx3-ubyte``,
            ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte`` and
            ``t10k-labels-idx1-ubyte``, each optionally gzipped (``.gz``).  A torchvision
            layout ``root/MNIST/raw/`` is found too.
        train: the training split (True) or the test split (False).
        transform, target_transform: applied to images / labels (see ``transforms``).
        download: fetch missing files from the public mirrors (md5-checked) into root.

    Without files or network, ``MNISTSmall`` is a bundled 12,000-digit subset.
    """

    mirrors = ["https://ossci-datasets.s3.amazonaws.com/mnist/",
               "http://yann.lecun.com/exdb/mnist/"]
    md5 = {"train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
           "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
           "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
           "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c"}
    classes = [str(digit) for digit in range(10)]

    def __init__(self, root, train=True, transform=None, target_transform=None, download=False):
        if root is None:
            raise ValueError(f"{type(self).__name__}: root must be the folder with the IDX "
                             "files (use datasets.MNISTSmall() for the bundled subset)")
        self.root = Path(root).expanduser()
        self.train = train
        if download:
            self.download()
        image_file, label_file = (self._find(name) for name in _files(train))
        images = read_idx(image_file, expected_ndim=3)
        labels = read_idx(label_file, expected_ndim=1)
        if len(images) != len(labels):
            raise DataFileError(f"{image_file} holds {len(images)} images but {label_file} "
                                f"holds {len(labels)} labels; one of them is damaged or "
                                "they come from different splits")
        if labels.size and labels.max() >= len(self.classes):
            raise DataFileError(f"{label_file}: label {labels.max()} is out of range 0.."
                                f"{len(self.classes) - 1}")
        super().__init__(images, labels, transform, target_transform)

    def _folders(self):
        return [self.root, self.root / type(self).__name__ / "raw"]

    def _find(self, name):
        """The path of ``name`` or ``name.gz`` in root; a clear error if absent."""
        for folder in self._folders():
            for candidate in (folder / name, folder / (name + ".gz")):
                if candidate.is_file():
                    return candidate
        raise FileNotFoundError(
            f"{type(self).__name__}: {name}[.gz] not found in {self.root}; it should hold "
            f"{self._expected()} (pass download=True to fetch them)")

    def _expected(self):
        return ", ".join(sorted(self.md5))

    def _missing(self):
        return [name for name in self.md5
                if not any((folder / name).is_file() or (folder / name[:-3]).is_file()
                           for folder in self._folders())]

    def download(self):
        """Fetch the files that are not in root yet; explain in one sentence if offline."""
        for name in self._missing():
            try:
                download(name, self.md5[name], self.mirrors, self.root)
            except DownloadError as err:
                raise DownloadError(
                    f"Downloading {type(self).__name__} failed (no network? {err}); "
                    f"put {self._expected()} in {self.root} and try again") from None


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST: 28x28 gray images of 10 kinds of clothing, same format
    and arguments as ``MNIST`` (same file names, in its own root)."""

    mirrors = ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
               "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/"]
    md5 = {"train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
           "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
           "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
           "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310"}
    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


class MNISTSmall(ImageArrayDataset):
    """A real MNIST subset shipped with gradlite, for use offline and in tests.

    10,000 training digits (the first 1,000 of each class in the official training
    file) and 2,000 test digits (the first 200 of each class in the official test
    file), built by ``python -m gradlite.data.make_bundled_mnist``.
    MNIST: Y. LeCun, C. Cortes, C. J. C. Burges; CC BY-SA 3.0.
    """

    classes = MNIST.classes

    def __init__(self, train=True, transform=None, target_transform=None):
        if not BUNDLED_MNIST.is_file():
            raise FileNotFoundError(
                f"the bundled MNIST subset {BUNDLED_MNIST} is missing from this install; "
                "rebuild it with: python -m gradlite.data.make_bundled_mnist --source DIR")
        split = "train" if train else "test"
        with np.load(BUNDLED_MNIST) as arrays:
            images, labels = arrays[f"x_{split}"], arrays[f"y_{split}"]
        self.train = train
        super().__init__(images, labels, transform, target_transform)


# ----------------------------------------------------------------- X or O

def _draw_xo(is_x, size, rng):
    """Canonical X (two crossing diagonal strokes) or O (a ring) images, vectorised.

    Each image is drawn in its own coordinates ``(u, v)`` in [-1, 1]: a stroke pixel's
    brightness is ``exp(-d^2 / (2 w^2))`` where d is its distance to the shape (the ring
    ``|p| = r`` for O, the diagonals ``u = +-v`` within ``max(|u|,|v|) <= r`` for X) and w
    the stroke width.
    """
    n = len(is_x)
    grid = np.linspace(-1.0, 1.0, size)
    v, u = np.meshgrid(grid, grid, indexing="ij")
    radius = rng.uniform(0.45, 0.6, size=(n, 1, 1))
    width = rng.uniform(0.06, 0.1, size=(n, 1, 1))
    ring = np.abs(np.hypot(u, v) - radius)
    diagonal = np.minimum(np.abs(u - v), np.abs(u + v)) / np.sqrt(2.0)
    tips = np.maximum(np.maximum(np.abs(u), np.abs(v)) - radius / np.sqrt(2.0), 0.0)
    cross = np.hypot(diagonal, tips)
    distance = np.where(is_x[:, None, None], cross, ring)
    return np.exp(-distance ** 2 / (2 * width ** 2))


class XO(ImageArrayDataset):
    """The lecture's "X or O" images, generated (no files needed).

    Labels: 0 = O, 1 = X (``classes = ['O', 'X']``), balanced.  Each image is a ring or a
    cross of random size and stroke width, rotated by up to 45 degrees, scaled by
    0.7-1.2, shifted by up to 15% of the size, with Gaussian noise (std 0.08), stored as
    uint8 like MNIST.

    Args:
        n: number of images (default 2,000 for train, 500 for test).
        size: image side in pixels.
        train: picks a different (but fixed) random stream for the two splits.
        seed: the data set is a function of (seed, train): the same arguments give the
            same images.
    """

    classes = ["O", "X"]

    def __init__(self, n=None, size=28, train=True, seed=0, transform=None, target_transform=None):
        n = (2000 if train else 500) if n is None else n
        if n < 1 or size < 8:
            raise ValueError(f"XO: need n >= 1 and size >= 8, got n={n}, size={size}")
        rng = np.random.default_rng([seed, int(train)])
        labels = rng.permutation(np.arange(n) % 2)
        images = _draw_xo(labels == 1, size, rng)[:, None]
        images = affine(images, angle=rng.uniform(-45, 45, n),
                        translate=rng.uniform(-0.15, 0.15, (n, 2)) * size,
                        scale=rng.uniform(0.7, 1.2, n))[:, 0]
        images = images + rng.normal(0.0, 0.08, images.shape)
        data = np.round(np.clip(images, 0.0, 1.0) * 255).astype(np.uint8)
        self.train = train
        super().__init__(data, labels, transform, target_transform)

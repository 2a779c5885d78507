"""Tests for gradlite.data: the IDX reader, MNIST and friends, the loader, random_split."""
import hashlib
import io
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

import gradlite.random
from gradlite.data import (DataFileError, DataLoader, Dataset, DownloadError, Subset,
                           TensorDataset, datasets, random_split, read_idx, transforms)
from gradlite.data.idx import write_idx
from gradlite.tensor import Tensor

REAL_MNIST = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist"
FILES = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte",
         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]


def fake_mnist(root, n_train=12, n_test=5, gz=True):
    """Write four small, valid MNIST-format files into ``root``; return the arrays."""
    rng = np.random.default_rng(0)
    arrays = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        arrays[f"{prefix}-images-idx3-ubyte"] = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        arrays[f"{prefix}-labels-idx1-ubyte"] = (np.arange(n) % 10).astype(np.uint8)
    for name, array in arrays.items():
        write_idx(Path(root) / (name + (".gz" if gz else "")), array)
    return arrays


# ----------------------------------------------------------------- IDX reader

@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.float32, np.float64])
def test_idx_round_trip(tmp_path, suffix, dtype):
    array = np.arange(24).reshape(2, 3, 4).astype(dtype)
    write_idx(tmp_path / ("a" + suffix), array)
    back = read_idx(tmp_path / ("a" + suffix))
    assert back.dtype == np.dtype(dtype) and back.dtype.isnative
    np.testing.assert_array_equal(back, array)


def test_idx_header_is_the_mnist_magic(tmp_path):
    write_idx(tmp_path / "labels", np.zeros(3, np.uint8))
    assert (tmp_path / "labels").read_bytes()[:8] == bytes.fromhex("00000801 00000003")


@pytest.mark.parametrize("gz", [False, True])
def test_mnist_reads_gzipped_or_plain_files(tmp_path, gz):
    arrays = fake_mnist(tmp_path, gz=gz)
    train, test = datasets.MNIST(tmp_path), datasets.MNIST(tmp_path, train=False)
    np.testing.assert_array_equal(train.data, arrays["train-images-idx3-ubyte"])
    assert train.data.dtype == np.uint8 and train.targets.dtype == np.int64
    assert len(train) == 12 and len(test) == 5
    image, label = train[3]            # as torchvision: the uint8 image and an int label
    assert image.shape == (28, 28) and image.dtype == np.uint8 and label == 3
    np.testing.assert_array_equal(image, arrays["train-images-idx3-ubyte"][3])
    image = datasets.MNIST(tmp_path, transform=transforms.ToTensor())[3][0]
    assert image.shape == (1, 28, 28) and image.dtype == np.float32
    assert 0.0 <= image.min() and image.max() <= 1.0
    np.testing.assert_allclose(image[0] * 255, arrays["train-images-idx3-ubyte"][3], atol=1e-3)


def test_mnist_finds_torchvision_layout(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    fake_mnist(raw)
    assert len(datasets.MNIST(tmp_path)) == 12


def test_truncated_file_is_explained(tmp_path):
    fake_mnist(tmp_path, gz=False)
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(DataFileError, match=r"train-images-idx3-ubyte: truncated"):
        datasets.MNIST(tmp_path)


def test_truncated_gzip_stream_is_explained(tmp_path):
    fake_mnist(tmp_path)
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(DataFileError, match=r"train-images-idx3-ubyte.gz.*truncated"):
        datasets.MNIST(tmp_path)


def test_not_gzip_is_explained(tmp_path):
    fake_mnist(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(b"<html>not found</html>")
    with pytest.raises(DataFileError, match=r"t10k-labels-idx1-ubyte.gz: not a valid gzip"):
        datasets.MNIST(tmp_path, train=False)


def test_bad_magic_is_explained(tmp_path):
    fake_mnist(tmp_path, gz=False)
    path = tmp_path / "train-labels-idx1-ubyte"
    path.write_bytes(b"\x12\x34" + path.read_bytes()[2:])
    with pytest.raises(DataFileError, match=r"train-labels-idx1-ubyte: bad magic number 0x12340801"):
        datasets.MNIST(tmp_path)


def test_swapped_files_are_explained(tmp_path):
    arrays = fake_mnist(tmp_path, gz=False)
    write_idx(tmp_path / "train-images-idx3-ubyte", arrays["train-labels-idx1-ubyte"])
    with pytest.raises(DataFileError, match=r"says 1 dimensions, expected 3"):
        datasets.MNIST(tmp_path)


def test_count_mismatch_is_explained(tmp_path):
    fake_mnist(tmp_path)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.zeros(7, np.uint8))
    with pytest.raises(DataFileError, match=r"holds 12 images but .*train-labels.* holds 7 labels"):
        datasets.MNIST(tmp_path)


def test_missing_files_name_root_files_and_download(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        datasets.MNIST(tmp_path)
    message = str(info.value)
    assert str(tmp_path) in message and "download=True" in message
    assert all(name in message for name in FILES)


# ----------------------------------------------------------------- download

def test_offline_download_says_so_in_one_sentence(tmp_path, monkeypatch):
    def offline(*args, **kwargs):
        raise urllib.error.URLError("Name or service not known")
    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(DownloadError) as info:
        datasets.MNIST(tmp_path / "mnist", download=True)
    message = str(info.value)
    assert message.startswith("Downloading MNIST failed (no network?")
    assert all(name + ".gz" in message for name in FILES) and "\n" not in message
    assert list((tmp_path / "mnist").iterdir()) == []  # no partial files left behind


class FakeResponse(io.BytesIO):
    def __init__(self, payload):
        super().__init__(payload)
        self.headers = {"Content-Length": str(len(payload))}


def serve(monkeypatch, files, requested):
    """Make urlopen serve ``files`` ({name: bytes}) and log the URLs asked for."""
    def fake_urlopen(url, timeout=None):
        requested.append(url)
        return FakeResponse(files[url.rsplit("/", 1)[1]])
    monkeypatch.setattr(urllib.request, "urlopen", fake_urlopen)


def test_download_checks_md5_and_writes_files(tmp_path, monkeypatch):
    (tmp_path / "source").mkdir()
    fake_mnist(tmp_path / "source")
    files = {p.name: p.read_bytes() for p in (tmp_path / "source").iterdir()}
    requested = []
    serve(monkeypatch, files, requested)

    class Fake(datasets.MNIST):
        md5 = {name: hashlib.md5(data).hexdigest() for name, data in files.items()}

    dataset = Fake(tmp_path / "out", download=True)
    assert len(dataset) == 12 and len(requested) == 4
    assert requested[0].startswith(Fake.mirrors[0])
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(files)
    Fake(tmp_path / "out", download=True)  # files present: nothing fetched again
    assert len(requested) == 4


def test_download_rejects_a_bad_checksum(tmp_path, monkeypatch):
    requested = []
    serve(monkeypatch, {name + ".gz": b"garbage" for name in FILES}, requested)
    with pytest.raises(DownloadError, match="does not match the expected"):
        datasets.FashionMNIST(tmp_path, download=True)
    assert len(requested) == len(datasets.FashionMNIST.mirrors)  # every mirror was tried
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------- real and bundled data

@pytest.fixture(scope="module")
def real_mnist_test():
    if not (REAL_MNIST / "t10k-images-idx3-ubyte.gz").exists():
        pytest.skip(f"the MNIST files are not in {REAL_MNIST}")
    return datasets.MNIST(REAL_MNIST, train=False)


def test_real_mnist_test_split(real_mnist_test):
    assert real_mnist_test.data.shape == (10000, 28, 28)
    assert real_mnist_test.targets[:5].tolist() == [7, 2, 1, 0, 4]
    assert np.bincount(real_mnist_test.targets).min() > 800


def test_real_mnist_train_split():
    if not (REAL_MNIST / "train-images-idx3-ubyte.gz").exists():
        pytest.skip(f"the MNIST files are not in {REAL_MNIST}")
    train = datasets.MNIST(REAL_MNIST)
    assert train.data.shape == (60000, 28, 28) and train.targets.shape == (60000,)
    assert train.targets[:5].tolist() == [5, 0, 4, 1, 9]


def test_bundled_subset_shape_dtype_balance():
    train, test = datasets.MNISTSmall(), datasets.MNISTSmall(train=False)
    assert train.data.shape == (10000, 28, 28) and test.data.shape == (2000, 28, 28)
    assert train.data.dtype == np.uint8 and train.targets.dtype == np.int64
    assert np.bincount(train.targets).tolist() == [1000] * 10
    assert np.bincount(test.targets).tolist() == [200] * 10
    assert datasets.BUNDLED_MNIST.stat().st_size < 2.5e6


def test_bundled_labels_match_images():
    """A nearest-class-mean classifier fit on the training digits scores ~80% on the test
    digits; images and labels out of step would score ~10%."""
    train, test = datasets.MNISTSmall(), datasets.MNISTSmall(train=False)
    x_train, x_test = (d.data.reshape(len(d), -1) / 255.0 for d in (train, test))
    means = np.stack([x_train[train.targets == k].mean(axis=0) for k in range(10)])
    distances = ((x_test[:, None, :] - means[None]) ** 2).sum(axis=-1)
    assert np.mean(distances.argmin(axis=1) == test.targets) > 0.75


def test_bundled_subset_is_real_mnist(real_mnist_test):
    with np.load(datasets.BUNDLED_MNIST) as bundled:
        index, images = bundled["test_index"], bundled["x_test"]
    np.testing.assert_array_equal(images, real_mnist_test.data[index])


def test_xo_is_balanced_reproducible_and_split_dependent():
    a, b = datasets.XO(n=40, seed=3), datasets.XO(n=40, seed=3)
    np.testing.assert_array_equal(a.data, b.data)
    assert not np.array_equal(a.data, datasets.XO(n=40, seed=3, train=False).data)
    assert a.data.shape == (40, 28, 28) and a.data.dtype == np.uint8
    assert np.bincount(a.targets).tolist() == [20, 20] and a.classes == ["O", "X"]
    assert datasets.XO(n=4, size=16).data.shape == (4, 16, 16)


def test_xo_classes_differ_in_the_centre():
    """An O is empty in the middle, an X crosses there (on average)."""
    xo = datasets.XO(n=200)
    centre = xo.data[:, 12:16, 12:16].mean(axis=(1, 2))
    assert centre[xo.targets == 1].mean() > 2 * centre[xo.targets == 0].mean()


# ----------------------------------------------------------------- loader

def test_loader_batches_dtypes_and_last_batch():
    loader = DataLoader(datasets.MNISTSmall(train=False, transform=transforms.ToTensor()),
                        batch_size=300)
    batches = list(loader)
    assert len(loader) == len(batches) == 7
    images, labels = batches[0]
    assert isinstance(images, Tensor) and isinstance(labels, Tensor)
    assert images.data.dtype == np.float32 and labels.data.dtype == np.int64
    assert images.data.shape == (300, 1, 28, 28) and labels.data.shape == (300,)
    assert batches[-1][0].data.shape[0] == 2000 - 6 * 300
    dropped = DataLoader(datasets.MNISTSmall(train=False), batch_size=300, drop_last=True)
    assert len(dropped) == 6 and [b[1].data.shape[0] for b in dropped] == [300] * 6


def test_loader_without_shuffle_keeps_order():
    data = TensorDataset(np.arange(10.0), np.arange(10))
    seen = np.concatenate([y.data for _, y in DataLoader(data, batch_size=3)])
    np.testing.assert_array_equal(seen, np.arange(10))


def test_shuffle_is_a_permutation_and_seeded():
    data = TensorDataset(np.arange(100))

    def epoch(loader):
        return np.concatenate([b[0].data for b in loader])

    loader = DataLoader(data, batch_size=16, shuffle=True, generator=7)
    first, second = epoch(loader), epoch(loader)
    assert sorted(first) == list(range(100)) and not np.array_equal(first, np.arange(100))
    assert not np.array_equal(first, second)  # a new order every epoch
    again = DataLoader(data, batch_size=16, shuffle=True, generator=7)
    np.testing.assert_array_equal(epoch(again), first)
    np.testing.assert_array_equal(epoch(again), second)
    rng = np.random.default_rng(7)
    np.testing.assert_array_equal(epoch(DataLoader(data, 16, True, generator=rng)), first)


def test_shuffle_follows_the_global_seed():
    data = TensorDataset(np.arange(50))
    orders = []
    for _ in range(2):
        gradlite.random.manual_seed(123)
        orders.append(np.concatenate([b[0].data for b in DataLoader(data, 8, shuffle=True)]))
    np.testing.assert_array_equal(*orders)


class Squares(Dataset):
    """A generic dataset with per-sample __getitem__ returning mixed types."""

    def __len__(self):
        return 5

    def __getitem__(self, i):
        return np.full((2,), float(i), dtype=np.float32), i * i


def test_generic_dataset_uses_default_collate():
    x, y = next(iter(DataLoader(Squares(), batch_size=4)))
    assert x.data.shape == (4, 2) and x.data.dtype == np.float32
    assert y.data.dtype == np.int64 and y.data.tolist() == [0, 1, 4, 9]


def test_custom_collate_fn_gets_samples():
    loader = DataLoader(datasets.XO(n=6), batch_size=4, collate_fn=lambda samples: len(samples))
    assert list(loader) == [4, 2]


def test_transforms_run_per_batch_and_per_sample():
    calls = []

    def per_image(image):
        calls.append(image.shape)
        return image * 0

    loader = DataLoader(datasets.XO(n=8, transform=per_image), batch_size=4)
    assert all(float(x.data.max()) == 0.0 for x, _ in loader)
    assert calls == [(28, 28)] * 8
    flip = transforms.Compose([transforms.ToTensor(), transforms.RandomHorizontalFlip(p=1.0)])
    plain = datasets.XO(n=8, transform=transforms.ToTensor())
    flipped = datasets.XO(n=8, transform=flip)
    np.testing.assert_array_equal(flipped[np.arange(8)][0], plain[np.arange(8)][0][..., ::-1])


def test_tensor_dataset_checks_lengths_and_accepts_tensors():
    with pytest.raises(ValueError, match=r"same first dimension, got lengths \[3, 4\]"):
        TensorDataset(np.zeros(3), np.zeros(4))
    data = TensorDataset(Tensor(np.ones((3, 2), np.float32)), np.arange(3))
    assert data[1][0].tolist() == [1.0, 1.0] and len(data) == 3


def test_bad_batch_size_is_named():
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        DataLoader(Squares(), batch_size=0)


# ----------------------------------------------------------------- random_split / Subset

def test_random_split_is_disjoint_and_seeded():
    data = TensorDataset(np.arange(100))
    parts = random_split(data, [70, 20, 10], generator=1)
    assert [len(p) for p in parts] == [70, 20, 10]
    values = np.concatenate([p.__getitems__(np.arange(len(p)))[0] for p in parts])
    assert sorted(values) == list(range(100))
    again = random_split(data, [70, 20, 10], generator=1)
    np.testing.assert_array_equal(parts[0].indices, again[0].indices)


def test_random_split_fractions_like_pytorch():
    assert [len(p) for p in random_split(range(10), [0.33, 0.33, 0.34])] == [4, 3, 3]
    with pytest.raises(ValueError, match="sum to the dataset length 10"):
        random_split(range(10), [5, 4])
    with pytest.raises(ValueError, match="sum to 1"):
        random_split(range(10), [0.5, 0.4])


def test_subset_batches_through_the_array_path():
    mnist = datasets.MNISTSmall(train=False)
    subset = Subset(mnist, [5, 3, 1])
    images, labels = next(iter(DataLoader(subset, batch_size=3)))
    np.testing.assert_array_equal(labels.data, mnist.targets[[5, 3, 1]])
    assert subset[1][1] == mnist.targets[3]
    assert subset[0:2][0].shape == (2, 28, 28)


def test_manual_seed_rejects_non_ints():
    with pytest.raises(TypeError, match="seed must be an int"):
        gradlite.random.manual_seed(1.5)

"""DataLoader workers, samplers and the torchvision-style datasets (issue 17)."""
import os

import numpy as np
import pytest

import gradlite
from gradlite.data import (BatchSampler, DataLoader, Dataset, RandomSampler, SequentialSampler,
                           SubsetRandomSampler, TensorDataset, WeightedRandomSampler, datasets,
                           get_worker_info, random_split, transforms)


class Squares(Dataset):
    def __len__(self):
        return 23

    def __getitem__(self, i):
        return np.float32(i * i), i


class WhoLoaded(Dataset):
    """Each sample says which process read it and draws one random number there."""

    def __len__(self):
        return 16

    def __getitem__(self, i):
        info = get_worker_info()
        noise = gradlite.random.default_generator().random()
        return i, -1 if info is None else info.id, os.getpid(), noise


class Broken(Squares):
    def __getitem__(self, i):
        if i == 7:
            raise KeyError("sample 7 is missing")
        return super().__getitem__(i)


def as_lists(loader):
    return [[t.tolist() for t in batch] for batch in loader]


def test_workers_give_the_same_batches_in_the_same_order():
    for shuffle in (False, True):
        gradlite.manual_seed(5)
        single = as_lists(DataLoader(Squares(), batch_size=4, shuffle=shuffle))
        gradlite.manual_seed(5)
        multi = as_lists(DataLoader(Squares(), batch_size=4, shuffle=shuffle, num_workers=2))
        assert single == multi and len(multi) == 6


def test_workers_are_seeded_apart_and_init_fn_runs_in_each():
    loader = DataLoader(WhoLoaded(), batch_size=2, num_workers=2,
                        worker_init_fn=lambda worker_id: np.random.seed(worker_id))
    batches = list(loader)
    workers = {int(w) for b in batches for w in b[1].tolist()}
    pids = {int(p) for b in batches for p in b[2].tolist()}
    noise = [float(x) for b in batches for x in b[3].tolist()]
    assert workers == {0, 1} and len(pids) == 2 and os.getpid() not in pids
    assert len(set(noise)) == len(noise)            # workers do not repeat each other's draws


def test_persistent_workers_serve_every_epoch():
    loader = DataLoader(WhoLoaded(), batch_size=4, num_workers=2, persistent_workers=True,
                        pin_memory=True)
    first = {int(p) for b in loader for p in b[2].tolist()}
    partial = next(iter(loader))                    # an epoch left early ...
    second = [b[0].tolist() for b in loader]        # ... does not disturb the next one
    assert second == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11], [12, 13, 14, 15]]
    assert {int(p) for p in partial[2].tolist()} <= first


def test_worker_errors_name_the_worker_and_the_cause():
    with pytest.raises(RuntimeError, match=r"DataLoader worker \d failed with KeyError: "
                                           r"'sample 7 is missing'"):
        list(DataLoader(Broken(), batch_size=4, num_workers=2))


def test_samplers_and_batch_sampler():
    data = TensorDataset(np.arange(10))
    assert list(SequentialSampler(data)) == list(range(10))
    generator = gradlite.Generator().manual_seed(0)
    order = list(RandomSampler(data, generator=generator))
    assert sorted(order) == list(range(10)) and order != list(range(10))
    assert len(list(RandomSampler(data, replacement=True, num_samples=25))) == 25
    assert sorted(SubsetRandomSampler([3, 5, 7])) == [3, 5, 7]
    picks = list(WeightedRandomSampler([0, 0, 1.0], 5))
    assert picks == [2] * 5
    assert list(BatchSampler(range(7), 3, drop_last=False)) == [[0, 1, 2], [3, 4, 5], [6]]
    assert len(BatchSampler(range(7), 3, drop_last=True)) == 2
    loader = DataLoader(data, batch_sampler=[[9, 0], [4]])
    assert [b[0].tolist() for b in loader] == [[9, 0], [4]] and len(loader) == 2
    loader = DataLoader(data, batch_size=3, sampler=[8, 6, 4, 2])
    assert [b[0].tolist() for b in loader] == [[8, 6, 4], [2]]
    assert [s[0].item() for s in DataLoader(data, batch_size=None)][:3] == [0, 1, 2]


def test_loader_argument_errors_match_pytorch():
    data = TensorDataset(np.arange(10))
    with pytest.raises(ValueError, match="sampler option is mutually exclusive with shuffle"):
        DataLoader(data, sampler=[0], shuffle=True)
    with pytest.raises(ValueError, match="batch_sampler option is mutually exclusive"):
        DataLoader(data, batch_sampler=[[0]], batch_size=2)
    with pytest.raises(ValueError, match="num_workers option should be non-negative"):
        DataLoader(data, num_workers=-1)
    with pytest.raises(ValueError, match="persistent_workers option needs num_workers > 0"):
        DataLoader(data, persistent_workers=True)
    with pytest.raises(ValueError, match="prefetch_factor option could only be specified"):
        DataLoader(data, prefetch_factor=2)


def test_generator_drives_shuffle_and_random_split():
    data = TensorDataset(np.arange(20))
    runs = [[b[0].tolist() for b in DataLoader(data, batch_size=5, shuffle=True,
                                               generator=gradlite.Generator().manual_seed(7))]
            for _ in range(2)]
    assert runs[0] == runs[1]
    parts = [random_split(data, [0.5, 0.5], generator=gradlite.Generator().manual_seed(1))[0].indices
             for _ in range(2)]
    np.testing.assert_array_equal(*parts)


def test_mnist_with_the_torchvision_pipeline():
    """``Compose([ToTensor(), Normalize(...)])`` on MNIST gives (1, 28, 28), as torchvision."""
    pipeline = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
    mnist = datasets.MNISTSmall(train=False, transform=pipeline)
    image, label = mnist[0]
    assert image.shape == (1, 28, 28) and image.dtype == np.float32 and isinstance(label, int)
    raw = datasets.MNISTSmall(train=False).data[0]
    np.testing.assert_allclose(image[0], (raw / 255.0 - 0.1307) / 0.3081, rtol=1e-5)
    images, labels = next(iter(gradlite.utils.data.DataLoader(mnist, batch_size=5)))
    np.testing.assert_allclose(images.numpy()[0], image, rtol=1e-6)
    assert labels.dtype == np.int64


def test_to_tensor_converts_like_torchvision():
    colour = np.random.default_rng(0).integers(0, 256, (4, 5, 3), dtype=np.uint8)
    out = transforms.ToTensor()(colour)
    assert out.shape == (3, 4, 5) and out.dtype == np.float32
    np.testing.assert_allclose(out, colour.transpose(2, 0, 1) / 255.0, rtol=1e-6)
    floats = np.ones((2, 2), np.float64) * 7
    assert transforms.ToTensor()(floats).tolist() == [[[7.0, 7.0], [7.0, 7.0]]]   # not scaled
    pil = pytest.importorskip("PIL.Image")
    np.testing.assert_array_equal(transforms.ToTensor()(pil.fromarray(colour)), out)
    with pytest.raises(ValueError, match="ToTensor: expected an image"):
        transforms.ToTensor()(np.zeros(3))
    with pytest.raises(ValueError, match="need transforms.ToTensor\\(\\) first"):
        datasets.XO(n=2, transform=transforms.Normalize(0.5, 0.5))[0]

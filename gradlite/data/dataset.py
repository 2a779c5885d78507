"""Datasets: the indexable collections a DataLoader draws batches from.

Two ways to read a dataset:

- ``dataset[i]`` returns one sample (generic datasets only need this and ``len``);
- ``dataset.__getitems__(indices)`` returns a whole batch at once. Datasets backed by
  arrays (``TensorDataset``, ``ImageArrayDataset`` and so MNIST and XO) implement it with
  one fancy-indexing operation, so the loader does no per-sample Python work.
"""
import numpy as np

from ..random import as_generator
from .collate import as_array, default_collate


class Dataset:
    """Base class: subclasses define ``__getitem__(index)`` and ``__len__()``."""

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __len__")


def _is_batch_index(index):
    return isinstance(index, (slice, list, np.ndarray))


class TensorDataset(Dataset):
    """Samples are rows of equal-length arrays: ``dataset[i] == (a[i], b[i], ...)``.

    Accepts numpy arrays or gradlite Tensors; ``.tensors`` holds them as arrays.
    ``dataset[index_array]`` returns a whole batch ``(a[idx], b[idx], ...)``.
    """

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset needs at least one array")
        self.tensors = tuple(_rows(i, t) for i, t in enumerate(tensors))
        lengths = [len(t) for t in self.tensors]
        if len(set(lengths)) != 1:
            raise ValueError(f"TensorDataset: all arrays must have the same first "
                             f"dimension, got lengths {lengths}")

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __getitems__(self, indices):
        return tuple(t[indices] for t in self.tensors)

    def __len__(self):
        return len(self.tensors[0])


def _rows(i, data):
    """Argument ``i`` of TensorDataset as an array of at least one dim (its samples)."""
    try:
        array = as_array(data)
    except (TypeError, ValueError) as error:
        raise type(error)(f"TensorDataset: tensor {i}: {error}") from None
    if array.ndim == 0:
        raise ValueError(f"TensorDataset: tensor {i} is 0-d ({type(data).__name__}); each "
                         "needs a first dim that indexes the samples")
    return array


def fetch_batch(dataset, indices, collate_fn=None):
    """Read the samples at ``indices`` as one batch.

    Uses the dataset's whole-batch path when it has one and no custom ``collate_fn``
    was asked for; otherwise reads sample by sample and collates.
    """
    if collate_fn is None and hasattr(dataset, "__getitems__"):
        return dataset.__getitems__(indices)
    samples = [dataset[int(i)] for i in indices]
    return (collate_fn or default_collate)(samples)


class Subset(Dataset):
    """The samples of ``dataset`` at positions ``indices``, in that order."""

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = np.asarray(indices, dtype=np.int64)

    def __getitem__(self, index):
        if _is_batch_index(index):
            return self.__getitems__(np.arange(len(self))[index])
        return self.dataset[int(self.indices[index])]

    def __getitems__(self, indices):
        return fetch_batch(self.dataset, self.indices[np.asarray(indices)])

    def __len__(self):
        return len(self.indices)


def _split_lengths(lengths, total):
    """Turn ``lengths`` (ints summing to ``total``, or fractions summing to 1) into ints.

    Fractions are floored and the leftover samples are handed out one by one, round
    robin from the first split, as PyTorch does.
    """
    if not isinstance(lengths, (tuple, list, np.ndarray)) or not all(
            isinstance(n, (int, float, np.number)) and not isinstance(n, bool) for n in lengths):
        raise TypeError(f"random_split: lengths must be a list of ints or fractions, got "
                        f"{lengths!r}")
    lengths = list(lengths)
    if all(isinstance(n, (int, np.integer)) for n in lengths):
        if sum(lengths) != total or min(lengths) < 0:
            raise ValueError(f"random_split: lengths {lengths} must be non-negative and "
                             f"sum to the dataset length {total}")
        return lengths
    if abs(sum(lengths) - 1.0) > 1e-6 or min(lengths) < 0:
        raise ValueError(f"random_split: fractions {lengths} must be non-negative "
                         "and sum to 1")
    counts = [int(np.floor(total * f)) for f in lengths]
    for i in range(total - sum(counts)):
        counts[i % len(counts)] += 1
    return counts


def random_split(dataset, lengths, generator=None):
    """Split ``dataset`` into non-overlapping random ``Subset``s of the given lengths.

    ``lengths`` are ints summing to ``len(dataset)`` or fractions summing to 1.
    ``generator``: a ``numpy.random.Generator``, an int seed, or None for gradlite's
    global generator.
    """
    counts = _split_lengths(lengths, len(dataset))
    order = as_generator(generator).permutation(len(dataset))
    bounds = np.cumsum([0] + counts)
    return [Subset(dataset, order[start:stop]) for start, stop in zip(bounds[:-1], bounds[1:])]

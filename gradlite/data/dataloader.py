"""DataLoader: iterate over a dataset in (optionally shuffled) batches of Tensors."""
import numbers

import numpy as np

from ..random import as_generator
from .dataset import fetch_batch


def default_collate(samples):
    """Stack a list of samples into one batch, keeping the samples' structure.

    Arrays (and Tensors) are stacked along a new first axis; Python ints become an
    int64 array, Python floats a float32 array; tuples, lists and dicts are collated
    field by field; anything else (e.g. strings) is returned as a list.
    """
    first = samples[0]
    if isinstance(first, (tuple, list)):
        return type(first)(default_collate(list(field)) for field in zip(*samples))
    if isinstance(first, dict):
        return {key: default_collate([s[key] for s in samples]) for key in first}
    if isinstance(first, (bool, np.bool_)):
        return np.array(samples, dtype=bool)
    if isinstance(first, numbers.Integral):
        return np.array(samples, dtype=np.int64)
    if isinstance(first, numbers.Real):
        return np.array(samples, dtype=np.float32)
    if isinstance(first, np.ndarray) or hasattr(first, "data"):
        return np.stack([getattr(s, "data", s) for s in samples])
    return list(samples)


def _tensor(array):
    """Wrap a numpy array as a gradlite Tensor without copying."""
    from ..tensor import Tensor
    return Tensor(array)


def to_tensors(batch):
    """Wrap every numpy array in a (possibly nested) batch as a gradlite Tensor."""
    if isinstance(batch, np.ndarray):
        return _tensor(batch)
    if isinstance(batch, (tuple, list)):
        return type(batch)(to_tensors(item) for item in batch)
    if isinstance(batch, dict):
        return {key: to_tensors(value) for key, value in batch.items()}
    return batch


class DataLoader:
    """Iterate over ``dataset`` in batches of gradlite Tensors.

    Args:
        dataset: anything with ``__len__`` and ``__getitem__``; when it also has
            ``__getitems__(indices)`` (array-backed datasets do), each batch is read with
            one fancy-indexing call instead of one call per sample.
        batch_size: samples per batch.
        shuffle: draw a new random order every epoch.
        drop_last: drop the last batch if it is smaller than ``batch_size``.
        collate_fn: turns a list of samples into a batch (default: ``default_collate``).
        generator: a ``numpy.random.Generator`` or an int seed for shuffling; None uses
            gradlite's global generator (so ``gradlite.manual_seed`` controls it).
    """

    def __init__(self, dataset, batch_size=1, shuffle=False, drop_last=False,
                 collate_fn=None, generator=None):
        if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be a positive int, got {batch_size!r}")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.collate_fn = collate_fn
        self.generator = None if generator is None else as_generator(generator)

    def __len__(self):
        full, rest = divmod(len(self.dataset), self.batch_size)
        return full if self.drop_last or rest == 0 else full + 1

    def _order(self):
        if self.shuffle:
            return as_generator(self.generator).permutation(len(self.dataset))
        return np.arange(len(self.dataset))

    def __iter__(self):
        order = self._order()
        for b in range(len(self)):
            indices = order[b * self.batch_size:(b + 1) * self.batch_size]
            yield to_tensors(fetch_batch(self.dataset, indices, self.collate_fn))

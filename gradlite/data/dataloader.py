"""DataLoader: iterate over a dataset in (optionally shuffled) batches of Tensors."""
import numpy as np

from .._args import is_int
from ..random import as_generator
from ..tensor import Tensor
from .dataset import fetch_batch


def to_tensors(batch):
    """Wrap every numpy array in a (possibly nested) batch as a gradlite Tensor (no copy)."""
    if isinstance(batch, np.ndarray):
        return Tensor(batch)
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
        if not is_int(batch_size) or batch_size < 1:
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

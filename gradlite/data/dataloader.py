"""DataLoader: iterate over a dataset in (optionally shuffled) batches of Tensors."""
import numpy as np

from ..random import as_generator
from ..tensor import Tensor
from ._worker import WorkerPool
from .dataset import fetch_batch
from .sampler import BatchSampler, RandomSampler, SequentialSampler


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
    """Iterate over ``dataset`` in batches of gradlite Tensors, as ``torch.utils.data.DataLoader``.

    Args:
        dataset: anything with ``__len__`` and ``__getitem__``; when it also has
            ``__getitems__(indices)`` (array-backed datasets do), each batch is read with
            one fancy-indexing call instead of one call per sample.
        batch_size: samples per batch (None: yield single samples, not batches).
        shuffle: draw a new random order every epoch.
        sampler: an iterable of indices giving the order (excludes ``shuffle``).
        batch_sampler: an iterable of index lists, one per batch (excludes
            ``batch_size``, ``shuffle``, ``sampler`` and ``drop_last``).
        num_workers: read batches in this many worker processes (0: in this one).
        collate_fn: turns a list of samples into a batch (default: ``default_collate``).
        pin_memory: accepted for PyTorch scripts; nothing to pin on the CPU.
        drop_last: drop the last batch if it is smaller than ``batch_size``.
        timeout: seconds to wait for a batch from the workers (0: forever).
        worker_init_fn: called as ``worker_init_fn(worker_id)`` in each new worker.
        generator: a ``gradlite.Generator``, ``numpy.random.Generator`` or an int seed
            for shuffling and the workers' seeds; None uses gradlite's global generator
            (so ``gradlite.manual_seed`` controls it).
        prefetch_factor: batches in flight per worker (default 2).
        persistent_workers: keep the worker processes from one epoch to the next.
    """

    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None,
                 num_workers=0, collate_fn=None, pin_memory=False, drop_last=False, timeout=0,
                 worker_init_fn=None, generator=None, *, prefetch_factor=None,
                 persistent_workers=False, pin_memory_device=""):
        _check_counts(batch_size, num_workers, timeout, prefetch_factor, persistent_workers)
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None and (batch_size != 1 or shuffle or sampler is not None
                                          or drop_last):
            raise ValueError("DataLoader: batch_sampler option is mutually exclusive with "
                             "batch_size, shuffle, sampler, and drop_last")
        self.dataset = dataset
        self.generator = None if generator is None else as_generator(generator)
        if sampler is None:
            sampler = (RandomSampler(dataset, generator=self.generator) if shuffle
                       else SequentialSampler(dataset))
        if batch_sampler is None and batch_size is not None:
            batch_sampler = BatchSampler(sampler, int(batch_size), drop_last)
        self.batch_size = None if batch_sampler is not None and batch_size is None else batch_size
        self.shuffle, self.drop_last = shuffle, drop_last
        self.sampler, self.batch_sampler = sampler, batch_sampler
        self.num_workers, self.collate_fn = num_workers, collate_fn
        self.pin_memory, self.timeout = pin_memory, timeout
        self.worker_init_fn = worker_init_fn
        self.prefetch_factor = 2 if prefetch_factor is None else prefetch_factor
        self.persistent_workers = persistent_workers
        self._pool = None

    def __len__(self):
        return len(self.batch_sampler if self.batch_sampler is not None else self.sampler)

    def _fetch(self, indices):
        """The batch (numpy arrays) at ``indices``, or one sample when not batching."""
        if self.batch_sampler is None:
            return self.dataset[indices]
        return fetch_batch(self.dataset, np.asarray(indices, dtype=np.int64), self.collate_fn)

    def __iter__(self):
        order = self.batch_sampler if self.batch_sampler is not None else self.sampler
        if self.num_workers == 0:
            for indices in order:
                yield to_tensors(self._fetch(indices))
            return
        batches = list(order)       # drawn before the workers' seeds: the same order as without
        pool = self._pool or self._start_workers()
        try:
            for batch in pool.run(batches, self.prefetch_factor):
                yield to_tensors(batch)
        finally:
            if not self.persistent_workers:
                pool.close()

    def _start_workers(self):
        base_seed = int(as_generator(self.generator).integers(0, 2 ** 62))
        pool = WorkerPool(self._fetch, self.dataset, self.num_workers, base_seed,
                          self.worker_init_fn, self.timeout)
        if self.persistent_workers:
            self._pool = pool
        return pool

    def __del__(self):
        if getattr(self, "_pool", None) is not None:
            self._pool.close()


def _check_counts(batch_size, num_workers, timeout, prefetch_factor, persistent_workers):
    def positive_int(value):
        return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= 1

    if batch_size is not None and not positive_int(batch_size):
        raise ValueError(f"DataLoader: batch_size must be a positive int, got {batch_size!r}")
    if not isinstance(num_workers, int) or num_workers < 0:
        raise ValueError("DataLoader: num_workers option should be non-negative; use "
                         f"num_workers=0 to disable multiprocessing (got {num_workers!r})")
    if timeout < 0:
        raise ValueError(f"DataLoader: timeout option should be non-negative, got {timeout!r}")
    if num_workers == 0 and prefetch_factor is not None:
        raise ValueError("DataLoader: prefetch_factor option could only be specified in "
                         "multiprocessing; let num_workers > 0 to enable multiprocessing")
    if prefetch_factor is not None and not positive_int(prefetch_factor):
        raise ValueError(f"DataLoader: prefetch_factor must be a positive int, got "
                         f"{prefetch_factor!r}")
    if persistent_workers and num_workers == 0:
        raise ValueError("DataLoader: persistent_workers option needs num_workers > 0")

"""DistributedSampler: each rank of a data-parallel job reads its own share of a dataset."""
import math

import numpy as np


class DistributedSampler:
    """The indices of ``dataset`` that rank ``rank`` of ``num_replicas`` reads this epoch.

    Every epoch the indices 0 ... len-1 are shuffled (with ``shuffle``) by a generator
    seeded with ``seed + epoch``, so all ranks draw the same order, and dealt out like
    cards: rank r takes positions r, r + num_replicas, r + 2 num_replicas, ... Every rank
    gets ``num_samples`` indices. As in PyTorch, the order is padded with its own first
    indices up to a multiple of ``num_replicas`` (a few samples are read twice), or, with
    ``drop_last``, cut down to one (a few are left out).

    ``num_replicas`` and ``rank`` default to ``gradlite.distributed``'s world size and
    rank. Call ``set_epoch(epoch)`` at the start of every epoch, or every epoch gets the
    same order. (The order is numpy's, not torch's ``randperm``.)
    """

    def __init__(self, dataset, num_replicas=None, rank=None, shuffle=True, seed=0,
                 drop_last=False):
        if num_replicas is None or rank is None:
            from .. import distributed
            num_replicas = distributed.get_world_size() if num_replicas is None else num_replicas
            rank = distributed.get_rank() if rank is None else rank
        if not isinstance(num_replicas, (int, np.integer)) or num_replicas < 1:
            raise ValueError(f"DistributedSampler: num_replicas must be a positive int, "
                             f"got {num_replicas!r}")
        if not isinstance(rank, (int, np.integer)) or not 0 <= rank < num_replicas:
            raise ValueError(f"DistributedSampler: invalid rank {rank!r}, rank should be in "
                             f"the interval [0, {num_replicas - 1}]")
        self.dataset, self.num_replicas, self.rank = dataset, int(num_replicas), int(rank)
        self.shuffle, self.seed, self.drop_last = shuffle, seed, drop_last
        self.epoch = 0
        size = len(dataset)
        if drop_last and size % self.num_replicas:
            self.num_samples = math.ceil((size - self.num_replicas) / self.num_replicas)
        else:
            self.num_samples = math.ceil(size / self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas

    def set_epoch(self, epoch):
        """Use the shuffled order of ``epoch`` (the same on every rank)."""
        self.epoch = epoch

    def __len__(self):
        return self.num_samples

    def __iter__(self):
        size = len(self.dataset)
        if self.shuffle:
            order = np.random.default_rng(self.seed + self.epoch).permutation(size)
        else:
            order = np.arange(size)
        if self.total_size > size:
            order = np.resize(order, self.total_size)    # repeats the order from its start
        order = order[:self.total_size]
        return iter(order[self.rank:self.total_size:self.num_replicas].tolist())

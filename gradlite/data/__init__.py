"""Data loading for gradlite: datasets, the DataLoader, transforms.

``data`` knows nothing of autograd: it works on numpy arrays and only wraps finished
batches as Tensors.
"""
from . import datasets, transforms
from .collate import default_collate
from .dataloader import DataLoader
from .dataset import Dataset, Subset, TensorDataset, random_split
from .distributed import DistributedSampler
from .download import DownloadError
from .idx import DataFileError, read_idx
from ._worker import get_worker_info
from .sampler import (BatchSampler, RandomSampler, Sampler, SequentialSampler,
                      SubsetRandomSampler, WeightedRandomSampler)

__all__ = ["Dataset", "TensorDataset", "Subset", "DataLoader", "random_split",
           "default_collate", "datasets", "transforms", "read_idx",
           "DataFileError", "DownloadError", "get_worker_info", "Sampler", "SequentialSampler",
           "RandomSampler", "SubsetRandomSampler", "WeightedRandomSampler", "BatchSampler", "DistributedSampler"]

"""Turning samples into arrays and lists of samples into batches."""
import numbers

import numpy as np


def as_array(x):
    """A numpy array from an ndarray (itself), a gradlite Tensor (``.numpy()``, no copy)
    or anything array-like."""
    if isinstance(x, np.ndarray):
        return x
    if callable(getattr(x, "numpy", None)):
        return np.asarray(x.numpy())
    return np.asarray(x)


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
    if isinstance(first, np.ndarray) or callable(getattr(first, "numpy", None)):
        return np.stack([as_array(s) for s in samples])
    return list(samples)

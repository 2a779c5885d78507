"""More of the torch namespace, for PyTorch ports (issue 17): the functional forms of
gather, scatter, sort, topk, cumsum, einsum, ... and the random draws randperm and
multinomial. ``gradlite.gather(x, 1, idx)`` is ``x.gather(1, idx)``."""
import numpy as np

from . import ops
from .devices import as_cpu
from .functions import _method_as_function
from .random import as_generator
from .creation import _new, as_tensor
from .dtypes import int64
from .tensor import Tensor, unwrap

_METHODS = ("gather scatter scatter_add sort argsort topk cumsum cumprod tril triu "
            "masked_fill repeat norm bmm log2 log10 flip select numel nelement").split()
globals().update({name: _method_as_function(name) for name in _METHODS})
__all__ = _METHODS + ["einsum", "one_hot", "randperm", "multinomial"]


def einsum(equation, *operands):
    """Einstein summation, ``einsum("ij,jk->ik", a, b)`` (operands may also be given
    as one list); differentiable in every operand."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = operands[0]
    return ops.Einsum.apply(equation, *[as_tensor(t) for t in operands])


def one_hot(tensor, num_classes=-1):
    """Class indices (any shape) -> int64 one-hot vectors along a new last dim."""
    labels = np.asarray(unwrap(tensor))
    if labels.dtype.kind not in "iu":
        raise TypeError(f"one_hot: expected an integer tensor of class indices, got "
                        f"{labels.dtype}")
    if labels.size and labels.min() < 0:
        raise ValueError(f"one_hot: class values must be non-negative, got {labels.min()}")
    if num_classes == -1:
        num_classes = int(labels.max()) + 1 if labels.size else 0
    if labels.size and labels.max() >= num_classes:
        raise ValueError(f"one_hot: class value {labels.max()} is not smaller than "
                         f"num_classes={num_classes}")
    return Tensor._make(np.eye(num_classes, dtype=np.int64)[labels], False)


def randperm(n, *, generator=None, dtype=int64, device=None, requires_grad=False):
    """A random permutation of 0 .. n-1."""
    as_cpu(device, "randperm")
    if not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"randperm: n must be a non-negative int, got {n!r}")
    return _new(as_generator(generator).permutation(int(n)), dtype, requires_grad)


def multinomial(input, num_samples, replacement=False, *, generator=None):
    """For each row of non-negative weights, ``num_samples`` indices drawn with
    probability proportional to the weights (without replacement: each index at most
    once, drawn in turn from the weights left)."""
    weights = np.asarray(unwrap(input), dtype=np.float64)
    if weights.ndim not in (1, 2):
        raise ValueError(f"multinomial: prob_dist must be 1 or 2 dim, got shape {weights.shape}")
    rows = weights.reshape(-1, weights.shape[-1])
    if not np.isfinite(rows).all() or (rows < 0).any():
        raise RuntimeError("multinomial: probability tensor contains either inf, nan or "
                           "element < 0")
    if (rows.sum(axis=1) <= 0).any():
        raise RuntimeError("multinomial: invalid multinomial distribution (sum of "
                           "probabilities <= 0)")
    if not replacement and num_samples > (rows > 0).sum(axis=1).min():
        raise RuntimeError(f"multinomial: cannot sample n_sample={num_samples} > "
                           f"prob_dist.size(-1)={rows.shape[1]} samples without replacement "
                           "(or fewer non-zero weights)")
    rng = as_generator(generator)
    p = rows / rows.sum(axis=1, keepdims=True)
    if replacement:
        cdf = np.cumsum(p, axis=1)
        u = rng.random((len(rows), num_samples)) * cdf[:, -1:]
        picks = np.stack([np.searchsorted(c, r, side="right") for c, r in zip(cdf, u)])
        picks = np.minimum(picks, rows.shape[1] - 1)
    else:   # Gumbel top-k: the k largest log p + Gumbel noise are a draw without replacement
        with np.errstate(divide="ignore"):
            keys = np.log(p) - np.log(-np.log(rng.random(p.shape)))
        picks = np.argsort(-keys, axis=1, kind="stable")[:, :num_samples]
    return Tensor._make(picks.reshape(weights.shape[:-1] + (num_samples,)).astype(np.int64), False)

"""Loss functions (``F.cross_entropy``, ...) and their Module forms (``nn.CrossEntropyLoss``).

Every loss computes one value per element (or per sample) and then reduces it:
``reduction='mean'`` (the default) averages, ``'sum'`` adds, ``'none'`` returns the
unreduced values. Signatures and results follow PyTorch.
"""
import numpy as np

from .._args import real_arg
from ..creation import as_tensor
from ..functions import where
from ..ops.loss import BinaryCrossEntropy, BinaryCrossEntropyWithLogits, CrossEntropy
from ..tensor import tensor_arg, unwrap
from .module import Module

_REDUCTIONS = ("mean", "sum", "none")


# --------------------------------------------------------------------------- helpers
def _check_reduction(op, reduction):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{op}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _reduce(loss, reduction):
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _same_shape(op, input, target):
    """Elementwise losses need target and input of one shape (a broadcast (N, 1)
    against (N,) is almost always a bug, so it is an error, not a warning)."""
    target = tensor_arg(op, "target", target)
    if input.shape != target.shape:
        raise ValueError(f"{op}: target shape {tuple(target.shape)} does not match input "
                         f"shape {tuple(input.shape)}; they must be equal")
    return target


def _class_rows(op, input, target, ignore_index=None):
    """Check class-index targets and return ``(rows, labels, sample_shape)``.

    ``input`` is (N, C) or (N, C, d1, ...) or (C,), ``target`` is (N,) or
    (N, d1, ...) or () with integers in [0, C) (or ``ignore_index``). The class
    dim is moved last and the samples flattened: rows (M, C), labels (M,).
    """
    labels = tensor_arg(op, "target", target).data
    if labels.dtype.kind not in "iu":
        raise TypeError(f"{op}: target must hold class indices (an integer tensor, e.g. "
                        f"int64), but it is {labels.dtype}; did you pass one-hot or "
                        "probability targets? Pass target.argmax(dim=1) instead")
    if input.ndim == 0:
        raise ValueError(f"{op}: input must be (N, C), (N, C, d1, ...) or (C,), got a scalar")
    classes = input.shape[0] if input.ndim == 1 else input.shape[1]
    sample_shape = () if input.ndim == 1 else (input.shape[0],) + tuple(input.shape[2:])
    if labels.shape != sample_shape:
        raise ValueError(f"{op}: target shape {labels.shape} does not match input shape "
                         f"{tuple(input.shape)}: expected target shape {sample_shape} "
                         "(input (N, C, ...) of scores, target (N, ...) of class indices)")
    counted = labels if ignore_index is None else labels[labels != ignore_index]
    bad = counted[(counted < 0) | (counted >= classes)]
    if bad.size:
        allowed = "" if ignore_index is None else f" or ignore_index={ignore_index}"
        raise IndexError(f"{op}: target value {int(bad[0])} is out of range for {classes} "
                         f"classes (expected 0..{classes - 1}{allowed})")
    if input.ndim == 1:
        rows = input.reshape(1, classes)
    elif input.ndim == 2:
        rows = input
    else:
        rows = input.permute(0, *range(2, input.ndim), 1).reshape(-1, classes)
    return rows, labels.reshape(-1), sample_shape


def _elementwise_weight(op, weight, input):
    """A per-element rescaling weight: it may broadcast to the input's shape, never
    beyond it (a (N, 1) weight against (N,) input would make an (N, N) loss)."""
    if weight is None:
        return np.ones((), input.dtype)
    weight = unwrap(weight)
    try:
        fits = np.broadcast_shapes(np.shape(weight), input.shape) == input.shape
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(f"{op}: weight of shape {np.shape(weight)} does not broadcast to the "
                         f"input's shape {tuple(input.shape)}")
    return weight


def _class_weights(op, weight, classes, dtype):
    if weight is None:
        return np.ones(classes, dtype)
    weight = np.asarray(unwrap(weight), dtype=dtype)
    if weight.shape != (classes,):
        raise ValueError(f"{op}: weight must have one entry per class, shape ({classes},), "
                         f"got {weight.shape}")
    return weight


# --------------------------------------------------------------------------- cross-entropy
def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean",
                  label_smoothing=0.0):
    """Cross-entropy between softmax(input) over dim 1 and class-index ``target``
    (see :class:`~gradlite.ops.loss.CrossEntropy` for the formula and its gradient)."""
    _check_reduction("cross_entropy", reduction)
    label_smoothing = real_arg("cross_entropy", "label_smoothing", label_smoothing, 0.0, 1.0)
    input = as_tensor(input)
    if input.dtype.kind != "f":
        raise TypeError(f"cross_entropy: input must be floating point scores, got {input.dtype}")
    rows, labels, sample_shape = _class_rows("cross_entropy", input, target, ignore_index)
    weight = _class_weights("cross_entropy", weight, rows.shape[1], input.dtype)
    loss = CrossEntropy.apply(rows, labels, weight, ignore_index, reduction, label_smoothing)
    return loss.reshape(sample_shape) if reduction == "none" else loss


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    """Negative log-likelihood of log-probabilities ``input`` (N, C, ...):
    loss_i = -w_(y_i) input[i, y_i];  'mean' divides by sum_i w_(y_i) over rows not ignored.
    The gradient is -w_(y_i) at [i, y_i] and 0 elsewhere."""
    _check_reduction("nll_loss", reduction)
    input = as_tensor(input)
    rows, labels, sample_shape = _class_rows("nll_loss", input, target, ignore_index)
    weight = _class_weights("nll_loss", weight, rows.shape[1], input.dtype)
    kept = labels != ignore_index
    safe_labels = np.where(kept, labels, 0)
    row_weights = weight[safe_labels] * kept
    picked = where(kept, rows[np.arange(len(labels)), safe_labels], 0.0)  # ignored: 0, even if -inf
    losses = picked * -row_weights
    if reduction == "none":
        return losses.reshape(sample_shape)
    if reduction == "sum":
        return losses.sum()
    total = row_weights.sum()
    if not total:   # no row counted: nan, with gradient 0, as in PyTorch
        return losses.sum() * 0.0 + float("nan")
    return losses.sum() / total


def multi_margin_loss(input, target, p=1, margin=1.0, weight=None, reduction="mean"):
    """The multi-class SVM (hinge) loss on scores s = input (N, C):

        loss_i = w_(y_i) / C * sum_(j != y_i) max(0, margin - s_(i,y_i) + s_ij)^p

    (p is 1 or 2). The gradient of each active term is +1 (p = 1) or 2 h (p = 2)
    on s_ij and the negative on s_(i,y_i)."""
    _check_reduction("multi_margin_loss", reduction)
    if p not in (1, 2):
        raise ValueError(f"multi_margin_loss: p must be 1 or 2, got {p}")
    input = as_tensor(input)
    if input.ndim > 2:
        raise ValueError(f"multi_margin_loss: input must be (N, C) or (C,), got shape "
                         f"{tuple(input.shape)}")
    rows, labels, sample_shape = _class_rows("multi_margin_loss", input, target)
    count, classes = rows.shape
    true_scores = rows[np.arange(count), labels].reshape(-1, 1)
    hinge = (rows - true_scores + margin).relu()
    if p == 2:
        hinge = hinge * hinge
    others = (labels[:, None] != np.arange(classes)).astype(input.dtype)
    scale = others * (_class_weights("multi_margin_loss", weight, classes, input.dtype)[labels, None]
                      / classes)
    losses = (hinge * scale).sum(dim=1).reshape(sample_shape)
    return _reduce(losses, reduction)


# --------------------------------------------------------------------------- binary
def binary_cross_entropy(input, target, weight=None, reduction="mean"):
    """Binary cross-entropy of probabilities ``input`` in [0, 1] against ``target``
    (see :class:`~gradlite.ops.loss.BinaryCrossEntropy`)."""
    _check_reduction("binary_cross_entropy", reduction)
    input = as_tensor(input)
    target = _same_shape("binary_cross_entropy", input, target)
    if input.data.size and (input.data.min() < 0 or input.data.max() > 1):
        raise ValueError("binary_cross_entropy: all elements of input must be probabilities "
                         f"in [0, 1], found values in [{input.data.min()}, {input.data.max()}]"
                         "; for raw scores use binary_cross_entropy_with_logits")
    weight = _elementwise_weight("binary_cross_entropy", weight, input)
    return _reduce(BinaryCrossEntropy.apply(input, target, weight), reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean",
                                     pos_weight=None):
    """Sigmoid and binary cross-entropy in one numerically stable step (see
    :class:`~gradlite.ops.loss.BinaryCrossEntropyWithLogits`); ``pos_weight`` broadcasts
    over the last dim."""
    _check_reduction("binary_cross_entropy_with_logits", reduction)
    input = as_tensor(input)
    target = _same_shape("binary_cross_entropy_with_logits", input, target)
    weight = _elementwise_weight("binary_cross_entropy_with_logits", weight, input)
    pos_weight = np.ones((), input.dtype) if pos_weight is None else unwrap(pos_weight)
    loss = BinaryCrossEntropyWithLogits.apply(input, target, weight, pos_weight)
    return _reduce(loss, reduction)


# --------------------------------------------------------------------------- regression
def mse_loss(input, target, reduction="mean"):
    """l = (x - y)^2;  dl/dx = 2 (x - y)."""
    _check_reduction("mse_loss", reduction)
    input = as_tensor(input)
    if input.dtype.kind != "f":
        raise TypeError(f"mse_loss: input must be floating point, got {input.dtype} (as "
                        "PyTorch; convert with input.float())")
    difference = input - _same_shape("mse_loss", input, target)
    return _reduce(difference * difference, reduction)


def l1_loss(input, target, reduction="mean"):
    """l = |x - y|;  dl/dx = sign(x - y)."""
    _check_reduction("l1_loss", reduction)
    input = as_tensor(input)
    return _reduce((input - _same_shape("l1_loss", input, target)).abs(), reduction)


def huber_loss(input, target, reduction="mean", delta=1.0):
    """With d = x - y:  l = d^2 / 2 if |d| < delta, else delta (|d| - delta / 2);
    dl/dx = d, or delta sign(d): squared near 0, linear (robust) far away."""
    _check_reduction("huber_loss", reduction)
    if real_arg("huber_loss", "delta", delta) <= 0:
        raise ValueError(f"huber_loss: delta must be positive, got {delta}")
    input = as_tensor(input)
    d = input - _same_shape("huber_loss", input, target)
    size = d.abs()
    return _reduce(where(size.data < delta, d * d * 0.5, (size - 0.5 * delta) * delta), reduction)


def smooth_l1_loss(input, target, reduction="mean", beta=1.0):
    """With d = x - y:  l = d^2 / (2 beta) if |d| < beta, else |d| - beta / 2
    (huber_loss / beta; beta = 0 is the L1 loss)."""
    _check_reduction("smooth_l1_loss", reduction)
    if real_arg("smooth_l1_loss", "beta", beta) < 0:
        raise ValueError(f"smooth_l1_loss: beta must be non-negative, got {beta}")
    if beta == 0:
        return l1_loss(input, target, reduction)
    input = as_tensor(input)
    d = input - _same_shape("smooth_l1_loss", input, target)
    size = d.abs()
    return _reduce(where(size.data < beta, d * d * (0.5 / beta), size - 0.5 * beta), reduction)


# --------------------------------------------------------------------------- modules
class _Loss(Module):
    def __init__(self, reduction="mean"):
        super().__init__()
        _check_reduction(type(self).__name__, reduction)
        self.reduction = reduction


class _WeightedLoss(_Loss):
    """A loss with optional per-class ``weight``, kept as a buffer (as in PyTorch)."""

    def __init__(self, weight=None, reduction="mean"):
        super().__init__(reduction)
        self.register_buffer("weight", None if weight is None else as_tensor(weight))


class MSELoss(_Loss):
    """Mean squared error, ``F.mse_loss``."""

    def forward(self, input, target):
        return mse_loss(input, target, self.reduction)


class L1Loss(_Loss):
    """Mean absolute error, ``F.l1_loss``."""

    def forward(self, input, target):
        return l1_loss(input, target, self.reduction)


class HuberLoss(_Loss):
    """``F.huber_loss`` with threshold ``delta``."""

    def __init__(self, reduction="mean", delta=1.0):
        super().__init__(reduction)
        self.delta = delta

    def forward(self, input, target):
        return huber_loss(input, target, self.reduction, self.delta)


class SmoothL1Loss(_Loss):
    """``F.smooth_l1_loss`` with threshold ``beta``."""

    def __init__(self, reduction="mean", beta=1.0):
        super().__init__(reduction)
        self.beta = beta

    def forward(self, input, target):
        return smooth_l1_loss(input, target, self.reduction, self.beta)


class CrossEntropyLoss(_WeightedLoss):
    """``F.cross_entropy``: softmax + negative log-likelihood on class indices."""

    def __init__(self, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
        super().__init__(weight, reduction)
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing

    def forward(self, input, target):
        return cross_entropy(input, target, self.weight, self.ignore_index, self.reduction,
                             self.label_smoothing)


class NLLLoss(_WeightedLoss):
    """``F.nll_loss``: negative log-likelihood of log-probabilities."""

    def __init__(self, weight=None, ignore_index=-100, reduction="mean"):
        super().__init__(weight, reduction)
        self.ignore_index = ignore_index

    def forward(self, input, target):
        return nll_loss(input, target, self.weight, self.ignore_index, self.reduction)


class BCELoss(_WeightedLoss):
    """``F.binary_cross_entropy`` on probabilities."""

    def forward(self, input, target):
        return binary_cross_entropy(input, target, self.weight, self.reduction)


class BCEWithLogitsLoss(_WeightedLoss):
    """``F.binary_cross_entropy_with_logits`` on raw scores; ``pos_weight`` is a buffer."""

    def __init__(self, weight=None, reduction="mean", pos_weight=None):
        super().__init__(weight, reduction)
        self.register_buffer("pos_weight", None if pos_weight is None else as_tensor(pos_weight))

    def forward(self, input, target):
        return binary_cross_entropy_with_logits(input, target, self.weight, self.reduction,
                                                self.pos_weight)


class MultiMarginLoss(_WeightedLoss):
    """``F.multi_margin_loss``: the multi-class SVM hinge loss."""

    def __init__(self, p=1, margin=1.0, weight=None, reduction="mean"):
        super().__init__(weight, reduction)
        if p not in (1, 2):
            raise ValueError(f"MultiMarginLoss: p must be 1 or 2, got {p}")
        self.p, self.margin = p, margin

    def forward(self, input, target):
        return multi_margin_loss(input, target, self.p, self.margin, self.weight, self.reduction)

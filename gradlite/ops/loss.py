"""Losses as differentiable ops, where one fused op is more accurate or cheaper than
its composition (log_softmax fused into the cross-entropy; the logs of the binary
cross-entropy clamped as PyTorch clamps them). ``nn.functional`` checks the arguments
and reduces; the other losses are composites written there with Tensor operations.
"""
import numpy as np

from ..autograd import Function
from .activation import log_softmax_array
from .elementwise import Where


class CrossEntropy(Function):
    """Cross-entropy of softmax(z) with class-index targets, fused with log_softmax.

    Row i has logits z_i (C classes), label y_i, class weights w (default 1) and
    label smoothing e. Its target weights are

        t_ic = (1 - e) w_c [c = y_i] + (e / C) w_c       (t_i = 0 if y_i is ignored)

    and with p_i = softmax(z_i):

        loss_i = -sum_c t_ic log p_ic,       dloss_i/dz_i = (sum_c t_ic) p_i - t_i

    (for e = 0 and no weights: p_i - onehot(y_i)). 'sum' adds the loss_i; 'mean'
    divides that sum by the total weight sum_i w_(y_i) of the rows not ignored.
    """

    @staticmethod
    def forward(ctx, logits, labels, weight, ignore_index, reduction, label_smoothing):
        rows, classes = logits.shape
        kept = labels != ignore_index
        safe_labels = np.where(kept, labels, 0)
        targets = np.zeros_like(logits)
        targets[np.arange(rows), safe_labels] = (1 - label_smoothing) * weight[safe_labels] * kept
        if label_smoothing:
            targets += (label_smoothing / classes) * weight * kept[:, None].astype(logits.dtype)
        log_probs = log_softmax_array(logits, 1)
        # 0 * log p is 0 even where p = 0 (a masked -inf logit, an ignored row)
        losses = -np.multiply(targets, log_probs, out=np.zeros_like(log_probs),
                              where=targets != 0).sum(axis=1)
        ctx.targets, ctx.reduction = targets, reduction
        ctx.divisor = (weight[safe_labels] * kept).sum() if reduction == "mean" else 1
        ctx.save_for_backward(logits)
        if reduction == "none":
            return losses
        with np.errstate(invalid="ignore", divide="ignore"):  # all rows ignored: nan, as torch
            return np.asarray(losses.sum() / ctx.divisor, dtype=logits.dtype)

    @staticmethod
    def backward(ctx, g):
        logits, = ctx.saved_tensors
        targets = ctx.targets
        if ctx.reduction == "none":
            per_row = g.reshape(-1, 1)
        else:   # no row counted (divisor 0): the loss is nan, its gradient 0, as in PyTorch
            per_row = g * (1 / ctx.divisor if ctx.divisor else 0.0)
        row_weight = targets.sum(axis=1, keepdims=True)
        d_logits = logits.softmax(dim=1) * row_weight - targets
        d_logits = Where.apply(row_weight != 0, d_logits, 0.0)   # ignored rows: exactly 0
        return d_logits * per_row, None, None, None, None, None


class BinaryCrossEntropy(Function):
    """l = -w (y log x + (1 - y) log(1 - x)), each log clamped at -100 (as PyTorch,
    so x = 0 or 1 gives a finite loss);

    dl/dx = w (x - y) / max(x (1 - x), 1e-12),   dl/dy = w (log(1 - x) - log x).
    """

    @staticmethod
    def forward(ctx, x, y, weight):
        with np.errstate(divide="ignore"):
            ctx.log_x = np.maximum(np.log(x), -100)
            ctx.log_1mx = np.maximum(np.log1p(-x), -100)
        ctx.weight = weight
        ctx.save_for_backward(x, y)
        return -weight * (y * ctx.log_x + (1 - y) * ctx.log_1mx)

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        g = g * ctx.weight
        return ctx.needed(lambda: g * (x - y) / (x * (1 - x)).clamp(min=1e-12),
                          lambda: g * (ctx.log_1mx - ctx.log_x),
                          lambda: None)


class BinaryCrossEntropyWithLogits(Function):
    """Binary cross-entropy of sigmoid(x), with positive-class weight q (default 1):

        l = -w (q y log s(x) + (1 - y) log(1 - s(x)))
          = w ((1 - y) x + (1 + (q - 1) y) softplus(-x)),

    softplus(-x) = log(1 + e^-x) = max(-x, 0) + log(1 + e^-|x|) never overflows.

        dl/dx = w (s(x) (q y + 1 - y) - q y),   dl/dy = w ((q - 1) softplus(-x) - x).
    """

    @staticmethod
    def forward(ctx, x, y, weight, pos_weight):
        ctx.softplus_neg_x = np.maximum(-x, 0) + np.log1p(np.exp(-np.abs(x)))
        ctx.weight, ctx.pos_weight = weight, pos_weight
        ctx.save_for_backward(x, y)
        return weight * ((1 - y) * x + (1 + (pos_weight - 1) * y) * ctx.softplus_neg_x)

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        g, q = g * ctx.weight, ctx.pos_weight
        return ctx.needed(lambda: g * (x.sigmoid() * (y * q + 1 - y) - y * q),
                          lambda: g * ((q - 1) * ctx.softplus_neg_x - x),
                          lambda: None, lambda: None)

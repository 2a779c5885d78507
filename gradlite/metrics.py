"""Classification metrics and plots.

Inputs may be numpy arrays, lists or gradlite Tensors (anything with ``.numpy()`` or
``.data``); nothing here records autograd history.  Predictions are either class
indices with the target's shape, or scores/logits with one more (last) axis of size C,
in which case the predicted class is the arg-max.

Conventions follow scikit-learn: in a confusion matrix, row i is the true class and
column j the predicted class; a ratio whose denominator is 0 (e.g. precision of a class
never predicted) is 0, without a warning.
"""
import numbers
from collections import namedtuple

import numpy as np

PrecisionRecallF1 = namedtuple("PrecisionRecallF1", ["precision", "recall", "f1"])


def _numpy(x):
    """The values of ``x`` as a numpy array (a Tensor's ``.numpy()``/``.data``), no autograd."""
    if isinstance(x, np.ndarray):
        return x
    if callable(getattr(x, "numpy", None)):
        return np.asarray(x.numpy())
    data = getattr(x, "data", None)
    return data if isinstance(data, np.ndarray) else np.asarray(x)


def _class_indices(pred, target, name="pred"):
    """Turn ``pred`` into integer class indices shaped like ``target``."""
    pred, target = _numpy(pred), _numpy(target)
    if pred.ndim == target.ndim + 1:
        pred = pred.argmax(axis=-1)
    if pred.shape != target.shape:
        raise ValueError(f"{name} has shape {pred.shape} but target has shape {target.shape}; "
                         "expected class indices of the target's shape or scores with one "
                         "more (class) axis")
    if pred.dtype.kind == "f" and not np.all(pred == np.round(pred)):
        raise ValueError(f"{name} holds non-integer values with the target's shape; pass class "
                         "indices, or scores of shape (N, C)")
    return pred.astype(np.int64).ravel(), target.astype(np.int64).ravel()


def accuracy(pred_or_logits, target):
    """Fraction of samples whose predicted class equals the target: ``mean(pred == target)``."""
    pred, target = _class_indices(pred_or_logits, target, "pred_or_logits")
    if target.size == 0:
        raise ValueError("accuracy: empty input")
    return float(np.mean(pred == target))


def top_k_accuracy(logits, target, k=5):
    """Fraction of samples whose target is among the ``k`` highest scores
    (ImageNet's top-5 error is ``1 - top_k_accuracy(logits, target, 5)``)."""
    scores, target = _numpy(logits), _numpy(target).astype(np.int64)
    if scores.ndim != 2 or target.shape != scores.shape[:1]:
        raise ValueError(f"top_k_accuracy: expected logits (N, C) and target (N,), got "
                         f"{scores.shape} and {target.shape}")
    if not 1 <= k <= scores.shape[1]:
        raise ValueError(f"top_k_accuracy: k must be in 1..{scores.shape[1]} (the number of "
                         f"classes), got {k}")
    top_k = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    return float(np.mean(np.any(top_k == target[:, None], axis=1)))


def confusion_matrix(pred, target, num_classes=None):
    """``cm[i, j]`` = number of samples of true class i predicted as class j (int64)."""
    pred, target = _class_indices(pred, target)
    if num_classes is None:
        num_classes = int(max(pred.max(initial=0), target.max(initial=0))) + 1
    for name, labels in (("pred", pred), ("target", target)):
        if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
            raise ValueError(f"confusion_matrix: {name} holds labels outside 0..{num_classes - 1}")
    counts = np.bincount(target * num_classes + pred, minlength=num_classes ** 2)
    return counts.reshape(num_classes, num_classes)


def _ratio(numerator, denominator):
    """numerator / denominator elementwise, 0 where the denominator is 0."""
    numerator = np.asarray(numerator, dtype=np.float64)
    return np.divide(numerator, denominator, out=np.zeros_like(numerator),
                     where=np.asarray(denominator) != 0)


def _scores_from_cm(cm):
    """Per-class precision ``tp / (tp + fp)``, recall ``tp / (tp + fn)`` and
    ``f1 = 2 p r / (p + r)``, with the true-positive counts and class supports."""
    tp = np.diag(cm)
    predicted, support = cm.sum(axis=0), cm.sum(axis=1)
    precision, recall = _ratio(tp, predicted), _ratio(tp, support)
    f1 = _ratio(2 * precision * recall, precision + recall)
    return precision, recall, f1, tp, predicted, support


def precision_recall_f1(pred, target, num_classes=None, average=None):
    """Precision, recall and F1 score per class, or averaged.

    average:
        None: arrays with one value per class;
        'macro': the plain mean over the classes that occur in target or pred;
        'weighted': the mean weighted by each class's support (number of true samples);
        'micro': from the summed counts ``sum tp / sum (tp + fp)``; for single-label
            data all three equal the accuracy.
    Returns a named tuple ``(precision, recall, f1)``.
    """
    cm = confusion_matrix(pred, target, num_classes)
    precision, recall, f1, tp, predicted, support = _scores_from_cm(cm)
    if average is None:
        return PrecisionRecallF1(precision, recall, f1)
    if average == "micro":
        p, r = _ratio(tp.sum(), predicted.sum()), _ratio(tp.sum(), support.sum())
        return PrecisionRecallF1(float(p), float(r), float(_ratio(2 * p * r, p + r)))
    if average == "macro":
        weights = ((support + predicted) > 0).astype(np.float64)
    elif average == "weighted":
        weights = support.astype(np.float64)
    else:
        raise ValueError(f"precision_recall_f1: average must be None, 'macro', 'micro' or "
                         f"'weighted', got {average!r}")
    total = weights.sum()
    return PrecisionRecallF1(*(float(_ratio((v * weights).sum(), total))
                               for v in (precision, recall, f1)))


def classification_report(pred, target, class_names=None, num_classes=None, digits=2):
    """A text table of precision, recall, F1 and support per class, with accuracy and
    the macro and weighted averages, laid out like scikit-learn's."""
    if class_names is not None:
        num_classes = len(class_names)
    cm = confusion_matrix(pred, target, num_classes)
    names = [str(c) for c in (class_names if class_names is not None else range(len(cm)))]
    precision, recall, f1, _, _, support = _scores_from_cm(cm)
    width = max(len("weighted avg"), *(len(n) for n in names))
    number = f"{{:>9.{digits}f}}"
    header = " " * width + "".join(f"{h:>10}" for h in ("precision", "recall", "f1-score", "support"))
    lines = [header, ""]
    for i, name in enumerate(names):
        cells = "".join(" " + number.format(v) for v in (precision[i], recall[i], f1[i]))
        lines.append(f"{name:>{width}}{cells}{support[i]:>10}")
    lines.append("")
    total = int(support.sum())
    acc = float(np.trace(cm)) / total if total else 0.0
    lines.append(f"{'accuracy':>{width}}" + " " * 20 + " " + number.format(acc) + f"{total:>10}")
    for average, label in (("macro", "macro avg"), ("weighted", "weighted avg")):
        values = precision_recall_f1(pred, target, len(cm), average)
        cells = "".join(" " + number.format(v) for v in values)
        lines.append(f"{label:>{width}}{cells}{total:>10}")
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------- plots

def _figure(function_name, **kwargs):
    """A matplotlib Figure drawn with the Agg backend (no display, no pyplot state)."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError(f"{function_name} needs matplotlib, which is not installed: "
                          "pip install matplotlib (or pip install 'gradlite[plot]')") from None
    return Figure(**kwargs)


def plot_confusion_matrix(cm, path, class_names=None, title="Confusion matrix"):
    """Save the confusion matrix ``cm`` as a PNG heat map with the counts written in."""
    cm = _numpy(cm)
    n = len(cm)
    names = [str(c) for c in (class_names if class_names is not None else range(n))]
    fig = _figure("plot_confusion_matrix", figsize=(1.0 + 0.5 * n, 0.8 + 0.5 * n), dpi=100)
    ax = fig.add_subplot()
    image = ax.imshow(cm, cmap="Blues")
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    ax.set(xticks=range(n), yticks=range(n), xticklabels=names, yticklabels=names,
           xlabel="predicted", ylabel="true", title=title)
    ax.tick_params(axis="x", labelrotation=45 if max(map(len, names)) > 2 else 0)
    threshold = cm.max() / 2 if cm.size else 0
    for i in range(n):
        for j in range(n):
            ax.text(j, i, f"{cm[i, j]:g}", ha="center", va="center", fontsize=8,
                    color="white" if cm[i, j] > threshold else "black")
    fig.tight_layout()
    fig.savefig(path)
    return path


def _is_curve(values):
    """True for a non-empty list/array of plain numbers."""
    return (isinstance(values, (list, tuple, np.ndarray)) and len(values) > 0
            and all(isinstance(v, numbers.Real) for v in values))


def plot_history(history, path):
    """Save training curves as a PNG: one panel per quantity, 'x' and 'val_x' together.

    ``history`` is a dict of per-epoch lists, e.g. ``{'loss': [...], 'val_loss': [...],
    'accuracy': [...], 'val_accuracy': [...]}``; non-numeric entries are skipped.
    """
    panels = {}
    for key, values in history.items():
        if _is_curve(values):
            panels.setdefault(key.removeprefix("val_"), []).append(key)
    if not panels:
        raise ValueError("plot_history: history holds no per-epoch lists of numbers")
    fig = _figure("plot_history", figsize=(4.5 * len(panels), 3.5), dpi=100)
    for k, (quantity, keys) in enumerate(panels.items()):
        ax = fig.add_subplot(1, len(panels), k + 1)
        for key in sorted(keys, key=lambda name: name.startswith("val_")):
            values = np.asarray(history[key], dtype=np.float64)
            ax.plot(np.arange(1, len(values) + 1), values, marker="o", markersize=3, label=key)
        ax.set(xlabel="epoch", title=quantity)
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    return path

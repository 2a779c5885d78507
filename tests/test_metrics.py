"""Tests for gradlite.metrics against hand-computed cases."""
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gradlite import metrics as M
from gradlite.tensor import Tensor

# 10 samples, 4 classes; class 3 is never predicted.
TARGET = np.array([0, 0, 1, 1, 2, 2, 2, 0, 1, 3])
PRED = np.array([0, 1, 1, 1, 2, 0, 2, 0, 2, 2])
# rows = true class, columns = predicted class, counted by hand
CM = np.array([[2, 1, 0, 0],
               [0, 2, 1, 0],
               [1, 0, 2, 0],
               [0, 0, 1, 0]])


def test_accuracy_from_labels_logits_and_tensors():
    assert M.accuracy(PRED, TARGET) == pytest.approx(0.6)
    logits = np.eye(4)[PRED] * 3.0 - 1.0
    assert M.accuracy(logits, TARGET) == pytest.approx(0.6)
    assert M.accuracy(Tensor(logits.astype(np.float32)), Tensor(TARGET)) == pytest.approx(0.6)
    assert M.accuracy([1, 2], [1, 2]) == 1.0


def test_accuracy_rejects_mismatched_or_fractional_input():
    with pytest.raises(ValueError, match=r"shape \(3,\) but target has shape \(2,\)"):
        M.accuracy([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="non-integer"):
        M.accuracy(np.array([0.2, 0.9]), np.array([0, 1]))
    with pytest.raises(ValueError, match="empty"):
        M.accuracy(np.zeros((0, 3)), np.zeros(0, int))


def test_top_k_accuracy_by_hand():
    logits = np.array([[0.1, 0.5, 0.4],   # target 2: second best
                       [0.7, 0.2, 0.1],   # target 0: best
                       [0.5, 0.3, 0.2]])  # target 2: worst
    target = np.array([2, 0, 2])
    assert M.top_k_accuracy(logits, target, k=1) == pytest.approx(1 / 3)
    assert M.top_k_accuracy(logits, target, k=2) == pytest.approx(2 / 3)
    assert M.top_k_accuracy(logits, target, k=3) == 1.0
    with pytest.raises(ValueError, match=r"k must be in 1..3"):
        M.top_k_accuracy(logits, target, k=5)


def test_confusion_matrix_by_hand():
    np.testing.assert_array_equal(M.confusion_matrix(PRED, TARGET), CM)
    assert M.confusion_matrix(PRED, TARGET, num_classes=6).shape == (6, 6)
    with pytest.raises(ValueError, match=r"target holds labels outside 0..2"):
        M.confusion_matrix(PRED, TARGET, num_classes=3)


@given(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 4)), min_size=1, max_size=50))
def test_confusion_matrix_properties(pairs):
    pred, target = np.array(pairs).T
    cm = M.confusion_matrix(pred, target, num_classes=5)
    assert cm.sum() == len(pairs)
    np.testing.assert_array_equal(cm.sum(axis=1), np.bincount(target, minlength=5))
    assert np.trace(cm) / len(pairs) == pytest.approx(M.accuracy(pred, target))
    micro = M.precision_recall_f1(pred, target, 5, average="micro")
    assert tuple(micro) == pytest.approx((M.accuracy(pred, target),) * 3)


def test_per_class_precision_recall_f1_by_hand():
    result = M.precision_recall_f1(PRED, TARGET)
    np.testing.assert_allclose(result.precision, [2 / 3, 2 / 3, 2 / 4, 0])
    np.testing.assert_allclose(result.recall, [2 / 3, 2 / 3, 2 / 3, 0])
    np.testing.assert_allclose(result.f1, [2 / 3, 2 / 3, 4 / 7, 0])


def test_averages_by_hand():
    macro = M.precision_recall_f1(PRED, TARGET, average="macro")
    assert macro.precision == pytest.approx((2 / 3 + 2 / 3 + 1 / 2 + 0) / 4)
    assert macro.f1 == pytest.approx((2 / 3 + 2 / 3 + 4 / 7) / 4)
    weighted = M.precision_recall_f1(PRED, TARGET, average="weighted")
    assert weighted.precision == pytest.approx((3 * 2 / 3 + 3 * 2 / 3 + 3 * 0.5) / 10)
    assert weighted.recall == pytest.approx(0.6)
    with pytest.raises(ValueError, match="average must be None, 'macro'"):
        M.precision_recall_f1(PRED, TARGET, average="mean")


def test_zero_division_gives_zero_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = M.precision_recall_f1([0, 0], [0, 0], num_classes=3)
        np.testing.assert_array_equal(result.precision, [1, 0, 0])
        assert M.precision_recall_f1([0, 0], [0, 0], num_classes=3, average="macro").f1 == 1.0


def test_classification_report_layout():
    report = M.classification_report(PRED, TARGET, class_names=["zero", "one", "two", "three"])
    lines = report.splitlines()
    assert lines[0].split() == ["precision", "recall", "f1-score", "support"]
    assert lines[2].split() == ["zero", "0.67", "0.67", "0.67", "3"]
    assert lines[4].split() == ["two", "0.50", "0.67", "0.57", "3"]
    assert lines[7].split() == ["accuracy", "0.60", "10"]
    assert lines[8].split() == ["macro", "avg", "0.46", "0.50", "0.48", "10"]
    assert lines[9].split() == ["weighted", "avg", "0.55", "0.60", "0.57", "10"]
    assert len({len(line) for line in lines if line}) == 1  # columns line up


def test_plots_write_pngs(tmp_path):
    pytest.importorskip("matplotlib")
    cm_path = M.plot_confusion_matrix(CM, tmp_path / "cm.png", class_names=list("abcd"))
    history = {"loss": [1.0, 0.5, 0.3], "val_loss": [1.1, 0.7, 0.6],
               "accuracy": [0.5, 0.8, 0.9], "val_accuracy": [0.4, 0.7, 0.8], "model": "lenet"}
    history_path = M.plot_history(history, tmp_path / "history.png")
    for path in (cm_path, history_path):
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="no per-epoch lists"):
        M.plot_history({"model": "lenet"}, tmp_path / "none.png")


def test_missing_matplotlib_is_explained(monkeypatch, tmp_path):
    import sys
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ImportError, match="plot_history needs matplotlib"):
        M.plot_history({"loss": [1.0]}, tmp_path / "h.png")

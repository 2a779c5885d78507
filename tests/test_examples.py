"""Every example in ``examples/`` runs in its quick mode and prints its key numbers;
the ```python blocks of ``docs/guide.md`` run as written.

The examples are imported by path (they are scripts, not a package), so these tests
need a source checkout: they skip when ``examples/`` is not next to ``tests/``.
Sizes are cut to the bone here; each example's own defaults are larger.
"""
import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
GUIDE = ROOT / "docs" / "guide.md"

pytestmark = pytest.mark.skipif(not EXAMPLES.is_dir(), reason="examples/ not found next to tests/")


def run_example(name, args, tmp_path, capsys):
    """Import examples/<name>.py fresh, call main(args + --out tmp_path); return (result, stdout)."""
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    result = module.main([*args, "--out", str(tmp_path)])
    return result, capsys.readouterr().out


def has_picture(tmp_path, name):
    pytest.importorskip("matplotlib")
    return (tmp_path / f"{name}.png").is_file()


def test_chain_rule(tmp_path, capsys):
    result, out = run_example("chain_rule", [], tmp_path, capsys)
    assert result == {"q": 3.0, "f": -12.0, "x": -4.0, "y": -4.0, "z": 3.0}
    assert "q = 3, f = -12, df/dx = -4, df/dy = -4, df/dz = 3" in out
    dot = (tmp_path / "chain_rule.dot").read_text()
    assert dot.startswith("digraph") and "grad -4.0000" in dot
    assert ("chain_rule.svg" in out) or ("Graphviz" in out)


def test_neuron(tmp_path, capsys):
    result, out = run_example("neuron", [], tmp_path, capsys)
    assert "h1 = 0.90  h2 = 0.17  out = 0.76" in out
    assert result["loss_after"] < result["loss_before"]
    assert has_picture(tmp_path, "neuron")


def test_higher_order(tmp_path, capsys):
    result, out = run_example("higher_order", [], tmp_path, capsys)
    assert result["max_error"] < 1e-10
    assert "order 4" in out
    assert has_picture(tmp_path, "higher_order")


def test_custom_op(tmp_path, capsys):
    _, out = run_example("custom_op", [], tmp_path, capsys)
    assert "gradcheck(Softplus):     True" in out
    assert "gradgradcheck(Softplus): True" in out
    assert "caught the bug" in out
    assert has_picture(tmp_path, "custom_op")


def test_convolution_by_hand(tmp_path, capsys):
    result, out = run_example("convolution_by_hand", [], tmp_path, capsys)
    assert result["conv"].tolist() == [[4, 3, 4], [2, 4, 3], [2, 3, 4]]
    assert result["pooled"].tolist() == [[20, 30], [112, 37]]
    assert "[[4 3 4]" in out and "[112  37]]" in out
    assert has_picture(tmp_path, "convolution_by_hand")


def test_mnist_mlp(tmp_path, capsys):
    result, out = run_example("mnist_mlp", ["--train-size", "256", "--test-size", "200",
                                            "--epochs", "1"], tmp_path, capsys)
    assert "669,706 parameters" in out and "test accuracy" in out
    assert result["accuracy"] > 0.3          # far above chance (0.1) even after 2 batches
    assert has_picture(tmp_path, "mnist_mlp")


def test_mnist_lenet(tmp_path, capsys):
    result, out = run_example("mnist_lenet", ["--train-size", "128", "--test-size", "100",
                                              "--epochs", "1"], tmp_path, capsys)
    assert "61,706 parameters" in out
    assert "precision" in out and "recall" in out and "confusion matrix" in out
    assert result["confusion_matrix"].sum() == 100
    assert has_picture(tmp_path, "mnist_lenet")


def test_keras_style(tmp_path, capsys):
    result, out = run_example("keras_style", ["--epochs", "3"], tmp_path, capsys)
    assert "768 rows, 8 features" in out and "held-out accuracy" in out
    assert result["test_accuracy"] > 0.6
    assert has_picture(tmp_path, "keras_style")


def test_gradient_descent(tmp_path, capsys):
    result, out = run_example("gradient_descent", ["--epochs", "40"], tmp_path, capsys)
    final = result["final"]
    assert final["right (0.3)"] < 3 < final["too small (0.005)"]
    assert final["too large (1.05)"] > 1e4          # diverged
    assert "least squares" in out
    assert has_picture(tmp_path, "gradient_descent")


def test_optimizers(tmp_path, capsys):
    result, out = run_example("optimizers", ["--steps", "300"], tmp_path, capsys)
    assert set(result) == {"SGD", "momentum", "Adagrad", "Adadelta", "RMSprop", "Adam"}
    assert result["Adam"] < result["SGD"]
    assert has_picture(tmp_path, "optimizers")


def test_overfitting(tmp_path, capsys):
    result, out = run_example("overfitting", ["--epochs", "4", "--train-size", "64",
                                              "--val-size", "100"], tmp_path, capsys)
    assert set(result) == {"plain", "dropout", "dropout + early stopping"}
    assert "best val loss" in out
    assert has_picture(tmp_path, "overfitting")


def test_augmentation(tmp_path, capsys):
    result, out = run_example("augmentation", ["--train-size", "64", "--test-size", "100",
                                               "--epochs", "2"], tmp_path, capsys)
    assert 0 <= result["plain"] <= 1 and 0 <= result["augmented"] <= 1
    assert "gain:" in out
    assert has_picture(tmp_path, "augmentation")


def test_transfer_learning(tmp_path, capsys):
    result, out = run_example("transfer_learning", [
        "--pretrain-per-class", "20", "--pretrain-epochs", "1", "--shots", "3",
        "--finetune-epochs", "2", "--test-per-class", "10"], tmp_path, capsys)
    assert "trainable parameters: 1285 of 4709" in out
    assert set(result) == {"transfer", "scratch"}
    assert has_picture(tmp_path, "transfer_learning")


def test_universal_approximation(tmp_path, capsys):
    result, out = run_example("universal_approximation", ["--steps", "300", "--widths", "2", "20"],
                              tmp_path, capsys)
    assert result[20] < result[2]
    assert has_picture(tmp_path, "universal_approximation")


def test_model_zoo(tmp_path, capsys):
    result, out = run_example("model_zoo", ["--train-size", "32", "--test-size", "32"],
                              tmp_path, capsys)
    assert set(result) == {"VGG-style", "ResNet-style", "Inception-style"}
    assert all(r["parameters"] > 1000 for r in result.values())
    assert "Inception-style" in out
    assert has_picture(tmp_path, "model_zoo")


@pytest.mark.skipif(not GUIDE.is_file(), reason="docs/guide.md not found")
def test_guide_code_blocks_run(tmp_path, monkeypatch, capsys):
    """The guide's ```python blocks run top to bottom in one namespace, as a reader would."""
    blocks = re.findall(r"```python\n(.*?)```", GUIDE.read_text(), re.S)
    assert len(blocks) >= 5
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "guide"}
    for number, block in enumerate(blocks):
        exec(compile(block, f"docs/guide.md block {number}", "exec"), namespace)
    out = capsys.readouterr().out
    assert "tensor([6., 2., 4.])" in out
    assert "['conv.weight', 'conv.bias', 'fc.weight', 'fc.bias']" in out


@pytest.mark.skipif(not (ROOT / "docs" / "internals.md").is_file(), reason="docs/internals.md not found")
def test_internals_code_blocks_run(capsys):
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "docs" / "internals.md").read_text(), re.S)
    for number, block in enumerate(blocks):
        exec(compile(block, f"docs/internals.md block {number}", "exec"), {"__name__": "internals"})
    out = capsys.readouterr().out
    assert "-4.0 -4.0 3.0" in out and "tensor([2., 2., 2.])" in out


def test_char_rnn(tmp_path, capsys):
    result, out = run_example("char_rnn", ["--quick"], tmp_path, capsys)
    assert result["loss"] < result["first_loss"] - 0.5      # learning, from ~log(36) = 3.6
    assert result["sample"].startswith("Shall I") and len(result["sample"]) == 167
    assert "final loss" in out and (tmp_path / "char_rnn.txt").is_file()


def test_tiny_transformer(tmp_path, capsys):
    result, out = run_example("tiny_transformer", ["--quick"], tmp_path, capsys)
    assert result["loss"] < result["first_loss"]
    assert result["digit_accuracy"] > 0.3                  # chance is 0.1
    assert "digit accuracy" in out and (tmp_path / "tiny_transformer.txt").is_file()

"""The ``gradlite`` command: exit codes and messages, and a train/evaluate/predict round trip.

Most tests call ``main([...])`` in-process; two run ``python -m gradlite`` for real.
Training uses the MLP on the generated X-or-O images, which takes about a second.
"""
import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import gradlite
from gradlite import cli, train
from gradlite.data import datasets

REPO = Path(__file__).resolve().parents[1]
QUICK = ["--model", "mlp", "--data", "xo", "--epochs", "1", "--quiet"]


def run(capsys, *argv):
    """``main(argv)``'s exit code, stdout and stderr."""
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(err, *fragments):
    assert err.startswith("gradlite: error: ") and err.count("\n") == 1, err
    for fragment in fragments:
        assert fragment in err


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A model.npz from ``gradlite train`` on the X-or-O images (trained once)."""
    out = tmp_path_factory.mktemp("run")
    gradlite.manual_seed(0)
    assert cli.main(["train", *QUICK, "--epochs", "2", "--out", str(out)]) == 0
    return out / "model.npz"


def write_png(path, pixels):
    from PIL import Image
    Image.fromarray(pixels.astype(np.uint8)).save(path)
    return str(path)


# ----------------------------------------------------------------- train

def test_train_prints_accuracy_confusion_matrix_and_saves_outputs(checkpoint, capsys):
    out_dir = checkpoint.parent
    expected = {"model.npz"}
    if importlib.util.find_spec("matplotlib"):  # the pictures need matplotlib
        expected |= {"history.png", "confusion_matrix.png"}
    assert expected <= {p.name for p in out_dir.iterdir()}
    saved = gradlite.load(checkpoint)
    assert (saved["model"], saved["data"], saved["num_classes"]) == ("mlp", "xo", 2)
    assert saved["classes"] == ["O", "X"] and len(saved["history"]["loss"]) == 2


def test_train_output_and_default_directory(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "train", *QUICK, "--optimizer", "momentum",
                         "--schedule", "constant")
    assert code == 0 and err == ""
    assert "test accuracy" in out and "true \\ predicted" in out
    run_dirs = list((tmp_path / "runs").iterdir())
    assert len(run_dirs) == 1 and run_dirs[0].name.startswith("mlp-xo-")
    assert f"in runs/{run_dirs[0].name}\n" in out


@pytest.mark.parametrize("argv, fragment", [
    ([], "required"),
    (["train", "--model", "resnet"], "invalid choice"),
    (["train", "--epochs", "0"], "positive integer"),
    (["train", "--lr", "-1"], "positive number"),
    (["predict", "model.npz"], "IMAGE"),
])
def test_wrong_arguments_exit_with_2(capsys, argv, fragment):
    code, out, err = run(capsys, *argv)
    assert code == 2 and fragment in err


def test_help_exits_with_0(capsys):
    code, out, _ = run(capsys, "train", "--help")
    assert code == 0 and "--optimizer" in out


def test_missing_data_directory(tmp_path, capsys):
    code, _, err = run(capsys, "train", "--data", "mnist", "--data-dir", str(tmp_path / "nope"))
    assert code == 1
    assert_one_line_error(err, "does not exist", "--data-dir")


def test_data_directory_without_the_files(tmp_path, capsys):
    code, _, err = run(capsys, "train", "--data", "fashion-mnist", "--data-dir", str(tmp_path))
    assert code == 1
    assert_one_line_error(err, "not found in", "train-images-idx3-ubyte")


def test_output_directory_that_is_a_file(tmp_path, capsys):
    taken = tmp_path / "taken"
    taken.write_text("")
    code, _, err = run(capsys, "train", *QUICK, "--out", str(taken))
    assert code == 1
    assert_one_line_error(err, f"cannot create the output directory {taken}")

def test_ctrl_c_during_training_saves_and_exits_130(tmp_path, capsys, monkeypatch):
    def fit_then_ctrl_c(model, loader, *args, **kwargs):
        def batches():
            yield next(iter(loader))
            raise KeyboardInterrupt
        return train.fit(model, batches(), *args, **kwargs)

    monkeypatch.setattr(cli, "fit", fit_then_ctrl_c)
    code, out, _ = run(capsys, "train", *QUICK, "--epochs", "3", "--out", str(tmp_path))
    assert code == 130 and "interrupted after 0 complete epoch(s)" in out
    assert cli.load_checkpoint(tmp_path / "model.npz")[1]["model"] == "mlp"


def test_ctrl_c_elsewhere_exits_130(capsys, monkeypatch):
    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(cli, "load_dataset", interrupt)
    code, _, err = run(capsys, "train")
    assert code == 130 and err == "gradlite: interrupted\n"


# ----------------------------------------------------------------- evaluate

def test_evaluate_round_trip(checkpoint, capsys):
    code, out, err = run(capsys, "evaluate", str(checkpoint))
    assert code == 0 and err == ""
    accuracy = float(out.split("test accuracy ")[1].split("%")[0]) / 100
    assert accuracy == pytest.approx(gradlite.load(checkpoint)["history"]["val_accuracy"][-1])
    assert "   O " in out and "   X " in out


def test_evaluate_on_data_with_other_classes(checkpoint, capsys):
    code, _, err = run(capsys, "evaluate", str(checkpoint), "--data", "mnist-small")
    assert code == 1
    assert_one_line_error(err, "classifies 2 classes", "mnist-small has 10")


def test_evaluate_reads_the_data_directory_the_model_was_trained_with(checkpoint, tmp_path,
                                                                      capsys):
    saved = gradlite.load(checkpoint)
    saved.update(data="fashion-mnist", data_dir=str(tmp_path / "gone"))
    moved = tmp_path / "moved.npz"
    gradlite.save(saved, moved)
    code, _, err = run(capsys, "evaluate", str(moved))
    assert code == 1
    assert_one_line_error(err, f"data directory {tmp_path / 'gone'} does not exist")


def test_missing_checkpoint(tmp_path, capsys):
    code, _, err = run(capsys, "evaluate", str(tmp_path / "model.npz"))
    assert code == 1
    assert_one_line_error(err, "not found")


def test_foreign_files_are_refused(tmp_path, capsys):
    text = tmp_path / "notes.npz"
    text.write_text("hello")
    code, _, err = run(capsys, "evaluate", str(text))
    assert code == 1
    assert_one_line_error(err, "not a gradlite checkpoint")

    bare = tmp_path / "weights.npz"
    gradlite.save({"0.weight": np.zeros(3)}, bare)
    code, _, err = run(capsys, "predict", str(bare), "x.png")
    assert code == 1
    assert_one_line_error(err, "not a model saved by `gradlite train`")


def test_checkpoint_of_another_model(checkpoint, tmp_path, capsys):
    saved = gradlite.load(checkpoint)
    saved["model"] = "lenet"
    relabelled = tmp_path / "relabelled.npz"
    gradlite.save(saved, relabelled)
    code, _, err = run(capsys, "evaluate", str(relabelled))
    assert code == 1
    assert_one_line_error(err, "does not fit the lenet model", "Missing key(s)")


# ----------------------------------------------------------------- predict

def test_predict_reads_pngs_and_inverts_light_backgrounds(checkpoint, tmp_path, capsys):
    pytest.importorskip("PIL")
    test_set = datasets.XO(train=False)
    o_image = test_set.data[np.flatnonzero(test_set.targets == 0)[0]]
    x_image = test_set.data[np.flatnonzero(test_set.targets == 1)[0]]
    dark_o = write_png(tmp_path / "o.png", o_image)
    light_x = write_png(tmp_path / "x.png", 255 - x_image)        # dark strokes on white
    code, out, err = run(capsys, "predict", str(checkpoint), dark_o, light_x)
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0].startswith(f"{dark_o}: O (probability ")
    assert lines[1].startswith(f"{light_x}: X (probability ")


def test_predict_unreadable_image(checkpoint, tmp_path, capsys):
    pytest.importorskip("PIL")
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png")
    code, _, err = run(capsys, "predict", str(checkpoint), str(broken))
    assert code == 1
    assert_one_line_error(err, "cannot read image", "broken.png")


def test_predict_without_pillow(checkpoint, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "PIL", None)        # makes `import PIL` fail
    code, _, err = run(capsys, "predict", str(checkpoint), "digit.png")
    assert code == 1
    assert_one_line_error(err, "needs Pillow", "pip install pillow")


# ----------------------------------------------------------------- bench

def test_bench_runs_the_benchmarks_package(tmp_path, capsys, monkeypatch):
    package = tmp_path / "benchmarks"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "__main__.py").write_text(
        "import sys\nprint('bench', sys.argv[1:])\nsys.exit(3)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "benchmarks", raising=False)
    code, out, _ = run(capsys, "bench", "--quick", "conv")
    assert code == 3 and out == "bench ['--quick', 'conv']\n"


def test_bench_without_the_package(capsys, monkeypatch):
    monkeypatch.setattr(cli.importlib.util, "find_spec", lambda name: None)
    code, _, err = run(capsys, "bench")
    assert code == 2 and "python -m benchmarks" in err and err.count("\n") == 1


# ----------------------------------------------------------------- the real entry point

def gradlite_command(*argv, cwd):
    return subprocess.run([sys.executable, "-m", "gradlite", *argv], cwd=cwd,
                          capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})


def test_python_m_gradlite_trains_and_reports_errors(tmp_path):
    done = gradlite_command("train", *QUICK, "--out", "run", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "test accuracy" in done.stdout and (tmp_path / "run" / "model.npz").is_file()
    failed = gradlite_command("evaluate", "missing.npz", cwd=tmp_path)
    assert failed.returncode == 1
    assert failed.stderr == "gradlite: error: checkpoint missing.npz not found\n"


"""The ``gradlite`` command: exit codes and messages, and a train/evaluate/predict round trip.

Most tests call ``main([...])`` in-process; two run ``python -m gradlite`` for real.
Training uses the MLP on the generated X-or-O images, which takes about a second.
"""
import importlib.util
import os
import signal
import subprocess
import sys
import warnings
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
    (["train", "--lr", "-1"], "positive finite number"),
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
    for name in ("benchmarks", "benchmarks.__main__"):   # the stand-in leaves with the test
        monkeypatch.setitem(sys.modules, name, None)
        monkeypatch.delitem(sys.modules, name)
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
    # An uncompiled checkout (CI tests the installed package) also warns once about that.
    assert failed.stderr.splitlines()[-1] == "gradlite: error: checkpoint missing.npz not found"



# ----------------------------------------------------------------- hard edges (issue 16)

@pytest.mark.parametrize("argv, fragment", [
    (["train", "--lr", "inf"], "expected a positive finite number, got 'inf'"),
    (["train", "--lr", "nan"], "expected a positive finite number, got 'nan'"),
    (["train", "--lr", "-0.1"], "expected a positive finite number, got '-0.1'"),
    (["train", "--lr", "fast"], "expected a positive finite number, got 'fast'"),
    (["train", "--seed", "-1"], "--seed: expected a non-negative integer, got '-1'"),
    (["train", "--seed", "1.5"], "--seed: expected a non-negative integer, got '1.5'"),
    (["train", "--epochs", "many"], "--epochs: expected a positive integer, got 'many'"),
])
def test_bad_numbers_are_refused_before_anything_runs(capsys, monkeypatch, argv, fragment):
    monkeypatch.setattr(cli, "load_dataset", pytest.fail)
    code, _, err = run(capsys, *argv)
    assert code == 2 and fragment in err and err.startswith("usage: gradlite train")


@pytest.mark.parametrize("argv, usage", [
    (["train", "--epohcs", "3"], "usage: gradlite train"),
    (["evaluate", "model.npz", "--bath-size", "3"], "usage: gradlite evaluate"),
    (["predict", "model.npz", "a.png", "--verbose"], "usage: gradlite predict"),
])
def test_a_typo_shows_the_subcommands_usage(capsys, argv, usage):
    code, _, err = run(capsys, *argv)
    assert code == 2 and err.startswith(usage)
    assert f"error: unrecognized arguments: {argv[-2] if argv[-1] == '3' else argv[-1]}" in err


def test_version(capsys):
    code, out, _ = run(capsys, "--version")
    assert code == 0 and out == f"gradlite {gradlite.__version__}\n"


def test_an_unwritable_output_directory_is_refused_before_training(tmp_path, capsys,
                                                                   monkeypatch):
    out = tmp_path / "read-only"
    out.mkdir()
    out.chmod(0o555)
    if os.access(out, os.W_OK):             # root writes anywhere: make the probe fail
        def refuse(*args, **kwargs):
            raise PermissionError(13, "Permission denied")
        monkeypatch.setattr(cli.tempfile, "TemporaryFile", refuse)
    monkeypatch.setattr(cli, "fit", pytest.fail)
    code, _, err = run(capsys, "train", *QUICK, "--out", str(out))
    assert code == 1
    assert_one_line_error(err, f"cannot write in the output directory {out}",
                          "Permission denied", "--out")


def failing_save(where, real_save=gradlite.save):
    """A ``save`` that fails with ENOSPC for paths under ``where``."""
    def save(obj, path):
        if str(path).startswith(str(where)):
            raise OSError(28, f"gradlite.save: could not write {path}: No space left on device")
        return real_save(obj, path)
    return save


def test_a_failed_final_save_says_where_and_rescues_the_model(tmp_path, capsys, monkeypatch):
    rescue_dir = tmp_path / "tmp"
    rescue_dir.mkdir()
    monkeypatch.setattr(cli.tempfile, "tempdir", str(rescue_dir))
    monkeypatch.setattr(cli, "save", failing_save(tmp_path / "out"))
    monkeypatch.setattr(cli, "fit", lambda *args, **kwargs: train.History())   # no training
    code, _, err = run(capsys, "train", *QUICK, "--out", str(tmp_path / "out"))
    rescued = rescue_dir / f"gradlite-mlp-{os.getpid()}.npz"
    assert code == 1
    assert_one_line_error(err, f"could not write the model to {tmp_path / 'out' / 'model.npz'} "
                               f"(No space left on device); saved it to {rescued} instead")
    assert cli.load_checkpoint(rescued)[1]["model"] == "mlp"


def test_a_failed_final_save_and_rescue(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(cli.tempfile, "tempdir", str(tmp_path / "tmp"))
    monkeypatch.setattr(cli, "save", failing_save(tmp_path))
    monkeypatch.setattr(cli, "fit", lambda *args, **kwargs: train.History())
    code, _, err = run(capsys, "train", *QUICK, "--out", str(tmp_path / "out"))
    assert code == 1
    assert_one_line_error(err, "could not write the model to", "nor to", "it is lost")


def test_a_diverging_loss_stops_training_with_a_clear_error(tmp_path, capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("error")          # no numpy overflow warnings either
        code, _, err = run(capsys, "train", *QUICK, "--epochs", "3", "--optimizer", "sgd",
                           "--lr", "1e30", "--schedule", "constant", "--out", str(tmp_path))
    assert code == 1
    assert_one_line_error(err, "training diverged: the loss became nan in epoch 1",
                          "try a lower --lr (it was 1e+30)")
    assert not (tmp_path / "model.npz").exists()


def test_sigterm_during_training_saves_and_exits_143(tmp_path):
    process = subprocess.Popen(
        [sys.executable, "-m", "gradlite", "train", "--model", "mlp", "--data", "xo",
         "--epochs", "1000", "--out", "run"], cwd=tmp_path, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    try:
        for line in process.stdout:                 # wait for the first finished epoch
            if line.startswith("epoch 1/1000"):
                break
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=120)
    finally:
        process.kill()
    assert process.returncode == 143, err
    assert "terminated (SIGTERM) after" in out and "Traceback" not in err
    saved = cli.load_checkpoint(tmp_path / "run")[1]
    assert len(saved["history"]["loss"]) >= 1


def test_evaluate_and_predict_accept_the_run_directory(checkpoint, tmp_path, capsys):
    code, out, err = run(capsys, "evaluate", str(checkpoint.parent))
    assert code == 0 and err == "" and "test accuracy" in out
    code, _, err = run(capsys, "evaluate", str(tmp_path))
    assert code == 1
    assert_one_line_error(err, f"no model.npz in the directory {tmp_path}")


def test_predict_reports_a_bad_image_and_predicts_the_others(checkpoint, tmp_path, capsys):
    pytest.importorskip("PIL")
    test_set = datasets.XO(train=False)
    first = {label: np.flatnonzero(test_set.targets == label)[0] for label in (0, 1)}
    o_image = write_png(tmp_path / "o.png", test_set.data[first[0]])
    x_image = write_png(tmp_path / "x.png", test_set.data[first[1]])
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)
    code, out, err = run(capsys, "predict", str(checkpoint.parent), o_image, str(broken),
                         str(tmp_path / "missing.png"), x_image)
    assert code == 1
    assert out.splitlines()[0].startswith(f"{o_image}: O (probability ")
    assert out.splitlines()[1].startswith(f"{x_image}: X (probability ")
    errors = err.splitlines()
    assert len(errors) == 2
    assert all(e.startswith("gradlite: error: cannot read image") for e in errors)
    assert "broken.png" in errors[0] and "missing.png" in errors[1]


def tamper(saved, change):
    saved = dict(saved)
    change(saved)
    return saved


TAMPERINGS = {
    "num_classes-str": lambda s: s.update(num_classes="2"),
    "num_classes-huge": lambda s: s.update(num_classes=10 ** 12),
    "num_classes-bool": lambda s: s.update(num_classes=True, classes=["O"]),
    "classes-empty": lambda s: s.update(classes=[], num_classes=0),
    "classes-ints": lambda s: s.update(classes=[0, 1]),
    "classes-missing": lambda s: s.pop("classes"),
    "normalize-str": lambda s: s.update(normalize=["a", 1.0]),
    "normalize-zero-std": lambda s: s.update(normalize=[0.1, 0.0]),
    "normalize-nan": lambda s: s.update(normalize=[float("nan"), 0.3]),
    "normalize-short": lambda s: s.update(normalize=[0.1]),
    "data-unknown": lambda s: s.update(data="imagenet"),
    "data-dir-int": lambda s: s.update(data_dir=5),
    "model-int": lambda s: s.update(model=5),
    "state_dict-list": lambda s: s.update(state_dict=[1, 2]),
    "state_dict-str-value": lambda s: s.update(state_dict={**s["state_dict"], "0.bias": "x"}),
    "state_dict-str-array": lambda s: s.update(
        state_dict={k: np.full(v.shape, "x") for k, v in s["state_dict"].items()}),
    "state_dict-wrong-shape": lambda s: s.update(
        state_dict={k: np.zeros(v.shape + (1,), v.dtype) for k, v in s["state_dict"].items()}),
}


@pytest.mark.parametrize("name", TAMPERINGS)
def test_tampered_checkpoints_give_one_line_errors(checkpoint, tmp_path, capsys, name):
    path = tmp_path / "tampered.npz"
    gradlite.save(tamper(gradlite.load(checkpoint), TAMPERINGS[name]), path)
    for command in (["evaluate", str(path)], ["predict", str(path), "x.png"]):
        code, _, err = run(capsys, *command)
        assert code == 1
        assert_one_line_error(err, "tampered.npz")


def with_header_edited(checkpoint, path, old, new):
    """A copy of ``checkpoint`` at ``path`` whose JSON header has ``old`` replaced."""
    with np.load(checkpoint) as archive:
        members = {name: archive[name] for name in archive.files}
    header = str(members["__gradlite__"])
    assert old in header
    members["__gradlite__"] = np.array(header.replace(old, new))
    np.savez(path, **members)
    return path.read_bytes()


def test_damaged_checkpoint_files_give_one_line_errors(checkpoint, tmp_path, capsys):
    data = checkpoint.read_bytes()
    path = tmp_path / "damaged.npz"
    middle = len(data) // 2
    lying = with_header_edited(checkpoint, path, '"type": "int", "value": 2}',
                               '"type": "int", "value": "2"}')
    for damaged in (data[:middle], data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1:],
                    lying):
        path.write_bytes(damaged)
        code, _, err = run(capsys, "evaluate", str(path))
        assert code == 1
        assert_one_line_error(err, "damaged.npz is not a gradlite checkpoint")


def test_a_safetensors_file_is_not_a_run(tmp_path, capsys, monkeypatch):
    weights = tmp_path / "weights.safetensors"
    weights.write_bytes(b"")
    monkeypatch.setitem(sys.modules, "safetensors", None)       # not installed
    code, _, err = run(capsys, "evaluate", str(weights))
    assert code == 1
    assert_one_line_error(err, 'pip install "gradlite[safetensors]"')

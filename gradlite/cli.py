"""The ``gradlite`` command: ``train``, ``evaluate``, ``predict`` and ``bench``.

    gradlite train                      # LeNet-5 on the bundled MNIST subset
    gradlite train --data mnist --data-dir ~/data/mnist --epochs 8
    gradlite evaluate runs/latest/model.npz
    gradlite predict runs/latest/model.npz digit.png

``train`` writes ``model.npz`` (a ``gradlite.save`` checkpoint holding the model's
``state_dict`` plus which model, data set, classes and input normalisation it was
trained with, so ``evaluate`` and ``predict`` can rebuild it), ``history.png`` and
``confusion_matrix.png`` (with matplotlib) into an output directory (``--out``, by
default ``runs/<model>-<data>-<time>``) and prints its path.

``evaluate`` and ``predict`` take the checkpoint or the run directory holding it.

Errors the user can fix (bad data directory, foreign or damaged checkpoint, unreadable
image, an output directory that cannot be written) end with one line ``gradlite: error:
...`` on stderr and exit code 1; argparse's usage errors exit with 2 and show the
subcommand's usage. Ctrl-C or SIGTERM during training saves the model so far and exits
with 130 or 143 (128 + the signal number, as the shell reports a killed process).

Adding a command: write ``cmd_<name>(args)`` returning the exit code and register it in
``build_parser`` with ``_add_command(commands, "<name>", cmd_<name>, help=...)``.
"""
import argparse
import importlib.util
import math
import os
import runpy
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from . import __version__, cli_interop, manual_seed, metrics, nn, optim
from .data import DataFileError, DataLoader, DownloadError, datasets, transforms
from .models import MODELS
from .optim.lr_scheduler import OneCycleLR
from .serialization import load, save
from .tensor import Tensor
from .train import Callback, fit, predict

CHECKPOINT_FORMAT = "gradlite-cli-model"
DATA_SETS = ["mnist-small", "mnist", "fashion-mnist", "xo"]
#: Per-data-set input normalisation (mean, std) of the [0, 1] pixels, as in PyTorch's
#: MNIST example; Fashion-MNIST has its own statistics.
NORMALIZATION = {"mnist-small": (0.1307, 0.3081), "mnist": (0.1307, 0.3081),
                 "fashion-mnist": (0.2860, 0.3530), "xo": (0.1307, 0.3081)}
#: Optimizer name -> (builder(params, lr), default lr).
OPTIMIZERS = {
    "sgd": (lambda params, lr: optim.SGD(params, lr=lr), 0.1),
    "momentum": (lambda params, lr: optim.SGD(params, lr=lr, momentum=0.9, nesterov=True), 0.05),
    "adam": (lambda params, lr: optim.Adam(params, lr=lr), 3e-3),
    "adamw": (lambda params, lr: optim.AdamW(params, lr=lr), 3e-3),
    "rmsprop": (lambda params, lr: optim.RMSprop(params, lr=lr), 1e-3),
    "adagrad": (lambda params, lr: optim.Adagrad(params, lr=lr), 3e-2),
}
#: Optimizers whose momentum OneCycleLR cycles (plain SGD, RMSprop, Adagrad keep theirs).
CYCLED_MOMENTUM = {"momentum", "adam", "adamw"}
DEFAULT_EPOCHS = 8
DEFAULT_BATCH_SIZE = 64


class CLIError(Exception):
    """A problem the user can fix; ``main`` prints it as one line and exits with 1."""


class _Interruption:
    """Which signal asked training to stop: SIGINT (Ctrl-C) unless SIGTERM came."""
    signum = signal.SIGINT

    @classmethod
    def exit_code(cls):
        return 128 + cls.signum

    @classmethod
    def what(cls):
        return "interrupted" if cls.signum == signal.SIGINT else "terminated (SIGTERM)"


def _sigterm_as_ctrl_c(signum, frame):
    """SIGTERM (sent by schedulers and ``timeout``) does what Ctrl-C does: during
    training, finish the batch and save; elsewhere, stop."""
    _Interruption.signum = signal.SIGTERM
    on_ctrl_c = signal.getsignal(signal.SIGINT)
    if callable(on_ctrl_c):
        on_ctrl_c(signal.SIGINT, frame)
    else:
        raise KeyboardInterrupt


# ----------------------------------------------------------------- data

def _image_transform(data, augment):
    """Random shifts/rotations/zooms (with ``augment``) followed by normalisation."""
    normalize = transforms.Normalize(*NORMALIZATION[data])
    if not augment:
        return transforms.Compose([transforms.ToTensor(), normalize])
    jitter = transforms.RandomAffine(degrees=10, translate=(0.1, 0.1), scale=(0.9, 1.1))
    return transforms.Compose([transforms.ToTensor(), jitter, normalize])


def load_dataset(data, train, data_dir=None, download=False, augment=False):
    """The train or test split of ``data`` (a ``DATA_SETS`` name), normalised."""
    transform = _image_transform(data, augment and train)
    if data == "mnist-small":
        return datasets.MNISTSmall(train=train, transform=transform)
    if data == "xo":
        return datasets.XO(train=train, transform=transform)
    root = Path(data_dir or Path("data") / data)
    if not root.is_dir() and not download:
        raise CLIError(f"data directory {root} does not exist; pass --data-dir with the "
                       f"folder holding the {data} IDX files, or --download")
    cls = datasets.MNIST if data == "mnist" else datasets.FashionMNIST
    try:
        return cls(root, train=train, transform=transform, download=download)
    except (OSError, DataFileError, DownloadError) as err:
        raise CLIError(str(err)) from None


def _loader(dataset, batch_size, shuffle=False):
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle)


# ----------------------------------------------------------------- checkpoints

def save_checkpoint(path, model, meta, history=None):
    """Write the model's weights and ``meta`` (model/data/classes/normalisation)."""
    save({"format": CHECKPOINT_FORMAT, **meta, "state_dict": model.state_dict(),
          "history": dict(history or {})}, path)


def _save_or_rescue(path, model, meta, history):
    """``save_checkpoint`` to ``path``; if that fails, to the temporary directory, and
    raise a ``CLIError`` saying where the model could not be written (and where it was)."""
    def reason(err):
        return os.strerror(err.errno) if err.errno else str(err)

    try:
        save_checkpoint(path, model, meta, history)
        return
    except OSError as err:
        failure = f"could not write the model to {path} ({reason(err)})"
    rescue = Path(tempfile.gettempdir()) / f"gradlite-{meta['model']}-{os.getpid()}.npz"
    try:
        save_checkpoint(rescue, model, meta, history)
    except OSError as err:
        raise CLIError(f"{failure} nor to {rescue} ({reason(err)}); it is lost") from None
    raise CLIError(f"{failure}; saved it to {rescue} instead")


def _checkpoint_file(path):
    """``path``, or the model.npz in it when it is a run directory."""
    path = Path(path)
    if path.is_dir():
        if not (path / "model.npz").is_file():
            raise CLIError(f"no model.npz in the directory {path}")
        return path / "model.npz"
    if not path.is_file():
        raise CLIError(f"checkpoint {path} not found")
    return path


def _check_meta(path, checkpoint):
    """Refuse a checkpoint whose description of the model is damaged or tampered with."""
    def field(name, ok, expected):
        value = checkpoint.get(name)
        if not ok(value):
            shown = repr(value) if len(repr(value)) <= 60 else f"a {type(value).__name__}"
            raise CLIError(f"{path} is damaged: its {name!r} is {shown}, expected {expected}")

    field("data", lambda v: v in DATA_SETS, f"one of {', '.join(DATA_SETS)}")
    field("classes", lambda v: isinstance(v, list) and v and all(isinstance(c, str) for c in v),
          "a list of class names")
    field("num_classes", lambda v: v == len(checkpoint["classes"]) and type(v) is int,
          f"the number of classes ({len(checkpoint['classes'])})")
    field("normalize", lambda v: (isinstance(v, list) and len(v) == 2
                                  and all(isinstance(x, float) and math.isfinite(x) for x in v)
                                  and v[1] > 0), "[mean, std] with std > 0")
    field("data_dir", lambda v: v is None or isinstance(v, str), "a directory or None")
    field("state_dict", lambda v: isinstance(v, dict) and all(
        isinstance(k, str) and isinstance(a, np.ndarray) and a.dtype.kind in "biuf"
        for k, a in v.items()), "a dict of names to numeric arrays")


def load_checkpoint(path):
    """Rebuild the model saved by ``gradlite train`` from its checkpoint or its run
    directory; returns ``(model, meta)``."""
    path = _checkpoint_file(path)
    try:
        checkpoint = load(path)
    except (OSError, ValueError, ImportError) as err:   # ImportError: .safetensors
        raise CLIError(str(err)) from None
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != CHECKPOINT_FORMAT:
        raise CLIError(f"{path} is not a model saved by `gradlite train` (no model and data "
                       "description in it)")
    if checkpoint.get("model") not in MODELS:
        raise CLIError(f"{path} holds an unknown model {checkpoint.get('model')!r}; this "
                       f"gradlite knows {', '.join(MODELS)}")
    _check_meta(path, checkpoint)
    model = MODELS[checkpoint["model"]](num_classes=checkpoint["num_classes"])
    try:
        model.load_state_dict(checkpoint["state_dict"])
    except (RuntimeError, ValueError, TypeError) as err:
        details = "; ".join(line.strip() for line in str(err).splitlines()[1:]) or str(err)
        raise CLIError(f"{path} does not fit the {checkpoint['model']} model: {details}") from None
    return model, checkpoint


# ----------------------------------------------------------------- reports

def format_confusion_matrix(cm, class_names):
    """The confusion matrix as text: one row per true class, one column per prediction."""
    names = [str(name)[:6] for name in class_names]
    width = max(max(map(len, names)), len(str(cm.max())), 4)
    lines = ["true \\ predicted", " " * (width + 1) + " ".join(n.rjust(width) for n in names)]
    for name, row in zip(names, cm):
        lines.append(name.rjust(width) + " " + " ".join(str(c).rjust(width) for c in row))
    return "\n".join(lines)


def report_test_results(model, test_set, meta, batch_size):
    """Print accuracy, loss and the confusion matrix on ``test_set``; returns the scores."""
    logits = predict(model, _loader(test_set, batch_size), output="logits")
    targets = test_set.targets
    scores = {"accuracy": metrics.accuracy(logits, targets),
              "loss": nn.functional.cross_entropy(Tensor(logits), Tensor(targets)).item()}
    cm = metrics.confusion_matrix(logits, targets, num_classes=meta["num_classes"])
    print(f"test accuracy {scores['accuracy']:.2%}  loss {scores['loss']:.4f}  "
          f"({len(test_set):,} {meta['data']} test images)")
    print(format_confusion_matrix(cm, meta["classes"]))
    return scores, cm


def _save_plots(out, history, cm, class_names):
    """history.png and confusion_matrix.png, if matplotlib is installed; returns names."""
    if importlib.util.find_spec("matplotlib") is None:
        print("(no plots: matplotlib is not installed; pip install matplotlib)")
        return []
    curves = {key: values for key, values in history.items() if key != "time"}
    metrics.plot_history(curves, out / "history.png")
    metrics.plot_confusion_matrix(cm, out / "confusion_matrix.png", class_names)
    return ["history.png", "confusion_matrix.png"]


# ----------------------------------------------------------------- commands

def _output_dir(args):
    """The output directory, created, after checking that files can be written in it."""
    out = Path(args.out) if args.out else (
        Path("runs") / f"{args.model}-{args.data}-{time.strftime('%Y%m%d-%H%M%S')}")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise CLIError(f"cannot create the output directory {out}: {err.strerror}") from None
    try:
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as err:
        raise CLIError(f"cannot write in the output directory {out}: {err.strerror}; "
                       "choose another with --out") from None
    return out


class _StopOnNonFiniteLoss(Callback):
    """Ends training when an epoch's loss is inf or nan (a too high --lr)."""
    diverged = None

    def on_epoch_end(self, epoch, logs):
        bad = [key for key in ("loss", "val_loss") if not math.isfinite(logs.get(key, 0.0))]
        if bad:
            self.diverged = (epoch, bad[0], logs[bad[0]])
            self.stop_training = True


def _peak_lr(args):
    return args.lr or OPTIMIZERS[args.optimizer][1]


def _optimizer_and_schedule(args, model, steps_per_epoch):
    lr = _peak_lr(args)
    optimizer = OPTIMIZERS[args.optimizer][0](model.parameters(), lr)
    if args.schedule == "constant":
        return optimizer, None, f"{args.optimizer} lr {lr:g}"
    scheduler = OneCycleLR(optimizer, max_lr=lr, epochs=args.epochs,
                           steps_per_epoch=steps_per_epoch,
                           cycle_momentum=args.optimizer in CYCLED_MOMENTUM)
    return optimizer, scheduler, f"{args.optimizer} with a one-cycle lr schedule up to {lr:g}"


def cmd_train(args):
    """``gradlite train``: train, test, save; returns the exit code."""
    start = time.perf_counter()
    manual_seed(args.seed)
    train_set = load_dataset(args.data, True, args.data_dir, args.download, args.augment)
    test_set = load_dataset(args.data, False, args.data_dir, args.download)
    meta = {"model": args.model, "data": args.data, "num_classes": len(train_set.classes),
            "classes": list(train_set.classes), "normalize": list(NORMALIZATION[args.data]),
            "data_dir": str(Path(args.data_dir).resolve()) if args.data_dir else None}
    model = MODELS[args.model](num_classes=meta["num_classes"])
    train_loader = _loader(train_set, args.batch_size, shuffle=True)
    if args.distributed:  # interop: data-parallel over MPI
        train_loader = cli_interop.distribute(args, model, train_set)
    optimizer, scheduler, recipe = _optimizer_and_schedule(args, model, len(train_loader))
    out = _output_dir(args)
    print(f"training {args.model} on {args.data} ({len(train_set):,} training, "
          f"{len(test_set):,} test images) for {args.epochs} epoch(s), batch size "
          f"{args.batch_size}, {recipe}{', with augmentation' if args.augment else ''}")
    divergence = _StopOnNonFiniteLoss()
    with np.errstate(over="ignore", invalid="ignore"):     # divergence is reported below
        history = fit(model, train_loader, nn.CrossEntropyLoss(), optimizer, args.epochs,
                      val_loader=_loader(test_set, 500), scheduler=scheduler,
                      callbacks=[divergence], progress=not args.quiet)
    if divergence.diverged:
        epoch, key, value = divergence.diverged
        raise CLIError(f"training diverged: the {key} became {value} in epoch {epoch + 1}; "
                       f"nothing was saved; try a lower --lr (it was {_peak_lr(args):g})")
    _save_or_rescue(out / "model.npz", model, meta, history)
    if history.interrupted:
        print(f"{_Interruption.what()} after {history.epochs} complete epoch(s); saved the "
              f"model so far to {out / 'model.npz'}")
        return _Interruption.exit_code()
    _, cm = report_test_results(model, test_set, meta, 500)
    saved = ["model.npz"] + _save_plots(out, history, cm, meta["classes"])
    print(f"saved {', '.join(saved)} in {out}")
    print(f"done in {time.perf_counter() - start:.0f} s")
    return 0


def cmd_evaluate(args):
    """``gradlite evaluate CHECKPOINT``: test accuracy, loss and confusion matrix."""
    model, meta = load_checkpoint(args.checkpoint)
    data = args.data or meta["data"]
    data_dir = args.data_dir or (meta.get("data_dir") if data == meta["data"] else None)
    test_set = load_dataset(data, False, data_dir, args.download)
    if len(test_set.classes) != meta["num_classes"]:
        raise CLIError(f"{args.checkpoint} classifies {meta['num_classes']} classes "
                       f"({meta['data']}) but {data} has {len(test_set.classes)}")
    report_test_results(model, test_set, {**meta, "data": data}, args.batch_size)
    return 0


def _pillow():
    try:
        from PIL import Image
    except ImportError:
        raise CLIError("reading images needs Pillow, which is not installed: "
                       "pip install pillow") from None
    return Image


def read_image(path, normalize):
    """A PNG/JPEG as a normalised (1, 28, 28) float32 array in MNIST's style: grayscale,
    28x28, light strokes on a dark background (inverted if the border is light)."""
    Image = _pillow()
    try:
        with Image.open(path) as image:
            gray = image.convert("L").resize((28, 28), Image.BILINEAR)
    except Exception as err:     # Pillow's decoders raise many kinds for a damaged file
        raise CLIError(f"cannot read image {path}: {err}") from None
    pixels = np.asarray(gray, dtype=np.float32) / 255.0
    border = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
    if border.mean() > 0.5:
        pixels = 1.0 - pixels
    mean, std = normalize
    return ((pixels - mean) / std)[None]


def cmd_predict(args):
    """``gradlite predict CHECKPOINT IMAGE...``: the predicted class per image. An image
    that cannot be read is reported (exit code 1) without stopping the others."""
    model, meta = load_checkpoint(args.checkpoint)
    _pillow()
    paths, images = [], []
    for path in args.images:
        try:
            images.append(read_image(path, meta["normalize"]))
            paths.append(path)
        except CLIError as err:
            print(f"gradlite: error: {err}", file=sys.stderr)
    if images:
        probabilities = predict(model, Tensor(np.stack(images)), output="probabilities")
        for path, p in zip(paths, probabilities):
            best = int(p.argmax())
            print(f"{path}: {meta['classes'][best]} (probability {p[best]:.3f})")
    return 0 if len(paths) == len(args.images) else 1


def cmd_bench(bench_args):
    """``gradlite bench ...``: run the benchmark suite (installed with gradlite)."""
    if importlib.util.find_spec("benchmarks") is None:
        print("gradlite: the benchmarks are not installed with the package; "
              "run `python -m benchmarks` from a source checkout", file=sys.stderr)
        return 2
    saved_argv = sys.argv
    sys.argv = ["benchmarks", *bench_args]
    try:
        runpy.run_module("benchmarks", run_name="__main__", alter_sys=True)
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    finally:
        sys.argv = saved_argv
    return 0


# ----------------------------------------------------------------- arguments

def _integer(text, minimum, expected):
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or value < minimum:
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
    return value


def _positive_int(text):
    return _integer(text, 1, "a positive integer")


def _seed(text):
    return _integer(text, 0, "a non-negative integer")


def _positive_float(text):
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"expected a positive finite number, got {text!r}")
    return value


def _add_data_options(parser, default):
    parser.add_argument("--data", choices=DATA_SETS, default=default,
                        help="data set" + (f" (default: {default})" if default else
                                           " (default: the one the model was trained on)"))
    parser.add_argument("--data-dir", help="folder with the IDX files for mnist and "
                        "fashion-mnist (default: data/<name>" + ("" if default else
                        ", or the one the model was trained with") + ")")
    parser.add_argument("--download", action="store_true",
                        help="download mnist/fashion-mnist into --data-dir if missing")


def _add_command(commands, name, run, **kwargs):
    """A subcommand parser that runs ``run(args)``; ``args.command_parser`` is itself,
    so that an unknown option is reported with the subcommand's usage."""
    parser = commands.add_parser(name, **kwargs)
    parser.set_defaults(run=run, command_parser=parser)
    return parser


def build_parser():
    parser = argparse.ArgumentParser(
        prog="gradlite", description="Train and use small image classifiers with gradlite.")
    parser.add_argument("--version", action="version", version=f"gradlite {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = _add_command(commands, "train", cmd_train, help="train a model (default: "
                         "LeNet-5 on the bundled MNIST subset)")
    train.add_argument("--model", choices=list(MODELS), default="lenet")
    _add_data_options(train, "mnist-small")
    train.add_argument("--epochs", type=_positive_int, default=DEFAULT_EPOCHS)
    train.add_argument("--batch-size", type=_positive_int, default=DEFAULT_BATCH_SIZE)
    train.add_argument("--optimizer", choices=list(OPTIMIZERS), default="adam")
    train.add_argument("--lr", type=_positive_float,
                       help="(peak) learning rate; default depends on the optimizer "
                       f"({', '.join(f'{k} {v[1]:g}' for k, v in OPTIMIZERS.items())})")
    train.add_argument("--schedule", choices=["onecycle", "constant"], default="onecycle",
                       help="learning-rate schedule (default: onecycle)")
    train.add_argument("--augment", action="store_true",
                       help="random shifts, rotations and zooms of the training images")
    train.add_argument("--seed", type=_seed, default=0)
    train.add_argument("--out", help="output directory (default: runs/<model>-<data>-<time>)")
    train.add_argument("--quiet", "--no-progress", action="store_true",
                       help="no progress bar or per-epoch lines")
    cli_interop.add_train_arguments(train)

    evaluate_ = _add_command(commands, "evaluate", cmd_evaluate, help="test a saved model")
    evaluate_.add_argument("checkpoint", help="model.npz written by gradlite train, or its "
                           "run directory")
    _add_data_options(evaluate_, None)
    evaluate_.add_argument("--batch-size", type=_positive_int, default=500)

    predict_ = _add_command(commands, "predict", cmd_predict,
                            help="classify images with a saved model")
    predict_.add_argument("checkpoint", help="model.npz written by gradlite train, or its "
                          "run directory")
    predict_.add_argument("images", nargs="+", metavar="IMAGE", help="PNG/JPEG files")

    export = _add_command(commands, "export", cli_interop.cmd_export,
                          help="write a saved model as an ONNX file")
    cli_interop.add_export_arguments(export)

    commands.add_parser("bench", help="run the benchmark suite (gradlite bench --help)",
                        add_help=False)
    return parser


def _parse(argv):
    """The parsed arguments; an unknown option is an error of the subcommand it follows."""
    args, unknown = build_parser().parse_known_args(argv)
    if unknown:
        args.command_parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    return args


def main(argv=None):
    """Run the ``gradlite`` command with ``argv`` (default ``sys.argv[1:]``); returns
    the exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["bench"]:
        return cmd_bench(argv[1:])
    try:
        args = _parse(argv)
    except SystemExit as exit_:           # --help, --version (0) or a usage error (2)
        return exit_.code
    in_main_thread = threading.current_thread() is threading.main_thread()
    if in_main_thread:
        previous = signal.signal(signal.SIGTERM, _sigterm_as_ctrl_c)
    _Interruption.signum = signal.SIGINT
    try:
        return args.run(args)
    except CLIError as err:
        message = "; ".join(line.strip() for line in str(err).splitlines() if line.strip())
        print(f"gradlite: error: {message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"gradlite: {_Interruption.what()}", file=sys.stderr)
        return _Interruption.exit_code()
    finally:
        if in_main_thread:
            signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)

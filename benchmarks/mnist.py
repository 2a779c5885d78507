"""End to end: LeNet-5 trained on full MNIST, gradlite against PyTorch, the same recipe.

    python -m benchmarks --mnist [--data-dir DIR] [--epochs 8] [--rounds 1] [--quick]

SGD (lr 0.01, momentum 0.9), batch 64, the 60,000 training images shuffled each epoch,
pixels normalised with MNIST's mean and std, both libraries starting from the same weights
(:func:`initial_weights`); then the accuracy on the 10,000 test images.
Both libraries get their batches from the same numpy pipeline (this file reads the IDX
files itself, so PyTorch's process never imports gradlite); each trains in a process of
its own. Reported: every epoch's wall time, the whole run's, the test accuracy, the
process's peak memory. ``--quick``: 2,000 images, one epoch (a smoke test).
"""
import gzip
import json
import os
import struct
import time

from . import runner

FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
         "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
MEAN, STD = 0.1307, 0.3081


def default_data_dir():
    """``../shared/data/mnist`` next to the checkout (or the working directory), else
    ``data/mnist``."""
    for base in (os.getcwd(), str(runner.ROOT)):
        candidate = os.path.join(base, "..", "shared", "data", "mnist")
        if os.path.isdir(candidate):
            return os.path.abspath(candidate)
    return os.path.abspath(os.path.join("data", "mnist"))


def _read_idx(path):
    import numpy as np
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        magic, = struct.unpack(">I", f.read(4))
        dims = struct.unpack(f">{magic & 0xFF}I", f.read(4 * (magic & 0xFF)))
        return np.frombuffer(f.read(), np.uint8).reshape(dims)


def load(data_dir, split):
    """(images float32 N x 1 x 28 x 28, normalised; labels int64) of a split."""
    import numpy as np
    arrays = []
    for name in FILES[split]:
        path = next((os.path.join(data_dir, name + ext) for ext in ("", ".gz")
                     if os.path.isfile(os.path.join(data_dir, name + ext))), None)
        if path is None:
            raise FileNotFoundError(f"benchmarks --mnist: no {name}[.gz] in {data_dir}; "
                                    "pass --data-dir")
        arrays.append(_read_idx(path))
    images, labels = arrays
    images = ((images.astype(np.float32) / 255 - MEAN) / STD)[:, None]
    return images, labels.astype(np.int64)


def initial_weights(state, seed=0):
    """The same starting weights for both libraries, drawn with numpy from PyTorch's default
    distribution for Conv2d and Linear: weight and bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)),
    fan_in = the weight's size / its number of outputs. Each library's own generator would
    start it from different weights, and one seed's luck moves LeNet-5's accuracy after 8
    epochs by a few tenths of a percent: more than the libraries differ by."""
    import numpy as np
    rng = np.random.default_rng(seed)
    weights, bound = {}, None
    for name, value in state.items():
        shape = tuple(value.shape)
        if name.endswith("weight"):
            bound = 1 / np.sqrt(int(np.prod(shape[1:])))
        weights[name] = rng.uniform(-bound, bound, shape).astype(np.float32)
    return weights


def run(job, gradlite, torch):
    """Train and test in this process with the job's library; returns the figures."""
    import numpy as np
    from .memory import peak_mb
    from .twins import torch_model
    from .workloads import gradlite_model, gradlite_step, torch_optimizer, torch_step
    images, labels = load(job["data_dir"], "train")
    test_images, test_labels = load(job["data_dir"], "test")
    if job["quick"]:
        images, labels, test_images, test_labels = (a[:2000] for a in (images, labels,
                                                                         test_images, test_labels))
    if torch is None:
        model, optimizer = gradlite_model("lenet")
        step, tensor = gradlite_step(model, optimizer), gradlite.tensor
        no_grad = gradlite.no_grad
    else:
        model = torch_model(job["specs"]["lenet"])
        step, tensor = torch_step(model, torch_optimizer(model)), torch.from_numpy
        no_grad = torch.no_grad
    model.load_state_dict({name: tensor(value) for name, value in
                           initial_weights(model.state_dict()).items()})
    rng = np.random.default_rng(0)
    epochs = []
    for _ in range(job["epochs"]):
        start = time.perf_counter()
        order = rng.permutation(len(images))
        for i in range(0, len(images), 64):
            batch = order[i:i + 64]
            step(tensor(images[batch]), tensor(labels[batch]))
        epochs.append(time.perf_counter() - start)
    start = time.perf_counter()
    model.eval()
    correct = 0
    with no_grad():
        for i in range(0, len(test_images), 1000):
            logits = model(tensor(test_images[i:i + 1000]))
            correct += int((np.asarray(logits.data if torch is None else logits.numpy())
                            .argmax(1) == test_labels[i:i + 1000]).sum())
    return {"library": job["library"], "epoch_s": epochs, "test_s": time.perf_counter() - start,
            "accuracy": correct / len(test_images), "peak_mb": peak_mb(),
            "threads": gradlite.get_num_threads() if torch is None else torch.get_num_threads()}


def compare(args, info, with_torch):
    """The driver's ``--mnist`` mode: processes alternating over the libraries."""
    import statistics
    from ._timing import markdown_table
    from .workloads import model_specs
    data_dir = os.path.abspath(args.data_dir) if args.data_dir else default_data_dir()
    load(data_dir, "test")  # fail early, with the path, if the files are not there
    epochs = 1 if args.quick else args.epochs
    job = {"data_dir": data_dir, "epochs": epochs, "quick": args.quick,
           "specs": model_specs(), "import_order": "numpy-first"}
    libraries = ["gradlite", "torch"] if with_torch else ["gradlite"]
    results = {lib: [] for lib in libraries}
    for lib in runner.alternating(args.rounds or 1, libraries):
        results[lib].append(runner.run_process(dict(job, library=f"mnist-{lib}")))
        r = results[lib][-1]
        print(f"  {lib}: epochs {', '.join(f'{s:.1f}' for s in r['epoch_s'])} s, "
              f"test accuracy {r['accuracy']:.2%}", flush=True)

    def median(lib, key):
        return statistics.median(key(r) for r in results[lib])
    figures = [("first epoch, s", lambda r: r["epoch_s"][0], "{:.1f}"),
               (f"{epochs} epoch{'s' * (epochs > 1)}, s", lambda r: sum(r["epoch_s"]), "{:.1f}"),
               (f"test accuracy after {epochs} epoch{'s' * (epochs > 1)}", lambda r: r["accuracy"],
                "{:.2%}"),
               ("peak RSS, MB", lambda r: r["peak_mb"], "{:.0f}")]
    rows = []
    for label, key, form in figures:
        values = [median(lib, key) for lib in libraries]
        ratio = f"{values[0] / values[1]:.2f}" if with_torch and "accuracy" not in label else "-"
        rows.append([label, *(form.format(v) for v in values)] + ([ratio] if with_torch else []))
    header = ["LeNet-5 on MNIST (SGD 0.01, momentum 0.9, batch 64)", "gradlite"]
    header += ["PyTorch", "gradlite/PyTorch"] if with_torch else []
    report = (markdown_table(header, rows) + f"\n\n`python -m benchmarks --mnist"
              f"{' --quick' if args.quick else ''}`: {'2,000' if args.quick else '60,000'} "
              f"training images, each library in its own process (median over "
              f"{args.rounds or 1} per library), numpy imported first, no thread variables "
              "set; threads: " + ", ".join(f"{'PyTorch' if lib == 'torch' else lib} "
                                           f"{results[lib][0]['threads']}" for lib in libraries)
              + f"; gradlite commit {info.get('gradlite_commit')}.\n")
    print("\n" + report)
    json_path = os.path.join(os.path.dirname(os.path.abspath(args.json)), "mnist.json")
    os.makedirs(os.path.dirname(json_path), exist_ok=True)
    with open(json_path, "w") as out:
        json.dump({"machine": info, "epochs": epochs, "results": results}, out, indent=1)
    print(f"results: {json_path}")
    if args.table:
        with open(args.table, "a") as out:
            out.write("\n### End to end: LeNet-5 on full MNIST\n\n" + report)
        print(f"table appended to {args.table}")
    return 0

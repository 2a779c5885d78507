"""Peak resident memory of LeNet-5 training steps, one library per fresh process.

    python -m benchmarks.memory gradlite|torch [--batch 64] [--steps 20]

prints one JSON line: ``setup_mb`` (resident set after imports, model and batch are
ready), ``peak_mb`` (the high-water mark of the process after the steps). The suite runs
this in a subprocess per library so one library's peak cannot hide the other's.
"""
import argparse
import json
import os
import resource
import subprocess
import sys


def _status_mb(field):
    """A memory field of /proc/self/status (Linux) in MB, or None."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def peak_mb():
    """The process's peak resident set: VmHWM, else ru_maxrss (KB on Linux, bytes on macOS)."""
    peak = _status_mb("VmHWM")
    if peak is None:
        maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        peak = maxrss / 2**20 if sys.platform == "darwin" else maxrss / 1024
    return peak


def current_mb():
    return _status_mb("VmRSS") or peak_mb()


def run(library, batch, steps):
    import numpy as np
    import gradlite
    import gradlite.nn.functional as F
    from gradlite import models, optim
    from .twins import torch_twin
    torch = None
    if library == "torch":
        import torch
        torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", 2)))
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, batch)
    gradlite.manual_seed(0)
    model = models.lenet5()
    if torch is None:
        optimizer = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        x, y, loss_fn = gradlite.tensor(x), gradlite.tensor(y), F.cross_entropy
    else:
        model = torch_twin(model)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        x, y, loss_fn = torch.from_numpy(x), torch.from_numpy(y), torch.nn.functional.cross_entropy
    setup = current_mb()
    for _ in range(steps):
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
    return {"library": library, "setup_mb": setup, "peak_mb": peak_mb(), "steps": steps}


def measure_in_subprocesses(libraries, batch=64, steps=20):
    """Run :func:`run` for each library in its own fresh interpreter, concurrently (peaks
    are per process, so they cannot mix); returns library -> result."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    path = os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
    children = {lib: subprocess.Popen(
        [sys.executable, "-m", "benchmarks.memory", lib, "--batch", str(batch), "--steps", str(steps)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ, PYTHONPATH=path))
        for lib in libraries}
    results = {}
    for lib, child in children.items():
        out, err = child.communicate()
        if child.returncode:
            raise RuntimeError(f"memory measurement of {lib} failed:\n{err}")
        results[lib] = json.loads(out.strip().splitlines()[-1])
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("library", choices=["gradlite", "torch"])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args(argv)
    print(json.dumps(run(args.library, args.batch, args.steps)))


if __name__ == "__main__":
    main()

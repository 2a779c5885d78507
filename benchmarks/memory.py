"""Peak resident memory: of any benchmark process, and of LeNet-5 training steps.

The driver runs a ``memory-gradlite`` and a ``memory-torch`` job (``worker.py``), each in
a fresh process: imports, model and batch, then ``steps`` training steps at batch 64.
``setup_mb`` is the resident set once everything is ready, ``peak_mb`` the process's
high-water mark after the steps.
"""
import resource
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


def run(job, gradlite, torch):
    """LeNet-5 training steps at batch 64 in this process, with the job's library."""
    from .workloads import _batch, gradlite_model, gradlite_step, torch_optimizer, torch_step
    from .twins import torch_model
    x, y = _batch(64)
    if torch is None:
        model, optimizer = gradlite_model("lenet")
        step, x, y = gradlite_step(model, optimizer), gradlite.tensor(x), gradlite.tensor(y)
    else:
        torch.manual_seed(0)
        model = torch_model(job["specs"]["lenet"])
        step, x, y = torch_step(model, torch_optimizer(model)), torch.from_numpy(x), torch.from_numpy(y)
    setup = current_mb()
    for _ in range(job["steps"]):
        step(x, y)
    return {"library": job["library"], "setup_mb": setup, "peak_mb": peak_mb()}

"""What machine a result came from, and how fast its float32 matrix multiply can go."""
import os
import platform
import subprocess
import sys
import time
from importlib import metadata

import numpy as np


def cpu_model():
    """The CPU's marketing name (Linux /proc/cpuinfo, macOS sysctl), or the platform string."""
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    try:
        return subprocess.run(["sysctl", "-n", "machdep.cpu.brand_string"], capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return platform.processor() or platform.machine()


def blas_config():
    """numpy's BLAS as numpy reports it (name, version, config), when it can."""
    try:
        config = np.show_config(mode="dicts")
        return config.get("Build Dependencies", {}).get("blas", {})
    except Exception:  # older numpy: no dict mode
        return {}


def git_commit():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def _version(distribution):
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def machine_info():
    """The machine, the versions, and which gradlite is timed (where from, compiled?)."""
    import gradlite
    from gradlite import _kernels
    return {
        "cpu": cpu_model(),
        "logical_cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "blas": blas_config(),
        "gradlite": gradlite.__version__,
        "gradlite_path": os.path.dirname(gradlite.__file__),
        "gradlite_commit": git_commit(),
        "compiled_kernels": _kernels.COMPILED,
        "thread_env": {k: os.environ.get(k) for k in
                       ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                        "OMP_WAIT_POLICY", "GOMP_SPINCOUNT")},
        "torch": _version("torch"),
        "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
    }


def gemm_peak_flops(n=2048, repeats=5):
    """The best float32 GEMM rate numpy's BLAS reaches on an n x n x n product, in FLOP/s:
    the ceiling the %-of-peak column is relative to."""
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((n, n)).astype(np.float32) for _ in range(2))
    out = np.empty((n, n), np.float32)
    np.matmul(a, b, out=out)  # warm-up: threads started, pages touched
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        np.matmul(a, b, out=out)
        best = min(best, time.perf_counter() - start)
    return 2 * n ** 3 / best

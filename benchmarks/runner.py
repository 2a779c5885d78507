"""Starting benchmark processes, and combining what they measured.

Every process runs ``python -m benchmarks.worker`` from the directory holding the
``benchmarks`` package the driver was loaded from (a source checkout, or site-packages
after ``pip install``), so it imports the same gradlite as the driver, and in the
environment the driver was started with: nothing added.
"""
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_process(job, env_changes=None, timeout=3600):
    """Run one worker process on ``job`` (a dict); return its result (a dict).
    ``env_changes`` maps variables to values to set (None: unset) for this process only."""
    env = dict(os.environ)
    for name, value in (env_changes or {}).items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    with tempfile.TemporaryDirectory() as tmp:
        job_path, result_path = Path(tmp, "job.json"), Path(tmp, "result.json")
        job_path.write_text(json.dumps(job))
        child = subprocess.run([sys.executable, "-m", "benchmarks.worker", str(job_path),
                                str(result_path)], cwd=ROOT, env=env, capture_output=True,
                               text=True, timeout=timeout)
        if child.returncode:
            raise RuntimeError(f"the {job['library']} benchmark process failed "
                               f"(exit {child.returncode}):\n{child.stderr[-4000:]}")
        return json.loads(result_path.read_text())


@contextlib.contextmanager
def competing_process():
    """One CPU-bound process (a Python busy loop) running beside the block."""
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        yield
    finally:
        busy.kill()
        busy.wait()


def alternating(rounds, names):
    """``names`` in A/B/A/B order over ``rounds`` rounds, each round rotated by one."""
    for r in range(rounds):
        k = r % len(names)
        yield from names[k:] + names[:k]


def median_of_medians(results, row):
    """contender -> (median over processes of the per-process median seconds, and the
    smallest and largest per-process median) for ``row`` across worker ``results``."""
    per_process = {}
    for result in results:
        for contender, times in result["rows"].get(row, {}).items():
            per_process.setdefault(contender, []).append(statistics.median(times))
    return {contender: (statistics.median(medians), min(medians), max(medians))
            for contender, medians in per_process.items()}

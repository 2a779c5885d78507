"""One benchmark process: ``python -m benchmarks.worker JOB.json RESULT.json``.

The driver (``python -m benchmarks``) starts one of these per library and round, so each
library is timed in a process of its own, as a user runs it: numpy imported first (unless
the job says otherwise), then the library, nothing set in the environment that the
driver's caller did not set. The job (JSON) says:

``library``   ``gradlite`` (times the gradlite and numpy-reference contenders), ``torch``,
              ``check`` (both libraries, untimed: every row's agreement check) or
              ``memory-gradlite``/``memory-torch`` (peak memory of LeNet-5 training steps,
              memory.py), ``mnist-gradlite``/``mnist-torch`` (full MNIST, mnist.py)
``rows``      the row names to run; ``quick``, ``repeats``, ``warmup``, ``specs``
``import_order``  ``numpy-first`` or ``library-first``
``threads``   for gradlite: a ``set_num_threads`` call before the rows (optional)

The result (JSON) holds every timed call's seconds per row and contender, the thread
count the library used, and the process's peak resident memory.
"""
import json
import sys
import time
from types import SimpleNamespace

CONTENDERS = {"gradlite": ("gradlite", "reference"), "torch": ("torch",)}


def import_libraries(job):
    """Import numpy and the job's library in the job's order; return (gradlite, torch)."""
    gradlite = torch = None
    if job["import_order"] == "numpy-first":
        import numpy  # noqa: F401
    if job["library"] in ("gradlite", "check", "memory-gradlite", "mnist-gradlite"):
        import gradlite
        if job.get("threads"):
            gradlite.set_num_threads(job["threads"])
    if job["library"] in ("torch", "memory-torch", "mnist-torch") or (job["library"] == "check"
                                                       and job.get("torch", True)):
        try:
            import torch
        except ImportError:
            torch = None
    import numpy  # noqa: F401,F811  (library-first: now)
    return gradlite, torch


def run(job):
    start = time.perf_counter()
    gradlite, torch = import_libraries(job)
    imported = time.perf_counter() - start
    from ._timing import interleaved
    from .workloads import all_rows
    cfg = SimpleNamespace(quick=job["quick"], specs=job.get("specs"))
    rows = [row for row in all_rows(cfg) if row.name in job["rows"]]
    result = {"library": job["library"], "import_seconds": imported, "rows": {}}
    if job["library"] == "check":
        for row in rows:
            if row.check is not None:
                row.check(cfg, torch)
        result["checked"] = [row.name for row in rows]
    else:
        library = job["library"]
        for row in rows:
            fns = {name: build(cfg) for name, build in row.build.items()
                   if name in CONTENDERS[library]}
            if fns:
                repeats = min(row.repeats or job["repeats"], job["repeats"])
                result["rows"][row.name] = interleaved(fns, repeats, job["warmup"])
    result["threads"] = (gradlite.get_num_threads() if job["library"] == "gradlite"
                         else torch.get_num_threads() if torch is not None else None)
    from .memory import peak_mb
    result["peak_mb"] = peak_mb()
    return result


def main(argv=None):
    job_path, result_path = sys.argv[1:3] if argv is None else argv
    with open(job_path) as f:
        job = json.load(f)
    if job["library"].startswith(("memory-", "mnist-")):
        gradlite, torch = import_libraries(job)
        from . import memory, mnist
        result = (memory if job["library"].startswith("memory-") else mnist).run(job, gradlite, torch)
    else:
        result = run(job)
    with open(result_path, "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main()

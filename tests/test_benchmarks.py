"""Smoke tests of the benchmark suite. No timings are asserted: the machine running the
tests may be anything.

* ``gradlite bench --quick`` from an installed gradlite (CI installs it with
  ``pip install ".[test]"``), run outside the checkout: every row, every library in its own
  process, the agreement checks, memory and robustness runs; JSON and tables written.
* ``python -m benchmarks`` inside the checkout says which gradlite it times.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
EXPECTED_GROUPS = {"per-op", "optimizer", "scalar", "kernels", "models"}


def clean_env():
    """The environment without a PYTHONPATH that would put a checkout first."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}


def installed_gradlite(cwd):
    """The directory of the installed gradlite seen from ``cwd``, or None (not installed,
    or only the checkout is importable)."""
    probe = subprocess.run([sys.executable, "-c", "import gradlite, benchmarks; "
                            "print(gradlite.__file__)"], cwd=cwd, env=clean_env(),
                           capture_output=True, text=True)
    if probe.returncode:
        return None
    path = Path(probe.stdout.strip()).resolve().parent
    return None if path == REPO / "gradlite" else path  # CI's venv may sit inside REPO


@pytest.fixture(scope="module")
def installed_quick_run(tmp_path_factory):
    cwd = tmp_path_factory.mktemp("bench")
    where = installed_gradlite(cwd)
    if where is None:
        pytest.skip("gradlite is not installed (pip install .): the installed-package test "
                    "runs in CI")
    path, tables = cwd / "quick.json", cwd / "tables.md"
    run = subprocess.run([sys.executable, "-m", "gradlite", "bench", "--quick", "--json",
                          str(path), "--table", str(tables)], cwd=cwd, env=clean_env(),
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return json.loads(path.read_text()), run.stdout, tables.read_text(), where


def test_gradlite_bench_runs_from_the_installed_package(installed_quick_run):
    results, stdout, tables, where = installed_quick_run
    assert results["machine"]["gradlite_path"] == str(where)
    assert "installed, compiled kernels" in stdout.splitlines()[0]
    assert {r["group"] for r in results["results"]} == EXPECTED_GROUPS
    names = " | ".join(r["name"] for r in results["results"])
    for workload in ("per-op", "Adam step", "scalar engine", "conv", "max_pool2d", "avg_pool2d",
                     "MLP 784-512-512-10 train step", "LeNet-5 train step",
                     "MNIST example CNN train step", "inference"):
        assert workload in names
    for r in results["results"]:
        assert r["shown"]["gradlite"] > 0, r["name"]
    assert "| workload |" in stdout and "| workload |" in tables
    assert results["memory"]["gradlite"]["peak_mb"] > 0


def test_each_library_runs_in_its_own_processes(installed_quick_run):
    results, stdout, _, _ = installed_quick_run
    scalar = next(r for r in results["results"] if r["group"] == "scalar")
    assert "reference" in scalar["median_s"]  # the micrograd-style baseline, in-process
    assert results["threads"]["gradlite"] and all(n >= 1 for n in results["threads"]["gradlite"])
    conditions = {(r["library"], r["condition"]) for r in results["robustness"]}
    assert ("gradlite", "OMP_NUM_THREADS=1") in conditions
    assert ("gradlite", "beside a CPU-bound process") in conditions
    single = next(r for r in results["robustness"] if r["library"] == "gradlite"
                  and r["condition"] == "OMP_NUM_THREADS=1")
    assert single["threads"] == [1]
    if results["machine"]["torch"] is not None:
        lenet = next(r for r in results["results"] if r["name"].startswith("LeNet-5 train"))
        assert lenet["ratio"] > 0 and "torch" in lenet["median_s"]
        assert "slowdown beside a CPU-bound process" in stdout


def test_python_m_benchmarks_in_the_checkout_says_what_it_times(tmp_path):
    """Inside the checkout, the checkout's gradlite is timed: compiled in place, or the
    slow source, said in the first line."""
    if not (REPO / "benchmarks" / "__main__.py").is_file():
        pytest.skip(f"no benchmarks/ next to tests/ in {REPO}")
    run = subprocess.run([sys.executable, "-m", "benchmarks", "--quick", "--filter", "per-op",
                          "--no-robustness", "--no-torch", "--json", str(tmp_path / "r.json")],
                         cwd=REPO, env=clean_env(), capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    first = run.stdout.splitlines()[0]
    assert str(REPO / "gradlite") in first
    assert "kernels built in place" in first or "UNCOMPILED gradlite source tree" in first
    results = json.loads((tmp_path / "r.json").read_text())
    assert [r["name"] for r in results["results"]] == ["per-op overhead: 100-op chain fwd+bwd"]

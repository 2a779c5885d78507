"""Smoke test of the benchmark suite: ``python -m benchmarks --quick`` runs end to end
(every row's gradlite-vs-PyTorch agreement check included) and writes its JSON. No
timings are asserted: the machine running the tests may be anything."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

EXPECTED_GROUPS = {"per-op", "scalar", "kernels", "models", "end-to-end", "memory"}


@pytest.fixture(scope="module")
def quick_results(tmp_path_factory):
    if not (REPO / "benchmarks" / "__main__.py").is_file():
        pytest.skip(f"no benchmarks/ next to tests/ in {REPO}")
    path = tmp_path_factory.mktemp("bench") / "quick.json"
    run = subprocess.run([sys.executable, "-m", "benchmarks", "--quick", "--json", str(path)],
                         cwd=REPO, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return json.loads(path.read_text()), run.stdout


def test_quick_run_covers_every_workload(quick_results):
    results, _ = quick_results
    assert {r["group"] for r in results["results"]} == EXPECTED_GROUPS
    names = " | ".join(r["name"] for r in results["results"])
    for workload in ("per-op", "scalar engine", "conv", "max_pool2d", "avg_pool2d",
                     "MLP 784-512-512-10 train step", "LeNet-5 train step",
                     "MNIST example CNN train step", "inference", "epoch", "peak RSS"):
        assert workload in names
    for r in results["results"]:
        assert r["shown"]["gradlite"] > 0, r["name"]


def test_quick_run_records_machine_and_comparisons(quick_results):
    results, stdout = quick_results
    machine = results["machine"]
    assert machine["cpu"] and machine["logical_cores"] >= 1 and machine["numpy"]
    assert results["gemm_peak_flops"] > 0
    assert "| workload |" in stdout
    scalar = next(r for r in results["results"] if r["group"] == "scalar")
    assert "reference" in scalar["median_s"]  # the micrograd-style baseline
    if machine["torch"] is not None:
        lenet = next(r for r in results["results"] if r["name"].startswith("LeNet-5 train"))
        assert lenet["ratio"] > 0 and "torch" in lenet["median_s"]

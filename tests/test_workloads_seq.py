"""The sequence-model benchmark rows run (quick sizes) and compute what PyTorch computes."""
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(not (ROOT / "benchmarks" / "workloads_seq.py").is_file(),
                                reason="benchmarks/ not found next to tests/")


def test_quick_rows_time_a_training_step():
    from benchmarks import workloads_seq
    results = workloads_seq.time_library("gradlite", quick=True, repeat=1, warmup=1)
    assert set(results) == {"char-LSTM step", "transformer encoder step"}
    assert all(seconds > 0 for seconds in results.values())


def test_rows_agree_with_torch():
    pytest.importorskip("torch")
    from benchmarks import workloads_seq
    assert workloads_seq.check(quick=True)

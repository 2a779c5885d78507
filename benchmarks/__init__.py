"""gradlite benchmarks: run a script with ``python -m benchmarks.<name>``.

Before any of them imports numpy: OpenBLAS's idle workers should sleep rather than spin
(as ``import gradlite`` arranges when it comes first; see docs/performance.md, "Threads").
"""
import os

os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")

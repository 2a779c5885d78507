"""gradlite benchmarks: run a script with ``python -m benchmarks.<name>``."""

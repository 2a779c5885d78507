"""gradlite's benchmark suite: ``python -m benchmarks`` (or ``gradlite bench``).

Installed with gradlite, so ``gradlite bench`` works after ``pip install .``; inside a
source checkout ``python -m benchmarks`` times the checkout's gradlite (and says whether
its kernels are compiled). See ``__main__.py`` and docs/performance.md.
"""

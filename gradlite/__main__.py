"""``python -m gradlite`` and the ``gradlite`` console script (see ``gradlite.cli``).

Threads: ``import gradlite`` sets its own policy (``gradlite.parallel``: one pool of
threads for the kernels and BLAS, idle workers sleeping), so the command sets nothing
in the environment: child processes (``gradlite bench``'s PyTorch runs) inherit the
user's environment unchanged.
"""
import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())

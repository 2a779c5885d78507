"""``python -m gradlite`` and the ``gradlite`` console script (see ``gradlite.cli``).

Before the compiled kernels load, the command asks OpenMP to let idle threads sleep
(``OMP_WAIT_POLICY=PASSIVE``, unless the user set it): spinning threads on a busy
2-core machine steal the CPU from the threads doing the work (measured: up to 5x
slower training). Set ``OMP_WAIT_POLICY=ACTIVE`` to get the spinning back.
"""
import os
import sys

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from .cli import main  # noqa: E402  (after the environment is set)

if __name__ == "__main__":
    sys.exit(main())

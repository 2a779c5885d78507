"""Shared test configuration.

hypothesis profiles: ``dev`` (default; random, 50 examples) and ``ci``
(derandomized, no deadline, bounded examples), chosen with HYPOTHESIS_PROFILE.
"""
import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("ci", max_examples=30, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow], print_blob=True)
settings.register_profile("dev", max_examples=50, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))

#: The full MNIST files, where this checkout sits beside the project's shared/ folder.
SHARED_MNIST = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"


@pytest.fixture
def mnist_dir():
    """The directory with the four original MNIST files; skips when absent."""
    if not (SHARED_MNIST / "train-images-idx3-ubyte.gz").exists():
        pytest.skip(f"full MNIST not found at {SHARED_MNIST}")
    return SHARED_MNIST


@pytest.fixture(autouse=True)
def _seed_everything():
    """Each test starts from the same global random state."""
    import gradlite
    gradlite.manual_seed(0)
    np.random.seed(0)
    yield

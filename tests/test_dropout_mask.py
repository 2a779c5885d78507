"""Dropout's mask (gradlite.random.dropout_mask_array): the compiled filler against its
numpy twin, bit for bit; the keep rate; reproducibility under manual_seed."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import gradlite
from gradlite import _kernels, random as grandom


def numpy_mask(shape, p, dtype, seed):
    """The numpy branch of dropout_mask_array, the generator re-seeded to ``seed``."""
    gradlite.manual_seed(seed)
    filler, grandom._fill_dropout_mask = grandom._fill_dropout_mask, None
    try:
        return grandom.dropout_mask_array(shape, p, dtype)
    finally:
        grandom._fill_dropout_mask = filler


@pytest.mark.skipif(not _kernels.COMPILED, reason="the compiled kernels are not built")
@given(shape=st.lists(st.integers(0, 9), min_size=0, max_size=3).map(tuple),
       p=st.floats(0, 0.99), dtype=st.sampled_from([np.float32, np.float64]),
       seed=st.integers(0, 2 ** 32))
def test_the_compiled_mask_is_its_numpy_twin(shape, p, dtype, seed):
    gradlite.manual_seed(seed)
    compiled = grandom.dropout_mask_array(shape, p, dtype)
    assert compiled.shape == shape and compiled.dtype == dtype
    np.testing.assert_array_equal(compiled, numpy_mask(shape, p, dtype, seed))


def test_a_large_mask_is_the_same_on_every_thread_count():
    """Big enough for the kernel's parallel loop: same bits on one thread and on two."""
    threads = gradlite.get_num_threads()
    masks = []
    try:
        for n in (1, 2):
            gradlite.set_num_threads(n)
            gradlite.manual_seed(3)
            masks.append(grandom.dropout_mask_array((64, 1000, 9), 0.25, np.float32))
    finally:
        gradlite.set_num_threads(threads)
    np.testing.assert_array_equal(*masks)
    np.testing.assert_array_equal(masks[0], numpy_mask((64, 1000, 9), 0.25, np.float32, 3))


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_keep_rate_and_scale(p):
    mask = grandom.dropout_mask_array((400_000,), p, np.float32)
    kept = mask > 0
    assert abs(kept.mean() - (1 - p)) < 5 * np.sqrt(p * (1 - p) / mask.size)
    np.testing.assert_allclose(mask[kept], np.float32(1 / (1 - p)))
    assert np.all(mask[~kept] == 0)


def test_manual_seed_repeats_the_mask_and_successive_masks_differ():
    gradlite.manual_seed(7)
    first, second = (grandom.dropout_mask_array((1000,), 0.5, np.float32) for _ in range(2))
    gradlite.manual_seed(7)
    np.testing.assert_array_equal(grandom.dropout_mask_array((1000,), 0.5, np.float32), first)
    assert not np.array_equal(first, second)

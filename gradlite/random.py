"""gradlite's global random number generator.

Everything random in gradlite (weight init, dropout, shuffling, augmentation,
``rand``/``randn``) draws from one ``numpy.random.Generator``, so a single
``gradlite.manual_seed(n)`` makes a whole run reproducible.
"""
import numpy as np

_generator = np.random.default_rng()


def default_generator():
    """Return the global ``numpy.random.Generator`` (the same object every call)."""
    return _generator


def manual_seed(seed):
    """Re-seed the global generator in place and return it."""
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise TypeError(f"manual_seed: seed must be an int, got {type(seed).__name__}")
    if not -2 ** 63 <= seed < 2 ** 64:
        raise ValueError(f"manual_seed: seed must be in [-2**63, 2**64), got {seed}")
    seed = int(seed) % 2 ** 64  # negative seeds as PyTorch takes them: modulo 2**64
    _generator.bit_generator.state = np.random.default_rng(seed).bit_generator.state
    return _generator


def as_generator(generator=None):
    """None -> the global generator; an int -> a new Generator seeded with it;
    a ``numpy.random.Generator`` -> itself."""
    if generator is None:
        return _generator
    if isinstance(generator, np.random.Generator):
        return generator
    if isinstance(generator, (int, np.integer)) and not isinstance(generator, bool):
        return np.random.default_rng(generator)
    raise TypeError("generator must be None, an int seed or a numpy.random.Generator, "
                    f"got {type(generator).__name__}")

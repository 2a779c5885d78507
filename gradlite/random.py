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


class Generator(np.random.Generator):
    """A seedable random stream of its own, as ``torch.Generator``: pass it as
    ``generator=`` to ``randn``, ``randperm``, ``multinomial``, ``DataLoader``,
    ``random_split``. It is a ``numpy.random.Generator``, so it also works wherever
    gradlite takes one."""

    def __init__(self, device="cpu"):
        from .devices import as_cpu
        as_cpu(device, "Generator")
        self._seed = int(np.random.SeedSequence().entropy % 2 ** 63)
        super().__init__(np.random.PCG64(self._seed))

    def manual_seed(self, seed):
        """Restart the stream from ``seed``; returns self."""
        if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
            raise TypeError(f"Generator.manual_seed: seed must be an int, got {type(seed).__name__}")
        self._seed = int(seed)
        self.bit_generator.state = np.random.PCG64(self._seed).state
        return self

    def initial_seed(self):
        return self._seed

    def seed(self):
        """Re-seed from fresh entropy and return the new seed."""
        return self.manual_seed(int(np.random.SeedSequence().entropy % 2 ** 63))._seed

    def get_state(self):
        return self.bit_generator.state

    def set_state(self, state):
        self.bit_generator.state = state
        return self


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


def _hash32(x):
    """A 32-bit integer finaliser (two xor-shift-multiply rounds, Chris Wellons'
    "lowbias32" constants), on uint32 arrays with wrapping arithmetic."""
    x = x ^ (x >> np.uint32(16))
    x = x * np.uint32(0x7FEB352D)
    x = x ^ (x >> np.uint32(15))
    x = x * np.uint32(0x846CA68B)
    return x ^ (x >> np.uint32(16))


def dropout_mask_array(shape, p, dtype):
    """Inverted dropout's factor: an array of ``shape`` holding 1 / (1 - p) with
    probability 1 - p and 0 otherwise, for 0 <= p < 1, drawn from the global generator.

    The generator gives a 64-bit seed (lo, hi); element i (in C order) then follows from
    i alone: kept where hash(hash(i + lo) ^ hi) >= p * 2**32 (counting modulo 2**32). So
    the compiled kernel (``_kernels._random``) fills the mask on every core, and gives
    exactly this function's numpy result."""
    seed = int(_generator.integers(0, 2 ** 64, dtype=np.uint64))
    seed_lo, seed_hi = seed & 0xFFFFFFFF, seed >> 32
    threshold = min(round(p * 2 ** 32), 2 ** 32 - 1)
    scale = np.asarray(1 / (1 - p), dtype)
    mask = np.empty(shape, dtype)
    if _fill_dropout_mask is not None and mask.dtype in (np.float32, np.float64):
        _fill_dropout_mask(mask.reshape(-1), threshold, scale, seed_lo, seed_hi)
        return mask
    index = np.arange(mask.size, dtype=np.uint64).astype(np.uint32)
    bits = _hash32(_hash32(index + np.uint32(seed_lo)) ^ np.uint32(seed_hi))
    mask.reshape(-1)[...] = np.where(bits >= threshold, scale, 0)
    return mask


try:
    from ._kernels._random import fill_dropout_mask as _fill_dropout_mask
except ImportError:  # the kernels are not compiled: the numpy branch above
    _fill_dropout_mask = None

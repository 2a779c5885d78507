"""Device shims, so device-agnostic PyTorch scripts run unchanged on the CPU.

gradlite computes on the CPU only. ``gradlite.device("cpu")``, ``cuda.is_available()``
(False), ``accelerator.is_available()`` (False), ``backends.mps.is_available()`` (False)
and ``set_default_device("cpu")`` exist so that the usual preamble::

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model = Net().to(device)

picks the CPU. Asking for any other device is an error that says so.
"""
from ._args import dtype_arg


class device:
    """A device name, as ``torch.device``: ``device("cpu")``, ``device("cpu", 0)``.

    Only ``"cpu"`` can hold tensors; other types are accepted so a script can name
    them, and refused as soon as a tensor or a module is sent there.
    """

    __slots__ = ("type", "index")

    def __init__(self, type, index=None):
        if isinstance(type, device):
            type, index = type.type, type.index
        if not isinstance(type, str):
            raise TypeError(f"device: expected a string like 'cpu', got {type!r}")
        name, _, number = type.partition(":")
        if number:
            if index is not None:
                raise ValueError(f"device: index given twice in {type!r} and index={index}")
            if not number.isdigit():
                raise ValueError(f"device: invalid device string {type!r}")
            index = int(number)
        if name not in _KNOWN_TYPES:
            raise ValueError(f"device: expected one of {', '.join(_KNOWN_TYPES)} device type "
                             f"at start of device string: {type!r}")
        self.type, self.index = name, index

    def __repr__(self):
        index = "" if self.index is None else f", index={self.index}"
        return f"device(type='{self.type}'{index})"

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other):
        if isinstance(other, str):
            other = device(other)
        return isinstance(other, device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self):
        return hash((self.type, self.index))


_KNOWN_TYPES = ("cpu", "cuda", "mps", "xpu", "mtia", "meta")
CPU = device("cpu")


def as_cpu(where, caller):
    """Check that ``where`` (None, a string or a ``device``) names the CPU."""
    if where is None:
        return CPU
    where = device(where)
    if where.type != "cpu":
        raise ValueError(f"{caller}: gradlite runs on the CPU only, not on device "
                           f"'{where}'; use device='cpu' (or check cuda.is_available())")
    return where


def is_device(value):
    """Whether ``value`` names a device (a ``device`` or a string like 'cpu', 'cuda:0')."""
    if isinstance(value, device):
        return True
    return isinstance(value, str) and value.partition(":")[0] in _KNOWN_TYPES


def set_default_device(where):
    """Like ``torch.set_default_device``: only the CPU (or None) is accepted."""
    as_cpu(where, "set_default_device")


def get_default_device():
    return CPU


class _Unavailable:
    """``cuda``, ``mps``, ``accelerator``: present, and never available."""

    def __init__(self, name):
        self._name = name

    def is_available(self):
        return False

    def device_count(self):
        return 0

    def current_accelerator(self):
        return None

    def manual_seed(self, seed):
        """Seeding a device that is not there does nothing, as in PyTorch."""

    manual_seed_all = manual_seed

    def synchronize(self, device=None):
        """Nothing runs asynchronously on the CPU."""

    def __repr__(self):
        return f"<gradlite.{self._name}: not available (CPU only)>"


cuda = _Unavailable("cuda")
accelerator = _Unavailable("accelerator")


class backends:
    """``backends.mps.is_available()`` and ``backends.cudnn`` flags, as in PyTorch."""

    mps = _Unavailable("backends.mps")

    class cudnn:
        enabled = False
        benchmark = False
        deterministic = False


def parse_to_args(caller, args, dtype=None, device=None, non_blocking=False, copy=False):
    """The (dtype, device) asked for by ``x.to(...)`` / ``module.to(...)`` in any of
    PyTorch's forms: ``to(dtype)``, ``to(device)``, ``to(device, dtype)``, ``to(tensor)``,
    keywords ``dtype=``/``device=``. ``non_blocking`` is accepted and means nothing here."""
    for arg in args:
        if is_device(arg):
            device = arg
        elif not isinstance(arg, type) and hasattr(arg, "dtype") and hasattr(arg, "shape"):
            dtype, device = arg.dtype, getattr(arg, "device", None)   # to(other_tensor)
        else:
            dtype = arg
    return dtype_arg(caller, dtype), as_cpu(device, caller), copy

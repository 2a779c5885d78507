"""Parameter: a Tensor that a Module registers as one of its learnable weights."""
import numpy as np

from ..dtypes import array_from
from ..tensor import Tensor


class Parameter(Tensor):
    """A leaf Tensor that requires grad by default and that ``Module`` collects.

    Assigning ``module.weight = Parameter(...)`` registers it, so it shows up in
    ``module.parameters()`` and ``module.state_dict()``. ``data`` may be a Tensor
    (its array is shared, as in PyTorch), an ndarray (shared) or Python data
    (converted with the usual dtype rules); ``None`` gives an empty float32 tensor.
    """

    __slots__ = ()

    def __init__(self, data=None, requires_grad=True):
        if data is None:
            array = np.empty(0, dtype=np.float32)
        elif isinstance(data, Tensor):
            array = data.data
        elif isinstance(data, np.ndarray):
            array = data
        else:
            array = array_from(data)
        super().__init__(array, requires_grad=requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

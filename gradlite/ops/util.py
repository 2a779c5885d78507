"""Shape bookkeeping shared by the ops."""


def unbroadcast(grad, shape):
    """Sum ``grad`` back down to ``shape``.

    Broadcasting copies an input along new leading axes and along its size-1
    axes; each copy contributed to the output, so the input's gradient is the
    sum of the output gradient over those axes (written once, used by every
    binary op).
    """
    shape = tuple(shape)
    if grad.shape == shape:
        return grad
    lead = grad.ndim - len(shape)
    stretched = [lead + i for i, n in enumerate(shape) if n == 1 and grad.shape[lead + i] != 1]
    return grad.sum(dim=list(range(lead)) + stretched, keepdim=True).reshape(shape)


def shape_of(value):
    """The shape of an op's argument: an array's (or numpy scalar's), () for a Python
    number."""
    return getattr(value, "shape", ())


def kept_shape(shape, axes):
    """``shape`` with the reduced ``axes`` kept as size 1 (all of them if axes is None)."""
    if axes is None:
        return (1,) * len(shape)
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def reduced_shape(shape, axes):
    """``shape`` with the reduced ``axes`` removed (all of them if axes is None)."""
    if axes is None:
        return ()
    return tuple(n for i, n in enumerate(shape) if i not in axes)

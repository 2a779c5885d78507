"""``nn.utils``: gradient clipping and flat parameter vectors, as ``torch.nn.utils``."""
import numpy as np

from ..autograd import no_grad
from ..functions import cat
from ..tensor import Tensor


def _with_grads(parameters):
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p for p in parameters if p.grad is not None]


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False,
                    foreach=None):
    """Scale all gradients together so that their joint norm is at most ``max_norm``:
    g <- g * min(1, max_norm / (norm + 1e-6)). Returns the norm before clipping."""
    grads = [p.grad for p in _with_grads(parameters)]
    if not grads:
        return Tensor(np.float32(0.0))
    norm_type = float(norm_type)
    arrays = [g.data for g in grads]
    if norm_type == float("inf"):
        total = max(float(np.abs(a).max(initial=0.0)) for a in arrays)
    else:
        total = sum(float((np.abs(a.astype(np.float64)) ** norm_type).sum())
                    for a in arrays) ** (1.0 / norm_type)
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(f"clip_grad_norm_: the total norm of order {norm_type} of the "
                           "gradients is non-finite, so it cannot be clipped; set "
                           "error_if_nonfinite=False to clip anyway")
    scale = min(1.0, max_norm / (total + 1e-6))
    with no_grad():
        for g in grads:
            g.data *= np.asarray(scale, g.data.dtype)
    return Tensor(np.asarray(total, dtype=grads[0].data.dtype))


def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clamp every gradient element to [-clip_value, clip_value], in place."""
    for p in _with_grads(parameters):
        np.clip(p.grad.data, -clip_value, clip_value, out=p.grad.data)


def parameters_to_vector(parameters):
    """All parameters flattened and joined into one vector (differentiable)."""
    return cat([p.reshape(-1) for p in parameters])


def vector_to_parameters(vec, parameters):
    """Copy consecutive slices of ``vec`` into the parameters, in place."""
    if not isinstance(vec, Tensor) or vec.ndim != 1:
        raise TypeError(f"vector_to_parameters: expected a 1-d Tensor, got "
                        f"{type(vec).__name__} of shape {getattr(vec, 'shape', None)}")
    parameters = list(parameters)
    needed = sum(p.numel() for p in parameters)
    if vec.numel() != needed:
        raise ValueError(f"vector_to_parameters: the vector has {vec.numel()} elements, "
                         f"the parameters {needed}")
    start = 0
    for p in parameters:
        p.data[...] = vec.data[start:start + p.numel()].reshape(p.shape)
        start += p.numel()

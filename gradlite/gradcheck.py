"""Check analytic gradients against central finite differences.

For a function f of tensors, pick a fixed random direction r over the output and
compare, for every element x_i of every input that requires grad,

    analytic   d(sum(f * r))/dx_i                      (one backward pass)
    numerical  (sum(f(x_i + eps) * r) - sum(f(x_i - eps) * r)) / (2 eps)

in float64, where the central difference is accurate to O(eps^2).
"""
import numpy as np

from . import autograd
from .functions import cat
from .tensor import Tensor


class GradcheckError(RuntimeError):
    """Raised when an analytic gradient disagrees with finite differences."""


def _projected(fn, inputs, direction):
    out = fn(*inputs)
    if not isinstance(out, Tensor):
        raise TypeError(f"gradcheck: fn must return a Tensor, got {type(out).__name__}")
    return (out * direction).sum() if out.ndim else out * direction


def _numerical_grad(fn, inputs, x, direction, eps):
    grad = np.zeros_like(x.data)
    flat_data, flat_grad = x.data.reshape(-1), grad.reshape(-1)
    with autograd.no_grad():
        for i in range(flat_data.size):
            original = flat_data[i]
            flat_data[i] = original + eps
            plus = _projected(fn, inputs, direction).item()
            flat_data[i] = original - eps
            minus = _projected(fn, inputs, direction).item()
            flat_data[i] = original
            flat_grad[i] = (plus - minus) / (2 * eps)
    return grad


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True, seed=0):
    """True if ``fn``'s analytic gradients match central differences for every
    input that requires grad; otherwise raise (or return False) naming the
    input, the worst index and both values. Inputs must be float64."""
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    checked = [(i, x) for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad, so there is nothing to check")
    for i, x in checked:
        if x.dtype != np.float64:
            raise ValueError(f"gradcheck: input {i} is {x.dtype}; finite differences need "
                             "float64 inputs (use x.double())")
    with autograd.no_grad():
        out_shape = fn(*inputs).shape
    direction = np.random.default_rng(seed).standard_normal(out_shape)
    projected = _projected(fn, inputs, direction)
    if projected.requires_grad:
        analytic = autograd.grad(projected, [x for _, x in checked], allow_unused=True)
    else:  # the output does not depend on any input that requires grad
        analytic = [None] * len(checked)
    for (i, x), a in zip(checked, analytic):
        a = np.zeros_like(x.data) if a is None else a.data
        n = _numerical_grad(fn, inputs, x, direction, eps)
        excess = np.abs(a - n) - (atol + rtol * np.abs(n))
        if excess.size and (excess.max() > 0 or not np.all(np.isfinite(a))):
            worst = np.unravel_index(np.nanargmax(np.where(np.isfinite(a), excess, np.inf)),
                                     x.shape)
            message = (f"gradcheck: gradient of input {i} (shape {x.shape}) is wrong at index "
                       f"{tuple(int(k) for k in worst)}: analytic {float(a[worst])!r}, numerical "
                       f"{float(n[worst])!r} (atol={atol}, rtol={rtol})")
            if raise_exception:
                raise GradcheckError(message)
            return False
    return True


def gradgradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True, seed=0):
    """gradcheck of the first derivative: checks the second derivatives that
    ``backward(create_graph=True)`` produces."""
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    wrt = [x for x in inputs if isinstance(x, Tensor) and x.requires_grad]
    with autograd.no_grad():
        direction = np.random.default_rng(seed + 1).standard_normal(fn(*inputs).shape)

    def first_derivatives(*xs):
        with autograd.enable_grad():  # gradcheck evaluates under no_grad
            grads = autograd.grad(_projected(fn, xs, direction), wrt, create_graph=True,
                                  allow_unused=True)
        return cat([(g if g is not None else x.detach() * 0).reshape(-1)
                    for g, x in zip(grads, wrt)])

    return gradcheck(first_derivatives, inputs, eps, atol, rtol, raise_exception, seed)

"""Second derivatives of fused ops, taken from their composite definitions.

A fused op (LayerNorm, an LSTM layer, attention) computes its forward and its
backward in numpy, in a few large array operations: fast, but the backward is
not itself recorded, so it cannot be differentiated again. Each fused op also
has a *composite* definition written with Tensor ops (the same formula, slower,
and the readable specification). Under ``create_graph=True`` its backward
differentiates the composite instead, so gradgradcheck holds for fused ops too.
"""
from .. import autograd


def composite_grads(composite, inputs, needs, grad):
    """Gradients of ``composite(*inputs)`` for the upstream gradient ``grad``,
    recorded so that they can be differentiated again; None where ``needs`` is False.

    ``inputs`` are the op's saved Tensors (None for an absent bias); the gradient
    sweep runs from the composite's output through the whole graph above it.
    """
    wanted = [x for x, need in zip(inputs, needs) if need]
    with autograd.enable_grad():
        out = composite(*inputs)
    grads = iter(autograd.grad(out, wanted, grad_outputs=grad, create_graph=True,
                               allow_unused=True))
    return tuple(next(grads) if need else None for need in needs)

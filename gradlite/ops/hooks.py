"""The identity op that lets ``Module.register_full_backward_hook`` see gradients."""
from ..autograd import Function


class BackwardHook(Function):
    """y = x;  dL/dx = g, after handing g to ``on_grad`` (which may return a
    replacement): placed on a module's input and output, it observes dL/d(output) and
    dL/d(input)."""

    @staticmethod
    def forward(ctx, x, on_grad):
        ctx.on_grad = on_grad
        return x

    @staticmethod
    def backward(ctx, g):
        replaced = ctx.on_grad(g)
        return (g if replaced is None else replaced), None

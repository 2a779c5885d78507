"""The affine map of nn.Linear as one fused Function (one node instead of three)."""
from ..autograd import Function


class Affine(Function):
    """y = x W^T + b  for x of shape (..., in), W (out, in), b (out,) or None.

    With G = dL/dy and the leading dims of x and G flattened into rows:
    dL/dx = G W,   dL/dW = G^T x,   dL/db = sum of G over the rows.

    Every product is taken on the rows, as one 2-d matrix product: numpy would run a
    3-d x as one small product per leading index.
    """

    @staticmethod
    def forward(ctx, x, weight, bias):
        ctx.save_for_backward(x, weight)
        y = x.reshape(-1, weight.shape[1]) @ weight.T
        if bias is not None:
            y += bias
        return y.reshape(x.shape[:-1] + weight.shape[:1])

    @staticmethod
    def backward(ctx, g):
        x, weight = ctx.saved_tensors
        rows = g.reshape(-1, weight.shape[0])
        return ctx.needed(lambda: (rows @ weight).reshape(x.shape),
                          lambda: rows.mT @ x.reshape(-1, weight.shape[1]),
                          lambda: rows.sum(dim=0))

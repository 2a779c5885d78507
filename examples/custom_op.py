"""Writing your own differentiable op with ``gradlite.Function``, and checking it.

An op is a subclass of ``Function`` with two static methods:

* ``forward(ctx, x)`` gets numpy arrays and returns a numpy array; it may keep what
  the backward needs with ``ctx.save_for_backward(...)``;
* ``backward(ctx, grad)`` gets dL/d(output) as a Tensor and returns dL/d(input),
  one gradient per forward argument.

Here the op is softplus, y = log(1 + e^x), a smooth ReLU. Its derivative is the
sigmoid: dy/dx = e^x / (1 + e^x) = sigmoid(x). The forward uses ``np.logaddexp(0, x)``,
which does not overflow for large x.

How do we know the backward is right? ``gradlite.gradcheck`` compares it with central
finite differences, (f(x + eps) - f(x - eps)) / (2 eps), in float64. Because the
backward is written with Tensor ops (``x.sigmoid()``), it can itself be differentiated,
and ``gradlite.gradgradcheck`` checks the second derivative too. Finally we show
gradcheck catching a plausible mistake: a backward that returns sigmoid(x) without
multiplying by the incoming gradient.

    python examples/custom_op.py [--out DIR]
"""
import argparse
from pathlib import Path

import numpy as np

import gradlite
from gradlite import Function


class Softplus(Function):
    """y = log(1 + e^x);  dy/dx = sigmoid(x)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)          # comes back in backward as the input Tensor
        return np.logaddexp(0, x)

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        return grad * x.sigmoid()         # chain rule: dL/dx = dL/dy * dy/dx


class BrokenSoftplus(Softplus):
    """The same forward with a classic bug: the incoming gradient is ignored."""

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        return x.sigmoid()


def main(argv=None):
    parser = argparse.ArgumentParser(description="A custom Function (softplus), gradchecked.")
    parser.add_argument("--out", default="examples_output", help="folder for custom_op.png")
    parser.add_argument("--full", action="store_true", help="(no long version; accepted for uniformity)")
    args = parser.parse_args(argv)
    gradlite.manual_seed(0)

    x = gradlite.tensor([-2.0, 0.0, 3.0], requires_grad=True)
    y = Softplus.apply(x)
    y.sum().backward()
    print("x               ", x.numpy())
    print("softplus(x)     ", y.detach().numpy().round(4))
    print("dy/dx (backward)", x.grad.numpy().round(4))
    print("sigmoid(x)      ", (1 / (1 + np.exp(-x.numpy()))).round(4))
    print("softplus(1000) =", Softplus.apply(gradlite.tensor([1000.0])).item(), "(no overflow)")

    # gradcheck needs float64: finite differences in float32 are too coarse.
    x64 = gradlite.randn(4, 5, dtype=gradlite.float64, requires_grad=True)
    print("gradcheck(Softplus):    ", gradlite.gradcheck(Softplus.apply, x64))
    print("gradgradcheck(Softplus):", gradlite.gradgradcheck(Softplus.apply, x64))
    try:
        gradlite.gradcheck(BrokenSoftplus.apply, x64)
        print("gradcheck(BrokenSoftplus): passed (unexpected!)")
    except gradlite.GradcheckError as error:
        print("gradcheck(BrokenSoftplus) caught the bug:\n   ", error)

    _plot(Path(args.out))


def _plot(out):
    try:
        from matplotlib.figure import Figure
    except ImportError:
        print("(matplotlib is not installed: no picture)")
        return
    xs = gradlite.linspace(-4, 4, 200, dtype=gradlite.float64).requires_grad_()
    ys = Softplus.apply(xs)
    ys.sum().backward()
    out.mkdir(parents=True, exist_ok=True)
    fig = Figure(figsize=(6, 3.5))
    ax = fig.add_subplot()
    ax.plot(xs.numpy(), ys.detach().numpy(), label="softplus(x)")
    ax.plot(xs.numpy(), xs.grad.numpy(), label="d/dx softplus = sigmoid(x)")
    ax.plot(xs.numpy(), np.maximum(xs.numpy(), 0), "--", color="gray", label="relu(x)")
    ax.set(xlabel="x", title="a custom op and its gradient")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "custom_op.png")
    print(f"picture: {out / 'custom_op.png'}")


if __name__ == "__main__":
    main()

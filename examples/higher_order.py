"""Derivatives of derivatives: tanh up to the 4th order with ``create_graph=True``.

Every op's backward in gradlite is written with Tensor ops. Normally the backward
sweep runs with recording switched off, but with ``create_graph=True`` it is recorded
like any forward computation, so the gradient it returns is itself a Tensor with a
graph, and we can differentiate it again::

    y  = tanh(x)
    d1 = grad(y.sum(),  x, create_graph=True)   # dy/dx at every x
    d2 = grad(d1.sum(), x, create_graph=True)   # d2y/dx2 ...

(Summing first is fine: each output element depends only on its own x, so the
gradient of the sum is the elementwise derivative.) With t = tanh(x) the closed
forms are

    d1 = 1 - t^2
    d2 = -2 t (1 - t^2)
    d3 = (6 t^2 - 2)(1 - t^2)
    d4 = (16 t - 24 t^3)(1 - t^2)

The script prints the largest difference between autodiff and these formulas and
plots the five curves.

    python examples/higher_order.py [--order 4] [--out DIR]
"""
import argparse
from pathlib import Path

import numpy as np

import gradlite
from gradlite.autograd import grad


def closed_forms(x):
    """tanh and its first four derivatives at ``x`` (numpy), from the formulas above."""
    t = np.tanh(x)
    s = 1 - t ** 2
    return [t, s, -2 * t * s, (6 * t ** 2 - 2) * s, (16 * t - 24 * t ** 3) * s]


def derivatives(x, order):
    """[tanh(x), d/dx tanh, ..., d^order/dx^order tanh] by repeated autodiff."""
    y = x.tanh()
    result = [y]
    for _ in range(order):
        y, = grad(y.sum(), x, create_graph=True)
        result.append(y)
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description="Higher derivatives of tanh by autodiff.")
    parser.add_argument("--order", type=int, default=4, choices=range(1, 5),
                        help="highest derivative (closed forms exist up to 4)")
    parser.add_argument("--out", default="examples_output", help="folder for higher_order.png")
    parser.add_argument("--full", action="store_true", help="(no long version; accepted for uniformity)")
    args = parser.parse_args(argv)

    xs = np.linspace(-4, 4, 401)
    x = gradlite.tensor(xs, dtype=gradlite.float64, requires_grad=True)
    autodiff = [d.detach().numpy() for d in derivatives(x, args.order)]
    exact = closed_forms(xs)
    errors = []
    for k, (a, e) in enumerate(zip(autodiff, exact)):
        errors.append(float(np.max(np.abs(a - e))))
        print(f"order {k}: max |autodiff - closed form| = {errors[-1]:.2e}")
    i0 = len(xs) // 2 + 50    # x = 1.0
    print(f"at x = {xs[i0]:.1f}: " + ", ".join(f"d{k} = {d[i0]:+.4f}" for k, d in enumerate(autodiff)))

    _plot(xs, autodiff, Path(args.out))
    return {"max_error": max(errors)}


def _plot(xs, curves, out):
    try:
        from matplotlib.figure import Figure
    except ImportError:
        print("(matplotlib is not installed: no picture)")
        return
    out.mkdir(parents=True, exist_ok=True)
    fig = Figure(figsize=(7, 4))
    ax = fig.add_subplot()
    names = ["tanh", "1st", "2nd", "3rd", "4th"]
    for k, ys in enumerate(curves):
        ax.plot(xs, ys, label=names[k])
    ax.set(xlabel="x", title="tanh and its derivatives (autodiff, create_graph=True)")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "higher_order.png")
    print(f"picture: {out / 'higher_order.png'}")


if __name__ == "__main__":
    main()

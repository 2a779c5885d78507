"""One hidden layer is enough: fitting sin(3x) + x^2 with a few tanh units.

The universal approximation theorem says that a network with a single hidden layer
of (enough) sigmoid-like units can approximate any continuous function on a closed
interval as closely as you like. The network here is

    f(x) = sum_j a_j tanh(w_j x + b_j) + c

Each unit is a smooth step placed at x = -b_j / w_j with steepness w_j and height
a_j; adding enough steps traces out any curve. The script fits
sin(3x) + x^2 on [-2, 2] with 2, 5 and 20 hidden units (Adam, full batch), prints
the mean squared error of each and plots the fits: more units, closer fit.

    python examples/universal_approximation.py [--steps 1500] [--full] [--out DIR]
"""
import argparse
from pathlib import Path

import numpy as np

import gradlite
from gradlite import nn, optim


def target(x):
    return np.sin(3 * x) + x ** 2


def fit_one_hidden_layer(width, x, y, steps, lr=0.02):
    model = nn.Sequential(nn.Linear(1, width), nn.Tanh(), nn.Linear(width, 1))
    optimizer = optim.Adam(model.parameters(), lr=lr)
    X, Y = gradlite.tensor(x[:, None]), gradlite.tensor(y[:, None])
    loss_fn = nn.MSELoss()
    for _ in range(steps):
        optimizer.zero_grad()
        loss = loss_fn(model(X), Y)
        loss.backward()
        optimizer.step()
    with gradlite.no_grad():
        prediction = model(X).numpy()[:, 0]
    return prediction, float(np.mean((prediction - y) ** 2))


def main(argv=None):
    parser = argparse.ArgumentParser(description="One hidden layer fitting sin(3x) + x^2.")
    parser.add_argument("--steps", type=int, help="Adam steps per network (default 1500, 8000 with --full)")
    parser.add_argument("--widths", type=int, nargs="+", default=[2, 5, 20], help="hidden units to try")
    parser.add_argument("--full", action="store_true", help="8000 steps")
    parser.add_argument("--out", default="examples_output", help="folder for universal_approximation.png")
    args = parser.parse_args(argv)
    steps = args.steps or (8000 if args.full else 1500)
    gradlite.manual_seed(0)

    x = np.linspace(-2, 2, 200, dtype=np.float32)
    y = target(x).astype(np.float32)
    fits = {}
    print(f"fitting sin(3x) + x^2 on [-2, 2], {steps} Adam steps each")
    for width in args.widths:
        prediction, mse = fit_one_hidden_layer(width, x, y, steps)
        fits[width] = prediction
        print(f"  {width:3d} hidden units: mean squared error {mse:.5f}")

    _plot(x, y, fits, Path(args.out))
    return {width: float(np.mean((p - y) ** 2)) for width, p in fits.items()}


def _plot(x, y, fits, out):
    try:
        from matplotlib.figure import Figure
    except ImportError:
        print("(matplotlib is not installed: no picture)")
        return
    out.mkdir(parents=True, exist_ok=True)
    fig = Figure(figsize=(7, 4))
    ax = fig.add_subplot()
    ax.plot(x, y, "k", linewidth=3, alpha=0.3, label="sin(3x) + x^2")
    for width, prediction in fits.items():
        ax.plot(x, prediction, label=f"{width} tanh units")
    ax.set(xlabel="x", title="one hidden layer, more and more units")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "universal_approximation.png")
    print(f"picture: {out / 'universal_approximation.png'}")


if __name__ == "__main__":
    main()

"""Six optimizers on one hard little problem: the Rosenbrock valley.

    f(x, y) = (1 - x)^2 + 100 (y - x^2)^2

has its minimum f = 0 at (1, 1) at the bottom of a long, curved, flat-bottomed
valley: steep across it, nearly flat along it. That is the shape that makes plain
gradient descent slow, and the shape the other methods were invented for:

* SGD:       p <- p - lr g                        (one step size for everything)
* momentum:  v <- 0.9 v + g;  p <- p - lr v        (keeps moving along the valley)
* Adagrad:   divides lr by the root of the *sum* of all past g^2, per coordinate
* Adadelta:  a running average of g^2 instead, and step sizes in the units of p
* RMSprop:   divides lr by the root of a running average of g^2
* Adam:      momentum and RMSprop together, with bias correction

Every run starts at (-1.5, 2) and takes the same number of steps; each learning
rate was picked by hand to be reasonable for that method (not tuned to win). The
script prints where each one ends up and plots the loss curves on one log-scale plot
next to the paths over the contour lines.

    python examples/optimizers.py [--steps 1000] [--full] [--out DIR]
"""
import argparse
from pathlib import Path

import numpy as np

import gradlite
from gradlite import optim

START = (-1.5, 2.0)
OPTIMIZERS = {
    "SGD": (optim.SGD, {"lr": 1e-3}),
    "momentum": (optim.SGD, {"lr": 1e-3, "momentum": 0.9}),
    "Adagrad": (optim.Adagrad, {"lr": 0.5}),
    "Adadelta": (optim.Adadelta, {"lr": 1.0}),
    "RMSprop": (optim.RMSprop, {"lr": 1e-2}),
    "Adam": (optim.Adam, {"lr": 5e-2}),
}


def rosenbrock(p):
    x, y = p[0], p[1]
    return (1 - x) ** 2 + 100 * (y - x * x) ** 2


def run(optimizer_class, settings, steps):
    """Minimise from START; returns the losses and the path (steps + 1, 2)."""
    p = gradlite.tensor(START, dtype=gradlite.float64, requires_grad=True)
    optimizer = optimizer_class([p], **settings)
    losses, path = [], [p.detach().numpy().copy()]
    for _ in range(steps):
        optimizer.zero_grad()
        loss = rosenbrock(p)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        path.append(p.detach().numpy().copy())
    return losses, np.array(path)


def main(argv=None):
    parser = argparse.ArgumentParser(description="SGD, momentum, Adagrad, Adadelta, RMSprop, Adam.")
    parser.add_argument("--steps", type=int, help="default 1000 (5000 with --full)")
    parser.add_argument("--full", action="store_true", help="5000 steps")
    parser.add_argument("--out", default="examples_output", help="folder for optimizers.png")
    args = parser.parse_args(argv)
    steps = args.steps or (5000 if args.full else 1000)

    results = {}
    print(f"minimising the Rosenbrock function from {START}, {steps} steps; minimum 0 at (1, 1)")
    print(f"{'optimizer':<10} {'settings':<24} {'final loss':>12}   final (x, y)")
    for name, (cls, settings) in OPTIMIZERS.items():
        losses, path = run(cls, settings, steps)
        results[name] = (losses, path)
        text = ", ".join(f"{k}={v:g}" for k, v in settings.items())
        print(f"{name:<10} {text:<24} {losses[-1]:12.3g}   ({path[-1, 0]:.3f}, {path[-1, 1]:.3f})")

    _plot(results, Path(args.out))
    return {name: losses[-1] for name, (losses, _) in results.items()}


def _plot(results, out):
    try:
        from matplotlib.figure import Figure
    except ImportError:
        print("(matplotlib is not installed: no picture)")
        return
    out.mkdir(parents=True, exist_ok=True)
    fig = Figure(figsize=(12, 4.5))
    curves, paths = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    gx, gy = np.meshgrid(np.linspace(-2, 2, 200), np.linspace(-1, 3, 200))
    paths.contour(gx, gy, (1 - gx) ** 2 + 100 * (gy - gx ** 2) ** 2,
                  levels=np.logspace(-1, 3.5, 15), colors="lightgray", linewidths=0.8)
    for name, (losses, path) in results.items():
        curves.plot(np.maximum(losses, 1e-12), label=name)
        paths.plot(path[:, 0], path[:, 1], linewidth=1.2, label=name)
    paths.plot(*START, "ko")
    paths.plot(1, 1, "k*", markersize=12)
    curves.set(yscale="log", xlabel="step", ylabel="f(x, y)", title="loss")
    paths.set(xlim=(-2, 2), ylim=(-1, 3), xlabel="x", ylabel="y", title="paths (start o, minimum *)")
    curves.grid(alpha=0.3)
    curves.legend()
    fig.tight_layout()
    fig.savefig(out / "optimizers.png")
    print(f"picture: {out / 'optimizers.png'}")


if __name__ == "__main__":
    main()

"""Gradient descent three ways, and what the learning rate does.

The data is a small study-hours table (illustrative numbers, written for this
example): hours studied -> exam score. The model is a line, score = w * hours + b,
and the loss is the mean squared error over the table.

Part 1, how many rows per step:
* batch gradient descent: one step per epoch, using the gradient over all rows;
* stochastic gradient descent (SGD): one step per row, in a random order;
* mini-batch gradient descent: one step per small group of rows (here 4).
Each step with fewer rows is cheaper and noisier; per epoch, SGD and mini-batch take
more steps and get down faster, but wobble.

Part 2, the step size (batch descent): too small crawls, right converges, too large
overshoots further each step and diverges. The hours are standardised first
(x = (hours - mean) / std), which makes the loss surface round: its second derivative
is 2 in both w and b, so any learning rate above 2 / 2 = 1 diverges.

    python examples/gradient_descent.py [--epochs 60] [--out DIR]
"""
import argparse
from pathlib import Path

import numpy as np

import gradlite
from gradlite import nn, optim

HOURS = [1.0, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 6.5, 7.5, 9.0]
SCORES = [52.0, 55.0, 61.0, 58.0, 66.0, 70.0, 74.0, 79.0, 81.0, 90.0]


def train(x, y, rows_per_step, lr, epochs, seed=0):
    """Fit y ~ w x + b with SGD on ``rows_per_step`` rows at a time; returns the
    full-table MSE after every epoch (index 0: before training) and (w, b)."""
    rng = np.random.default_rng(seed)
    model = nn.Linear(1, 1)
    with gradlite.no_grad():                       # the same start for every run
        model.weight.fill_(0.0)
        model.bias.fill_(0.0)
    optimizer = optim.SGD(model.parameters(), lr=lr)
    loss_fn = nn.MSELoss()
    X, Y = gradlite.tensor(x[:, None]), gradlite.tensor(y[:, None])
    losses = [loss_fn(model(X), Y).item()]
    for _ in range(epochs):
        order = rng.permutation(len(x)) if rows_per_step < len(x) else np.arange(len(x))
        for start in range(0, len(x), rows_per_step):
            rows = order[start:start + rows_per_step]
            optimizer.zero_grad()
            loss_fn(model(X[rows]), Y[rows]).backward()
            optimizer.step()
        with gradlite.no_grad():
            losses.append(loss_fn(model(X), Y).item())
    return losses, (model.weight.item(), model.bias.item())


def main(argv=None):
    parser = argparse.ArgumentParser(description="Batch, stochastic, mini-batch; learning rates.")
    parser.add_argument("--epochs", type=int, help="default 40 (200 with --full)")
    parser.add_argument("--full", action="store_true", help="200 epochs")
    parser.add_argument("--out", default="examples_output", help="folder for gradient_descent.png")
    args = parser.parse_args(argv)
    epochs = args.epochs or (200 if args.full else 40)
    gradlite.manual_seed(0)

    hours, scores = np.array(HOURS, np.float32), np.array(SCORES, np.float32)
    mean, std = hours.mean(), hours.std()
    x = (hours - mean) / std
    print("hours :", " ".join(f"{h:4g}" for h in HOURS))
    print("score :", " ".join(f"{s:4g}" for s in SCORES))
    slope, intercept = np.polyfit(hours, scores, 1)
    print(f"least squares (the answer): score = {slope:.2f} * hours + {intercept:.2f}\n")

    curves = {}
    print(f"part 1: lr 0.05, {epochs} epochs; MSE after epochs 1, 5 and the last")
    for name, rows in (("batch", len(x)), ("mini-batch (4)", 4), ("stochastic (1)", 1)):
        losses, (w, b) = train(x, scores, rows, 0.05, epochs)
        curves[name] = losses
        print(f"  {name:<15} {losses[1]:9.2f} {losses[5]:9.2f} {losses[-1]:9.2f}   "
              f"score = {w / std:.2f} * hours + {b - w * mean / std:.2f}")

    print(f"\npart 2: batch descent, MSE after epochs 1, 5 and the last")
    rates = {"too small (0.005)": 0.005, "right (0.3)": 0.3, "too large (1.05)": 1.05}
    lr_curves = {}
    for name, lr in rates.items():
        losses, _ = train(x, scores, len(x), lr, epochs)
        lr_curves[name] = losses
        print(f"  {name:<18} {losses[1]:12.2f} {losses[5]:12.2f} {losses[-1]:12.4g}")

    _plot(curves, lr_curves, Path(args.out))
    return {"final": {name: c[-1] for name, c in {**curves, **lr_curves}.items()}}


def _plot(curves, lr_curves, out):
    try:
        from matplotlib.figure import Figure
    except ImportError:
        print("(matplotlib is not installed: no picture)")
        return
    out.mkdir(parents=True, exist_ok=True)
    fig = Figure(figsize=(11, 4))
    for k, (title, group) in enumerate((("rows per step (lr 0.05)", curves),
                                        ("learning rate (batch descent)", lr_curves))):
        ax = fig.add_subplot(1, 2, k + 1)
        for name, losses in group.items():
            ax.plot(losses, label=name)
        ax.set(yscale="log", xlabel="epoch", ylabel="mean squared error", title=title)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(out / "gradient_descent.png")
    print(f"picture: {out / 'gradient_descent.png'}")


if __name__ == "__main__":
    main()

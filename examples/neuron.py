"""A tiny sigmoid network from the lecture, forward and one step of gradient descent.

Two inputs, two hidden sigmoid units, one sigmoid output (s(a) = 1 / (1 + e^-a)):

    h1  = s(3.7 x1 + 3.7 x2 - 1.5)
    h2  = s(2.9 x1 + 2.9 x2 - 4.5)
    out = s(4.5 h1 - 5.2 h2 - 2.0)

For the input (1.0, 0.0): h1 = s(2.2) = 0.90, h2 = s(-1.6) = 0.17 and
out = s(4.5 * 0.90 - 5.2 * 0.17 - 2.0) = s(1.18) = 0.76.

We then ask for out = 1.0 with the squared error L = (out - target)^2, let the scalar
engine compute dL/dw for all nine weights with one ``backward()``, and take one step
w <- w - lr * dL/dw. Every weight moves a little in the direction that lowers L, and
the loss on the same input goes down.

    python examples/neuron.py [--lr 1.0] [--target 1.0] [--out DIR]
"""
import argparse
from pathlib import Path

from gradlite import Value

INITIAL = {"w11": 3.7, "w21": 3.7, "b1": -1.5,   # into h1 (w_ij: input i -> hidden j)
           "w12": 2.9, "w22": 2.9, "b2": -4.5,   # into h2
           "v1": 4.5, "v2": -5.2, "b3": -2.0}    # into the output


def forward(w, x1, x2):
    """The network on one input; ``w`` maps names to Values. Returns (h1, h2, out)."""
    h1 = (w["w11"] * x1 + w["w21"] * x2 + w["b1"]).sigmoid()
    h2 = (w["w12"] * x1 + w["w22"] * x2 + w["b2"]).sigmoid()
    out = (w["v1"] * h1 + w["v2"] * h2 + w["b3"]).sigmoid()
    return h1, h2, out


def main(argv=None):
    parser = argparse.ArgumentParser(description="A 2-2-1 sigmoid network and one gradient step.")
    parser.add_argument("--lr", type=float, default=1.0, help="learning rate of the step")
    parser.add_argument("--target", type=float, default=1.0, help="the desired output")
    parser.add_argument("--out", default="examples_output", help="folder for neuron.png")
    parser.add_argument("--full", action="store_true", help="(no long version; accepted for uniformity)")
    args = parser.parse_args(argv)
    x1, x2 = 1.0, 0.0

    w = {name: Value(value, label=name) for name, value in INITIAL.items()}
    h1, h2, out = forward(w, x1, x2)
    loss = (out - args.target) ** 2
    print(f"forward:  h1 = {h1.data:.2f}  h2 = {h2.data:.2f}  out = {out.data:.2f}")
    print(f"loss before the step: (out - {args.target:g})^2 = {loss.data:.4f}")

    loss.backward()
    print(f"\none step, w <- w - {args.lr:g} * dL/dw")
    print(f"{'weight':>6} {'before':>8} {'dL/dw':>9} {'after':>8}")
    before = {name: v.data for name, v in w.items()}
    for name, v in w.items():
        v.data -= args.lr * v.grad
        print(f"{name:>6} {before[name]:8.4f} {v.grad:9.4f} {v.data:8.4f}")
    # x2 = 0, so w21 and w22 get no gradient: they did not influence this output.

    _, _, new_out = forward(w, x1, x2)
    new_loss = (new_out - args.target) ** 2
    print(f"\nafter the step: out = {new_out.data:.4f}, loss = {new_loss.data:.4f} "
          f"(was {loss.data:.4f})")

    _plot(before, w, Path(args.out))
    return {"h1": h1.data, "h2": h2.data, "out": out.data,
            "loss_before": loss.data, "loss_after": new_loss.data}


def _plot(before, after, out):
    try:
        from matplotlib.figure import Figure
    except ImportError:
        print("(matplotlib is not installed: no picture)")
        return
    out.mkdir(parents=True, exist_ok=True)
    fig = Figure(figsize=(7, 3.2))
    ax = fig.add_subplot()
    names = list(before)
    change = [after[n].data - before[n] for n in names]
    ax.bar(names, change, color=["tab:red" if c < 0 else "tab:blue" for c in change])
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set(title="change of each weight after one gradient step", ylabel="w_after - w_before")
    fig.tight_layout()
    fig.savefig(out / "neuron.png")
    print(f"picture: {out / 'neuron.png'}")


if __name__ == "__main__":
    main()

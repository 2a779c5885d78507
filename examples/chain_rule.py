"""The chain rule on the smallest interesting graph: f = (x + y) * z.

With x = -2, y = 5, z = -4 the forward pass gives q = x + y = 3 and f = q * z = -12.
The backward pass walks the graph from f back to the inputs, multiplying local
derivatives along the way:

    df/dz = q                       =  3
    df/dq = z                       = -4
    df/dx = df/dq * dq/dx = -4 * 1  = -4
    df/dy = df/dq * dq/dy = -4 * 1  = -4

gradlite's scalar engine (``gradlite.Value``) does exactly this: every operation
remembers its inputs and a small closure with its local derivative, and
``f.backward()`` visits the nodes in reverse topological order. The script prints
every node's value and gradient and writes the graph as DOT text (and as SVG when
Graphviz's ``dot`` program is installed).

    python examples/chain_rule.py [--out DIR]
"""
import argparse
from pathlib import Path

from gradlite import Value, draw_dot, render_dot
from gradlite.autograd import topological_order


def build_graph():
    """The lecture's graph, with labelled nodes; returns (x, y, z, q, f)."""
    x, y, z = Value(-2.0, label="x"), Value(5.0, label="y"), Value(-4.0, label="z")
    q = x + y
    q.label = "q"
    f = q * z
    f.label = "f"
    return x, y, z, q, f


def main(argv=None):
    parser = argparse.ArgumentParser(description="f = (x + y) * z, forward and backward.")
    parser.add_argument("--out", default="examples_output", help="folder for chain_rule.dot/.svg")
    parser.add_argument("--full", action="store_true", help="(no long version; accepted for uniformity)")
    args = parser.parse_args(argv)

    x, y, z, q, f = build_graph()
    f.backward()

    order = topological_order(f, lambda v: v._prev)
    print("topological order (inputs first):", " -> ".join(v.label for v in order))
    print(f"{'node':>4}  {'value':>7}  {'df/dnode':>8}")
    for v in order:
        print(f"{v.label:>4}  {v.data:7.1f}  {v.grad:8.1f}")
    print(f"q = {q.data:g}, f = {f.data:g}, df/dx = {x.grad:g}, df/dy = {y.grad:g}, "
          f"df/dz = {z.grad:g}")

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    dot = draw_dot(f)
    print(f"graph (DOT) written to {render_dot(dot, out / 'chain_rule.dot')}")
    try:
        print(f"graph (SVG) written to {render_dot(dot, out / 'chain_rule.svg')}")
    except RuntimeError:
        print("note: Graphviz's `dot` is not installed, so no SVG; the .dot file opens in "
              "any Graphviz viewer (or: apt-get install graphviz)")
    return {"q": q.data, "f": f.data, "x": x.grad, "y": y.grad, "z": z.grad}


if __name__ == "__main__":
    main()

"""Draw a computation graph as Graphviz DOT text (and render it when Graphviz is there)."""
import shutil
import subprocess
from pathlib import Path

from .autograd import topological_order
from .scalar import Value


def _describe(node):
    """(label, op, parents) of a Value or a Tensor."""
    if isinstance(node, Value):
        label = f"{node.label + ' | ' if node.label else ''}data {node.data:.4f} | grad {node.grad:.4f}"
        return label, node._op, node._prev
    ctx = node._ctx
    grad = "none" if node.grad is None else f"{tuple(node.grad.shape)}"
    label = f"shape {tuple(node.shape)} | {node.dtype} | grad {grad}"
    if node.data.size == 1:
        label = f"data {node.data.item():.4f} | " + label
    op = "" if ctx is None else ctx.fn.__name__
    parents = () if ctx is None else [t for t in ctx.inputs if t is not None]
    return label, op, parents


def draw_dot(root, rankdir="LR"):
    """The graph that produced ``root`` (a Value or a Tensor) as DOT text: one
    record per node with its data and grad, and an oval per op."""
    lines = ["digraph G {", f"  rankdir={rankdir};", "  node [shape=record];"]
    for node in topological_order(root, lambda n: _describe(n)[2]):
        label, op, parents = _describe(node)
        name = f"n{id(node)}"
        lines.append(f'  {name} [label="{{ {label} }}"];')
        if op:
            lines.append(f'  {name}_op [label="{op}", shape=oval];')
            lines.append(f"  {name}_op -> {name};")
            lines.extend(f"  n{id(parent)} -> {name}_op;" for parent in parents)
    lines.append("}")
    return "\n".join(lines) + "\n"


def render_dot(dot, path, format=None):
    """Write DOT text to ``path``; for .svg/.png/.pdf run Graphviz's ``dot``.

    Returns the written path. Raises RuntimeError saying how to install Graphviz
    when a picture is asked for and the ``dot`` program is missing.
    """
    path = Path(path)
    format = format or path.suffix.lstrip(".") or "dot"
    if format in ("dot", "gv"):
        path.write_text(dot)
        return path
    executable = shutil.which("dot")
    if executable is None:
        raise RuntimeError("render_dot: Graphviz's `dot` program was not found; install it "
                           "(Debian/Ubuntu: apt-get install graphviz, macOS: brew install "
                           "graphviz) or write the DOT text instead (path ending in .dot)")
    subprocess.run([executable, f"-T{format}", "-o", str(path)], input=dot.encode(), check=True)
    return path

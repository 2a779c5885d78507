"""``tensor.grad_fn`` as PyTorch shows it: a node with a name and ``next_functions``.

The graph itself is the chain of ``Context`` records in :mod:`gradlite.autograd`; a
``Node`` is a read-only view of one of them, for printing and walking the graph::

    loss.grad_fn                         # <MseLossBackward0 object at 0x...>
    loss.grad_fn.next_functions[0][0]    # the node that made loss's first input

``next_functions`` holds one ``(node, 0)`` pair per input of the op: the input's own
node, or an ``AccumulateGrad`` for a leaf (inputs that need no gradient are left out).
"""


class Node:
    """The op that made a tensor, seen from the graph."""

    __slots__ = ("_ctx",)

    def __init__(self, ctx):
        self._ctx = ctx

    def name(self):
        return f"{self._ctx.fn.__name__}Backward0"

    @property
    def next_functions(self):
        return tuple((node_of(t), 0) for t in self._ctx.inputs if t is not None)

    def __eq__(self, other):
        return isinstance(other, Node) and other._ctx is self._ctx

    def __hash__(self):
        return id(self._ctx)

    def __repr__(self):
        return f"<{self.name()} object at {id(self._ctx):#x}>"


class AccumulateGrad:
    """The end of a path: where a leaf's gradient is added into ``.grad``."""

    __slots__ = ("variable",)
    next_functions = ()

    def __init__(self, variable):
        self.variable = variable

    def name(self):
        return "AccumulateGrad"

    def __eq__(self, other):
        return isinstance(other, AccumulateGrad) and other.variable is self.variable

    def __hash__(self):
        return id(self.variable)

    def __repr__(self):
        return f"<AccumulateGrad object at {id(self.variable):#x}>"


def node_of(tensor):
    """``tensor``'s node: its op, an ``AccumulateGrad`` for a leaf needing grad, or None."""
    if tensor is None:
        return None
    if tensor._ctx is not None:
        return Node(tensor._ctx)
    return AccumulateGrad(tensor) if tensor.requires_grad else None

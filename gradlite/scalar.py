"""Value: reverse-mode autodiff on single numbers, small enough to read at once.

Each op makes its output Value from three things written side by side: the
result, the Values it was computed from, and the local derivative of the result
with respect to each of them. ``backward`` then applies the chain rule once per
edge, from the output back to the leaves::

    x, y, z = Value(-2.0), Value(5.0), Value(-4.0)
    q = x + y          # q = 3
    f = q * z          # f = -12
    f.backward()       # x.grad = -4, y.grad = -4, z.grad = 3
"""
import itertools
import math


class Value:
    """A number, the gradient of the final output with respect to it, and the
    Values it was computed from together with the local derivatives."""

    __slots__ = ("data", "grad", "_prev", "_local", "_op", "label", "_seen")

    def __init__(self, data, _children=(), _local=(), _op="", label=""):
        self.data = float(data)
        self.grad = 0.0
        self._prev = _children       # the inputs of the op that made this Value
        self._local = _local         # d(self)/d(input), one per input
        self._op = _op
        self.label = label
        self._seen = 0               # the last backward search that reached this Value

    def __add__(self, other):        # d(a+b)/da = 1, d(a+b)/db = 1
        other = _value(other)
        return Value(self.data + other.data, (self, other), (1.0, 1.0), "+")

    def __mul__(self, other):        # d(ab)/da = b, d(ab)/db = a
        other = _value(other)
        return Value(self.data * other.data, (self, other), (other.data, self.data), "*")

    def __pow__(self, other):        # d(a^b)/da = b a^(b-1), d(a^b)/db = a^b ln a
        other = _value(other)
        a, b = self.data, other.data
        out = a ** b
        d_exponent = out * math.log(a) if a > 0 else 0.0
        return Value(out, (self, other), (b * a ** (b - 1), d_exponent), "**")

    def exp(self):                   # d(e^a)/da = e^a
        e = math.exp(self.data)
        return Value(e, (self,), (e,), "exp")

    def log(self):                   # d(ln a)/da = 1/a
        return Value(math.log(self.data), (self,), (1.0 / self.data,), "log")

    def tanh(self):                  # d(tanh a)/da = 1 - tanh(a)^2
        t = math.tanh(self.data)
        return Value(t, (self,), (1.0 - t * t,), "tanh")

    def sigmoid(self):               # d(s(a))/da = s(a) (1 - s(a))
        a = self.data
        s = 1.0 / (1.0 + math.exp(-a)) if a >= 0 else math.exp(a) / (1.0 + math.exp(a))
        return Value(s, (self,), (s * (1.0 - s),), "sigmoid")

    def relu(self):                  # d(max(a, 0))/da = [a > 0]
        positive = self.data > 0
        return Value(self.data if positive else 0.0, (self,), (float(positive),), "relu")

    @staticmethod
    def sum(values):                 # d(sum a_i)/da_i = 1: one node instead of n - 1 additions
        values = [_value(v) for v in values]
        return Value(math.fsum(v.data for v in values), tuple(values), (1.0,) * len(values), "sum")

    @staticmethod
    def dot(weights, inputs, bias=None):  # d/dw_i = x_i, d/dx_i = w_i, d/db = 1
        """One node for b + sum_i w_i x_i, a neuron before its activation: ``weights``
        and ``inputs`` are lists of Values, ``bias`` a Value (or None: no b)."""
        w_data, x_data = _data(weights), _data(inputs)
        total = _sum_of_products(w_data, x_data)
        if bias is None:
            return Value(total, (*weights, *inputs), (*x_data, *w_data), "dot")
        return Value(total + bias.data, (*weights, *inputs, bias), (*x_data, *w_data, 1.0),
                     "dot")

    def backward(self):
        """Set ``.grad`` of every Value this one depends on to d(self)/d(that):
        visit nodes from the output back, adding ``local * grad`` to each input."""
        order = _topological_order(self)
        for v in order:
            v.grad = 0.0
        self.grad = 1.0
        for v in reversed(order):
            for i, child in enumerate(v._prev):
                local = v._local[i]
                child.grad += local * v.grad

    # composites: built from the primitives above, so they need no derivative of their own
    def __neg__(self):
        return self * -1

    def __sub__(self, other):
        return self + (-_value(other))

    def __truediv__(self, other):
        return self * _value(other) ** -1

    def __radd__(self, other):
        return self + other

    def __rsub__(self, other):
        return _value(other) - self

    def __rmul__(self, other):
        return self * other

    def __rtruediv__(self, other):
        return _value(other) / self

    def __rpow__(self, other):
        return _value(other) ** self

    def __repr__(self):
        return f"Value(data={self.data}, grad={self.grad})"


def _value(x):
    return x if isinstance(x, Value) else Value(x)


_searches = itertools.count(1)


def _topological_order(root):
    """The Values ``root`` depends on, each after its inputs: a depth-first search.

    ``stack`` holds the path from ``root`` to the Value being visited, and
    ``next_input[k]`` which input of ``stack[k]`` to look at next. A Value is
    finished, and appended, once all its inputs are. Each search stamps the
    Values it reaches with its own number (``_seen``): checking a stamp costs
    less than a set lookup, and the micrograd demo's step checks ~70,000 edges.
    No recursion, so 100,000-node chains work.
    """
    search = next(_searches)
    root._seen = search
    order, stack, next_input = [], [root], [0]
    while stack:
        node, i = stack[-1], next_input[-1]
        while i < len(node._prev):       # skip the inputs already reached
            child = node._prev[i]
            if child._seen != search:
                break
            i += 1
        else:                            # none left: node is finished
            order.append(node)
            stack.pop()
            next_input.pop()
            continue
        child._seen = search             # visit its next new input
        next_input[-1] = i + 1
        stack.append(child)
        next_input.append(0)
    return order


def _data(values):
    """The numbers held by a list of Values."""
    return [v.data for v in values]


def _sum_of_products(a, b):
    """sum_i a_i b_i for two lists of floats of the same length."""
    total = 0.0
    for i in range(len(a)):
        total += a[i] * b[i]
    return total

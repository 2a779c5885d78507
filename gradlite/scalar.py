"""Value: reverse-mode autodiff on single numbers, small enough to read at once.

Each op builds its output Value and, right beside it, a ``_backward`` closure
that applies the op's local derivative (the chain rule, one node at a time)::

    x, y, z = Value(-2.0), Value(5.0), Value(-4.0)
    q = x + y          # q = 3
    f = q * z          # f = -12
    f.backward()       # x.grad = -4, y.grad = -4, z.grad = 3
"""
import math

from .autograd import topological_order


class Value:
    """A number, the gradient of the final output with respect to it, and the
    Values it was computed from."""

    __slots__ = ("data", "grad", "_backward", "_prev", "_op", "label")

    def __init__(self, data, _children=(), _op="", label=""):
        self.data = float(data)
        self.grad = 0.0
        self._backward = None        # sends self.grad on to the children
        self._prev = _children
        self._op = _op
        self.label = label

    def __add__(self, other):        # d(a+b)/da = 1, d(a+b)/db = 1
        other = _value(other)
        out = Value(self.data + other.data, (self, other), "+")

        def _backward():
            self.grad += out.grad
            other.grad += out.grad
        out._backward = _backward
        return out

    def __mul__(self, other):        # d(ab)/da = b, d(ab)/db = a
        other = _value(other)
        out = Value(self.data * other.data, (self, other), "*")

        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
        out._backward = _backward
        return out

    def __pow__(self, other):        # d(a^b)/da = b a^(b-1), d(a^b)/db = a^b ln a
        other = _value(other)
        out = Value(self.data ** other.data, (self, other), "**")

        def _backward():
            self.grad += other.data * self.data ** (other.data - 1) * out.grad
            if self.data > 0:
                other.grad += out.data * math.log(self.data) * out.grad
        out._backward = _backward
        return out

    def _unary(self, result, local_derivative, op):
        """An op of one input: ``result`` = f(self), ``local_derivative`` = f'(self)."""
        out = Value(result, (self,), op)

        def _backward():
            self.grad += local_derivative * out.grad
        out._backward = _backward
        return out

    def exp(self):                   # d(e^a)/da = e^a
        e = math.exp(self.data)
        return self._unary(e, e, "exp")

    def log(self):                   # d(ln a)/da = 1/a
        return self._unary(math.log(self.data), 1.0 / self.data, "log")

    def tanh(self):                  # d(tanh a)/da = 1 - tanh(a)^2
        t = math.tanh(self.data)
        return self._unary(t, 1.0 - t * t, "tanh")

    def sigmoid(self):               # d(s(a))/da = s(a) (1 - s(a))
        x = self.data
        s = 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))
        return self._unary(s, s * (1.0 - s), "sigmoid")

    def relu(self):                  # d(max(a, 0))/da = [a > 0]
        return self._unary(max(self.data, 0.0), float(self.data > 0), "relu")

    def backward(self):
        """Set ``.grad`` of every Value this one depends on to d(self)/d(that)."""
        order = topological_order(self, lambda v: v._prev)
        for v in order:
            v.grad = 0.0
        self.grad = 1.0
        for v in reversed(order):
            if v._backward is not None:
                v._backward()

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
        return f"Value(data={self.data:.4g}, grad={self.grad:.4g})"


def _value(x):
    return x if isinstance(x, Value) else Value(x)

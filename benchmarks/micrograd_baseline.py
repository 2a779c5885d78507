"""A plain micrograd-style scalar engine: the baseline the scalar benchmark compares with.

Written for the benchmark, in the style of Karpathy's micrograd demo: every op allocates
its output node and a closure holding its local derivative; ``backward`` sorts the graph
with a recursive depth-first search and calls each closure once, in reverse order.
Nothing here is tuned. The step it times (``hinge_step``) is the demo's: a 2-16-16-1 MLP
on 100 points, summed hinge loss ``sum(relu(1 - y_i * score_i))``, forward + backward.
"""
import math
import random


class Node:
    """A number, its gradient, and the closure that pushes the gradient to its inputs."""

    def __init__(self, data, children=()):
        self.data = data
        self.grad = 0.0
        self._backward = lambda: None
        self._children = children

    def __add__(self, other):
        other = other if isinstance(other, Node) else Node(other)
        out = Node(self.data + other.data, (self, other))

        def backward():
            self.grad += out.grad
            other.grad += out.grad
        out._backward = backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, Node) else Node(other)
        out = Node(self.data * other.data, (self, other))

        def backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
        out._backward = backward
        return out

    def __neg__(self):
        return self * -1

    def __radd__(self, other):
        return self + other

    def __rsub__(self, other):
        return other + (-self)

    def __rmul__(self, other):
        return self * other

    def relu(self):
        out = Node(self.data if self.data > 0 else 0.0, (self,))

        def backward():
            self.grad += (out.data > 0) * out.grad
        out._backward = backward
        return out

    def tanh(self):
        t = math.tanh(self.data)
        out = Node(t, (self,))

        def backward():
            self.grad += (1 - t * t) * out.grad
        out._backward = backward
        return out

    def backward(self):
        order, seen = [], set()

        def visit(node):  # recursive, as in micrograd: fine for this ~5,000-node graph
            if node not in seen:
                seen.add(node)
                for child in node._children:
                    visit(child)
                order.append(node)
        visit(self)
        self.grad = 1.0
        for node in reversed(order):
            node._backward()


def mlp_params(make, sizes=(2, 16, 16, 1), seed=0):
    """Weights of an MLP as nested lists ``[layer][neuron] = (weights, bias)`` of
    ``make(float)`` scalars, drawn uniformly in [-1, 1] from ``seed`` (same for every engine)."""
    rng = random.Random(seed)
    return [[([make(rng.uniform(-1, 1)) for _ in range(n_in)], make(0.0))
             for _ in range(n_out)] for n_in, n_out in zip(sizes[:-1], sizes[1:])]


def mlp_forward(params, x, activation):
    """Scores of the MLP on one point ``x`` (a list of scalars): ``activation`` after every
    layer but the last. Works for any scalar type with +, * and the activation method."""
    for i, layer in enumerate(params):
        x = [sum((wi * xi for wi, xi in zip(w, x)), b) for w, b in layer]
        if i < len(params) - 1:
            x = [getattr(v, activation)() for v in x]
    return x[0]


def moons(n=100, seed=0):
    """``n`` 2-d points in two interleaved half circles, labels -1/+1 (sklearn's make_moons
    shape, without sklearn)."""
    rng = random.Random(seed)
    points, labels = [], []
    for i in range(n):
        angle = math.pi * (i // 2) / (n // 2)
        if i % 2:
            x, y, label = 1 - math.cos(angle), 0.5 - math.sin(angle), 1.0
        else:
            x, y, label = math.cos(angle), math.sin(angle), -1.0
        points.append((x + rng.gauss(0, 0.1), y + rng.gauss(0, 0.1)))
        labels.append(label)
    return points, labels


def hinge_step(params, points, labels, make, activation="relu"):
    """One forward + backward of the summed hinge loss over all points; returns the loss
    node. ``make`` turns a float into the engine's scalar type."""
    total = make(0.0)
    for (x0, x1), label in zip(points, labels):
        score = mlp_forward(params, [make(x0), make(x1)], activation)
        total = total + (1 + -label * score).relu()
    for layer in params:
        for w, b in layer:
            for wi in w:
                wi.grad = 0.0
            b.grad = 0.0
    total.backward()
    return total

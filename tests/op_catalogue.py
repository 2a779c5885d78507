"""One catalogue of differentiable ops drives the forward, gradient, second-order
and PyTorch tests.

Each case is a function of tensors written with method names that gradlite and
PyTorch share (``x.exp()``, ``x.sum(dim=0)``), so the same lambda runs in both
libraries, plus a hypothesis strategy drawing float64 inputs inside the op's
domain (away from kinks such as relu at 0 and from ties of max).
"""
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

SMALL_SHAPES = hnp.array_shapes(min_dims=0, max_dims=4, min_side=1, max_side=3)
NONSCALAR_SHAPES = hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=3)


def floats(lo=-2.0, hi=2.0):
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False, width=64)


def away_from(points, lo=-2.0, hi=2.0, gap=1e-2):
    return floats(lo, hi).filter(lambda v: all(abs(v - p) > gap for p in points))


def grid(parity=0):
    """Values spaced 2/41 apart (even or odd multiples of 1/41): with unique=True,
    no two elements are within finite-difference reach of a tie."""
    return st.integers(-40, 40).map(lambda i: (2 * i + parity) / 41)


def arrays(shape, elements=None, unique=False):
    return hnp.arrays(np.float64, shape, elements=floats() if elements is None else elements, unique=unique)


@st.composite
def one(draw, elements=None, unique=False, shapes=SMALL_SHAPES):
    if unique and elements is None:
        elements = grid()
    return [draw(arrays(draw(shapes), elements, unique))]


@st.composite
def broadcast_pair(draw, first=None, second=None, unique=False):
    shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=4, max_side=3))
    a, b = shapes.input_shapes
    return [draw(arrays(a, first, unique)), draw(arrays(b, second, unique))]


@st.composite
def with_dim(draw, elements=None, unique=False, min_side=1):
    """One array and a valid ``dim`` for it (drawn as a negative or positive int)."""
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=4, min_side=min_side, max_side=3))
    if unique and elements is None:
        elements = grid()
    dim = draw(st.integers(-len(shape), len(shape) - 1))
    return [draw(arrays(shape, elements, unique))], dim


@st.composite
def matmul_pair(draw):
    n, k, m = (draw(st.integers(1, 4)) for _ in range(3))
    batch = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=2, max_side=2))
    kind = draw(st.sampled_from(["mm", "batched", "vec@mat", "mat@vec", "vec@vec"]))
    a_shape, b_shape = {"mm": ((n, k), (k, m)),
                        "batched": (batch.input_shapes[0] + (n, k), batch.input_shapes[1] + (k, m)),
                        "vec@mat": ((k,), (k, m)),
                        "mat@vec": (batch.input_shapes[0] + (n, k), (k,)),
                        "vec@vec": ((k,), (k,))}[kind]
    return [draw(arrays(a_shape)), draw(arrays(b_shape))]


@dataclass
class Case:
    name: str
    fn: Callable            # fn(*tensors, param) -> tensor; same code for gradlite and torch
    inputs: st.SearchStrategy  # draws (arrays, param)
    second_order: bool = True
    numpy: Callable = None  # forward reference on arrays, where numpy has it
    torch_fn: Callable = None  # only where torch spells it differently
    tags: set = field(default_factory=set)


def no_param(strategy):
    return strategy.map(lambda arrays_: (arrays_, None))


CASES = [
    # arithmetic with broadcasting
    Case("add", lambda x, y, _: x + y, no_param(broadcast_pair()), numpy=lambda x, y, _: x + y),
    Case("sub", lambda x, y, _: x - y, no_param(broadcast_pair()), numpy=lambda x, y, _: x - y),
    Case("mul", lambda x, y, _: x * y, no_param(broadcast_pair()), numpy=lambda x, y, _: x * y),
    Case("div", lambda x, y, _: x / y,
         no_param(broadcast_pair(second=away_from([0], gap=0.3))), numpy=lambda x, y, _: x / y),
    Case("pow_tensor", lambda x, y, _: x ** y,
         no_param(broadcast_pair(first=floats(0.2, 2.0))), numpy=lambda x, y, _: x ** y),
    Case("pow_scalar", lambda x, p: x ** p,
         st.tuples(one(floats(0.2, 2.0)), st.sampled_from([2, 3, 0.5, -1.5])),
         numpy=lambda x, p: x ** p),
    Case("rpow", lambda x, _: 2.0 ** x, no_param(one()), numpy=lambda x, _: 2.0 ** x),
    Case("scalar_mix", lambda x, _: 3.0 - x * 2.5 + 1 / (x + 3), no_param(one()),
         numpy=lambda x, _: 3.0 - x * 2.5 + 1 / (x + 3)),
    Case("neg", lambda x, _: -x, no_param(one()), numpy=lambda x, _: -x),
    Case("maximum", lambda x, y, _: x.maximum(y), no_param(broadcast_pair(grid(0), grid(1))),
         numpy=lambda x, y, _: np.maximum(x, y), torch_fn=lambda x, y, _: x.maximum(y)),
    Case("minimum", lambda x, y, _: x.minimum(y), no_param(broadcast_pair(grid(0), grid(1))),
         numpy=lambda x, y, _: np.minimum(x, y)),
    Case("matmul", lambda x, y, _: x @ y, no_param(matmul_pair()),
         numpy=lambda x, y, _: x @ y),
    # elementwise functions
    Case("exp", lambda x, _: x.exp(), no_param(one()), numpy=lambda x, _: np.exp(x)),
    Case("log", lambda x, _: x.log(), no_param(one(floats(0.1, 3))), numpy=lambda x, _: np.log(x)),
    Case("sqrt", lambda x, _: x.sqrt(), no_param(one(floats(0.1, 3))),
         numpy=lambda x, _: np.sqrt(x)),
    Case("sin", lambda x, _: x.sin(), no_param(one()), numpy=lambda x, _: np.sin(x)),
    Case("cos", lambda x, _: x.cos(), no_param(one()), numpy=lambda x, _: np.cos(x)),
    Case("abs", lambda x, _: x.abs(), no_param(one(away_from([0])))),
    Case("tanh", lambda x, _: x.tanh(), no_param(one()), numpy=lambda x, _: np.tanh(x)),
    Case("sigmoid", lambda x, _: x.sigmoid(), no_param(one(floats(-5, 5))),
         numpy=lambda x, _: 1 / (1 + np.exp(-x))),
    Case("relu", lambda x, _: x.relu(), no_param(one(away_from([0]))),
         numpy=lambda x, _: np.maximum(x, 0)),
    Case("clamp", lambda x, b: x.clamp(b[0], b[1]),
         st.tuples(one(away_from([-0.5, 0.7])), st.sampled_from([(-0.5, 0.7), (None, 0.7), (-0.5, None)])),
         numpy=lambda x, b: np.clip(x, b[0], b[1])),
    Case("where", lambda x, y, _: _where(x, y), no_param(broadcast_pair(first=away_from([0]))),
         numpy=lambda x, y, _: np.where(x > 0, x, y)),
    # reductions
    Case("sum_all", lambda x, _: x.sum(), no_param(one()), numpy=lambda x, _: x.sum()),
    Case("sum_dim", lambda x, d: x.sum(dim=d[0], keepdim=d[1]),
         st.tuples(with_dim(), st.booleans()).map(lambda t: (t[0][0], (t[0][1], t[1]))),
         numpy=lambda x, d: x.sum(axis=d[0], keepdims=d[1])),
    Case("mean_dim", lambda x, d: x.mean(dim=d, keepdim=True), with_dim(),
         numpy=lambda x, d: x.mean(axis=d, keepdims=True)),
    Case("mean_all", lambda x, _: x.mean(), no_param(one()), numpy=lambda x, _: x.mean()),
    Case("var_dim", lambda x, d: x.var(dim=d), with_dim(min_side=2),
         numpy=lambda x, d: x.var(axis=d, ddof=1)),
    Case("std_all", lambda x, _: x.std(), no_param(one(shapes=hnp.array_shapes(min_dims=1, max_dims=3, min_side=2, max_side=3), unique=True)),
         numpy=lambda x, _: x.std(ddof=1)),
    Case("max_all", lambda x, _: x.max(), no_param(one(unique=True, shapes=NONSCALAR_SHAPES)),
         numpy=lambda x, _: x.max()),
    Case("max_dim", lambda x, d: x.max(dim=d).values, with_dim(unique=True),
         numpy=lambda x, d: x.max(axis=d)),
    Case("min_dim", lambda x, d: x.min(dim=d, keepdim=True).values, with_dim(unique=True),
         numpy=lambda x, d: x.min(axis=d, keepdims=True)),
    Case("amax", lambda x, d: x.amax(dim=d), with_dim(unique=True),
         numpy=lambda x, d: x.max(axis=d)),
    Case("logsumexp", lambda x, d: x.logsumexp(dim=d), with_dim(floats(-5, 5)),
         numpy=lambda x, d: np.log(np.exp(x).sum(axis=d))),
    Case("softmax", lambda x, d: x.softmax(dim=d), with_dim(floats(-5, 5)),
         numpy=lambda x, d: np.exp(x) / np.exp(x).sum(axis=d, keepdims=True)),
    Case("log_softmax", lambda x, d: x.log_softmax(dim=d), with_dim(floats(-5, 5)),
         numpy=lambda x, d: x - np.log(np.exp(x).sum(axis=d, keepdims=True))),
    # shape and indexing
    Case("reshape", lambda x, _: x.reshape(-1), no_param(one()), numpy=lambda x, _: x.reshape(-1)),
    Case("view_reversed", lambda x, _: x.view(*reversed(x.shape)) if x.ndim else x.view(1),
         no_param(one(shapes=NONSCALAR_SHAPES))),
    Case("flatten", lambda x, _: x.flatten(1), no_param(one(shapes=hnp.array_shapes(min_dims=2, max_dims=4, max_side=3))),
         numpy=lambda x, _: x.reshape(x.shape[0], -1)),
    Case("permute", lambda x, p: x.permute(*p), one(shapes=NONSCALAR_SHAPES).flatmap(
        lambda a: st.permutations(list(range(a[0].ndim))).map(lambda p: (a, tuple(p)))),
         numpy=lambda x, p: np.transpose(x, p)),
    Case("transpose", lambda x, _: x.transpose(0, -1), no_param(one(shapes=NONSCALAR_SHAPES)),
         numpy=lambda x, _: np.swapaxes(x, 0, -1)),
    Case("T", lambda x, _: x.T, no_param(one(shapes=hnp.array_shapes(min_dims=2, max_dims=2))),
         numpy=lambda x, _: x.T),
    Case("squeeze_unsqueeze", lambda x, d: x.unsqueeze(d).squeeze(), with_dim(),
         numpy=lambda x, d: np.squeeze(x)),
    Case("expand", lambda x, _: x.unsqueeze(0).expand(3, *x.shape), no_param(one()),
         numpy=lambda x, _: np.broadcast_to(x, (3,) + x.shape)),
    Case("index_slice", lambda x, _: x[1:, ..., ::2], no_param(one(shapes=hnp.array_shapes(min_dims=2, max_dims=4, min_side=2, max_side=4))),
         numpy=lambda x, _: x[1:, ..., ::2]),
    Case("index_int", lambda x, _: x[-1], no_param(one(shapes=NONSCALAR_SHAPES)),
         numpy=lambda x, _: x[-1]),
    Case("index_repeated", lambda x, _: x[_repeat_index(x)], no_param(one(shapes=NONSCALAR_SHAPES)),
         numpy=lambda x, _: x[_repeat_index(x)]),
    Case("index_mask", lambda x, _: x[x > 0], no_param(one(away_from([0]), shapes=NONSCALAR_SHAPES)),
         numpy=lambda x, _: x[x > 0]),
    Case("cat", lambda x, y, _: _lib(x).cat([x, y, x], dim=0), no_param(
        one(shapes=NONSCALAR_SHAPES).flatmap(lambda a: arrays((2,) + a[0].shape[1:]).map(lambda b: [a[0], b])))),
    Case("stack", lambda x, y, _: _lib(x).stack([x, y], dim=-1),
         no_param(one().flatmap(lambda a: arrays(a[0].shape).map(lambda b: [a[0], b])))),
    Case("split_chunk", lambda x, _: x.split(2, dim=-1)[0] * x.chunk(2, dim=-1)[-1].sum(),
         no_param(one(shapes=NONSCALAR_SHAPES))),
    Case("pad", lambda x, p: _pad(x, p), st.tuples(one(shapes=NONSCALAR_SHAPES),
                                                   st.sampled_from([(1, 0), (0, 2), (1, 1, 2, 0)]))
         .filter(lambda t: len(t[1]) // 2 <= t[0][0].ndim)),
]
CASES_BY_NAME = {case.name: case for case in CASES}


# ---------------------------------------------------------------------- helpers spanning both libraries
def _lib(t):
    """The library a tensor belongs to (gradlite or torch)."""
    import importlib
    return importlib.import_module(type(t).__module__.split(".")[0])


def _where(x, y):
    return _lib(x).where(x > 0, x, y)


def _pad(x, p):
    lib = _lib(x)
    functional = lib.nn.functional if lib.__name__ == "torch" else lib
    return functional.pad(x, p)


def _repeat_index(x):
    n = x.shape[0]
    return np.array([0, n - 1, 0, n // 2])

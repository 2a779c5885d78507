"""Tensor: a numpy array that remembers how it was computed.

A Tensor wraps an ``ndarray`` (``.data``). Operators and methods call the
differentiable ops in :mod:`gradlite.ops`; when an input requires grad, the
result keeps a link (``grad_fn``) to the op that made it, and
``loss.backward()`` walks those links backwards (:mod:`gradlite.autograd`).

This module is the user surface. The rule for what is written where: a method
whose derivative is not a combination of other methods' derivatives (or whose
combination would be slower or less accurate) calls a **primitive**, one
``Function`` of :mod:`gradlite.ops`; every other method is a **composite**
written with Tensor operations (``square`` is ``self * self``, ``var`` is built
from ``mean`` and ``sum``), so it needs no derivative of its own and stays
differentiable twice. Methods that are not differentiable (comparisons,
``argmax``, ``sign``) wrap numpy directly and return tensors without a graph.

dtype rules live in :mod:`gradlite.dtypes`, argument normalisation in
:mod:`gradlite._args`, creation functions (``zeros``, ``randn``, ...) in
:mod:`gradlite.creation`.
"""
from collections import namedtuple

import numpy as np

from . import autograd
from . import ops
from ._args import arg_reduce, normalize_dims, shape_arg
from .dtypes import array_from, bool_, float32, float64, int32, int64

MinMax = namedtuple("MinMax", ["values", "indices"])


def unwrap(value):
    """The array of a Tensor; any other value unchanged (arrays, scalars, None)."""
    return value.data if isinstance(value, Tensor) else value


class Tensor:
    """An n-dimensional array with reverse-mode automatic differentiation."""

    __slots__ = ("data", "_grad", "_requires_grad", "_ctx", "_hooks", "_retains_grad",
                 "_version_counter", "__weakref__")
    __array_ufunc__ = None  # make `ndarray + Tensor` call Tensor.__radd__
    __hash__ = object.__hash__

    def __init__(self, data, requires_grad=False):
        self.data = data if isinstance(data, np.ndarray) else array_from(unwrap(data))
        self._grad = None
        self._ctx = None
        self._hooks = None
        self._retains_grad = False
        self._requires_grad = False
        self._version_counter = None
        self.requires_grad = requires_grad

    @classmethod
    def _make(cls, array, requires_grad):
        """Fast constructor used by ops: no checks, no conversion."""
        t = object.__new__(cls)
        t.data = array if isinstance(array, np.ndarray) else np.asarray(array)
        t._grad = t._ctx = t._hooks = None
        t._retains_grad = False
        t._requires_grad = requires_grad
        t._version_counter = None
        return t

    # ------------------------------------------------------------------ autograd state
    @property
    def requires_grad(self):
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, flag):
        if flag and self.data.dtype.kind != "f":
            raise TypeError(f"requires_grad: only floating point tensors can require "
                            f"gradients; this tensor is {self.data.dtype} (shape "
                            f"{self.shape}). Convert it first, e.g. x.float().")
        if not flag and self._ctx is not None:
            raise RuntimeError("requires_grad: you can only change requires_grad of leaf "
                               "tensors; use detach() to get a tensor outside the graph")
        self._requires_grad = bool(flag)

    def requires_grad_(self, requires_grad=True):
        self.requires_grad = requires_grad
        return self

    @property
    def grad(self):
        return self._grad

    @grad.setter
    def grad(self, value):
        if value is not None and not isinstance(value, Tensor):
            value = Tensor(np.asarray(value))
        if value is not None and value.shape != self.shape:
            raise ValueError(f"grad: assigned gradient has shape {value.shape}, "
                             f"but the tensor has shape {self.shape}")
        self._grad = value

    @property
    def is_leaf(self):
        return self._ctx is None

    @property
    def grad_fn(self):
        """The op that produced this tensor (None for leaves)."""
        return None if self._ctx is None else self._ctx.fn

    def retain_grad(self):
        """Keep ``.grad`` on this non-leaf tensor after backward."""
        self._retains_grad = True

    def register_hook(self, hook):
        """Call ``hook(grad)`` when this tensor's gradient is computed; a returned
        Tensor replaces the gradient. Returns a handle with ``remove()``."""
        if not self.requires_grad:
            raise RuntimeError("register_hook: cannot register a hook on a tensor that "
                               "doesn't require gradient")
        self._hooks = (self._hooks or []) + [hook]
        tensor = self

        class _Handle:
            def remove(self):
                tensor._hooks = [h for h in tensor._hooks if h is not hook]
        return _Handle()

    def backward(self, gradient=None, retain_graph=None, create_graph=False):
        """Accumulate d(self)/d(leaf) into ``leaf.grad`` for every leaf that
        requires grad. ``gradient`` is dL/d(self), needed unless self is a scalar."""
        autograd.backward(self, gradient, retain_graph, create_graph)

    def detach(self):
        """The same data, cut from the graph. It shares this tensor's version counter,
        so a write through it is seen by a backward that saved this tensor."""
        t = Tensor._make(self.data, False)
        t._version_counter = autograd.version_counter(self)
        return t

    @property
    def _version(self):
        """How many in-place writes this tensor's array has had (as PyTorch's ``_version``)."""
        return 0 if self._version_counter is None else self._version_counter[0]

    def detach_(self):
        self._ctx = None
        self._requires_grad = False
        return self

    # ------------------------------------------------------------------ array facts
    shape = property(lambda self: self.data.shape)
    dtype = property(lambda self: self.data.dtype)
    ndim = property(lambda self: self.data.ndim)
    device = "cpu"
    T = property(lambda self: self.permute(*reversed(range(self.ndim))))
    mT = property(lambda self: self.transpose(-2, -1))

    def size(self, dim=None):
        return self.shape if dim is None else self.shape[dim]

    def dim(self):
        return self.data.ndim

    def numel(self):
        return self.data.size

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def item(self):
        if self.data.size != 1:
            raise ValueError(f"item: only one-element tensors can be converted to a Python "
                             f"number; this one has shape {self.shape}")
        return self.data.item()

    def tolist(self):
        return self.data.tolist()

    def numpy(self):
        """The underlying array (shared, not copied). For a tensor that requires grad it
        is a read-only view: a write through it would escape the version counter that
        lets backward refuse a changed value (``x.detach().numpy()`` is writable)."""
        if not self._requires_grad:
            return self.data
        view = self.data.view()
        view.flags.writeable = False
        return view

    def __array__(self, dtype=None, copy=None):
        return self.numpy() if dtype is None else self.data.astype(dtype)

    def __bool__(self):
        if self.data.size != 1:
            raise RuntimeError(f"the truth value of a tensor with {self.data.size} elements "
                               "is ambiguous; use .any() or .all()")
        return bool(self.data)

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if self.data.dtype.kind not in "iu" or self.data.size != 1:
            raise TypeError("only integer tensors of a single element can be used as an index")
        return int(self.data)

    def __repr__(self):
        prefix = "tensor("
        body = np.array2string(self.data, separator=", ", prefix=prefix, precision=4)
        extras = []
        if self.data.dtype not in (float32, int64, bool_):
            extras.append(f"dtype=gradlite.{self.data.dtype}")
        if self._ctx is not None:
            extras.append(f"grad_fn=<{self._ctx.fn.__name__}Backward>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return prefix + body + "".join(", " + e for e in extras) + ")"

    # ------------------------------------------------------------------ dtype and copies
    def to(self, dtype=None, device=None):
        """Cast to ``dtype`` (differentiable); ``device`` may only be 'cpu'."""
        if isinstance(dtype, str) and dtype.split(":")[0] in ("cpu", "cuda", "mps"):
            dtype, device = None, dtype
        if device not in (None, "cpu"):
            raise ValueError(f"to: gradlite runs on the CPU only, not on device {device!r}")
        if dtype is None or np.dtype(dtype) == self.data.dtype:
            return self
        return ops.Cast.apply(self, np.dtype(dtype))

    def float(self):
        return self.to(float32)

    def double(self):
        return self.to(float64)

    def long(self):
        return self.to(int64)

    def int(self):
        return self.to(int32)

    def bool(self):
        return self.to(bool_)

    def cpu(self):
        return self

    def contiguous(self):
        return self

    def clone(self):
        """A copy that stays in the graph: gradients flow back to self."""
        return ops.Clone.apply(self)

    # ------------------------------------------------------------------ arithmetic
    def __add__(self, other):
        return ops.Add.apply(*_promote(self, other))

    def __radd__(self, other):
        return ops.Add.apply(*_promote(self, other)[::-1])

    def __sub__(self, other):
        return ops.Sub.apply(*_promote(self, other))

    def __rsub__(self, other):
        return ops.Sub.apply(*_promote(self, other)[::-1])

    def __mul__(self, other):
        return ops.Mul.apply(*_promote(self, other))

    def __rmul__(self, other):
        return ops.Mul.apply(*_promote(self, other)[::-1])

    def __truediv__(self, other):
        return ops.Div.apply(*_promote(_floating(self), other))

    def __rtruediv__(self, other):
        return ops.Div.apply(*_promote(_floating(self), other)[::-1])

    def __pow__(self, exponent):
        return ops.Pow.apply(*_promote(self, exponent))

    def __rpow__(self, base):
        x, base = _promote(self, base)
        if not isinstance(base, Tensor):  # the exponent's gradient needs log(base) as a Tensor
            base = Tensor._make(np.asarray(base, dtype=_floating(x).dtype), False)
        return ops.Pow.apply(base, x)

    def __neg__(self):
        return ops.Neg.apply(self)

    def __pos__(self):
        return self

    def __matmul__(self, other):
        return ops.Matmul.apply(self, _tensor_operand(other))

    def __rmatmul__(self, other):
        return ops.Matmul.apply(_tensor_operand(other), self)

    add = __add__
    sub = __sub__
    mul = __mul__
    div = __truediv__
    pow = __pow__
    neg = __neg__
    matmul = __matmul__

    # in-place forms: allowed when no gradient is being recorded through them
    def _check_inplace(self, name):
        if autograd.is_grad_enabled() and self.requires_grad:
            kind = "a leaf tensor that requires grad" if self.is_leaf else "a tensor in a graph"
            raise RuntimeError(f"{name}: in-place operation on {kind} would corrupt its "
                               "gradient; wrap it in `with gradlite.no_grad():` (for a "
                               "parameter update) or use the out-of-place form")

    def _inplace(self, name, result_fn):
        self._check_inplace(name)
        with autograd.no_grad():
            result = result_fn()
        np.copyto(self.data, unwrap(result), casting="same_kind")
        autograd.bump_version(self)
        return self

    def __iadd__(self, other):
        return self._inplace("+=", lambda: self + other)

    def __isub__(self, other):
        return self._inplace("-=", lambda: self - other)

    def __imul__(self, other):
        return self._inplace("*=", lambda: self * other)

    def __itruediv__(self, other):
        return self._inplace("/=", lambda: self / other)

    def add_(self, other, alpha=1):
        return self._inplace("add_", lambda: self + other * alpha)

    def sub_(self, other, alpha=1):
        return self._inplace("sub_", lambda: self - other * alpha)

    def mul_(self, other):
        return self._inplace("mul_", lambda: self * other)

    def div_(self, other):
        return self._inplace("div_", lambda: self / other)

    def clamp_(self, min=None, max=None):
        return self._inplace("clamp_", lambda: self.clamp(min, max))

    def zero_(self):
        return self._inplace("zero_", lambda: 0)

    def fill_(self, value):
        return self._inplace("fill_", lambda: value)

    def copy_(self, src):
        return self._inplace("copy_", lambda: _tensor_operand(src).data)

    def __setitem__(self, index, value):
        self._check_inplace("__setitem__")
        self.data[_index_arrays(index)] = unwrap(value)
        autograd.bump_version(self)

    # ------------------------------------------------------------------ comparisons (no grad)
    def _compare(self, other, fn):
        other = unwrap(other)
        return Tensor._make(fn(self.data, other), False)

    def __eq__(self, other):
        return self._compare(other, np.equal)

    def __ne__(self, other):
        return self._compare(other, np.not_equal)

    def __lt__(self, other):
        return self._compare(other, np.less)

    def __le__(self, other):
        return self._compare(other, np.less_equal)

    def __gt__(self, other):
        return self._compare(other, np.greater)

    def __ge__(self, other):
        return self._compare(other, np.greater_equal)

    eq, ne, lt, le, gt, ge = __eq__, __ne__, __lt__, __le__, __gt__, __ge__

    def __invert__(self):
        return Tensor._make(~self.data, False)

    def __and__(self, other):
        return self._compare(other, np.logical_and)

    def __or__(self, other):
        return self._compare(other, np.logical_or)

    def equal(self, other):
        return self.shape == other.shape and bool(np.array_equal(self.data, other.data))

    def allclose(self, other, rtol=1e-5, atol=1e-8):
        return bool(np.allclose(self.data, _tensor_operand(other).data, rtol=rtol, atol=atol))

    def any(self):
        return Tensor._make(np.any(self.data), False)

    def all(self):
        return Tensor._make(np.all(self.data), False)

    def argmax(self, dim=None, keepdim=False):
        return Tensor._make(arg_reduce(np.argmax, self.data, dim, keepdim), False)

    def argmin(self, dim=None, keepdim=False):
        return Tensor._make(arg_reduce(np.argmin, self.data, dim, keepdim), False)

    # ------------------------------------------------------------------ elementwise math
    def exp(self):
        return ops.Exp.apply(_floating(self))

    def log(self):
        return ops.Log.apply(_floating(self))

    def sqrt(self):
        return ops.Sqrt.apply(_floating(self))

    def sin(self):
        return ops.Sin.apply(_floating(self))

    def cos(self):
        return ops.Cos.apply(_floating(self))

    def abs(self):
        return ops.Abs.apply(self)

    def tanh(self):
        return ops.TanhOp.apply(_floating(self))

    def sigmoid(self):
        return ops.SigmoidOp.apply(_floating(self))

    def relu(self):
        return ops.Relu.apply(self)

    def clamp(self, min=None, max=None):
        if min is None and max is None:
            raise ValueError("clamp: at least one of min and max must be given")
        return ops.Clamp.apply(self, min, max)

    clip = clamp

    def maximum(self, other):
        return ops.Maximum.apply(*_promote(self, other))

    def minimum(self, other):
        return ops.Minimum.apply(*_promote(self, other))

    def where(self, condition, other):
        """``self`` where ``condition`` holds, else ``other`` (broadcasting)."""
        return ops.Where.apply(np.asarray(unwrap(condition), bool), *_promote(self, other))

    def sign(self):
        return Tensor._make(np.sign(self.data), False)

    def square(self):
        return self * self

    def rsqrt(self):
        return self.sqrt().reciprocal()

    def reciprocal(self):
        return 1.0 / self

    # ------------------------------------------------------------------ reductions
    def sum(self, dim=None, keepdim=False):
        return ops.Sum.apply(self, normalize_dims(dim, self.ndim, "sum"), keepdim)

    def mean(self, dim=None, keepdim=False):
        axes = normalize_dims(dim, self.ndim, "mean")
        count = self.data.size if axes is None else int(np.prod([self.shape[a] for a in axes]))
        return ops.Sum.apply(_floating(self), axes, keepdim) / (count or np.nan)  # nan if empty

    def var(self, dim=None, correction=1, keepdim=False, unbiased=None):
        """Variance: sum((x - mean)^2) / (N - correction)."""
        if unbiased is not None:
            correction = int(unbiased)
        axes = normalize_dims(dim, self.ndim, "var")
        count = self.data.size if axes is None else int(np.prod([self.shape[a] for a in axes]))
        centred = self - self.mean(dim=axes, keepdim=True)
        return (centred * centred).sum(dim=axes, keepdim=keepdim) / max(count - correction, 0)

    def std(self, dim=None, correction=1, keepdim=False, unbiased=None):
        """sqrt(var); where var is exactly 0 the gradient is 0 (as PyTorch), not
        0 * d sqrt(v)/dv at v = 0 = 0 * inf = nan."""
        var = self.var(dim, correction, keepdim, unbiased)
        spread = var.data != 0
        return var.where(spread, 1.0).sqrt().where(spread, 0.0)

    def max(self, dim=None, keepdim=False):
        """Whole-tensor max (gradient shared by ties), or ``(values, indices)`` along ``dim``."""
        return self._extreme(ops.Max, np.argmax, dim, keepdim)

    def min(self, dim=None, keepdim=False):
        return self._extreme(ops.Min, np.argmin, dim, keepdim)

    def _extreme(self, op, arg_fn, dim, keepdim):
        if isinstance(dim, Tensor):  # torch.max(a, b) is the elementwise maximum
            return self.maximum(dim) if op is ops.Max else self.minimum(dim)
        if self.data.size == 0:
            raise ValueError(f"{op.__name__.lower()}: expected a non-empty tensor")
        if dim is None:
            return op.apply(self, None, False)
        axis = normalize_dims(dim, self.ndim, op.__name__.lower())[0]
        indices = arg_reduce(arg_fn, self.data, axis, keepdim)
        return MinMax(op.apply(self, (axis,), keepdim), Tensor._make(indices, False))

    def amax(self, dim=None, keepdim=False):
        return ops.Max.apply(self, normalize_dims(dim, self.ndim, "amax"), keepdim)

    def amin(self, dim=None, keepdim=False):
        return ops.Min.apply(self, normalize_dims(dim, self.ndim, "amin"), keepdim)

    def logsumexp(self, dim=None, keepdim=False):
        """log(sum(exp(x))) computed as m + log(sum(exp(x - m))), m = max(x) (the shift
        of :func:`~gradlite.ops.activation.finite_max`), so it neither overflows nor
        underflows; the gradient is softmax(x)."""
        axes = normalize_dims(dim, self.ndim, "logsumexp")
        shift = Tensor._make(ops.finite_max(self.data, axes), False)
        total = (self - shift).exp().sum(dim=axes, keepdim=True).log() + shift
        return total if keepdim else total.reshape(ops.reduced_shape(self.shape, axes))

    def softmax(self, dim):
        return ops.SoftmaxOp.apply(_floating(self), normalize_dims(dim, self.ndim, "softmax")[0])

    def log_softmax(self, dim):
        return ops.LogSoftmaxOp.apply(_floating(self), normalize_dims(dim, self.ndim, "log_softmax")[0])

    # ------------------------------------------------------------------ shape
    def reshape(self, *shape):
        shape = shape_arg(shape)
        if shape == self.shape:
            return self
        return ops.Reshape.apply(self, shape)

    view = reshape

    def view_as(self, other):
        return self.reshape(other.shape)

    def flatten(self, start_dim=0, end_dim=-1):
        if self.ndim == 0:
            return self.reshape(1)
        start, end = (normalize_dims(d, self.ndim, "flatten")[0] for d in (start_dim, end_dim))
        merged = int(np.prod(self.shape[start:end + 1]))
        return self.reshape(self.shape[:start] + (merged,) + self.shape[end + 1:])

    def permute(self, *dims):
        dims = shape_arg(dims)
        if sorted(normalize_dims(d, self.ndim, "permute")[0] for d in dims) != list(range(self.ndim)):
            raise ValueError(f"permute: dims {dims} are not a permutation of the "
                             f"{self.ndim} dims of a tensor of shape {self.shape}")
        return ops.Permute.apply(self, tuple(d % self.ndim for d in dims))

    def transpose(self, dim0, dim1):
        order = list(range(self.ndim))
        a, b = normalize_dims((dim0, dim1), self.ndim, "transpose")
        order[a], order[b] = order[b], order[a]
        return ops.Permute.apply(self, tuple(order))

    def t(self):
        return self.T

    def squeeze(self, dim=None):
        if dim is None:
            return self.reshape(tuple(n for n in self.shape if n != 1))
        axes = normalize_dims(dim, self.ndim, "squeeze")
        return self.reshape(tuple(n for i, n in enumerate(self.shape)
                                  if not (i in axes and n == 1)))

    def unsqueeze(self, dim):
        dim = normalize_dims(dim, self.ndim + 1, "unsqueeze")[0]
        return self.reshape(self.shape[:dim] + (1,) + self.shape[dim:])

    def expand(self, *shape):
        shape = shape_arg(shape)
        lead = len(shape) - self.ndim
        if lead < 0:
            raise ValueError(f"expand: target {shape} has fewer dims than the tensor's "
                             f"shape {self.shape}")
        shape = tuple(self.shape[i - lead] if n == -1 else n for i, n in enumerate(shape))
        return ops.Expand.apply(self, shape)

    def expand_as(self, other):
        return self.expand(other.shape)

    def __getitem__(self, index):
        return ops.GetItem.apply(self, _index_arrays(index))

    def split(self, split_size_or_sections, dim=0):
        dim = normalize_dims(dim, self.ndim, "split")[0]
        length = self.shape[dim]
        if isinstance(split_size_or_sections, int):
            if split_size_or_sections <= 0:
                raise ValueError(f"split: split_size must be positive, got {split_size_or_sections}")
            sizes = [min(split_size_or_sections, length - start)
                     for start in range(0, length, split_size_or_sections)]
        else:
            sizes = list(split_size_or_sections)
            if sum(sizes) != length:
                raise ValueError(f"split: sections {sizes} sum to {sum(sizes)}, "
                                 f"but dim {dim} has size {length}")
        bounds = np.cumsum([0] + sizes)
        lead = (slice(None),) * dim
        return tuple(self[lead + (slice(int(a), int(b)),)] for a, b in zip(bounds[:-1], bounds[1:]))

    def chunk(self, chunks, dim=0):
        length = self.shape[normalize_dims(dim, self.ndim, "chunk")[0]]
        return self.split(max(1, -(-length // chunks)), dim)


# ---------------------------------------------------------------------- helpers
def _promote(tensor, other):
    """The two sides of a binary op. Python and numpy scalars stay weakly typed
    scalars (float32 * 2.5 stays float32); an integer tensor meeting a float
    scalar becomes float32, as in PyTorch."""
    if isinstance(other, Tensor):
        return tensor, other
    if isinstance(other, (int, float, bool, np.generic)):
        other = other.item() if isinstance(other, np.generic) else other
        if isinstance(other, float) and tensor.data.dtype.kind in "biu":
            tensor = tensor.to(float32)
        return tensor, other
    return tensor, _tensor_operand(other)


def _tensor_operand(value):
    return value if isinstance(value, Tensor) else Tensor(value)


def _floating(t):
    """Integer tensors are promoted to float32 for ops like exp and division."""
    return t if t.data.dtype.kind == "f" else t.to(float32)


def _index_arrays(index):
    """Replace Tensors inside an index by their arrays."""
    if isinstance(index, tuple):
        return tuple(unwrap(i) for i in index)
    if isinstance(index, list):
        return np.asarray(index)
    return unwrap(index)


autograd.register_tensor_class(Tensor)

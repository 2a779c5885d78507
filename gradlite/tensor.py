"""Tensor: a numpy array that remembers how it was computed.

A Tensor wraps an ``ndarray`` (``.data``). Operators and methods call the
differentiable ops in :mod:`gradlite.ops`; when an input requires grad, the
result keeps a link (``grad_fn``) to the op that made it, and
``loss.backward()`` walks those links backwards (:mod:`gradlite.autograd`).

dtypes follow PyTorch: Python floats and lists become float32, a numpy array
keeps its dtype, integer data gives int64, and float32 op Python scalar stays
float32.
"""
from collections import namedtuple

import sys

import numpy as np

from . import autograd
from . import devices as _device
from .devices import as_cpu
from . import ops
from .graph_nodes import Node
from .random import default_generator
from .size import Size

float16, float32, float64 = np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64)
int32, int64, uint8, bool_ = np.dtype(np.int32), np.dtype(np.int64), np.dtype(np.uint8), np.dtype(bool)

MinMax = namedtuple("MinMax", ["values", "indices"])


def _default_dtype_array(data, dtype=None, copy=False):
    """Turn Python data into an array with PyTorch's dtype rules."""
    if isinstance(data, Tensor):
        data = data.data
    from_numpy = isinstance(data, (np.ndarray, np.generic))
    array = np.array(data, dtype=dtype, copy=copy) if copy else np.asarray(data, dtype=dtype)
    if dtype is None and not from_numpy:
        if array.dtype.kind == "f":
            array = array.astype(np.float32)
        elif array.dtype.kind in "iu":
            array = array.astype(np.int64)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"tensor: cannot make a tensor from data of type {array.dtype} "
                        f"(given {type(data).__name__})")
    return array


class Tensor:
    """An n-dimensional array with reverse-mode automatic differentiation."""

    __slots__ = ("data", "_grad", "_requires_grad", "_ctx", "_hooks", "_retains_grad",
                 "__weakref__")
    def __array_ufunc__(self, ufunc, method, *inputs, out=None, **kwargs):
        """numpy meeting a Tensor. ``array += tensor`` writes into the array, outside
        autograd (``p.data += -lr * p.grad``, since ``.data`` is the array); ``array +
        tensor`` (and -, *, /, **, @, comparisons) is the Tensor op; other numpy
        functions of a Tensor are refused (use the Tensor method)."""
        if method == "__call__" and out is not None:
            return ufunc(*[x.data if isinstance(x, Tensor) else x for x in inputs], out=out,
                         **kwargs)
        reflected = _REFLECTED.get(ufunc.__name__)
        if method == "__call__" and reflected and len(inputs) == 2 and inputs[1] is self \
                and not kwargs:
            return getattr(self, reflected)(inputs[0])
        return NotImplemented
    __hash__ = object.__hash__

    def __init__(self, data, requires_grad=False):
        self.data = data if isinstance(data, np.ndarray) else _default_dtype_array(data)
        self._grad = None
        self._ctx = None
        self._hooks = None
        self._retains_grad = False
        self._requires_grad = False
        self.requires_grad = requires_grad

    @classmethod
    def _make(cls, array, requires_grad):
        """Fast constructor used by ops: no checks, no conversion."""
        t = object.__new__(cls)
        t.data = array if isinstance(array, np.ndarray) else np.asarray(array)
        t._grad = t._ctx = t._hooks = None
        t._retains_grad = False
        t._requires_grad = requires_grad
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
        """The node of the op that produced this tensor (None for leaves): ``name()``,
        ``next_functions``, as in PyTorch."""
        return None if self._ctx is None else Node(self._ctx)

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

    def _accumulate_grad(self, g, keep_graph=False):
        """Leaf gradients add up across backward calls. No two tensors' ``.grad`` may
        share memory, so ``g`` is copied unless nothing else can reach it (as PyTorch
        steals such a buffer): copying a conv input's gradient cost ~10% of the op."""
        if not keep_graph and not _sole_reference(g):
            g = Tensor._make(np.array(g.data, copy=True), False)
        self._grad = g if self._grad is None else self._grad + g

    def _initial_grad(self, gradient, caller):
        if not self.requires_grad:
            raise RuntimeError(f"{caller}: this tensor does not require grad and has no "
                               "grad_fn; nothing in its graph requires gradients")
        if gradient is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"{caller}: the gradient can only be implicit for a scalar output, but "
                    f"this tensor has shape {self.shape}. Reduce it first (y.sum()) or pass "
                    f"gradient=<tensor of shape {self.shape}>.")
            return Tensor._make(np.ones_like(self.data), False)
        gradient = gradient if isinstance(gradient, Tensor) else Tensor(np.asarray(gradient))
        if gradient.shape != self.shape:
            raise RuntimeError(f"{caller}: gradient has shape {gradient.shape}, "
                               f"but the output has shape {self.shape}")
        return gradient

    def backward(self, gradient=None, retain_graph=None, create_graph=False):
        """Accumulate d(self)/d(leaf) into ``leaf.grad`` for every leaf that
        requires grad. ``gradient`` is dL/d(self), needed unless self is a scalar."""
        root_grad = self._initial_grad(gradient, "backward")
        if retain_graph is None:
            retain_graph = create_graph
        autograd.run_backward(self, root_grad, retain_graph, create_graph)

    def detach(self):
        """The same data, cut from the graph."""
        return Tensor._make(self.data, False)

    def detach_(self):
        self._ctx = None
        self._requires_grad = False
        return self

    # ------------------------------------------------------------------ array facts
    shape = property(lambda self: self.data.shape)
    dtype = property(lambda self: self.data.dtype)
    ndim = property(lambda self: self.data.ndim)
    device = _device.CPU
    T = property(lambda self: self.permute(*reversed(range(self.ndim))))
    mT = property(lambda self: self.transpose(-2, -1))

    def size(self, dim=None):
        return Size(self.shape) if dim is None else self.shape[dim]

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
        """The underlying array (shared, not copied)."""
        return self.data

    def __array__(self, dtype=None, copy=None):
        return self.data if dtype is None else self.data.astype(dtype)

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
            extras.append(f"grad_fn=<{self.grad_fn.name()}>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return prefix + body + "".join(", " + e for e in extras) + ")"

    # ------------------------------------------------------------------ dtype and copies
    def to(self, *args, **kwargs):
        """Cast to a dtype (differentiable): ``to(dtype)``, ``to(device)``, ``to(device,
        dtype)``, ``to(other)``; the device may only be the CPU."""
        dtype, _, copy = _device.parse_to_args("to", args, **kwargs)
        if dtype is None or np.dtype(dtype) == self.data.dtype:
            return self.clone() if copy else self
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
        np.copyto(self.data, result.data if isinstance(result, Tensor) else result,
                  casting="same_kind")
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
        self.data[_index_arrays(index)] = value.data if isinstance(value, Tensor) else value

    # ------------------------------------------------------------------ comparisons (no grad)
    def _compare(self, other, fn):
        other = other.data if isinstance(other, Tensor) else other
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
        return Tensor._make(_arg_reduce(np.argmax, self.data, dim, keepdim), False)

    def argmin(self, dim=None, keepdim=False):
        return Tensor._make(_arg_reduce(np.argmin, self.data, dim, keepdim), False)

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
        return ops.Tanh.apply(_floating(self))

    def sigmoid(self):
        return ops.Sigmoid.apply(_floating(self))

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
        return ops.Sum.apply(self, _axes(dim, self.ndim, "sum"), keepdim)

    def mean(self, dim=None, keepdim=False):
        axes = _axes(dim, self.ndim, "mean")
        count = self.data.size if axes is None else int(np.prod([self.shape[a] for a in axes]))
        return ops.Sum.apply(_floating(self), axes, keepdim) / max(count, 1)

    def var(self, dim=None, correction=1, keepdim=False, unbiased=None):
        """Variance: sum((x - mean)^2) / (N - correction)."""
        if unbiased is not None:
            correction = int(unbiased)
        axes = _axes(dim, self.ndim, "var")
        count = self.data.size if axes is None else int(np.prod([self.shape[a] for a in axes]))
        centred = self - self.mean(dim=axes, keepdim=True)
        return (centred * centred).sum(dim=axes, keepdim=keepdim) / max(count - correction, 0)

    def std(self, dim=None, correction=1, keepdim=False, unbiased=None):
        return self.var(dim, correction, keepdim, unbiased).sqrt()

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
        axis = _axes(dim, self.ndim, op.__name__.lower())[0]
        indices = _arg_reduce(arg_fn, self.data, axis, keepdim)
        return MinMax(op.apply(self, (axis,), keepdim), Tensor._make(indices, False))

    def amax(self, dim=None, keepdim=False):
        return ops.Max.apply(self, _axes(dim, self.ndim, "amax"), keepdim)

    def amin(self, dim=None, keepdim=False):
        return ops.Min.apply(self, _axes(dim, self.ndim, "amin"), keepdim)

    def logsumexp(self, dim=None, keepdim=False):
        """log(sum(exp(x))) computed as m + log(sum(exp(x - m))), m = max(x), so it
        neither overflows nor underflows; the gradient is softmax(x)."""
        axes = _axes(dim, self.ndim, "logsumexp")
        shift = self.detach().amax(dim=axes, keepdim=True)
        shift.data[~np.isfinite(shift.data)] = 0
        total = (self - shift).exp().sum(dim=axes, keepdim=True).log() + shift
        return total if keepdim else total.reshape(ops.reduced_shape(self.shape, axes))

    def softmax(self, dim):
        return ops.Softmax.apply(_floating(self), _axes(dim, self.ndim, "softmax")[0])

    def log_softmax(self, dim):
        return ops.LogSoftmax.apply(_floating(self), _axes(dim, self.ndim, "log_softmax")[0])

    # ------------------------------------------------------------------ shape
    def reshape(self, *shape):
        shape = _shape_arg(shape)
        if shape == self.shape:
            return self
        return ops.Reshape.apply(self, shape)

    view = reshape

    def view_as(self, other):
        return self.reshape(other.shape)

    def flatten(self, start_dim=0, end_dim=-1):
        if self.ndim == 0:
            return self.reshape(1)
        start, end = (_axes(d, self.ndim, "flatten")[0] for d in (start_dim, end_dim))
        merged = int(np.prod(self.shape[start:end + 1]))
        return self.reshape(self.shape[:start] + (merged,) + self.shape[end + 1:])

    def permute(self, *dims):
        dims = _shape_arg(dims)
        if sorted(_axes(d, self.ndim, "permute")[0] for d in dims) != list(range(self.ndim)):
            raise ValueError(f"permute: dims {dims} are not a permutation of the "
                             f"{self.ndim} dims of a tensor of shape {self.shape}")
        return ops.Permute.apply(self, tuple(d % self.ndim for d in dims))

    def transpose(self, dim0, dim1):
        order = list(range(self.ndim))
        a, b = _axes((dim0, dim1), self.ndim, "transpose")
        order[a], order[b] = order[b], order[a]
        return ops.Permute.apply(self, tuple(order))

    def t(self):
        return self.T

    def squeeze(self, dim=None):
        if dim is None:
            return self.reshape(tuple(n for n in self.shape if n != 1))
        axes = _axes(dim, self.ndim, "squeeze")
        return self.reshape(tuple(n for i, n in enumerate(self.shape)
                                  if not (i in axes and n == 1)))

    def unsqueeze(self, dim):
        dim = _axes(dim, self.ndim + 1, "unsqueeze")[0]
        return self.reshape(self.shape[:dim] + (1,) + self.shape[dim:])

    def expand(self, *shape):
        shape = _shape_arg(shape)
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
        dim = _axes(dim, self.ndim, "split")[0]
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
        length = self.shape[_axes(dim, self.ndim, "chunk")[0]]
        return self.split(max(1, -(-length // chunks)), dim)

    # ---- added for PyTorch ports (issue 17) ------------------------------------------
    def nelement(self):
        return self.data.size

    def new_zeros(self, *size, dtype=None, requires_grad=False):
        """Zeros of ``size`` with this tensor's dtype (unless ``dtype`` is given)."""
        return zeros(*size, dtype=dtype or self.dtype, requires_grad=requires_grad)

    def new_ones(self, *size, dtype=None, requires_grad=False):
        return ones(*size, dtype=dtype or self.dtype, requires_grad=requires_grad)

    def new_full(self, size, fill_value, dtype=None, requires_grad=False):
        return full(size, fill_value, dtype=dtype or self.dtype, requires_grad=requires_grad)

    def new_tensor(self, data, dtype=None, requires_grad=False):
        return tensor(data, dtype=dtype or self.dtype, requires_grad=requires_grad)

    def log2(self):
        """log2(x) = ln(x) / ln(2)."""
        return self.log() * (1 / np.log(2.0))

    def log10(self):
        """log10(x) = ln(x) / ln(10)."""
        return self.log() * (1 / np.log(10.0))

    def select(self, dim, index):
        """The slice at ``index`` along ``dim`` (that dim removed)."""
        dim = _axes(dim, self.ndim, "select")[0]
        if not -self.shape[dim] <= index < self.shape[dim]:
            raise IndexError(f"select: index {index} is out of range for dim {dim} of size "
                             f"{self.shape[dim]}")
        return self[(slice(None),) * dim + (index,)]

    def flip(self, *dims):
        """The elements in reverse order along ``dims``."""
        axes = _axes(_shape_arg(dims), self.ndim, "flip")
        return self[tuple(slice(None, None, -1) if d in axes else slice(None)
                          for d in range(self.ndim))]

    def masked_fill(self, mask, value):
        """``value`` where ``mask`` (broadcast to self) is True, else self; no gradient
        flows to the filled places."""
        mask = _bool_mask(mask, self, "masked_fill")
        value = value.data if isinstance(value, Tensor) else value
        return ops.Where.apply(mask, Tensor._make(np.asarray(value, self.dtype), False), self)

    def masked_fill_(self, mask, value):
        mask = _bool_mask(mask, self, "masked_fill_")
        self._check_inplace("masked_fill_")
        self.data[np.broadcast_to(mask, self.shape)] = value
        return self

    def tril(self, diagonal=0):
        """Keep the elements on and below the ``diagonal``-th diagonal, zero the rest."""
        return self._triangle(np.tril, diagonal, "tril")

    def triu(self, diagonal=0):
        """Keep the elements on and above the ``diagonal``-th diagonal, zero the rest."""
        return self._triangle(np.triu, diagonal, "triu")

    def _triangle(self, pick, diagonal, name):
        if self.ndim < 2:
            raise ValueError(f"{name}: input tensor must have at least 2 dimensions, got shape "
                             f"{self.shape}")
        keep = pick(np.ones(self.shape[-2:], dtype=bool), diagonal)
        return self.masked_fill(~keep, 0)

    def repeat(self, *sizes):
        """Tile: ``x.repeat(2, 3)`` stacks 2 x 3 copies (as ``numpy.tile``); gradients of
        the copies add up."""
        sizes = _shape_arg(sizes)
        if len(sizes) < self.ndim:
            raise ValueError(f"repeat: number of repeat dims {len(sizes)} can not be smaller "
                             f"than the number of tensor dims {self.ndim}")
        shape = (1,) * (len(sizes) - self.ndim) + self.shape
        spread = self.reshape(tuple(v for n in shape for v in (1, n)))
        copies = spread.expand(tuple(v for r, n in zip(sizes, shape) for v in (r, n)))
        return copies.reshape(tuple(r * n for r, n in zip(sizes, shape)))

    def cumsum(self, dim, dtype=None):
        """Running sum along ``dim``."""
        x = self if dtype is None else self.to(dtype)
        return ops.Cumsum.apply(x, _axes(dim, self.ndim, "cumsum")[0], False)

    def cumprod(self, dim, dtype=None):
        """Running product along ``dim``."""
        x = self if dtype is None else self.to(dtype)
        return ops.Cumprod.apply(x, _axes(dim, self.ndim, "cumprod")[0])

    def gather(self, dim, index):
        """``out[i][j] = self[index[i][j]][j]`` for dim 0 (and so on): values read at
        ``index`` along ``dim``."""
        dim, index = _index_along(self, dim, index, "gather")
        return ops.Gather.apply(self, dim, index)

    def scatter(self, dim, index, src=None, value=None):
        """A copy with ``src`` (or the scalar ``value``) written at ``index`` along ``dim``."""
        dim, index = _index_along(self, dim, index, "scatter")
        src = _scatter_source(self, index, value if src is None else src, "scatter")
        return ops.Scatter.apply(self, dim, index, src)

    def scatter_add(self, dim, index, src):
        """A copy with ``src`` added at ``index`` along ``dim`` (repeated indices add up)."""
        dim, index = _index_along(self, dim, index, "scatter_add")
        return ops.ScatterAdd.apply(self, dim, index, _scatter_source(self, index, src,
                                                                      "scatter_add"))

    def scatter_(self, dim, index, src=None, value=None):
        return self._inplace("scatter_", lambda: self.scatter(dim, index, src, value))

    def scatter_add_(self, dim, index, src):
        return self._inplace("scatter_add_", lambda: self.scatter_add(dim, index, src))

    def sort(self, dim=-1, descending=False, *, stable=False):
        """``(values, indices)`` sorted along ``dim``; values carry the gradient."""
        indices = self.argsort(dim, descending, stable=stable)
        return Sorted(self.gather(dim, indices), indices)

    def argsort(self, dim=-1, descending=False, *, stable=False):
        """The indices that sort ``self`` along ``dim`` (ties keep their order)."""
        dim = _axes(dim, self.ndim, "argsort")[0] if self.ndim else 0
        data = self.data if self.ndim else self.data.reshape(1)
        order = np.argsort(-data if descending else data, axis=dim, kind="stable")
        if descending and data.dtype.kind == "b":
            order = np.argsort(~data, axis=dim, kind="stable")
        return Tensor._make(order.reshape(self.shape).astype(np.int64), False)

    def topk(self, k, dim=-1, largest=True, sorted=True):
        """The ``k`` largest (or smallest) values along ``dim`` and their indices."""
        dim = _axes(dim, self.ndim, "topk")[0] if self.ndim else 0
        size = self.shape[dim] if self.ndim else 1
        if not 0 <= k <= size:
            raise RuntimeError(f"topk: k ({k}) is out of range for dim {dim} of size {size}")
        order = self.argsort(dim, descending=largest)
        indices = order[(slice(None),) * dim + (slice(0, k),)]
        return TopK(self.gather(dim, indices), indices)

    def norm(self, p="fro", dim=None, keepdim=False):
        """The vector p-norm over ``dim`` (all elements by default): 'fro' and 2 are
        sqrt(sum x^2), 1 is sum |x|, inf is max |x|, other p (sum |x|^p)^(1/p)."""
        axes = _axes(dim, self.ndim, "norm")
        x = _floating(self)
        if p in ("fro", 2):
            return ops.Norm2.apply(x, axes, keepdim)
        if p == float("inf"):
            return x.abs().amax(dim=axes, keepdim=keepdim)
        if p == 1:
            return x.abs().sum(dim=axes, keepdim=keepdim)
        if not isinstance(p, (int, float)) or p <= 0:
            raise ValueError(f"norm: p must be 'fro', inf or a positive number, got {p!r}")
        return (x.abs() ** p).sum(dim=axes, keepdim=keepdim) ** (1.0 / p)

    def bmm(self, mat2):
        """Batched matrix product of (b, n, m) and (b, m, p) tensors."""
        if self.ndim != 3 or mat2.ndim != 3 or self.shape[0] != mat2.shape[0] \
                or self.shape[2] != mat2.shape[1]:
            raise ValueError(f"bmm: expected (b, n, m) and (b, m, p) tensors, got shapes "
                             f"{self.shape} and {tuple(mat2.shape)}")
        return self @ mat2

    def normal_(self, mean=0.0, std=1.0, *, generator=None):
        """Fill in place with N(mean, std^2) samples."""
        rng = generator or default_generator()
        return self._inplace("normal_", lambda: rng.normal(mean, std, self.shape))

    def uniform_(self, a=0.0, b=1.0, *, generator=None):
        """Fill in place with U(a, b) samples."""
        rng = generator or default_generator()
        return self._inplace("uniform_", lambda: rng.uniform(a, b, self.shape))

    def multinomial(self, num_samples, replacement=False, generator=None):
        """``num_samples`` category indices per row, drawn with probability proportional
        to the row's (non-negative) weights."""
        from .functions_extra import multinomial
        return multinomial(self, num_samples, replacement, generator=generator)


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


def _axes(dim, ndim, op):
    """Normalise ``dim`` (None, an int or a sequence) to a tuple of axes, or None."""
    if dim is None:
        return None
    dims = tuple(dim) if isinstance(dim, (tuple, list)) else (dim,)
    limit = max(ndim, 1)
    for d in dims:
        if not -limit <= d < limit:
            raise IndexError(f"{op}: dim {d} is out of range for a tensor with {ndim} dims "
                             f"(expected one of {-limit}..{limit - 1})")
    return tuple(d % limit for d in dims)


def _arg_reduce(fn, array, dim, keepdim):
    if dim is None:
        return np.asarray(fn(array), dtype=np.int64)
    axis = _axes(dim, array.ndim, fn.__name__)[0]
    return fn(array, axis=axis, keepdims=keepdim).astype(np.int64)


def _shape_arg(shape):
    """Accept ``reshape(2, 3)`` and ``reshape((2, 3))`` alike."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    return tuple(int(n) for n in shape)


def _index_arrays(index):
    """Replace Tensors inside an index by their arrays."""
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, tuple):
        return tuple(i.data if isinstance(i, Tensor) else i for i in index)
    if isinstance(index, list):
        return np.asarray(index)
    return index


# ---- added for PyTorch ports (issue 17) ----------------------------------------------
#: numpy ufunc of (array, tensor) -> the Tensor method giving the same answer
_REFLECTED = {"add": "__radd__", "subtract": "__rsub__", "multiply": "__rmul__",
              "true_divide": "__rtruediv__", "divide": "__rtruediv__", "power": "__rpow__",
              "matmul": "__rmatmul__", "equal": "__eq__", "not_equal": "__ne__",
              "less": "__gt__", "less_equal": "__ge__", "greater": "__lt__",
              "greater_equal": "__le__"}
Sorted = namedtuple("Sorted", ["values", "indices"])
TopK = namedtuple("TopK", ["values", "indices"])


def _bool_mask(mask, x, op):
    mask = np.asarray(mask.data if isinstance(mask, Tensor) else mask)
    if mask.dtype != np.bool_:
        raise TypeError(f"{op}: mask must be a bool tensor, got {mask.dtype}")
    try:
        np.broadcast_shapes(mask.shape, x.shape)
    except ValueError:
        raise ValueError(f"{op}: mask of shape {mask.shape} does not broadcast to the "
                         f"tensor's shape {x.shape}") from None
    return mask


def _index_along(x, dim, index, op):
    """Check ``index`` for gather/scatter: an int64 tensor with x's number of dims,
    entries in range along ``dim``, no larger than x on the other dims."""
    dim = _axes(dim, x.ndim, op)[0]
    index = np.asarray(index.data if isinstance(index, Tensor) else index)
    if index.dtype.kind not in "iu":
        raise TypeError(f"{op}: index must be an integer tensor, got {index.dtype}")
    if index.ndim != x.ndim:
        raise ValueError(f"{op}: index {index.shape} must have as many dims as the input "
                         f"{x.shape}")
    if any(i > n for d, (i, n) in enumerate(zip(index.shape, x.shape)) if d != dim):
        raise ValueError(f"{op}: index {index.shape} is larger than the input {x.shape} "
                         f"apart from dim {dim}")
    outside = index[(index < 0) | (index >= x.shape[dim])]
    if outside.size:
        raise IndexError(f"{op}: index {int(outside[0])} is out of bounds for dim {dim} of "
                         f"size {x.shape[dim]}")
    return dim, index.astype(np.int64, copy=False)


def _scatter_source(x, index, src, op):
    """``src`` cut to ``index``'s shape (a scalar is broadcast to it)."""
    if not isinstance(src, Tensor):
        return np.full(index.shape, src, dtype=x.dtype)
    if any(i > n for i, n in zip(index.shape, src.shape)) or src.ndim != index.ndim:
        raise ValueError(f"{op}: src {src.shape} must be at least as large as index "
                         f"{index.shape} in every dim")
    return src[tuple(slice(0, n) for n in index.shape)]


# ---------------------------------------------------------------------- creation
def _new(array, dtype, requires_grad):
    if dtype is not None:
        array = array.astype(dtype, copy=False)
    t = Tensor(array)
    t.requires_grad = requires_grad
    return t


def tensor(data, dtype=None, device=None, requires_grad=False):
    """A new tensor holding a copy of ``data``."""
    as_cpu(device, "tensor")
    return _new(_default_dtype_array(data, dtype, copy=True), None, requires_grad)


def as_tensor(data, dtype=None, device=None):
    """``data`` as a tensor, sharing memory when it already is an array of that dtype."""
    as_cpu(device, "as_tensor")
    if isinstance(data, Tensor) and (dtype is None or data.dtype == np.dtype(dtype)):
        return data
    return Tensor(_default_dtype_array(data, dtype))


def from_numpy(array):
    """A tensor sharing memory with ``array`` (dtype kept)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(array).__name__}")
    return Tensor(array)


def zeros(*size, dtype=None, device=None, requires_grad=False):
    as_cpu(device, "zeros")
    return _new(np.zeros(_shape_arg(size), dtype or float32), None, requires_grad)


def ones(*size, dtype=None, device=None, requires_grad=False):
    as_cpu(device, "ones")
    return _new(np.ones(_shape_arg(size), dtype or float32), None, requires_grad)


def empty(*size, dtype=None, device=None, requires_grad=False):
    return zeros(*size, dtype=dtype, device=device, requires_grad=requires_grad)


def full(size, fill_value, dtype=None, device=None, requires_grad=False):
    as_cpu(device, "full")
    if dtype is None:
        dtype = _default_dtype_array(fill_value).dtype
    return _new(np.full(_shape_arg((size,)), fill_value, dtype), None, requires_grad)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False):
    """Evenly spaced values in [start, end); int64 for integer arguments, else float32."""
    as_cpu(device, "arange")
    if end is None:
        start, end = 0, start
    array = np.arange(start, end, step)
    if dtype is None and array.dtype.kind == "f":
        dtype = float32
    return _new(array, dtype, requires_grad)


def linspace(start, end, steps, dtype=None, device=None, requires_grad=False):
    as_cpu(device, "linspace")
    return _new(np.linspace(start, end, steps), dtype or float32, requires_grad)


def eye(n, m=None, dtype=None, device=None, requires_grad=False):
    as_cpu(device, "eye")
    return _new(np.eye(n, m, dtype=dtype or float32), None, requires_grad)


def rand(*size, dtype=None, device=None, requires_grad=False, generator=None):
    """Uniform samples on [0, 1) from gradlite's global generator."""
    as_cpu(device, "rand")
    rng = generator or default_generator()
    return _new(rng.random(_shape_arg(size), dtype=np.dtype(dtype or float32)), None, requires_grad)


def randn(*size, dtype=None, device=None, requires_grad=False, generator=None):
    """Standard normal samples from gradlite's global generator."""
    as_cpu(device, "randn")
    rng = generator or default_generator()
    return _new(rng.standard_normal(_shape_arg(size), dtype=np.dtype(dtype or float32)), None,
                requires_grad)


def randint(low, high=None, size=(), dtype=None, device=None, generator=None):
    as_cpu(device, "randint")
    if high is None:
        low, high = 0, low
    rng = generator or default_generator()
    return _new(rng.integers(low, high, _shape_arg((size,))), dtype or int64, False)


def _like(factory):
    def like(input, dtype=None, device=None, requires_grad=False):
        return factory(*input.shape, dtype=dtype or input.dtype, device=device,
                       requires_grad=requires_grad)
    like.__name__ = factory.__name__ + "_like"
    like.__doc__ = f"``{factory.__name__}`` with the shape (and dtype) of ``input``."
    return like


zeros_like, ones_like, empty_like, rand_like, randn_like = map(_like, (zeros, ones, empty, rand, randn))


def full_like(input, fill_value, dtype=None, device=None, requires_grad=False):
    return full(input.shape, fill_value, dtype=dtype or input.dtype, device=device,
                requires_grad=requires_grad)


def _sole_reference(g):
    """Whether the gradient Tensor ``g`` and its array are referenced only by the
    caller chain (run_backward's local, _accumulate_grad's argument, this argument)
    and own their memory: then no other tensor, gradient or view can see the array.
    CPython reference counts: the Tensor 4 (with getrefcount's own), the array 2."""
    return (g.data.flags.owndata and sys.getrefcount(g.data) == 2
            and sys.getrefcount(g) == 4)

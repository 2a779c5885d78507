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
from .autograd import _TensorFields
from . import devices as _device
from .devices import as_cpu
from . import ops
from ._args import (arg_reduce, dim_arg, dtype_arg, int_arg, is_int, normalize_dims,
                    reshape_arg, shape_arg)
from .dtypes import array_from, bool_, float32, float64, int32, int64
from .graph_nodes import Node
from .random import default_generator
from .size import Size

MinMax = namedtuple("MinMax", ["values", "indices"])


def unwrap(value):
    """The array of a Tensor; any other value unchanged (arrays, scalars, None)."""
    return value.data if isinstance(value, Tensor) else value


class Tensor(_TensorFields):
    """An n-dimensional array with reverse-mode automatic differentiation."""

    __slots__ = ()

    def __array_ufunc__(self, ufunc, method, *inputs, out=None, **kwargs):
        """numpy meeting a Tensor. ``array += tensor`` writes into the array, outside
        autograd (``p.data += -lr * p.grad``, since ``.data`` is the array); ``array +
        tensor`` (and -, *, /, **, @, comparisons) is the Tensor op; other numpy
        functions of a Tensor are refused (use the Tensor method)."""
        if method == "__call__" and out is not None:
            return ufunc(*map(unwrap, inputs), out=out,
                         **kwargs)
        reflected = _REFLECTED.get(ufunc.__name__)
        if method == "__call__" and reflected and len(inputs) == 2 and inputs[1] is self \
                and not kwargs:
            return getattr(self, reflected)(inputs[0])
        return NotImplemented

    __hash__ = object.__hash__  # == is elementwise, so a tensor hashes by identity

    def __init__(self, data, requires_grad=False):
        self.data = data if isinstance(data, np.ndarray) else array_from(unwrap(data))
        self._grad = None
        self._ctx = None
        self._hooks = None
        self._retains_grad = False
        self._requires_grad = False
        self._version_counter = None
        self.requires_grad = requires_grad

    _make = staticmethod(autograd.make_tensor)

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
        if not callable(hook):
            raise TypeError(f"register_hook: hook must be callable, got {type(hook).__name__}")
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
        return ops.Matmul.apply(self, tensor_arg("matmul", "other", other))

    def __rmatmul__(self, other):
        return ops.Matmul.apply(tensor_arg("matmul", "other", other), self)

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
        for name, bound in (("min", min), ("max", max)):
            if not isinstance(bound, (type(None), int, float, np.number, Tensor)):
                raise TypeError(f"clamp: {name} must be a number or a Tensor, got "
                                f"{type(bound).__name__}")
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
        var = self.var(normalize_dims(dim, self.ndim, "std"), correction, keepdim, unbiased)
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
        axis = dim_arg(dim, self.ndim, op.__name__.lower())
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
        return ops.SoftmaxOp.apply(_floating(self), dim_arg(dim, self.ndim, "softmax"))

    def log_softmax(self, dim):
        return ops.LogSoftmaxOp.apply(_floating(self), dim_arg(dim, self.ndim, "log_softmax"))

    # ------------------------------------------------------------------ shape
    def reshape(self, *shape):
        return self._reshaped("reshape", shape)

    def view(self, *shape):
        return self._reshaped("view", shape)

    def _reshaped(self, fn, shape):
        shape = reshape_arg(fn, shape, self.shape)
        if shape == self.shape:
            return self
        return ops.Reshape.apply(self, shape)

    def view_as(self, other):
        return self.reshape(other.shape)

    def flatten(self, start_dim=0, end_dim=-1):
        if self.ndim == 0:
            return self.reshape(1)
        start, end = (dim_arg(d, self.ndim, "flatten") for d in (start_dim, end_dim))
        merged = int(np.prod(self.shape[start:end + 1]))
        return self.reshape(self.shape[:start] + (merged,) + self.shape[end + 1:])

    def permute(self, *dims):
        dims = shape_arg("permute", dims, "dims")
        if len(dims) != self.ndim:
            raise ValueError(f"permute: dims {dims} are not a permutation of the "
                             f"{self.ndim} dims of a tensor of shape {self.shape}")
        return ops.Permute.apply(self, normalize_dims(dims, self.ndim, "permute"))

    def transpose(self, dim0, dim1):
        order = list(range(self.ndim))
        a, b = (dim_arg(d, self.ndim, "transpose") for d in (dim0, dim1))
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
        dim = dim_arg(dim, self.ndim + 1, "unsqueeze")
        return self.reshape(self.shape[:dim] + (1,) + self.shape[dim:])

    def expand(self, *shape):
        target = shape_arg("expand", shape)
        lead = len(target) - self.ndim
        if lead < 0:
            raise ValueError(f"expand: target {target} has fewer dims than the tensor's "
                             f"shape {self.shape}")
        shape = tuple(self.shape[i - lead] if n == -1 and i >= lead else n
                      for i, n in enumerate(target))
        for i, n in enumerate(shape):
            if n < 0 or (i >= lead and self.shape[i - lead] not in (1, n)):
                raise ValueError(f"expand: cannot expand a tensor of shape {self.shape} to "
                                 f"{target}: at dim {i}, a size must match the tensor's "
                                 "where that is not 1 (-1 keeps an existing dim)")
        return ops.Expand.apply(self, shape)

    def expand_as(self, other):
        return self.expand(other.shape)

    def __getitem__(self, index):
        try:
            index = _index_arrays(index)
            return ops.GetItem.apply(self, index)
        except (IndexError, OverflowError, TypeError, ValueError) as error:
            raise IndexError(f"index: {error} (tensor of shape {self.shape}, index "
                             f"{index!r})") from None

    def split(self, split_size_or_sections, dim=0):
        dim = dim_arg(dim, self.ndim, "split")
        length = self.shape[dim]
        if is_int(split_size_or_sections):
            size = int_arg("split", "split_size", split_size_or_sections, 1)
            sizes = [min(size, length - start) for start in range(0, length, size)]
        else:
            if not isinstance(split_size_or_sections, (tuple, list)):
                raise TypeError(f"split: split_size_or_sections must be an int or a list of "
                                f"ints, got {type(split_size_or_sections).__name__}")
            sizes = list(shape_arg("split", split_size_or_sections, "sections"))
            if sum(sizes) != length or min(sizes, default=0) < 0:
                raise ValueError(f"split: sections {sizes} sum to {sum(sizes)}, "
                                 f"but dim {dim} has size {length}")
        bounds = np.cumsum([0] + sizes)
        lead = (slice(None),) * dim
        return tuple(self[lead + (slice(int(a), int(b)),)] for a, b in zip(bounds[:-1], bounds[1:]))

    def chunk(self, chunks, dim=0):
        chunks = int_arg("chunk", "chunks", chunks, 1)
        length = self.shape[dim_arg(dim, self.ndim, "chunk")]
        return self.split(max(1, -(-length // chunks)), dim)

    # ---- added for PyTorch ports (issue 17) ------------------------------------------
    def nelement(self):
        return self.data.size

    def new_zeros(self, *size, dtype=None, requires_grad=False):
        """Zeros of ``size`` with this tensor's dtype (unless ``dtype`` is given)."""
        return self.new_full(shape_arg("new_zeros", size), 0, dtype, requires_grad)

    def new_ones(self, *size, dtype=None, requires_grad=False):
        return self.new_full(shape_arg("new_ones", size), 1, dtype, requires_grad)

    def new_full(self, size, fill_value, dtype=None, requires_grad=False):
        array = np.full(shape_arg("new_full", (size,)), fill_value, np.dtype(dtype or self.dtype))
        return Tensor(array, requires_grad=requires_grad)

    def new_tensor(self, data, dtype=None, requires_grad=False):
        array = np.array(array_from(unwrap(data)), dtype=np.dtype(dtype or self.dtype))
        return Tensor(array, requires_grad=requires_grad)

    def log2(self):
        """log2(x) = ln(x) / ln(2)."""
        return self.log() * (1 / np.log(2.0))

    def log10(self):
        """log10(x) = ln(x) / ln(10)."""
        return self.log() * (1 / np.log(10.0))

    def select(self, dim, index):
        """The slice at ``index`` along ``dim`` (that dim removed)."""
        dim = normalize_dims(dim, self.ndim, "select")[0]
        if not -self.shape[dim] <= index < self.shape[dim]:
            raise IndexError(f"select: index {index} is out of range for dim {dim} of size "
                             f"{self.shape[dim]}")
        return self[(slice(None),) * dim + (index,)]

    def flip(self, *dims):
        """The elements in reverse order along ``dims``."""
        axes = normalize_dims(shape_arg("flip", dims, "dims"), self.ndim, "flip")
        return self[tuple(slice(None, None, -1) if d in axes else slice(None)
                          for d in range(self.ndim))]

    def masked_fill(self, mask, value):
        """``value`` where ``mask`` (broadcast to self) is True, else self; no gradient
        flows to the filled places."""
        mask = _bool_mask(mask, self, "masked_fill")
        value = unwrap(value)
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
        sizes = shape_arg("repeat", sizes, "sizes")
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
        return ops.Cumsum.apply(x, normalize_dims(dim, self.ndim, "cumsum")[0], False)

    def cumprod(self, dim, dtype=None):
        """Running product along ``dim``."""
        x = self if dtype is None else self.to(dtype)
        return ops.Cumprod.apply(x, normalize_dims(dim, self.ndim, "cumprod")[0])

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
        dim = normalize_dims(dim, self.ndim, "argsort")[0] if self.ndim else 0
        data = self.data if self.ndim else self.data.reshape(1)
        order = np.argsort(-data if descending else data, axis=dim, kind="stable")
        if descending and data.dtype.kind == "b":
            order = np.argsort(~data, axis=dim, kind="stable")
        return Tensor._make(order.reshape(self.shape).astype(np.int64), False)

    def topk(self, k, dim=-1, largest=True, sorted=True):
        """The ``k`` largest (or smallest) values along ``dim`` and their indices."""
        dim = normalize_dims(dim, self.ndim, "topk")[0] if self.ndim else 0
        size = self.shape[dim] if self.ndim else 1
        if not 0 <= k <= size:
            raise RuntimeError(f"topk: k ({k}) is out of range for dim {dim} of size {size}")
        order = self.argsort(dim, descending=largest)
        indices = order[(slice(None),) * dim + (slice(0, k),)]
        return TopK(self.gather(dim, indices), indices)

    def norm(self, p="fro", dim=None, keepdim=False):
        """The vector p-norm over ``dim`` (all elements by default): 'fro' and 2 are
        sqrt(sum x^2), 1 is sum |x|, inf is max |x|, other p (sum |x|^p)^(1/p)."""
        axes = normalize_dims(dim, self.ndim, "norm")
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


def tensor_arg(fn, name, value):
    """``value`` as a Tensor (Python data and arrays are converted), or an error naming
    ``fn`` and the argument ``name``."""
    if isinstance(value, Tensor):
        return value
    try:
        return Tensor(value)
    except (TypeError, ValueError) as error:
        raise type(error)(f"{fn}: {name}: {error}") from None


def _floating(t):
    """Integer tensors are promoted to float32 for ops like exp and division."""
    return t if t.data.dtype.kind == "f" else t.to(float32)


def _index_arrays(index):
    """Replace Tensors inside an index by their arrays."""
    if isinstance(index, tuple):
        return tuple(unwrap(i) for i in index)
    if isinstance(index, list):
        return np.asarray(index, dtype=None if index else np.int64)
    return unwrap(index)


autograd.register_tensor_class(Tensor)


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
    mask = np.asarray(unwrap(mask))
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
    dim = normalize_dims(dim, x.ndim, op)[0]
    index = np.asarray(unwrap(index))
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

"""The graph: grad mode, ``Function``, and the backward sweep.

Every differentiable op is a :class:`Function`. Calling ``Op.apply(*inputs)``
runs ``Op.forward`` on numpy arrays and, when an input requires grad, records a
node: the op, its inputs and what it saved. ``backward`` then visits the nodes
in reverse topological order and calls each ``Op.backward`` with the gradient
of the output, accumulating the gradients it returns into the inputs (the chain
rule: ``dL/dinput = dL/doutput * doutput/dinput``).

Backward functions are written with Tensor ops, so with ``create_graph=True``
the sweep itself is recorded and can be differentiated again (Hessian-vector
products, ``d2/dx2 tanh``). Without it the sweep runs under ``no_grad``.

Grad mode is per thread. Every tensor has a version counter, shared with its
views and ``detach()`` aliases, that each in-place write bumps; a node records
the versions of what it saved, and backward refuses a value changed since.
"""
import contextvars
import functools
import sys
import threading
import weakref

import numpy as np


# --------------------------------------------------------------------------- grad mode
# Whether new ops are recorded. A context variable is per thread (a new thread starts
# from the default, recording on), as PyTorch's grad mode is, and it is cheap to read,
# which every op does.
_grad_enabled = contextvars.ContextVar("gradlite_grad_enabled", default=True)


def is_grad_enabled():
    """True when new ops are being recorded for backward (in this thread)."""
    return _grad_enabled.get()


class _GradModeBlock:
    """A ``with`` block, or a decorator, inside which recording is ``mode``; when it
    ends, recording is what it was before. It changes the calling thread's mode only."""

    def __init__(self, mode):
        self.mode = bool(mode)
        self._previous = []          # a stack, so that one instance can be nested in itself

    def __enter__(self):
        self._previous.append(_grad_enabled.get())
        _grad_enabled.set(self.mode)
        return self

    def __exit__(self, *exc_info):
        _grad_enabled.set(self._previous.pop())

    def __call__(self, fn):
        mode = self.mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with _GradModeBlock(mode):
                return fn(*args, **kwargs)
        return wrapper


class _FixedModeBlock(_GradModeBlock):
    """A block whose mode is fixed by its subclass (``MODE``). As in PyTorch it decorates a
    function with or without parentheses: ``@no_grad()`` and ``@no_grad``."""

    def __new__(cls, fn=None):
        block = super().__new__(cls)
        if fn is None:
            return block                  # no_grad(): the block (then __init__ runs)
        block.__init__()
        return block(fn)                  # @no_grad: the function, decorated

    def __init__(self, fn=None):
        super().__init__(self.MODE)


class no_grad(_FixedModeBlock):
    """``with no_grad():`` records nothing: for inference and parameter updates."""
    MODE = False


class enable_grad(_FixedModeBlock):
    """``with enable_grad():`` records ops again inside a ``no_grad`` block."""
    MODE = True


class inference_mode(_GradModeBlock):
    """``with inference_mode():`` as in PyTorch: records nothing (``mode=False`` records
    as usual). gradlite has no separate inference tensors, so this is ``no_grad``."""

    def __init__(self, mode=True):
        super().__init__(not mode)


class set_grad_enabled(_GradModeBlock):
    """Switches recording on or off at once, as in PyTorch: ``set_grad_enabled(False)``
    alone switches it for the rest of the thread; ``with set_grad_enabled(mode):`` (or
    as a decorator) switches it back when the block ends."""

    def __init__(self, mode):
        super().__init__(mode)
        super().__enter__()

    def __enter__(self):
        return self                  # switched already, by __init__

    def __call__(self, fn):
        self.__exit__()              # as a decorator it switches only while fn runs
        return super().__call__(fn)


# --------------------------------------------------------------------------- the tensor class
class _TensorFields:
    """The graph's half of a tensor: the fields the engine reads and writes on every
    tensor. ``Tensor`` (tensor.py) inherits them and adds what users call. Compiled,
    they are C fields (autograd.pxd), read without a dictionary lookup.

    ``data`` is the array, ``_requires_grad`` whether gradients flow to it, ``_ctx`` the
    Context of the op that made it (None for a leaf), ``_grad`` its ``.grad``, ``_hooks``
    its gradient hooks, ``_retains_grad`` whether a non-leaf keeps its ``.grad``, and
    ``_version_counter`` None until its first in-place write or alias (see
    :func:`bump_version`).
    """

    __slots__ = ("data", "_grad", "_requires_grad", "_ctx", "_hooks", "_retains_grad",
                 "_version_counter", "__weakref__")


_Tensor = None  # set by register_tensor_class


def register_tensor_class(cls):
    """Tell the engine which class is its tensor (``gradlite.tensor`` registers
    ``Tensor``, a subclass of :class:`_TensorFields`).

    The engine never imports that module: it makes tensors of the registered class with
    :func:`make_tensor`, and reads and writes only the fields of :class:`_TensorFields`;
    the tensor class exposes them to users (``grad``, ``grad_fn``, ...).
    """
    global _Tensor
    _Tensor = cls


def make_tensor(array, requires_grad):
    """A new tensor around ``array``, which an op has just computed (``Tensor._make``):
    no checks and no conversion, since every op's result, forward and backward, is made
    here."""
    t = _TensorFields.__new__(_Tensor)
    t.data = array if isinstance(array, np.ndarray) else np.asarray(array)
    t._grad = t._ctx = t._hooks = None
    t._retains_grad = False
    t._requires_grad = requires_grad
    t._version_counter = None
    return t


def _unwrap_args(args):
    """The arguments as an op's forward receives them (a tensor's array, anything else
    as it is), and for each whether it wants a gradient."""
    arrays, needs = [], []
    for arg in args:
        if isinstance(arg, _TensorFields):
            tensor = arg              # (typed in autograd.pxd: its fields are C fields)
            arrays.append(tensor.data)
            needs.append(tensor._requires_grad)
        else:
            arrays.append(arg)
            needs.append(False)
    return arrays, tuple(needs)


# --------------------------------------------------------------------------- versions
# Every in-place write gets a stamp from one process-wide count, ``_writes[0]``. A tensor's
# version counter is ``[writes to it, stamp of the latest]``, shared by every tensor that
# aliases its array (views, ``detach()``); it is made on first need, so a tensor that is
# never written or aliased costs nothing. A node that saved arrays records the count when
# it was made: if the count has not moved by backward, nothing was written anywhere and
# there is nothing to check; otherwise a saved tensor whose latest stamp is newer was
# changed in place after it was saved.
_writes = [0]
_writes_lock = threading.Lock()


def version_counter(tensor):
    """``tensor``'s version counter, made if it has none yet (to be shared by an alias)."""
    if tensor._version_counter is None:
        tensor._version_counter = [0, 0]
    return tensor._version_counter


def bump_version(tensor):
    """Record an in-place write to ``tensor``'s array (``+=``, ``x[i] = v``, an optimizer
    step): a backward that saved the old value will refuse to use it."""
    counter = version_counter(tensor)
    with _writes_lock:
        _writes[0] += 1
        counter[0] += 1
        counter[1] = _writes[0]


# --------------------------------------------------------------------------- Function
class Context:
    """What a Function's forward leaves for its backward.

    ``save_for_backward(*arrays)`` keeps arrays; ``saved_tensors`` hands them
    back as Tensors: an array that was an input or the output of the op comes
    back as that very Tensor, so a backward written with Tensor ops stays
    differentiable; any other array comes back as a constant.
    ``needs_input_grad[i]`` says whether input ``i`` wants a gradient. Any
    other attribute (``ctx.stride = 2``) is free for the op to use.

    A saved array that belongs to an input or to the output is checked when it is
    handed back: if that tensor was written in place since (its version moved on),
    ``saved_tensors`` raises instead of returning the changed value.
    """
    def save_for_backward(self, *values):
        self._saved = values

    def needed(self, *gradient_fns):
        """Call ``gradient_fns[i]()`` only for the inputs that need a gradient."""
        return tuple([fn() if need else None
                      for fn, need in zip(gradient_fns, self.needs_input_grad)])

    @property
    def saved_tensors(self):
        if self._saved is None:
            raise _freed_error(self.fn)
        if self._saved and _writes[0] != self._writes_then:
            self._check_versions()
        return tuple([self._as_tensor(value) for value in self._saved])

    def _check_versions(self):
        """Raise if a saved array belongs to a tensor written in place since it was saved."""
        output = self._output()
        for value in self._saved:
            owner = output if value is self._result else None
            for arg in self._args:
                if owner is None and isinstance(arg, _Tensor) and arg.data is value:
                    owner = arg
            counter = None if owner is None else owner._version_counter
            if counter is not None and counter[1] > self._writes_then:
                raise RuntimeError(
                    "one of the variables needed for gradient computation has been modified "
                    f"by an inplace operation: [{value.dtype} tensor of shape "
                    f"{tuple(value.shape)}], saved by {self.fn.__name__}, is at version "
                    f"{counter[0]}, written after it was saved. Hint: it was changed in place "
                    "(+=, a *_ method, x[i] = ..., an optimizer step) between the forward and "
                    "this backward; change it after backward, or change a copy "
                    "(x = x.clone()).")

    def _release(self):
        """Drop everything the forward left for the backward, and the inputs: after a
        backward without ``retain_graph`` a kept output pins only itself and this node."""
        fn = self.fn
        vars(self).clear()                               # what the op kept: ctx.stride, ...
        self.fn, self.inputs, self._saved = fn, (), None     # _saved None: released
        self._result = self._output = self._args = None

    def _as_tensor(self, value):
        if value is self._result:
            output = self._output()
            if output is not None:
                return output
        if isinstance(value, (np.ndarray, np.generic)):
            for tensor in self.inputs:
                if tensor is not None and tensor.data is value:
                    return tensor
            return make_tensor(np.asarray(value), False)
        return value


class Function:
    """Base class of every differentiable op; subclass it for custom ops.

    ``forward(ctx, *args)`` receives Tensor arguments as numpy arrays (other
    arguments unchanged) and returns one numpy array. ``backward(ctx, grad)``
    receives the gradient of the output as a Tensor and returns one gradient per
    forward argument (a Tensor, an array, or ``None``), each of its input's shape.

    Example::

        class Cube(Function):
            '''y = x**3;  dy/dx = 3 x**2.'''
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x ** 3

            @staticmethod
            def backward(ctx, grad):
                x, = ctx.saved_tensors
                return grad * 3 * x ** 2

        y = Cube.apply(x)
    """

    returns_view = False  # True for ops whose output may alias their first input's array

    @staticmethod
    def forward(ctx, *args):
        raise NotImplementedError

    @staticmethod
    def backward(ctx, grad):
        raise NotImplementedError

    @classmethod
    def apply(cls, *args):
        arrays, needs = _unwrap_args(args)
        ctx = Context()
        ctx.needs_input_grad = needs
        ctx._saved = ()
        try:
            out = cls.forward(ctx, *arrays)
        except ValueError as error:
            shapes = ", ".join(str(tuple(a.shape)) for a in arrays if isinstance(a, np.ndarray))
            raise ValueError(f"{cls.__name__.lower()}: {error} (input shapes: {shapes})") from None
        record = True in needs and _grad_enabled.get()
        result = make_tensor(out, record)
        if cls.returns_view and np.may_share_memory(out, arrays[0]):
            result._version_counter = version_counter(args[0])   # a write to one is to both
        if record:
            ctx.fn = cls
            ctx.inputs = tuple([arg if need else None for arg, need in zip(args, needs)])
            if ctx._saved:   # what saved_tensors needs to hand back the output and check versions
                ctx._result, ctx._output = out, weakref.ref(result)
                ctx._args, ctx._writes_then = args, _writes[0]
            result._ctx = ctx
        return result


def _freed_error(fn):
    return RuntimeError(
        f"{fn.__name__}.backward: trying to backward through the graph a second time, but "
        "its saved values were freed after the first backward. Pass retain_graph=True to "
        "the first backward() if you need to do this.")


# --------------------------------------------------------------------------- traversal
def topological_order(root, parents):
    """Nodes reachable from ``root``, each after all of its ``parents(node)``.

    Depth-first search with an explicit stack of (node, iterator over its
    parents): a node is finished, and appended, once its iterator runs out.
    No recursion, so 100,000-node chains work. The tensor sweep and ``draw_dot``
    (for both engines) use it; ``Value.backward`` keeps its own version,
    ``scalar._topological_order``, compiled with ``Value`` and marking visited
    nodes with a stamp instead of a set, which the scalar benchmark needs.
    """
    order, visited = [], {root}
    stack = [(root, iter(parents(root)))]
    while stack:
        node, pending = stack[-1]
        for parent in pending:
            if parent not in visited:
                visited.add(parent)
                stack.append((parent, iter(parents(parent))))
                break
        else:
            stack.pop()
            order.append(node)
    return order


def _graph_inputs(tensor):
    ctx = tensor._ctx
    return () if ctx is None else [t for t in ctx.inputs if t is not None]


def run_backward(root, grad, retain_graph=False, create_graph=False, capture=None):
    """Reverse sweep from ``root`` with initial gradient ``grad`` (a Tensor).

    Leaves accumulate into ``.grad``; or, when ``capture`` (a list of tensors)
    is given, their gradients are returned instead and no ``.grad`` changes.

    ``pending`` maps each tensor still to be visited to ``(gradient, owned)``:
    ``owned`` is True when the sweep knows that nothing else holds the gradient's
    array (see :func:`accumulate_grad`).
    """
    wanted = None if capture is None else {id(t): t for t in capture}
    captured = {}
    pending = {id(root): (grad, False)}
    with set_grad_enabled(create_graph):
        for tensor in reversed(topological_order(root, _graph_inputs)):
            g, owned = pending.pop(id(tensor), (None, False))
            if g is None:
                continue
            if tensor._hooks:
                g, owned = _run_hooks(tensor._hooks, g), False
            ctx = tensor._ctx
            if ctx is not None and ctx._saved is None:     # released by an earlier backward
                raise _freed_error(ctx.fn)
            if wanted is not None:
                if id(tensor) in wanted:
                    captured[id(tensor)] = g
            elif ctx is None or tensor._retains_grad:
                accumulate_grad(tensor, g, owned and ctx is None, create_graph)
            if ctx is None:
                continue
            grads = ctx.fn.backward(ctx, g)
            if not isinstance(grads, tuple):
                grads = (grads,)
            if len(grads) != len(ctx.inputs):
                raise RuntimeError(f"{ctx.fn.__name__}.backward returned {len(grads)} "
                                   f"gradients, but forward took {len(ctx.inputs)} arguments")
            for i, inp in enumerate(ctx.inputs):
                if inp is None or grads[i] is None:
                    continue
                owned = not isinstance(grads[i], _Tensor) and _handed_over(grads, i)
                g_in = _as_input_grad(grads[i], inp, ctx.fn)
                key = id(inp)
                if key in pending:
                    earlier, earlier_owned = pending[key]
                    pending[key] = (_sum(earlier, earlier_owned, g_in), True)
                else:
                    pending[key] = (g_in, owned)
            if not retain_graph:
                ctx._release()
    if wanted is not None:
        return [captured.get(id(t)) for t in capture]
    return None


def accumulate_grad(tensor, g, owned, create_graph=False):
    """``tensor.grad += g``: leaves add up their gradients across backward calls.

    The invariant: no two tensors' ``.grad`` share memory, and no ``.grad`` shares
    memory with anything else (an optimizer or ``zero_grad`` writes into it in place).
    So ``g`` becomes the new ``.grad`` as it is only when it is ``owned``: the sweep
    made its array (by adding two gradients), or a backward handed over a new array
    that nothing else holds (:func:`_handed_over`), and no hook saw it. Any other
    gradient is copied first (with ``create_graph`` as a recorded ``clone()``, so the
    copy stays differentiable). Keeping an owned buffer is what PyTorch does too; it
    saves a copy of, e.g., a conv input's gradient every step. A ``.grad`` that
    already exists is replaced by the sum, a new array.
    """
    if not owned:
        g = g.clone() if create_graph else make_tensor(np.array(g.data, copy=True), False)
    tensor._grad = g if tensor._grad is None else tensor._grad + g


def _sum(a, a_owned, b):
    """``a + b``, two gradients of one tensor: a recorded op when either is part of a
    graph (``create_graph``); else the sum of their arrays, written into ``a``'s when the
    sweep owns it (``a_owned``: nothing else holds it), or else into a new array."""
    if a._requires_grad or b._requires_grad:
        return a + b
    if a_owned:
        np.add(a.data, b.data, out=a.data)
        return a
    return make_tensor(a.data + b.data, False)


def _as_input_grad(g, inp, fn):
    """A gradient returned by ``fn.backward`` as a Tensor of ``inp``'s shape and dtype."""
    grad = g if isinstance(g, _TensorFields) else make_tensor(np.asarray(g), False)
    if grad.data.shape != inp.data.shape:
        raise RuntimeError(f"{fn.__name__}.backward returned a gradient of shape "
                           f"{grad.data.shape} for an input of shape {inp.data.shape}")
    if grad.data.dtype != inp.data.dtype:
        grad = grad.to(inp.data.dtype)
    return grad


def _handed_over(grads, i):
    """Whether ``grads[i]``, returned by a backward, is an array that nothing else can
    reach: it owns its memory (it is no view) and the tuple ``grads`` holds the only
    reference to it (``getrefcount`` counts that one and its own argument; the sweep
    reads it before binding it to a name). Then the engine may keep it as a leaf's
    ``.grad`` without copying it."""
    return (isinstance(grads[i], np.ndarray) and grads[i].flags.owndata
            and sys.getrefcount(grads[i]) == 2)


def _run_hooks(hooks, grad):
    """Each hook sees the gradient; one that returns a Tensor replaces it."""
    for hook in hooks:
        result = hook(grad)
        if result is None:
            continue
        name = getattr(hook, "__qualname__", repr(hook))
        if not isinstance(result, _Tensor):
            raise TypeError(f"hook {name} returned a {type(result).__name__}; a tensor hook "
                            "must return a Tensor (the new gradient) or None")
        if tuple(result.shape) != tuple(grad.shape):
            raise RuntimeError(f"hook {name} returned a gradient of shape "
                               f"{tuple(result.shape)}, expected {tuple(grad.shape)}")
        grad = result
    return grad


def root_grad(output, gradient, caller):
    """The gradient the sweep starts from: ``gradient``, or 1 for a scalar output."""
    if not output.requires_grad:
        raise RuntimeError(f"{caller}: this tensor does not require grad and has no "
                           "grad_fn; nothing in its graph requires gradients")
    if gradient is None:
        if output.data.size != 1:
            raise RuntimeError(
                f"{caller}: the gradient can only be implicit for a scalar output, but "
                f"this tensor has shape {output.shape}. Reduce it first (y.sum()) or pass "
                f"gradient=<tensor of shape {output.shape}>.")
        return make_tensor(np.ones_like(output.data), False)
    gradient = gradient if isinstance(gradient, _Tensor) else _Tensor(np.asarray(gradient))
    if gradient.shape != output.shape:
        raise RuntimeError(f"{caller}: gradient has shape {gradient.shape}, "
                           f"but the output has shape {output.shape}")
    return gradient


def backward(tensor, gradient=None, retain_graph=None, create_graph=False):
    """Accumulate d(tensor)/d(leaf) into ``leaf.grad`` for every leaf that requires
    grad (``Tensor.backward``). ``gradient`` is dL/d(tensor), needed unless it is a scalar."""
    start = root_grad(tensor, gradient, "backward")
    if retain_graph is None:
        retain_graph = create_graph
    run_backward(tensor, start, retain_graph, create_graph)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=False):
    """Gradients of ``outputs`` with respect to ``inputs``, returned, not accumulated.

    Like ``torch.autograd.grad``: ``outputs`` is a Tensor (scalar unless
    ``grad_outputs`` is given), ``inputs`` a Tensor or a sequence of them. With
    ``create_graph=True`` the returned gradients are themselves differentiable.
    """
    single = isinstance(inputs, _Tensor)
    inputs = [inputs] if single else list(inputs)
    start = root_grad(outputs, grad_outputs, "autograd.grad")
    if retain_graph is None:
        retain_graph = create_graph
    grads = run_backward(outputs, start, retain_graph, create_graph, capture=inputs)
    for i, g in enumerate(grads):
        if g is None:
            if not allow_unused:
                raise RuntimeError(f"autograd.grad: input {i} (shape {inputs[i].shape}) was not "
                                   "used to compute the output; pass allow_unused=True")
        elif not create_graph:
            grads[i] = g.detach()
    return tuple(grads)

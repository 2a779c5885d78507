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
"""
import functools
import weakref

import numpy as np


# --------------------------------------------------------------------------- grad mode
class _GradMode:
    enabled = True


def is_grad_enabled():
    """True when new ops are being recorded for backward."""
    return _GradMode.enabled


class set_grad_enabled:
    """Context manager and decorator that switches op recording on or off."""

    def __init__(self, mode=True):
        self.mode = bool(mode)
        self._previous = []

    def __enter__(self):
        self._previous.append(_GradMode.enabled)
        _GradMode.enabled = self.mode
        return self

    def __exit__(self, *exc_info):
        _GradMode.enabled = self._previous.pop()

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(self.mode):
                return fn(*args, **kwargs)
        return wrapper


class no_grad(set_grad_enabled):
    """``with no_grad():`` records nothing: for inference and parameter updates."""

    def __init__(self):
        super().__init__(False)


class enable_grad(set_grad_enabled):
    """``with enable_grad():`` records ops again inside a ``no_grad`` block."""

    def __init__(self):
        super().__init__(True)


# --------------------------------------------------------------------------- Function
class Context:
    """What a Function's forward leaves for its backward.

    ``save_for_backward(*arrays)`` keeps arrays; ``saved_tensors`` hands them
    back as Tensors: an array that was an input or the output of the op comes
    back as that very Tensor, so a backward written with Tensor ops stays
    differentiable; any other array comes back as a constant.
    ``needs_input_grad[i]`` says whether input ``i`` wants a gradient. Any
    other attribute (``ctx.stride = 2``) is free for the op to use.
    """

    def save_for_backward(self, *values):
        self._saved = values

    def needed(self, *gradient_fns):
        """Call ``gradient_fns[i]()`` only for the inputs that need a gradient."""
        return tuple(fn() if need else None
                     for fn, need in zip(gradient_fns, self.needs_input_grad))

    @property
    def saved_tensors(self):
        if self._saved is None:
            raise RuntimeError(
                f"{self.fn.__name__}.backward: trying to backward through the graph a second "
                "time, but its saved values were freed after the first backward. Pass "
                "retain_graph=True to the first backward() if you need to do this.")
        return tuple(self._as_tensor(value) for value in self._saved)

    def _as_tensor(self, value):
        if value is self._result:
            output = self._output()
            if output is not None:
                return output
        if isinstance(value, (np.ndarray, np.generic)):
            for tensor in self.inputs:
                if tensor is not None and tensor.data is value:
                    return tensor
            return _tensor_module.Tensor._make(np.asarray(value), False)
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

    @staticmethod
    def forward(ctx, *args):
        raise NotImplementedError

    @staticmethod
    def backward(ctx, grad):
        raise NotImplementedError

    @classmethod
    def apply(cls, *args):
        Tensor = _tensor_module.Tensor
        arrays, needs = [], []
        for arg in args:  # one plain loop: this runs for every op, forward and backward
            if isinstance(arg, Tensor):
                arrays.append(arg.data)
                needs.append(arg._requires_grad)
            else:
                arrays.append(arg)
                needs.append(False)
        ctx = Context()
        ctx.needs_input_grad = needs = tuple(needs)
        ctx._saved = ()
        try:
            out = cls.forward(ctx, *arrays)
        except ValueError as error:
            shapes = ", ".join(str(tuple(a.shape)) for a in arrays if isinstance(a, np.ndarray))
            raise ValueError(f"{cls.__name__.lower()}: {error} (input shapes: {shapes})") from None
        record = _GradMode.enabled and True in needs
        result = Tensor._make(out, record)
        if record:
            ctx.fn = cls
            ctx.inputs = tuple(arg if isinstance(arg, Tensor) and arg.requires_grad else None
                               for arg in args)
            ctx._result, ctx._output = out, weakref.ref(result)
            result._ctx = ctx
        return result


# --------------------------------------------------------------------------- traversal
def topological_order(root, parents):
    """Nodes reachable from ``root``, each after all of its ``parents(node)``.

    Depth-first search with an explicit stack of (node, iterator over its
    parents): a node is finished, and appended, once its iterator runs out.
    No recursion, so 100,000-node chains work. Shared by the scalar and the
    tensor engines.
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
    """
    Tensor = _tensor_module.Tensor
    wanted = None if capture is None else {id(t): t for t in capture}
    captured = {}
    grads = {id(root): grad}
    with set_grad_enabled(create_graph):
        for tensor in reversed(topological_order(root, _graph_inputs)):
            g = grads.pop(id(tensor), None)
            if g is None:
                continue
            for hook in tensor._hooks or ():
                g = _checked_hook_result(hook(g), g)
            if wanted is not None:
                if id(tensor) in wanted:
                    captured[id(tensor)] = g
            elif tensor._ctx is None or tensor._retains_grad:
                tensor._accumulate_grad(g, keep_graph=create_graph)
            ctx = tensor._ctx
            if ctx is None:
                continue
            input_grads = ctx.fn.backward(ctx, g)
            if not isinstance(input_grads, tuple):
                input_grads = (input_grads,)
            if len(input_grads) != len(ctx.inputs):
                raise RuntimeError(
                    f"{ctx.fn.__name__}.backward returned {len(input_grads)} gradients, "
                    f"but forward took {len(ctx.inputs)} arguments")
            for inp, g_in in zip(ctx.inputs, input_grads):
                if inp is None or g_in is None:
                    continue
                g_in = _as_input_grad(g_in, inp, ctx.fn, Tensor)
                key = id(inp)
                grads[key] = grads[key] + g_in if key in grads else g_in
            input_grads = g_in = None       # drop our references (see Tensor._accumulate_grad)
            if not retain_graph:
                ctx._saved = None
    if wanted is not None:
        return [captured.get(id(t)) for t in capture]
    return None


def _checked_hook_result(result, grad):
    if result is None:
        return grad
    if tuple(result.shape) != tuple(grad.shape):
        raise RuntimeError(f"hook returned a gradient of shape {tuple(result.shape)}, "
                           f"expected {tuple(grad.shape)}")
    return result


def _as_input_grad(g, inp, fn, Tensor):
    if not isinstance(g, Tensor):
        g = Tensor._make(np.asarray(g), False)
    if g.data.shape != inp.data.shape:
        raise RuntimeError(f"{fn.__name__}.backward returned a gradient of shape "
                           f"{g.data.shape} for an input of shape {inp.data.shape}")
    if g.data.dtype != inp.data.dtype:
        g = g.to(inp.data.dtype)
    return g


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=False):
    """Gradients of ``outputs`` with respect to ``inputs``, returned, not accumulated.

    Like ``torch.autograd.grad``: ``outputs`` is a Tensor (scalar unless
    ``grad_outputs`` is given), ``inputs`` a Tensor or a sequence of them. With
    ``create_graph=True`` the returned gradients are themselves differentiable.
    """
    Tensor = _tensor_module.Tensor
    single = isinstance(inputs, Tensor)
    inputs = [inputs] if single else list(inputs)
    root_grad = outputs._initial_grad(grad_outputs, "autograd.grad")
    if retain_graph is None:
        retain_graph = create_graph
    grads = run_backward(outputs, root_grad, retain_graph, create_graph, capture=inputs)
    for i, g in enumerate(grads):
        if g is None:
            if not allow_unused:
                raise RuntimeError(f"autograd.grad: input {i} (shape {inputs[i].shape}) was not "
                                   "used to compute the output; pass allow_unused=True")
        elif not create_graph:
            grads[i] = g.detach()
    return tuple(grads)


# Tensor and Function refer to each other; import last so both modules are complete.
from . import tensor as _tensor_module  # noqa: E402

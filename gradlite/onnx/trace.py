"""Recording one forward pass as a graph of ONNX nodes.

Inside ``tracing(model)`` the operations a forward pass may call, the layers'
``nn.functional`` functions, the Tensor methods and operators (``relu``, ``+``,
``reshape``, ...) and ``gradlite.cat``, are wrapped: each still computes its result,
and, when one of its arguments is a traced value, its converter (``symbolic.py``) adds
the matching ONNX nodes and the result becomes a traced value too. Operations called
inside a wrapped one are not recorded again (``batch_norm``'s arithmetic is one node).

How values are told apart: the model's inputs require grad, its parameters do not
(for the duration), so any Tensor that requires grad depends on the inputs. A traced
value is one the recorder knows; one that requires grad without being known came out
of an operation that has no converter, and exporting stops with an error naming the
module whose forward did that. Everything else (parameters, buffers, numbers) is a
constant and becomes an initializer.
"""
import functools
import inspect
import sys

import numpy as np

from ..autograd import enable_grad
from ..nn.module import Module
from ..tensor import Tensor
from . import symbolic


class UnsupportedOperatorError(RuntimeError):
    """The model uses an operation the ONNX exporter cannot convert."""


class Graph:
    """The nodes, initializers and value names recorded so far."""

    def __init__(self, module_names):
        self.nodes = []             # (op_type, input names, output names, attributes)
        self.initializers = {}      # name -> ndarray
        self._values = {}           # id(Tensor) -> name, for traced values and constants
        self._alive = []            # the Tensors behind those ids (so ids are not reused)
        self._count = 0
        self.module_names = module_names
        self.module_stack = []
        self.recording = True

    def _fresh(self, hint):
        self._count += 1
        return f"{hint}_{self._count}"

    def bind(self, tensor, name):
        """Record that ``tensor`` is the traced value ``name``."""
        self._values[id(tensor)] = name
        self._alive.append(tensor)

    def is_traced(self, tensor):
        return isinstance(tensor, Tensor) and id(tensor) in self._values

    def name(self, value, dtype=None):
        """The name of a traced value, or of a new (or already made) constant."""
        if isinstance(value, Tensor):
            if id(value) in self._values:
                return self._values[id(value)]
            if value.requires_grad:
                op = _op_name(value)
                self.unsupported(f"the operation {op}")
            array = value.data if dtype is None else value.data.astype(dtype, copy=False)
            name = self.constant(array, "const")
            self.bind(value, name)
            return name
        return self.constant(np.asarray(value, dtype=dtype), "const")

    def scalar(self, value, dtype):
        return self.constant(np.asarray(value, dtype=dtype), "const")

    def constant(self, array, hint):
        name = self._fresh(hint)
        self.initializers[name] = np.ascontiguousarray(array)
        return name

    def op(self, op_type, inputs, **attributes):
        output = self._fresh(op_type.lower())
        self.nodes.append((op_type, list(inputs), [output], attributes))
        return output

    def where(self, module=None):
        module = module or (self.module_stack[-1] if self.module_stack else None)
        if module is None:
            return "the model"
        name = self.module_names.get(id(module), "")
        return f"{type(module).__name__} (module {name!r})" if name else type(module).__name__

    def unsupported(self, what, module=None):
        raise UnsupportedOperatorError(
            f"onnx.export: cannot export {self.where(module)}: {what} has no ONNX conversion "
            f"(exportable: {', '.join(EXPORTABLE)})")

    def check_outputs(self, module, output):
        """A module's output that depends on the input must be a traced value."""
        for tensor in _tensors(output):
            if tensor.requires_grad and not self.is_traced(tensor):
                op = _op_name(tensor)
                self.unsupported(f"its forward uses the operation {op}, which", module)


EXPORTABLE = ["Linear", "Conv2d", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d", "BatchNorm1d",
              "BatchNorm2d", "Dropout", "Flatten", "Identity", "ReLU", "LeakyReLU", "ELU", "GELU",
              "Sigmoid", "Tanh", "Softmax", "LogSoftmax", "+ - * /", "reshape", "cat"]


def _tensors(value):
    if isinstance(value, Tensor):
        return [value]
    if isinstance(value, (tuple, list)):
        return [t for item in value for t in _tensors(item)]
    return []


def _recorded(graph, original, convert):
    """``original``, which also records its call in ``graph`` when given a traced value."""
    signature = inspect.signature(original)

    @functools.wraps(original)
    def wrapper(*args, **kwargs):
        if not graph.recording:
            return original(*args, **kwargs)
        graph.recording = False
        try:
            out = original(*args, **kwargs)
        finally:
            graph.recording = True
        inputs = _tensors(list(args) + list(kwargs.values()))
        if isinstance(out, Tensor) and any(graph.is_traced(t) or t.requires_grad for t in inputs):
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            graph.bind(out, convert(graph, out, **bound.arguments))
        return out
    return wrapper


def _refused_in_place(graph, original, name):
    @functools.wraps(original)
    def wrapper(self, *args, **kwargs):
        if graph.is_traced(self):
            graph.unsupported(f"the in-place operation {name} on a traced value")
        return original(self, *args, **kwargs)
    return wrapper


class tracing:
    """``with tracing(model) as graph:`` patches the operations and the module calls;
    leaving restores them, the modules' training flags and the parameters'
    ``requires_grad``. The model runs in evaluation mode, as torch.onnx.export does."""

    def __init__(self, model):
        self.model = model
        self.graph = Graph({id(m): name for name, m in model.named_modules()})

    @staticmethod
    def _owners(owner_name, name):
        """The objects whose attribute ``name`` the model's code may call: the owner
        named in ``CONVERTERS`` and, for a function, the module that defines it."""
        from ..nn import functional
        owner = {"nn.functional": functional, "Tensor": Tensor,
                 "gradlite": sys.modules["gradlite"]}[owner_name]
        original = getattr(owner, name, None)
        if original is None:
            return []
        home = sys.modules.get(getattr(original, "__module__", None) or "")
        same = home is not None and home is not owner and getattr(home, name, None) is original
        return [owner, home] if same else [owner]

    def _patch(self, owner, name, wrap):
        original = getattr(owner, name)
        self._saved.append((owner, name, original))
        setattr(owner, name, wrap(original))

    def __enter__(self):
        graph = self.graph
        self._saved = []                         # (owner, name, original)
        self._training = [(m, m.training) for m in self.model.modules()]
        self._requires_grad = [(p, p.requires_grad) for p in self.model.parameters()]
        self._grad_mode = enable_grad()
        self._grad_mode.__enter__()
        try:
            for owner_name, converters in symbolic.CONVERTERS.items():
                for name, convert in converters.items():
                    for owner in self._owners(owner_name, name):
                        self._patch(owner, name,
                                    lambda original: _recorded(graph, original, convert))
            for name in symbolic.IN_PLACE:
                self._patch(Tensor, name, lambda original: _refused_in_place(graph, original, name))
            self._patch(Module, "__call__", lambda call: _checked_call(graph, call))
            self.model.eval()
            for p in self.model.parameters():
                p.requires_grad = False
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return graph

    def __exit__(self, *exc_info):
        self._grad_mode.__exit__(*exc_info)
        for owner, name, original in reversed(self._saved):
            setattr(owner, name, original)
        for module, training in self._training:
            module.training = training
        for p, flag in self._requires_grad:
            p.requires_grad = flag


def _checked_call(graph, call):
    """``Module.__call__`` that keeps the stack of modules being run (for error messages)
    and checks that each module's output is traced."""
    def traced_call(module, *args, **kwargs):
        graph.module_stack.append(module)
        try:
            out = call(module, *args, **kwargs)
        finally:
            graph.module_stack.pop()
        if graph.recording:
            graph.check_outputs(module, out)
        return out
    return traced_call


def _op_name(tensor):
    """The name of the op that made ``tensor`` (``MaxBackward0``), for error messages."""
    node = tensor.grad_fn
    return node.name() if node is not None else "an untraced operation"

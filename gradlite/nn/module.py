"""Module: the base class of every layer and network.

A Module owns three kinds of named state, found by assignment in ``__init__``:

- **parameters** (``self.weight = Parameter(...)``): learnable, returned by
  ``parameters()`` and handed to an optimizer;
- **buffers** (``self.register_buffer("running_mean", t)``): state that is not
  learned by gradient descent but saved with the model (BatchNorm's statistics);
- **submodules** (``self.conv1 = Conv2d(...)``): whose state is collected
  recursively under dotted names, ``features.3.bias``, exactly as PyTorch names it.

``module(x)`` calls ``module.forward(x)``.
"""
from collections import OrderedDict, namedtuple

import numpy as np

from ..autograd import bump_version
from ..devices import parse_to_args
from ..ops.hooks import BackwardHook
from ..tensor import Tensor
from .parameter import Parameter

IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class Module:
    """Base class for layers and models; subclass it and define ``forward``.

    Example::

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc1 = nn.Linear(4, 8)
                self.fc2 = nn.Linear(8, 2)

            def forward(self, x):
                return self.fc2(F.relu(self.fc1(x)))
    """

    def __init__(self):
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent_buffers", set())
        object.__setattr__(self, "_modules", OrderedDict())

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} has no forward(); "
                                  "subclasses of Module must define it")

    def __call__(self, *args, **kwargs):
        if self.__dict__.get("_hooks"):      # issue 17: forward / backward hooks
            return self._call_with_hooks(args, kwargs)
        return self.forward(*args, **kwargs)

    # ------------------------------------------------------------------ registration
    def _registries(self):
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__}: call super().__init__() in __init__ "
                                 "before assigning parameters, buffers or submodules")
        return self._parameters, self._buffers, self._modules

    def __setattr__(self, name, value):
        if isinstance(value, Parameter):
            params, buffers, modules = self._registries()
            self._forget(name)
            params[name] = value
        elif isinstance(value, Module):
            params, buffers, modules = self._registries()
            self._forget(name)
            modules[name] = value
        elif "_parameters" in self.__dict__ and name in self._parameters:
            if value is not None:
                raise TypeError(f"cannot assign {type(value).__name__} as parameter {name!r} "
                                "(a Parameter or None is required)")
            self._parameters[name] = None
        elif "_buffers" in self.__dict__ and name in self._buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign {type(value).__name__} as buffer {name!r} "
                                "(a Tensor or None is required)")
            self._buffers[name] = value
        elif "_modules" in self.__dict__ and name in self._modules:
            if value is not None:
                raise TypeError(f"cannot assign {type(value).__name__} as child module "
                                f"{name!r} (a Module or None is required)")
            self._modules[name] = None
        else:
            object.__setattr__(self, name, value)

    def _forget(self, name):
        """Remove ``name`` from wherever it is registered (before re-registering it)."""
        self.__dict__.pop(name, None)
        for registry in self._registries():
            registry.pop(name, None)
        self._non_persistent_buffers.discard(name)

    def __getattr__(self, name):
        # Only called when normal lookup fails: look in the registries.
        for registry in ("_parameters", "_buffers", "_modules"):
            entries = self.__dict__.get(registry)
            if entries is not None and name in entries:
                return entries[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name):
        if any(name in registry for registry in self._registries()):
            self._forget(name)
        else:
            object.__delattr__(self, name)

    def register_parameter(self, name, param):
        """Register ``param`` (a Parameter, or None for an absent one like ``bias=False``)."""
        self._register("register_parameter", self._parameters, name, param, Parameter)

    def register_buffer(self, name, tensor, persistent=True):
        """Register ``tensor`` as buffer ``name``: saved in ``state_dict`` when
        ``persistent``, never returned by ``parameters()``."""
        self._register("register_buffer", self._buffers, name, tensor, Tensor)
        if not persistent:
            self._non_persistent_buffers.add(name)

    def add_module(self, name, module):
        """Register ``module`` as the child ``name`` (``self.name = module`` does the same)."""
        self._register("add_module", self._modules, name, module, Module)

    def _register(self, caller, registry, name, value, kind):
        """The one way into a registry: check the value's type and the name, then
        replace whatever ``name`` was before."""
        if value is not None and not isinstance(value, kind):
            raise TypeError(f"{caller}: {name!r} must be a {kind.__name__} or None, "
                            f"got {type(value).__name__}")
        self._check_new_name(caller, name)
        self._forget(name)
        registry[name] = value

    register_module = add_module

    def _check_new_name(self, caller, name):
        self._registries()
        if not isinstance(name, str) or not name or "." in name:
            raise KeyError(f"{caller}: name must be a non-empty string without '.', got {name!r}")

    # ------------------------------------------------------------------ traversal
    def named_modules(self, memo=None, prefix=""):
        """``(dotted name, module)`` for self and every descendant, each once."""
        memo = set() if memo is None else memo
        if id(self) in memo:
            return
        memo.add(id(self))
        yield prefix, self
        for name, child in self._modules.items():
            if child is not None:
                yield from child.named_modules(memo, f"{prefix}.{name}" if prefix else name)

    def modules(self):
        for _, module in self.named_modules():
            yield module

    def named_children(self):
        seen = set()
        for name, child in self._modules.items():
            if child is not None and id(child) not in seen:
                seen.add(id(child))
                yield name, child

    def children(self):
        for _, child in self.named_children():
            yield child

    def _named_members(self, registry, recurse, prefix=""):
        modules = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        seen = set()
        for module_prefix, module in modules:
            for name, value in getattr(module, registry).items():
                if value is None or id(value) in seen:
                    continue
                seen.add(id(value))
                yield (f"{module_prefix}.{name}" if module_prefix else name), value

    def named_parameters(self, prefix="", recurse=True):
        """``(dotted name, Parameter)`` pairs; a parameter shared by two layers appears once."""
        return self._named_members("_parameters", recurse, prefix)

    def parameters(self, recurse=True):
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(self, prefix="", recurse=True):
        return self._named_members("_buffers", recurse, prefix)

    def buffers(self, recurse=True):
        for _, buffer in self.named_buffers(recurse=recurse):
            yield buffer

    # ------------------------------------------------------------------ modes and grads
    def train(self, mode=True):
        """Set training mode (Dropout active, BatchNorm uses batch statistics) on self
        and every descendant; returns self."""
        if not isinstance(mode, bool):
            raise TypeError(f"train: mode must be a bool, got {type(mode).__name__}")
        for module in self.modules():
            object.__setattr__(module, "training", mode)
        return self

    def eval(self):
        """Evaluation mode: ``train(False)``."""
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        """Switch gradient tracking of every parameter (``False`` freezes the module)."""
        for param in self.parameters():
            param.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none=True):
        """Clear every parameter's ``.grad`` (to None, or to zeros in place)."""
        for param in self.parameters():
            if param.grad is None:
                continue
            if set_to_none:
                param.grad = None
            else:
                param.grad.data.fill(0)

    def to(self, *args, **kwargs):
        """Cast every floating point parameter and buffer to a dtype, in place (the
        Parameter objects stay the same, so build the optimizer after this); returns self.
        Takes ``to(dtype)``, ``to(device)``, ``to(device, dtype)``; the device must be the CPU."""
        dtype, _, _ = parse_to_args(f"{type(self).__name__}.to", args, **kwargs)
        if dtype is None:
            return self
        tensors = [t for _, t in self.named_parameters()] + [t for _, t in self.named_buffers()]
        for tensor in tensors:
            if tensor.data.dtype.kind == "f":
                tensor.data = tensor.data.astype(dtype, copy=False)
                if tensor.grad is not None:
                    tensor.grad = tensor.grad.data.astype(dtype, copy=False)
        return self

    def double(self):
        return self.to(np.float64)

    def float(self):
        return self.to(np.float32)

    def apply(self, fn):
        """Call ``fn(module)`` on every descendant (children first), then on self."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    # ------------------------------------------------------------------ state dict
    def _state_entries(self, prefix=""):
        """``(key, tensor)`` for every parameter and persistent buffer in PyTorch's order:
        a module's own parameters, then its buffers, then each child's entries. A module
        reachable twice (shared) appears under both names, as in PyTorch."""
        for name, param in self._parameters.items():
            if param is not None:
                yield prefix + name, param
        for name, buffer in self._buffers.items():
            if buffer is not None and name not in self._non_persistent_buffers:
                yield prefix + name, buffer
        for name, child in self._modules.items():
            if child is not None:
                yield from child._state_entries(prefix + name + ".")

    def state_dict(self):
        """An ordered dict ``key -> Tensor`` of parameters and persistent buffers.

        Keys are PyTorch's (``0.weight``, ``features.3.bias``, ``bn.running_mean``).
        The Tensors are detached and share memory with the module.
        """
        return OrderedDict((key, value.detach()) for key, value in self._state_entries())

    def load_state_dict(self, state_dict, strict=True):
        """Copy ``state_dict``'s values (Tensors or numpy arrays) into this module's
        parameters and buffers, in place, so references held by an optimizer stay valid.

        Any shape mismatch, and with ``strict`` any missing or unexpected key,
        raises one ``RuntimeError`` listing all of them in PyTorch's words, before
        anything is copied.
        Returns ``IncompatibleKeys(missing_keys, unexpected_keys)``.
        """
        own = OrderedDict(self._state_entries())
        if not hasattr(state_dict, "items"):
            raise TypeError(f"load_state_dict: expected a dict of Tensors, got "
                            f"{type(state_dict).__name__}")
        incoming = {key: _as_array(key, value) for key, value in state_dict.items()}
        missing = [key for key in own if key not in incoming]
        unexpected = [key for key in incoming if key not in own]
        problems = [f"size mismatch for {key}: copying a param with shape "
                    f"{incoming[key].shape} from checkpoint, the shape in current model is "
                    f"{own[key].shape}."
                    for key in own if key in incoming and incoming[key].shape != own[key].shape]
        if strict and unexpected:
            problems.insert(0, "Unexpected key(s) in state_dict: "
                            + ", ".join(f'"{key}"' for key in unexpected) + ". ")
        if strict and missing:
            problems.insert(0, "Missing key(s) in state_dict: "
                            + ", ".join(f'"{key}"' for key in missing) + ". ")
        if problems:
            raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__}:\n\t"
                               + "\n\t".join(problems))
        for key, target in own.items():
            if key in incoming:
                np.copyto(target.data, incoming[key], casting="same_kind")
                bump_version(target)
        return IncompatibleKeys(missing, unexpected)

    # ------------------------------------------------------------------ repr
    def extra_repr(self):
        """The text inside ``Name(...)``; layers override it to show their settings."""
        return ""

    def __repr__(self):
        children = [f"({name}): " + repr(child).replace("\n", "\n  ")
                    for name, child in self._modules.items()]
        extra = self.extra_repr()
        if not children:
            return f"{type(self).__name__}({extra})"
        lines = extra.split("\n") if extra else []
        return f"{type(self).__name__}(\n  " + "\n  ".join(lines + children) + "\n)"

    def __dir__(self):
        registered = [name for registry in self._registries() for name in registry]
        return sorted(set(super().__dir__()) | set(registered))

    # ---- added for PyTorch ports (issue 17): hooks ------------------------------------
    def register_forward_pre_hook(self, hook, *, prepend=False, with_kwargs=False):
        """Call ``hook(module, args)`` before ``forward``; a returned value (a tuple, or
        one argument) replaces the arguments. Returns a handle with ``remove()``."""
        return self._add_hook("forward_pre", hook, prepend, with_kwargs)

    def register_forward_hook(self, hook, *, prepend=False, with_kwargs=False,
                              always_call=False):
        """Call ``hook(module, args, output)`` after ``forward``; a returned value
        replaces the output. Returns a handle with ``remove()``."""
        return self._add_hook("forward", hook, prepend, with_kwargs)

    def register_full_backward_hook(self, hook, prepend=False):
        """Call ``hook(module, grad_input, grad_output)`` when the gradients with
        respect to the module's input are computed (tuples; ``None`` for an input that
        needs no gradient); a returned tuple replaces ``grad_input``. For modules with
        one tensor input and one tensor output."""
        return self._add_hook("backward", hook, prepend, False)

    def _add_hook(self, kind, hook, prepend, with_kwargs):
        hooks = self.__dict__.setdefault("_hooks", [])
        entry = (kind, hook, with_kwargs)
        hooks.insert(0, entry) if prepend else hooks.append(entry)
        return _HookHandle(hooks, entry)

    def _call_with_hooks(self, args, kwargs):
        hooks = self.__dict__["_hooks"]
        for kind, hook, with_kwargs in list(hooks):
            if kind == "forward_pre":
                result = hook(self, args, kwargs) if with_kwargs else hook(self, args)
                if with_kwargs and result is not None:
                    args, kwargs = result
                elif result is not None:
                    args = result if isinstance(result, tuple) else (result,)
        backward = [hook for kind, hook, _ in hooks if kind == "backward"]
        if backward:
            args, grads = _BackwardHooks(self, backward).wrap_input(args)
        output = self.forward(*args, **kwargs)
        for kind, hook, with_kwargs in list(hooks):
            if kind == "forward":
                result = (hook(self, args, kwargs, output) if with_kwargs
                          else hook(self, args, output))
                output = output if result is None else result
        if backward:
            output = grads.wrap_output(output)
        return output


def _as_array(key, value):
    if isinstance(value, Tensor):
        return value.data
    if isinstance(value, (np.ndarray, np.generic, int, float, bool)):
        return np.asarray(value)
    raise TypeError(f"load_state_dict: value for {key!r} must be a Tensor or a numpy array, "
                    f"got {type(value).__name__}")


# ---- added for PyTorch ports (issue 17): hooks -----------------------------------------
class _HookHandle:
    def __init__(self, hooks, entry):
        self._hooks, self._entry = hooks, entry

    def remove(self):
        if self._entry in self._hooks:
            self._hooks.remove(self._entry)


class _BackwardHooks:
    """One call's full backward hooks: identity ops on the module's tensor input and
    output catch dL/d(output), then dL/d(input), and hand both to the hooks."""

    def __init__(self, module, hooks):
        self.module, self.hooks, self.grad_output, self.input_needs_grad = module, hooks, None, False

    def wrap_input(self, args):
        positions = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        if len(positions) != 1:
            raise NotImplementedError(
                f"register_full_backward_hook: gradlite supports modules called with one "
                f"tensor argument; {type(self.module).__name__} got {len(positions)}")
        i = positions[0]
        self.input_needs_grad = args[i].requires_grad
        if self.input_needs_grad:
            args = args[:i] + (BackwardHook.apply(args[i], self._input_grad),) + args[i + 1:]
        return args, self

    def wrap_output(self, output):
        if not isinstance(output, Tensor):
            raise NotImplementedError("register_full_backward_hook: gradlite supports modules "
                                      "returning one tensor")
        return BackwardHook.apply(output, self._output_grad)

    def _output_grad(self, g):
        self.grad_output = g
        if not self.input_needs_grad:
            self._run((None,))

    def _input_grad(self, g):
        return self._run((g,))[0]

    def _run(self, grad_input):
        for hook in self.hooks:
            result = hook(self.module, grad_input, (self.grad_output,))
            if result is not None:
                grad_input = tuple(result)
        return grad_input


"""Containers: Sequential, ModuleList, ModuleDict (PyTorch's names and behaviour)."""
from collections import OrderedDict

from .module import Module


def _check_module(owner, value):
    if not isinstance(value, Module):
        raise TypeError(f"{owner}: expected a Module, got {type(value).__name__}")
    return value


class _IndexedModules(Module):
    """Children registered under the keys '0', '1', ...: indexing shared by
    Sequential and ModuleList. A slice returns the same container type."""

    def _key(self, index):
        if not isinstance(index, int):
            raise TypeError(f"{type(self).__name__} indices must be integers or slices, "
                            f"not {type(index).__name__}")
        size = len(self._modules)
        if not -size <= index < size:
            raise IndexError(f"{type(self).__name__} index {index} is out of range for "
                             f"{size} modules")
        return list(self._modules)[index % size]

    def __getitem__(self, index):
        if isinstance(index, slice):
            return type(self)(OrderedDict(list(self._modules.items())[index]))
        return self._modules[self._key(index)]

    def __setitem__(self, index, module):
        setattr(self, self._key(index), _check_module(type(self).__name__, module))

    def __delitem__(self, index):
        keys = list(self._modules)[index] if isinstance(index, slice) else [self._key(index)]
        for key in keys:
            del self._modules[key]
        renumbered = list(self._modules.values())
        self._modules.clear()
        for i, module in enumerate(renumbered):
            self._modules[str(i)] = module

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def append(self, module):
        """Add ``module`` at the end (key ``str(len(self))``); returns self."""
        self.add_module(str(len(self)), _check_module(f"{type(self).__name__}.append", module))
        return self

    def extend(self, modules):
        for module in modules:
            self.append(module)
        return self


class Sequential(_IndexedModules):
    """Modules applied in order: ``Sequential(a, b, c)(x) == c(b(a(x)))``.

    Built from modules (keys '0', '1', ...) or from one ``OrderedDict`` of
    ``name -> module``; those names become the ``state_dict`` prefixes.
    """

    def __init__(self, *modules):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            for name, module in modules[0].items():
                self.add_module(name, _check_module("Sequential", module))
        else:
            for i, module in enumerate(modules):
                self.add_module(str(i), _check_module("Sequential", module))

    def forward(self, input):
        for module in self._modules.values():
            input = module(input)
        return input


class ModuleList(_IndexedModules):
    """A list of modules whose parameters are registered (a plain list's are not)."""

    def __init__(self, modules=None):
        super().__init__()
        if isinstance(modules, OrderedDict):
            modules = modules.values()
        self.extend(modules or [])

    def insert(self, index, module):
        modules = list(self._modules.values())
        modules.insert(index, _check_module("ModuleList.insert", module))
        self._modules.clear()
        self.extend(modules)

    def forward(self, *args):
        raise NotImplementedError("ModuleList has no forward(); iterate over it instead")


class ModuleDict(Module):
    """A dict of modules whose parameters are registered, in insertion order."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key):
        return self._modules[key]

    def __setitem__(self, key, module):
        self.add_module(key, _check_module("ModuleDict", module))

    def __delitem__(self, key):
        del self._modules[key]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def __contains__(self, key):
        return key in self._modules

    def keys(self):
        return self._modules.keys()

    def values(self):
        return self._modules.values()

    def items(self):
        return self._modules.items()

    def update(self, modules):
        items = modules.items() if hasattr(modules, "items") else modules
        for key, module in items:
            self[key] = module

    def pop(self, key):
        module = self._modules[key]
        del self[key]
        return module

    def forward(self, *args):
        raise NotImplementedError("ModuleDict has no forward(); index it instead")

"""ModuleList and ModuleDict: sub-modules held by position or by name, found by
parameters(), state_dict() and train()/eval() (a plain list or dict is not)."""
from __future__ import annotations

from .module import Module


def _module(m, where):
    if not isinstance(m, Module):
        raise TypeError(f"{where}: expected a Module, got {type(m).__name__}")
    return m


class ModuleList(Module):
    """A list of Modules: ``layers[0]``, ``len``, iteration, ``append``, ``extend``,
    ``insert``. Parameters are named by position: ``"layers.0.weight"``. Unlike
    Sequential it has no forward: the owner decides how its layers are called."""

    def __init__(self, modules=()):
        self._set(list(modules))

    def _set(self, modules):
        for k in [k for k, v in vars(self).items() if isinstance(v, Module)]:
            delattr(self, k)
        for i, m in enumerate(modules):
            setattr(self, str(i), _module(m, f"ModuleList: item {i}"))

    def _items(self):
        return self.children()

    def forward(self, *args, **kwargs):
        raise NotImplementedError("ModuleList has no forward: call its layers in your own "
                                  "forward (for layer in self.layers: x = layer(x)), or use "
                                  "nn.Sequential")

    def __getitem__(self, i):
        items = self._items()
        return ModuleList(items[i]) if isinstance(i, slice) else items[i]

    def __setitem__(self, i, module):
        items = self._items()
        items[i] = module
        self._set(items)

    def __delitem__(self, i):
        items = self._items()
        del items[i]
        self._set(items)

    def __len__(self):
        return len(self._items())

    def __iter__(self):
        return iter(self._items())

    def append(self, module):
        setattr(self, str(len(self)), _module(module, "ModuleList.append"))
        return self

    def extend(self, modules):
        for m in modules:
            self.append(m)
        return self

    def insert(self, index, module):
        items = self._items()
        items.insert(index, module)
        self._set(items)


class ModuleDict(Module):
    """A dict of Modules by name: ``blocks["encoder"]``, ``in``, ``len``, ``keys``,
    ``values``, ``items``, ``update``; insertion order is kept. Parameters are named by
    key: ``"blocks.encoder.weight"``."""

    def __init__(self, modules=None):
        self.update(modules or {})

    def _check_key(self, key):
        if not isinstance(key, str) or not key.isidentifier() or hasattr(ModuleDict, key):
            raise KeyError(f"ModuleDict: a key must be a name (a Python identifier) that is "
                           f"not a method or attribute of ModuleDict, got {key!r}")
        return key

    def __getitem__(self, key):
        value = vars(self).get(key) if isinstance(key, str) else None
        if not isinstance(value, Module):
            raise KeyError(key)
        return value

    def __setitem__(self, key, module):
        setattr(self, self._check_key(key), _module(module, f"ModuleDict[{key!r}]"))

    def __delitem__(self, key):
        self[key]  # KeyError for a missing key
        delattr(self, key)

    def __contains__(self, key):
        return isinstance(key, str) and isinstance(vars(self).get(key), Module)

    def __len__(self):
        return len(self.children())

    def __iter__(self):
        return iter(self.keys())

    def keys(self):
        return [k for k, _ in self.named_children()]

    def values(self):
        return self.children()

    def items(self):
        return list(self.named_children())

    def update(self, modules):
        items = modules.items() if hasattr(modules, "items") else modules
        for key, module in items:
            self[key] = module
        return self

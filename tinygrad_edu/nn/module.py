"""Module: a container of parameters and sub-modules, like PyTorch's nn.Module."""
from __future__ import annotations

import warnings
from collections import OrderedDict
from collections.abc import Mapping

import numpy as np

from ..errors import ShapeError
from ..modes import no_grad
from ..tensor import Tensor


class Parameter(Tensor):
    """A leaf Tensor that a Module owns and an optimizer updates (requires_grad=True)."""

    def __init__(self, data, requires_grad=True, dtype=None):
        super().__init__(data, requires_grad=requires_grad, dtype=dtype)


class Module:
    """Base class of layers and models.

    Subclasses assign Parameters and Modules as attributes in ``__init__`` and write
    ``forward``; calling the module calls forward. Parameters are found by walking the
    attributes in the order they were set, so names read like ``"0.weight"``. Layers
    kept in a plain list or dict are not found: hold them in ``nn.ModuleList`` or
    ``nn.ModuleDict`` (a UserWarning says so when a list of Modules is assigned, and
    again when parameters() meets one). State that is not trained (batch norm's running
    statistics) is a buffer (`register_buffer`): saved and loaded with the parameters.

    ``training`` is True until ``eval()``; ``train()`` sets it back, for the module and
    every sub-module (dropout and batch norm read it).
    """

    training = True

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def __setattr__(self, name, value):
        if isinstance(value, (list, tuple, dict)):
            self._warn_hidden(name, value)
        object.__setattr__(self, name, value)

    def _warn_hidden(self, name, value):
        """Warn (once per attribute and value) that Modules in a plain list or dict are
        invisible to parameters(), state_dict(), train() and optimizers."""
        items = value.values() if isinstance(value, dict) else value
        if not any(isinstance(v, Module) for v in items):
            return
        warned = self.__dict__.setdefault("_hidden_warned", set())
        if (name, id(value)) in warned:
            return
        warned.add((name, id(value)))
        kind, holder = ("dict", "nn.ModuleDict") if isinstance(value, dict) else \
            (type(value).__name__, "nn.ModuleList")
        warnings.warn(f"{type(self).__name__}.{name} is a plain {kind} of Modules: "
                      "parameters() does not look inside it, so their parameters would be "
                      f"neither trained nor saved. Hold them in {holder}(...) instead "
                      f"(self.{name} = {holder}(...)).", UserWarning, stacklevel=3)

    # ---------------------------------------------------------------- traversal
    def named_children(self):
        for name, value in vars(self).items():
            if isinstance(value, Module):
                yield name, value

    def children(self):
        return [m for _, m in self.named_children()]

    def named_modules(self, prefix=""):
        stack = [(prefix, self)]
        while stack:
            name, module = stack.pop()
            yield name, module
            kids = [(f"{name}.{n}" if name else n, m) for n, m in module.named_children()]
            stack.extend(reversed(kids))

    def named_parameters(self, prefix=""):
        """(name, Parameter) pairs, each parameter once, in definition order."""
        seen = set()
        for mname, module in self.named_modules(prefix):
            for name, value in list(vars(module).items()):
                if isinstance(value, Parameter) and id(value) not in seen:
                    seen.add(id(value))
                    yield (f"{mname}.{name}" if mname else name), value
                elif isinstance(value, (list, tuple, dict)):
                    module._warn_hidden(name, value)

    def parameters(self):
        return [p for _, p in self.named_parameters()]

    def num_parameters(self):
        return sum(p.size for p in self.parameters())

    def register_buffer(self, name, array):
        """Keep ``array`` as the attribute ``name``: state that is not trained (running
        statistics), a plain numpy array that never carries a graph, saved by
        state_dict() and loaded by load_state_dict() beside the parameters. Update it by
        assigning a new array (``self.name = ...``)."""
        names = self.__dict__.setdefault("_buffer_names", [])
        if name not in names:
            names.append(name)
        setattr(self, name, np.array(array.data if isinstance(array, Tensor) else array))

    def named_buffers(self, prefix=""):
        """(name, array) pairs of every buffer, named like the parameters."""
        for name, (module, attr) in self._buffer_slots(prefix).items():
            yield name, getattr(module, attr)

    def _buffer_slots(self, prefix=""):
        """name -> (module, attribute) of every buffer (what load_state_dict writes)."""
        return {(f"{m}.{n}" if m else n): (module, n) for m, module in self.named_modules(prefix)
                for n in module.__dict__.get("_buffer_names", ())}

    # ------------------------------------------------------------------- state
    def zero_grad(self):
        for p in self.parameters():
            p.grad = None

    def train(self, mode=True):
        """Training mode (``mode=True``) or evaluation mode, for this module and every
        sub-module: dropout drops and batch norm uses the batch's statistics only in
        training mode. Returns the module."""
        for _, m in self.named_modules():
            m.training = mode
        return self

    def eval(self):
        return self.train(False)

    def state_dict(self):
        """An ordered mapping name -> copy of the numpy array of each parameter, then of
        each buffer (running statistics)."""
        state = OrderedDict((n, p.data.copy()) for n, p in self.named_parameters())
        state.update((n, np.array(b)) for n, b in self.named_buffers())
        return state

    def load_state_dict(self, state, strict=True):
        """Copy arrays into the parameters and buffers, all or nothing.

        Every entry is checked and converted first (names, shapes, numeric dtypes that
        cast to the parameter's or buffer's); every problem is listed in one error, and
        nothing is written unless all of them pass.
        """
        where = f"load_state_dict into {type(self).__name__}"
        if not isinstance(state, Mapping):
            raise TypeError(f"{where}: expected a mapping name -> array (a state dict, as "
                            f"tg.load returns), got {type(state).__name__}")
        params = dict(self.named_parameters())
        slots = self._buffer_slots()
        current = {**{n: p.data for n, p in params.items()},
                   **{n: np.asarray(getattr(m, a)) for n, (m, a) in slots.items()}}
        missing = [n for n in current if n not in state]
        unexpected = [str(n) for n in state if n not in current]
        wrong, bad_dtype, arrays = [], [], {}
        for n, p in current.items():
            if n not in state:
                continue
            value = state[n]
            arr = np.asarray(value.data if isinstance(value, Tensor) else value)
            if arr.dtype.kind not in "biuf":
                bad_dtype.append(f"{n}: {arr.dtype} is not numeric")
            elif not np.can_cast(arr.dtype, p.dtype, casting="same_kind"):
                bad_dtype.append(f"{n}: {arr.dtype} does not cast to {p.dtype}")
            elif arr.shape != p.shape:
                wrong.append(f"{n}: expected {p.shape}, got {arr.shape}")
            else:
                arrays[n] = arr
        problems = (([f"missing: {', '.join(missing)}"] if missing and strict else [])
                    + ([f"unexpected: {', '.join(unexpected)}"] if unexpected and strict else [])
                    + ([f"wrong shape: {'; '.join(wrong)}"] if wrong else [])
                    + ([f"wrong dtype: {'; '.join(bad_dtype)}"] if bad_dtype else []))
        if problems:
            raise ShapeError(f"{where}: " + " | ".join(problems) + " (nothing was loaded)")
        with no_grad():
            for n, arr in arrays.items():
                if n in params:
                    params[n].copy_(arr)  # (in place: bumps the version)
                else:
                    module, attr = slots[n]
                    setattr(module, attr, arr.astype(current[n].dtype, copy=True))
        return self

    # ----------------------------------------------------------------- display
    def extra_repr(self):
        return ""

    def __repr__(self):
        kids = list(self.named_children())
        if not kids:
            return f"{type(self).__name__}({self.extra_repr()})"
        lines = [f"  ({n}): " + repr(m).replace("\n", "\n  ") for n, m in kids]
        return f"{type(self).__name__}(\n" + "\n".join(lines) + "\n)"

    def summary(self):
        """A table of each layer's parameters and the total (1024-500-10: 517,000)."""
        rows = []
        for name, module in self.named_modules():
            own = [p for p in vars(module).values() if isinstance(p, Parameter)]
            if own or (name and not list(module.named_children())):
                shapes = ", ".join("x".join(map(str, p.shape)) for p in own) or "-"
                rows.append((name or type(self).__name__, repr(module).split("\n")[0],
                             shapes, sum(p.size for p in own)))
        width = max([len(r[0]) + len(r[1]) + 3 for r in rows] + [20])
        lines = [f"{'layer':<{width}} {'weights':<18} {'parameters':>12}"]
        lines += [f"{n + ' (' + k + ')':<{width}} {s:<18} {c:>12,}" for n, k, s, c in rows]
        lines.append(f"{'total':<{width}} {'':<18} {self.num_parameters():>12,}")
        return "\n".join(lines)

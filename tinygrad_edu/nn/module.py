"""Module: a container of parameters and sub-modules, like PyTorch's nn.Module."""
from __future__ import annotations

from collections import OrderedDict

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
    attributes in the order they were set, so names read like ``"0.weight"``.
    """

    training = True

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

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
            for name, value in vars(module).items():
                if isinstance(value, Parameter) and id(value) not in seen:
                    seen.add(id(value))
                    yield (f"{mname}.{name}" if mname else name), value

    def parameters(self):
        return [p for _, p in self.named_parameters()]

    def num_parameters(self):
        return sum(p.size for p in self.parameters())

    # ------------------------------------------------------------------- state
    def zero_grad(self):
        for p in self.parameters():
            p.grad = None

    def train(self, mode=True):
        for _, m in self.named_modules():
            m.training = mode
        return self

    def eval(self):
        return self.train(False)

    def state_dict(self):
        """An ordered mapping name -> copy of the parameter's numpy array."""
        return OrderedDict((n, p.data.copy()) for n, p in self.named_parameters())

    def load_state_dict(self, state, strict=True):
        """Copy arrays into the parameters; every mismatch is listed in one error."""
        params = dict(self.named_parameters())
        missing = [n for n in params if n not in state]
        unexpected = [n for n in state if n not in params]
        wrong = [f"{n}: expected {params[n].shape}, got {np.shape(state[n])}"
                 for n in params if n in state and np.shape(state[n]) != params[n].shape]
        problems = (([f"missing: {', '.join(missing)}"] if missing and strict else [])
                    + ([f"unexpected: {', '.join(unexpected)}"] if unexpected and strict else [])
                    + ([f"wrong shape: {'; '.join(wrong)}"] if wrong else []))
        if problems:
            raise ShapeError(f"load_state_dict into {type(self).__name__}: " + " | ".join(problems))
        with no_grad():
            for n, p in params.items():
                if n in state:
                    p.copy_(np.asarray(state[n]))  # (in place: bumps the version)
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

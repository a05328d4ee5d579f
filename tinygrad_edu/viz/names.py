"""The names viz writes for tensors: the user's own, from locals(), a mapping or a module,
and for the others L (the output) and t1, t2, ... in the order of the walk.

`graph_names` is the one place that names a graph's tensors: `draw_graph` and `explain`
both call it, so the picture and the text call every value by the same name.
"""
from __future__ import annotations

import collections.abc

from ..tensor import Tensor


def resolve_names(names):
    """{id(tensor): name} from ``names``.

    ``names`` may be None, a mapping name -> value (``locals()`` works; tensor -> name
    works too), an iterable of (name, tensor) pairs (``model.named_parameters()``), or
    a module-like object with a ``named_parameters()`` method. In a mapping, module-like values contribute
    "name.param" names and lists or tuples of tensors "name[i]"; other values are
    ignored. Names starting with "_" (IPython's output history) are used only for a
    tensor that has no other name.
    """
    found = []  # (name, tensor) in the caller's order
    if names is None:
        pass
    elif _is_module(names):
        found.extend(_named_parameters(names, ""))
    elif isinstance(names, collections.abc.Mapping):
        for key, value in list(names.items()):
            if isinstance(key, Tensor) and isinstance(value, str):  # {tensor: name}
                key, value = value, key
            if not isinstance(key, str):
                continue
            if isinstance(value, Tensor):
                found.append((key, value))
            elif _is_module(value):
                found.extend(_named_parameters(value, key + "."))
            elif isinstance(value, (list, tuple)) and 0 < len(value) <= 1000 \
                    and all(isinstance(x, Tensor) for x in value):
                found.extend((f"{key}[{i}]", x) for i, x in enumerate(value))
    else:
        try:
            pairs = list(names)
        except TypeError:
            raise TypeError("names must be a dict name -> tensor (such as locals()), a list of "
                            f"(name, tensor) pairs or a module, got {type(names).__name__}") \
                from None
        for pair in pairs:
            if not (isinstance(pair, tuple) and len(pair) == 2 and isinstance(pair[0], str)
                    and isinstance(pair[1], Tensor)):
                raise TypeError("names: expected (name, tensor) pairs such as "
                                f"model.named_parameters(), got {pair!r:.60}")
            found.append(pair)
    result = {}
    for preferred in (True, False):
        for name, t in found:
            if (not name.startswith("_")) == preferred and id(t) not in result:
                result[id(t)] = name
    return result


def _is_module(obj):
    return not isinstance(obj, type) and callable(getattr(obj, "named_parameters", None))


def _named_parameters(module, prefix):
    try:
        pairs = list(module.named_parameters())
    except Exception:  # noqa: BLE001 -- a look-alike that is not a module gives no names
        return []
    return [(prefix + n, p) for n, p in pairs if isinstance(n, str) and isinstance(p, Tensor)]


def tensor_name(t, names):
    """The user's name for ``t``, or a ``name`` attribute that is a string, or None."""
    name = names.get(id(t))
    if name is None:
        attr = getattr(t, "name", None)
        name = attr if isinstance(attr, str) and attr else None
    return name


def graph_names(order, output, names=None):
    """{id(tensor): name} for every tensor in ``order`` (a `walk` of ``output``).

    The user's names (``names`` as for `resolve_names`, or a tensor's ``name``
    attribute) come first; an unnamed ``output`` is called L (or loss, out, L_ when
    taken) and the other unnamed tensors t1, t2, ... in the order of the walk, skipping
    any name the user took.
    """
    given = resolve_names(names)
    result, used = {}, set(given.values())
    for v in order:
        if isinstance(v, Tensor):
            name = tensor_name(v, given)
            if name is not None:
                result[id(v)] = name
                used.add(name)
    if id(output) not in result:
        result[id(output)] = next(n for n in ("L", "loss", "out", "L_") if n not in used)
        used.add(result[id(output)])
    k = 0
    for v in order:
        if isinstance(v, Tensor) and id(v) not in result:
            k += 1
            while f"t{k}" in used:
                k += 1
            result[id(v)] = f"t{k}"
    return result

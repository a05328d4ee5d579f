"""What the graph drawing and `explain` share: the walk, names, numbers, formulas.

Everything here walks the graph without recursion and keys tensors and nodes by
``id()``: a Tensor's ``==`` returns a Tensor, and two different tensors with equal
values are two different vertices of the graph.
"""
from __future__ import annotations

import collections
import collections.abc
import numbers
import re
import weakref

import numpy as np

from ..tensor import Tensor


# ------------------------------------------------------------------------ the walk
def walk(root):
    """All tensors and op nodes below ``root``, parents before children.

    Returns a list of vertices in forward topological order; a vertex is a Tensor
    or a `Function` node. An op's inputs come in the order of its arguments. The
    walk is an iterative depth-first search, so a graph of any depth works.
    """
    order, entered = [], set()
    stack = [(root, False)]
    while stack:
        v, expanded = stack.pop()
        if expanded:
            order.append(v)  # after all its inputs
            continue
        if id(v) in entered:  # pushed twice (by two children): emit it once
            continue
        entered.add(id(v))
        stack.append((v, True))
        for p in reversed(_inputs(v)):
            if id(p) not in entered:
                stack.append((p, False))
    return order


def bfs_rank(root):
    """{id(vertex): distance rank} in breadth-first order from the output."""
    rank, queue = {id(root): 0}, collections.deque([root])
    while queue:
        v = queue.popleft()
        for p in _inputs(v):
            if id(p) not in rank:
                rank[id(p)] = len(rank)
                queue.append(p)
    return rank


def _inputs(v):
    """The vertices a vertex depends on: a tensor's node, or a node's input tensors."""
    if isinstance(v, Tensor):
        return [v._ctx] if v._ctx is not None else []
    return [p for p in v.parents if isinstance(p, Tensor)]


def is_parameter(t):
    """A leaf that requires grad: what training changes."""
    return t._ctx is None and t.requires_grad


# -------------------------------------------------------------------------- names
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


# ------------------------------------------------------------------------ numbers
def fmt_num(x):
    """A number with 4 significant digits: 0.7311, 3, -1.5e-07, True."""
    if isinstance(x, (bool, np.bool_)):
        return str(bool(x))
    if isinstance(x, (numbers.Integral, np.integer)):
        return str(int(x))
    x = float(x)
    if x == 0:
        return "0"  # also -0.0
    return f"{x:.4g}"


def fmt_shape(shape):
    """(2, 3) -> '2×3', () -> 'scalar'."""
    return "×".join(str(s) for s in shape) if shape else "scalar"


def is_small(a, limit=6):
    return a.size <= limit and a.ndim <= 2


def fmt_values(a, limit=6):
    """The values of a small array ('[1, 2.5]', '[[1, 2], [3, 4]]'), else None."""
    a = np.asarray(a)
    if not is_small(a, limit):
        return None
    if a.ndim == 0:
        return fmt_num(a.item())
    if a.ndim == 1:
        return "[" + ", ".join(fmt_num(v) for v in a.tolist()) + "]"
    return "[" + ", ".join(fmt_values(row, limit) for row in a) + "]"


def fmt_rows(a, limit=6):
    """Like fmt_values, one string per row of a small matrix (for multi-line labels)."""
    a = np.asarray(a)
    if a.ndim == 2 and a.shape[0] > 1 and a.shape[1] > 1 and is_small(a, limit):
        rows = [fmt_values(row, limit) for row in a]
        return ["[" + rows[0]] + [" " + r for r in rows[1:-1]] + [" " + rows[-1] + "]"]
    return [fmt_values(a, limit)]


def fmt_summary(a):
    """'min -0.52, mean 0.013, max 0.98' (and how many NaN/inf) for a larger array."""
    a = np.asarray(a)
    if a.size == 0:
        return "empty"
    if a.dtype.kind == "b":
        return f"{int(a.sum())} of {a.size} true"
    finite = a[np.isfinite(a)] if a.dtype.kind in "fc" else a
    parts = []
    if finite.size:
        parts = [f"min {fmt_num(finite.min())}", f"mean {fmt_num(finite.mean())}",
                 f"max {fmt_num(finite.max())}"]
    bad = a.size - finite.size
    if bad:
        nan = int(np.isnan(a).sum())
        parts.append(", ".join(s for s in (f"{nan} NaN" if nan else "",
                                           f"{bad - nan} inf" if bad - nan else "") if s))
    return ", ".join(parts)


def fmt_array(a, limit=6):
    """Values of a small array, else its shape and min/mean/max, on one line."""
    a = np.asarray(a)
    return fmt_values(a, limit) or f"({fmt_shape(a.shape)}: {fmt_summary(a)})"


def reduction_text(node):
    """["reduction='mean'"] for a fused loss that averages or sums, else []."""
    reduction = getattr(node, "reduction", "none")
    return [] if reduction == "none" else [f"reduction={reduction!r}"]


def with_reduction(node, text, rule=False):
    """A fused loss's per-element formula with its reduction: 'mean(...)' or 'sum(...)'
    for the forward, '... / n' for a gradient rule of the mean."""
    reduction = getattr(node, "reduction", "none")
    if reduction == "none" or not text:
        return text
    if rule:
        return f"{text} / {node.n}" if reduction == "mean" and node.n != 1 else text
    return f"{reduction}({text})"


def fmt_constant(c):
    """A non-Tensor op argument, as short text ('2', '(2, 3)', '[0, 1:3]'), or None."""
    if c is None:
        return None
    if isinstance(c, (float, np.floating)):
        short = repr(float(c))  # a literal from the code: exact when it is short
        short = short.removesuffix(".0")
        return short if len(short) <= 8 else fmt_num(c)
    if isinstance(c, (numbers.Number, np.generic)):
        return fmt_num(c)
    if isinstance(c, np.ndarray):
        return fmt_values(c) or f"array {fmt_shape(c.shape)} {c.dtype}"
    if isinstance(c, np.dtype) or (isinstance(c, type) and issubclass(c, np.generic)):
        return str(np.dtype(c))
    if isinstance(c, tuple) and all(isinstance(i, (int, np.integer)) for i in c):
        return "(" + ", ".join(str(int(i)) for i in c) + ("," if len(c) == 1 else "") + ")"
    return _fmt_index(c)


def _fmt_index(idx):
    items = idx if isinstance(idx, tuple) else (idx,)
    out = []
    for i in items:
        if i is Ellipsis:
            out.append("...")
        elif i is None:
            out.append("None")
        elif isinstance(i, slice):
            s = ":".join("" if v is None else str(v) for v in (i.start, i.stop, i.step))
            out.append(s[:-1] if s.endswith(":") and i.step is None else s)
        elif isinstance(i, np.ndarray):
            out.append(fmt_values(i) or f"<{fmt_shape(i.shape)} {i.dtype}>")
        else:
            out.append(str(i))
    text = "[" + ", ".join(out) + "]"
    return text if len(text) <= 40 else text[:37] + "...]"


# ------------------------------------------------------------------------ formulas
class Formula:
    """The first docstring line of an op, split up.

    ``"y = a * b;  da = g * b,  db = g * a"`` gives ``forward = "y = a * b"``,
    ``rules = ["da = g * b", "db = g * a"]``, ``roles = ["a", "b"]`` (the names the
    rules give the inputs, in order) and ``note`` (a trailing remark in parentheses).
    """

    def __init__(self, op_class):
        doc = op_class.__doc__ or ""
        line = doc.strip().splitlines()[0].strip() if doc.strip() else ""
        self.line = line
        self.forward, self.rules, self.roles, self.note = "", [], [], ""
        if not line:
            return
        forward, _, rest = line.partition(";")
        if not rest and not re.match(r"\s*d\w+\s*=", forward):
            self.forward = forward.strip()
            return
        if not rest:
            forward, rest = "", forward
        m = re.search(r"\s{2,}(\(.*\))\s*$", rest)
        if m:
            self.note, rest = m.group(1), rest[:m.start()]
        self.forward = _strip_remark(forward.strip())
        self.rules = [_strip_remark(r.strip()) for r in re.split(r",\s{2,}", rest.strip())
                      if r.strip()]
        for r in self.rules:
            m = re.match(r"d([A-Za-z]\w*)\b", r)
            self.roles.append(m.group(1) if m else None)

    def role_of(self, node, index):
        """The formula's name for input ``index`` of ``node`` (or None)."""
        roles, n = self.roles, len(node.parents)
        if len(roles) == 1 and roles[0] and roles[0].endswith("_i"):
            return f"{roles[0][:-2]}_{index + 1}" if n > 1 else roles[0][:-2]
        if len(roles) == n:
            return roles[index]
        if len(roles) == 1 and index == 0:
            return roles[0]
        return None

    def rule_for(self, node, index):
        """The rule giving input ``index``'s gradient ('da = g * b'), or None."""
        roles, n = self.roles, len(node.parents)
        if len(roles) == 1 and roles[0] and roles[0].endswith("_i"):
            return self.rules[0]
        if len(roles) == n or (len(roles) == 1 and index == 0):
            rule = self.rules[index]
            return rule if not re.match(r"d\w+\s+likewise\b", rule) else None
        return None


_FORMULAS = weakref.WeakKeyDictionary()


def formula_of(node):
    """The `Formula` of a node's op class (parsed once per class)."""
    cls = type(node)
    formula = _FORMULAS.get(cls)
    if formula is None:
        formula = _FORMULAS[cls] = Formula(cls)
    return formula


def _strip_remark(forward):
    """Drop a trailing '(numpy's rules)'-style remark, keep '(1 + exp(-x))'."""
    m = re.search(r"\s+\(([^()]*)\)$", forward)
    if m and len(re.findall(r"[A-Za-z']{2,}", m.group(1))) >= 2:
        return forward[:m.start()]
    return forward


def substitute(text, mapping):
    """Replace whole words of ``text`` by ``mapping`` in one pass ('a * b' -> 'w * x').

    Derivative names follow: with a -> w, 'da' becomes 'dw'.
    """
    if not mapping:
        return text
    keys = sorted(mapping, key=len, reverse=True)
    pattern = re.compile(r"\b(d?)(" + "|".join(re.escape(k) for k in keys) + r")\b")

    def repl(m):
        d, word = m.group(1), m.group(2)
        if d and (d + word) in mapping:  # a name that starts with d
            return mapping[d + word]
        value = mapping[word]
        if d:
            return "d" + value if re.fullmatch(r"\w+", value) else f"d({value})"
        return value

    return pattern.sub(repl, text)


# ---------------------------------------------------------------- the backward pass
class Contribution:
    """One path's share of an input's gradient: what ``node`` sends to input ``index``.

    ``g`` is the upstream gradient dL/d(out); ``value`` the contribution (already
    summed down to the input's shape); ``local`` the local derivative d(out)/d(input)
    when ``out`` has one element (else None); ``broadcast`` tells whether the engine
    had to sum a broadcast gradient down.
    """

    __slots__ = ("out", "node", "index", "g", "value", "local", "broadcast")

    def __init__(self, out, node, index, g, value, local, broadcast):
        self.out, self.node, self.index = out, node, index
        self.g, self.value, self.local, self.broadcast = g, value, local, broadcast


def backprop(root, order=None):
    """d(root)/d(t) for every tensor t below ``root`` that requires grad, and its paths.

    Walks the graph in reverse topological order and calls each node's own backward
    (under no_grad), exactly as ``root.backward()`` does, but touches no ``.grad``
    and runs no hooks. Returns ``(grads, paths)``: {id(t): ndarray} and
    {id(t): [Contribution, ...]} in the order the contributions arrive.
    """
    from ..autograd import no_grad, unbroadcast
    if root.size != 1:
        raise ValueError(f"the output must have one element to start the backward pass, "
                         f"got shape {root.shape}")
    order = walk(root) if order is None else order
    grads = {id(root): np.ones(root.shape, dtype=root.dtype)}
    paths = collections.defaultdict(list)
    with no_grad():
        for t in reversed(order):
            if not isinstance(t, Tensor) or id(t) not in grads or t._ctx is None:
                continue
            node = t._ctx
            g = grads[id(t)]
            sent = node._call_backward(t, Tensor._make(np.asarray(g)))
            local = node._call_backward(t, Tensor._make(np.ones_like(g))) if t.size == 1 else None
            for i, p in enumerate(node.parents):
                if not (isinstance(p, Tensor) and node.needs_input_grad[i]) or sent[i] is None:
                    continue
                value = _as_array(sent[i], p)
                broadcast = value.shape != p.shape
                if broadcast:
                    value = unbroadcast(Tensor._make(value), p.shape, type(node).__name__).data
                value = value.astype(p.dtype, copy=False)
                loc = None
                if local is not None and local[i] is not None:
                    loc = _as_array(local[i], p)
                    if loc.shape != p.shape:
                        loc = unbroadcast(Tensor._make(loc), p.shape, type(node).__name__).data
                paths[id(p)].append(Contribution(t, node, i, g, value, loc, broadcast))
                grads[id(p)] = grads[id(p)] + value if id(p) in grads else value
    return grads, paths


def _as_array(x, p):
    return np.asarray(x.data if isinstance(x, Tensor) else x, dtype=p.dtype)

"""`explain`: the backward pass of a small graph, written out as a learner would.

The numbers are computed here, from the graph: each node's own backward is called
(under no_grad) in reverse topological order, and the contributions of all paths
into a tensor are summed -- the same arithmetic as ``loss.backward()``.
"""
from __future__ import annotations

import builtins
import re

import numpy as np

from ..tensor import Tensor
from .fmt import fmt_array, fmt_constant, fmt_num, fmt_shape
from .formula import formula_of, reduction_text, substitute, with_reduction
from .graphwalk import backprop, is_parameter, walk
from .names import graph_names


class GraphTooLargeError(ValueError):
    """`explain` writes out small graphs only; this one has too many nodes."""


class Explanation(str):
    """The text written by `explain` (a str), with the gradients it computed.

    ``grad(t)`` is d(output)/dt as a numpy array (None for a tensor that needs no
    gradient); ``gradients`` maps each tensor's name in the text to that array, and
    ``names`` each name to its tensor (the names `draw_graph` writes for the same
    graph and ``names=``). In the REPL and in Jupyter it shows as plain text.
    """

    def __new__(cls, text, grads=None, tensors=None, names=None):
        self = super().__new__(cls, text)
        self._grads = grads or {}
        self._tensors = tensors or []  # keeps the ids in _grads valid
        self.names = {names[id(t)]: t for t in self._tensors} if names else {}
        self.gradients = {n: self._grads[id(t)] for n, t in self.names.items()
                          if id(t) in self._grads}
        return self

    def grad(self, tensor):
        return self._grads.get(id(tensor))

    def __repr__(self):
        return str(self)

    def _repr_pretty_(self, p, cycle):
        p.text(str(self))


def explain(loss, names=None, *, print=False, file=None, max_nodes=50):
    """Write out the forward and backward pass that give every gradient of ``loss``.

    First the forward pass in topological order (every value after its inputs), then
    the backward pass in reverse order: each op's local derivative, and for every
    tensor the chain rule dL/dw = dL/dz * dz/dw with the numbers -- summed over the
    paths when a tensor is used more than once. Ends with the gradients that
    ``loss.backward()`` stores in ``.grad``.

    loss       a one-element Tensor that requires grad.
    names      names for the tensors, as for draw_graph (``names=locals()``); the
               output is called L and other unnamed tensors t1, t2, ..., the names
               that draw_graph writes in its boxes.
    print      also print the text (to stdout).
    file       write the text to this open text file instead of stdout.
    max_nodes  refuse graphs with more tensors and ops than this (default 50).

    Returns an `Explanation`: the text as a str, with ``.grad(t)`` giving the exact
    numbers. Touches no ``.grad`` and runs no hooks.
    """
    if not isinstance(loss, Tensor):
        raise TypeError(f"explain: expected a Tensor, got {type(loss).__name__}")
    if not loss.requires_grad:
        raise ValueError("explain: the tensor does not require grad, so it has no graph to "
                         "explain (create the inputs with requires_grad=True)")
    if loss.size != 1:
        raise ValueError(f"explain: the output must have one element (a loss), got shape "
                         f"{loss.shape}; explain e.g. out.sum() instead")
    order = walk(loss)
    if max_nodes is not None and len(order) > max_nodes:
        n_ops = sum(not isinstance(v, Tensor) for v in order)
        raise GraphTooLargeError(
            f"explain: this graph has {len(order)} nodes ({len(order) - n_ops} tensors, "
            f"{n_ops} ops); writing every step out is only readable up to max_nodes="
            f"{max_nodes}. Try explain() on a smaller piece (one layer, one sample), pass "
            "max_nodes=None if you really want it all, or look at draw_graph(loss).")
    names = graph_names(order, loss, names)
    grads, paths = backprop(loss, order)
    tensors = [v for v in order if isinstance(v, Tensor)]
    L = names[id(loss)]

    lines = ["Forward pass: each value is computed after its inputs", ""]
    lines += _forward_lines(order, names)
    lines += ["", f"Backward pass: the chain rule, from {L} back to the inputs",
              (f"(d{L}/dx = d{L}/dy * dy/dx: the gradient at an op's output times the op's "
               "local derivative;"),
              " a tensor used more than once adds up the gradients of all its paths"]
    if any(t.grad_fn is not None and t.size != 1 for t in tensors):
        lines[-1] += ";"
        lines.append(f" for an array output y, the rule under y's op turns g = d{L}/dy into "
                     f"d{L}/dx, written '·')")
    else:
        lines[-1] += ")"
    lines.append("")
    by_node = {}
    for contributions in paths.values():
        for c in contributions:
            by_node.setdefault(id(c.node), []).append(c)
    for t in reversed(order):
        if not isinstance(t, Tensor) or id(t) not in grads:
            continue
        lines += _gradient_lines(t, paths.get(id(t), []), grads[id(t)], names, L)
        if t.grad_fn is not None:
            sent = sorted(by_node.get(id(t.grad_fn), []), key=lambda c: c.index)
            lines += _op_lines(t, sent, names, grads, L)
        lines.append("")
    params = [t for t in tensors if is_parameter(t) and id(t) in grads]
    if params:
        lines.append(f"Gradients (what {L}.backward() stores in .grad):")
        width = max(len(names[id(t)]) for t in params)
        for t in params:
            lines.append(f"  d{L}/d{names[id(t)]:<{width}} = {_arr(grads[id(t)])}")
    text = "\n".join(lines).rstrip() + "\n"
    result = Explanation(text, grads, tensors, names)
    if file is not None:
        file.write(text)
    elif print:
        builtins.print(text, end="")
    return result


def _arr(a):
    """A value for the text: '0.75', '[0.25, 0.5]', '(4×3: min .., mean .., max ..)'."""
    return fmt_array(np.asarray(a))


def _operand_text(p, names):
    if isinstance(p, Tensor):
        return names[id(p)]
    text = fmt_constant(p)
    if text is None:
        return "None"
    return f"({text})" if text.startswith("-") else text


# ------------------------------------------------------------------ forward pass
def _expression(t, names):
    """'w * x', '1 / (1 + exp(-z))' or 'Reshape(t1, (2, 3))' for the op that made t."""
    node = t.grad_fn
    formula = formula_of(node)
    op = type(node).__name__
    mapping, rest, ok = {}, [], bool(formula.forward)
    for i, p in enumerate(node.parents):
        role = formula.role_of(node, i)
        if role and not role[-1].isdigit() and re.fullmatch(r"[A-Za-z]\w*", role):
            mapping[role] = _operand_text(p, names)
        elif isinstance(p, Tensor):
            ok = False
        else:
            rest.append(p)
    mapping["y"] = names[id(t)]
    if ok:
        rhs = formula.forward.split("=", 1)[1].strip() if "=" in formula.forward else ""
        # the other arguments by the formula's words for them: x.reshape(shape), clip(x, lo, hi)
        words = [m.group(1) for m in re.finditer(r"(?<![.\w])([A-Za-z_]\w*)\b(?![(\w])", rhs)
                 if m.group(1) not in mapping and m.group(1) != "axis"]
        words = list(dict.fromkeys(words))
        if len(words) == len(rest):
            for word, c in zip(words, rest, strict=True):
                text = fmt_constant(c) or "None"
                if re.search(r"\[" + word + r"\]", rhs) and text.startswith("["):
                    text = text[1:-1]
                mapping[word] = text
            rest = []
        rhs = with_reduction(node, _axis_in_text(node, substitute(rhs, mapping)))
        if rhs:
            return rhs, [fmt_constant(c) for c in rest if c is not None], mapping
    args = [_operand_text(p, names) for p in node.parents if p is not None]
    return f"{op}({', '.join(args + reduction_text(node))})", [], mapping


def _axis_in_text(node, text):
    axes = getattr(node, "axes", None)
    x = next((p for p in node.parents if isinstance(p, Tensor)), None)
    ndim = x.ndim if x is not None else 0
    if hasattr(node, "keepdims") and axes is not None:
        if tuple(axes) == tuple(range(ndim)):
            return re.sub(r",\s*axis\b", "", text)
        return re.sub(r"\baxis\b", "axis=" + (str(axes[0]) if len(axes) == 1
                                               else str(tuple(axes))), text)
    axis = getattr(node, "axis", None)
    if isinstance(axis, (int, np.integer)):
        if ndim <= 1 and len(node.parents) == 1:
            return re.sub(r",\s*axis\b", "", text)
        return re.sub(r"\baxis\b", f"axis={int(axis)}", text)
    return text


def _forward_lines(order, names):
    rows = []
    for t in order:
        if not isinstance(t, Tensor):
            continue
        shape = "" if t.ndim == 0 else f"shape {fmt_shape(t.shape)}"
        if t.grad_fn is None:
            kind = "parameter" if t.requires_grad else "constant"
            rows.append((names[id(t)], "", _arr(t.data), ", ".join(s for s in (kind, shape) if s)))
        else:
            expr, extra, _ = _expression(t, names)
            op = type(t.grad_fn).__name__ + (f" {' '.join(extra)}" if extra else "")
            rows.append((names[id(t)], expr, _arr(t.data), ", ".join(s for s in (op, shape) if s)))
    w_name = max(len(r[0]) for r in rows)
    w_expr = max(len(r[1]) for r in rows)
    w_val = max(len(r[2]) for r in rows)
    out = []
    for name, expr, val, note in rows:
        if expr:
            left = f"  {name:<{w_name}} = {expr:<{w_expr}} = {val:<{w_val}}"
        else:
            left = f"  {name:<{w_name}} = {val:<{w_expr + 3 + w_val}}"
        out.append(f"{left}   ({note})".rstrip())
    return out


# ----------------------------------------------------------------- backward pass
def _gradient_lines(t, contributions, total, names, L):
    n = names[id(t)]
    head = f"d{L}/d{n}"
    if not contributions:  # the output itself
        return [f"{head} = 1   (the output's derivative with respect to itself)"]
    pad = " " * len(head)
    symbolic, numeric, labels = [], [], []
    outs = [c.out for c in contributions]
    for c in contributions:
        o = names[id(c.out)]
        if c.local is not None:
            symbolic.append(f"d{L}/d{o} * d{o}/d{n}")
            numeric.append(f"{fmt_num(c.g.item())} * {_arr(c.local)}")
        else:
            symbolic.append(f"d{L}/d{o} · d{o}/d{n}")
            numeric.append(_arr(c.value))
        twice = sum(x is c.out for x in outs) > 1
        role = formula_of(c.node).role_of(c.node, c.index)
        labels.append(f"path via {o}" + (f", as input {role}" if twice and role else
                                         f", as input {c.index + 1}" if twice else ""))
    lines = []
    if len(contributions) > 1:
        lines.append(f"{head} = " + " + ".join(f"({lab})" for lab in labels))
        lines.append(f"{pad} = " + " + ".join(symbolic))
    else:
        lines.append(f"{head} = {symbolic[0]}")
    num = " + ".join(numeric)
    result = _arr(total)
    if num != result:
        lines.append(f"{pad} = {num}")
    lines.append(f"{pad} = {result}")
    return _join_short(lines)


def _join_short(lines):
    """Put a short derivation on one line: 'dL/dw = dL/dz * dz/dw = 0.25 * 3 = 0.75'."""
    if len(lines) <= 3:
        one = lines[0] + "".join(" = " + ln.split(" = ", 1)[1] for ln in lines[1:])
        if len(one) <= 96:
            return [one]
    return lines


def _op_lines(t, contributions, names, grads, L):
    """The op that made t: its rule and, for each input, the local derivative."""
    node = t.grad_fn
    formula = formula_of(node)
    o = names[id(t)]
    expr, extra, mapping = _expression(t, names)
    op = type(node).__name__ + (f" {' '.join(extra)}" if extra else "")
    lines = [f"  {o} = {expr}   ({op})"]
    scalar = t.size == 1
    if not scalar:
        lines.append(f"    g = d{L}/d{o} = {_arr(grads[id(t)])} goes back through the rule")
    for c in contributions:
        p = node.parents[c.index]
        pn = names[id(p)]
        twice = sum(q is p for q in node.parents) > 1
        rule = formula.rule_for(node, c.index)
        rule_map = {k: v for k, v in mapping.items() if v != "None"}
        rule_text = (with_reduction(node, _axis_in_text(node, substitute(rule, rule_map)),
                                    rule=True) if rule else None)
        if scalar:
            local = _local_formula(rule_text)
            body = f"d{o}/d{pn} = " + (f"{local} = " if local and local != _arr(c.local)
                                        else "") + _arr(c.local)
            role = formula.role_of(node, c.index)
            line = f"    local derivative  {body}" + (
                f"   (as input {role or c.index + 1})" if twice else "")
            if not local and rule_text:
                line += f"   (rule: {rule_text})"
        else:
            line = f"    {rule_text} = {_arr(c.value)}" if rule_text else \
                f"    d{pn} = {type(node).__name__}.backward(g) = {_arr(c.value)}"
        if c.broadcast:
            line += f"   (g summed over the axes where {pn} was broadcast)"
        lines.append(line)
    return [ln for ln in lines if ln]


def _local_formula(rule):
    """The local derivative of a rule: 'dz = g * y * (1 - y)' -> 'y * (1 - y)'."""
    if not rule:
        return None
    m = re.fullmatch(r"d[^=]*=\s*(-?)g(?:\s*([*/])\s*(.+))?", rule.strip())
    if not m:
        return None
    sign, opr, rest = m.groups()
    if rest and re.search(r"[A-Za-z]{2,}\s+[A-Za-z]{2,}", rest):
        return None  # words, not a formula: 'g / n broadcast back'
    if not opr:
        return sign + "1"
    if opr == "/":
        return f"{sign}1 / {rest}"
    return sign + rest

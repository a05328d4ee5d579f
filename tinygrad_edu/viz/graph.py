"""Draw the computation graph of a Tensor with Graphviz.

``draw_graph(loss)`` returns a `graphviz.Digraph`: it shows itself inline in Jupyter
and renders to a file with `render` (or the Digraph's own ``.render()``). Tensors are
rounded boxes (parameters blue, constants grey, the output orange), ops small
ellipses with their local derivative, edges in the direction the data flows. Tensors
carry the names `explain` uses for the same graph (`names.graph_names`), and
``wrap=N`` breaks a long chain into rows of N ops so that it fits a slide.
"""
from __future__ import annotations

import collections
import html
import itertools
import os
import pathlib
import re

import graphviz
import numpy as np
from graphviz.quoting import quote

from ..tensor import Tensor
from .fmt import fmt_constant, fmt_rows, fmt_shape, fmt_summary, fmt_values
from .formula import formula_of, reduction_text, substitute
from .graphwalk import backprop, bfs_rank, is_parameter, walk
from .names import graph_names


class GraphvizNotFoundError(RuntimeError):
    """The Graphviz program ``dot``, which turns a graph into a picture, is missing."""


_INSTALL_HINT = (
    "Rendering a graph needs the Graphviz program `dot`, which was not found on PATH. "
    "Install it with `apt-get install graphviz` (Debian/Ubuntu), `brew install graphviz` "
    "(macOS), `conda install graphviz` or from https://graphviz.org/download/ -- the pip "
    "package `graphviz` is only the Python interface to it. Without it you can still "
    "write the graph's .dot text with tg.viz.save_source(graph, path).")

FONT = "Helvetica,Arial,sans-serif"

# fill, border, text
_STYLE = {
    "parameter": ("#dbeafe", "#2563eb", "#0f172a"),
    "output": ("#ffedd5", "#ea580c", "#0f172a"),
    "interior": ("#ffffff", "#64748b", "#0f172a"),
    "constant": ("#f1f5f9", "#cbd5e1", "#64748b"),
}
_OP_STYLE = ("#f5f3ff", "#7c3aed", "#3b0764")
_GRAD_COLOUR = "#b91c1c"
_DIM = "#64748b"


class ComputationGraph(graphviz.Digraph):
    """A `graphviz.Digraph` that explains itself when ``dot`` is not installed.

    In Jupyter a missing ``dot`` shows the install hint instead of a traceback.
    """

    def _repr_mimebundle_(self, include=None, exclude=None, **kwargs):
        try:
            return super()._repr_mimebundle_(include, exclude, **kwargs)
        except graphviz.ExecutableNotFound:
            return {"text/plain": _INSTALL_HINT}


def draw_graph(tensor, *, names=None, show_data=True, show_grad=True, max_nodes=200,
               rankdir="LR", wrap=None):
    """The computation graph that produced ``tensor``, as a `graphviz.Digraph`.

    One box per tensor (a tensor used twice is one box with two outgoing edges), one
    ellipse per op with its local derivative (the first line of the op's docstring).

    names      gives tensors their names: a dict name -> tensor (``names=locals()``),
               (name, tensor) pairs (``model.named_parameters()``) or a module.
               Parameters named "layer.weight", "layer.bias" are grouped in a box
               labelled "layer". An unnamed output is called L and the other unnamed
               tensors t1, t2, ...: the names `explain` writes for the same graph.
               An op's edges are labelled with its formula's letters for its inputs
               (a, b, x, ...) unless one of them names another tensor of the graph;
               then the op's rules are written with the tensors' own names instead.
    show_data  show the value of small tensors (at most 6 numbers) or the min, mean
               and max of larger ones; the shape and dtype are always shown.
    show_grad  True: show ``.grad`` of the leaves that require grad ("grad: not
               computed" until a backward has reached them) and of interior tensors
               that called ``retain_grad()`` (the engine keeps no other interior
               gradient). "all": show d(tensor)/dt for every t, computed here
               (``tensor`` must have one element; no ``.grad`` is read or changed).
               False: no gradients.
    max_nodes  draw at most this many tensors and ops (those nearest the output) and
               one marker saying how many were left out; None draws everything.
    rankdir    "LR" (data flows left to right) or "TB" (top to bottom).
    wrap       None: the whole graph in one row. An integer N >= 2: start a new row
               after every N ops along the longest path, as text wraps, so that a long
               chain fits a slide: with "LR" the rows go down the picture, with "TB"
               they stand side by side. An input used in a later row is drawn there
               again as a small dashed box "↪ name", so no edge runs between rows.

    Show it in Jupyter by leaving it as a cell's value; save it with
    ``tg.viz.render(g, "graph.svg")`` or ``g.render("graph", format="png")``.
    """
    if not isinstance(tensor, Tensor):
        raise TypeError(f"draw_graph: expected a Tensor, got {type(tensor).__name__}")
    if max_nodes is not None and max_nodes < 1:
        raise ValueError(f"draw_graph: max_nodes must be at least 1 (or None), got {max_nodes}")
    if show_grad not in (True, False, "all"):
        raise ValueError(f"draw_graph: show_grad must be True, False or 'all', got {show_grad!r}")
    if rankdir not in ("LR", "RL", "TB", "BT"):
        raise ValueError(f"draw_graph: rankdir must be 'LR', 'TB', 'RL' or 'BT', got {rankdir!r}")
    if wrap is not None and (isinstance(wrap, bool) or not isinstance(wrap, (int, np.integer))
                             or wrap < 2):
        raise ValueError(f"draw_graph: wrap must be None or an integer >= 2 (the ops in a row), "
                         f"got {wrap!r}")
    order = walk(tensor)
    name_of = graph_names(order, tensor, names)
    if max_nodes is not None and len(order) > max_nodes:
        rank = bfs_rank(tensor)
        kept = {k for k, r in rank.items() if r < max_nodes}
    else:
        kept = {id(v) for v in order}
    left_out = len(order) - len(kept)
    computed = None
    if show_grad == "all":
        if tensor.size != 1:
            raise ValueError(f"draw_graph: show_grad='all' needs a one-element output "
                             f"(a loss), got shape {tensor.shape}")
        computed = backprop(tensor, order)[0] if tensor.requires_grad else {}

    g = ComputationGraph(name="computation_graph")
    g.attr("graph", rankdir=rankdir, fontname=FONT, fontsize="11", bgcolor="white",
           nodesep="0.25", ranksep="0.35", pad="0.15", newrank="true")
    g.attr("node", fontname=FONT, fontsize="11", margin="0.08,0.04", penwidth="1.2")
    g.attr("edge", fontname=FONT, fontsize="9", color="#475569", arrowsize="0.6",
           fontcolor=_DIM)

    groups = {}  # id(parameter) -> the prefix of its name ("layer" of "layer.weight")
    for v in order:
        if isinstance(v, Tensor) and id(v) in kept and is_parameter(v) \
                and "." in name_of[id(v)]:
            groups[id(v)] = name_of[id(v)].rsplit(".", 1)[0]
    canvas = _Canvas(g, _rows(order, kept, wrap, groups) if wrap else None)
    taken = set(name_of.values())
    output_of = {id(v.grad_fn): v for v in order if isinstance(v, Tensor) and v.grad_fn is not None}
    unkept = False  # an interior tensor whose gradient the engine did not keep
    for v in order:
        if id(v) not in kept:
            continue
        if isinstance(v, Tensor):
            name = name_of[id(v)]
            kind = ("output" if v is tensor else "parameter" if is_parameter(v)
                    else "interior" if v.requires_grad else "constant")
            grad = _grad_text(v, show_grad, computed)
            unkept = unkept or (isinstance(grad, str) and grad == "unkept")
            canvas.node(_tid(v), _node(_tid(v), _tensor_label(v, name, show_data, grad),
                                       _tensor_tooltip(v, name), _TENSOR_ATTRS[kind]),
                        group=groups.get(id(v)), again=(name, kind))
            if v.grad_fn is not None and id(v.grad_fn) in kept:
                canvas.edge(_fid(v.grad_fn), _tid(v))
        else:
            _draw_op(canvas, v, kept, name_of, taken, name_of[id(output_of[id(v)])])
    if left_out:
        text = f"{left_out:,} more node{'s' if left_out != 1 else ''} not shown"
        canvas.node(_MARKER, _node(_MARKER, _html(text, f"(max_nodes={max_nodes})"),
                                   "the nodes farthest from the output are left out",
                                   _MARKER_ATTRS), again=(text, None))
    canvas.close()
    if unkept and show_grad is True and any(
            isinstance(v, Tensor) and (v.grad_fn is None or v.retains_grad)
            and v.grad is not None for v in order):
        g.attr("graph", label="Interior gradients are not kept by backward(): draw with "
               "show_grad='all', or call t.retain_grad() before backward.",
               labelloc="b", labeljust="l", fontsize="9", fontcolor=_DIM)
    return g


def _rows(order, kept, wrap, groups):
    """{DOT node id: row} when the picture wraps after every ``wrap`` ops.

    An op and its output sit in the row of the output's step (the number of ops on the
    longest path up to it); an input that no op of the picture made (a leaf, or a
    tensor whose op was left out) and the left-out marker sit in the row of their
    first use, and the parameters of one group in the first row of any of them.
    """
    step, rows = {}, {}
    for v in order:
        node = v.grad_fn if isinstance(v, Tensor) else None
        if node is not None and id(v) in kept and id(node) in kept:
            step[id(v)] = 1 + max((step.get(id(p), 0) for p in node.parents
                                   if isinstance(p, Tensor) and id(p) in kept), default=0)
            rows[_tid(v)] = rows[_fid(node)] = (step[id(v)] - 1) // wrap
    first_use = {}
    for v in order:
        if isinstance(v, Tensor) or id(v) not in kept:
            continue
        for p in v.parents:
            if isinstance(p, Tensor):
                key = _tid(p) if id(p) in kept else _MARKER
                first_use[key] = min(first_use.get(key, rows[_fid(v)]), rows[_fid(v)])
    for v in order:
        if isinstance(v, Tensor) and id(v) in kept and _tid(v) not in rows:
            rows[_tid(v)] = first_use.get(_tid(v), 0)
    rows[_MARKER] = first_use.get(_MARKER, 0)
    group_row = {}
    for i, prefix in groups.items():
        group_row[prefix] = min(group_row.get(prefix, rows[f"t{i}"]), rows[f"t{i}"])
    for i, prefix in groups.items():
        rows[f"t{i}"] = group_row[prefix]
    return rows


class _Canvas:
    """The DOT statements of a graph, placed in rows when the picture wraps.

    Without rows (``rows`` None) every statement goes straight into the graph's body in
    the order of the walk, and parameter groups become clusters at the end. With rows,
    each row is a subgraph ``row_N``; an edge from an earlier row starts instead at a
    reminder of its source ("↪ name") in the edge's own row, and an invisible first
    node per row, the rows' first nodes standing in one rank in order, keeps the rows
    one after another.
    """

    def __init__(self, g, rows):
        self.g, self.rows = g, rows
        self.lines = collections.defaultdict(list)    # row -> node statements
        self.edges = g.body if rows is None else []
        self.groups = collections.defaultdict(list)   # (row, prefix) -> node statements
        self.members = collections.defaultdict(list)  # row -> ids of the row's nodes
        self.again = {}   # node id -> (text, kind) of its reminder in a later row
        self.fed = set()  # node ids with an input in their own row

    def row(self, node_id):
        return 0 if self.rows is None else self.rows[node_id]

    def node(self, node_id, line, *, group=None, again=None, like=None):
        """Add a node statement; ``like`` names the node it hangs on (a constant's op)."""
        if like is not None and self.rows is not None:
            self.rows[node_id] = self.row(like)
        r = self.row(node_id)
        if group is not None:
            self.groups[(r, group)].append(line)
        elif self.rows is None:
            self.g.body.append(line)
        else:
            self.lines[r].append(line)
        if like is None:
            self.members[r].append(node_id)
        if again is not None:
            self.again[node_id] = again

    def edge(self, src, dst, role=None, attrs=""):
        if self.rows is not None:
            r = self.row(dst)
            if self.row(src) < r:
                src = self._reminder(src, r)
            self.fed.add(dst)
        self.edges.append(_edge(src, dst, role, attrs))

    def _reminder(self, src, r):
        node_id = f"r{r}_{src}"
        if node_id not in self.rows:
            text, kind = self.again[src]
            self.rows[node_id] = r
            attrs = _REMINDER_ATTRS[kind] if kind else _MARKER_REMINDER_ATTRS
            self.node(node_id, _node(node_id, _html("↪ " + text),
                                     f"{text} again: drawn in full in an earlier row", attrs))
        return node_id

    def close(self):
        if self.rows is None:
            for i, ((_, prefix), lines) in enumerate(self.groups.items()):
                _cluster(self.g, i, prefix, lines)
            return
        clusters = iter(range(len(self.groups)))
        for r in sorted(self.members):
            row = graphviz.Digraph(name=f"row_{r}")
            row.body.extend(self.lines[r])
            for (rr, prefix), lines in self.groups.items():
                if rr == r:
                    _cluster(row, next(clusters), prefix, lines)
            self.g.subgraph(row)
        firsts = [f"start_{r}" for r in sorted(self.members)]
        self.g.body.append("\t{rank=same; " + "; ".join(
            f"{f} [shape=point style=invis width=0 height=0]" for f in firsts) + "}\n")
        self.g.body.extend(_edge(a, b, attrs="style=invis")
                           for a, b in itertools.pairwise(firsts))
        for r, first in zip(sorted(self.members), firsts):
            self.g.body.extend(_edge(first, n, attrs="style=invis")
                               for n in self.members[r] if n not in self.fed)
        self.g.body.extend(self.edges)


def _cluster(g, i, prefix, lines):
    with g.subgraph(name=f"cluster_{i}") as c:
        c.attr(label=prefix, style="rounded,dashed", color="#93c5fd", fontcolor="#1d4ed8",
               fontsize="10", margin="6", rank="same")
        c.body.extend(lines)


def _grad_text(t, show_grad, computed):
    """'not computed', 'unkept' (an interior gradient the engine dropped), an array or None."""
    if not show_grad or not t.requires_grad:
        return None
    if computed is not None:
        return computed.get(id(t))
    if t.grad_fn is not None and not t.retains_grad:
        return "unkept"
    return "not computed" if t.grad is None else np.asarray(t.grad.data)


# DOT is written directly (the attributes quoted once): thousands of nodes stay fast.
def _attrs(**kwargs):
    return " ".join(f"{k}={quote(v)}" for k, v in kwargs.items())


_TENSOR_ATTRS = {
    kind: _attrs(shape="box", style="rounded,filled", fillcolor=fill, color=border,
                 fontcolor=text, **({"penwidth": "2"} if kind == "output" else {}))
    for kind, (fill, border, text) in _STYLE.items()}
_OP_ATTRS = _attrs(shape="ellipse", style="filled", fillcolor=_OP_STYLE[0], color=_OP_STYLE[1],
                   fontcolor=_OP_STYLE[2], margin="0.02,0.02")
_CONST_ATTRS = _attrs(shape="box", style="rounded,filled", fillcolor="#f8fafc", color="#94a3b8",
                      fontcolor="#475569", fontsize="9", height="0.2", width="0.2",
                      margin="0.04,0.02")
_CONST_EDGE_ATTRS = _attrs(color="#94a3b8", arrowsize="0.5")
_MARKER_EDGE_ATTRS = _attrs(style="dashed", color="#ca8a04")
_MARKER_ATTRS = _attrs(shape="note", style="filled", fillcolor="#fefce8", color="#ca8a04",
                       fontcolor="#713f12", fontsize="10")
_MARKER = "more_nodes"
# the dashed reminder of a box drawn in full in an earlier row of a wrapped picture
_REMINDER_ATTRS = {
    kind: _attrs(shape="box", style="rounded,filled,dashed", fillcolor=fill, color=border,
                 fontcolor=text, fontsize="10", margin="0.06,0.02")
    for kind, (fill, border, text) in _STYLE.items()}
_MARKER_REMINDER_ATTRS = _attrs(shape="note", style="filled,dashed", fillcolor="#fefce8",
                                color="#ca8a04", fontcolor="#713f12", fontsize="9")


def _node(node_id, label, tooltip, attrs):
    """One DOT node statement; ``label`` is an HTML label ('<...>')."""
    return f"\t{node_id} [label={label} tooltip={quote(tooltip)} {attrs}]\n"


def _edge(src, dst, role=None, attrs=""):
    label = f"label={quote(' ' + role + ' ')} " if role else ""
    return f"\t{src} -> {dst} [{label}{attrs}]\n" if label or attrs else f"\t{src} -> {dst}\n"


def _tid(t):
    return f"t{id(t)}"


def _fid(node):
    return f"f{id(node)}"


def _draw_op(canvas, node, kept, names, taken, out_name):
    """An op's ellipse, its constants and the edges from its inputs; ``out_name`` names its
    output."""
    formula = formula_of(node)
    op = type(node).__name__
    folded = []
    rules, roles = _op_rules(node, formula, names, taken, out_name)
    for i, p in enumerate(node.parents):
        role = roles[i]
        if isinstance(p, Tensor):
            if id(p) in kept:
                canvas.edge(_tid(p), _fid(node), role)
            else:
                canvas.edge(_MARKER, _fid(node), role, _MARKER_EDGE_ATTRS)
        elif isinstance(p, (int, float, np.number, np.ndarray)) and not isinstance(p, bool):
            cid = f"c{id(node)}_{i}"
            text = fmt_constant(p)
            canvas.node(cid, _node(cid, _html(text), f"constant {text}", _CONST_ATTRS),
                        like=_fid(node))
            canvas.edge(cid, _fid(node), role, _CONST_EDGE_ATTRS)
        else:
            text = fmt_constant(p)
            if text:
                folded.append(text)
    folded.extend(_axis_text(node) + reduction_text(node))
    lines = [f"<b>{html.escape(op)}</b>" + (
        f' <font color="{_DIM}">{html.escape(" ".join(folded))}</font>' if folded else "")]
    if rules:
        small = "<br/>".join(html.escape(line) for r in rules for line in _wrap(r, 26))
        lines.append(f'<font point-size="9" color="{_OP_STYLE[2]}">{small}</font>')
    canvas.node(_fid(node), _node(_fid(node), "<" + "<br/>".join(lines) + ">",
                                  f"{op}: {formula.line}" if formula.line else op, _OP_ATTRS))


def _op_rules(node, formula, names, taken, out_name):
    """The gradient rules an op shows, and the label of each input's edge (or None).

    The rules use the formula's own letters ('da = g * b') and the edges say which
    input is a and which is b -- unless such a letter (or y, the output) is the name
    of another tensor of the graph: then the rules are written with the inputs' and
    the output's names ('dw = g * x') and the edges carry no letters.
    """
    n = len(node.parents)
    rules = formula.rules or ([formula.forward] if formula.forward else [])
    label_edges = n > 1 and (len(formula.roles) == n or (
        len(formula.roles) == 1 and str(formula.roles[0]).endswith("_i")))
    roles = [formula.role_of(node, i) for i in range(n)]
    mapping = {"y": out_name}
    for role, p in zip(roles, node.parents):
        if role:
            mapping[role] = names[id(p)] if isinstance(p, Tensor) else fmt_constant(p) or role
    shown = set(roles) | ({"y"} & set(re.findall(r"[A-Za-z_]\w*", " ".join(rules))))
    clash = any(letter in taken and letter != mapping[letter]
                for letter in mapping if letter in shown)
    if not clash:
        return rules, [r if label_edges else None for r in roles]
    own = [formula.rule_for(node, i) for i, p in enumerate(node.parents) if isinstance(p, Tensor)]
    if own and all(own):
        rules = list(dict.fromkeys(substitute(r, mapping) for r in own))
    return rules, [None] * n


def _wrap(text, width):
    """Break a long formula at spaces into lines of about ``width`` characters."""
    lines, line = [], ""
    for word in text.split(" "):
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = "  " + word
        else:
            line = f"{line} {word}" if line else word
    return lines + [line]


def _axis_text(node):
    """'axis=1' for reductions over part of the axes and for ops with an axis."""
    x = next((p for p in node.parents if isinstance(p, Tensor)), None)
    ndim = x.ndim if x is not None else 0
    axes = getattr(node, "axes", None)
    if hasattr(node, "keepdims") and axes is not None:
        if tuple(axes) == tuple(range(ndim)):
            return ["keepdims"] if node.keepdims and ndim else []
        text = f"axis={axes[0]}" if len(axes) == 1 else f"axis={tuple(axes)}"
        return [text + (", keepdims" if node.keepdims else "")]
    axis = getattr(node, "axis", None)
    if isinstance(axis, (int, np.integer)) and (ndim > 1 or len(node.parents) > 1):
        return [f"axis={int(axis)}"]
    return []


def _html(*lines):
    return "<" + "<br/>".join(html.escape(line) for line in lines) + ">"


def _tensor_label(t, name, show_data, grad):
    rows = []
    if name:
        rows.append(f"<b>{html.escape(name)}</b>")
    meta = fmt_shape(t.shape) + " · " + str(t.dtype)
    rows.append(f'<font point-size="9" color="{_DIM}">{html.escape(meta)}</font>')
    if show_data:
        rows.extend(html.escape(r) for r in _value_rows(t.data))
    if isinstance(grad, str):
        if grad == "not computed":
            rows.append(f'<font point-size="9" color="{_DIM}"><i>grad: not computed</i></font>')
    elif grad is not None:
        vals = _value_rows(grad)
        first = f"grad {vals[0]}" if len(vals) == 1 else "grad"
        rest = vals if len(vals) > 1 else []
        rows.append(f'<font color="{_GRAD_COLOUR}">'
                    + "<br/>".join(html.escape(r) for r in [first] + rest) + "</font>")
    return "<" + "<br/>".join(rows) + ">"


def _value_rows(a):
    a = np.asarray(a)
    if fmt_values(a) is not None:
        return fmt_rows(a)
    return [fmt_summary(a)]


def _tensor_tooltip(t, name):
    head = f"{name}: " if name else ""
    kind = ("parameter (leaf, requires grad)" if is_parameter(t) else
            f"output of {type(t.grad_fn).__name__}" if t.grad_fn is not None else
            "constant (no grad)")
    return f"{head}{kind}, shape {tuple(t.shape)}, {t.dtype}"


# ------------------------------------------------------------------------ output
def render(digraph, path, format=None):
    """Render ``digraph`` to the file ``path`` with Graphviz; return the path.

    ``format`` ("svg", "png", "pdf", ...) defaults to the extension of ``path``, else
    "svg" (and the extension is then added). Only the picture is written (use
    `save_source` for the .dot text). Raises `GraphvizNotFoundError` with install
    instructions when the ``dot`` program is missing.
    """
    path = pathlib.Path(os.fspath(path))
    suffix = path.suffix[1:].lower()
    if format is None:
        format = suffix if suffix in graphviz.FORMATS else "svg"
    if suffix != format.lower():
        path = path.with_name(path.name + "." + format)
    try:
        data = digraph.pipe(format=format)
    except graphviz.ExecutableNotFound:
        raise GraphvizNotFoundError(_INSTALL_HINT) from None
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def save_source(digraph, path):
    """Write the graph's DOT text (what ``dot`` reads) to ``path``; return the path.

    Needs no Graphviz program: render it later with ``dot -Tpng file.dot -o file.png``.
    """
    path = pathlib.Path(os.fspath(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(digraph.source, encoding="utf-8")
    return path

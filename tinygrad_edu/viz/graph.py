"""Draw the computation graph of a Tensor with Graphviz.

``draw_graph(loss)`` returns a `graphviz.Digraph`: it shows itself inline in Jupyter
and renders to a file with `render` (or the Digraph's own ``.render()``). Tensors are
rounded boxes (parameters blue, constants grey, the output orange), ops small
ellipses with their local derivative, edges in the direction the data flows.
"""
from __future__ import annotations

import html
import os
import pathlib

import graphviz
import numpy as np
from graphviz.quoting import quote

from ..tensor import Tensor
from .fmt import fmt_constant, fmt_rows, fmt_shape, fmt_summary, fmt_values
from .formula import formula_of, reduction_text
from .graphwalk import backprop, bfs_rank, is_parameter, walk
from .names import resolve_names, tensor_name


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
               rankdir="LR"):
    """The computation graph that produced ``tensor``, as a `graphviz.Digraph`.

    One box per tensor (a tensor used twice is one box with two outgoing edges), one
    ellipse per op with its local derivative (the first line of the op's docstring).

    names      gives tensors their names: a dict name -> tensor (``names=locals()``),
               (name, tensor) pairs (``model.named_parameters()``) or a module.
               Parameters named "layer.weight", "layer.bias" are grouped in a box
               labelled "layer".
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
    name_of = resolve_names(names)
    order = walk(tensor)
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

    clusters = {}   # prefix -> [node lines]
    unkept = False  # an interior tensor whose gradient the engine did not keep
    for v in order:
        if id(v) not in kept:
            continue
        if isinstance(v, Tensor):
            name = tensor_name(v, name_of)
            kind = ("output" if v is tensor else "parameter" if is_parameter(v)
                    else "interior" if v.requires_grad else "constant")
            grad = _grad_text(v, show_grad, computed)
            unkept = unkept or (isinstance(grad, str) and grad == "unkept")
            line = _node(_tid(v), _tensor_label(v, name, show_data, grad),
                         _tensor_tooltip(v, name), _TENSOR_ATTRS[kind])
            prefix = name.rsplit(".", 1)[0] if name and "." in name else None
            if kind == "parameter" and prefix:
                clusters.setdefault(prefix, []).append(line)
            else:
                g.body.append(line)
            if v.grad_fn is not None and id(v.grad_fn) in kept:
                g.body.append(_edge(_fid(v.grad_fn), _tid(v)))
        else:
            _draw_op(g, v, kept)
    for i, (prefix, lines) in enumerate(clusters.items()):
        with g.subgraph(name=f"cluster_{i}") as c:
            c.attr(label=prefix, style="rounded,dashed", color="#93c5fd", fontcolor="#1d4ed8",
                   fontsize="10", margin="6", rank="same")
            c.body.extend(lines)
    if left_out:
        g.body.append(_node(
            _MARKER, _html(f"{left_out:,} more node{'s' if left_out != 1 else ''} not shown",
                           f"(max_nodes={max_nodes})"),
            "the nodes farthest from the output are left out", _MARKER_ATTRS))
    if unkept and show_grad is True and any(
            isinstance(v, Tensor) and v.grad is not None for v in order):
        g.attr("graph", label="Interior gradients are not kept by backward(): draw with "
               "show_grad='all', or call t.retain_grad() before backward.",
               labelloc="b", labeljust="l", fontsize="9", fontcolor=_DIM)
    return g


def _grad_text(t, show_grad, computed):
    """'not computed', 'unkept' (an interior gradient the engine dropped), an array or None."""
    if not show_grad or not t.requires_grad:
        return None
    if computed is not None:
        return computed.get(id(t))
    if t.grad is not None:
        return np.asarray(t.grad.data)
    return "unkept" if t.grad_fn is not None and not t.retains_grad else "not computed"


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


def _draw_op(g, node, kept):
    formula = formula_of(node)
    op = type(node).__name__
    folded = []
    n = len(node.parents)
    label_edges = n > 1 and (len(formula.roles) == n or (
        len(formula.roles) == 1 and str(formula.roles[0]).endswith("_i")))
    for i, p in enumerate(node.parents):
        role = formula.role_of(node, i) if label_edges else None
        if isinstance(p, Tensor):
            if id(p) in kept:
                g.body.append(_edge(_tid(p), _fid(node), role))
            else:
                g.body.append(_edge(_MARKER, _fid(node), role, _MARKER_EDGE_ATTRS))
        elif isinstance(p, (int, float, np.number, np.ndarray)) and not isinstance(p, bool):
            cid = f"c{id(node)}_{i}"
            text = fmt_constant(p)
            g.body.append(_node(cid, _html(text), f"constant {text}", _CONST_ATTRS))
            g.body.append(_edge(cid, _fid(node), role, _CONST_EDGE_ATTRS))
        else:
            text = fmt_constant(p)
            if text:
                folded.append(text)
    folded.extend(_axis_text(node) + reduction_text(node))
    lines = [f"<b>{html.escape(op)}</b>" + (
        f' <font color="{_DIM}">{html.escape(" ".join(folded))}</font>' if folded else "")]
    rules = formula.rules or ([formula.forward] if formula.forward else [])
    if rules:
        small = "<br/>".join(html.escape(line) for r in rules for line in _wrap(r, 26))
        lines.append(f'<font point-size="9" color="{_OP_STYLE[2]}">{small}</font>')
    g.body.append(_node(_fid(node), "<" + "<br/>".join(lines) + ">",
                        f"{op}: {formula.line}" if formula.line else op, _OP_ATTRS))


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

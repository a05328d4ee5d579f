"""Draw a network the way the lessons do: layers of units as columns of circles.

``draw_network(model)`` returns a `graphviz.Digraph`: the input layer x on the left,
the hidden layers z, the output layer y on the right, one edge per weight. An edge's
width grows with |w| and its colour tells the sign: blue for a positive (excitatory)
weight, red for a negative (inhibitory) one. ``highlight=(layer, unit)`` picks out one
logistic unit and its incoming weights, to show that each hidden unit is itself a
small logistic regression on the layer before. Hidden layers that a model lists in
``pretrained_layers_`` (pretrained as RBMs, as in a deep belief network) are marked.

The units are pinned in place (the graph uses Graphviz's ``neato`` layout, named in the
DOT text), so the picture keeps the order of the weight matrices' rows and columns;
render it like any graph with `render` or ``dot -Tsvg network.dot -o network.svg``.
"""
from __future__ import annotations

import html
import numbers

import numpy as np
from graphviz.quoting import quote

from ..tensor import Tensor
from .graph import FONT, ComputationGraph, _attrs

POSITIVE = "#2563eb"   # excitatory weights (blue)
NEGATIVE = "#dc2626"   # inhibitory weights (red)
ZERO = "#94a3b8"       # a weight that is exactly 0
_FADED_ALPHA = "38"    # alpha of the edges that a highlight pushes into the background
_DIM = "#64748b"
PRETRAINED = "#0d9488"  # border and header note of a layer pretrained as an RBM (teal)

# fill, border, text of a unit in each kind of layer
_UNIT_STYLE = {
    "input": ("#f1f5f9", "#475569", "#0f172a"),
    "hidden": ("#ede9fe", "#7c3aed", "#2e1065"),
    "output": ("#ffedd5", "#ea580c", "#431407"),
    "bias": ("#ffffff", "#94a3b8", "#475569"),
    "faded": ("#ffffff", "#cbd5e1", "#94a3b8"),
    "highlight": ("#fef3c7", "#d97706", "#451a03"),
    "pretrained": ("#ede9fe", PRETRAINED, "#2e1065"),
}

_ACTIVATION_NAMES = {
    "Sigmoid": "σ", "Tanh": "tanh", "ReLU": "relu", "Softmax": "softmax",
    "LogSoftmax": "log softmax", "Identity": None,
}
_ACTIVATION_ALIASES = {
    "sigmoid": "σ", "logistic": "σ", "sigma": "σ", "σ": "σ", "tanh": "tanh", "relu": "relu",
    "softmax": "softmax", "log_softmax": "log softmax", "identity": None, "linear": None,
    "none": None,
}

# layout, in inches
_DX, _DY, _UNIT = 2.1, 0.72, 0.5


class NetworkDiagram(ComputationGraph):
    """A network diagram: a `graphviz.Digraph` that shows in Jupyter and renders with
    `render`; without the Graphviz program it shows how to install it."""


class _Layer:
    """One layer of weights: W (n_in, n_out), b (n_out,) or None, and the activation
    applied to its outputs ('σ', 'tanh', ..., None for a linear unit, "" when unknown)."""

    def __init__(self, weight, bias, activation):
        self.weight, self.bias, self.activation = weight, bias, activation


# -------------------------------------------------------------- reading the network
def network_layers(model, activations=None):
    """The layers of ``model`` as (weight, bias, activation) triples, plus output names.

    ``model`` is a fitted estimator of tinygrad_edu.models (its ``module_``) or a fitted
    scikit-learn MLP (its ``coefs_`` and ``intercepts_``), a Module
    made of Linear layers (read in order; an activation module after a Linear names
    that layer's activation), a single weight matrix, or a list of weight matrices
    (numpy arrays or Tensors of shape (n_in, n_out)) or (weight, bias) pairs.
    Returns (list of _Layer, default output names or None).
    """
    output_names = None
    if not hasattr(model, "module_") and hasattr(model, "coefs_"):
        layers = _sklearn_layers(model)  # a fitted scikit-learn MLP, to compare with
        output_names = _class_names(model, layers[-1].weight.shape[1])
    elif hasattr(model, "module_") or hasattr(model, "hidden_layer_sizes") \
            or (hasattr(model, "fit") and hasattr(model, "get_params")):
        if not hasattr(model, "module_"):
            raise ValueError(f"draw_network: this {type(model).__name__} is not fitted yet, so "
                             "it has no weights to draw; call fit(X, y) first")
        layers = _module_layers(model.module_)
        classes = getattr(model, "classes_", None)
        if classes is not None and layers and not layers[-1].activation:
            # the estimator keeps logits in its network and applies the output function
            # in predict_proba: sigmoid for two classes, softmax for more
            n_out = layers[-1].weight.shape[1]
            layers[-1].activation = "σ" if n_out == 1 else "softmax"
            output_names = _class_names(model, n_out)
    elif _is_module(model):
        layers = _module_layers(model)
    elif isinstance(model, (np.ndarray, Tensor)):
        layers = [_raw_layer(model, 0)]
    elif isinstance(model, (list, tuple)):
        if not model:
            raise ValueError("draw_network: the list of weight matrices is empty")
        layers = [_raw_layer(item, i) for i, item in enumerate(model)]
    else:
        raise TypeError(f"draw_network: expected a fitted model, a Module of Linear layers or a "
                        f"list of weight matrices, got {type(model).__name__}")
    if not layers:
        raise ValueError(f"draw_network: {type(model).__name__} has no Linear layer to draw")
    if activations is not None:
        if isinstance(activations, str) or activations is None:
            activations = [activations] * len(layers)
        activations = list(activations)
        if len(activations) != len(layers):
            raise ValueError(f"draw_network: activations has {len(activations)} entries for "
                             f"{len(layers)} layers of weights")
        for layer, a in zip(layers, activations):
            layer.activation = _activation_name(a)
    for i in range(1, len(layers)):
        a, b = layers[i - 1].weight.shape, layers[i].weight.shape
        if a[1] != b[0]:
            raise ValueError(f"draw_network: layer {i} has weights of shape {a} (n_in, n_out) "
                             f"but layer {i + 1} has {b}: {a[1]} outputs do not feed {b[0]} "
                             "inputs (weight matrices are (n_in, n_out))")
    return layers, output_names


def _class_names(model, n_out):
    """'P(y=1)' for a two-class model's single output, 'P(class k)' for one output per class."""
    classes = getattr(model, "classes_", None)
    if classes is None:
        return None
    if n_out == 1 and len(classes) == 2:
        return [f"P(y={classes[1]})"]
    if n_out == len(classes):
        return [f"P(class {c})" for c in classes]
    return None


def _sklearn_layers(model):
    """Layers of a fitted scikit-learn MLPClassifier / MLPRegressor (coefs_ are (n_in, n_out))."""
    names = {"logistic": "σ", "tanh": "tanh", "relu": "relu", "identity": None,
             "softmax": "softmax"}
    coefs, intercepts = list(model.coefs_), list(getattr(model, "intercepts_", []))
    hidden = names.get(getattr(model, "activation", ""), getattr(model, "activation", ""))
    out = getattr(model, "out_activation_", "")
    out = names.get(out, out)
    layers = []
    for k, w in enumerate(coefs):
        b = np.asarray(intercepts[k], dtype=np.float64) if k < len(intercepts) else None
        layers.append(_Layer(np.asarray(w, dtype=np.float64), b,
                             out if k == len(coefs) - 1 else hidden))
    return layers


def _is_module(obj):
    return not isinstance(obj, type) and callable(getattr(obj, "named_modules", None))


def _module_layers(module):
    from .. import nn  # viz imports nn only when a network is drawn
    layers = []
    for name, m in module.named_modules():
        if isinstance(m, nn.Linear):
            bias = None if m.bias is None else np.array(m.bias.data, dtype=np.float64)
            layers.append(_Layer(np.array(m.weight.data, dtype=np.float64), bias, None))
        elif any(isinstance(v, Tensor) and v.requires_grad for v in vars(m).values()):
            raise TypeError(f"draw_network draws networks of Linear layers; {name or 'the model'}"
                            f" is a {type(m).__name__} with parameters of its own")
        elif list(m.named_children()):
            continue  # a container: its layers come next
        elif layers:  # an activation (or another parameter-free layer) after a Linear
            cls = type(m).__name__
            act = _ACTIVATION_NAMES.get(cls, cls.lower())
            if act is not None:
                prev = layers[-1].activation
                layers[-1].activation = act if not prev else f"{prev} → {act}"
    return layers


def _raw_layer(item, i):
    if _is_module(item):
        found = _module_layers(item)
        if len(found) != 1:
            raise TypeError(f"draw_network: list item {i} holds {len(found)} Linear layers; "
                            "pass one weight matrix (or Linear) per item")
        return found[0]
    bias = None
    if isinstance(item, tuple) and len(item) == 2:
        item, bias = item
    w = np.asarray(item.data if isinstance(item, Tensor) else item, dtype=np.float64)
    if w.ndim == 1:
        w = w[:, None]  # V of length M: the weights into one output unit
    if w.ndim != 2:
        raise ValueError(f"draw_network: weight matrix {i} must be 2-D (n_in, n_out), got "
                         f"shape {w.shape}")
    if bias is not None:
        bias = np.asarray(bias.data if isinstance(bias, Tensor) else bias,
                          dtype=np.float64).reshape(-1)
        if bias.shape != (w.shape[1],):
            raise ValueError(f"draw_network: bias {i} has shape {bias.shape}, expected "
                             f"({w.shape[1]},) for weights of shape {w.shape}")
    return _Layer(w, bias, "")  # activation unknown: the header names none


def _activation_name(a):
    if a is None:
        return None
    key = str(a).strip()
    return _ACTIVATION_ALIASES.get(key.lower(), key)


# ----------------------------------------------------------------------- drawing
def draw_network(model, *, show_bias=False, highlight=None, max_units=10, input_names=None,
                 output_names=None, activations=None, show_weights=False, title=None,
                 legend=True):
    """The network diagram of ``model``, as a `graphviz.Digraph`.

    Columns of circles, left to right: the input layer x (x1, x2, ...), the hidden
    layers z and the output layer y. One edge per weight W_ij from unit i to unit j;
    its width grows with |W_ij| (relative to the largest weight drawn) and its colour
    gives the sign: blue for positive (excitatory), red for negative (inhibitory), as
    the legend says. Each column is headed by its layer and activation.

    model         a fitted estimator of tinygrad_edu.models (its network ``module_``)
                  or a fitted scikit-learn MLPClassifier / MLPRegressor (``coefs_``),
                  an ``nn.Sequential`` or other Module of ``nn.Linear`` layers (read in
                  order; an activation module after a Linear names that layer: σ, tanh,
                  relu, softmax), or a list of weight matrices (numpy arrays or Tensors,
                  shape (n_in, n_out): column j holds unit j's incoming weights), each
                  optionally a (weight, bias) pair. A model whose attribute
                  ``pretrained_layers_`` lists hidden layers (0 is the first hidden
                  layer), as a deep belief network sets for the layers whose weights
                  came from pretrained RBMs, has those layers marked: a double border
                  round their units and "pretrained (RBM)" under their header.
    show_bias     draw the bias units x0 = 1, z0 = 1 at the top of each column, with one
                  edge per bias: the bias of a unit is the weight of its constant input.
    highlight     (layer, unit): emphasise one logistic unit and its incoming weights
                  (labelled with their values) and fade everything else. Layer 1 is the
                  first hidden layer (-1 the output layer); unit counts from 0 like the
                  columns of the weight matrix, so (1, 0) is z1.
    max_units     draw at most this many units of a layer (the first ones), then a
                  "... n more" marker; None draws every unit.
    input_names   names of the input features, written beside the input units.
    output_names  names of the outputs, written beside the output units (a fitted
                  classifier's default: "P(y=1)", or "P(class k)" for each class).
    activations   override the activation label of every layer of weights: a name for
                  all ("sigmoid", "tanh", "relu", "softmax", "linear") or one per layer.
    show_weights  write every weight's value on its edge (readable for small networks;
                  a highlighted unit's incoming weights are always written, the others
                  faded with their edges).
    title         a title above the diagram.
    legend        draw the legend (colours, widths, bias) below the diagram.

    Render it with ``tg.viz.render(g, "network.svg")``; save the DOT text with
    ``tg.viz.save_source(g, "network.dot")``. The positions are fixed in the text
    (``layout=neato``), so any Graphviz program draws the same picture.
    """
    view = _View(model, activations, show_bias, highlight, max_units, input_names,
                 output_names)
    pos, y_top, y_bottom = _layout(view)
    g = _new_diagram(title)
    _draw_weights(g, view, pos, show_weights)
    _draw_units(g, view, pos, y_top)
    _draw_names(g, view, pos)
    if legend or view.hl is not None:
        _draw_legend(g, view, legend, y_bottom)
    return g


class _View:
    """What the diagram shows of a network, read and checked before anything is drawn.

    ``layers`` are the layers of weights; layer of units ``l`` (0 the inputs) has
    ``sizes[l]`` units of which the first ``shown[l]`` are drawn, named by
    ``letters[l]``. ``hl`` is the highlighted (layer, unit) or None, ``pretrained``
    the layers of units marked as pretrained, ``wmax`` the largest |weight| drawn (the
    width scale).
    """

    def __init__(self, model, activations, show_bias, highlight, max_units, input_names,
                 output_names):
        layers, default_outputs = network_layers(model, activations)
        if max_units is not None and (isinstance(max_units, bool)
                                      or not isinstance(max_units, numbers.Integral)
                                      or max_units < 1):
            raise ValueError(f"draw_network: max_units must be an integer >= 1 or None, got "
                             f"{max_units!r}")
        sizes = [layers[0].weight.shape[0]] + [layer.weight.shape[1] for layer in layers]
        self.layers, self.sizes = layers, sizes
        self.show_bias, self.max_units = show_bias, max_units
        self.n_layers = len(sizes)
        self.shown = [min(n, max_units) if max_units is not None else n for n in sizes]
        self.input_names = _check_names("input_names", input_names, sizes[0])
        self.output_names = _check_names("output_names", output_names, sizes[-1]) \
            if output_names is not None else default_outputs
        self.hl = _check_highlight(highlight, sizes, self.shown, max_units)
        self.letters = _layer_letters(self.n_layers)
        self.pretrained = _pretrained_layers(model, self.n_layers)
        self.wmax = _weight_scale(self)

    def has_bias(self, l):
        """Whether a bias unit is drawn atop layer ``l`` (it feeds layer l + 1)."""
        return self.show_bias and l < self.n_layers - 1 and self.layers[l].bias is not None

    def kind(self, l):
        """'input', 'hidden' or 'output': the kind of layer of units ``l``."""
        return "input" if l == 0 else "output" if l == self.n_layers - 1 else "hidden"


def _pretrained_layers(model, n_layers):
    """The layers of units that ``model.pretrained_layers_`` marks (hidden layer k is
    layer of units k + 1); checks that each index names a hidden layer."""
    marked = set()
    for k in getattr(model, "pretrained_layers_", ()):
        if isinstance(k, bool) or not isinstance(k, numbers.Integral) \
                or not 0 <= k < n_layers - 2:
            raise ValueError(f"draw_network: pretrained_layers_ must hold hidden-layer indices "
                             f"0..{n_layers - 3}, got {k!r}")
        marked.add(int(k) + 1)
    return marked


def _weight_scale(view):
    """The largest |weight| (or bias) drawn: the widest edge."""
    shown = view.shown
    drawn = [layer.weight[:shown[l], :shown[l + 1]] for l, layer in enumerate(view.layers)]
    drawn += [view.layers[l].bias[:shown[l + 1]] for l in range(view.n_layers - 1)
              if view.has_bias(l)]
    wmax = max((float(np.max(np.abs(w))) for w in drawn if w.size), default=0.0)
    if not np.isfinite(wmax):
        raise ValueError("draw_network: the weights contain NaN or infinity")
    return wmax


def _layout(view):
    """Where each unit sits: {(layer, kind, j): (x, y)} for the bias unit on top (kind
    'bias'), the units ('unit', j) and the "more" marker below them ('more'); and the
    top and the bottom of the tallest column."""
    pos, column_top, column_bottom = {}, [], []
    for l in range(view.n_layers):
        rows = ([("bias", None)] if view.has_bias(l) else []) + \
            [("unit", j) for j in range(view.shown[l])] + \
            ([("more", None)] if view.shown[l] < view.sizes[l] else [])
        top = (len(rows) - 1) / 2 * _DY
        for r, (kind, j) in enumerate(rows):
            pos[(l, kind, j)] = (l * _DX, top - r * _DY)
        column_top.append(top)
        column_bottom.append(top - (len(rows) - 1) * _DY)
    return pos, max(column_top), min(column_bottom)


def _new_diagram(title):
    """An empty diagram with the pinned (neato) layout and the fonts."""
    g = NetworkDiagram(name="network")
    g.attr("graph", layout="neato", splines="false", outputorder="edgesfirst", overlap="true",
           bgcolor="white", pad="0.25", fontname=FONT, fontsize="13")
    g.attr("node", fontname=FONT, fontsize="12", penwidth="1.3")
    g.attr("edge", fontname=FONT, fontsize="9", arrowhead="none")
    if title:
        g.attr("graph", label=title, labelloc="t", labeljust="c")
    return g


def _draw_weights(g, view, pos, show_weights):
    """One edge per weight drawn (under the units), with its value where asked; a
    highlighted unit's incoming edges and their values last, on top of the rest."""
    hl, letters, sizes, shown = view.hl, view.letters, view.sizes, view.shown
    front, labels = [], []
    for l, layer in enumerate(view.layers):
        sources = ([("b", None)] if view.has_bias(l) else []) + \
            [("u", i) for i in range(shown[l])]
        for j in range(shown[l + 1]):
            dst_text = _plain(letters[l + 1], j + 1, sizes[l + 1])
            lit = hl is not None and (l + 1, j) == hl
            faded = hl is not None and not lit
            for kind, i in sources:
                w = float(layer.bias[j]) if kind == "b" else float(layer.weight[i, j])
                src = f"L{l}_b" if kind == "b" else _unit_id(l, i)
                what = (f"bias of {dst_text}" if kind == "b" else
                        f"{_plain(letters[l], i + 1, sizes[l])} → {dst_text}: "
                        f"W[{i}, {j}] of layer {l + 1}")
                line = _weight_edge(src, _unit_id(l + 1, j), w, view.wmax,
                                    f"{what}, w = {w:.4g}", faded=faded)
                (front if lit else g.body).append(line)
                if lit or show_weights:
                    tail = pos[(l, "bias", None)] if kind == "b" else pos[(l, "unit", i)]
                    # one target's labels share a distance from the tails, and the
                    # distance grows down the column, so labels of crossing edges part
                    at = 0.2 + 0.45 * j / max(shown[l + 1] - 1, 1) if show_weights else 0.27
                    label = _weight_label(f"W{l}_{'b' if kind == 'b' else i}_{j}", w, tail,
                                          pos[(l + 1, "unit", j)], what, at, faded=faded)
                    (labels if lit or hl is None else g.body).append(label)
    g.body.extend(front)
    g.body.extend(labels)


def _draw_units(g, view, pos, y_top):
    """Each column: its units, its bias unit, the "... n more" marker and its header."""
    hl, letters, sizes, shown = view.hl, view.letters, view.sizes, view.shown
    faded_units = set()
    if hl is not None:  # all but the highlighted unit and the layer that feeds it
        faded_units = {(l, j) for l in range(view.n_layers) for j in range(shown[l])
                       if (l, j) != hl and l != hl[0] - 1}
    for l in range(view.n_layers):
        for j in range(shown[l]):
            style = "highlight" if hl == (l, j) else "faded" if (l, j) in faded_units \
                else view.kind(l)
            label = "<" + _html_name(letters[l], j + 1, sizes[l]) + ">"
            tip = _unit_tooltip(view, l, j)
            g.body.append(_pinned(_unit_id(l, j), label, pos[(l, "unit", j)], tip,
                                  _unit_attrs(style, hl == (l, j),
                                              pretrained=l in view.pretrained)))
        if view.has_bias(l):
            fade = hl is not None and l != hl[0] - 1
            label = ("<1>" if "(" in letters[l] else
                     f'<<font point-size="11">{_html_name(letters[l], 0, 2)}=1</font>>')
            g.body.append(_pinned(f"L{l}_b", label, pos[(l, "bias", None)],
                                  f"{letters[l]}0 = 1: the bias input of layer {l + 1}",
                                  _unit_attrs("faded" if fade else "bias", False,
                                              node_style="dashed,filled")))
        if shown[l] < sizes[l]:
            n_more = sizes[l] - shown[l]
            g.body.append(_pinned(
                f"L{l}_more", _html_text(f"… {n_more:,} more"), pos[(l, "more", None)],
                f"{n_more:,} more units not drawn (max_units={view.max_units})",
                _attrs(shape="plaintext", fontcolor=_DIM, fontsize="11")))
        g.body.append(_pinned(f"H{l}", _header(view, l), (l * _DX, y_top + 0.75), "",
                              _attrs(shape="plaintext")))


def _draw_names(g, view, pos):
    """The names of the inputs and of the outputs, beside their units."""
    for l, names, side in ((0, view.input_names, -1), (view.n_layers - 1, view.output_names, 1)):
        if not names:
            continue
        for j in range(view.shown[l]):
            text = str(names[j])
            width = 0.085 * len(text) + 0.1
            x, y = pos[(l, "unit", j)]
            g.body.append(_pinned(f"N{l}_{j}", _html_text(text),
                                  (x + side * (_UNIT / 2 + 0.08 + width / 2), y), text,
                                  _attrs(shape="plaintext", fontsize="11", fontcolor="#334155",
                                         width=f"{width:.2f}", fixedsize="true")))


def _draw_legend(g, view, legend, y_bottom):
    """Below the diagram: the highlighted unit's formula, then (with ``legend``) what
    the colours, widths, bias units and pretrained layers mean."""
    rows = []
    if view.hl is not None:
        rows.append(_formula_row(view))
    if legend:
        bias = view.show_bias and any(view.has_bias(l) for l in range(view.n_layers))
        rows += _legend_rows(view.wmax, bias, bool(view.pretrained))
    label = ('<<table border="0" cellborder="0" cellspacing="1" cellpadding="1">'
             + "".join(rows) + "</table>>")
    g.body.append(_pinned("legend", label, ((view.n_layers - 1) * _DX / 2,
                                            y_bottom - 0.5 - 0.11 * len(rows)),
                          "legend", _attrs(shape="plaintext")))


# ------------------------------------------------------------------------ helpers
def _check_names(what, names, n):
    if names is None:
        return None
    names = list(names)
    if len(names) != n:
        raise ValueError(f"draw_network: {what} has {len(names)} names for {n} units")
    return names


def _check_highlight(highlight, sizes, shown, max_units):
    if highlight is None:
        return None
    try:
        layer, unit = highlight
        layer, unit = int(layer), int(unit)
    except (TypeError, ValueError):
        raise TypeError(f"draw_network: highlight must be a pair (layer, unit), such as (1, 0) "
                        f"for the first hidden unit, got {highlight!r}") from None
    n_layers = len(sizes)
    if layer < 0:
        layer += n_layers
    if not 1 <= layer < n_layers:
        raise ValueError(f"draw_network: highlight layer must be 1..{n_layers - 1} (1 is the first "
                         f"layer after the inputs, -1 the output layer; inputs have no incoming "
                         f"weights), got {highlight[0]!r}")
    if not 0 <= unit < sizes[layer]:
        raise ValueError(f"draw_network: layer {layer} has {sizes[layer]} units (0.."
                         f"{sizes[layer] - 1}), got unit {unit}")
    if unit >= shown[layer]:
        raise ValueError(f"draw_network: unit {unit} of layer {layer} is not drawn with "
                         f"max_units={max_units}; pass max_units={unit + 1} or more")
    return layer, unit


def _layer_letters(n_layers):
    """x for the inputs, y for the outputs, z for one hidden layer (z(1), z(2), ... for more)."""
    hidden = n_layers - 2
    names = ["x"] + (["z"] if hidden == 1 else [f"z({k})" for k in range(1, hidden + 1)])
    return names + ["y"]


def _html_name(letter, index, n):
    """'x<sub>1</sub>'; the single output unit is just 'y'."""
    if "(" in letter:
        base, layer = letter.split("(")
        return f"{base}<sup>({layer[:-1]})</sup><sub>{index}</sub>"
    if letter == "y" and n == 1:
        return "y"
    return f"{html.escape(letter)}<sub>{index}</sub>"


def _plain(letter, index, n):
    if letter == "y" and n == 1:
        return "y"
    return f"{letter}_{index}" if "(" in letter else f"{letter}{index}"


def _html_text(text):
    return "<" + html.escape(text) + ">"


def _unit_id(l, j):
    return f"L{l}_{j}"


def _pinned(node_id, label, xy, tooltip, attrs):
    x, y = xy
    return (f"\t{node_id} [label={label} pos={quote(f'{x:.3f},{y:.3f}!')} "
            f"tooltip={quote(tooltip)} {attrs}]\n")


def _unit_attrs(kind, emphasised, node_style="filled", pretrained=False):
    """A unit's circle; a pretrained unit has a double border (teal unless highlighted
    or faded)."""
    fill, border, text = _UNIT_STYLE["pretrained" if pretrained and kind == "hidden" else kind]
    return _attrs(shape="circle", fixedsize="true", width=str(_UNIT), style=node_style,
                  fillcolor=fill, color=border, fontcolor=text,
                  **({"penwidth": "2.6"} if emphasised else {}),
                  **({"peripheries": "2"} if pretrained else {}))


def _colour(w):
    return POSITIVE if w > 0 else NEGATIVE if w < 0 else ZERO


def _short(w):
    """A weight for an edge label: 3 significant digits, a real minus sign."""
    text = f"{w:.0e}" if 0 < abs(w) < 1e-3 else f"{w:.3g}"
    return text.replace("e-0", "e-").replace("-", "−")


def _weight_edge(src, dst, w, wmax, tooltip, faded):
    width = 0.5 + 4.5 * abs(w) / wmax if wmax > 0 else 0.5
    colour = _colour(w) + (_FADED_ALPHA if faded else "")
    return f"\t{src} -> {dst} [{_attrs(color=colour, penwidth=f'{width:.2f}', tooltip=tooltip)}]\n"


def _weight_label(node_id, w, tail, head, tooltip, at, faded=False):
    """The value of a weight, on a white patch on its edge, the fraction ``at`` of the
    way from the tail to the head."""
    x = tail[0] + at * (head[0] - tail[0])
    y = tail[1] + at * (head[1] - tail[1])
    return _pinned(node_id, _html_text(_short(w)), (x, y), tooltip,
                   _attrs(shape="box", style="rounded,filled",
                          fillcolor="#ffffff99" if faded else "#ffffffe6", color="#ffffff00",
                          fontcolor=_colour(w) + ("80" if faded else ""), fontsize="10",
                          width="0.1", height="0.1", margin="0.03,0.01"))


def _header(view, l):
    """The column's title: its kind and letter, its size and activation, and whether
    it was pretrained."""
    layers, letters, sizes = view.layers, view.letters, view.sizes
    letter = letters[l].split("(")[0]
    sup = f"<sup>({letters[l].split('(')[1][:-1]})</sup>" if "(" in letters[l] else ""
    parts = [f"{sizes[l]:,} unit{'s' if sizes[l] != 1 else ''}"]
    if l > 0:
        act = layers[l - 1].activation
        if act != "":
            parts.append(html.escape(act) if act else "linear")
    pretrained = (f'<br/><font point-size="10" color="{PRETRAINED}">pretrained (RBM)</font>'
                  if l in view.pretrained else "")
    return (f"<<b>{view.kind(l)} {letter}</b>{sup}<br/>"
            f'<font point-size="10" color="{_DIM}">{" · ".join(parts)}</font>{pretrained}>')


def _unit_tooltip(view, l, j):
    name = _plain(view.letters[l], j + 1, view.sizes[l])
    if l == 0:
        return f"{name}: input {j + 1}"
    layer = view.layers[l - 1]
    act = f" ({layer.activation or 'linear'})" if layer.activation != "" else ""
    bias = f", bias {layer.bias[j]:.4g}" if layer.bias is not None else ""
    pretrained = ", pretrained (RBM)" if l in view.pretrained else ""
    return f"{name}: unit {j} of layer {l}{act}{bias}{pretrained}"


def _formula_row(view):
    """'z1 = σ(−3.1 + 8.41 x1 − 5.78 x2)': what the highlighted unit computes."""
    (l, j), letters, sizes = view.hl, view.letters, view.sizes
    layer = view.layers[l - 1]
    n_in = sizes[l - 1]
    terms = []
    if layer.bias is not None:
        terms.append(_short(layer.bias[j]))
    if n_in <= 6:
        for i in range(n_in):
            w = float(layer.weight[i, j])
            src = _html_name(letters[l - 1], i + 1, n_in)
            terms.append(f"{_short(w)} {src}")
        inner = terms[0] if terms else "0"
        for t in terms[1:]:
            inner += f" − {t[1:]}" if t.startswith("−") else f" + {t}"
    else:
        src = _html_name(letters[l - 1], "i", n_in)
        inner = ("b + " if layer.bias is not None else "") + \
            f"Σ<sub>i</sub> {src} W<sub>i{j + 1}</sub> over {n_in} inputs"
    act = layer.activation
    if act == "softmax":
        body = f"softmax of ({inner})"
    elif act:
        body = f"{html.escape(act)}({inner})"
    else:
        body = inner
    name = _html_name(letters[l], j + 1, sizes[l])
    what = "logistic unit" if act == "σ" else "unit"
    return (f'<tr><td colspan="2" align="left"><font color="#92400e">highlighted {what}: '
            f"<b>{name}</b> = {body}</font></td></tr>")


def _legend_rows(wmax, bias, pretrained):
    def sample(colour):
        return f'<font color="{colour}" point-size="14">━━━</font>'

    small = f'<font point-size="10" color="{_DIM}">'
    rows = [
        (f'<tr><td align="right">{sample(POSITIVE)}</td><td align="left">positive weight: '
         "excitatory</td></tr>"),
        (f'<tr><td align="right">{sample(NEGATIVE)}</td><td align="left">negative weight: '
         "inhibitory</td></tr>"),
        (f'<tr><td colspan="2" align="left">{small}line width ∝ |w| (widest: |w| = '
         f"{_short(wmax)})</font></td></tr>"),
    ]
    if bias:
        rows.append(f'<tr><td colspan="2" align="left">{small}x<sub>0</sub> = 1, z<sub>0</sub> '
                    "= 1: bias inputs; their weights are the biases</font></td></tr>")
    if pretrained:
        rows.append(f'<tr><td align="right"><font color="{PRETRAINED}" point-size="14">◎</font>'
                    '</td><td align="left">double border: pretrained as an RBM, then trained '
                    "with the rest</td></tr>")
    return rows

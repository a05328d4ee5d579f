"""Plots for the lessons: loss curves, decision boundaries, activations, first-layer weights.

matplotlib is optional: it is imported when a plot is asked for, and a missing
matplotlib is an ImportError that says ``pip install matplotlib``. Each function
returns a matplotlib ``Figure`` (``fig.savefig("a.png")`` writes it) of the class
`Figure` below: left as a cell's value it shows itself as a picture in Jupyter, also
in a fresh kernel where ``%matplotlib inline`` never ran. Pass ``ax=`` to draw into
axes of your own. On a machine without a display the non-interactive 'Agg' backend
is used.
"""
from __future__ import annotations

import collections.abc
import io
import math
import os
import sys

import numpy as np

from ..tensor import Tensor
from .network import network_layers

_NON_GUI = {"agg", "cairo", "pdf", "pgf", "ps", "svg", "template"}
_CLASS0, _CLASS1 = "#e66101", "#5e3c99"  # the two ends of the PuOr colour map
_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">")


# ----------------------------------------------------------------------- matplotlib
def _matplotlib():
    """Import matplotlib (with a clear error when missing); 'Agg' when there is no display."""
    try:
        import matplotlib
    except ImportError as err:
        raise ImportError("tinygrad_edu's plots need matplotlib, which is not installed: "
                          "pip install matplotlib") from err
    headless = sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    if headless and "matplotlib.pyplot" not in sys.modules and not os.environ.get("MPLBACKEND"):
        matplotlib.use("Agg")
    return matplotlib


def plots_available():
    """True when matplotlib is installed; otherwise print how to install it, return False.

    For scripts that draw optional pictures: ``if tg.viz.plots_available(): ...``.
    """
    try:
        _matplotlib()
    except ImportError:
        print("matplotlib is not installed, so no pictures were drawn (pip install matplotlib)")
        return False
    return True


_FIGURE_CLASS = None


def _figure_class():
    """The `Figure` class, made once, when matplotlib is first needed."""
    global _FIGURE_CLASS
    if _FIGURE_CLASS is not None:
        return _FIGURE_CLASS
    import matplotlib.figure

    class Figure(matplotlib.figure.Figure):
        """A matplotlib Figure that Jupyter shows as a PNG picture when it is a cell's value.

        IPython asks an object for ``_repr_png_``; a plain Figure has none, and only
        after ``%matplotlib inline`` does IPython know how to draw one. The picture is
        the one ``savefig`` writes (tight bounding box, the figure's dpi). A figure that
        pyplot manages (made with a window or widget backend) gives None: its backend
        shows it itself, and it is not shown twice.
        """

        def _repr_png_(self):
            if getattr(self.canvas, "manager", None) is not None:
                return None
            buffer = io.BytesIO()
            self.savefig(buffer, format="png", bbox_inches="tight")
            return buffer.getvalue()

    Figure.__module__, Figure.__qualname__ = __name__, "Figure"  # pickle finds it here
    _FIGURE_CLASS = Figure
    return Figure


def __getattr__(name):
    # ``plots.Figure`` is made on first use, so that importing viz needs no matplotlib
    if name == "Figure":
        _matplotlib()
        return _figure_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _new_figure(figsize, nrows=1, ncols=1):
    """A `Figure` and its axes.

    With a window backend the figure comes from pyplot (so ``plt.show()`` shows it);
    otherwise (Agg, Jupyter's inline backend) it is a free-standing Figure, which
    pyplot does not keep alive and which Jupyter shows once, as the cell's value (the
    inline backend shows only pyplot's figures at the end of a cell).
    """
    mpl = _matplotlib()
    backend = mpl.get_backend().lower()
    cls = _figure_class()
    if backend in _NON_GUI or "inline" in backend:
        fig = cls(figsize=figsize, layout="constrained")
    else:
        import matplotlib.pyplot as plt
        fig = plt.figure(figsize=figsize, layout="constrained", FigureClass=cls)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    return fig, axes


def _figure_and_ax(ax, figsize):
    if ax is not None:
        _matplotlib()
        return ax.figure, ax
    fig, axes = _new_figure(figsize)
    return fig, axes[0, 0]


# --------------------------------------------------------------------------- history
def _history_curves(obj):
    """(loss, val_loss, x label) from a History, a fitted model, a dict or a list."""
    what = type(obj).__name__
    by_evaluation = getattr(obj, "solver_", None) in ("lbfgs", "cg")
    if hasattr(obj, "history_") or hasattr(obj, "loss_curve_"):
        history = getattr(obj, "history_", None)
        obj = history if history is not None else {"loss": obj.loss_curve_}
    elif hasattr(obj, "fit") and hasattr(obj, "get_params"):
        raise ValueError(f"plot_history: this {what} is not fitted yet, so it has no loss "
                         "curve; call fit(X, y) first")
    if isinstance(obj, collections.abc.Mapping):
        loss, val = obj.get("loss", []), obj.get("val_loss", [])
    elif hasattr(obj, "loss"):
        loss, val = obj.loss, getattr(obj, "val_loss", [])
        n_iter = getattr(obj, "n_iter", None)
        by_evaluation = by_evaluation or (n_iter is not None and n_iter != len(loss))
    elif isinstance(obj, (list, tuple, np.ndarray)):
        loss, val = obj, []
    else:
        raise TypeError(f"plot_history: expected a History, a fitted model, a dict with 'loss' "
                        f"(and 'val_loss') or a list of losses, got {what}")
    loss = np.asarray(loss, dtype=np.float64).reshape(-1)
    val = np.asarray(val if val is not None else [], dtype=np.float64).reshape(-1)
    if loss.size == 0:
        raise ValueError("plot_history: the history holds no loss values")
    return loss, val, ("evaluation of the loss (L-BFGS / CG)" if by_evaluation else "epoch")


def plot_history(history_or_model, ax=None, *, log_scale=None, title=None):
    """The loss curves of a training run: training loss and, when recorded, validation loss.

    history_or_model  a `train.History`, a fitted estimator (its ``history_``, or its
                      ``loss_curve_``), a dict with "loss" and "val_loss", or a list.
    log_scale         a logarithmic loss axis; None chooses it when the loss falls by
                      more than a factor of 50.
    The epoch with the lowest validation loss is marked with a dot.
    Returns the Figure.
    """
    loss, val, xlabel = _history_curves(history_or_model)
    fig, ax = _figure_and_ax(ax, (6.0, 3.8))
    epochs = np.arange(1, len(loss) + 1)
    ax.plot(epochs, loss, color="#2563eb", lw=2, label="training loss")
    if val.size:
        ve = np.arange(1, len(val) + 1)
        ax.plot(ve, val, color="#ea580c", lw=2, label="validation loss")
        best = int(np.nanargmin(val))
        ax.scatter([ve[best]], [val[best]], color="#ea580c", zorder=3, s=30,
                   label=f"lowest validation loss (epoch {ve[best]})")
    values = np.concatenate([loss, val])
    values = values[np.isfinite(values)]
    if log_scale is None:
        log_scale = values.size > 0 and values.min() > 0 and values.max() / values.min() > 50
    if log_scale:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("loss")
    ax.set_title(title if title is not None else
                 "Training and validation loss" if val.size else "Training loss")
    ax.grid(True, alpha=0.3)
    ax.legend(frameon=False)
    return fig


# ------------------------------------------------------------------ decision boundary
def _probabilities(model_or_fn, X):
    """Class probabilities (n, K) from an estimator or a function, and the class labels."""
    classes = getattr(model_or_fn, "classes_", None)
    if hasattr(model_or_fn, "predict_proba"):
        if hasattr(model_or_fn, "get_params") and not hasattr(model_or_fn, "classes_") \
                and not hasattr(model_or_fn, "module_"):
            raise ValueError(f"plot_decision_boundary: this {type(model_or_fn).__name__} is "
                             "not fitted yet; call fit(X, y) first")
        fn = model_or_fn.predict_proba
    elif callable(model_or_fn):
        fn = model_or_fn
    else:
        raise TypeError("plot_decision_boundary: expected a fitted classifier (with "
                        "predict_proba) or a function X -> probabilities, got "
                        f"{type(model_or_fn).__name__}")
    out = fn(X)
    p = np.asarray(out.data if isinstance(out, Tensor) else out, dtype=np.float64)
    if p.ndim == 1:
        p = p[:, None]
    if p.ndim != 2 or len(p) != len(X):
        raise ValueError(f"plot_decision_boundary: expected probabilities of shape (n,), (n, 1) "
                         f"or (n, n_classes) for {len(X)} points, got shape {p.shape}")
    if not (np.all(np.isfinite(p)) and p.min() >= -1e-9 and p.max() <= 1 + 1e-9):
        raise ValueError("plot_decision_boundary: the function returned values outside [0, 1]; "
                         "it must return probabilities (apply sigmoid or softmax to a "
                         "network's outputs, e.g. lambda X: model(X).sigmoid())")
    if p.shape[1] == 1:
        p = np.hstack([1.0 - p, p])
    return p, classes


def plot_decision_boundary(model_or_fn, X, y=None, ax=None, *, resolution=200, title=None,
                           feature_names=("x1", "x2")):
    """What a 2-D classifier predicts everywhere: the probability map, the decision
    boundary and the data.

    model_or_fn  a fitted classifier (its ``predict_proba``) or a function that maps an
                 (n, 2) array to probabilities: (n,) or (n, 1) for P(class 1), or
                 (n, n_classes).
    X, y         the data (X of shape (n, 2)); y colours the points and gives the
                 accuracy in the title.
    Two classes: the colour is P(y = 1 | x) and the black line is where it is 0.5, the
    separating curve (a straight line for a logistic unit). More classes: each region
    takes the colour of its most probable class. Returns the Figure.
    """
    X = np.asarray(X.data if isinstance(X, Tensor) else X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"plot_decision_boundary: X must have 2 columns (a 2-D data set), got "
                         f"shape {X.shape}")
    y = None if y is None else np.asarray(y).reshape(-1)
    if y is not None and len(y) != len(X):
        raise ValueError(f"plot_decision_boundary: X and y have different lengths: {len(X)} and "
                         f"{len(y)}")
    lo, hi = X.min(axis=0), X.max(axis=0)
    pad = np.maximum(0.15 * (hi - lo), 0.3)
    lo, hi = lo - pad, hi + pad
    g0, g1 = np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution)
    xx, yy = np.meshgrid(g0, g1)
    grid = np.column_stack([xx.ravel(), yy.ravel()])
    P, classes = _probabilities(model_or_fn, grid)
    K = P.shape[1]
    labels = list(classes) if classes is not None and len(classes) == K else list(range(K))

    own_figure = ax is None
    fig, ax = _figure_and_ax(ax, (5.6, 4.8))
    from matplotlib.lines import Line2D
    extent = (lo[0], hi[0], lo[1], hi[1])
    handles = []
    if K == 2:
        p1 = P[:, 1].reshape(xx.shape)
        im = ax.imshow(p1, origin="lower", extent=extent, cmap="PuOr", vmin=0, vmax=1,
                       aspect="auto", alpha=0.75, interpolation="bilinear")
        if p1.min() < 0.5 < p1.max():
            ax.contour(xx, yy, p1, levels=[0.5], colors="k", linewidths=1.6)
            handles.append(Line2D([], [], color="k", lw=1.6, label="P = 0.5: decision boundary"))
        if p1.max() - p1.min() < 0.02:  # a flat map says more in words
            ax.text(0.5, 0.5, f"P(y = {labels[1]} | x) ≈ {p1.mean():.2f} everywhere",
                    transform=ax.transAxes, ha="center", va="center", fontsize=10,
                    color="#334155", bbox={"boxstyle": "round", "fc": "white", "ec": "#cbd5e1"})
        bar = fig.colorbar(im, ax=ax, shrink=0.85, pad=0.03)
        bar.set_label(f"P(y = {labels[1]} | x)")
        colours = [_CLASS0, _CLASS1]
    else:
        from matplotlib import colormaps
        colours = [colormaps["tab10"](k % 10) for k in range(K)]
        rgb = P @ np.array([c[:3] for c in colours])
        rgb = 0.45 * rgb + 0.55  # lighter, so the points stand out
        ax.imshow(rgb.reshape(*xx.shape, 3), origin="lower", extent=extent, aspect="auto",
                  interpolation="bilinear")
        winner = P.argmax(axis=1).reshape(xx.shape)
        if len(np.unique(winner)) > 1:
            ax.contour(xx, yy, winner, levels=np.arange(K - 1) + 0.5, colors="k",
                       linewidths=0.9)
            handles.append(Line2D([], [], color="k", lw=0.9, label="decision boundaries"))
    if y is not None:
        size = 70 if len(X) <= 50 else 40 if len(X) <= 300 else 20
        for k, label in enumerate(labels):
            mask = y == label
            if mask.any():
                handles.append(ax.scatter(X[mask, 0], X[mask, 1], s=size, color=colours[k],
                                          marker=_MARKERS[k % len(_MARKERS)], edgecolors="black",
                                          linewidths=0.8, zorder=3, label=f"class {label}"))
    else:
        ax.scatter(X[:, 0], X[:, 1], s=30, color="#334155", edgecolors="white", zorder=3)
    if title is None:
        name = "" if not hasattr(model_or_fn, "predict_proba") else type(model_or_fn).__name__
        title = name
        if y is not None:
            pred = np.asarray(labels, dtype=object)[_probabilities(model_or_fn, X)[0].argmax(1)]
            acc = float(np.mean(pred == y.astype(object)))
            title = f"{name}: accuracy {acc:.0%}" if name else f"accuracy {acc:.0%}"
    if title:
        ax.set_title(title)
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_xlabel(feature_names[0])
    ax.set_ylabel(feature_names[1])
    if handles and own_figure:  # below the plot, where it hides nothing
        fig.legend(handles=handles, loc="outside lower center", ncol=min(len(handles), 4),
                   frameon=False, fontsize=9)
    elif handles:
        ax.legend(handles=handles, loc="best", fontsize=8, framealpha=0.85)
    return fig


# ------------------------------------------------------------------------ activations
def plot_activations(ax=None):
    """The sigmoid and tanh curves: a logistic unit's output as its input z = w·x + b
    varies. sigma(0) = 0.5 (on the separating hyperplane); tanh is a scaled sigmoid.
    Returns the Figure."""
    fig, ax = _figure_and_ax(ax, (6.0, 3.6))
    z = np.linspace(-6, 6, 401)
    ax.plot(z, 1 / (1 + np.exp(-z)), color="#7c3aed", lw=2.2,
            label="σ(z) = 1 / (1 + $e^{-z}$), in (0, 1)")
    ax.plot(z, np.tanh(z), color="#0891b2", lw=2.2, label="tanh(z) = 2σ(2z) − 1, in (−1, 1)")
    ax.scatter([0], [0.5], color="#7c3aed", zorder=3, s=25)
    ax.annotate("σ(0) = 0.5: on the line w·x + b = 0", (0, 0.5), xytext=(0.6, 0.2),
                fontsize=9, color="#475569", arrowprops={"arrowstyle": "-", "color": "#94a3b8"})
    ax.set_xlim(-6, 6)
    ax.set_ylim(-1.15, 1.15)
    ax.set_xlabel("z = w·x + b")
    ax.set_ylabel("unit output")
    ax.set_title("Activation functions")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper left", frameon=False, fontsize=9)
    return fig


# --------------------------------------------------------------------- first layer
def plot_first_layer(model, shape=(8, 8), *, max_units=64, ncols=None, cmap="RdBu"):
    """The first layer's weights as images: unit j's incoming weights (column j of W)
    reshaped to ``shape`` -- for 8×8 digits, what pattern each hidden unit looks for.

    model      a fitted estimator, a Module of Linear layers, or a weight matrix
               (n_inputs, n_units) / list of them (as for draw_network).
    shape      the image shape; its size must equal the number of inputs.
    max_units  draw at most this many units (the first ones).
    Blue pixels are positive (excitatory) weights, red negative (inhibitory), on one
    colour scale for all units. Returns the Figure.
    """
    layers, _ = network_layers(model)
    W = layers[0].weight
    shape = tuple(int(s) for s in shape)
    if math.prod(shape) != W.shape[0]:
        raise ValueError(f"plot_first_layer: shape {shape} has {math.prod(shape)} pixels but the "
                         f"first layer has {W.shape[0]} inputs")
    n = W.shape[1] if max_units is None else min(W.shape[1], max_units)
    ncols = ncols or min(n, max(1, math.ceil(math.sqrt(n))), 10)
    nrows = math.ceil(n / ncols)
    fig, axes = _new_figure((1.25 * ncols + 0.9, 1.3 * nrows + 0.5), nrows, ncols)
    m = float(np.max(np.abs(W[:, :n]))) or 1.0
    im = None
    for k, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        if k >= n:
            ax.set_axis_off()
            continue
        im = ax.imshow(W[:, k].reshape(shape), cmap=cmap, vmin=-m, vmax=m,
                       interpolation="nearest")
        ax.set_title(f"z{k + 1}", fontsize=9)
    fig.colorbar(im, ax=axes, fraction=0.04, pad=0.02, label="weight")
    more = f" (first {n} of {W.shape[1]})" if n < W.shape[1] else ""
    fig.suptitle(f"First layer: each unit's {W.shape[0]} incoming weights as a "
                 f"{'×'.join(map(str, shape))} image{more}\nblue: excitatory (+), "
                 "red: inhibitory (−)", fontsize=10)
    return fig


__all__ = ["plot_activations", "plot_decision_boundary", "plot_first_layer", "plot_history"]

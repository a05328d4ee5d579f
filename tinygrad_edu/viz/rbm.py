"""Pictures of a restricted Boltzmann machine: its filters, its Gibbs chains, its training.

Conventions as in plots.py: matplotlib is imported when a picture is asked for (a clear
ImportError when it is missing), each function returns the matplotlib ``Figure``, and
the non-interactive 'Agg' backend is used on a machine without a display. They read a
fitted RBM's attributes (``components_`` W, ``intercept_visible_`` b,
``intercept_hidden_`` c, ``history_``), so any object with those works: a
``tg.models.BernoulliRBM``, scikit-learn's BernoulliRBM, or one of a DBN's ``rbms_``.
"""
from __future__ import annotations

import math

import numpy as np

from .plots import _new_figure

__all__ = ["gibbs_chain", "plot_gibbs_chain", "plot_rbm_filters", "plot_rbm_history"]


def _fitted(rbm, what, *names):
    """The named attributes of a fitted RBM, or a clear error."""
    missing = [n for n in names if not hasattr(rbm, n)]
    if missing:
        kind = type(rbm).__name__
        if hasattr(rbm, "fit"):
            raise ValueError(f"{what}: this {kind} is not fitted yet (it has no "
                             f"{missing[0]}); call fit(X) first")
        raise TypeError(f"{what}: expected a fitted RBM (with {', '.join(names)}), got {kind}")
    return [np.asarray(getattr(rbm, n), dtype=np.float64) for n in names]


def _image_shape(image_shape, n_features, what):
    if image_shape is None:
        side = math.isqrt(n_features)
        if side * side != n_features:
            raise ValueError(f"{what}: {n_features} features are not a square image; pass "
                             "image_shape=(height, width)")
        return side, side
    shape = tuple(int(s) for s in image_shape)
    if math.prod(shape) != n_features:
        raise ValueError(f"{what}: image_shape {shape} has {math.prod(shape)} pixels but the "
                         f"RBM has {n_features} visible units")
    return shape


def _off_axes(ax):
    ax.set_xticks([])
    ax.set_yticks([])


# --------------------------------------------------------------------------- filters
def plot_rbm_filters(rbm, image_shape=None, *, max_components=64, ncols=None, cmap="RdBu",
                     title=None):
    """Each hidden unit's weights (a row of ``components_``) as an image: the pattern
    of pixels that switches the unit on, P(h_j = 1 | v) = sigmoid(c_j + W_j·v).

    image_shape     (height, width); None: a square image (8x8 for the digits).
    max_components  draw at most this many units (the first ones).
    Blue pixels are positive weights (they excite the unit), red negative (they
    inhibit it), on one colour scale for all units. Returns the Figure.
    """
    W, = _fitted(rbm, "plot_rbm_filters", "components_")
    if W.ndim != 2:
        raise ValueError(f"plot_rbm_filters: components_ must be 2-D (n_components, "
                         f"n_features), got shape {W.shape}")
    shape = _image_shape(image_shape, W.shape[1], "plot_rbm_filters")
    n = W.shape[0] if max_components is None else min(W.shape[0], int(max_components))
    ncols = ncols or min(n, 10)
    nrows = math.ceil(n / ncols)
    fig, axes = _new_figure((1.1 * ncols + 0.9, 1.15 * nrows + 0.7), nrows, ncols)
    m = float(np.max(np.abs(W[:n]))) or 1.0
    image = None
    for j, ax in enumerate(axes.flat):
        _off_axes(ax)
        if j >= n:
            ax.set_axis_off()
            continue
        image = ax.imshow(W[j].reshape(shape), cmap=cmap, vmin=-m, vmax=m,
                          interpolation="nearest")
        ax.set_title(f"h{j + 1}", fontsize=8)
    fig.colorbar(image, ax=axes, fraction=0.04, pad=0.02, label="weight")
    more = f" (first {n} of {W.shape[0]})" if n < W.shape[0] else ""
    fig.suptitle(title if title is not None else
                 f"RBM filters: each hidden unit's {W.shape[1]} weights as a "
                 f"{shape[0]}×{shape[1]} image{more}\nblue: excitatory (+), "
                 "red: inhibitory (−)", fontsize=10)
    return fig


# ------------------------------------------------------------------------ Gibbs chain
def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # 1 / (1 + exp(-x)), without overflow


def gibbs_chain(rbm, X, steps=(1, 10, 100), random_state=0):
    """Run a Gibbs chain v -> h -> v from each row of X and return what the pictures
    show: {"input": X, "reconstruction": P(v | h = P(h | v = X)),
    step: P(v = 1 | h) after that many steps, for each step in ``steps``}.

    Each step samples h ~ P(h | v) and then v ~ P(v | h); the probabilities P(v = 1 | h)
    of the last step are kept (smoother to look at than the binary sample). The chain
    draws from its own RandomState(random_state), not from the RBM's.
    """
    W, b, c = _fitted(rbm, "plot_gibbs_chain", "components_", "intercept_visible_",
                      "intercept_hidden_")
    X = np.asarray(X, dtype=np.float64)
    if X.ndim == 1:
        X = X[None, :]
    if X.ndim != 2 or X.shape[1] != W.shape[1]:
        raise ValueError(f"plot_gibbs_chain: X must have {W.shape[1]} columns (the RBM's "
                         f"visible units), got shape {X.shape}")
    steps = sorted({int(s) for s in np.atleast_1d(steps)})
    if not steps or steps[0] < 1:
        raise ValueError(f"plot_gibbs_chain: steps must be positive integers, got {steps}")
    rng = np.random.RandomState(random_state)
    out = {"input": X, "reconstruction": _sigmoid(_sigmoid(X @ W.T + c) @ W + b)}
    v = X
    for step in range(1, steps[-1] + 1):
        p_h = _sigmoid(v @ W.T + c)
        h = (rng.uniform(size=p_h.shape) < p_h).astype(np.float64)
        p_v = _sigmoid(h @ W + b)
        v = (rng.uniform(size=p_v.shape) < p_v).astype(np.float64)
        if step in steps:
            out[step] = p_v
    return out


def plot_gibbs_chain(rbm, X, steps=(1, 10, 100), *, image_shape=None, max_images=8,
                     random_state=0, title=None):
    """The inputs, their reconstructions and where Gibbs chains started at them go.

    Column i is row i of X (at most ``max_images``). Rows: the input v; its mean-field
    reconstruction P(v | h = P(h | v)); then P(v = 1 | h) after each number of Gibbs
    steps in ``steps`` (see `gibbs_chain`). Early steps stay close to the input, later
    ones wander to what the model finds probable: its samples. Returns the Figure.
    """
    X = np.asarray(X, dtype=np.float64)
    X = X[None, :] if X.ndim == 1 else X[:max_images]
    rows = gibbs_chain(rbm, X, steps, random_state)
    shape = _image_shape(image_shape, X.shape[1], "plot_gibbs_chain")
    labels = {"input": "input v", "reconstruction": "reconstruction"}
    n = len(X)
    fig, axes = _new_figure((1.05 * n + 1.4, 1.1 * len(rows) + 0.6), len(rows), n)
    for r, (key, images) in enumerate(rows.items()):
        for i in range(n):
            ax = axes[r, i]
            _off_axes(ax)
            ax.imshow(images[i].reshape(shape), cmap="gray_r", vmin=0, vmax=1,
                      interpolation="nearest")
        axes[r, 0].set_ylabel(labels.get(key, f"{key} step{'s' if key != 1 else ''}"),
                              fontsize=8, rotation=0, ha="right", va="center")
    fig.suptitle(title if title is not None else
                 "Gibbs chains from the inputs: P(v = 1 | h) after k steps of v → h → v",
                 fontsize=10)
    return fig


# ---------------------------------------------------------------------------- history
def plot_rbm_history(rbm, *, title=None):
    """The training curves from ``history_``: the mean pseudo-likelihood (higher is
    better) and the reconstruction error (lower is better), per epoch. Returns the
    Figure."""
    if not hasattr(rbm, "history_"):
        if hasattr(rbm, "components_"):
            raise ValueError("plot_rbm_history: this RBM has no history_ (only "
                             "tinygrad_edu's BernoulliRBM.fit records one)")
        raise ValueError(f"plot_rbm_history: this {type(rbm).__name__} is not fitted yet; "
                         "call fit(X) first")
    history = rbm.history_
    pl = np.asarray(history.get("pseudo_likelihood", []), dtype=np.float64)
    err = np.asarray(history.get("reconstruction_error", []), dtype=np.float64)
    if pl.size == 0 and err.size == 0:
        raise ValueError("plot_rbm_history: the history holds no epochs (n_iter=0, or only "
                         "partial_fit was called)")
    fig, axes = _new_figure((9.0, 3.4), 1, 2)
    for ax, values, label, colour in ((axes[0, 0], pl, "mean pseudo-likelihood", "#2563eb"),
                                      (axes[0, 1], err, "reconstruction error (MSE)",
                                       "#ea580c")):
        epochs = np.arange(1, len(values) + 1)
        ax.plot(epochs, values, color=colour, lw=2, marker="o", ms=3)
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.grid(True, alpha=0.3)
    axes[0, 0].set_title("higher is better", fontsize=9)
    axes[0, 1].set_title("lower is better", fontsize=9)
    fig.suptitle(title if title is not None else
                 f"{type(rbm).__name__} training, {len(pl)} epochs", fontsize=10)
    return fig


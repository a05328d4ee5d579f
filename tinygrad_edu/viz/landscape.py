"""How training moves: a loss landscape with the paths optimizers take across it, and a
decision boundary as it forms over the epochs.

    A = tg.Tensor([[3.0, 0.5], [0.5, 1.0]])
    fig = tg.viz.plot_loss_landscape(lambda w: 0.5 * (w @ (A @ w)), w0=[2.0, -1.5])
    fig.paths["adam"]                   # the (steps + 1, 2) points Adam visited
    tg.viz.plot_decision_boundaries_over_epochs(None, *tg.data.xor())

Conventions as in plots.py: matplotlib is imported when a picture is asked for (a clear
ImportError when it is missing), each function returns plots.py's ``Figure`` (it shows
itself in Jupyter), and the non-interactive 'Agg' backend is used on a machine without a
display. The paths come from the package's own optimizers (``tg.optim``) driven by the
engine's gradients, so they are exactly what a training loop would do.
"""
from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

from ..errors import ArgumentError, DTypeError, GradientError, ShapeError
from ..modes import no_grad
from ..tensor import Tensor
from .plots import _figure_and_ax, _matplotlib, _new_figure, plot_decision_boundary

__all__ = ["OPTIMIZERS", "plot_decision_boundaries_over_epochs", "plot_loss_landscape"]

# name -> (legend label, colour); the optimizer itself is made by _make_optimizer
OPTIMIZERS = {
    "gd": ("gradient descent", "#ea580c"),
    "momentum": ("momentum", "#7c3aed"),
    "adam": ("Adam", "#0f766e"),
}


# ----------------------------------------------------------------------- the paths
def _make_optimizer(name, params, lr, momentum):
    """tg.optim's optimizer for one of the OPTIMIZERS names."""
    from .. import optim  # viz imports only the core when it is imported
    if name == "gd":
        return optim.SGD(params, lr=lr)
    if name == "momentum":
        return optim.SGD(params, lr=lr, momentum=momentum)
    return optim.Adam(params, lr=lr)


def _loss_and_grad(loss_fn, w, what):
    """The loss at the leaf w (a Tensor of shape (2,)) as a float; its gradient lands in
    w.grad. Checks what loss_fn gives back."""
    loss = loss_fn(w)
    if not isinstance(loss, Tensor):
        raise DTypeError(f"{what}: loss_fn must return a Tensor computed from w with the "
                         f"engine's ops (so that backward() gives the gradient), got "
                         f"{type(loss).__name__}")
    if loss.size != 1:
        raise ShapeError(f"{what}: loss_fn must return a one-element Tensor (the loss), got "
                         f"shape {loss.shape}; reduce it, e.g. with .sum() or .mean()")
    if loss.requires_grad:
        loss.backward()
    if w.grad is None:
        raise GradientError(f"{what}: the loss does not depend on w (w.grad is None after "
                            "backward()); compute it from the Tensor loss_fn is given")
    return float(loss.item())


def _descent_path(loss_fn, w0, name, lr, steps, momentum, what):
    """The points w_0 .. w_steps that optimizer ``name`` visits, and the loss at each.

    A diverging run (a non-finite loss) stops there; the rest of both arrays is NaN."""
    w = Tensor(w0.copy(), requires_grad=True)
    opt = _make_optimizer(name, [w], lr, momentum)
    path = np.full((steps + 1, 2), np.nan)
    losses = np.full(steps + 1, np.nan)
    for t in range(steps + 1):
        path[t] = w.data
        opt.zero_grad()
        losses[t] = _loss_and_grad(loss_fn, w, what)
        if not (math.isfinite(losses[t]) and np.all(np.isfinite(w.grad.data))):
            break
        if t < steps:
            opt.step()
    return path, losses


def _check_w0(w0, what):
    try:
        w0 = np.array(w0.data if isinstance(w0, Tensor) else w0, dtype=np.float64)
    except (TypeError, ValueError):
        raise DTypeError(f"{what}: w0 must be two numbers (the starting weights), got "
                         f"{w0!r}") from None
    if w0.shape != (2,):
        raise ShapeError(f"{what}: w0 must have shape (2,): the landscape is drawn over two "
                         f"weights; got shape {w0.shape}")
    if not np.all(np.isfinite(w0)):
        raise ArgumentError(f"{what}: w0 must be finite, got {w0.tolist()}")
    return w0


def _check_positive_int(value, key, what):
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
        raise ArgumentError(f"{what}: {key} must be an integer >= 1, got {value!r}")
    return int(value)


def _learning_rates(lr, names, what):
    """One learning rate per optimizer: lr itself, or lr[name] from a dict."""
    rates = {}
    for name in names:
        value = lr.get(name) if isinstance(lr, dict) else lr
        if value is None:
            raise ArgumentError(f"{what}: lr is a dict without an entry for {name!r}")
        if not isinstance(value, numbers.Real) or isinstance(value, bool) \
                or not (math.isfinite(value) and value > 0):
            raise ArgumentError(f"{what}: the learning rate must be a finite number > 0, got "
                                f"{value!r}" + (f" for {name!r}" if isinstance(lr, dict) else ""))
        rates[name] = float(value)
    return rates


def _auto_extent(w0, paths, losses):
    """A box around the paths, padded. A diverging path's points, whose loss climbs
    above the start's, are left out, so that the picture stays on what converges."""
    start = losses[next(iter(losses))][0]
    lowest = min(np.nanmin(v) for v in losses.values())
    limit = start + 2.0 * (start - lowest)
    points = [w0[None]] + [p[np.isfinite(v) & (v <= limit)] for p, v in
                           zip(paths.values(), losses.values())]
    points = np.concatenate(points)
    lo, hi = points.min(axis=0), points.max(axis=0)
    half = 0.5 * (hi - lo).max()
    half += max(0.25 * half, 0.5)  # square, so that the picture keeps the geometry
    centre = 0.5 * (lo + hi)
    lo, hi = centre - half, centre + half
    return (lo[0], hi[0], lo[1], hi[1])


def _grid_losses(loss_fn, extent, resolution):
    """The loss on a resolution x resolution grid over extent, without a graph."""
    g0 = np.linspace(extent[0], extent[1], resolution)
    g1 = np.linspace(extent[2], extent[3], resolution)
    xx, yy = np.meshgrid(g0, g1)
    Z = np.empty(xx.shape)
    with no_grad(), np.errstate(all="ignore"):
        for idx in np.ndindex(xx.shape):
            Z[idx] = float(loss_fn(Tensor(np.array([xx[idx], yy[idx]]))).item())
    return xx, yy, Z


def plot_loss_landscape(loss_fn, w0, *, optimizers=("gd", "momentum", "adam"), lr=0.1,
                        steps=100, momentum=0.9, extent=None, resolution=101, levels=15,
                        ax=None, title=None, weight_names=("w[0]", "w[1]")):
    """The contour of a loss over two weights, with the paths that gradient descent,
    momentum and Adam take across it from the same start.

    loss_fn     a function of a Tensor w of shape (2,) that returns the loss as a
                one-element Tensor, computed with the engine's ops, e.g.
                ``lambda w: 0.5 * (w @ (A @ w))`` or, for a logistic unit with two
                weights on data X (n, 2) and targets t,
                ``lambda w: F.binary_cross_entropy_with_logits(Tensor(X) @ w, t)``.
                To look at two weights of a bigger model, write the loss as a function
                of those two with the others held fixed.
    w0          the start, two numbers.
    optimizers  names from OPTIMIZERS, each run with tg.optim from w0 on the gradients
                that ``loss.backward()`` gives (g_t = dL/dw at w_t):

                "gd"        SGD(lr):           w_(t+1) = w_t - lr g_t
                "momentum"  SGD(lr, momentum): b_1 = g_0, b_(t+1) = mu b_t + g_t,
                                               w_(t+1) = w_t - lr b_(t+1)
                "adam"      Adam(lr):          m_(t+1) = b1 m_t + (1 - b1) g_t,
                                               v_(t+1) = b2 v_t + (1 - b2) g_t^2,
                                               w_(t+1) = w_t - lr m_hat / (sqrt(v_hat) + eps)
                            with m_hat = m_(t+1) / (1 - b1^(t+1)), v_hat likewise,
                            b1 = 0.9, b2 = 0.999, eps = 1e-8, m_0 = v_0 = 0.
    lr          the learning rate of every optimizer, or a dict name -> learning rate.
    steps       how many updates each optimizer makes.
    momentum    mu of "momentum".
    extent      (w0_min, w0_max, w1_min, w1_max), the region drawn; None: a box around
                the paths (a diverging path runs off it).
    resolution  the grid is resolution x resolution evaluations of loss_fn.
    levels      how many filled contour bands; their edges are quantiles of the loss on
                the grid, so they run from its lowest to its highest value and are as
                dense near a narrow valley's floor as on its steep walls.
    ax          axes to draw into (default: a new figure).

    The legend gives each path's final loss; a white circle marks the start, a star each
    path's end, and a dot each iterate, so the step lengths show. Returns the Figure,
    with ``fig.paths`` (name -> array (steps + 1, 2) of the points w_0 .. w_steps),
    ``fig.losses`` (name -> the loss at each) and ``fig.grid`` (the meshgrids xx, yy
    and the losses Z of the contour). A run that diverges (a non-finite loss) stops
    there: the rest of its rows are NaN and the legend says so.
    """
    what = "plot_loss_landscape"
    _matplotlib()  # a missing matplotlib says so before any work is done
    if not callable(loss_fn):
        raise DTypeError(f"{what}: loss_fn must be a function of a Tensor w of shape (2,), "
                         f"got {type(loss_fn).__name__}")
    w0 = _check_w0(w0, what)
    names = [optimizers] if isinstance(optimizers, str) else list(optimizers)
    known = ", ".join(map(repr, OPTIMIZERS))
    unknown = [n for n in names if n not in OPTIMIZERS]
    if unknown:
        raise ArgumentError(f"{what}: unknown optimizer {unknown[0]!r}; choose from {known}")
    if not names:
        raise ArgumentError(f"{what}: optimizers is empty; choose from {known}")
    if len(set(names)) != len(names):
        raise ArgumentError(f"{what}: optimizers names one optimizer twice: {names}")
    rates = _learning_rates(lr, names, what)
    steps = _check_positive_int(steps, "steps", what)
    resolution = _check_positive_int(resolution, "resolution", what)
    levels = _check_positive_int(levels, "levels", what)
    if resolution < 2:
        raise ArgumentError(f"{what}: resolution must be at least 2, got {resolution}")

    paths, losses = {}, {}
    with np.errstate(over="ignore", invalid="ignore"):  # a diverging run stops by itself
        for name in names:
            paths[name], losses[name] = _descent_path(loss_fn, w0, name, rates[name], steps,
                                                      momentum, what)
    if extent is None:
        extent = _auto_extent(w0, paths, losses)
    else:
        extent = tuple(float(v) for v in np.asarray(extent, dtype=np.float64).reshape(-1))
        if len(extent) != 4 or not (extent[0] < extent[1] and extent[2] < extent[3]):
            raise ArgumentError(f"{what}: extent must be (w0_min, w0_max, w1_min, w1_max) "
                                f"with min < max, got {extent}")
    xx, yy, Z = _grid_losses(loss_fn, extent, resolution)
    finite = Z[np.isfinite(Z)]
    if finite.size == 0:
        raise ArgumentError(f"{what}: the loss is not finite anywhere in extent {extent}")

    own_figure = ax is None
    fig, ax = _figure_and_ax(ax, (7.2, 7.0))
    from matplotlib.lines import Line2D
    bounds = np.unique(np.quantile(finite, np.linspace(0.0, 1.0, levels + 1)))
    if bounds.size < 2:  # a flat loss: one band
        bounds = np.array([finite.min() - 0.5, finite.max() + 0.5])
    Zm = np.ma.masked_invalid(Z)
    filled = ax.contourf(xx, yy, Zm, levels=bounds, cmap="Greys", alpha=0.55)
    if bounds.size > 2:
        ax.contour(xx, yy, Zm, levels=bounds[1:-1], colors="#64748b", linewidths=0.6)
    bar = fig.colorbar(filled, ax=ax, shrink=0.8, pad=0.02, format="%.3g")
    bar.set_label("loss")

    handles = []
    for name in names:
        label, colour = OPTIMIZERS[name]
        path, loss = paths[name], losses[name]
        done = np.isfinite(loss)
        last = int(np.flatnonzero(done)[-1]) if done.any() else 0
        end = f"final loss {loss[last]:.3g}" if last == steps else f"diverged at step {last}"
        line, = ax.plot(path[:, 0], path[:, 1], color=colour, lw=2.2, marker="o", ms=3.5,
                        label=f"{label} (lr {rates[name]:g}): {end}", zorder=3)
        handles.append(line)
        ax.plot(path[last, 0], path[last, 1], color=colour, marker="*", ms=17,
                markeredgecolor="black", markeredgewidth=0.9, ls="none", zorder=5)
    start, = ax.plot(w0[0], w0[1], ls="none", marker="o", ms=12, color="white",
                     markeredgecolor="black", markeredgewidth=1.6, zorder=6,
                     label=f"start ({w0[0]:.3g}, {w0[1]:.3g}), loss {losses[names[0]][0]:.3g}")
    handles += [start, Line2D([], [], ls="none", marker="*", ms=13, color="#94a3b8",
                              markeredgecolor="black", label=f"end, after {steps} steps")]
    if own_figure:  # below the plot, where it hides no path
        fig.legend(handles=handles, loc="outside lower center", ncol=2, frameon=False)
    else:
        ax.legend(handles=handles, loc="best", fontsize=8, framealpha=0.9)
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    spans = (extent[1] - extent[0], extent[3] - extent[2])
    if max(spans) <= 4 * min(spans):  # equal scales: the gradient is normal to the contours
        ax.set_aspect("equal")
    ax.set_xlabel(weight_names[0])
    ax.set_ylabel(weight_names[1])
    ax.set_title(title if title is not None else
                 "The paths of " + _and([OPTIMIZERS[n][0] for n in names]) + "\nfrom one start")
    if own_figure:
        # constrained layout settles an equal-aspect box on its second pass: make the
        # first one here, so that the first picture shown or saved is laid out right
        fig.draw_without_rendering()
    fig.paths, fig.losses, fig.grid = paths, losses, (xx, yy, Z)
    return fig


def _and(words):
    """'a', 'a and b', 'a, b and c'."""
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


# ------------------------------------------------------- decision boundary over epochs
def _default_classifier():
    from ..models import MLPClassifier
    return MLPClassifier(hidden_layer_sizes=(8,), activation="tanh", solver="adam",
                         learning_rate_init=0.1, random_state=0)


def _trained(model, epochs, seed, X, y, what):
    """A fresh estimator with max_iter = epochs (and random_state = seed), fitted."""
    if hasattr(model, "get_params") and hasattr(model, "set_params"):
        params = model.get_params()
        if "max_iter" not in params:
            raise ArgumentError(f"{what}: {type(model).__name__} has no max_iter to stop "
                                "its training at each epoch count")
        est = type(model)(**params).set_params(max_iter=epochs)
        if "random_state" in params:
            est.set_params(random_state=seed)
    else:
        est = model(epochs)
        if not hasattr(est, "fit"):
            raise DTypeError(f"{what}: the factory must return an estimator (with fit), got "
                             f"{type(est).__name__}")
    with warnings.catch_warnings():  # stopping before convergence is the point here
        warnings.filterwarnings("ignore", message=".*reached max_iter")
        return est.fit(X, y)


def plot_decision_boundaries_over_epochs(model, X, y, *, epochs=(1, 5, 20, 100), ncols=None,
                                         resolution=100, feature_names=("x1", "x2")):
    """The decision boundary of a classifier as it forms: one panel per epoch count,
    each with the probability map, the boundary P = 0.5 and the data.

    model   an unfitted estimator with ``max_iter`` (e.g. ``tg.models.MLPClassifier`` or
            ``LogisticRegression``), a function ``epochs -> unfitted estimator`` (which
            fixes its own random_state), or None:
            ``MLPClassifier(hidden_layer_sizes=(8,), activation="tanh", solver="adam",
            learning_rate_init=0.1, random_state=0)``.
    X, y    the training data, X of shape (n, 2).
    epochs  the epoch counts, one panel each.

    Each panel trains afresh with ``max_iter = e`` (the estimators have no warm start),
    from the same random_state (an int drawn once when it is None or a generator), so
    the panels are snapshots of one and the same run: the same initial weights and the
    same minibatches, stopped after e epochs (or earlier, when its stopping rule fires:
    the title then says where). With solver "sgd" or "adam" an epoch is a pass over the
    data; with "lbfgs" or "cg" (which solver="auto" picks on small data) it is an
    iteration. A panel's title gives its training accuracy. Returns the Figure, with
    ``fig.models`` (the fitted estimators) and ``fig.accuracies`` (their training
    accuracies), in the order of ``epochs``.
    """
    what = "plot_decision_boundaries_over_epochs"
    _matplotlib()
    if isinstance(epochs, numbers.Integral):
        epochs = (epochs,)
    epochs = [_check_positive_int(e, "each of epochs", what) for e in epochs]
    if not epochs:
        raise ArgumentError(f"{what}: epochs is empty; give the epoch counts to draw")
    model = _default_classifier() if model is None else model
    if isinstance(model, type):
        raise DTypeError(f"{what}: model is the class {model.__name__}; pass an estimator, "
                         f"{model.__name__}(...)")
    if not callable(model) and not hasattr(model, "get_params"):
        raise DTypeError(f"{what}: model must be an estimator, a function epochs -> "
                         f"estimator, or None; got {type(model).__name__}")
    seed = None
    if hasattr(model, "get_params"):
        state = model.get_params().get("random_state")
        if isinstance(state, numbers.Integral):
            seed = int(state)
        else:
            from ..random import rng
            seed = int(rng(state).integers(2 ** 31 - 1))
    X = np.asarray(X.data if isinstance(X, Tensor) else X, dtype=np.float64)
    y = np.asarray(y).reshape(-1)

    n = len(epochs)
    ncols = min(n, 4) if ncols is None else _check_positive_int(ncols, "ncols", what)
    nrows = math.ceil(n / ncols)
    fig, axes = _new_figure((3.0 * ncols + 1.0, 3.0 * nrows + 1.0), nrows, ncols)
    models, accuracies, handles = [], [], None
    for k, ax in enumerate(axes.flat):
        if k >= n:
            ax.remove()
            continue
        est = _trained(model, epochs[k], seed, X, y, what)
        acc = float(est.score(X, y))
        unit = "iteration" if getattr(est, "solver_", "adam") in ("lbfgs", "cg") else "epoch"
        unit += "s" if epochs[k] > 1 else ""
        ran = getattr(est, "n_iter_", epochs[k])
        stopped = f"\n(its stopping rule fired at {ran})" if ran < epochs[k] else ""
        plot_decision_boundary(est, X, y, ax=ax, resolution=resolution,
                               feature_names=feature_names,
                               title=f"{epochs[k]} {unit}: accuracy {acc:.0%}{stopped}")
        # one colour bar and one legend for all the panels, not one each
        for image in ax.images:
            if image.colorbar is not None:
                image.colorbar.remove()
        legend = ax.get_legend()
        if legend is not None:
            handles = (legend.legend_handles, [t.get_text() for t in legend.get_texts()])
            legend.remove()
        if k % ncols:
            ax.set_ylabel("")
        models.append(est)
        accuracies.append(acc)
    shown = list(axes.flat)[:n]
    if len(getattr(models[-1], "classes_", ())) == 2 and shown[0].images:
        bar = fig.colorbar(shown[0].images[0], ax=shown, shrink=0.85, pad=0.02)
        bar.set_label(f"P(y = {models[-1].classes_[1]} | x)")
    if handles:
        fig.legend(*handles, loc="outside lower center", ncol=len(handles[0]), frameon=False)
    fig.suptitle(f"The decision boundary of {type(models[-1]).__name__} as training goes on")
    fig.models, fig.accuracies = models, accuracies
    return fig

"""The loss landscape and the decision boundary over epochs (tinygrad_edu/viz/landscape.py).

The paths must be exactly what tg.optim does with the engine's gradients: checked here
against the update rules written out in numpy on L(w) = 0.5 w^T A w, whose gradient is A w.
"""
import sys

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu.viz import plot_decision_boundaries_over_epochs, plot_loss_landscape

pytest.importorskip("matplotlib")

A = np.array([[3.0, 0.5], [0.5, 1.0]])
W0 = np.array([2.0, -1.5])


def quadratic(w):
    return 0.5 * (w @ (tg.Tensor(A) @ w))


@pytest.fixture(scope="module")
def landscape():
    return plot_loss_landscape(quadratic, W0, lr=0.1, steps=100, resolution=41)


def test_gd_path_is_w_minus_lr_times_the_gradient(landscape):
    path, w = landscape.paths["gd"], W0.copy()
    assert path.shape == (101, 2)
    for t in range(10):
        np.testing.assert_allclose(path[t], w, rtol=0, atol=1e-14)
        w = w - 0.1 * (A @ w)
    np.testing.assert_allclose(landscape.losses["gd"][:3],
                               [0.5 * p @ A @ p for p in path[:3]], rtol=1e-14)


def test_momentum_path_follows_the_heavy_ball_rule(landscape):
    path, w, b = landscape.paths["momentum"], W0.copy(), None
    for t in range(4):
        np.testing.assert_allclose(path[t], w, rtol=0, atol=1e-14)
        g = A @ w
        b = g if b is None else 0.9 * b + g     # b_1 = g_0, b_(t+1) = mu b_t + g_t
        w = w - 0.1 * b


def test_adam_path_follows_the_adam_rule(landscape):
    path, w = landscape.paths["adam"], W0.copy()
    m, v, b1, b2, eps = np.zeros(2), np.zeros(2), 0.9, 0.999, 1e-8
    for t in range(1, 5):
        np.testing.assert_allclose(path[t - 1], w, rtol=0, atol=1e-14)
        g = A @ w
        m, v = b1 * m + (1 - b1) * g, b2 * v + (1 - b2) * g * g
        w = w - 0.1 * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps)


def test_every_path_ends_near_the_minimum_of_a_convex_quadratic(landscape):
    for name, path in landscape.paths.items():
        assert np.linalg.norm(path[-1]) < 0.02, name
        assert landscape.losses[name][-1] < 1e-4 * landscape.losses[name][0], name


def test_the_contour_levels_span_the_loss_on_the_grid(landscape):
    ax = landscape.axes[0]
    xx, yy, Z = landscape.grid
    assert xx.min() <= min(p[:, 0].min() for p in landscape.paths.values())
    assert yy.max() >= max(p[:, 1].max() for p in landscape.paths.values())
    filled = next(c for c in ax.collections if hasattr(c, "levels") and c.filled)
    assert filled.levels[0] == pytest.approx(Z.min()) and filled.levels[-1] == pytest.approx(Z.max())
    assert len(filled.levels) >= 10
    w = np.array([xx[7, 30], yy[7, 30]])
    assert Z[7, 30] == pytest.approx(0.5 * w @ A @ w)


def test_one_line_and_one_end_marker_per_path_a_start_and_a_legend(landscape):
    assert isinstance(landscape, tg.viz.plots.Figure)  # the house Figure: shows in Jupyter
    ax = landscape.axes[0]
    assert len(ax.lines) == 2 * 3 + 1
    legend = landscape.legends[0]
    texts = [t.get_text() for t in legend.get_texts()]
    for label, name in [("gradient descent", "gd"), ("momentum", "momentum"), ("Adam", "adam")]:
        line = next(t for t in texts if t.startswith(label))
        assert f"final loss {landscape.losses[name][-1]:.3g}" in line
    assert any(t.startswith("start") for t in texts)


def test_into_given_axes_with_one_optimizer_and_a_learning_rate_each():
    import matplotlib.figure
    fig = matplotlib.figure.Figure()
    ax = fig.subplots()
    out = plot_loss_landscape(quadratic, tg.Tensor(W0), optimizers=["adam", "gd"],
                              lr={"adam": 0.05, "gd": 0.2}, steps=3, resolution=5, ax=ax,
                              extent=(-3, 3, -3, 3))
    assert out is fig and list(out.paths) == ["adam", "gd"] and ax.get_legend() is not None
    np.testing.assert_allclose(out.paths["gd"][1], W0 - 0.2 * A @ W0)
    assert ax.get_xlim() == (-3, 3)


def test_a_diverging_run_stops_and_says_so():
    fig = plot_loss_landscape(quadratic, W0, optimizers="gd", lr=1.0, steps=800, resolution=5)
    path = fig.paths["gd"]
    assert path.shape == (801, 2) and np.isnan(path[-1]).all()
    assert any("diverged at step" in t.get_text() for t in fig.legends[0].get_texts())
    xx, yy, _ = fig.grid
    assert xx.max() < 1e3 and yy.max() < 1e3  # the box stays on the start, not the blow-up


@pytest.mark.parametrize("kwargs, error, words", [
    (dict(w0=[1.0, 2.0, 3.0]), tg.ShapeError, "w0 must have shape (2,)"),
    (dict(w0=[[1.0, 2.0]]), tg.ShapeError, "w0 must have shape (2,)"),
    (dict(w0=[np.nan, 1.0]), tg.ArgumentError, "finite"),
    (dict(optimizers=("gd", "nadam")), tg.ArgumentError, "unknown optimizer 'nadam'"),
    (dict(optimizers=()), tg.ArgumentError, "optimizers is empty"),
    (dict(loss_fn=lambda w: w * w), tg.ShapeError, "one-element Tensor"),
    (dict(loss_fn=lambda w: 1.0), tg.DTypeError, "must return a Tensor"),
    (dict(loss_fn=lambda w: tg.Tensor(1.0)), tg.GradientError, "does not depend on w"),
    (dict(lr=-0.1), tg.ArgumentError, "learning rate"),
    (dict(lr={"gd": 0.1}), tg.ArgumentError, "'momentum'"),
    (dict(steps=0), tg.ArgumentError, "steps"),
    (dict(extent=(1, 0, 0, 1)), tg.ArgumentError, "extent"),
])
def test_bad_arguments_raise_errors_that_name_the_function(kwargs, error, words):
    args = dict(loss_fn=quadratic, w0=W0, steps=2, resolution=3) | kwargs
    with pytest.raises(error, match="plot_loss_landscape") as info:
        plot_loss_landscape(args.pop("loss_fn"), args.pop("w0"), **args)
    assert words in str(info.value)


def test_the_boundary_over_epochs_on_xor():
    X, y = tg.data.xor()
    epochs = (1, 5, 20, 100)
    fig = plot_decision_boundaries_over_epochs(None, X, y, epochs=epochs, resolution=30)
    panels = [ax for ax in fig.axes if ax.get_title()]
    assert len(panels) == len(epochs)
    assert len(fig.axes) == len(epochs) + 1  # and one shared colour bar
    assert all(a <= b for a, b in zip(fig.accuracies, fig.accuracies[1:]))
    assert fig.accuracies[-1] == 1.0 and fig.accuracies[0] < 1.0
    assert [m.max_iter for m in fig.models] == list(epochs)
    assert panels[0].get_title().startswith("1 epoch: accuracy 50%")
    assert len(fig.legends) == 1 and all(ax.get_legend() is None for ax in panels)


def test_the_panels_are_snapshots_of_one_run():
    X, y = tg.data.xor()
    model = tg.models.MLPClassifier(hidden_layer_sizes=(3,), activation="tanh", solver="sgd",
                                    learning_rate_init=0.5, tol=0.0, random_state=None)
    fig = plot_decision_boundaries_over_epochs(model, X, y, epochs=(3, 7), ncols=1,
                                               resolution=10)
    short, long = fig.models
    np.testing.assert_allclose(short.loss_curve_, long.loss_curve_[:3], rtol=1e-12)
    assert len([ax for ax in fig.axes if ax.get_title()]) == 2


def test_a_factory_and_logistic_regression():
    X, y = tg.data.blobs(40, random_state=0)
    fig = plot_decision_boundaries_over_epochs(
        lambda e: tg.models.LogisticRegression(solver="sgd", max_iter=e, random_state=0),
        X, y, epochs=(1, 2, 10), ncols=2, resolution=10)
    assert len([ax for ax in fig.axes if ax.get_title()]) == 3 and fig.accuracies[-1] == 1.0


@pytest.mark.parametrize("model, kwargs, error, words", [
    (tg.models.MLPClassifier, {}, tg.DTypeError, "pass an estimator"),
    ("mlp", {}, tg.DTypeError, "model must be an estimator"),
    (None, dict(epochs=(1, 0)), tg.ArgumentError, "epochs"),
    (None, dict(epochs=()), tg.ArgumentError, "epochs is empty"),
    (lambda e: 3, {}, tg.DTypeError, "must return an estimator"),
])
def test_bad_arguments_over_epochs(model, kwargs, error, words):
    X, y = tg.data.xor()
    with pytest.raises(error, match="plot_decision_boundaries_over_epochs") as info:
        plot_decision_boundaries_over_epochs(model, X, y, resolution=5, **kwargs)
    assert words in str(info.value)


def test_without_matplotlib_both_say_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match="pip install matplotlib"):
        plot_loss_landscape(quadratic, W0)
    with pytest.raises(ImportError, match="pip install matplotlib"):
        plot_decision_boundaries_over_epochs(None, *tg.data.xor())

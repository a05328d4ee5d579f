"""Network diagrams (draw_network) and the matplotlib plots."""
import json
import re
import sys
import warnings

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import data, models, viz
from tinygrad_edu.viz import GraphvizNotFoundError
from tinygrad_edu.viz.network import NEGATIVE, POSITIVE, PRETRAINED, ZERO

nn = tg.nn


# ---- reading the DOT text ----------------------------------------------------------------
# Node ids: L<layer>_<unit> for units (layer 0 = inputs), L<layer>_b for a bias unit,
# L<layer>_more for the "... n more" marker, H<layer> for column headers, W... for the
# weight labels, N... for names beside units, "legend".

def units(g):
    return re.findall(r"^\t(L\d+_\d+) \[", g.source, flags=re.MULTILINE)


def weight_edges(g):
    """{(src, dst): attribute text} for the edges between units (not from bias units)."""
    return {(a, b): attrs for a, b, attrs in
            re.findall(r"^\t(L\d+_\d+) -> (L\d+_\d+) \[(.*)\]$", g.source, flags=re.MULTILINE)}


def bias_edges(g):
    return re.findall(r"^\t(L\d+_b) -> (L\d+_\d+) ", g.source, flags=re.MULTILINE)


def node_line(g, node_id):
    return next(ln for ln in g.source.splitlines() if ln.startswith(f"\t{node_id} ["))


def attr(text, name):
    m = re.search(rf"\b{name}=(\"[^\"]*\"|[^\s\]]+)", text)
    return m.group(1).strip('"') if m else None


def text_of(g):
    """All label text, without HTML tags or entities."""
    return re.sub(r"</?[A-Za-z][^<>]*>", "",
                  g.source.replace("&#x27;", "'").replace("&amp;", "&"))


def hand_network():
    """2-3-1 with known signs: W1 column 0 = [1, -2], column 1 = [0, 3], column 2 = [-0.5, 4]."""
    W1 = np.array([[1.0, 0.0, -0.5], [-2.0, 3.0, 4.0]])
    b1 = np.array([0.5, -1.0, 0.0])
    W2 = np.array([[2.0], [-1.0], [0.25]])
    return [(W1, b1), (W2, np.array([-0.3]))]


@pytest.fixture(scope="module")
def xor_mlp():
    X, y = data.xor()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = models.MLPClassifier(hidden_layer_sizes=(3,), activation="logistic",
                                     solver="adam", learning_rate_init=0.1, alpha=0.0,
                                     max_iter=300, random_state=0).fit(X, y)
    return model, X, y


# ---- structure ---------------------------------------------------------------------------

def test_2_3_1_network_has_6_units_and_9_weight_edges():
    g = viz.draw_network(hand_network())
    assert sorted(units(g)) == ["L0_0", "L0_1", "L1_0", "L1_1", "L1_2", "L2_0"]
    edges = weight_edges(g)
    assert len(edges) == 2 * 3 + 3 * 1
    assert {(f"L0_{i}", f"L1_{j}") for i in range(2) for j in range(3)} | \
        {(f"L1_{j}", "L2_0") for j in range(3)} == set(edges)
    assert bias_edges(g) == [] and "L0_b [" not in g.source
    assert g.source.startswith("digraph") and "layout=neato" in g.source


def test_show_bias_adds_bias_units_and_one_edge_per_bias():
    g = viz.draw_network(hand_network(), show_bias=True)
    assert "\tL0_b [" in g.source and "\tL1_b [" in g.source and "\tL2_b [" not in g.source
    assert sorted(bias_edges(g)) == [("L0_b", "L1_0"), ("L0_b", "L1_1"), ("L0_b", "L1_2"),
                                     ("L1_b", "L2_0")]
    assert len(weight_edges(g)) == 9
    assert "bias inputs" in text_of(g)
    # the bias edge of z1 (b = 0.5 > 0) is excitatory, of z2 (b = -1) inhibitory
    line = lambda dst: next(ln for ln in g.source.splitlines() if f"L0_b -> {dst} " in ln)
    assert attr(line("L1_0"), "color") == POSITIVE
    assert attr(line("L1_1"), "color") == NEGATIVE
    assert attr(line("L1_2"), "color") == ZERO


def test_edges_are_coloured_by_sign_and_wide_by_magnitude():
    g = viz.draw_network(hand_network())
    edges = weight_edges(g)
    assert attr(edges[("L0_0", "L1_0")], "color") == POSITIVE      # W = 1
    assert attr(edges[("L0_1", "L1_0")], "color") == NEGATIVE      # W = -2
    assert attr(edges[("L0_0", "L1_1")], "color") == ZERO          # W = 0
    assert attr(edges[("L1_1", "L2_0")], "color") == NEGATIVE      # V = -1
    width = {k: float(attr(v, "penwidth")) for k, v in edges.items()}
    assert width[("L0_1", "L1_2")] == max(width.values())          # |4| is the largest
    assert width[("L0_1", "L1_1")] > width[("L0_1", "L1_0")] > width[("L0_0", "L1_0")]
    assert width[("L0_0", "L1_0")] == pytest.approx(width[("L1_1", "L2_0")])  # |1| == |-1|
    text = text_of(g)
    assert "excitatory" in text and "inhibitory" in text
    assert POSITIVE in g.source.split("legend [")[1] and NEGATIVE in g.source.split("legend [")[1]


def test_units_are_pinned_in_columns_in_matrix_order():
    g = viz.draw_network(hand_network(), show_bias=True)
    pos = {n: tuple(float(v) for v in attr(node_line(g, n), "pos").rstrip("!").split(","))
           for n in units(g) + ["L0_b", "L1_b"]}
    assert pos["L0_0"][0] == pos["L0_1"][0] < pos["L1_0"][0] == pos["L1_2"][0] < pos["L2_0"][0]
    assert pos["L0_b"][1] > pos["L0_0"][1] > pos["L0_1"][1]            # bias on top, then x1, x2
    assert pos["L1_b"][1] > pos["L1_0"][1] > pos["L1_1"][1] > pos["L1_2"][1]


def test_sequential_activations_label_the_layers():
    model = nn.Sequential(nn.Linear(4, 3, random_state=0), nn.Sigmoid(),
                          nn.Linear(3, 3, random_state=1), nn.Tanh(),
                          nn.Linear(3, 2, random_state=2), nn.ReLU(),
                          nn.Linear(2, 2, random_state=3), nn.Softmax())
    g = viz.draw_network(model)
    assert len(units(g)) == 4 + 3 + 3 + 2 + 2
    assert len(weight_edges(g)) == 4 * 3 + 3 * 3 + 3 * 2 + 2 * 2
    headers = [text_of(viz.draw_network(model)).split(f"\tH{k} [label=")[1].split("pos=")[0]
               for k in range(5)]
    assert "input x" in headers[0]
    assert "σ" in headers[1] and "hidden z" in headers[1]
    assert "tanh" in headers[2] and "relu" in headers[3] and "softmax" in headers[4]
    assert "output y" in headers[4]
    # a Sequential without a final activation has a linear output
    g = viz.draw_network(nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1)))
    assert "linear" in text_of(g).split("\tH2 [")[1].split("pos=")[0]


def test_fitted_model_uses_its_network_and_output_function(xor_mlp):
    model, _, _ = xor_mlp
    g = viz.draw_network(model)
    assert len(units(g)) == 2 + 3 + 1 and len(weight_edges(g)) == 9
    W = model.module_[0].weight.data
    edges = weight_edges(g)
    for i in range(2):
        for j in range(3):
            colour = attr(edges[(f"L0_{i}", f"L1_{j}")], "color")
            assert colour == (POSITIVE if W[i, j] > 0 else NEGATIVE)
    text = text_of(g)
    assert "P(y=1)" in text                          # the output is a probability
    assert "σ" in text.split("\tH2 [")[1].split("pos=")[0]   # sigmoid applied by predict_proba


def test_multiclass_estimator_output_is_softmax_with_class_names():
    X, y = data.blobs(60, random_state=0)
    y = np.where(X[:, 0] > 2, 2, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = models.LogisticRegression(max_iter=20).fit(X, y)
    text = text_of(viz.draw_network(model))
    assert "softmax" in text and "P(class 0)" in text and "P(class 2)" in text


def test_a_fitted_scikit_learn_mlp_draws_the_same_way():
    sklearn_nn = pytest.importorskip("sklearn.neural_network")
    X, y = data.xor(noise=0.1, n_repeats=10, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = sklearn_nn.MLPClassifier(hidden_layer_sizes=(4,), activation="tanh",
                                         max_iter=50, random_state=0).fit(X, y)
    g = viz.draw_network(model, show_bias=True)
    assert len(units(g)) == 2 + 4 + 1 and len(weight_edges(g)) == 2 * 4 + 4
    assert len(bias_edges(g)) == 4 + 1
    edges = weight_edges(g)
    assert attr(edges[("L0_1", "L1_2")], "color") == (
        POSITIVE if model.coefs_[0][1, 2] > 0 else NEGATIVE)
    text = text_of(g)
    assert "tanh" in text.split("\tH1 [")[1].split("pos=")[0]
    assert "σ" in text.split("\tH2 [")[1].split("pos=")[0] and "P(y=1)" in text


def test_raw_weight_lists_vectors_and_shape_errors():
    g = viz.draw_network([np.ones((2, 3)), np.ones(3)])      # V of length M: one output
    assert len(units(g)) == 6 and len(weight_edges(g)) == 9
    g = viz.draw_network([tg.Tensor(np.ones((2, 3))), tg.Tensor(-np.ones((3, 1)))])
    assert all(attr(a, "color") == NEGATIVE for (s, d), a in weight_edges(g).items()
               if d == "L2_0")
    g = viz.draw_network(np.ones((4, 2)))                    # one matrix: one layer
    assert len(units(g)) == 6 and len(weight_edges(g)) == 8
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(4, 1\)"):
        viz.draw_network([np.ones((2, 3)), np.ones((4, 1))])
    with pytest.raises(ValueError, match="bias 0 has shape"):
        viz.draw_network([(np.ones((2, 3)), np.ones(2))])
    with pytest.raises(TypeError, match="expected a fitted model"):
        viz.draw_network("not a network")
    with pytest.raises(ValueError, match="empty"):
        viz.draw_network([])


def test_unfitted_models_and_foreign_layers_are_clear_errors():
    with pytest.raises(ValueError, match="not fitted yet"):
        viz.draw_network(models.MLPClassifier())

    class Scaled(nn.Module):
        def __init__(self):
            self.scale = nn.Parameter(np.ones(2))
            self.out = nn.Linear(2, 1)

    with pytest.raises(TypeError, match="Linear layers.*Scaled"):
        viz.draw_network(Scaled())


def test_wide_layers_show_their_first_units_and_how_many_more():
    model = nn.Sequential(nn.Linear(64, 30, random_state=0), nn.Sigmoid(),
                          nn.Linear(30, 10, random_state=1))
    g = viz.draw_network(model, max_units=8)
    assert len(units(g)) == 8 + 8 + 8
    assert len(weight_edges(g)) == 8 * 8 + 8 * 8
    text = text_of(g)
    assert "… 56 more" in text and "… 22 more" in text and "… 2 more" in text
    g = viz.draw_network(model)                  # default max_units=10
    assert "… 54 more" in text_of(g) and "\tL2_more [" not in g.source
    g = viz.draw_network(model, max_units=None)
    assert len(units(g)) == 64 + 30 + 10 and "more" not in text_of(g).split("legend [")[0]
    with pytest.raises(ValueError, match="max_units"):
        viz.draw_network(model, max_units=0)


def test_highlight_emphasises_one_unit_and_its_incoming_weights():
    g = viz.draw_network(hand_network(), highlight=(1, 0), activations="sigmoid")
    assert attr(node_line(g, "L1_0"), "penwidth") == "2.6"
    assert attr(node_line(g, "L1_1"), "penwidth") is None
    assert attr(node_line(g, "L1_0"), "fillcolor") != attr(node_line(g, "L1_1"), "fillcolor")
    edges = weight_edges(g)
    for (src, dst), attrs in edges.items():
        colour = attr(attrs, "color")
        if dst == "L1_0":                     # its incoming weights: full colour
            assert len(colour) == 7, (src, dst)
        else:                                 # every other weight is faded (has an alpha)
            assert len(colour) == 9, (src, dst)
    # the highlighted unit's edges come last (drawn on top) and its weights are written
    order = [m for m in re.findall(r"^\t(L\S+ -> L\S+) ", g.source, flags=re.MULTILINE)]
    assert order[-2:] == ["L0_0 -> L1_0", "L0_1 -> L1_0"]
    labels = re.findall(r"^\t(W\S+) \[label=<([^>]*)>", g.source, flags=re.MULTILINE)
    assert [text for _, text in labels] == ["1", "−2"]
    text = text_of(g)
    assert "highlighted logistic unit: z1 = σ(0.5 + 1 x1 − 2 x2)" in text
    # the output unit (layer -1) with its bias
    g = viz.draw_network(hand_network(), highlight=(-1, 0), show_bias=True)
    assert attr(node_line(g, "L2_0"), "penwidth") == "2.6"
    # raw weights: no activation known, so none is written
    assert "highlighted unit: y = −0.3 + 2 z1 − 1 z2 + 0.25 z3" in text_of(g)


def test_highlight_errors_name_the_valid_choices():
    net = hand_network()
    with pytest.raises(ValueError, match="inputs have no incoming weights"):
        viz.draw_network(net, highlight=(0, 0))
    with pytest.raises(ValueError, match=r"layer 1 has 3 units \(0..2\), got unit 3"):
        viz.draw_network(net, highlight=(1, 3))
    with pytest.raises(TypeError, match="pair"):
        viz.draw_network(net, highlight=1)
    wide = [np.ones((2, 20)), np.ones((20, 1))]
    with pytest.raises(ValueError, match="max_units=16"):
        viz.draw_network(wide, highlight=(1, 15), max_units=10)
    assert "\tL1_15 [" in viz.draw_network(wide, highlight=(1, 15), max_units=16).source


def test_pretrained_hidden_layers_are_marked_in_units_header_and_legend():
    """A deep belief network's classifier names the hidden layers its RBMs pretrained."""
    X, y = data.xor()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = models.MLPClassifier(hidden_layer_sizes=(3, 2), max_iter=20,
                                     random_state=0).fit(X, y)
    plain = viz.draw_network(model)
    assert "pretrained" not in plain.source and "peripheries" not in plain.source
    model.pretrained_layers_ = (0,)                     # hidden layer 0: units L1_*
    g = viz.draw_network(model)
    for unit in units(g):
        line = node_line(g, unit)
        if unit.startswith("L1_"):
            assert attr(line, "peripheries") == "2", unit
            assert attr(line, "color") == PRETRAINED, unit
            assert "pretrained (RBM)" in attr(line, "tooltip"), unit
        else:
            assert attr(line, "peripheries") is None, unit
            assert attr(line, "color") != PRETRAINED and "pretrained" not in line, unit
    assert "pretrained (RBM)" in node_line(g, "H1")
    assert all("pretrained" not in node_line(g, f"H{l}") for l in (0, 2, 3))
    assert "pretrained as an RBM" in text_of(g).split("legend [")[1]
    highlighted = viz.draw_network(model, highlight=(1, 0))    # the marking stays
    assert attr(node_line(highlighted, "L1_0"), "peripheries") == "2"
    model.pretrained_layers_ = (2,)                     # the output layer is no hidden layer
    with pytest.raises(ValueError, match=r"pretrained_layers_ .* 0\.\.1, got 2"):
        viz.draw_network(model)


def test_names_beside_inputs_and_outputs_and_show_weights():
    g = viz.draw_network(hand_network(), input_names=["pixel a", "pixel b"],
                         output_names=["P(cat)"], show_weights=True, title="A tiny net")
    text = text_of(g)
    assert "pixel a" in text and "pixel b" in text and "P(cat)" in text and "A tiny net" in text
    labels = re.findall(r"^\tW\S+ \[label=<([^>]*)>", g.source, flags=re.MULTILINE)
    assert sorted(labels) == sorted(["1", "0", "−0.5", "−2", "3", "4", "2", "−1", "0.25"])
    with pytest.raises(ValueError, match="input_names has 1 names for 2 units"):
        viz.draw_network(hand_network(), input_names=["a"])


def test_activations_argument_overrides_labels():
    g = viz.draw_network([np.ones((2, 2)), np.ones((2, 1))], activations=["tanh", "sigmoid"])
    text = text_of(g)
    assert "tanh" in text.split("\tH1 [")[1].split("pos=")[0]
    assert "σ" in text.split("\tH2 [")[1].split("pos=")[0]
    with pytest.raises(ValueError, match="activations has 1 entries for 2 layers"):
        viz.draw_network([np.ones((2, 2)), np.ones((2, 1))], activations=["tanh"])


# ---- rendering -----------------------------------------------------------------------------

def test_render_with_dot_keeps_the_pinned_layout(tmp_path, xor_mlp):
    pytest.importorskip("shutil").which("dot") or pytest.skip("Graphviz dot is not installed")
    model, _, _ = xor_mlp
    g = viz.draw_network(model, highlight=(1, 0), show_bias=True)
    svg = viz.render(g, tmp_path / "network.svg")
    assert svg.read_text().lstrip().startswith(("<?xml", "<svg"))
    png = viz.render(g, tmp_path / "network.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    laid_out = json.loads(g.pipe(format="json"))
    centre = {o["name"]: tuple(map(float, o["pos"].split(","))) for o in laid_out["objects"]
              if "pos" in o}
    assert centre["L0_0"][0] < centre["L1_0"][0] < centre["L2_0"][0]   # columns, left to right
    assert centre["L1_0"][1] > centre["L1_1"][1] > centre["L1_2"][1]   # z1 above z2 above z3
    assert centre["H1"][1] > centre["L1_b"][1] > centre["legend"][1]   # header, units, legend


def test_network_diagram_without_dot_explains_how_to_install(tmp_path, monkeypatch):
    g = viz.draw_network(hand_network())
    monkeypatch.setenv("PATH", "")
    with pytest.raises(GraphvizNotFoundError, match="apt-get install graphviz"):
        viz.render(g, tmp_path / "network.svg")
    assert "brew install graphviz" in g._repr_mimebundle_()["text/plain"]
    assert viz.save_source(g, tmp_path / "network.dot").read_text() == g.source


# ---- plots ---------------------------------------------------------------------------------

@pytest.fixture
def mpl():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    return matplotlib


def images(fig):
    return [im for ax in fig.axes for im in ax.images]


def curves(ax):
    return [line for line in ax.get_lines() if not line.get_label().startswith("_")]


def test_plot_history_draws_training_and_validation_loss(mpl):
    from tinygrad_edu.train import History
    h = History(loss=[1.0, 0.5, 0.3, 0.2], val_loss=[1.1, 0.6, 0.5, 0.55], n_iter=4)
    fig = viz.plot_history(h)
    ax = fig.axes[0]
    assert [line.get_label() for line in curves(ax)] == ["training loss", "validation loss"]
    assert list(curves(ax)[1].get_ydata()) == [1.1, 0.6, 0.5, 0.55]
    assert ax.get_xlabel() == "epoch"
    assert "lowest validation loss (epoch 3)" in [t.get_text() for t in ax.get_legend().texts]
    fig = viz.plot_history([0.7, 0.69, 0.3, 0.001])          # a plain list; falls 700-fold
    assert len(curves(fig.axes[0])) == 1 and fig.axes[0].get_yscale() == "log"
    fig = viz.plot_history({"loss": [1, 2], "val_loss": [3, 4]})
    assert len(curves(fig.axes[0])) == 2


def test_plot_history_of_a_fitted_model(mpl, xor_mlp):
    model, _, _ = xor_mlp
    fig = viz.plot_history(model)
    (line,) = curves(fig.axes[0])
    np.testing.assert_allclose(line.get_ydata(), model.loss_curve_)

    class Bare:                                       # only loss_curve_, as scikit-learn's
        loss_curve_ = (0.5, 0.4)

    assert len(curves(viz.plot_history(Bare()).axes[0])) == 1
    with pytest.raises(ValueError, match="not fitted yet"):
        viz.plot_history(models.MLPClassifier())
    with pytest.raises(TypeError, match="History"):
        viz.plot_history(3.0)


def test_plot_history_into_given_axes_returns_their_figure(mpl):
    import matplotlib.pyplot as plt
    fig, (a, b) = plt.subplots(1, 2)
    try:
        assert viz.plot_history([1, 0.5], ax=b) is fig
        assert len(curves(b)) == 1 and len(curves(a)) == 0
    finally:
        plt.close(fig)


def test_plot_decision_boundary_of_a_fitted_classifier(mpl, xor_mlp):
    model, X, y = xor_mlp
    fig = viz.plot_decision_boundary(model, X, y)
    ax = fig.axes[0]
    assert len(images(fig)) == 1
    p = ax.images[0].get_array()
    assert p.ndim == 2 and 0 <= p.min() and p.max() <= 1     # P(y = 1 | x) on a grid
    assert len(ax.collections) >= 3            # the 0.5 contour and the two classes' points
    assert ax.get_title() == f"MLPClassifier: accuracy {model.score(X, y):.0%}"
    legend = [t.get_text() for t in fig.legends[0].texts]
    assert legend[-2:] == ["class 0", "class 1"] and "decision boundary" in legend[0]


def test_plot_decision_boundary_logistic_regression_on_xor_is_flat(mpl):
    X, y = data.xor()
    model = models.LogisticRegression().fit(X, y)
    fig = viz.plot_decision_boundary(model, X, y)
    ax = fig.axes[0]
    assert ax.get_title() == "LogisticRegression: accuracy 50%"
    assert any("0.50 everywhere" in t.get_text() for t in ax.texts)


def test_plot_decision_boundary_of_a_function_and_of_three_classes(mpl):
    X, y = data.blobs(40, random_state=0)
    w = np.array([1.0, 1.0])
    fig = viz.plot_decision_boundary(lambda A: 1 / (1 + np.exp(-(A @ w))), X, y)
    assert len(images(fig)) == 1 and fig.axes[0].get_title() == "accuracy 100%"
    # a tinygrad function returning a Tensor of probabilities works too
    fig = viz.plot_decision_boundary(lambda A: (tg.Tensor(A) @ w).sigmoid(), X, y)
    assert len(images(fig)) == 1

    Xs, ys = data.spirals(90, n_classes=3, random_state=0)
    angles = np.array([0.0, 2.1, 4.2])
    centres = np.column_stack([np.cos(angles), np.sin(angles)])
    fn = lambda A: tg.Tensor(-((A[:, None, :] - centres) ** 2).sum(-1) * 3).softmax(-1)
    fig = viz.plot_decision_boundary(fn, Xs, ys)
    (im,) = images(fig)
    assert im.get_array().shape[-1] == 3                        # class colours, RGB
    assert [t.get_text() for t in fig.legends[0].texts][-3:] == ["class 0", "class 1", "class 2"]


def test_plot_decision_boundary_errors(mpl):
    X, y = data.blobs(20, random_state=0)
    with pytest.raises(ValueError, match=r"outside \[0, 1\].*sigmoid"):
        viz.plot_decision_boundary(lambda A: A @ np.ones(2), X, y)    # logits, not probabilities
    with pytest.raises(ValueError, match="2 columns"):
        viz.plot_decision_boundary(lambda A: np.full(len(A), 0.5), np.ones((5, 3)))
    with pytest.raises(ValueError, match="not fitted yet"):
        viz.plot_decision_boundary(models.MLPClassifier(), X, y)
    with pytest.raises(TypeError, match="predict_proba"):
        viz.plot_decision_boundary(42, X, y)


def test_plot_activations_draws_sigmoid_and_tanh(mpl):
    fig = viz.plot_activations()
    (sig, tanh) = curves(fig.axes[0])
    z = sig.get_xdata()
    np.testing.assert_allclose(sig.get_ydata(), 1 / (1 + np.exp(-z)))
    np.testing.assert_allclose(tanh.get_ydata(), np.tanh(z))
    assert "σ" in sig.get_label() and "tanh" in tanh.get_label()


def test_plot_first_layer_draws_one_image_per_unit(mpl):
    model = nn.Sequential(nn.Linear(64, 12, random_state=0), nn.Sigmoid(), nn.Linear(12, 10))
    fig = viz.plot_first_layer(model)
    ims = images(fig)
    assert len(ims) == 12
    W = model[0].weight.data
    np.testing.assert_array_equal(ims[5].get_array(), W[:, 5].reshape(8, 8))
    assert ims[0].get_clim() == ims[11].get_clim()        # one colour scale for all units
    assert len(images(viz.plot_first_layer(model, max_units=5))) == 5
    assert len(images(viz.plot_first_layer(np.ones((6, 4)), shape=(2, 3)))) == 4
    with pytest.raises(ValueError, match=r"\(4, 4\) has 16 pixels.*64 inputs"):
        viz.plot_first_layer(model, shape=(4, 4))


def test_plots_without_matplotlib_say_how_to_install_it(monkeypatch):
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)      # import matplotlib fails
    for call in (lambda: viz.plot_activations(), lambda: viz.plot_history([1.0]),
                 lambda: viz.plot_first_layer(np.ones((4, 2)), shape=(2, 2))):
        with pytest.raises(ImportError, match="pip install matplotlib"):
            call()

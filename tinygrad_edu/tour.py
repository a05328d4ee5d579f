"""The tour: from one logistic unit to a network that learns its own features.

    tinygrad_edu.tour.run(out="tinygrad_edu_out")     (what python -m tinygrad_edu runs)

Runs the lesson in a few seconds, step by step as numbered in the story, and writes
its pictures into the folder ``out``: graph.svg (the computation graph of one logistic
unit's loss, with values and gradients), network.svg (the trained XOR network, one unit
highlighted), activations.png, loss.png and boundary.png. Without the Graphviz program
``dot`` the graphs are written as .dot text; without matplotlib the plots are skipped.
Both are said at the end.

Each step is one function of a `Tour`, listed in `STEPS`: it writes its heading with
``tour.heading`` (which numbers it by its place in the list), its lines with `say` and
its pictures with ``tour.pics``. To add a step, write such a function and list it.
"""
from __future__ import annotations

import functools
import math
import pathlib
import sys
import time
import warnings

import numpy as np

import tinygrad_edu as tg

from . import data, models, nn, rbm, viz
from . import functional as F

DEFAULT_OUT = "tinygrad_edu_out"

# the 16 boolean functions of two inputs, by their outputs on (0,0), (0,1), (1,0), (1,1)
_BOOLEAN = {
    (0, 0, 0, 0): "always 0", (0, 0, 0, 1): "x1 AND x2", (0, 0, 1, 0): "x1 AND NOT x2",
    (0, 0, 1, 1): "x1", (0, 1, 0, 0): "x2 AND NOT x1", (0, 1, 0, 1): "x2",
    (0, 1, 1, 0): "x1 XOR x2", (0, 1, 1, 1): "x1 OR x2", (1, 0, 0, 0): "NOR",
    (1, 0, 0, 1): "XNOR", (1, 0, 1, 0): "NOT x2", (1, 0, 1, 1): "x1 OR NOT x2",
    (1, 1, 0, 0): "NOT x1", (1, 1, 0, 1): "x2 OR NOT x1", (1, 1, 1, 0): "NAND",
    (1, 1, 1, 1): "always 1",
}


def say(text=""):
    """print, falling back to ASCII replacements on a console that cannot show σ or →."""
    try:
        print(text, flush=True)
    except UnicodeEncodeError:
        enc = getattr(sys.stdout, "encoding", None) or "ascii"
        print(text.encode(enc, errors="replace").decode(enc), flush=True)


def _pct(x):
    return f"{100 * x:.0f}%"


def _vec(a, digits=3):
    return "[" + ", ".join(f"{v:.{digits}g}" for v in np.asarray(a).ravel()) + "]"


class _Pictures:
    """Writes the pictures, and remembers what it could not draw and why."""

    def __init__(self, out):
        self.out, self.written, self.dot_files, self.no_matplotlib = out, [], [], None

    def graph(self, digraph, name):
        try:
            path = viz.render(digraph, self.out / f"{name}.svg")
        except viz.GraphvizNotFoundError:
            path = viz.save_source(digraph, self.out / f"{name}.dot")
            self.dot_files.append(path.name)
        self.written.append(path.name)
        return path.name

    def plot(self, make, name):
        if self.no_matplotlib:
            return None
        try:
            fig = make()
        except ImportError as err:
            self.no_matplotlib = str(err)
            return None
        path = self.out / name
        fig.savefig(path, dpi=110)
        self.written.append(path.name)
        return path.name

    def listed(self, *names):
        names = [n for n in names if n]
        return f"   → {', '.join(names)}" if names else None


class Tour:
    """What the steps share: the folder and its pictures, the step's number, and the
    data sets (each made, or fitted, once when a step first asks for it)."""

    def __init__(self, out):
        self.out, self.pics, self.number = out, _Pictures(out), 0

    def heading(self, text):
        """The step's first line: its number, then ``text``."""
        say(f"{self.number}. {text}")

    @functools.cached_property
    def blobs(self):
        """Two separable blobs, (X, y)."""
        return data.blobs(200, random_state=0)

    @functools.cached_property
    def xor(self):
        """The four XOR points, (X, y)."""
        return data.xor()

    @functools.cached_property
    def xor_line(self):
        """The best a line does on XOR: a fitted LogisticRegression."""
        return models.LogisticRegression().fit(*self.xor)


# -------------------------------------------------------------------------- the steps
def logistic_unit(tour):
    """A logistic unit is a classifier; σ is 0.5 on its line."""
    s = [1 / (1 + math.exp(-v)) for v in (-2, 0, 2)]
    tour.heading("A logistic unit is a classifier: y = σ(w·x + b) = P(y=1 | x).")
    say(f"   σ(−2), σ(0), σ(2) = {s[0]:.3f}, {s[1]:.1f}, {s[2]:.3f}: on the line w·x + b = 0, "
        "y = 0.5.")
    line = tour.pics.listed(tour.pics.plot(viz.plot_activations, "activations.png"))
    if line:
        say(line)


def only_a_line(tour):
    """A line separates the blobs, not XOR."""
    Xb, yb = tour.blobs
    X, y = tour.xor
    blobs_lr = models.LogisticRegression().fit(Xb, yb)
    p = tour.xor_line.predict_proba(X)[:, 1]
    tour.heading("It only separates what a line can separate (LogisticRegression):")
    say(f"   two blobs: accuracy {_pct(blobs_lr.score(Xb, yb))}")
    say(f"   XOR:       accuracy {_pct(tour.xor_line.score(X, y))}, P(y=1) = {_vec(p, 2)}: "
        "no line separates XOR")


def cross_entropy(tour):
    """Training minimises the cross-entropy; a line's best on XOR is ln 2."""
    tour.heading("Training minimises the cross-entropy (the negative log-likelihood):")
    say(f"   L = −mean[t·log y + (1−t)·log(1−y)]; on XOR a line's best is "
        f"{tour.xor_line.loss_:.3f} = ln 2, \"half and half\".")


def gradient_descent(tour):
    """Fifty epochs of plain gradient descent on the blobs, by hand."""
    Xb, yb = tour.blobs
    w = tg.Tensor(np.zeros(2), requires_grad=True)
    b = tg.Tensor(0.0, requires_grad=True)
    opt = tg.optim.SGD([w, b], lr=0.5)
    target = yb.astype(np.float64)
    losses = []
    for _ in range(50):
        opt.zero_grad()
        loss = F.binary_cross_entropy_with_logits(tg.Tensor(Xb) @ w + b, target)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    acc = np.mean(((Xb @ w.data + b.data) > 0) == yb)
    tour.heading("No closed form, so gradient descent: w ← w − 0.5·dL/dw, 50 epochs on the "
                 "blobs:")
    say(f"   loss {losses[0]:.3f} → {losses[-1]:.3f}, accuracy {_pct(acc)}")


def hand_made_feature(tour):
    """The feature x3 = x1·x2 with hand-set weights classifies XOR."""
    X, y = tour.xor
    X3 = data.add_bias_column(data.add_product_feature(X))   # [x0 = 1, x1, x2, x1·x2]
    w_hand = np.array([-0.5, 1.0, 1.0, -2.0])
    z = X3 @ w_hand
    p = 1 / (1 + np.exp(-z))
    tour.heading("A hand-made feature fixes XOR: x3 = x1·x2 and weights [w0, w1, w2, w3] = "
                 "[−0.5, 1, 1, −2]:")
    say("     x1  x2  x3    w·x  P(y=1)  predicted  target")
    for (_, x1, x2, x3), zi, pi, ti in zip(X3, z, p, y):
        say(f"     {x1:2.0f}  {x2:2.0f}  {x3:2.0f}  {zi:5.1f}    {pi:.2f}  {int(pi > 0.5):9d}"
            f"  {ti:6d}")
    say("   But nobody can guess every useful feature (x1·x2? sin x? x²?) for hundreds of "
        "inputs.")


def hidden_layer(tour):
    """A 2-3-1 network learns its own features; its hidden units, named; its pictures."""
    X, y = tour.xor
    tries = []
    for seed in range(20):
        mlp = models.MLPClassifier(hidden_layer_sizes=(3,), activation="logistic",
                                   solver="adam", learning_rate_init=0.1, alpha=0.0,
                                   max_iter=1000, random_state=seed).fit(X, y)
        tries.append(mlp.score(X, y))
        if tries[-1] == 1.0:
            break
    tour.heading("A network learns the features: MLPClassifier 2-3-1, sigmoid units, trained "
                 "by Adam:")
    stuck = "" if len(tries) == 1 else (
        f" (random start {len(tries)}; {len(tries) - 1} earlier start"
        f"{'s' if len(tries) > 2 else ''} got stuck at {', '.join(_pct(t) for t in tries[:-1])}"
        ": a local minimum)")
    say(f"   accuracy {_pct(tries[-1])} after {mlp.n_iter_} epochs, loss {mlp.loss_:.4f}{stuck}")
    first, act = mlp.module_[0], mlp.module_[1]
    with tg.no_grad():
        hidden = act(first(tg.Tensor(X))).data
    n_hidden = hidden.shape[1]
    say("   Each hidden unit is a logistic unit of its own, a learned feature:")
    say("     x1  x2  " + "  ".join(f"  z{j + 1}" for j in range(n_hidden)) + "     y")
    for xi, zi, yi in zip(X, hidden, mlp.predict_proba(X)[:, 1]):
        say(f"     {xi[0]:2.0f}  {xi[1]:2.0f}  " + "  ".join(f"{v:4.2f}" for v in zi)
            + f"  {yi:4.2f}")
    names = []
    for j in range(n_hidden):
        col = hidden[:, j]
        bits = tuple(int(v > 0.5) for v in col)
        clean = np.all(np.abs(col - np.array(bits)) < 0.25)
        names.append(f"z{j + 1} ≈ {_BOOLEAN[bits]}" if clean else f"z{j + 1} is soft")
    say("   " + ", ".join(names) + "; y combines them.")
    network = viz.draw_network(mlp, highlight=(1, 0), show_bias=True,
                               title="The trained XOR network")
    pics = tour.pics
    say(pics.listed(
        pics.graph(network, "network"),
        pics.plot(lambda: viz.plot_decision_boundary(mlp, X, y), "boundary.png"),
        pics.plot(lambda: viz.plot_history(mlp, title="Training loss of the XOR network"),
                  "loss.png")))


def backpropagation(tour):
    """The chain rule through one logistic unit's loss, and its computation graph."""
    x = tg.Tensor([1.0, 2.0])
    w = tg.Tensor([0.8, -0.3], requires_grad=True)
    b = tg.Tensor(0.1, requires_grad=True)
    t = 1.0
    z = x @ w + b
    yhat = z.sigmoid()
    loss = -(t * yhat.log() + (1 - t) * (1 - yhat).log())
    loss.backward()
    tour.heading("Backpropagation is the chain rule, walked backwards through the recorded "
                 "graph.")
    say(f"   One logistic unit, x = [1, 2], w = [0.8, −0.3], b = 0.1, t = 1: y = "
        f"{yhat.item():.3f}, loss = {loss.item():.3f}")
    say(f"   dL/dw = (y − t)·x = {_vec(w.grad.data)},  dL/db = y − t = {b.grad.item():.3g}")
    graph = viz.draw_graph(loss, names={"x": x, "w": w, "b": b, "z": z, "y": yhat, "L": loss},
                           show_grad="all", wrap=4)  # rows that fit a slide
    say(tour.pics.listed(tour.pics.graph(graph, "graph"))
        + "   (every value and gradient; tg.viz.explain(loss) writes each step out)")


def capacity(tour):
    """How many weights a 1024-500-10 network has, and the data that asks for."""
    big = nn.Sequential(nn.Linear(1024, 500, bias=False, random_state=0), nn.Sigmoid(),
                        nn.Linear(500, 10, bias=False, random_state=0))
    n_weights = big.num_parameters()
    tour.heading(f"Capacity costs data: 32×32 inputs, 500 hidden, 10 outputs = 1024·500 + "
                 f"500·10 = {n_weights:,} weights;")
    say(f"   at about ten samples per weight that asks for {10 * n_weights / 1e6:.0f} million "
        "samples.")


def boltzmann_machine(tour):
    """Part 3: a restricted Boltzmann machine learns features from unlabelled digits, and
    contrastive divergence is the engine's gradient of a difference of free energies."""
    X, _ = data.load_digits()                                   # 1,797 8x8 digits in [0, 1]
    model = tg.models.BernoulliRBM(n_components=36, learning_rate=0.06, n_iter=5,
                                   random_state=0).fit(X)
    W, b, c = model.components_, model.intercept_visible_, model.intercept_hidden_
    v_data, v_model = X[:10], model.gibbs(X[:10])               # data and a Gibbs sample
    h_data, h_model = (1 / (1 + np.exp(-(v @ W.T + c))) for v in (v_data, v_model))
    dW, _, _ = rbm.cd_gradient(v_data, v_model, W, b, c)       # the engine's gradient
    textbook = (h_data.T @ v_data - h_model.T @ v_model) / 10   # <h v>_data - <h v>_model
    err = model.history_["reconstruction_error"]
    tour.heading("Part 3, a restricted Boltzmann machine: F(v) = −v·b − Σ softplus(c + Wv); "
                 "the engine's gradient")
    say(f"   of mean F(data) − mean F(model) is contrastive divergence, <hv>_data − "
        f"<hv>_model (largest difference {np.abs(dW + textbook).max():.0e});")
    say(f"   reconstruction error {err[0]:.3f} → {err[-1]:.3f} in {len(err)} epochs")
    say(tour.pics.listed(tour.pics.plot(lambda: viz.plot_rbm_filters(model), "rbm_filters.png"))
        or "")


STEPS = (logistic_unit, only_a_line, cross_entropy, gradient_descent, hand_made_feature,
         hidden_layer, backpropagation, capacity, boltzmann_machine)


# ---------------------------------------------------------------------------- the run
def run(out=DEFAULT_OUT, steps=STEPS):
    """Run the tour's ``steps`` in order, numbered from 1, writing the pictures into the
    folder ``out``; returns the names of the files written. The caller's warning filters
    are left as they were."""
    start = time.perf_counter()
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    tour = Tour(out)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=models.ConvergenceWarning)
        say("tinygrad_edu: from one logistic unit to a network that learns its own features")
        say(f"(pictures go to {out}{'/' if not str(out).endswith('/') else ''})")
        say()
        for number, step in enumerate(steps, 1):
            tour.number = number
            step(tour)
        _summary(tour.pics, out, time.perf_counter() - start)
    return list(tour.pics.written)


def _summary(pics, out, seconds):
    """The closing lines: what was written, and what could not be drawn and why."""
    say()
    say(f"Wrote {len(pics.written)} files to {out}: {', '.join(pics.written)} ({seconds:.1f} s)")
    if pics.dot_files:
        say(f"Graphviz's `dot` program was not found, so {' and '.join(pics.dot_files)} hold "
            "the graphs as text.")
        say("Install it (apt-get install graphviz, brew install graphviz, conda install graphviz")
        say("or https://graphviz.org/download/), then: dot -Tsvg graph.dot -o graph.svg")
    if pics.no_matplotlib:
        say("matplotlib is not installed, so the plots were skipped: pip install matplotlib")

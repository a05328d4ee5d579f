"""Build the lecture notebooks notebooks/01_*.ipynb .. 06_*.ipynb, one per part of the lesson.

    python notebooks/make_notebooks.py           (re)write the notebooks
    python notebooks/make_notebooks.py --check   exit 1 if a committed notebook differs
                                                 from what this script would write

The notebooks are generated, not edited by hand: every cell is a Python string in this
file, so a change to the lesson is a reviewable diff of this script. To change a
notebook, edit its cells below and run the script; commit the script and the
regenerated .ipynb files together. The notebooks are written without outputs (new cells
have none) and with fixed cell ids, so regenerating an unchanged script changes nothing.
Open them with ``jupyter lab notebooks/``; tests/test_lecture_notebooks.py runs each one
top to bottom in a fresh kernel.
"""
from __future__ import annotations

import argparse
import pathlib
import sys
import textwrap

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = pathlib.Path(__file__).resolve().parent


def md(text):
    return ("markdown", text)


def code(text):
    return ("code", text)


def setup(*modules):
    """The first code cell: the imports a notebook uses (``modules`` of tinygrad_edu,
    "F" for tinygrad_edu.functional) and a warning filter for its small budgets."""
    lines = ["import warnings", "", "import numpy as np", "", "import tinygrad_edu as tg"]
    names = [m for m in modules if m != "F"]
    if names:
        lines.append(f"from tinygrad_edu import {', '.join(names)}")
    if "F" in modules:
        lines.append("from tinygrad_edu import functional as F")
    small = 'warnings.simplefilter("ignore", tg.models.ConvergenceWarning)  # small budgets'
    lines += ["", small]
    return code("\n".join(lines))


# ----------------------------------------------------------------------------- part 1
LOGISTIC_UNIT = [
    md("""
    # 1. The logistic unit and its limits

    One logistic unit, y = σ(w·x + b), is the smallest classifier in this lesson. Its
    output is a probability, y = P(class 1 | x), and the points where w·x + b = 0
    (so y = 0.5) form a straight line: the unit separates what a line can separate,
    and nothing else.
    """),
    setup("data"),
    md("""
    ## The sigmoid

    σ(z) = 1 / (1 + e^−z) squashes any number into (0, 1): σ(0) = 0.5 on the line,
    σ(2) ≈ 0.88 on one side, σ(−2) ≈ 0.12 on the other. The bias b is the weight of a
    constant input x0 = 1.
    """),
    code("""
    print([round(tg.Tensor(v).sigmoid().item(), 3) for v in (-2.0, 0.0, 2.0)])
    tg.viz.plot_activations()
    """),
    md("""
    ## One unit, one sample, by the engine

    The error of a probabilistic classifier is the cross-entropy, the negative log of
    the likelihood of the target: L = −[t log y + (1 − t) log(1 − y)]. The engine
    records the operations and `backward()` finds dL/dw = (y − t)·x and dL/db = y − t.
    """),
    code("""
    x = tg.Tensor([1.0, 2.0])                       # one sample, two inputs
    w = tg.Tensor([0.5, -0.3], requires_grad=True)  # weights
    b = tg.Tensor(0.1, requires_grad=True)          # bias (the weight of x0 = 1)
    y = (x @ w + b).sigmoid()                       # P(class 1 | x)
    t = 1.0
    loss = -(t * y.log() + (1 - t) * (1 - y).log())
    loss.backward()
    print("y =", y.item(), " loss =", round(loss.item(), 4), "= ln 2")
    print("dL/dw =", w.grad.data, " dL/db =", b.grad.item())
    """),
    md("""
    ## Two blobs: a line is enough

    `LogisticRegression` fits one logistic unit by minimising the mean cross-entropy
    (there is no closed form: it descends the gradient, here with L-BFGS).
    """),
    code("""
    Xb, yb = data.blobs(200, random_state=0)
    blobs_lr = tg.models.LogisticRegression().fit(Xb, yb)
    print(f"accuracy on the blobs: {blobs_lr.score(Xb, yb):.0%}")
    tg.viz.plot_decision_boundary(blobs_lr, Xb, yb, title="Two blobs: one line separates them")
    """),
    md("""
    ## XOR: no line works

    (0,1) and (1,0) are class 1, (0,0) and (1,1) class 0. Any line gets at most three
    of the four points right; the best the unit can do is "half and half", y = 0.5
    everywhere, a cross-entropy of ln 2.
    """),
    code("""
    X, y = data.xor()
    line = tg.models.LogisticRegression().fit(X, y)
    print("P(y=1) on (0,0), (0,1), (1,0), (1,1):", np.round(line.predict_proba(X)[:, 1], 3))
    print(f"accuracy {line.score(X, y):.0%}, loss {line.loss_:.4f} (ln 2 = {np.log(2):.4f})")
    tg.viz.plot_decision_boundary(line, X, y, title="XOR: no line separates it")
    """),
    md("""
    ## A hand-made feature fixes XOR

    Add a third input x3 = x1·x2. With the weights [w0, w1, w2, w3] = [−0.5, 1, 1, −2]
    the unit computes w·x = −0.5 + x1 + x2 − 2·x1·x2, which is positive exactly on the
    XOR points.
    """),
    code("""
    X4 = data.add_bias_column(data.add_product_feature(X))   # [x0 = 1, x1, x2, x3 = x1*x2]
    w_hand = np.array([-0.5, 1.0, 1.0, -2.0])
    z = X4 @ w_hand
    print(" x1 x2 x3   w·x   P(y=1)  predicted  target")
    for (_, x1, x2, x3), zi, ti in zip(X4, z, y):
        print(f" {x1:2.0f} {x2:2.0f} {x3:2.0f}  {zi:+.1f}   {1 / (1 + np.exp(-zi)):.3f}"
              f"  {int(zi > 0):9d}  {ti:6d}")
    print(f"accuracy {np.mean((z > 0) == y):.0%}")
    """),
    code("""
    def with_feature(G):   # P(y=1 | x) of the unit on [1, x1, x2, x1*x2]
        return 1 / (1 + np.exp(-(data.add_bias_column(data.add_product_feature(G)) @ w_hand)))

    tg.viz.plot_decision_boundary(with_feature, X, y, title="XOR with x3 = x1·x2")
    """),
    md("""
    But which feature? x1·x2, sin x, x², log x …? Nobody can guess every useful feature
    for hundreds of inputs. Part 3: a hidden layer learns them.
    """),
]

# ----------------------------------------------------------------------------- part 2
GRADIENT_DESCENT = [
    md("""
    # 2. Gradient descent, stopping rules and cross-validation

    Training has no closed form, so we walk downhill: w ← w − learning_rate · dL/dw,
    once per epoch. The learning rate and the number of epochs are hyperparameters:
    gradient descent does not learn them.
    """),
    setup("data", "nn", "F"),
    md("""
    ## Gradient descent by hand

    A logistic unit on the two blobs, 50 epochs, learning rate 0.5. Each epoch: forward,
    `backward()`, one step.
    """),
    code("""
    Xb, yb = data.blobs(200, random_state=0)
    target = yb.astype(np.float64)


    def descend(lr, epochs=50):
        w = tg.Tensor(np.zeros(2), requires_grad=True)
        b = tg.Tensor(0.0, requires_grad=True)
        opt = tg.optim.SGD([w, b], lr=lr)
        losses = []
        for _ in range(epochs):
            opt.zero_grad()
            loss = F.binary_cross_entropy_with_logits(tg.Tensor(Xb) @ w + b, target)
            loss.backward()
            opt.step()
            losses.append(loss.item())
        return w, b, losses


    w, b, losses = descend(0.5)
    acc = np.mean(((Xb @ w.data + b.data) > 0) == yb)
    print(f"loss {losses[0]:.3f} -> {losses[-1]:.3f}, accuracy {acc:.0%}")
    tg.viz.plot_history(losses, title="Gradient descent on the blobs, lr = 0.5")
    """),
    md("""
    ## The learning rate

    Too small and the loss creeps down; larger steps get there in fewer epochs (on a
    harder surface, too large a step overshoots and diverges).
    """),
    code("""
    for lr in (0.01, 0.1, 0.5, 2.0):
        print(f"lr = {lr:<4}: loss after 50 epochs {descend(lr)[2][-1]:.4f}")
    """),
]

LANDSCAPE = [
    md("""
    ## The loss landscape

    The cross-entropy of a logistic unit with two weights (no bias) over the (w1, w2)
    plane, and the paths of plain gradient descent, momentum and Adam from one start.
    """),
    code("""
    Xl, tl = Xb - Xb.mean(axis=0), target
    fig = tg.viz.plot_loss_landscape(
        lambda w: F.binary_cross_entropy_with_logits(tg.Tensor(Xl) @ w, tl),
        [-2.0, 2.0], lr=0.5, steps=40, resolution=41, weight_names=("w1", "w2"))
    fig
    """),
]

GRADIENT_DESCENT_2 = [
    md("""
    ## When to stop

    Three rules, each a callback of `tg.train.fit`:

    * `GradientNormBelow`: the gradient is small, we are (nearly) at a minimum;
    * `LossPlateau`: the training loss has stopped falling;
    * `EarlyStopping`: the loss on held-out data, which the updates never see, starts to
      rise: the network is memorising the training data (overfitting). The best
      epoch's weights are put back.

    A 2-50-1 tanh network, plain gradient descent on a noisy XOR: 60 points to learn
    from, 60 held out. (A small gradient can also mean a flat stretch near the start:
    with a threshold of 0.03 instead of 0.02 this run stops after 7 epochs.)
    """),
    code("""
    from tinygrad_edu import train

    Xn, yn = data.xor(noise=0.35, n_repeats=30, random_state=0)
    order = np.random.default_rng(0).permutation(len(Xn))
    Xn, yn = Xn[order], yn[order]
    X_train, X_val, y_train, y_val = data.train_test_split(Xn, yn, test_size=0.5, random_state=0)


    def make_model():
        return nn.Sequential(nn.Linear(2, 50, random_state=0), nn.Tanh(),
                             nn.Linear(50, 1, random_state=1))


    def loss_fn(out, t):
        return F.binary_cross_entropy_with_logits(out, np.asarray(t, np.float64)[:, None])


    rules = {"none": [],
             "GradientNormBelow(0.02)": [train.GradientNormBelow(0.02)],
             "LossPlateau(20, 1e-4)": [train.LossPlateau(patience=20, min_delta=1e-4)],
             "EarlyStopping(50)": [train.EarlyStopping(patience=50, restore_best=True)]}
    histories = {}
    for name, stopping in rules.items():
        model = make_model()
        histories[name] = h = train.fit(model, loss_fn, X_train, y_train,
                                        optimizer=tg.optim.SGD(model.parameters(), lr=1.0),
                                        epochs=400, X_val=X_val, y_val=y_val,
                                        stopping=stopping, random_state=0)
        print(f"{name:<24} stopped after {h.epochs:3d} epochs: {h.reason}")
    """),
    code("""
    h = histories["none"]
    best = int(np.argmin(h.val_loss))
    print(f"held-out loss lowest at epoch {best + 1} ({h.val_loss[best]:.3f}), "
          f"then {h.val_loss[-1]:.3f}; training loss {h.loss[best]:.3f} -> {h.loss[-1]:.3f}")
    tg.viz.plot_history(h, title="Noisy XOR: the held-out loss rises (overfitting)")
    """),
    md("""
    ## Choosing hyperparameters by cross-validation

    Split the data into k folds; train on k − 1, score on the one held out, k times;
    keep the setting with the best mean held-out score. Here: the learning rate and the
    number of hidden units, 3 folds.
    """),
    code("""
    folds = np.array_split(np.arange(len(Xn)), 3)
    scores = {}
    for lr in (0.03, 0.3, 3.0):
        for hidden in (1, 4, 16):
            fold_scores = []
            for i, test_idx in enumerate(folds):
                train_idx = np.concatenate(folds[:i] + folds[i + 1:])
                clf = tg.models.MLPClassifier((hidden,), activation="tanh", solver="sgd",
                                              learning_rate_init=lr, max_iter=60,
                                              random_state=0)
                clf.fit(Xn[train_idx], yn[train_idx])
                fold_scores.append(clf.score(Xn[test_idx], yn[test_idx]))
            scores[lr, hidden] = np.mean(fold_scores)
            print(f"lr {lr:<5} hidden {hidden:2d}: mean held-out accuracy {scores[lr, hidden]:.1%}")
    print("cross-validation picks (lr, hidden) =", max(scores, key=scores.get))
    """),
    md("""
    ## Other ways downhill

    Momentum keeps rolling (with μ = 0.9 its steps add up to lr / (1 − μ): lr 0.1 with
    momentum moves like lr 1 without), Adam scales each weight's step, and L-BFGS and
    conjugate gradient choose their own step lengths by line searches (with curvature,
    in L-BFGS's case). One 2-16-1 tanh network on two spirals, the same start for all.
    """),
    code("""
    Xs, ys = data.spirals(200, noise=0.1, random_state=0)
    optimizers = {"gradient descent": lambda p: tg.optim.SGD(p, lr=1.0),
                  "momentum 0.9": lambda p: tg.optim.SGD(p, lr=0.1, momentum=0.9),
                  "Adam": lambda p: tg.optim.Adam(p, lr=0.1),
                  "L-BFGS": lambda p: tg.optim.LBFGS(p),
                  "conjugate gradient": lambda p: tg.optim.ConjugateGradient(p)}
    curves = {}
    for name, make in optimizers.items():
        net = nn.Sequential(nn.Linear(2, 16, random_state=0), nn.Tanh(),
                            nn.Linear(16, 1, random_state=1))
        h = train.fit(net, loss_fn, Xs, ys, optimizer=make(net.parameters()), epochs=150,
                      random_state=0)
        curves[name] = h.loss
        print(f"{name:<20} {h.n_iter:4d} iterations, {len(h.loss):4d} loss evaluations, "
              f"final loss {h.loss[-1]:.2e}")
    """),
    code("""
    from tinygrad_edu.viz.plots import Figure

    fig = Figure(figsize=(6.5, 4), layout="constrained")
    ax = fig.subplots()
    for name, loss in curves.items():
        ax.plot(np.arange(1, len(loss) + 1), loss, lw=2, label=name)
    ax.set(yscale="log", xlabel="loss evaluations", ylabel="training loss",
           title="Optimizers on the two spirals")
    ax.legend(frameon=False)
    fig
    """),
]

# ----------------------------------------------------------------------------- part 3
HIDDEN_LAYER = [
    md("""
    # 3. A hidden layer learns the features; backpropagation

    Hidden units z_j = σ(Σ_i x_i W_ij) are logistic units of their own: each is a
    feature, and the output y = σ(Σ_j z_j V_j) is a logistic regression on those
    features. Nobody has to guess x1·x2: training finds features that work.
    """),
    setup("data", "nn"),
    md("""
    ## Three hand-set hidden units compute XOR

    z1 ≈ OR, z2 ≈ AND, z3 ≈ NAND (steep sigmoids, k = 10), and y = σ(k(z1 − z2 + z3 − 1.5)).
    Positive weights excite, negative weights inhibit.
    """),
    code("""
    X, y = data.xor()
    k = 10.0
    net = nn.Sequential(nn.Linear(2, 3), nn.Sigmoid(), nn.Linear(3, 1), nn.Sigmoid())
    net[0].weight.data[...] = k * np.array([[1.0, 1.0, -1.0], [1.0, 1.0, -1.0]])
    net[0].bias.data[...] = k * np.array([-0.5, -1.5, 1.5])
    net[2].weight.data[...] = k * np.array([[1.0], [-1.0], [1.0]])
    net[2].bias.data[...] = k * np.array([-1.5])
    with tg.no_grad():
        z = net[1](net[0](tg.Tensor(X))).data
        out = net(tg.Tensor(X)).data[:, 0]
    print(" x1 x2    z1    z2    z3      y  target")
    for xi, zi, yi, ti in zip(X, z, out, y):
        print(f" {xi[0]:2.0f} {xi[1]:2.0f}  " + " ".join(f"{v:5.3f}" for v in zi)
              + f"  {yi:5.3f}  {ti:6d}")
    """),
    code("""
    tg.viz.draw_network(net, show_bias=True, show_weights=True, highlight=(1, 0),
                        title="XOR, weights set by hand")
    """),
    md("""
    ## A trained network finds its own

    A 2-3-1 `MLPClassifier` of sigmoid units. Some random starts get stuck in a local
    minimum; we try the next seed until one learns XOR.
    """),
    code("""
    for seed in range(20):
        mlp = tg.models.MLPClassifier((3,), activation="logistic", solver="adam",
                                      learning_rate_init=0.1, alpha=0.0, max_iter=1000,
                                      random_state=seed).fit(X, y)
        if mlp.score(X, y) == 1.0:
            break
    print(f"random start {seed}: accuracy {mlp.score(X, y):.0%} after {mlp.n_iter_} epochs")
    with tg.no_grad():
        hidden = mlp.module_[1](mlp.module_[0](tg.Tensor(X))).data
    print("hidden units on the four points (columns z1, z2, z3):")
    print(np.round(hidden, 2))
    tg.viz.draw_network(mlp, show_bias=True, highlight=(1, 0), title="The trained XOR network")
    """),
    code("""
    tg.viz.plot_decision_boundary(mlp, X, y, title="What the trained network learned")
    """),
    md("""
    ## Backpropagation by hand

    A 2-2-1 network, one sample. By the chain rule, with total derivatives:

    * dL/da = y − t (sigmoid output with cross-entropy),
    * dL/dV_j = (y − t)·z_j, straight from the output error,
    * dL/dz_j = Σ_k (y_k − t_k) V_jk: W reaches L only through z_j, which feeds every
      output, so the contributions of all paths are summed,
    * dL/dW_ij = dL/dz_j · z_j (1 − z_j) · x_i.
    """),
    code("""
    def sigmoid(s):
        return 1 / (1 + np.exp(-s))


    x_np = np.array([1.0, 0.5, -1.0])                          # [x0 = 1, x1, x2]
    W_np = np.array([[0.1, -0.2], [0.4, 0.3], [-0.5, 0.2]])    # 3 x 2, row 0: biases
    V_np = np.array([[0.05], [0.7], [-0.6]])                   # 3 x 1, row 0: bias
    t_np = np.array([1.0])

    z_np = sigmoid(x_np @ W_np)
    z_ext_np = np.concatenate([[1.0], z_np])
    y_np = sigmoid(z_ext_np @ V_np)
    delta = y_np - t_np
    dV = np.outer(z_ext_np, delta)
    dz = V_np[1:] @ delta
    dW = np.outer(x_np, dz * z_np * (1 - z_np))
    print("dL/dW by hand:\\n", dW)
    print("dL/dV by hand:\\n", dV)
    """),
    md("""
    ## … and by the engine

    The same network as Tensor operations: the engine records the graph and walks it in
    reverse topological order.
    """),
    code("""
    x_t, t_t = tg.Tensor(x_np), tg.Tensor(t_np)
    W = tg.Tensor(W_np, requires_grad=True)
    V = tg.Tensor(V_np, requires_grad=True)
    s = x_t @ W
    z = s.sigmoid()
    z_ext = tg.concatenate([tg.Tensor([1.0]), z])
    a = z_ext @ V
    y_hat = a.sigmoid()
    L = -(t_t * y_hat.log() + (1 - t_t) * (1 - y_hat).log()).sum()
    L.backward()
    print("largest difference, W:", np.abs(W.grad.data - dW).max())
    print("largest difference, V:", np.abs(V.grad.data - dV).max())
    names = {"x": x_t, "target": t_t, "W": W, "V": V, "s": s, "z": z, "z_ext": z_ext, "a": a,
             "y": y_hat, "L": L}
    """),
    md("""
    The computation graph with every value and gradient, and each step of the backward
    pass written out with the same names.
    """),
    code("""
    tg.viz.draw_graph(L, names=names, show_grad="all")
    """),
    code("""
    tg.viz.explain(L, names=names)
    """),
    md("""
    ## The backward pass, one step at a time

    `tg.viz.backward_steps` shows the walk frame by frame: the node being processed, its
    incoming gradient and local derivative, and the gradients filling in (a slider in
    Jupyter). Skipped when this version of the package does not have it.
    """),
    code("""
    if hasattr(tg.viz, "backward_steps"):
        steps = tg.viz.backward_steps(L, names=names)
    else:
        steps = "tg.viz.backward_steps is not available in this version"
    steps
    """),
]

# ----------------------------------------------------------------------------- part 4
CAPACITY = [
    md("""
    # 4. Capacity costs data: counting parameters; real digits

    Each layer adds N1 × N2 weights. 32 × 32 inputs, 500 hidden units and 10 outputs is
    1024·500 + 500·10 = 517,000 weights; a rule of thumb asks for about ten samples per
    parameter. More layers and units are not free.
    """),
    setup("data", "nn"),
    code("""
    big = nn.Sequential(nn.Linear(1024, 500, bias=False, random_state=0), nn.Sigmoid(),
                        nn.Linear(500, 10, bias=False, random_state=0))
    n_weights = big.num_parameters()
    print(f"1024·500 + 500·10 = {1024 * 500 + 500 * 10:,}; the network has {n_weights:,} weights")
    print(f"ten samples per weight: {10 * n_weights:,} samples")
    """),
    md("""
    ## Real handwritten digits

    scikit-learn ships 1,797 digits of 8 × 8 pixels (64 inputs, 10 classes); nothing is
    downloaded. Train on 75 %, score on the 25 % the network never saw.
    """),
    code("""
    X, y = data.load_digits()
    X_train, X_test, y_train, y_test = data.train_test_split(X, y, test_size=0.25, random_state=0)
    model = tg.models.MLPClassifier((32,), activation="logistic", learning_rate_init=0.01,
                                    max_iter=30, random_state=0).fit(X_train, y_train)
    linear = tg.models.LogisticRegression(random_state=0).fit(X_train, y_train)
    print(f"MLP 64-32-10: training {model.score(X_train, y_train):.1%}, "
          f"held out {model.score(X_test, y_test):.1%}")
    print(f"logistic regression on the pixels: held out {linear.score(X_test, y_test):.1%}")
    n_params = model.module_.num_parameters()
    print(f"{n_params:,} parameters from {len(X_train):,} images "
          f"(the rule of thumb would ask for {10 * n_params:,})")
    """),
    md("What each hidden unit looks for: its 64 incoming weights as an 8 × 8 image."),
    code("""
    tg.viz.plot_first_layer(model, (8, 8))
    """),
    code("""
    tg.viz.plot_history(model, title="Digits: training loss")
    """),
    md("""
    ## Softmax: ten outputs that are probabilities

    With P outputs the last layer uses softmax instead of the sigmoid:
    y_k = e^(a_k) / Σ_m e^(a_m), positive and summing to 1; the loss is the
    cross-entropy −log y_target. With two classes it is the logistic unit again.
    """),
    code("""
    a = tg.Tensor([2.0, 1.0, 0.1])
    p = a.softmax()
    print("softmax([2, 1, 0.1]) =", np.round(p.data, 3), " sum =", p.data.sum())
    two = tg.Tensor([1.5, 0.0]).softmax().data[0]
    print(f"two classes: softmax([a, 0])[0] = {two:.4f} = σ(a) = {tg.Tensor(1.5).sigmoid().item():.4f}")
    proba = model.predict_proba(X_test[:3])
    print("P(digit) for three held-out images:\\n", np.round(proba, 2))
    print("each row sums to", np.round(proba.sum(axis=1), 6), "; true digits", y_test[:3])
    """),
]

# ----------------------------------------------------------------------------- part 5
RBM = [
    md("""
    # 5. Restricted Boltzmann machines and deep belief networks

    An RBM is two layers of logistic units, visible v (pixels) and hidden h, joined both
    ways by one weight matrix W. Its energy is E(v, h) = −v·b − h·c − h·Wv; summing out h
    gives the free energy F(v) = −v·b − Σ_j softplus(c_j + W_j·v), and P(v) ∝ e^(−F(v)).
    """),
    setup("data"),
    code("""
    from tinygrad_edu import rbm as R

    W = np.array([[2.0, -1.0, 1.0], [-1.0, 2.0, -2.0]])    # 2 hidden x 3 visible
    b, c = np.array([0.5, -0.5, 0.0]), np.array([-1.0, 0.5])
    v = np.array([1.0, 0.0, 1.0])
    hs = [np.array([h1, h2]) for h1 in (0.0, 1.0) for h2 in (0.0, 1.0)]
    E = [R.energy(v[None], h[None], W, b, c).item() for h in hs]
    print("E(v, h) for the four h:", np.round(E, 4))
    print("-log Σ_h exp(-E) =", round(-np.log(np.sum(np.exp(-np.array(E)))), 6))
    print("F(v)             =", round(R.free_energy(v[None], W, b, c).item(), 6))
    """),
    md("""
    ## Contrastive divergence is the engine's gradient

    Training lowers F on the data and raises it on the model's own samples (a Gibbs
    chain). The gradient of mean F(data) − mean F(model), which the engine computes from
    F, is exactly the textbook rule −(⟨h v⟩_data − ⟨h v⟩_model).
    """),
    code("""
    X, y = data.load_digits()                          # 1,797 digits, 8x8 pixels in [0, 1]
    X_train, X_test, y_train, y_test = data.train_test_split(X, y, test_size=0.25, random_state=0)
    rbm = tg.models.BernoulliRBM(n_components=36, learning_rate=0.06, n_iter=5,
                                 random_state=0).fit(X_train)
    W, b, c = rbm.components_, rbm.intercept_visible_, rbm.intercept_hidden_
    v_data, v_model = X_train[:10], rbm.gibbs(X_train[:10])
    h_data, h_model = (1 / (1 + np.exp(-(vv @ W.T + c))) for vv in (v_data, v_model))
    dW, db, dc = R.cd_gradient(v_data, v_model, W, b, c)
    textbook = (h_data.T @ v_data - h_model.T @ v_model) / 10
    print("largest difference, engine vs textbook:", np.abs(dW + textbook).max())
    err = rbm.history_["reconstruction_error"]
    print(f"reconstruction error {err[0]:.3f} -> {err[-1]:.3f} in {len(err)} epochs")
    """),
    md("Each hidden unit's weights, as an 8 × 8 filter (red positive, blue negative)."),
    code("""
    tg.viz.plot_rbm_filters(rbm, (8, 8))
    """),
    md("""
    ## A deep belief network

    Stack RBMs, each trained on the hidden activities of the one below (greedy,
    unsupervised), then fine-tune the whole network by backpropagation. On the
    "nudged" digits (each image also moved one pixel up, down, left and right: 7,188 to
    train on), a DBN 64-256-128-10 with 5 epochs per RBM and only 5 epochs of fine-tuning,
    against the same network from a random start.
    """),
    code("""
    Xn_train, Xn_test, yn_train, yn_test = R.load_nudged_digits()
    budget = dict(hidden_layer_sizes=(256, 128), rbm_n_iter=5, max_iter=5,
                  learning_rate_init=0.01, random_state=0)
    dbn = tg.models.DBNClassifier(**budget).fit(Xn_train, yn_train)
    plain = tg.models.DBNClassifier(pretrain=False, **budget).fit(Xn_train, yn_train)
    print(f"pretrained:   held-out accuracy {dbn.score(Xn_test, yn_test):.3f}")
    print(f"random start: held-out accuracy {plain.score(Xn_test, yn_test):.3f}")
    """),
]

# ----------------------------------------------------------------------------- part 6
OWN_OP = [
    md("""
    # 6. Writing your own op

    Every operation of the engine is a `tg.Function`: a `forward` on numpy arrays and a
    `backward` that turns the gradient of the output into gradients of the inputs. Here:
    Swish (SiLU), y = x·σ(x), with dy/dx = σ(x)(1 + x(1 − σ(x))). See docs/custom_ops.md.
    """),
    setup(),
    code("""
    class Swish(tg.Function):
        \"\"\"y = x * sigmoid(x);  dx = g * s * (1 + x * (1 - s))  with s = sigmoid(x)\"\"\"

        @staticmethod
        def forward(ctx, x):            # x is a numpy array
            ctx.save_for_backward(x)    # comes back in backward as the input Tensor
            s = 0.5 * (1.0 + np.tanh(0.5 * x))   # sigmoid without overflow
            return x * s

        @staticmethod
        def backward(ctx, g):           # g and the saved x are Tensors
            x, = ctx.saved_tensors
            s = x.sigmoid()
            return g * s * (1.0 + x * (1.0 - s))


    def swish(x):
        return Swish.apply(x)


    print(np.round(swish(tg.Tensor([-1000.0, -2.0, 0.0, 2.0, 1000.0])).data + 0.0, 4))
    """),
    md("""
    Backward is written with Tensor operations, so the engine can differentiate it again:
    second derivatives come for free.
    """),
    code("""
    from tinygrad_edu.viz.plots import Figure

    xs = np.linspace(-5, 5, 201)
    xt = tg.Tensor(xs, requires_grad=True)
    swish(xt).sum().backward()
    fig = Figure(figsize=(6, 3.5), layout="constrained")
    ax = fig.subplots()
    ax.plot(xs, swish(tg.Tensor(xs)).data, lw=2, label="swish(x)")
    ax.plot(xs, xt.grad.data, lw=2, label="d swish / dx (backward)")
    ax.axhline(0, color="grey", lw=0.5)
    ax.legend(frameon=False)
    fig
    """),
    md("""
    ## Check it: gradcheck and gradgradcheck

    `gradcheck` compares backward with central finite differences (in float64);
    `gradgradcheck` does the same for the gradient's own gradient.
    """),
    code("""
    from tinygrad_edu.testing import gradcheck, gradgradcheck

    x = np.random.default_rng(0).uniform(-4, 4, size=(3, 4))
    print("gradcheck:    ", gradcheck(swish, x, seed=1))
    print("gradgradcheck:", gradgradcheck(swish, x, seed=2))
    print("d²/dx² swish(0) =", tg.grad(tg.grad(lambda t: swish(t)))(0.0).item(), "(by hand: 0.5)")
    """),
    md("""
    A wrong backward is caught: forget the factor (1 + x(1 − s)) and gradcheck says where.
    """),
    code("""
    class BadSwish(Swish):
        @staticmethod
        def backward(ctx, g):
            x, = ctx.saved_tensors
            return g * x.sigmoid()       # the missing factor


    print("gradcheck of the wrong backward:",
          gradcheck(BadSwish.apply, x, seed=1, raise_exception=False))
    try:
        gradcheck(BadSwish.apply, x, seed=1)
    except AssertionError as err:   # tg.testing.GradcheckError
        print(err)
    """),
    md("The new op appears in the computation graph like any built-in one."),
    code("""
    w = tg.Tensor([0.5, -1.0], requires_grad=True)
    out = swish(tg.Tensor([1.0, 2.0]) * w).sum()
    out.backward()
    tg.viz.draw_graph(out, names={"w": w, "out": out})
    """),
]

NOTEBOOKS = {
    "01_logistic_unit.ipynb": LOGISTIC_UNIT,
    "02_gradient_descent.ipynb": GRADIENT_DESCENT + LANDSCAPE + GRADIENT_DESCENT_2,
    "03_hidden_layer_and_backprop.ipynb": HIDDEN_LAYER,
    "04_capacity_and_digits.ipynb": CAPACITY,
    "05_rbm_dbn.ipynb": RBM,
    "06_your_own_op.ipynb": OWN_OP,
}


def build(name, cells):
    """The notebook ``name`` as a string: cells without outputs, ids fixed by position."""
    nb = new_notebook()
    nb.metadata = {"kernelspec": {"display_name": "Python 3", "language": "python",
                                  "name": "python3"},
                   "language_info": {"name": "python"}}
    stem = name.split("_")[0]
    for i, (kind, text) in enumerate(cells):
        source = textwrap.dedent(text).strip("\n")
        cell = new_markdown_cell(source) if kind == "markdown" else new_code_cell(source)
        cell.id = f"nb{stem}-{i:02d}"
        nb.cells.append(cell)
    nbformat.validate(nb)
    return nbformat.writes(nb) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="compare the committed notebooks with what would be written")
    args = parser.parse_args(argv)
    stale = []
    for name, cells in NOTEBOOKS.items():
        text, path = build(name, cells), HERE / name
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(HERE.parent)}")
    if args.check:
        if stale:
            print("out of date (run python notebooks/make_notebooks.py): " + ", ".join(stale))
            return 1
        print(f"{len(NOTEBOOKS)} notebooks up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Steps 2, 5 and 6 of the story: XOR defeats a line; a feature or a network fixes it.

    python examples/02_xor.py [--out DIR]

1. Logistic regression on XOR: no straight line puts (0,1) and (1,0) on one side and
   (0,0) and (1,1) on the other, so at most 3 of the 4 points are right (75%).
2. A hand-made feature x3 = x1*x2 makes the problem linear: the weights
   [w0, w1, w2, w3] = [-0.5, 1, 1, -2] classify XOR exactly.
3. A network with 3 hidden units, every weight chosen by hand, computes XOR: each hidden
   unit is a logistic unit that computes a simple feature (OR, AND, NAND), and the output
   unit is a logistic regression on those features.
4. A trained MLPClassifier finds such weights by itself; we print what its hidden units
   learned.

With --out DIR the two networks are drawn (network diagrams, SVG; needs Graphviz's
`dot`, else the DOT text is saved) and the trained network's decision boundary is
plotted (PNG; needs matplotlib).
"""
import argparse
import pathlib
import warnings

import numpy as np

import tinygrad_edu as tg
from tinygrad_edu import data, nn

# the boolean functions of two inputs that a hidden unit may learn, by their outputs
# on (0,0), (0,1), (1,0), (1,1)
BOOLEAN = {(0, 0, 0, 1): "AND", (0, 1, 1, 1): "OR", (1, 1, 1, 0): "NAND", (1, 0, 0, 0): "NOR",
           (0, 0, 1, 0): "x1 AND NOT x2", (0, 1, 0, 0): "x2 AND NOT x1",
           (1, 0, 1, 1): "x1 OR NOT x2", (1, 1, 0, 1): "x2 OR NOT x1",
           (0, 0, 1, 1): "x1", (0, 1, 0, 1): "x2", (1, 1, 0, 0): "NOT x1", (1, 0, 1, 0): "NOT x2",
           (0, 1, 1, 0): "XOR", (1, 0, 0, 1): "XNOR", (0, 0, 0, 0): "0", (1, 1, 1, 1): "1"}


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def best_line_accuracy(X, y, n_lines=20000, seed=0):
    """The best accuracy of many random lines w0 + w1 x1 + w2 x2 = 0 on the four points."""
    w = np.random.default_rng(seed).normal(size=(n_lines, 3))
    pred = (w[:, :1] + w[:, 1:] @ X.T) > 0          # (n_lines, 4): which side of each line
    return max(np.mean(pred == y, axis=1).max(), np.mean(~pred == y, axis=1).max())


def logistic_regression_fails(X, y):
    print("1. Logistic regression on XOR (one logistic unit, a straight line):")
    model = tg.models.LogisticRegression().fit(X, y)
    p = model.predict_proba(X)[:, 1]
    print(f"   P(y=1 | x) on (0,0), (0,1), (1,0), (1,1) = {np.round(p, 3).tolist()}")
    print(f"   logistic regression accuracy on XOR: {model.score(X, y):.0%}"
          f"  (cross-entropy {model.loss_:.4f}; ln 2 = {np.log(2):.4f}: 'half and half')")
    print(f"   best of 20,000 random lines: {best_line_accuracy(X, y):.0%} -- no line gets "
          "all four points right")


def hand_made_feature(X, y):
    print("\n2. Add the feature x3 = x1*x2; with [w0, w1, w2, w3] = [-0.5, 1, 1, -2]:")
    w = np.array([-0.5, 1.0, 1.0, -2.0])
    X4 = data.add_bias_column(data.add_product_feature(X))   # [x0 = 1, x1, x2, x1*x2]
    print("    x1 x2 x3   w . x = w0*1 + w1*x1 + w2*x2 + w3*x3     sigma   class  target")
    correct = 0
    for (x0, x1, x2, x3), t in zip(X4, y):
        z = w @ [x0, x1, x2, x3]
        terms = f"-0.5 + 1*{x1:.0f} + 1*{x2:.0f} - 2*{x3:.0f}"
        pred = int(z > 0)
        correct += pred == t
        print(f"    {x1:2.0f} {x2:2.0f} {x3:2.0f}   {terms} = {z:+.1f}"
              f"        {sigmoid(z):.3f}   {pred:5d}  {t:6d}")
    print(f"   accuracy with the x3 feature: {correct / len(y):.0%}")
    model = tg.models.LogisticRegression().fit(data.add_product_feature(X), y)
    print(f"   LogisticRegression trained on [x1, x2, x1*x2]: accuracy "
          f"{model.score(data.add_product_feature(X), y):.0%}")
    print("   But which feature? x1*x2, sin x, x^2, log x ...? Nobody can guess them all for"
          " hundreds of inputs.")


def hand_set_network(X, y):
    """A 2-3-1 network of sigmoid units whose weights are chosen by hand."""
    print("\n3. A network with 3 hidden units, every weight set by hand (steepness k = 10):")
    k = 10.0  # a large k makes each sigmoid nearly a step: outputs close to 0 or 1
    net = nn.Sequential(nn.Linear(2, 3), nn.Sigmoid(), nn.Linear(3, 1), nn.Sigmoid())
    # Column j of W holds unit j's incoming weights; the bias is the weight of x0 = 1.
    #               z1 = OR      z2 = AND     z3 = NAND
    W = k * np.array([[1.0, 1.0, -1.0],     # from x1
                      [1.0, 1.0, -1.0]])    # from x2
    b = k * np.array([-0.5, -1.5, 1.5])     # from x0 = 1
    # y = z1 AND z3 (OR but not AND), with the AND unit z2 as an extra inhibitor:
    # y = sigma(k * (z1 - z2 + z3 - 1.5))
    V = k * np.array([[1.0], [-1.0], [1.0]])
    c = k * np.array([-1.5])
    net[0].weight.data[...], net[0].bias.data[...] = W, b
    net[2].weight.data[...], net[2].bias.data[...] = V, c
    with tg.no_grad():
        z = net[1](net[0](tg.Tensor(X))).data   # the hidden units' outputs
        out = net(tg.Tensor(X)).data[:, 0]
    print("   z1 = sigma(k(x1 + x2 - 0.5)) ~ OR,  z2 = sigma(k(x1 + x2 - 1.5)) ~ AND,")
    print("   z3 = sigma(k(1.5 - x1 - x2)) ~ NAND,  y = sigma(k(z1 - z2 + z3 - 1.5))")
    print("    x1 x2     z1    z2    z3      y   target")
    for xi, zi, yi, t in zip(X, z, out, y):
        print(f"    {xi[0]:2.0f} {xi[1]:2.0f}   " + " ".join(f"{v:5.3f}" for v in zi)
              + f"  {yi:5.3f}  {t:6d}")
    acc = np.mean((out > 0.5) == y)
    print(f"   hand-set network accuracy: {acc:.0%}")
    return net


def trained_network(X, y):
    print("\n4. A trained MLPClassifier: 2 inputs, 3 sigmoid hidden units, 1 output (L-BFGS):")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a start that stalls may warn about max_iter
        for seed in range(20):
            model = tg.models.MLPClassifier(hidden_layer_sizes=(3,), activation="logistic",
                                            max_iter=500, random_state=seed).fit(X, y)
            if model.score(X, y) == 1.0:
                break
            print(f"   (random start {seed} stalled at {model.score(X, y):.0%}: a local "
                  "minimum; trying the next)")
    print(f"   trained MLP accuracy on XOR: {model.score(X, y):.0%} after {model.n_iter_} "
          f"iterations (random_state={seed})")
    (W, V), (b, c) = model.coefs_, model.intercepts_
    print("   learned hidden units z_j = sigma(b_j + W_1j x1 + W_2j x2):")
    with tg.no_grad():
        z = model.module_[1](model.module_[0](tg.Tensor(X))).data
    for j in range(W.shape[1]):
        bits = tuple(int(v > 0.5) for v in z[:, j])
        crisp = np.all(np.abs(z[:, j] - bits) < 0.25)
        name = BOOLEAN[bits] if crisp else "a soft mixture"
        print(f"     z{j + 1}: b = {b[j]:+7.2f}  W = [{W[0, j]:+7.2f}, {W[1, j]:+7.2f}]"
              f"  on the 4 points {np.round(z[:, j], 2).tolist()}  ~ {name}")
    print(f"   output y = sigma({c[0]:.2f} "
          + " ".join(f"{V[j, 0]:+.2f}*z{j + 1}" for j in range(V.shape[0])) + ")")
    print(f"   P(y=1) on the 4 points: {np.round(model.predict_proba(X)[:, 1], 3).tolist()}")
    return model


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", metavar="DIR", help="write the pictures into DIR")
    args = parser.parse_args(argv)

    X, y = data.xor()  # (0,0)->0, (0,1)->1, (1,0)->1, (1,1)->0
    logistic_regression_fails(X, y)
    hand_made_feature(X, y)
    hand_net = hand_set_network(X, y)
    model = trained_network(X, y)
    if args.out:
        write_pictures(pathlib.Path(args.out), X, y, hand_net, model)


def write_pictures(out, X, y, hand_net, model):
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, net, title in [("02_hand_set_network", hand_net, "XOR, weights set by hand"),
                             ("02_trained_network", model, "XOR, weights learned")]:
        g = tg.viz.draw_network(net, show_bias=True, show_weights=True, highlight=(1, 0),
                                title=title)
        try:
            written.append(tg.viz.render(g, out / f"{name}.svg").name)
        except tg.viz.GraphvizNotFoundError:
            written.append(tg.viz.save_source(g, out / f"{name}.dot").name)
            print("Graphviz's `dot` program is missing: saved the DOT text instead of SVG")
    if tg.viz.plots_available():
        fig = tg.viz.plot_decision_boundary(model, X, y, title="The trained XOR network")
        fig.savefig(out / "02_trained_boundary.png", dpi=100)
        written.append("02_trained_boundary.png")
    print(f"wrote {', '.join(written)} to {out}")


if __name__ == "__main__":
    main()

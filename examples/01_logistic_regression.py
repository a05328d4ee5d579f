"""Step 1-4 of the story: one logistic unit, trained by gradient descent.

    python examples/01_logistic_regression.py [--out DIR]

A logistic unit computes y = sigma(w . x) = P(class 1 | x), where x = [x0, x1, x2]
starts with the constant input x0 = 1, so that w0 plays the role of the bias. The
set of points where w . x = 0 (y = 0.5) is a straight line: the unit separates what a
line can separate, and nothing else.

Training maximises the likelihood of the labels (see `cross_entropy` below). There is
no closed form for the best w, so we walk downhill: w <- w - lr * dE/dw, a fixed number
of epochs. The loop is written out with Tensors; the engine computes dE/dw.

On two well separated blobs the line classifies every point; on two overlapping blobs
no line can, and the accuracy stays lower. At the end the same is done in one line
with tg.models.LogisticRegression. With --out DIR the sigmoid curve, the two decision
boundaries and the loss curves are written as PNG files (needs matplotlib).
"""
import argparse
import pathlib

import numpy as np

import tinygrad_edu as tg
from tinygrad_edu import data


def cross_entropy(y, t):
    """The negative log-likelihood of the labels t under the predictions y = P(t=1 | x).

    Each sample is a coin flip with P(t=1) = y, so the likelihood of independent
    samples is the product  prod_n y_n^t_n (1 - y_n)^(1 - t_n).  Products of many small
    numbers underflow and are awkward to differentiate; the logarithm turns the product
    into a sum, and maximising the likelihood is minimising its negative log:

        E(w) = -sum_n [ t_n log y_n + (1 - t_n) log(1 - y_n) ]    (the cross-entropy)

    We divide by the number of samples (a mean) so that the learning rate does not
    depend on the size of the data set. Its gradient is remarkably simple:
    dE/dw = mean_n (y_n - t_n) x_n  -- the error times the input.
    (tg.functional.binary_cross_entropy_with_logits computes the same number from w . x
    in a form that stays finite even when y rounds to exactly 0 or 1.)
    """
    return -(t * y.log() + (1 - t) * (1 - y).log()).mean()


def gradient_descent(X, t, lr=0.5, epochs=200, report_every=50):
    """Plain gradient descent on the cross-entropy of one logistic unit.

    X has the bias column x0 = 1 first; t holds the 0/1 labels. Returns the weights
    (a Tensor) and the loss of every epoch.
    """
    X, t = tg.Tensor(X), tg.Tensor(t)
    w = tg.Tensor(np.zeros(X.shape[1]), requires_grad=True)  # start at w = 0: y = 0.5 everywhere
    losses = []
    print(f"    {'epoch':>5}  {'loss':>7}  {'|grad|':>7}  {'accuracy':>8}"
          "   (each measured before the epoch's step)")
    for epoch in range(1, epochs + 1):
        y = (X @ w).sigmoid()          # forward: P(class 1 | x) for every sample
        loss = cross_entropy(y, t)
        w.grad = None                  # forget the previous epoch's gradient
        loss.backward()                # dE/dw, by the chain rule through the graph
        with tg.no_grad():             # the update itself is not part of the graph
            w.sub_(lr * w.grad)        # w <- w - learning_rate * gradient, in place
        losses.append(loss.item())
        if epoch == 1:
            # the engine's gradient is the formula of the docstring: mean (y - t) x
            by_formula = ((y.data - t.data)[:, None] * X.data).mean(axis=0)
            assert np.allclose(w.grad.data, by_formula)
        if epoch % report_every == 0 or epoch == 1:
            acc = np.mean((y.data > 0.5) == (t.data == 1))
            grad_norm = np.linalg.norm(w.grad.data)
            print(f"    {epoch:>5}  {loss.item():7.4f}  {grad_norm:7.4f}  {acc:8.1%}")
    return w, losses


def accuracy(w, X, t):
    """The fraction of samples on the correct side of the line w . x = 0."""
    return float(np.mean(((X @ w.data) > 0) == (t == 1)))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", metavar="DIR", help="write pictures (PNG) into DIR")
    args = parser.parse_args(argv)

    print("A logistic unit: y = sigma(w0*x0 + w1*x1 + w2*x2) with x0 = 1 (w0 is the bias).")
    print("sigma(-2), sigma(0), sigma(2) =",
          ", ".join(f"{tg.Tensor(v).sigmoid().item():.3f}" for v in (-2.0, 0.0, 2.0)),
          "-> y = 0.5 exactly on the line w . x = 0")

    results = {}
    for name, separable in [("separable blobs", True), ("overlapping blobs", False)]:
        X, t = data.blobs(200, separable=separable, random_state=0)
        X1 = data.add_bias_column(X)   # [x0 = 1, x1, x2]
        print(f"\n{name}: gradient descent, learning rate 0.5, 200 epochs")
        w, losses = gradient_descent(X1, t.astype(np.float64))
        acc = accuracy(w, X1, t)
        w0, w1, w2 = w.data
        print(f"  learned w = [w0, w1, w2] = [{w0:.3f}, {w1:.3f}, {w2:.3f}]")
        print(f"  separating line: {w0:.2f} + {w1:.2f}*x1 + {w2:.2f}*x2 = 0")
        print(f"  {name}: gradient-descent accuracy {acc:.1%}")
        results[name] = (X, t, w, losses, acc)

    print("\nThe same with the estimator tg.models.LogisticRegression (L-BFGS, no penalty):")
    for name, (X, t, *_rest) in results.items():
        model = tg.models.LogisticRegression().fit(X, t)
        print(f"  {name}: LogisticRegression accuracy {model.score(X, t):.1%}  "
              f"(w0 = {model.intercept_[0]:.2f}, [w1, w2] = "
              f"[{model.coef_[0, 0]:.2f}, {model.coef_[0, 1]:.2f}], {model.n_iter_} iterations)")
    sep, over = results["separable blobs"][-1], results["overlapping blobs"][-1]
    print(f"\nA line separates the first data set ({sep:.0%}) but not the second ({over:.0%}):"
          "\nwhere the classes overlap, no choice of w can do better than the overlap allows."
          "\n(On separable data the loss only reaches 0 as |w| grows without bound, so the"
          "\nweights depend on when training stops; the line barely moves.)")

    if args.out:
        write_pictures(pathlib.Path(args.out), results)


def write_pictures(out, results):
    """The sigmoid, each data set with its line, and the loss curves (needs matplotlib)."""
    if not tg.viz.plots_available():
        return
    out.mkdir(parents=True, exist_ok=True)
    figures = {"01_sigmoid.png": tg.viz.plot_activations()}
    for name, (X, t, w, losses, acc) in results.items():
        stem = name.split()[0]

        def proba(Xg, w=w):  # P(class 1 | x) of the trained unit, for the colour map
            return 1 / (1 + np.exp(-(data.add_bias_column(Xg) @ w.data)))

        figures[f"01_{stem}_boundary.png"] = tg.viz.plot_decision_boundary(
            proba, X, t, title=f"{name}: accuracy {acc:.0%}")
        figures[f"01_{stem}_loss.png"] = tg.viz.plot_history(
            losses, title=f"{name}: cross-entropy per epoch")
    for filename, fig in figures.items():
        fig.savefig(out / filename, dpi=100)
    print(f"wrote {', '.join(figures)} to {out}")


if __name__ == "__main__":
    main()

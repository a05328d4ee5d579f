"""Step 8 of the story, on real data: handwritten digits.

    python examples/03_digits.py [--out DIR]

scikit-learn ships 1,797 handwritten digits as 8x8 images (64 pixel inputs, 10
classes), so nothing is downloaded. An MLPClassifier with one hidden layer of 32
sigmoid units is trained on 75% of them and tested on the other 25%, which it has
never seen: the held-out accuracy is the number that counts. We print which digits it
confuses, one digit it got wrong, and its parameters (module_.summary()).

For comparison, a logistic regression (no hidden layer: the pixels are the features)
is trained on the same split. With --out DIR the first layer's weights (what pattern
each hidden unit looks for) and the loss curve are plotted (PNG; needs matplotlib).
"""
import argparse
import pathlib
import sys
import warnings

import numpy as np

import tinygrad_edu as tg
from tinygrad_edu import data


def confusion_matrix(y_true, y_pred, n_classes=10):
    """C[i, j] = how many samples of class i were predicted as class j."""
    C = np.zeros((n_classes, n_classes), dtype=int)
    np.add.at(C, (y_true, y_pred), 1)
    return C


def ascii_digit(image):
    """An 8x8 image (values in [0, 1]) as text, darker characters for more ink."""
    shades = " .:-=+*#%@"
    return ["".join(shades[int(v * (len(shades) - 1))] * 2 for v in row)
            for row in image.reshape(8, 8)]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", metavar="DIR", help="write pictures (PNG) into DIR")
    args = parser.parse_args(argv)

    try:
        X, y = data.load_digits()   # pixels scaled to [0, 1], labels 0..9
    except ImportError as err:
        print(f"This example needs scikit-learn's bundled digits: {err}")
        sys.exit(0)
    X_train, X_test, y_train, y_test = data.train_test_split(X, y, test_size=0.25,
                                                             random_state=0)
    print(f"digits: {len(X)} images of 8x8 = {X.shape[1]} pixels; "
          f"{len(X_train)} to train on, {len(X_test)} held out")

    # One hidden layer of 32 logistic units, Adam on minibatches of 200, at most 100 epochs
    # (it stops earlier when the training loss stops improving).
    model = tg.models.MLPClassifier(hidden_layer_sizes=(32,), activation="logistic",
                                    learning_rate_init=0.01, max_iter=100, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a ConvergenceWarning if it runs all 100 epochs
        model.fit(X_train, y_train)
    train_acc, test_acc = model.score(X_train, y_train), model.score(X_test, y_test)
    print(f"\nMLPClassifier 64-32-10 ({model.solver_}, {model.n_iter_} epochs):")
    print(f"  training accuracy {train_acc:.1%}")
    print(f"  held-out accuracy {test_acc:.1%}")

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        linear = tg.models.LogisticRegression(random_state=0).fit(X_train, y_train)
    print(f"  (logistic regression on the raw pixels: held-out accuracy "
          f"{linear.score(X_test, y_test):.1%})")

    pred = model.predict(X_test)
    C = confusion_matrix(y_test, pred)
    print("\nConfusion matrix on the held-out digits (row: true digit, column: predicted):")
    print("        " + " ".join(f"{j:3d}" for j in range(10)))
    for i in range(10):
        print(f"  {i:3d}   " + " ".join(f"{C[i, j]:3d}" if C[i, j] else "  ." for j in range(10))
              + f"   {C[i, i] / C[i].sum():6.1%} right")
    off = C.copy()
    np.fill_diagonal(off, 0)
    pairs = sorted(((off[i, j], i, j) for i in range(10) for j in range(10) if off[i, j]),
                   reverse=True)[:3]
    print("  most often confused: " + ", ".join(f"{i} taken for {j} ({n}x)" for n, i, j in pairs))
    wrong = np.flatnonzero(pred != y_test)
    if len(wrong):
        k = wrong[0]
        proba = model.predict_proba(X_test[k:k + 1])[0]
        print(f"\nA held-out {y_test[k]} that the network read as {pred[k]} "
              f"(P = {proba[pred[k]]:.2f}; P({y_test[k]}) = {proba[y_test[k]]:.2f}):")
        for line in ascii_digit(X_test[k]):
            print("    |" + line + "|")

    print("\nParameters (module_.summary()):")
    print(model.module_.summary())
    n_params = model.module_.num_parameters()
    print(f"\n{n_params:,} parameters learned from {len(X_train):,} images: the rule of thumb "
          f"of ten samples per parameter would ask for {10 * n_params:,}.")
    print("The rule is rough (the L2 penalty and stopping early help), but every extra "
          "hidden unit adds 64 + 10 + 1 = 75 more.")

    if args.out:
        write_pictures(pathlib.Path(args.out), model)


def write_pictures(out, model):
    """What each hidden unit looks for (its 64 incoming weights as an 8x8 image) and the
    loss curve (needs matplotlib)."""
    if not tg.viz.plots_available():
        return
    out.mkdir(parents=True, exist_ok=True)
    figures = {"03_first_layer.png": tg.viz.plot_first_layer(model, (8, 8)),
               "03_loss.png": tg.viz.plot_history(model, title="Digits: training loss")}
    for filename, fig in figures.items():
        fig.savefig(out / filename, dpi=100)
    print(f"wrote {', '.join(figures)} to {out}")


if __name__ == "__main__":
    main()

"""Part 3 of the lesson: restricted Boltzmann machines and deep belief networks.

    python examples/09_rbm_dbn.py [--out DIR]

An RBM is two layers of the logistic units of parts 1 and 2, visible v (pixels) and
hidden h, joined both ways by one weight matrix W. It gives each configuration an
energy E(v, h) = -v·b - h·c - h·Wv; summing out h gives the free energy
F(v) = -v·b - sum_j softplus(c_j + W_j·v), and P(v) is proportional to exp(-F(v)).
Training lowers F on the data and raises it on the model's own samples (contrastive
divergence); the engine computes that gradient from F, and it is exactly the textbook
rule <h v>_data - <h v>_model.

On scikit-learn's "nudged" digits (each 8x8 image also moved one pixel up, down, left
and right) we show the energy and free energy of a visible vector, the CD update equal
to the engine's gradient, the learned filters, Gibbs samples, RBM features + logistic
regression against raw pixels (scikit-learn's example: 0.935 against 0.778), and a deep
belief network (stacked RBMs, then fine-tuned by backpropagation) against the same
network from a random start. With --out DIR the filters, the Gibbs chains and the
training curves are drawn (PNG; needs matplotlib).
"""
import argparse
import contextlib
import itertools
import pathlib
import sys
import time
import warnings

import numpy as np

import tinygrad_edu as tg
from tinygrad_edu import rbm as R

try:  # (threadpoolctl comes with scikit-learn)
    from threadpoolctl import threadpool_limits
except ImportError:
    threadpool_limits = None


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def energy_and_free_energy():
    """A tiny RBM with hand-set weights: every E(v, h), and F(v) two ways."""
    W = np.array([[2.0, -1.0, 1.0], [-1.0, 2.0, -2.0]])   # 2 hidden x 3 visible
    b, c = np.array([0.5, -0.5, 0.0]), np.array([-1.0, 0.5])
    v = np.array([1.0, 0.0, 1.0])
    print("1. Energy and free energy of the visible vector v = [1, 0, 1] "
          "(3 visible, 2 hidden units)")
    print("   E(v, h) = -v·b - h·c - h·Wv for each hidden vector h:")
    total = 0.0
    for h in itertools.product([0.0, 1.0], repeat=2):
        E = R.energy(v[None], np.array([h]), W, b, c).item()
        total += np.exp(-E)
        print(f"     h = {list(map(int, h))}: E = {E:+.4f}   exp(-E) = {np.exp(-E):.4f}")
    F = R.free_energy(v[None], W, b, c).item()
    print(f"   -log sum_h exp(-E)                  = {-np.log(total):.6f}")
    print(f"   F(v) = -v·b - sum_j softplus(c_j + W_j·v) = {F:.6f}   (the engine's free_energy)")
    print(f"   P(h = 1 | v) = sigmoid(c + Wv) = {np.round(sigmoid(c + W @ v), 4).tolist()}: "
          "each hidden unit is a logistic unit")


def cd_update_is_the_engine_gradient(X):
    """One contrastive-divergence update: the textbook statistics and the engine's gradient."""
    rng = np.random.RandomState(0)
    W, b, c = rng.normal(0, 0.01, (100, 64)), np.zeros(64), np.zeros(100)
    v_data = X[:10]                                        # a minibatch of digits
    v_model = (rng.uniform(size=(10, 64)) < 0.5).astype(float)  # a chain's sample
    h_data, h_model = sigmoid(v_data @ W.T + c), sigmoid(v_model @ W.T + c)
    textbook = (h_data.T @ v_data / 10 - h_model.T @ v_model / 10,   # <h v>_data - <h v>_model
                v_data.mean(0) - v_model.mean(0), h_data.mean(0) - h_model.mean(0))
    engine = R.cd_gradient(v_data, v_model, W, b, c)  # d/dθ [mean F(v_data) - mean F(v_model)]
    print("\n2. One CD update: θ <- θ - lr · d/dθ [mean F(v_data) - mean F(v_model)]")
    for name, t, e in zip(("W", "b", "c"), textbook, engine):
        print(f"   d{name}: textbook <.>_data - <.>_model vs minus the engine's gradient: "
              f"largest difference {np.max(np.abs(t + e)):.1e}")


def rbm_features(X_train, X_test, y_train, y_test):
    """scikit-learn's example with our RBM: features + logistic regression vs raw pixels."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    rbm = tg.models.BernoulliRBM(n_components=100, learning_rate=0.06, n_iter=10,
                                 random_state=0)
    start = time.perf_counter()
    model = Pipeline([("rbm", rbm), ("logistic", LogisticRegression(C=6000, max_iter=1000))])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X_train, y_train)
        raw = LogisticRegression().fit(X_train, y_train)
    seconds = time.perf_counter() - start
    print(f"\n3. BernoulliRBM(100 hidden units, learning_rate=0.06, 10 epochs of PCD-1), "
          f"{np.mean(rbm.history_['seconds']):.2f} s an epoch:")
    print("   epoch  pseudo-likelihood  reconstruction error")
    for epoch, (pl, err) in enumerate(zip(rbm.history_["pseudo_likelihood"],
                                          rbm.history_["reconstruction_error"]), 1):
        print(f"   {epoch:5d}  {pl:17.2f}  {err:20.4f}")
    print(f"   RBM features + LogisticRegression(C=6000): held-out accuracy "
          f"{model.score(X_test, y_test):.3f}   (scikit-learn's example: 0.935)")
    print(f"   logistic regression on the raw pixels:     held-out accuracy "
          f"{raw.score(X_test, y_test):.3f}   (scikit-learn's example: 0.778)")
    print(f"   ({seconds:.0f} s for both; the RBM is a scikit-learn Pipeline step)")
    return rbm


def dbn_against_random_start(X_train, X_test, y_train, y_test):
    """Stacked RBMs, fine-tuned, against the same network from a random start."""
    start = time.perf_counter()
    print("\n4. DBN 64-256-128-10: two RBMs pretrained greedily (10 epochs each), then "
          "fine-tuned by backpropagation (Adam, learning rate 0.01)")
    print("   fine-tuning  seed  pretrained  random start")
    dbn = None
    for epochs, seeds in ((5, (0, 1, 2)), (20, (0,))):
        for seed in seeds:
            kwargs = {"max_iter": epochs, "learning_rate_init": 0.01, "random_state": seed}
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # ConvergenceWarning: the budget is small
                dbn = tg.models.DBNClassifier(**kwargs).fit(X_train, y_train)
                plain = tg.models.DBNClassifier(pretrain=False, **kwargs).fit(X_train, y_train)
            print(f"   {epochs:3d} epochs  {seed:5d}  {dbn.score(X_test, y_test):10.3f}  "
                  f"{plain.score(X_test, y_test):12.3f}")
    print(f"   pretrained layers (from dbn.rbms_): {dbn.pretrained_layers_}. With few epochs "
          "of fine-tuning the pretrained start is far ahead; given more, the random start "
          f"comes close ({time.perf_counter() - start:.0f} s)")
    return dbn


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", metavar="DIR", help="write pictures (PNG) into DIR")
    args = parser.parse_args(argv)
    # One BLAS thread: these are small matrix products, for which a second thread only
    # adds overhead (on a busy two-core machine, twenty times slower).
    with threadpool_limits(1) if threadpool_limits else contextlib.nullcontext():
        run(args)


def run(args):
    energy_and_free_energy()
    try:
        X_train, X_test, y_train, y_test = R.load_nudged_digits()
    except ImportError as err:
        print(f"\nThe rest of this example needs scikit-learn's bundled digits: {err}")
        sys.exit(0)
    print(f"\nnudged digits: {len(X_train) + len(X_test)} images of 8x8 pixels in [0, 1]; "
          f"{len(X_train)} to train on, {len(X_test)} held out")
    cd_update_is_the_engine_gradient(X_train)
    rbm = rbm_features(X_train, X_test, y_train, y_test)
    dbn_against_random_start(X_train, X_test, y_train, y_test)
    if args.out:
        write_pictures(pathlib.Path(args.out), rbm, X_test)


def write_pictures(out, rbm, X):
    """The filters, Gibbs chains from held-out digits, the training curves (matplotlib)."""
    if not tg.viz.plots_available():
        return
    out.mkdir(parents=True, exist_ok=True)
    figures = {"09_rbm_filters.png": tg.viz.plot_rbm_filters(rbm, (8, 8), max_components=50),
               "09_gibbs_chain.png": tg.viz.plot_gibbs_chain(rbm, X[:8], steps=(1, 10, 100)),
               "09_rbm_history.png": tg.viz.plot_rbm_history(rbm)}
    for filename, fig in figures.items():
        fig.savefig(out / filename, dpi=100)
    print(f"wrote {', '.join(figures)} to {out}")


if __name__ == "__main__":
    main()

"""W8 MLPClassifier fit on the digits: ``tg.models.MLPClassifier`` against scikit-learn's
``sklearn.neural_network.MLPClassifier``, the same settings on both sides.

scikit-learn's 1,797 digits (64 pixels scaled to [0, 1]), one hidden layer of 100 relu
units, softmax output, log loss with the L2 penalty alpha / (2 n) |W|^2 per minibatch
(alpha 1e-4), minibatches of 200 reshuffled every epoch, the 'sgd' solver with a
constant learning rate 0.01 and (heavy-ball, not Nesterov) momentum 0.9: the same update
on both sides (v <- 0.9 v - 0.01 g, w <- w + v, in scikit-learn's spelling; b <- 0.9 b + g,
w <- w - 0.01 b in tinygrad_edu's, PyTorch's). Exactly ``epochs`` epochs: tol 0 and
n_iter_no_change above max_iter, no early stopping, so neither stops on a plateau.

One step is one ``fit`` from scratch; the metric is its time divided by the epochs run.
The contenders take turns in one process, as in the other timing workloads.
"""
import warnings

from benchmarks.harness import Bench, Workload, result, timed

SETTINGS = {"hidden_layer_sizes": (100,), "activation": "relu", "solver": "sgd",
            "alpha": 1e-4, "batch_size": 200, "learning_rate_init": 0.01, "momentum": 0.9,
            "tol": 0.0, "early_stopping": False, "random_state": 0}
SKLEARN_ONLY = {"learning_rate": "constant", "nesterovs_momentum": False, "shuffle": True}
# full: 1 + 4 rounds of (1 untimed + 2 timed) fits of 30 epochs per contender
SIZES = {"full": {"n": None, "epochs": 30, "rounds": 4, "block": 2},
         "quick": {"n": 300, "epochs": 3, "rounds": 1, "block": 1}}


def make_data(n=None):
    from sklearn.datasets import load_digits
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    return (X, y) if n is None else (X[:n], y[:n])


def bench(fw, n, epochs):
    X, y = make_data(n)
    options = dict(SETTINGS, max_iter=epochs, n_iter_no_change=epochs + 1)
    if fw.name == "scikit-learn":
        from sklearn.neural_network import MLPClassifier
        make = lambda: MLPClassifier(**options, **SKLEARN_ONLY)
    else:
        make = lambda: fw.tg.models.MLPClassifier(**options)

    def step():
        model = make()
        with warnings.catch_warnings():     # ConvergenceWarning: max_iter is the point here
            warnings.simplefilter("ignore")
            phases, model = timed(lambda: model.fit(X, y))
        # The two start from different random weights (and shuffle with different
        # generators), so they cannot learn the same numbers. What each must agree on:
        # the epochs run (n_iter_, the loss curve's length), the samples visited, and
        # the size of the network learned (weights and biases). The loss and accuracy
        # reached are reported beside the table, as information.
        n_params = sum(a.size for a in model.coefs_) + sum(a.size for a in model.intercepts_)
        kept = (model.n_iter_, len(model.loss_curve_), model.n_iter_ * len(X), n_params)
        return phases, (kept, float(model.loss_), model.score(X, y))

    def report(med, outs):
        kept, loss, accuracy = outs[-1]
        note = f"after {kept[0]} epochs: training loss {loss:.4f}, accuracy {accuracy:.3f}"
        return result({"ms/epoch": med["total"] / epochs * 1e3}, checksum=kept, notes=[note])
    return Bench(step, report, warmup=1)


WORKLOADS = [Workload("W8", "MLPClassifier fit on the digits (1,797 x 64), 100 relu units, "
                      "sgd + momentum, batches of 200, 30 epochs", SIZES, bench=bench,
                      max_reps=5, contenders=("tinygrad_edu", "scikit-learn"))]

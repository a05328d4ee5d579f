"""Step 4 of the story: when to stop gradient descent, and how to choose its settings.

    python examples/05_stopping_and_cv.py [--out DIR]

Gradient descent repeats w <- w - learning_rate * gradient for a number of epochs.
Three ways to decide that it is time to stop:

  GradientNormBelow  the gradient is small: we are (nearly) at a minimum;
  LossPlateau        the training loss has stopped falling;
  EarlyStopping      the loss on held-out data, which the updates never see, starts to
                     rise: the network is memorising the training data (overfitting).
                     The weights of the best held-out epoch are put back.

A network with 50 tanh hidden units is trained by plain gradient descent on a noisy
XOR (60 samples to learn from, 60 held out), once per rule from the same start, and
once without a rule for all 1000 epochs. The table shows which rule fired at which
epoch, and what each left behind.

The learning rate and the number of hidden units are hyperparameters: gradient
descent does not learn them. We choose them by 3-fold cross-validation: train on two
thirds, score on the remaining third, three times, and keep the setting with the best
mean held-out score. The loop is written out by hand below; when scikit-learn is
installed, GridSearchCV runs the same search on the same folds and must agree.
With --out DIR the loss curves are plotted (PNG; needs matplotlib).
"""
import argparse
import itertools
import pathlib
import warnings

import numpy as np

import tinygrad_edu as tg
from tinygrad_edu import data, nn, train
from tinygrad_edu import functional as F

EPOCHS, LR = 1000, 1.0


def make_model():
    """The same 2-50-1 network (same initial weights) for every run."""
    return nn.Sequential(nn.Linear(2, 50, random_state=0), nn.Tanh(),
                         nn.Linear(50, 1, random_state=1))


def loss_fn(out, t):
    """Cross-entropy of one logistic output unit (computed from its input, stably)."""
    return F.binary_cross_entropy_with_logits(out, np.asarray(t, np.float64)[:, None])


def accuracy(out, t):
    return float(np.mean((out[:, 0] > 0) == t))


def stopping_rules(X_train, y_train, X_val, y_val):
    print(f"1. Gradient descent (learning rate {LR}, at most {EPOCHS} epochs) on a noisy XOR, "
          "50 tanh hidden units:")
    runs = {
        "none (all epochs)": [],
        "GradientNormBelow(0.01)": [train.GradientNormBelow(0.01)],
        "LossPlateau(20, 1e-4)": [train.LossPlateau(patience=20, min_delta=1e-4)],
        "EarlyStopping(50)": [train.EarlyStopping(patience=50, restore_best=True)],
        "all three together": [train.GradientNormBelow(0.01),
                               train.LossPlateau(patience=20, min_delta=1e-4),
                               train.EarlyStopping(patience=50, restore_best=True)],
    }
    print(f"   {'stopping rule':<24} {'fired':<18} {'epochs':>6}  {'train loss':>10}"
          f"  {'held-out loss':>13}  {'held-out acc':>12}")
    histories = {}
    for name, rules in runs.items():
        model = make_model()
        history = train.fit(model, loss_fn, X_train, y_train,
                            optimizer=tg.optim.SGD(model.parameters(), lr=LR),
                            epochs=EPOCHS, X_val=X_val, y_val=y_val, stopping=rules,
                            metric=accuracy, random_state=0)
        with tg.no_grad():  # the weights the run leaves behind (restored, for EarlyStopping)
            out = model(tg.Tensor(X_val))
            val_loss, val_acc = loss_fn(out, y_val).item(), accuracy(out.data, y_val)
            train_loss = loss_fn(model(tg.Tensor(X_train)), y_train).item()
        fired = history.stopped_by or "-"
        print(f"   {name:<24} {fired:<18} {history.epochs:>6}  {train_loss:10.4f}"
              f"  {val_loss:13.4f}  {val_acc:12.1%}")
        histories[name] = history
    best = int(np.argmin(histories["none (all epochs)"].val_loss))
    h = histories["none (all epochs)"]
    print(f"   Without a rule the held-out loss is lowest after epoch {best + 1} "
          f"({h.val_loss[best]:.4f}) and then rises to {h.val_loss[-1]:.4f} while the training "
          f"loss keeps falling ({h.loss[best]:.4f} -> {h.loss[-1]:.4f}): overfitting.")
    early = histories["EarlyStopping(50)"]
    print(f"   EarlyStopping fired at epoch {early.epochs}, 50 epochs after the best one "
          f"(epoch {early.best_epoch + 1}), and restored that epoch's weights.")
    both = histories["all three together"]
    print(f"   With all three rules the first to fire stops the run ({both.stopped_by}, epoch "
          f"{both.epochs}); EarlyStopping still puts back its best weights (epoch "
          f"{both.best_epoch + 1}).")
    return histories


def k_fold_indices(n, k):
    """k (train, test) index pairs: each sample is in exactly one test fold."""
    folds = np.array_split(np.arange(n), k)
    return [(np.concatenate(folds[:i] + folds[i + 1:]), folds[i]) for i in range(k)]


def estimator(lr, hidden):
    return tg.models.MLPClassifier(hidden_layer_sizes=(hidden,), activation="tanh",
                                   solver="sgd", learning_rate_init=lr, max_iter=100,
                                   random_state=0)


LEARNING_RATES, HIDDEN_SIZES = (0.03, 0.3, 3.0), (1, 4, 32)


def cv_by_hand(X, y, folds):
    """Cross-validation written out: mean held-out accuracy of every grid point."""
    scores = {}
    for lr, hidden in itertools.product(LEARNING_RATES, HIDDEN_SIZES):
        fold_scores = []
        for train_idx, test_idx in folds:           # each fold is held out once
            model = estimator(lr, hidden).fit(X[train_idx], y[train_idx])
            fold_scores.append(model.score(X[test_idx], y[test_idx]))
        scores[lr, hidden] = fold_scores
    return scores


def cv_with_sklearn(X, y, folds):
    """The same search with scikit-learn's GridSearchCV (the estimators follow its API)."""
    from sklearn.model_selection import GridSearchCV
    search = GridSearchCV(estimator(0.1, 1),
                          {"learning_rate_init": list(LEARNING_RATES),
                           "hidden_layer_sizes": [(h,) for h in HIDDEN_SIZES]},
                          cv=folds)
    search.fit(X, y)
    results = search.cv_results_
    return {(p["learning_rate_init"], p["hidden_layer_sizes"][0]):
            [results[f"split{i}_test_score"][n] for i in range(len(folds))]
            for n, p in enumerate(results["params"])}


def cross_validation(X, y, how="auto"):
    folds = k_fold_indices(len(X), 3)
    print("\n2. Choosing the learning rate and the number of hidden units by 3-fold "
          "cross-validation")
    print(f"   (MLPClassifier, gradient descent with momentum, 100 epochs; {len(X)} samples,"
          f" folds of {len(folds[0][1])}):")
    if how == "auto":
        try:
            import sklearn  # noqa: F401
            how = "sklearn"
        except ImportError:
            print("   scikit-learn is not installed (pip install scikit-learn), so the "
                  "k-fold loop is run by hand")
            how = "manual"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # runs that use all 100 epochs warn about max_iter
        scores = (cv_with_sklearn if how == "sklearn" else cv_by_hand)(X, y, folds)
    print(f"   searched with: {'GridSearchCV' if how == 'sklearn' else 'a k-fold loop by hand'}")
    print(f"   {'learning rate':>13}  {'hidden':>6}   fold accuracies       mean")
    for (lr, hidden), fold_scores in sorted(scores.items()):
        print(f"   {lr:13g}  {hidden:6d}   " + "  ".join(f"{s:5.1%}" for s in fold_scores)
              + f"   {np.mean(fold_scores):6.1%}")
    (best_lr, best_hidden), best = max(scores.items(), key=lambda item: np.mean(item[1]))
    print(f"   cross-validation picks learning rate {best_lr:g} with {best_hidden} hidden units"
          f" (mean held-out accuracy {np.mean(best):.1%})")
    return best_lr, best_hidden


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", metavar="DIR", help="write pictures (PNG) into DIR")
    parser.add_argument("--cv", choices=["auto", "sklearn", "manual"], default="auto",
                        help="GridSearchCV (the default when scikit-learn is installed) or "
                             "the k-fold loop written out by hand")
    args = parser.parse_args(argv)

    X, y = data.xor(noise=0.35, n_repeats=30, random_state=0)   # 120 points around the corners
    order = np.random.default_rng(0).permutation(len(X))
    X, y = X[order], y[order]
    X_train, X_val, y_train, y_val = data.train_test_split(X, y, test_size=0.5, random_state=0)
    histories = stopping_rules(X_train, y_train, X_val, y_val)
    cross_validation(X, y, args.cv)
    if args.out:
        write_pictures(pathlib.Path(args.out), histories)


def write_pictures(out, histories):
    """The training and held-out loss of the run without a stopping rule (needs matplotlib)."""
    if not tg.viz.plots_available():
        return
    out.mkdir(parents=True, exist_ok=True)
    fig = tg.viz.plot_history(histories["none (all epochs)"],
                              title="Noisy XOR: the held-out loss rises (overfitting)")
    fig.savefig(out / "05_overfitting.png", dpi=100)
    print(f"wrote 05_overfitting.png to {out}")


if __name__ == "__main__":
    main()

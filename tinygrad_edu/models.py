"""scikit-learn-style estimators: LogisticRegression, MLPClassifier and MLPRegressor.

scikit-learn's conventions without needing it: ``__init__`` only stores hyperparameters,
``fit`` returns self, learned attributes end in ``_`` (the network is ``module_``, its
training record ``history_``; ``loss_curve_`` has one entry per epoch, or per loss
evaluation for L-BFGS and CG), ``get_params``/``set_params`` read ``__init__``'s
signature, so ``clone``, ``cross_val_score`` and ``GridSearchCV`` work.

A logistic regression is a network without hidden layers: one logistic unit for two
classes (sigmoid + binary cross-entropy), one unit per class otherwise (softmax +
cross-entropy). The L2 penalty is scikit-learn's MLP one, ``alpha / (2 n) * |W|^2`` on
the weights for a batch of n samples (for LogisticRegression ``alpha = 1 / C``).
``NotFittedError``, ``ConvergenceWarning`` and ``DataConversionWarning`` are
scikit-learn's own when it is installed (imported at first use, so that importing this
module stays fast), otherwise local classes of the same names.
"""
from __future__ import annotations

import functools
import inspect
import itertools
import math
import numbers
import warnings

import numpy as np

from . import functional as F
from . import nn, optim
from .data import train_test_split
from .modes import no_grad
from .random import rng
from .tensor import Tensor
from .train import EarlyStopping, LossPlateau
from .train import fit as fit_loop

__all__ = ["LogisticRegression", "MLPClassifier", "MLPRegressor"]  # and, resolved at first
# use, NotFittedError, ConvergenceWarning and DataConversionWarning (see __getattr__)

ACTIVATIONS = {"logistic": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU, "identity": nn.Identity}
SOLVERS = ("auto", "sgd", "adam", "lbfgs", "cg")
LBFGS_BELOW = 1000  # solver="auto": L-BFGS below this many samples, Adam from there on


@functools.cache
def _exceptions():
    """(NotFittedError, ConvergenceWarning, DataConversionWarning), scikit-learn's if it is
    installed: then ``check_is_fitted`` and ``except NotFittedError`` work as usual."""
    try:
        from sklearn.exceptions import ConvergenceWarning, DataConversionWarning, NotFittedError
    except ImportError:
        class NotFittedError(ValueError, AttributeError):
            """Raised when predicting with an estimator that was not fitted."""

        class ConvergenceWarning(UserWarning):
            """Training stopped at max_iter before meeting its convergence criterion."""

        class DataConversionWarning(UserWarning):
            """The input had to be reshaped (a column-vector y)."""
    return NotFittedError, ConvergenceWarning, DataConversionWarning


def __getattr__(name):  # tg.models.NotFittedError etc., resolved at first use
    names = ("NotFittedError", "ConvergenceWarning", "DataConversionWarning")
    if name in names:
        return _exceptions()[names.index(name)]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _check_X(X, estimator, n_features=None):
    """X as a finite 2-D float64 array, with scikit-learn's error messages."""
    if hasattr(X, "tocsr"):
        raise TypeError(f"{estimator} does not accept sparse input; convert it with "
                        "X.toarray() to a dense array")
    X = np.asarray(X)
    if X.dtype.kind == "c":
        raise ValueError("Complex data not supported")
    if X.ndim != 2:
        raise ValueError(f"Expected 2D array, got {X.ndim}D array instead: X of shape {X.shape}."
                         " Reshape your data either using array.reshape(-1, 1) if your data "
                         "has a single feature or array.reshape(1, -1) if it contains a "
                         "single sample.")
    try:
        X = X.astype(np.float64, copy=False)
    except (TypeError, ValueError):
        if not any(_is_missing(v) for v in X.ravel()):
            raise  # (numpy's own words, which scikit-learn's checks expect)
        raise ValueError(f"Input X contains NaN or NA, which {estimator} cannot use as a "
                         "number: drop or fill the missing values first.") from None
    for count, what in ((X.shape[0], "sample"), (X.shape[1], "feature")):
        if count == 0:
            raise ValueError(f"Found array with 0 {what}(s) (shape={X.shape}) while a minimum "
                             f"of 1 is required by {estimator}.")
    _check_finite(X, "X", estimator)
    if n_features is not None and X.shape[1] != n_features:
        raise ValueError(f"X has {X.shape[1]} features, but {estimator} is expecting "
                         f"{n_features} features as input.")
    return X


def _check_finite(a, name, estimator=None):
    if not np.isfinite(a).all():
        what = "NaN" if np.isnan(a).any() else "infinity or a value too large for dtype('float64')"
        raise ValueError(f"Input {name} contains {what}." + (f" ({estimator} needs finite "
                                                              "values)" if estimator else ""))


def _feature_names(X):
    """The column names of a DataFrame-like X (all strings), else None (scikit-learn's rule)."""
    columns = getattr(X, "columns", None)
    if columns is None:
        return None
    names = np.asarray(list(columns), dtype=object)
    return names if len(names) and all(isinstance(n, str) for n in names) else None


def _check_feature_names(estimator, X, reset):
    """Store (``reset``, in fit) or check (in predict) ``feature_names_in_``, as
    scikit-learn does: columns reordered or renamed since fit are an error, never a
    silent permutation of the features."""
    names = _feature_names(X)
    if reset:
        if names is not None:
            estimator.feature_names_in_ = names
        elif hasattr(estimator, "feature_names_in_"):
            del estimator.feature_names_in_
        return
    fitted = getattr(estimator, "feature_names_in_", None)
    name = type(estimator).__name__
    if fitted is None and names is not None:
        warnings.warn(f"X has feature names, but {name} was fitted without feature names",
                      UserWarning, stacklevel=3)
    elif fitted is not None and names is None:
        warnings.warn(f"X does not have valid feature names, but {name} was fitted with "
                      "feature names", UserWarning, stacklevel=3)
    elif fitted is not None and (len(names) != len(fitted) or np.any(names != fitted)):
        unseen = [n for n in names if n not in set(fitted)]
        missing = [n for n in fitted if n not in set(names)]
        detail = "".join(["\nFeature names unseen at fit time:\n- " + "\n- ".join(unseen)
                          if unseen else "",
                          "\nFeature names seen at fit time, yet now missing:\n- "
                          + "\n- ".join(missing) if missing else "",
                          "\nFeature names must be in the same order as they were in fit.\n"
                          if not unseen and not missing else ""])
        raise ValueError("The feature names should match those that were passed during fit."
                         + detail)


def _is_missing(v):
    """None, NaN or pandas' NA (checked without importing pandas)."""
    return v is None or type(v).__name__ in ("NAType", "NaTType") or (
        isinstance(v, float) and math.isnan(v))


def _check_y(y, n_samples, estimator):
    if y is None:
        raise ValueError(f"{estimator} requires y to be passed, but the target y is None.")
    y = np.asarray(y)
    if y.dtype.kind == "O":
        missing = [i for i, v in enumerate(y.ravel()) if _is_missing(v)]
        if missing:
            raise ValueError(f"{estimator}: y contains missing values ({y.ravel()[missing[0]]!r} "
                             f"at position {missing[0]}): drop or fill them before fit.")
    if y.ndim == 2 and y.shape[1] == 1:
        warnings.warn("A column-vector y was passed when a 1d array was expected. Please change "
                      "the shape of y to (n_samples, ), for example using ravel().",
                      _exceptions()[2], stacklevel=3)
        y = y.ravel()
    if y.ndim != 1:
        raise ValueError(f"y should be a 1d array, got an array of shape {y.shape} instead.")
    if len(y) != n_samples:
        raise ValueError("Found input variables with inconsistent numbers of samples: "
                         f"[{n_samples}, {len(y)}]: X and y must have the same length")
    if y.dtype.kind == "c":
        raise ValueError("Complex data not supported")
    if y.dtype.kind == "f":
        _check_finite(y, "y", estimator)
    return y


def _check_param(estimator, name, ok, expected):
    value = getattr(estimator, name)
    try:
        valid = bool(ok(value))
    except TypeError:  # e.g. a string compared with a number
        valid = False
    if not valid:
        raise ValueError(f"The {name!r} parameter of {type(estimator).__name__} must be "
                         f"{expected}. Got {value!r} instead.")


def _has_scipy():
    try:
        import scipy.optimize  # noqa: F401
    except ImportError:
        return False
    return True


_rng = rng


class _Network:
    """Shared machinery: parameters by introspection, the network, and ``fit``."""

    hidden_layer_sizes, activation, _init = (), "identity", "zeros"

    @classmethod
    def _get_param_names(cls):
        return sorted(p for p in inspect.signature(cls.__init__).parameters if p != "self")

    def get_params(self, deep=True):
        """The hyperparameters, as passed to ``__init__``."""
        return {name: getattr(self, name) for name in self._get_param_names()}

    def set_params(self, **params):
        valid = self._get_param_names()
        for name, value in params.items():
            if name not in valid:
                raise ValueError(f"Invalid parameter {name!r} for estimator {self!r}. "
                                 f"Valid parameters are: {valid!r}.")
            setattr(self, name, value)
        return self

    def __repr__(self):
        defaults = {n: p.default for n, p in
                    inspect.signature(type(self).__init__).parameters.items()}
        changed = [f"{n}={v!r}" for n, v in self.get_params().items()
                   if not (type(v) is type(defaults[n]) and v == defaults[n])]
        return f"{type(self).__name__}({', '.join(changed)})"

    def __sklearn_is_fitted__(self):
        return hasattr(self, "module_")

    def __sklearn_tags__(self):
        from sklearn.utils import ClassifierTags, RegressorTags, Tags, TargetTags
        tags = Tags(estimator_type=self._estimator_type, target_tags=TargetTags(required=True))
        if self._estimator_type == "classifier":
            tags.classifier_tags = ClassifierTags()
        else:
            tags.regressor_tags = RegressorTags()
        return tags

    def _validate_params(self):
        def positive_int(v):
            return isinstance(v, numbers.Integral) and not isinstance(v, bool) and v > 0

        _check_param(self, "solver", lambda v: v in SOLVERS, f"one of {SOLVERS}")
        _check_param(self, "activation", lambda v: v in ACTIVATIONS, f"one of {tuple(ACTIVATIONS)}")
        _check_param(self, "alpha", lambda v: math.isfinite(v) and v >= 0, "a finite number >= 0")
        _check_param(self, "tol", lambda v: math.isfinite(v) and v >= 0, "a finite number >= 0")
        _check_param(self, "learning_rate_init", lambda v: math.isfinite(v) and v > 0,
                     "a finite number > 0")
        _check_param(self, "momentum", lambda v: 0 <= v <= 1, "a number in [0, 1]")
        _check_param(self, "validation_fraction", lambda v: 0 < v < 1, "a number in (0, 1)")
        for name in ("max_iter", "n_iter_no_change"):
            _check_param(self, name, positive_int, "an integer >= 1")
        _check_param(self, "batch_size", lambda v: v == "auto" or positive_int(v),
                     "'auto' or an integer >= 1")
        sizes = self.hidden_layer_sizes
        sizes = [sizes] if isinstance(sizes, numbers.Integral) else list(sizes)
        if not all(positive_int(s) for s in sizes):
            raise ValueError(f"hidden_layer_sizes must be positive integers, got "
                             f"{self.hidden_layer_sizes!r}")
        return sizes

    def _build(self, sizes, rng):
        """Linear layers with the activation between them (none after the last)."""
        init = "he" if self.activation == "relu" else "xavier"
        layers = []
        for i, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
            last = i == len(sizes) - 2
            layers.append(nn.Linear(n_in, n_out, init="xavier" if last else init,
                                    random_state=rng))
            if self._init == "zeros":  # logistic regression: a convex problem, start at 0
                layers[-1].weight.data[...] = 0.0
            if not last:
                layers.append(ACTIVATIONS[self.activation]())
        return nn.Sequential(*layers)

    def _optimizer(self, solver, params):
        if solver == "lbfgs":
            # tol bounds the gradient; scipy's own ftol, as in scikit-learn
            return optim.LBFGS(params, max_iter=self.max_iter, tol=self.tol, ftol=2.2e-9)
        if solver == "cg":
            return optim.ConjugateGradient(params, max_iter=self.max_iter, tol=self.tol)
        if solver == "adam":
            return optim.Adam(params, lr=self.learning_rate_init)
        return optim.SGD(params, lr=self.learning_rate_init, momentum=self.momentum)

    def fit(self, X, y):
        """Train on X (n_samples, n_features) and y (n_samples,); returns self."""
        name = type(self).__name__
        hidden = self._validate_params()
        _check_feature_names(self, X, reset=True)
        X = _check_X(X, name)
        y = _check_y(y, len(X), name)
        target, n_out, classes = self._encode(y)
        rng = _rng(self.random_state)
        solver = self.solver
        if solver == "auto":
            solver = "lbfgs" if len(X) < LBFGS_BELOW and _has_scipy() else "adam"
        X_val = y_val = None
        if self.early_stopping and solver in ("sgd", "adam"):
            X, X_val, target, y_val = train_test_split(
                X, target, test_size=self.validation_fraction, random_state=rng)
            stop = EarlyStopping(self.n_iter_no_change, self.tol, monitor="val_metric")
        else:
            stop = LossPlateau(self.n_iter_no_change, self.tol)
        module = self._build([X.shape[1], *hidden, n_out], rng)
        linear = [layer for layer in module if isinstance(layer, nn.Linear)]

        def loss_fn(out, t):
            loss = self._loss(out, t)
            if self.alpha:  # alpha / (2 n) * sum |W|^2, one node for all the layers
                loss = loss + F.l2_penalty([layer.weight for layer in linear], self.alpha / len(t))
            return loss

        optimizer = self._optimizer(solver, module.parameters())
        batch = min(200, len(X)) if self.batch_size == "auto" else min(self.batch_size, len(X))
        history = fit_loop(module, loss_fn, X, target, optimizer=optimizer, epochs=self.max_iter,
                           batch_size=batch, X_val=X_val, y_val=y_val, stopping=[stop],
                           metric=self._metric if X_val is not None else None,
                           random_state=rng, progress=bool(self.verbose))
        _check_diverged(name, solver, self.learning_rate_init, module, history)
        if history.stopped_by is None:
            warnings.warn(f"{name}: the {solver!r} solver reached max_iter={self.max_iter} "
                          "iterations without converging; consider increasing max_iter.",
                          _exceptions()[1], stacklevel=2)
        if classes is not None:
            self.classes_ = classes
        self.module_, self.history_, self.solver_ = module, history, solver
        self.coefs_ = [layer.weight.data.copy() for layer in linear]
        self.intercepts_ = [layer.bias.data.copy() for layer in linear]
        self.n_features_in_, self.n_iter_ = X.shape[1], history.n_iter
        self.loss_curve_, self.loss_ = list(history.loss), history.loss[-1]
        self.validation_scores_ = list(history.val_metric) if X_val is not None else None
        self.best_validation_score_ = max(history.val_metric) if X_val is not None else None
        return self

    def _output(self, X):
        """The network's output for X (logits for classifiers), as a numpy array."""
        if not hasattr(self, "module_"):
            raise _exceptions()[0](
                f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with "
                "appropriate arguments before using this estimator.")
        _check_feature_names(self, X, reset=False)
        X = _check_X(X, type(self).__name__, self.n_features_in_)
        with no_grad():
            return self.module_(Tensor(X)).data


def _check_diverged(name, solver, lr, module, history):
    """Non-finite weights raise, as in scikit-learn; a loss that exploded while staying
    finite warns, and the fit does not count as converged (``history.stopped_by`` is
    cleared, whatever rule stopped it)."""
    hint = (f"learning_rate_init={lr:g} is too large for the 'sgd' and 'adam' solvers here"
            if solver in ("sgd", "adam") else "the inputs may need scaling")
    if not all(np.isfinite(p.data).all() for p in module.parameters()):
        raise ValueError(f"{name}: solver {solver!r} produced non-finite parameter weights: the "
                         f"fit diverged ({hint}). The input data may contain large values and "
                         "need to be preprocessed.")
    losses = history.loss
    if losses and losses[-1] > 10 * losses[0] + 1:
        history.stopped_by = None
        warnings.warn(f"{name}: the training loss rose from {losses[0]:.4g} to {losses[-1]:.4g}: "
                      f"the fit diverged ({hint}).", _exceptions()[1], stacklevel=3)


class _Classifier(_Network):
    _estimator_type = "classifier"

    def _encode(self, y):
        """(integer targets 0..K-1, number of output units, the sorted labels)."""
        if y.dtype.kind == "f" and np.any(y != np.round(y)):
            raise ValueError("Unknown label type: continuous. A classifier needs class labels, "
                             "not continuous values (use MLPRegressor for regression).")
        classes, target = np.unique(y, return_inverse=True)
        if len(classes) < 2:
            raise ValueError(f"{type(self).__name__} needs samples of at least 2 classes, but "
                             f"the data contains only one class: {classes.tolist()[0]!r}")
        return target.reshape(-1), (1 if len(classes) == 2 else len(classes)), classes

    @staticmethod
    def _loss(out, t):
        if out.shape[1] == 1:  # one logistic unit: P(class 1 | x) = sigmoid(logit)
            return F.binary_cross_entropy_with_logits(out, np.asarray(t, np.float64)[:, None])
        return F.cross_entropy(out, t)

    @staticmethod
    def _metric(out, t):
        pred = (out[:, 0] > 0) if out.shape[1] == 1 else out.argmax(axis=1)
        return float(np.mean(pred == t))

    def predict_proba(self, X):
        """Class probabilities, shape (n_samples, n_classes), columns in classes_ order."""
        out = Tensor(self._output(X))
        if out.shape[1] == 1:
            p = out.sigmoid().data
            return np.hstack([1.0 - p, p])
        return out.softmax(axis=1).data

    def predict(self, X):
        """The most probable class of each sample (labels from classes_)."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    def score(self, X, y):
        """Accuracy: the fraction of samples whose predicted class is y."""
        return float(np.mean(self.predict(X) == np.asarray(y).ravel()))


class _Regressor(_Network):
    _estimator_type = "regressor"

    def _encode(self, y):
        return y.astype(np.float64), 1, None

    @staticmethod
    def _loss(out, t):  # half the mean squared error, as scikit-learn
        return 0.5 * F.mse_loss(out, np.asarray(t, np.float64)[:, None])

    @staticmethod
    def _metric(out, t):
        return _r2(t, out[:, 0])

    def predict(self, X):
        return self._output(X)[:, 0]

    def score(self, X, y):
        """R^2 = 1 - sum (y - pred)^2 / sum (y - mean y)^2 (1 is perfect, 0 predicts the mean)."""
        return _r2(np.asarray(y, np.float64).ravel(), self.predict(X))


def _r2(y, pred):
    total = np.sum((y - y.mean()) ** 2)
    residual = np.sum((y - pred) ** 2)
    return float(1.0 - residual / total) if total > 0 else (1.0 if residual == 0 else 0.0)


class LogisticRegression(_Classifier):
    """Logistic regression: P(y = k | x) from one logistic unit per class (one for two).

    No penalty by default (``alpha=0``; scikit-learn's C=1 is ``alpha=1``), so XOR with
    the feature x1*x2 is learned exactly, as in the lesson. Weights start at zero.
    ``solver='auto'``: L-BFGS below 1000 samples (when scipy is installed), Adam (``learning_rate_init=0.1``,
    minibatches of 200, stopping on the loss plateau) from there on, where L-BFGS
    would drive an unpenalised model to the large weights that overfit (digits: 0.92
    against 0.93). ``coef_`` (n_units, n_features) and ``intercept_``: as scikit-learn.
    """

    def __init__(self, alpha=0.0, *, solver="auto", max_iter=300, tol=1e-4,
                 learning_rate_init=0.1, batch_size="auto", momentum=0.9,
                 early_stopping=False, validation_fraction=0.1, n_iter_no_change=10,
                 random_state=None, verbose=False):
        self.alpha, self.solver, self.max_iter, self.tol = alpha, solver, max_iter, tol
        self.learning_rate_init, self.batch_size = learning_rate_init, batch_size
        self.momentum, self.early_stopping = momentum, early_stopping
        self.validation_fraction, self.n_iter_no_change = validation_fraction, n_iter_no_change
        self.random_state, self.verbose = random_state, verbose

    coef_ = property(lambda self: self.coefs_[0].T, doc="Unit weights (n_units, n_features).")
    intercept_ = property(lambda self: self.intercepts_[0], doc="Unit biases (n_units,).")


class _MLP:
    """The perceptrons' hyperparameters, named and defaulted as in scikit-learn except
    ``solver='auto'``: L-BFGS below 1000 samples (when scipy is installed), where it converges in tens of
    iterations (XOR with three tanh units: 5 seeds of 5, where Adam at the default rate
    needs thousands of epochs and can stall), Adam on larger data such as the digits,
    where minibatches generalise better. Weights start Xavier-uniform (He-normal before
    relu), biases at zero.
    """

    _init = "random"

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="auto",
                 alpha=1e-4, batch_size="auto", learning_rate_init=1e-3, max_iter=200,
                 tol=1e-4, momentum=0.9, early_stopping=False, validation_fraction=0.1,
                 n_iter_no_change=10, random_state=None, verbose=False):
        self.hidden_layer_sizes, self.activation = hidden_layer_sizes, activation
        self.solver, self.alpha, self.batch_size = solver, alpha, batch_size
        self.learning_rate_init, self.max_iter, self.tol = learning_rate_init, max_iter, tol
        self.momentum, self.early_stopping = momentum, early_stopping
        self.validation_fraction, self.n_iter_no_change = validation_fraction, n_iter_no_change
        self.random_state, self.verbose = random_state, verbose


class MLPClassifier(_MLP, _Classifier):
    """A multi-layer perceptron classifier: hidden layers of logistic-like units learn the
    features; the output is a logistic regression on them (softmax for > 2 classes)."""


class MLPRegressor(_MLP, _Regressor):
    """A multi-layer perceptron for regression: a linear output on learned features,
    trained on half the mean squared error."""


from .rbm import BernoulliRBM, DBNClassifier

__all__ += ["BernoulliRBM", "DBNClassifier"]

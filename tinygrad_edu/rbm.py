"""Restricted Boltzmann machines and deep belief networks: part 3 of the lesson.

A restricted Boltzmann machine (RBM) is two layers of logistic units: visible units v
(the pixels, each read as the probability that a binary unit is on) and hidden units h,
joined by symmetric weights W (n_components x n_features) and not joined within a
layer. It gives every joint configuration an energy and a probability,

    E(v, h) = -v·b - h·c - h·(W v),        P(v, h) = exp(-E(v, h)) / Z,

with b the visible and c the hidden biases. As no two units of one layer are
connected, each layer given the other is a row of independent logistic units (part 1):

    P(h_j = 1 | v) = sigmoid(c_j + W_j·v)          (``transform``: the learned features)
    P(v_i = 1 | h) = sigmoid(b_i + h·W[:, i])

Summing the hidden units out gives the free energy of a visible vector,

    F(v) = -log sum_h exp(-E(v, h)) = -v·b - sum_j softplus(c_j + W_j·v),
    P(v) = exp(-F(v)) / Z,

so the gradient of the mean negative log-likelihood of the data is
d/dθ mean_data F(v) - E_model[dF/dθ]. Contrastive divergence estimates the model's
expectation with the samples v_model of a Gibbs chain (v -> h -> v, ``k`` steps),
started at the data (CD-k) or kept from one update to the next (persistent CD, PCD,
scikit-learn's method), and moves every parameter downhill:

    θ <- θ - learning_rate * d/dθ [mean F(v_data) - mean F(v_model)],  v_model a constant.

The engine computes that gradient from F, as it would any loss. Written out it is the
textbook rule, with h = P(h = 1 | v) on both sides:

    ΔW = lr (<h v^T>_data - <h v^T>_model),  Δb = lr (<v>_data - <v>_model),
    Δc = lr (<h>_data - <h>_model)

(tests/test_rbm.py checks that the two agree to 1e-12).

A deep belief network (DBN) stacks RBMs, greedily: the first learns from the pixels,
each next one from the hidden probabilities of the one below. Their weights then start
the hidden layers of a logistic network, which gets a softmax output layer and is
fine-tuned by backpropagation (parts 1 and 2): ``DBNClassifier``.

``BernoulliRBM`` has scikit-learn's names, defaults and semantics: with the same
``random_state`` it draws the same random numbers in the same order, so that it learns
the same weights as ``sklearn.neural_network.BernoulliRBM`` (to rounding).
"""
from __future__ import annotations

import functools
import math
import numbers
import time
import warnings

import numpy as np

from . import models, nn
from .autograd import Tensor, gradients, no_grad
from .models import MLPClassifier, _check_param, _check_X, _check_y, _exceptions
from .tensor import from_numpy

__all__ = ["BernoulliRBM", "DBNClassifier", "InputRangeWarning", "cd_gradient", "energy",
           "free_energy", "load_nudged_digits", "nudge_digits"]

HISTORY_ROWS = 500  # the per-epoch history is measured on at most this many training rows


# ------------------------------------------------------------------ the formulas
def _as_tensor(x):
    return x if isinstance(x, Tensor) else Tensor(x)


def energy(v, h, W, b, c):
    """E(v, h) = -v·b - h·c - h·(W v), one value per row of v and h (a Tensor).

    v (n, n_features) and h (n, n_components) are arrays or Tensors, W is
    (n_components, n_features) as ``components_``, b the visible and c the hidden biases.
    """
    v, h, W = _as_tensor(v), _as_tensor(h), _as_tensor(W)
    return -(v @ _as_tensor(b)) - h @ _as_tensor(c) - ((h @ W) * v).sum(axis=-1)


def free_energy(v, W, b, c):
    """F(v) = -log sum_h exp(-E(v, h)) = -v·b - sum_j softplus(c_j + W_j·v), per row (a Tensor).

    Summing exp(-E) over the 2^n_components hidden vectors factorises unit by unit,
    sum_{h_j in {0, 1}} exp(h_j x_j) = 1 + exp(x_j), hence one softplus per hidden unit.
    The arguments are as for `energy`; the result has a graph when they require grad.
    """
    v, W = _as_tensor(v), _as_tensor(W)
    return -(v @ _as_tensor(b)) - (v @ W.T + _as_tensor(c)).softplus().sum(axis=-1)


def _energy_matrix(W, b, c):
    """Theta = [[W^T, b], [c, 0]], (n_features + 1, n_components + 1): the weights of an
    RBM in which each layer has one more unit that is always on, so that every bias is a
    weight (the bias of a logistic unit is the weight of x0 = 1, part 1):
    E(v, h) = -[v, 1] Theta [h, 1]^T."""
    theta = np.zeros((W.shape[1] + 1, W.shape[0] + 1))
    theta[:-1, :-1], theta[:-1, -1], theta[-1, :-1] = W.T, b, c
    return theta


def _free_energy_gradient(V1, grad_rows, theta):
    """The engine's gradient of L = sum_n weight_n F(v_n), with
    grad_rows = (-weight_n on the hidden columns, -weight_n on the bias column), each
    (n, n_components + 1) and 0 elsewhere.

    V1 holds the rows [v_n, 1] and theta is the Tensor `_energy_matrix`. Summing out the
    free hidden units gives one softplus each; the always-on unit is not summed over, so
    its term stays linear:

        -F(v) = sum_j softplus(([v, 1] @ theta)_j) + ([v, 1] @ theta)_bias
              = sum_j softplus(c_j + W_j·v) + v·b.

    The walk starts from both terms at once (``gradients`` of two outputs: the softplus
    and the pre-activations themselves): one graph of two ops per update. Returns
    dL/dtheta (an array) and the pre-activations [v, 1] @ theta (before the update: the
    chain's next hidden sample is drawn from their sigmoid).
    """
    pre = from_numpy(V1) @ theta
    d_theta, = gradients([pre.softplus(), pre], [theta], grad_output=grad_rows)
    return d_theta.data, pre.data


def _grad_rows(n, m, n_components, model_weight=None):
    """grad_rows of `_free_energy_gradient` for n data rows, then m chains: the weights
    are 1/n on the data's rows and -model_weight (1/m: mean F(data) - mean F(model)) on
    the chains'."""
    hid, bias = np.zeros((n + m, n_components + 1)), np.zeros((n + m, n_components + 1))
    hid[:n, :-1], hid[n:, :-1] = -1.0 / n, 1.0 / m if model_weight is None else model_weight
    bias[:, -1] = hid[:, 0]
    return hid, bias


def cd_gradient(v_data, v_model, W, b, c):
    """The engine's gradient of mean F(v_data) - mean F(v_model), v_model a constant.

    The computation of one update of ``BernoulliRBM.fit``. Returns (dW, db, dc) as
    arrays shaped like W (n_components, n_features), b and c. The update
    θ <- θ - learning_rate * dθ is contrastive divergence: -dW = <h v^T>_data -
    <h v^T>_model, -db = <v>_data - <v>_model, -dc = <h>_data - <h>_model, with
    h = P(h = 1 | v).
    """
    v_data, v_model = np.atleast_2d(v_data), np.atleast_2d(v_model)
    W, b, c = (np.asarray(a, dtype=np.float64) for a in (W, b, c))
    n, m = len(v_data), len(v_model)
    V1 = np.ones((n + m, W.shape[1] + 1))
    V1[:n, :-1], V1[n:, :-1] = v_data, v_model
    theta = Tensor(_energy_matrix(W, b, c), requires_grad=True)
    d, _ = _free_energy_gradient(V1, _grad_rows(n, m, W.shape[0]), theta)
    return d[:-1, :-1].T.copy(), d[:-1, -1].copy(), d[-1, :-1].copy()


@functools.cache
def _sigmoid():
    """scipy's expit (scikit-learn's: the same values), else 1/2 (1 + tanh(x/2))."""
    try:
        from scipy.special import expit
        return expit
    except ImportError:
        def expit(x, out=None):
            out = np.multiply(x, 0.5, out=out)
            np.tanh(out, out=out)
            out += 1.0
            out *= 0.5
            return out
        return expit


def _fast_sigmoid(x, out=None):
    """1 / (1 + exp(-x)) in four passes, into ``out`` (it may be x): numpy's exp, 1.5x
    faster than scipy's expit on the (10, 100) arrays of an update (W6); one ulp from
    expit, so a draw u < p could differ only where u falls within an ulp of p. Used
    inside fit's updates, whose errstate lets exp(1000) = inf give sigmoid 0 silently."""
    out = np.negative(x, out=out)
    np.exp(out, out=out)
    out += 1.0
    return np.divide(1.0, out, out=out)


# ------------------------------------------------------------------ input checks
class InputRangeWarning(UserWarning):
    """X outside [0, 1] for a Bernoulli RBM, whose visible units read each value as the
    probability of being on. ``warnings.simplefilter("error", InputRangeWarning)`` turns
    it into an error."""


def _check_unit_interval(X, estimator):
    """Warn, naming the first value outside [0, 1]: such values are used as given (as
    scikit-learn's BernoulliRBM uses them), but no binary unit has that probability."""
    lo, hi = X.min(), X.max()
    if lo >= 0.0 and hi <= 1.0:
        return X
    bad = lo if lo < 0.0 else hi
    row, col = np.argwhere(X == bad)[0]
    warnings.warn(f"{estimator}: X[{row}, {col}] = {bad:.6g} lies outside [0, 1]. Each feature "
                  "is read as the probability that a binary visible unit is on, so values "
                  "outside [0, 1] are used as given but describe no binary data; scale X into "
                  "[0, 1] first (sklearn.preprocessing.MinMaxScaler, or pixels / their "
                  "maximum).", InputRangeWarning, stacklevel=3)
    return X


def _random_state(seed, estimator):
    """A numpy RandomState as scikit-learn's check_random_state gives (the same seed draws
    the same numbers), except that None gives a fresh one, not numpy's global state."""
    if seed is None:
        return np.random.RandomState()
    if isinstance(seed, np.random.RandomState):
        return seed
    if isinstance(seed, np.random.Generator):
        return np.random.RandomState(seed.integers(2**32))
    if isinstance(seed, numbers.Integral) and not isinstance(seed, bool) and 0 <= seed < 2**32:
        return np.random.RandomState(seed)
    raise ValueError(f"The 'random_state' parameter of {estimator} must be an int in the range "
                     "[0, 4294967295], a numpy RandomState or Generator, or None. "
                     f"Got {seed!r} instead.")


def _positive_int(v):
    return isinstance(v, numbers.Integral) and not isinstance(v, bool) and v > 0


def _count(v):
    return isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= 0


def _feature_names(X):
    """Column names of a DataFrame when all are strings (scikit-learn's rule), else None."""
    columns = getattr(X, "columns", None)
    if columns is None or not len(columns) or not all(isinstance(c, str) for c in columns):
        return None
    return np.asarray(columns, dtype=object)


# ------------------------------------------------------------------ BernoulliRBM
class BernoulliRBM:
    """A restricted Boltzmann machine with binary visible and hidden units.

    Trained by persistent contrastive divergence (``persistent=True``, scikit-learn's
    stochastic maximum likelihood) or plain CD-k (``persistent=False``: each chain starts
    at the minibatch), ``k`` Gibbs steps per update. The update is the engine's gradient
    of mean F(v_data) - mean F(v_model) (see the module's docstring for the formulas);
    the Gibbs sampling itself runs on numpy arrays, as nothing flows back through it.

    Parameters, named and defaulted as scikit-learn's BernoulliRBM:
    n_components   the number of hidden units.
    learning_rate  the step of each update.
    batch_size     rows per minibatch (also the number of persistent chains).
    n_iter         epochs: passes over the data, in order, without shuffling.
    verbose        print the pseudo-likelihood after each epoch.
    random_state   None, an int, a RandomState (or Generator): weights start
                   N(0, 0.01^2) and each update draws the chain's samples.
    k              Gibbs steps per update (1: CD-1 / PCD-1, as scikit-learn).
    persistent     True: the chains carry over between updates (``h_samples_``).

    X should lie in [0, 1]: each value is the probability that a binary visible unit is
    on. Values outside are used as given, as scikit-learn does, with an
    `InputRangeWarning` that names the first one (make it an error with
    ``warnings.simplefilter("error", InputRangeWarning)``). Minibatches are
    consecutive rows of X; the model term of each update is the chains' sum divided by
    the minibatch's size, as scikit-learn does (the last minibatch can be smaller than
    ``batch_size`` chains).

    Attributes after fit: ``components_`` W (n_components, n_features),
    ``intercept_hidden_`` c, ``intercept_visible_`` b, ``h_samples_`` the chains' hidden
    states (batch_size, n_components), ``n_features_in_``, ``feature_names_in_`` (for a
    DataFrame with string column names), and ``history_``: per epoch, the mean
    pseudo-likelihood ``"pseudo_likelihood"`` and the mean squared error of the mean-field
    reconstruction ``"reconstruction_error"``, on up to 500 evenly spaced training rows
    (the same flipped features every epoch), and the seconds the epoch's updates took
    (``"seconds"``).
    """

    def __init__(self, n_components=256, *, learning_rate=0.1, batch_size=10, n_iter=10,
                 verbose=0, random_state=None, k=1, persistent=True):
        self.n_components, self.learning_rate = n_components, learning_rate
        self.batch_size, self.n_iter, self.verbose = batch_size, n_iter, verbose
        self.random_state, self.k, self.persistent = random_state, k, persistent

    # scikit-learn's parameter protocol, as the other estimators (models._Network)
    _get_param_names = classmethod(models._Network._get_param_names.__func__)
    get_params = models._Network.get_params
    set_params = models._Network.set_params
    __repr__ = models._Network.__repr__

    def __sklearn_is_fitted__(self):
        return hasattr(self, "components_")

    def __sklearn_tags__(self):
        from sklearn.utils import InputTags, Tags, TargetTags, TransformerTags
        return Tags(estimator_type=None, target_tags=TargetTags(required=False),
                    transformer_tags=TransformerTags(preserves_dtype=["float64"]),
                    input_tags=InputTags())

    # ------------------------------------------------------------ checks
    def _validate_params(self):
        _check_param(self, "n_components", _positive_int, "an integer >= 1")
        _check_param(self, "learning_rate", lambda v: isinstance(v, numbers.Real) and v > 0,
                     "a number > 0")
        _check_param(self, "batch_size", _positive_int, "an integer >= 1")
        _check_param(self, "n_iter", _count, "an integer >= 0")
        _check_param(self, "k", _positive_int, "an integer >= 1")
        _check_param(self, "persistent", lambda v: isinstance(v, (bool, np.bool_)),
                     "True or False")
        _check_param(self, "verbose", lambda v: _count(v) or isinstance(v, bool),
                     "an integer >= 0 or a bool")
        _random_state(self.random_state, type(self).__name__)  # raises when invalid

    def _check_input(self, X, reset=False):
        """X as a float64 array in [0, 1]; with reset, remember its number of features."""
        name = type(self).__name__
        names = _feature_names(X)
        if reset:
            X = _check_X(X, name)
            self.n_features_in_ = X.shape[1]
            if names is not None:
                self.feature_names_in_ = names
            elif hasattr(self, "feature_names_in_"):
                del self.feature_names_in_
        else:
            self._check_fitted()
            X = _check_X(X, name, self.n_features_in_)
            fitted_names = getattr(self, "feature_names_in_", None)
            if names is not None and fitted_names is not None and \
                    not np.array_equal(names, fitted_names):
                raise ValueError(f"The feature names should match those that were passed "
                                 f"during fit to {name}.")
        return _check_unit_interval(X, name)

    def _check_fitted(self):
        if not hasattr(self, "components_"):
            raise _exceptions()[0](
                f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with "
                "appropriate arguments before using this estimator.")

    def _check_finite_weights(self, when):
        if not (np.isfinite(self.components_).all() and np.isfinite(self.intercept_hidden_).all()
                and np.isfinite(self.intercept_visible_).all()):
            raise ValueError(f"{type(self).__name__}: the weights became NaN or infinite "
                             f"{when}: training diverged. Lower learning_rate (now "
                             f"{self.learning_rate!r}) and check that X lies in [0, 1].")

    # ------------------------------------------------------------ the two conditionals
    def _hidden_probabilities(self, v):
        """P(h = 1 | v) = sigmoid(v W^T + c), shape (n, n_components)."""
        p = v @ self.components_.T
        p += self.intercept_hidden_
        return _sigmoid()(p, out=p)

    def _visible_probabilities(self, h, sigmoid=None):
        """P(v = 1 | h) = sigmoid(h W + b), shape (n, n_features) (scipy's expit unless
        ``sigmoid`` is given)."""
        p = h @ self.components_
        p += self.intercept_visible_
        return (sigmoid or _sigmoid())(p, out=p)

    @staticmethod
    def _sample(p, rng):
        """Binary units on with probabilities p (scikit-learn's draw: uniform < p), written
        into p (every caller's new array)."""
        return np.less(rng.uniform(size=p.shape), p, out=p)

    # ------------------------------------------------------------ public methods
    def transform(self, X):
        """The hidden units' probabilities P(h = 1 | v = X): the learned features,
        shape (n_samples, n_components)."""
        return self._hidden_probabilities(self._check_input(X))

    def fit_transform(self, X, y=None):
        """fit(X) then transform(X)."""
        return self.fit(X, y).transform(X)

    def free_energy(self, X):
        """F(v) = -v·b - sum_j softplus(c_j + W_j·v) for each row v of X (the engine's
        `free_energy`, shape (n_samples,)): P(v) is proportional to exp(-F(v))."""
        X = self._check_input(X)
        with no_grad():
            return free_energy(X, self.components_, self.intercept_visible_,
                               self.intercept_hidden_).data

    def _pseudo_likelihood(self, v, rng):
        """scikit-learn's pseudo-likelihood: flip one random feature i of each row (v~),
        return n_features * log sigmoid(F(v~) - F(v)), an estimate of
        sum_i log P(v_i | v_-i) (exact for binary v when averaged over i)."""
        n, d = v.shape
        flip = (np.arange(n), rng.randint(0, d, n))
        v_flipped = v.copy()
        v_flipped[flip] = 1.0 - v_flipped[flip]
        W, b, c = self.components_, self.intercept_visible_, self.intercept_hidden_
        with no_grad():
            gap = (free_energy(v_flipped, W, b, c) - free_energy(v, W, b, c)).data
        return -d * np.logaddexp(0.0, -gap)  # log sigmoid(x) = -log(1 + exp(-x))

    def score_samples(self, X):
        """The pseudo-likelihood of each row, as scikit-learn defines it (see
        `_pseudo_likelihood`): random, the flipped features are drawn from
        ``random_state`` (an int draws the same ones each call, as in scikit-learn)."""
        X = self._check_input(X)
        return self._pseudo_likelihood(X, _random_state(self.random_state, type(self).__name__))

    def gibbs(self, v):
        """One Gibbs step from the visible vectors v: h ~ P(h | v), then v ~ P(v | h).
        Returns the new binary visible sample (float64 0/1), shape of v. Draws from
        ``random_state_``, a RandomState made from ``random_state`` at the first call."""
        v = self._check_input(v)
        if not hasattr(self, "random_state_"):
            self.random_state_ = _random_state(self.random_state, type(self).__name__)
        h = self._sample(self._hidden_probabilities(v), self.random_state_)
        return self._sample(self._visible_probabilities(h), self.random_state_)

    def reconstruct(self, X):
        """The mean-field reconstruction P(v = 1 | h = P(h = 1 | v = X))."""
        return self._visible_probabilities(self.transform(X))

    def get_feature_names_out(self, input_features=None):
        """Names of the features transform makes: 'bernoullirbm0', 'bernoullirbm1', ..."""
        self._check_fitted()
        if input_features is not None and len(input_features) != self.n_features_in_:
            raise ValueError(f"input_features should have length equal to number of "
                             f"features ({self.n_features_in_}), got {len(input_features)}")
        prefix = type(self).__name__.lower()
        return np.asarray([f"{prefix}{i}" for i in range(self.n_components)], dtype=object)

    # ------------------------------------------------------------ training
    def fit(self, X, y=None):
        """Learn the weights from X (n_samples, n_features) in [0, 1]; y is ignored.
        Weights start N(0, 0.01^2), biases and chains at 0; then ``n_iter`` epochs of
        consecutive minibatches. Returns self."""
        self._validate_params()
        X = self._check_input(X, reset=True)
        rng = _random_state(self.random_state, type(self).__name__)
        n, d = X.shape
        self.components_ = rng.normal(0, 0.01, (self.n_components, d))
        self.intercept_hidden_ = np.zeros(self.n_components)
        self.intercept_visible_ = np.zeros(d)
        self.h_samples_ = np.zeros((self.batch_size, self.n_components))
        self.history_ = {"pseudo_likelihood": [], "reconstruction_error": [], "seconds": []}
        monitor = X[np.unique(np.linspace(0, n - 1, min(n, HISTORY_ROWS)).astype(int))]
        for epoch in range(1, self.n_iter + 1):
            start = time.perf_counter()
            self._train(X, rng, self.batch_size)
            seconds = time.perf_counter() - start
            self._check_finite_weights(f"in epoch {epoch}")
            self._record(monitor, seconds, epoch)
        return self

    def partial_fit(self, X, y=None):
        """One update on X taken as a single minibatch (scikit-learn's partial_fit);
        the first call starts the weights as fit does, from ``random_state_``."""
        self._validate_params()
        first = not hasattr(self, "components_")
        X = self._check_input(X, reset=first)
        if not hasattr(self, "random_state_"):
            self.random_state_ = _random_state(self.random_state, type(self).__name__)
        if first:
            self.components_ = self.random_state_.normal(0, 0.01, (self.n_components, X.shape[1]))
            self.intercept_hidden_ = np.zeros(self.n_components)
            self.intercept_visible_ = np.zeros(X.shape[1])
        if not hasattr(self, "h_samples_"):
            self.h_samples_ = np.zeros((self.batch_size, self.n_components))
        self._train(X, self.random_state_, len(X))
        self._check_finite_weights("in partial_fit")
        return self

    def _train(self, X, rng, batch_size):
        """One pass over X in consecutive minibatches of batch_size rows.

        While it runs the parameters live in one leaf Tensor, theta = [[W^T, b], [c, 0]]
        (`_energy_matrix`); components_, intercept_hidden_ and intercept_visible_ are
        views of it, and standalone arrays again at the end.
        """
        n, d = X.shape
        H = self.n_components
        theta = Tensor(_energy_matrix(self.components_, self.intercept_visible_,
                                      self.intercept_hidden_), requires_grad=True)
        self.components_ = theta.data[:-1, :-1].T
        self.intercept_visible_ = theta.data[:-1, -1]
        self.intercept_hidden_ = theta.data[-1, :-1]
        chains = batch_size if not self.persistent else len(self.h_samples_)
        V1 = np.ones((batch_size + chains, d + 1))  # rows [v_data, 1; v_model, 1]
        grad_rows = {}  # per minibatch size m: `_grad_rows`
        with np.errstate(over="ignore", invalid="ignore"):  # divergence: one clear error
            for start in range(0, n, batch_size):
                v_data = X[start:start + batch_size]
                m = len(v_data)
                if m not in grad_rows:  # (the chains' sum divided by m, as scikit-learn's)
                    grad_rows[m] = _grad_rows(m, chains if self.persistent else m, H, 1.0 / m)
                self._update(v_data, rng, theta, V1, grad_rows[m])
        self.components_ = self.components_.copy(order="F")   # as scikit-learn's
        self.intercept_visible_ = self.intercept_visible_.copy()
        self.intercept_hidden_ = self.intercept_hidden_.copy()

    def _update(self, v_data, rng, theta, V1, grad_rows):
        """One CD-k / PCD-k update from the minibatch v_data (n rows), in place."""
        n = len(v_data)
        # The chain, on numpy arrays (nothing flows back through sampling), from the
        # persistent chains or from the data; its last visible sample goes into V1.
        h = self.h_samples_ if self.persistent else self._sample(
            self._hidden_probabilities(v_data), rng)
        V1 = V1[:len(grad_rows[0])]
        for step in range(self.k):
            p = self._visible_probabilities(h, _fast_sigmoid)
            if step + 1 < self.k:
                h = self._sample(self._hidden_probabilities(self._sample(p, rng)), rng)
            else:
                np.less(rng.uniform(size=p.shape), p, out=V1[n:, :-1])  # v_model
        V1[:n, :-1] = v_data
        # theta <- theta - lr * d/dtheta [sum_data F(v) / n - sum_model F(v) / n]
        d_theta, pre = _free_energy_gradient(V1, grad_rows, theta)
        d_theta *= self.learning_rate
        d_theta[-1, -1] = 0.0      # E's constant term: no probability depends on it
        theta.data -= d_theta
        # The chains go on from P(h | v_model) under the weights the update started from.
        self.h_samples_ = self._sample(_fast_sigmoid(pre[n:, :-1]), rng)

    def _record(self, monitor, seconds, epoch):
        """Append the epoch's numbers to history_ (and print them when verbose)."""
        pl = float(np.mean(self._pseudo_likelihood(monitor, np.random.RandomState(0))))
        err = float(np.mean((monitor - self._visible_probabilities(
            self._hidden_probabilities(monitor))) ** 2))
        for key, value in (("pseudo_likelihood", pl), ("reconstruction_error", err),
                           ("seconds", seconds)):
            self.history_[key].append(value)
        if self.verbose:
            print(f"[{type(self).__name__}] Iteration {epoch}, pseudo-likelihood = {pl:.2f}, "
                  f"reconstruction error = {err:.4f}, time = {seconds:.2f}s")


# ------------------------------------------------------------------ DBNClassifier
class DBNClassifier(MLPClassifier):
    """A deep belief network: RBMs pretrained greedily, then fine-tuned as a logistic MLP.

    Pretraining (``pretrain=True``): one BernoulliRBM per hidden layer, the first on X,
    each next one on the hidden probabilities P(h = 1 | v) of the one below. Then a
    network X -> sigmoid -> ... -> softmax is built whose hidden layer i starts from
    RBM i (weights W_i^T, biases c_i) and whose output layer starts at random, and it is
    fine-tuned by backpropagation with MLPClassifier's own training (``solver``,
    ``max_iter``, ``alpha``, ``learning_rate_init``, ... as there). ``pretrain=False``
    trains the same network from MLPClassifier's random start, for comparison.

    X should lie in [0, 1] when pretraining (the first RBM's visible units are binary;
    an `InputRangeWarning` names the first value outside). ``solver="auto"``: L-BFGS
    below 1000 samples, Adam from there on, as MLPClassifier.

    Attributes besides MLPClassifier's: ``rbms_`` (the pretrained BernoulliRBMs, bottom
    first; empty without pretraining) and ``pretrained_layers_``, the indices i of the
    hidden layers (of ``coefs_[i]``) whose weights came from an RBM.
    """

    activation = "logistic"  # the hidden units are the RBMs' logistic units

    def __init__(self, hidden_layer_sizes=(256, 128), *, rbm_learning_rate=0.05,
                 rbm_n_iter=10, rbm_batch_size=10, pretrain=True, solver="auto",
                 alpha=1e-4, batch_size="auto", learning_rate_init=1e-3, max_iter=200,
                 tol=1e-4, momentum=0.9, early_stopping=False, validation_fraction=0.1,
                 n_iter_no_change=10, random_state=None, verbose=0):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.rbm_learning_rate, self.rbm_n_iter = rbm_learning_rate, rbm_n_iter
        self.rbm_batch_size, self.pretrain = rbm_batch_size, pretrain
        self.solver, self.alpha, self.batch_size = solver, alpha, batch_size
        self.learning_rate_init, self.max_iter, self.tol = learning_rate_init, max_iter, tol
        self.momentum, self.early_stopping = momentum, early_stopping
        self.validation_fraction, self.n_iter_no_change = validation_fraction, n_iter_no_change
        self.random_state, self.verbose = random_state, verbose

    def fit(self, X, y):
        """Pretrain the RBMs on X (when ``pretrain``), then fine-tune on (X, y); returns self."""
        name = type(self).__name__
        X = _check_X(X, name)
        self._encode(_check_y(y, len(X), name))  # bad labels fail before pretraining
        sizes = self._validate_params()
        _check_param(self, "rbm_learning_rate",
                     lambda v: isinstance(v, numbers.Real) and v > 0, "a number > 0")
        _check_param(self, "rbm_n_iter", _count, "an integer >= 0")
        _check_param(self, "rbm_batch_size", _positive_int, "an integer >= 1")
        _check_param(self, "pretrain", lambda v: isinstance(v, (bool, np.bool_)),
                     "True or False")
        rbms = []
        if self.pretrain:
            _check_unit_interval(X, name)
            seeds = _random_state(self.random_state, name).randint(2**31 - 1, size=len(sizes))
            features = X
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", InputRangeWarning)  # said once, just above
                for size, seed in zip(sizes, seeds):
                    rbm = BernoulliRBM(size, learning_rate=self.rbm_learning_rate,
                                       batch_size=self.rbm_batch_size, n_iter=self.rbm_n_iter,
                                       verbose=self.verbose, random_state=int(seed))
                    features = rbm.fit_transform(features)  # the next RBM's visible data
                    rbms.append(rbm)
        self._start_from = rbms
        try:
            super().fit(X, y)
        finally:
            del self._start_from
        self.rbms_ = rbms
        self.pretrained_layers_ = tuple(range(len(rbms)))
        return self

    def _build(self, sizes, rng):
        """MLPClassifier's network (logistic hidden layers, Xavier-uniform start), with
        hidden layer i set to RBM i: weight W_i^T (n_in, n_out), bias c_i."""
        module = super()._build(sizes, rng)
        linear = [layer for layer in module if isinstance(layer, nn.Linear)]
        for layer, rbm in zip(linear, self._start_from):
            layer.weight.data[...] = rbm.components_.T
            layer.bias.data[...] = rbm.intercept_hidden_
        return module


# ------------------------------------------------------------------ the nudged digits
def nudge_digits(X, y, shape=(8, 8)):
    """Five times the images: each one as it is and shifted by one pixel up, down, left
    and right (the vacated row or column is 0), as in scikit-learn's RBM example.

    X (n, height*width) holds images row by row, y (n,) their labels. Returns
    (5n, height*width) and (5n,): the originals first, then all images moved up, all
    moved left, all moved right, all moved down (scikit-learn's order).
    """
    X = np.asarray(X)
    y = np.asarray(y)
    if X.ndim != 2 or X.shape[1] != math.prod(shape):
        raise ValueError(f"nudge_digits: X must be (n_samples, {math.prod(shape)}) for "
                         f"{shape[0]}x{shape[1]} images, got shape {X.shape}")
    if len(y) != len(X):
        raise ValueError(f"nudge_digits: X and y have different lengths: {len(X)} and {len(y)}")
    images = X.reshape(-1, *shape)
    moved = []
    for axis, step in ((1, 1), (2, 1), (2, -1), (1, -1)):  # up, left, right, down
        out = np.zeros_like(images)
        src = [slice(None)] * 3
        dst = [slice(None)] * 3
        src[axis], dst[axis] = (slice(1, None), slice(None, -1)) if step == 1 else \
            (slice(None, -1), slice(1, None))
        out[tuple(dst)] = images[tuple(src)]
        moved.append(out.reshape(len(X), -1))
    return np.concatenate([X, *moved]), np.concatenate([y] * 5)


def load_nudged_digits(test_size=0.2, random_state=0):
    """scikit-learn's RBM example data: the 8x8 digits, nudged (`nudge_digits`: 8,985
    images), each pixel min-max scaled to [0, 1] over all of them, split 80/20 by
    scikit-learn's train_test_split (random_state=0: the example's own split).

    Returns X_train (7188, 64), X_test (1797, 64), y_train, y_test (float64, int64).
    Needs scikit-learn, which ships the digits.
    """
    from .data import load_digits
    X, y = load_digits(scale=False)
    X, y = nudge_digits(X, y)
    lo, span = X.min(axis=0), np.ptp(X, axis=0)
    X = (X - lo) / np.where(span == 0, 1.0, span)
    from sklearn.model_selection import train_test_split
    return tuple(train_test_split(X, y, test_size=test_size, random_state=random_state))

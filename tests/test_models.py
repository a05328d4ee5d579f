"""The scikit-learn-style estimators: the lessons' numbers beside scikit-learn's own,
the estimator conventions (check_estimator, clone, cross-validation), bad input."""
import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest

from tinygrad_edu import data, models, nn
from tinygrad_edu.models import LogisticRegression, MLPClassifier, MLPRegressor
from tinygrad_edu.train import History

sklearn = pytest.importorskip("sklearn")
from sklearn import linear_model, neural_network
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.utils.validation import check_is_fitted

ESTIMATORS = [LogisticRegression, MLPClassifier, MLPRegressor]


@pytest.fixture(autouse=True, scope="module")
def one_blas_thread():
    """These networks multiply small matrices, where BLAS threads only add overhead
    (ten times slower on a busy two-core machine)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield
        return
    with threadpool_limits(1):
        yield


def side_by_side(what, ours, theirs):
    print(f"{what}: tinygrad_edu {ours:.4f}, scikit-learn {theirs:.4f}")


def quiet(estimator, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(X, y)


# ------------------------------------------------------------------ the lessons' numbers
def test_xor_needs_the_product_feature_for_logistic_regression():
    X, y = data.xor()
    ours = LogisticRegression().fit(X, y)
    theirs = linear_model.LogisticRegression().fit(X, y)
    side_by_side("XOR, logistic regression", ours.score(X, y), theirs.score(X, y))
    assert ours.score(X, y) <= 0.75  # no line separates XOR

    X3 = data.add_product_feature(X)
    ours = LogisticRegression().fit(X3, y)
    theirs = linear_model.LogisticRegression().fit(X3, y)  # C=1: a penalty
    side_by_side("XOR + x1*x2, logistic regression", ours.score(X3, y), theirs.score(X3, y))
    assert ours.score(X3, y) == 1.0
    assert theirs.score(X3, y) < 1.0  # why alpha=0 is our default
    np.testing.assert_array_equal(ours.predict(X3), y)
    # the lesson's weights [w0, w1, w2, w3] = [-0.5, 1, 1, -2], up to a positive scale
    w1, w2, w3 = ours.coef_[0]
    assert ours.intercept_[0] < 0 < w1 and w2 > 0 > w3
    assert ours.coef_.shape == (1, 3) and ours.intercept_.shape == (1,)


def test_mlp_learns_xor_for_most_seeds():
    X, y = data.xor()
    solved = lambda make: sum(quiet(make(rs), X, y).score(X, y) == 1.0 for rs in range(5))
    ours = solved(lambda rs: MLPClassifier((3,), activation="tanh", max_iter=3000,
                                           random_state=rs))
    sk_adam = solved(lambda rs: neural_network.MLPClassifier(
        (3,), activation="tanh", max_iter=3000, random_state=rs))
    sk_lbfgs = solved(lambda rs: neural_network.MLPClassifier(
        (3,), activation="tanh", max_iter=3000, solver="lbfgs", random_state=rs))
    print(f"XOR solved, seeds 0..4: tinygrad_edu {ours}/5, scikit-learn adam {sk_adam}/5, "
          f"lbfgs {sk_lbfgs}/5")
    assert ours >= 4


@pytest.fixture(scope="module")
def digits():
    return data.load_digits()  # pixels / 16


# with these arguments both stop at max_iter=200, a little before the loss plateau
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_digits_mlp_cross_validated(digits):
    X, y = digits
    ours = cross_val_score(MLPClassifier(hidden_layer_sizes=(64,), max_iter=200,
                                         random_state=0), X, y, cv=3)
    theirs = cross_val_score(neural_network.MLPClassifier(hidden_layer_sizes=(64,),
                                                          max_iter=200, random_state=0),
                             X, y, cv=3)
    side_by_side("digits, MLP (64,), 3-fold accuracy", ours.mean(), theirs.mean())
    assert ours.mean() >= 0.94


def test_digits_logistic_regression_cross_validated(digits):
    X, y = digits
    ours = cross_val_score(LogisticRegression(random_state=0), X, y, cv=3)
    theirs = cross_val_score(linear_model.LogisticRegression(max_iter=1000), X, y, cv=3)
    side_by_side("digits, logistic regression, 3-fold accuracy", ours.mean(), theirs.mean())
    assert ours.mean() >= 0.92


def test_breast_cancer_with_lbfgs():
    X, y = data.load_breast_cancer()  # standardised
    for ours, theirs in [
        (LogisticRegression(solver="lbfgs"), linear_model.LogisticRegression()),
        (MLPClassifier(solver="lbfgs", random_state=0),
         neural_network.MLPClassifier(solver="lbfgs", random_state=0)),
    ]:
        ours, theirs = quiet(ours, X, y), quiet(theirs, X, y)
        side_by_side(f"breast cancer, {type(ours).__name__} lbfgs, training accuracy",
                     ours.score(X, y), theirs.score(X, y))
        assert ours.solver_ == "lbfgs"
        assert ours.score(X, y) >= 0.97


def test_mlp_regressor_fits_a_sine():
    X, y = data.sine(400, random_state=0)
    X_test, y_test = data.sine(200, random_state=1)
    kwargs = {"hidden_layer_sizes": (32,), "activation": "tanh", "max_iter": 2000,
              "random_state": 0}
    ours = MLPRegressor(**kwargs).fit(X, y)
    theirs = quiet(neural_network.MLPRegressor(**kwargs), X, y)
    side_by_side("sin(2x), MLPRegressor (32,) tanh, held-out R^2",
                 ours.score(X_test, y_test), theirs.score(X_test, y_test))
    assert ours.score(X_test, y_test) >= 0.95
    assert ours.score(X, y) >= 0.95
    r2 = 1 - np.sum((y_test - ours.predict(X_test)) ** 2) / np.sum((y_test - y_test.mean()) ** 2)
    assert ours.score(X_test, y_test) == pytest.approx(r2)


# ------------------------------------------------------------------- scikit-learn's API
@pytest.mark.parametrize("estimator", [
    LogisticRegression(),
    # small settings keep the ~50 checks quick, as scikit-learn does for its own MLPs
    MLPClassifier(hidden_layer_sizes=(10,), max_iter=100),
    MLPRegressor(hidden_layer_sizes=(10,), max_iter=100),
], ids=lambda e: type(e).__name__)
def test_check_estimator(estimator):
    from sklearn.utils.estimator_checks import check_estimator
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. "does not inherit from BaseEstimator"
        results = check_estimator(estimator, on_fail=None)
    failed = [f"{r['check_name']}: {r['exception']!r}" for r in results
              if r["status"] == "failed"]
    assert not failed, "\n".join(failed)
    assert sum(r["status"] == "passed" for r in results) >= 45


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_get_params_and_set_params_follow_init(cls):
    est = cls()
    params = est.get_params()
    import inspect
    signature = inspect.signature(cls.__init__).parameters
    assert set(params) == set(signature) - {"self"}
    assert all(params[name] == signature[name].default for name in params)
    assert est.set_params(max_iter=7, tol=0.5) is est
    assert est.get_params()["max_iter"] == 7 and est.tol == 0.5
    with pytest.raises(ValueError, match="Invalid parameter 'max_iterations'"):
        est.set_params(max_iterations=3)
    twin = clone(est)
    assert twin is not est and twin.get_params() == est.get_params()
    assert repr(est) == f"{cls.__name__}(max_iter=7, tol=0.5)"
    assert vars(cls()) == cls().get_params()  # __init__ stores its arguments, nothing else


def test_scikit_learn_names_and_defaults():
    shared = ["hidden_layer_sizes", "activation", "alpha", "batch_size", "learning_rate_init",
              "max_iter", "tol", "momentum", "early_stopping", "validation_fraction",
              "n_iter_no_change", "random_state", "verbose"]
    for ours, theirs in [(MLPClassifier(), neural_network.MLPClassifier()),
                         (MLPRegressor(), neural_network.MLPRegressor())]:
        mine, sk = ours.get_params(), theirs.get_params()
        assert {k: mine[k] for k in shared} == {k: sk[k] for k in shared}
        assert set(mine) - set(shared) == {"solver"} and set(mine) < set(sk)
    assert MLPClassifier().solver == MLPRegressor().solver == LogisticRegression().solver == "auto"
    assert LogisticRegression().alpha == 0.0


def test_learned_attributes():
    X, y = data.spirals(90, n_classes=3, random_state=0)
    est = MLPClassifier((8, 6), activation="tanh", max_iter=300, random_state=0)
    assert not [name for name in vars(est) if name.endswith("_")]
    with pytest.raises(AttributeError):
        _ = est.classes_
    assert quiet(est, X, y) is est
    np.testing.assert_array_equal(est.classes_, [0, 1, 2])
    assert est.n_features_in_ == 2 and est.solver_ == "lbfgs"
    assert [c.shape for c in est.coefs_] == [(2, 8), (8, 6), (6, 3)]
    assert [b.shape for b in est.intercepts_] == [(8,), (6,), (3,)]
    assert all(isinstance(c, np.ndarray) for c in est.coefs_ + est.intercepts_)
    assert isinstance(est.module_, nn.Sequential) and isinstance(est.history_, History)
    np.testing.assert_array_equal(est.module_[2].weight.data, est.coefs_[1])
    assert est.n_iter_ == est.history_.n_iter >= 1
    assert est.loss_curve_ == est.history_.loss and est.loss_ == est.loss_curve_[-1]
    assert est.validation_scores_ is None and est.best_validation_score_ is None
    proba = est.predict_proba(X)
    assert proba.shape == (90, 3) and np.allclose(proba.sum(axis=1), 1)
    np.testing.assert_array_equal(est.predict(X), est.classes_[proba.argmax(axis=1)])


def test_early_stopping_keeps_the_best_validation_score():
    X, y = data.xor(noise=0.3, n_repeats=37, random_state=0)  # noisy: a big net overfits
    est = MLPClassifier((64,), activation="tanh", solver="adam", learning_rate_init=0.03,
                        early_stopping=True, validation_fraction=0.3, n_iter_no_change=20,
                        max_iter=2000, random_state=0).fit(X, y)
    scores, best = est.validation_scores_, est.history_.best_epoch
    assert est.history_.stopped_by == "EarlyStopping" and len(scores) == est.n_iter_
    assert est.best_validation_score_ == max(scores) == scores[best]
    assert est.n_iter_ == best + 20 + 1 and scores[-1] < max(scores)
    # the network kept is the best epoch's: it scores that on the held-out part, which
    # is split off first with the estimator's seed
    rng = np.random.default_rng(0)
    _, X_val, _, y_val = data.train_test_split(X, y, test_size=0.3, random_state=rng)
    assert est.score(X_val, y_val) == est.best_validation_score_


def test_same_random_state_same_model():
    X, y = data.spirals(80, random_state=1)
    for solver in ("adam", "lbfgs", "sgd"):
        fits = [quiet(MLPClassifier((5,), solver=solver, max_iter=50, random_state=rs), X, y)
                for rs in (0, 0, 1)]
        for a, b in zip(fits[0].coefs_, fits[1].coefs_):
            np.testing.assert_array_equal(a, b)
        assert fits[0].loss_curve_ == fits[1].loss_curve_
        assert not np.array_equal(fits[0].coefs_[0], fits[2].coefs_[0])


def test_string_labels_round_trip():
    X, y = data.spirals(60, n_classes=3, random_state=0)
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    for est in (LogisticRegression(), MLPClassifier((10,), random_state=0)):
        quiet(est, X, names)
        np.testing.assert_array_equal(est.classes_, ["setosa", "versicolor", "virginica"])
        assert est.predict(X).dtype == names.dtype and set(est.predict(X)) <= set(names)
        assert est.score(X, names) == np.mean(est.predict(X) == names)
    binary = np.where(y == 0, "no", "yes")
    est = quiet(LogisticRegression(), X, binary)
    assert est.coef_.shape == (1, 2) and est.predict_proba(X).shape == (60, 2)
    np.testing.assert_array_equal(est.predict(X), np.where(est.predict_proba(X)[:, 1] > 0.5,
                                                           "yes", "no"))


def test_float32_input_gives_float64_output():
    X, y = data.blobs(40, random_state=0)
    est = LogisticRegression().fit(X.astype(np.float32), y)
    assert est.predict_proba(X.astype(np.float32)).dtype == np.float64
    reg = MLPRegressor((4,), random_state=0).fit(X.astype(np.float32), X[:, 0])
    assert reg.predict(X.astype(np.float32)).dtype == np.float64


def test_pickle_round_trip():
    X, y = data.blobs(40, random_state=0)
    est = MLPClassifier((4,), random_state=0).fit(X, y)
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(again.predict_proba(X), est.predict_proba(X))


# ------------------------------------------------------------- model selection
def test_cross_val_score_and_grid_search():
    X, y = data.xor(noise=0.15, n_repeats=30, random_state=0)
    scores = cross_val_score(MLPClassifier((4,), activation="tanh", random_state=0), X, y, cv=3)
    assert scores.shape == (3,) and scores.min() >= 0.9
    grid = GridSearchCV(
        MLPClassifier(activation="tanh", solver="adam", max_iter=150, random_state=0),
        {"hidden_layer_sizes": [(1,), (8,)], "learning_rate_init": [1e-4, 0.05]}, cv=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        grid.fit(X, y)
    assert grid.best_params_ == {"hidden_layer_sizes": (8,), "learning_rate_init": 0.05}
    assert len(grid.cv_results_["params"]) == 4 and grid.best_score_ >= 0.9
    assert grid.best_estimator_.hidden_layer_sizes == (8,)
    check_is_fitted(grid.best_estimator_)


# ------------------------------------------------------------------- warnings, errors
def test_convergence_warning_only_without_convergence():
    X, y = data.blobs(60, separable=False, random_state=0)
    assert models.ConvergenceWarning is ConvergenceWarning
    for solver in ("adam", "lbfgs", "sgd", "cg"):
        with pytest.warns(ConvergenceWarning, match=f"'{solver}' solver reached max_iter=2"):
            MLPClassifier((3,), solver=solver, max_iter=2, random_state=0).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est = LogisticRegression().fit(X, y)
        assert est.history_.stopped_by == "L-BFGS-B"
        est = LogisticRegression(solver="adam").fit(X, y)
        assert est.history_.stopped_by == "LossPlateau"


def test_not_fitted_error():
    assert models.NotFittedError is NotFittedError
    assert issubclass(NotFittedError, ValueError) and issubclass(NotFittedError, AttributeError)
    X = np.zeros((3, 2))
    for est in (LogisticRegression(), MLPClassifier(), MLPRegressor()):
        for method in (m for m in ("predict", "predict_proba", "score") if hasattr(est, m)):
            args = (X, np.zeros(3)) if method == "score" else (X,)
            with pytest.raises(NotFittedError, match="not fitted yet"):
                getattr(est, method)(*args)
        with pytest.raises(NotFittedError):
            check_is_fitted(est)
    assert not hasattr(MLPRegressor(), "predict_proba")


def test_works_without_scikit_learn():
    code = """
import sys, warnings
sys.modules["sklearn"] = None  # as if it were not installed
import numpy as np
from tinygrad_edu import data, models
X, y = data.blobs(30, random_state=0)
try:
    models.LogisticRegression().predict(X)
except models.NotFittedError as e:
    assert isinstance(e, ValueError) and isinstance(e, AttributeError)
    assert type(e).__module__ == "tinygrad_edu.models" and type(e).__name__ == "NotFittedError"
with warnings.catch_warnings(record=True) as w:
    warnings.simplefilter("always")
    est = models.MLPClassifier((3,), max_iter=1, random_state=0).fit(X, y)
assert w[0].category.__name__ == "ConvergenceWarning" and issubclass(w[0].category, UserWarning)
print(est.score(X, y))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=False)
    assert out.returncode == 0, out.stderr
    code = "import sys, tinygrad_edu.models; assert 'sklearn' not in sys.modules"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=False)
    assert out.returncode == 0, "importing tinygrad_edu.models imported scikit-learn"


X_OK, Y_OK = data.blobs(20, random_state=0)


@pytest.mark.parametrize("X, y, error, match", [
    (X_OK, Y_OK[:-1], ValueError, r"inconsistent numbers of samples: \[20, 19\]"),
    (np.where(np.arange(40).reshape(20, 2) == 3, np.nan, X_OK), Y_OK, ValueError,
     "Input X contains NaN"),
    (np.where(np.arange(40).reshape(20, 2) == 3, np.inf, X_OK), Y_OK, ValueError,
     "Input X contains infinity"),
    (np.zeros((0, 2)), np.zeros(0), ValueError, r"0 sample\(s\)"),
    (np.zeros((20, 0)), Y_OK, ValueError, r"0 feature\(s\)"),
    (X_OK[:, 0], Y_OK, ValueError, "Expected 2D array, got 1D array"),
    (X_OK, np.zeros(20), ValueError, "only one class: 0"),
    (X_OK, np.linspace(0, 1, 20), ValueError, "Unknown label type: continuous"),
    (X_OK, None, ValueError, "requires y to be passed"),
    (X_OK, np.c_[Y_OK, Y_OK], ValueError, "y should be a 1d array"),
    (X_OK + 1j, Y_OK, ValueError, "Complex data not supported"),
])
def test_bad_input_is_named(X, y, error, match):
    with pytest.raises(error, match=match):
        MLPClassifier((3,)).fit(X, y)


def test_bad_input_at_predict_time():
    est = LogisticRegression().fit(X_OK, Y_OK)
    with pytest.raises(ValueError, match="X has 3 features, but LogisticRegression is "
                                         "expecting 2 features as input"):
        est.predict(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="Input X contains NaN"):
        est.predict_proba(np.full((1, 2), np.nan))
    with pytest.raises(ValueError, match="Reshape your data"):
        est.predict(X_OK[0])
    sparse = pytest.importorskip("scipy.sparse")
    with pytest.raises(TypeError, match="sparse"):
        est.predict(sparse.csr_matrix(X_OK))


def test_regressor_targets_must_be_finite():
    with pytest.raises(ValueError, match="Input y contains NaN"):
        MLPRegressor().fit(X_OK, np.where(Y_OK == 0, np.nan, 1.0))


def test_column_vector_y_is_accepted_with_a_warning():
    from sklearn.exceptions import DataConversionWarning
    with pytest.warns(DataConversionWarning, match="column-vector y"):
        est = LogisticRegression().fit(X_OK, Y_OK[:, None])
    np.testing.assert_array_equal(est.predict(X_OK), LogisticRegression().fit(X_OK, Y_OK)
                                  .predict(X_OK))


@pytest.mark.parametrize("params, match", [
    ({"solver": "newton"}, "'solver' parameter of MLPClassifier must be one of"),
    ({"activation": "softsign"}, "'activation' parameter"),
    ({"hidden_layer_sizes": (3, 0)}, "hidden_layer_sizes must be positive integers"),
    ({"max_iter": 0}, "'max_iter' parameter of MLPClassifier must be an integer >= 1"),
    ({"alpha": -1.0}, "'alpha' parameter"),
    ({"learning_rate_init": "fast"}, "'learning_rate_init' parameter"),
    ({"batch_size": 0}, "'batch_size' parameter"),
])
def test_bad_hyperparameters_are_named_at_fit(params, match):
    est = MLPClassifier(**params)  # __init__ accepts anything, as scikit-learn's
    with pytest.raises(ValueError, match=match):
        est.fit(X_OK, Y_OK)


def test_verbose_shows_progress(capsys):
    pytest.importorskip("tqdm")
    quiet(MLPClassifier((3,), solver="adam", max_iter=5, verbose=True, random_state=0),
          X_OK, Y_OK)
    assert "5/5" in capsys.readouterr().err
    quiet(MLPClassifier((3,), solver="adam", max_iter=5, random_state=0), X_OK, Y_OK)
    assert capsys.readouterr().err == ""

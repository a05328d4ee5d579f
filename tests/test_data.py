import inspect

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_edu import data

RANDOM = [
    lambda rs: data.xor(noise=0.1, n_repeats=3, random_state=rs),
    lambda rs: data.blobs(50, random_state=rs),
    lambda rs: data.blobs(50, separable=False, random_state=rs),
    lambda rs: data.spirals(60, n_classes=3, random_state=rs),
    lambda rs: data.sine(30, noise=0.1, random_state=rs),
    lambda rs: data.train_test_split(np.arange(20.0)[:, None], np.arange(20), random_state=rs),
    lambda rs: list(data.batches(np.arange(20.0)[:, None], np.arange(20), 6, random_state=rs)),
]


def flat(result):
    """All arrays of a (possibly nested) result, concatenated."""
    if isinstance(result, np.ndarray):
        return result.ravel().astype(np.float64)
    return np.concatenate([flat(r) for r in result])


# ---- generated data sets -------------------------------------------------------------

def test_xor_points_and_labels():
    X, y = data.xor()
    assert X.dtype == np.float64 and y.dtype == np.int64
    assert X.shape == (4, 2) and y.shape == (4,)
    np.testing.assert_array_equal(X, [[0, 0], [0, 1], [1, 0], [1, 1]])
    np.testing.assert_array_equal(y, X[:, 0].astype(int) ^ X[:, 1].astype(int))


def test_xor_repeats_and_jitter_keep_labels():
    X0, y0 = data.xor(n_repeats=5)
    X, y = data.xor(noise=0.05, n_repeats=5, random_state=0)
    assert X.shape == (20, 2) and y.shape == (20,)
    np.testing.assert_array_equal(y, y0)
    np.testing.assert_array_equal(y, np.tile([0, 1, 1, 0], 5))
    assert not np.array_equal(X, X0)
    assert np.abs(X - X0).max() < 0.5  # jitter is small: nearest corner still the label's
    np.testing.assert_array_equal(np.round(X).astype(int)[:, 0] ^ np.round(X).astype(int)[:, 1], y)


def test_xor_rejects_bad_arguments():
    with pytest.raises(ValueError, match="n_repeats"):
        data.xor(n_repeats=0)
    with pytest.raises(ValueError, match="noise"):
        data.xor(noise=-1.0)


@pytest.mark.parametrize("separable", [True, False])
def test_blobs_shapes_and_balance(separable):
    X, y = data.blobs(101, separable=separable, random_state=0)
    assert X.shape == (101, 2) and X.dtype == np.float64
    assert y.shape == (101,) and y.dtype == np.int64
    assert set(np.unique(y)) == {0, 1}
    assert abs(np.sum(y == 0) - np.sum(y == 1)) <= 1
    assert not np.array_equal(y[:50], np.sort(y[:50]))  # returned in random order


def _least_squares_accuracy(X, y):
    A = data.add_bias_column(X)
    w, *_ = np.linalg.lstsq(A, 2.0 * y - 1.0, rcond=None)
    return np.mean((A @ w > 0) == (y == 1))


@pytest.mark.parametrize("seed", range(5))
def test_separable_blobs_are_linearly_separable(seed):
    X, y = data.blobs(400, separable=True, random_state=seed)
    assert _least_squares_accuracy(X, y) == 1.0
    sklearn_linear = pytest.importorskip("sklearn.linear_model")
    clf = sklearn_linear.LogisticRegression(C=1e6, max_iter=10_000).fit(X, y)
    assert clf.score(X, y) == 1.0


def test_separable_blobs_are_far_apart():
    X, y = data.blobs(400, separable=True, random_state=0)
    assert np.linalg.norm(X[y == 1].mean(axis=0) - X[y == 0].mean(axis=0)) > 4


def test_overlapping_blobs_are_not_separable():
    X, y = data.blobs(400, separable=False, random_state=0)
    assert _least_squares_accuracy(X, y) < 0.95


def test_spirals_shapes_classes_and_radius():
    X, y = data.spirals(301, n_classes=3, random_state=0)
    assert X.shape == (301, 2) and X.dtype == np.float64
    assert y.shape == (301,) and y.dtype == np.int64
    np.testing.assert_array_equal(np.bincount(y), [101, 100, 100])
    r = np.hypot(X[:, 0], X[:, 1])
    assert r.min() >= 0.1 - 1e-12 and r.max() <= 1 + 1e-12


@pytest.mark.parametrize("n_classes", [2, 3, 5])
def test_spiral_arms_are_distinct(n_classes):
    # leave-one-out nearest neighbour: each point's closest other point is on its own arm
    X, y = data.spirals(300, n_classes=n_classes, noise=0.0, random_state=0)
    d = np.linalg.norm(X[:, None] - X[None], axis=-1)
    np.fill_diagonal(d, np.inf)
    assert np.mean(y[d.argmin(axis=1)] == y) > 0.95


def test_spirals_are_not_linearly_separable():
    X, y = data.spirals(400, noise=0.0, random_state=0)
    assert _least_squares_accuracy(X, y) < 0.8


def test_sine_shapes_range_and_function():
    X, y = data.sine(100, low=-1, high=3, random_state=0)
    assert X.shape == (100, 1) and y.shape == (100,)
    assert X.dtype == np.float64 and y.dtype == np.float64
    assert X.min() >= -1 and X.max() < 3
    np.testing.assert_allclose(y, np.sin(2 * X[:, 0]))
    Xn, yn = data.sine(100, low=-1, high=3, noise=0.1, random_state=0)
    assert 0.05 < np.std(yn - np.sin(2 * Xn[:, 0])) < 0.2
    with pytest.raises(ValueError, match="low"):
        data.sine(low=1, high=1)


@pytest.mark.parametrize("make", RANDOM)
def test_same_seed_same_data_other_seed_other_data(make):
    np.testing.assert_array_equal(flat(make(7)), flat(make(7)))
    assert not np.array_equal(flat(make(7)), flat(make(8)))
    a = flat(make(np.random.default_rng(3)))
    np.testing.assert_array_equal(a, flat(make(np.random.default_rng(3))))


@pytest.mark.parametrize("make", RANDOM)
def test_global_random_state_is_untouched(make):
    np.random.seed(0)
    expected = np.random.rand(3)
    np.random.seed(0)
    make(None)
    np.testing.assert_array_equal(np.random.rand(3), expected)


@pytest.mark.parametrize("make", RANDOM)
def test_no_seed_gives_fresh_data(make):
    assert not np.array_equal(flat(make(None)), flat(make(None)))


def test_generator_is_advanced_not_copied():
    rng = np.random.default_rng(0)
    first, second = data.blobs(20, random_state=rng), data.blobs(20, random_state=rng)
    assert not np.array_equal(first[0], second[0])


# ---- bundled real data (scikit-learn) --------------------------------------------------

def test_load_digits():
    pytest.importorskip("sklearn")
    X, y = data.load_digits()
    assert X.shape == (1797, 64) and y.shape == (1797,)
    assert X.dtype == np.float64 and y.dtype == np.int64
    assert X.min() == 0.0 and X.max() == 1.0
    np.testing.assert_array_equal(np.unique(y), np.arange(10))
    Xraw, _ = data.load_digits(scale=False)
    assert Xraw.max() == 16.0
    np.testing.assert_allclose(Xraw / 16, X)


def test_load_breast_cancer():
    pytest.importorskip("sklearn")
    X, y = data.load_breast_cancer()
    assert X.shape == (569, 30) and y.shape == (569,)
    assert X.dtype == np.float64 and y.dtype == np.int64
    np.testing.assert_allclose(X.mean(axis=0), 0, atol=1e-10)
    np.testing.assert_allclose(X.std(axis=0), 1, atol=1e-10)
    assert set(np.unique(y)) == {0, 1}
    Xraw, _ = data.load_breast_cancer(standardize=False)
    assert Xraw.min() >= 0 and Xraw.mean() > 10


def test_loaders_explain_missing_sklearn(monkeypatch):
    import builtins
    real_import = builtins.__import__

    def no_sklearn(name, *args, **kwargs):
        if name.startswith("sklearn"):
            raise ImportError("No module named 'sklearn'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_sklearn)
    for loader in (data.load_digits, data.load_breast_cancer):
        with pytest.raises(ImportError, match="pip install scikit-learn"):
            loader()


# ---- one_hot ---------------------------------------------------------------------------

@given(st.lists(st.integers(0, 9), min_size=1, max_size=50), st.integers(0, 5))
def test_one_hot_round_trip(labels, extra):
    y = np.array(labels)
    k = y.max() + 1 + extra
    Y = data.one_hot(y, k)
    assert Y.shape == (len(y), k) and Y.dtype == np.float64
    np.testing.assert_array_equal(Y.sum(axis=1), 1.0)
    np.testing.assert_array_equal(Y.argmax(axis=1), y)


def test_one_hot_defaults_and_integral_floats():
    np.testing.assert_array_equal(data.one_hot([2, 0]), [[0, 0, 1], [1, 0, 0]])
    np.testing.assert_array_equal(data.one_hot(np.array([1.0, 0.0])), [[0, 1], [1, 0]])


@pytest.mark.parametrize("labels, num_classes, pattern", [
    ([0, -3, 1], None, "-3"),
    ([0, 1.5], None, "1.5"),
    ([0, 1, 4], 3, "4"),
    ([0, 1, 3], 3, "num_classes=3"),
    (["a", "b"], None, "integers"),
    ([True, False], None, "integers"),
    ([0.0, np.nan], None, "nan"),
])
def test_one_hot_errors_name_the_value(labels, num_classes, pattern):
    with pytest.raises(ValueError, match=pattern):
        data.one_hot(labels, num_classes)


# ---- standardize -----------------------------------------------------------------------

def test_standardize_statistics_and_reuse():
    rng = np.random.default_rng(0)
    X = rng.normal(5.0, 3.0, size=(100, 4))
    Xs, mean, std = data.standardize(X)
    np.testing.assert_allclose(Xs.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(Xs.std(axis=0), 1, atol=1e-12)
    np.testing.assert_allclose(mean, X.mean(axis=0))
    np.testing.assert_allclose(std, X.std(axis=0))
    X2 = rng.normal(size=(10, 4))
    X2s, mean2, _std2 = data.standardize(X2, mean, std)
    np.testing.assert_allclose(X2s, (X2 - X.mean(axis=0)) / X.std(axis=0))
    np.testing.assert_array_equal(mean2, mean)


@pytest.mark.parametrize("value", [0.0, 0.1, 0.7, 7.3, -99999999.9])
def test_standardize_constant_column_gives_zeros_not_nan(value):
    # with 7 rows np.mean/np.std of these constants are inexact (std ~ 1e-17, not 0)
    X = np.column_stack([np.arange(7.0), np.full(7, value)])
    Xs, _mean, std = data.standardize(X)
    assert np.isfinite(Xs).all()
    np.testing.assert_array_equal(Xs[:, 1], 0.0)
    assert std[1] == 1.0
    Xs2, _, _ = data.standardize(X, mean=X.mean(axis=0), std=X.std(axis=0))
    assert np.isfinite(Xs2).all()


def test_standardize_rejects_empty_and_1d():
    with pytest.raises(ValueError):
        data.standardize(np.zeros((0, 3)))
    with pytest.raises(ValueError, match="2-D"):
        data.standardize(np.arange(3.0))


# ---- train_test_split ------------------------------------------------------------------

@pytest.mark.parametrize("n, test_size, n_test", [
    (100, 0.25, 25), (10, 0.25, 3), (7, 0.5, 4), (10, 3, 3), (2, 0.5, 1), (2, 1, 1)])
def test_split_sizes_and_disjointness(n, test_size, n_test):
    X = np.arange(2.0 * n).reshape(n, 2)
    y = np.arange(n)
    X_tr, X_te, y_tr, y_te = data.train_test_split(X, y, test_size=test_size, random_state=0)
    assert len(X_te) == len(y_te) == n_test
    assert len(X_tr) == len(y_tr) == n - n_test
    assert set(y_tr).isdisjoint(y_te)
    assert sorted(np.concatenate([y_tr, y_te])) == list(range(n))
    np.testing.assert_array_equal(X_tr[:, 0], 2 * y_tr)  # rows stay paired
    np.testing.assert_array_equal(X_te[:, 0], 2 * y_te)


def test_split_without_shuffle_keeps_order():
    _X_tr, _X_te, y_tr, y_te = data.train_test_split(np.arange(8), np.arange(8), 0.25,
                                                   shuffle=False)
    np.testing.assert_array_equal(y_tr, np.arange(6))
    np.testing.assert_array_equal(y_te, [6, 7])


@pytest.mark.parametrize("n_y, test_size, pattern", [
    (9, 0.25, "different lengths"),
    (10, 0.0, "test_size"), (10, 1.0, "test_size"), (10, 0, "test_size"),
    (10, 10, "test_size"), (10, -1, "test_size"), (10, 0.01, None), (10, True, "test_size"),
])
def test_split_errors(n_y, test_size, pattern):
    X = np.zeros((10, 2))
    if pattern is None:  # 0.01 of 10 rounds up to one test sample: valid
        assert len(data.train_test_split(X, np.zeros(n_y), test_size)[1]) == 1
        return
    with pytest.raises(ValueError, match=pattern):
        data.train_test_split(X, np.zeros(n_y), test_size)


def test_split_one_sample_cannot_be_split():
    with pytest.raises(ValueError, match="at least one"):
        data.train_test_split(np.zeros((1, 2)), np.zeros(1))


# ---- batches ---------------------------------------------------------------------------

@settings(max_examples=60, deadline=None)
@given(n=st.integers(0, 200), batch_size=st.integers(1, 70), shuffle=st.booleans(),
       seed=st.integers(0, 2**32 - 1))
def test_batches_cover_each_sample_exactly_once(n, batch_size, shuffle, seed):
    X = np.arange(3.0 * n).reshape(n, 3)
    y = np.arange(n)
    out = list(data.batches(X, y, batch_size, shuffle=shuffle, random_state=seed))
    assert len(out) == -(-n // batch_size)
    sizes = [len(yb) for _, yb in out]
    assert all(s == batch_size for s in sizes[:-1])
    assert all(1 <= s <= batch_size for s in sizes)
    seen = np.concatenate([yb for _, yb in out]) if out else np.array([], dtype=int)
    np.testing.assert_array_equal(np.sort(seen), y)
    for Xb, yb in out:
        np.testing.assert_array_equal(Xb[:, 0], 3 * yb)
    if not shuffle:
        np.testing.assert_array_equal(seen, y)


def test_batches_without_y_and_shuffling():
    X = np.arange(100.0)[:, None]
    gen = data.batches(X, batch_size=10, random_state=0)
    assert inspect.isgenerator(gen)
    out = list(gen)
    assert all(isinstance(b, np.ndarray) for b in out)
    order = np.concatenate(out)[:, 0]
    assert not np.array_equal(order, np.arange(100))  # shuffled
    second = np.concatenate(list(data.batches(X, batch_size=10, random_state=1)))[:, 0]
    assert not np.array_equal(order, second)


def test_batches_check_arguments_at_call_time():
    with pytest.raises(ValueError, match="batch_size"):
        data.batches(np.zeros((4, 1)), batch_size=0)
    with pytest.raises(ValueError, match="different lengths"):
        data.batches(np.zeros((4, 1)), np.zeros(3))


# ---- features for the logistic unit ----------------------------------------------------

def test_add_bias_column():
    X = np.array([[2.0, 3.0], [4.0, 5.0]])
    np.testing.assert_array_equal(data.add_bias_column(X), [[1, 2, 3], [1, 4, 5]])
    assert data.add_bias_column(np.zeros((0, 3))).shape == (0, 4)


def test_product_feature_makes_xor_separable():
    X, y = data.xor()
    F = data.add_product_feature(X)
    np.testing.assert_array_equal(F[:, 2], X[:, 0] * X[:, 1])
    w = np.array([-0.5, 1.0, 1.0, -2.0])  # [w0, w1, w2, w3] from the story
    np.testing.assert_array_equal((data.add_bias_column(F) @ w > 0).astype(int), y)
    assert _least_squares_accuracy(X, y) < 1.0  # without the feature no line works
    with pytest.raises(ValueError, match="2 columns"):
        data.add_product_feature(np.zeros((4, 3)))


@given(n=st.integers(2, 60), k=st.integers(2, 10), shuffle=st.booleans(), seed=st.integers(0, 99))
def test_k_fold_partitions_the_samples(n, k, shuffle, seed):
    if k > n:
        with pytest.raises(ValueError, match="k_fold"):
            data.k_fold(n, k)
        return
    folds = data.k_fold(n, k, shuffle=shuffle, random_state=seed)
    assert len(folds) == k
    tests = np.concatenate([test for _, test in folds])
    assert sorted(tests.tolist()) == list(range(n))             # each sample tested once
    sizes = [len(test) for _, test in folds]
    assert max(sizes) - min(sizes) <= 1
    for train, test in folds:
        assert set(train.tolist()) | set(test.tolist()) == set(range(n))
        assert not set(train.tolist()) & set(test.tolist())

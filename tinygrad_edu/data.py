"""Small datasets, splits and minibatches for the lessons.

Everything here is plain numpy: arrays in, arrays out. Features are float64, class
labels int64. Every random function takes ``random_state`` (None, an int seed or a
``numpy.random.Generator``) and never touches numpy's global random state.
scikit-learn is needed only by the two loaders of bundled real data, and nothing is
ever downloaded.
"""
import numbers

import numpy as np

from .random import rng

__all__ = [
    "xor", "blobs", "spirals", "sine", "load_digits", "load_breast_cancer",
    "one_hot", "standardize", "k_fold", "train_test_split", "batches",
    "add_bias_column", "add_product_feature",
]


_rng = rng


def _check_int(name, value, low):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def _check_noise(noise):
    if not noise >= 0:  # also rejects NaN
        raise ValueError(f"noise must be >= 0, got {noise!r}")


def _as_2d(X, name="X"):
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n_samples, n_features), got shape {X.shape}")
    return X


def xor(noise=0.0, n_repeats=1, random_state=None):
    """The four XOR points, (0,0)->0, (0,1)->1, (1,0)->1, (1,1)->0.

    Returns X float64 (4*n_repeats, 2) and y int64 (4*n_repeats,); ``noise`` is the
    standard deviation of gaussian jitter added to X (labels stay those of the corners).
    """
    n_repeats = _check_int("n_repeats", n_repeats, 1)
    _check_noise(noise)
    X = np.tile(np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64), (n_repeats, 1))
    y = np.tile(np.array([0, 1, 1, 0], dtype=np.int64), n_repeats)
    if noise > 0:
        X = X + _rng(random_state).normal(scale=noise, size=X.shape)
    return X, y


def blobs(n_samples=200, separable=True, random_state=None):
    """Two 2-D gaussian classes, in random order.

    With ``separable=True`` the classes sit around (-2, -2) and (2, 2) and every point
    is kept at least 0.5 away from the line x1 + x2 = 0 (points closer are redrawn), so
    they are linearly separable by construction. With False they overlap heavily.
    """
    n_samples = _check_int("n_samples", n_samples, 2)
    rng = _rng(random_state)
    y = np.arange(n_samples) % 2
    sign = np.where(y == 1, 1.0, -1.0)[:, None]
    center, scale = (2.0, 0.8) if separable else (0.5, 1.0)
    X = sign * center + rng.normal(scale=scale, size=(n_samples, 2))
    if separable:
        margin = lambda X: sign[:, 0] * X.sum(axis=1) / np.sqrt(2.0)
        bad = margin(X) < 0.5
        while bad.any():
            X[bad] = sign[bad] * center + rng.normal(scale=scale, size=(bad.sum(), 2))
            bad = margin(X) < 0.5
    order = rng.permutation(n_samples)
    return X[order], y[order].astype(np.int64)


def spirals(n_samples=200, n_classes=2, noise=0.2, random_state=None):
    """Interleaved spiral arms, one per class, in random order.

    Arm k winds 1.5 turns outwards from radius 0.1 to radius 1, rotated by
    2*pi*k/n_classes; ``noise`` is gaussian noise on the angle, in radians.
    """
    n_classes = _check_int("n_classes", n_classes, 1)
    n_samples = _check_int("n_samples", n_samples, n_classes)
    _check_noise(noise)
    rng = _rng(random_state)
    y = np.sort(np.arange(n_samples) % n_classes).astype(np.int64)
    # radius of each sample along its own arm (the arms never share a point)
    counts = np.bincount(y, minlength=n_classes)
    r = np.concatenate([np.linspace(0.1, 1.0, c) for c in counts])
    theta = 2 * np.pi * (y / n_classes + 1.5 * r) + rng.normal(scale=noise, size=n_samples)
    X = np.column_stack([r * np.cos(theta), r * np.sin(theta)])
    order = rng.permutation(n_samples)
    return X[order], y[order]


def sine(n_samples=400, low=-2, high=2, noise=0.0, random_state=None):
    """A 1-D regression task: x uniform in [low, high), y = sin(2x) + gaussian noise.

    Returns X float64 (n_samples, 1) and y float64 (n_samples,).
    """
    n_samples = _check_int("n_samples", n_samples, 1)
    _check_noise(noise)
    if not low < high:
        raise ValueError(f"low must be < high, got low={low!r}, high={high!r}")
    rng = _rng(random_state)
    x = rng.uniform(low, high, size=n_samples)
    y = np.sin(2 * x)
    if noise > 0:
        y = y + rng.normal(scale=noise, size=n_samples)
    return x[:, None], y


def _sklearn_datasets(what):
    try:
        import sklearn.datasets
    except ImportError as err:
        raise ImportError(
            f"{what} needs scikit-learn, which ships this data set: "
            "pip install scikit-learn (or pip install 'tinygrad_edu[dev]')") from err
    return sklearn.datasets


def load_digits(scale=True):
    """scikit-learn's bundled 8x8 handwritten digits (no download).

    Returns X float64 (1797, 64), pixels 0..16, divided by 16 into [0, 1] when
    ``scale``, and y int64 (1797,) with the digits 0..9.
    """
    bunch = _sklearn_datasets("load_digits").load_digits()
    X = np.asarray(bunch.data, dtype=np.float64)
    return (X / 16.0 if scale else X), np.asarray(bunch.target, dtype=np.int64)


def load_breast_cancer(standardize=True):
    """scikit-learn's bundled Wisconsin breast cancer data (no download).

    Returns X float64 (569, 30), each feature standardized to mean 0 and standard
    deviation 1 when ``standardize``, and y int64 (569,) with 0 malignant, 1 benign.
    """
    bunch = _sklearn_datasets("load_breast_cancer").load_breast_cancer()
    X = np.asarray(bunch.data, dtype=np.float64)
    if standardize:
        X = _standardize(X)[0]
    return X, np.asarray(bunch.target, dtype=np.int64)


def one_hot(y, num_classes=None):
    """One-hot encode integer labels 0..num_classes-1 into a float64 array.

    The result has shape ``y.shape + (num_classes,)``; ``num_classes`` defaults to
    ``max(y) + 1``. Raises ValueError naming the first bad label.
    """
    y = np.asarray(y)
    if not (np.issubdtype(y.dtype, np.integer) or np.issubdtype(y.dtype, np.floating)):
        raise ValueError(f"labels must be integers, got dtype {y.dtype}")
    if not np.issubdtype(y.dtype, np.integer):
        bad = ~(np.isfinite(y) & (y == np.round(y)))
        if bad.any():
            raise ValueError(f"labels must be integers, got {y[bad].flat[0].item()!r}")
    if (y < 0).any():
        raise ValueError(f"labels must be >= 0, got {y[y < 0].flat[0].item()!r}")
    labels = y.astype(np.int64)
    if num_classes is None:
        num_classes = int(labels.max()) + 1 if labels.size else 0
    else:
        num_classes = _check_int("num_classes", num_classes, 1)
        if (labels >= num_classes).any():
            raise ValueError(f"label {labels[labels >= num_classes].flat[0].item()} is out of "
                             f"range for num_classes={num_classes}")
    return np.eye(num_classes, dtype=np.float64)[labels]


def standardize(X, mean=None, std=None):
    """Shift and scale each column to mean 0 and standard deviation 1.

    Pass the ``mean`` and ``std`` returned for training data to transform test data the
    same way. A constant column gets std 1 (it becomes all zeros), never NaN.
    Returns (Xs, mean, std).
    """
    X = _as_2d(X)
    if mean is None or std is None:
        if len(X) == 0:
            raise ValueError("cannot compute mean and std of an empty X")
        constant = (X == X[0]).all(axis=0)
    if mean is None:
        mean = np.where(constant, X[0], X.mean(axis=0))  # exact zeros for constants
    if std is None:
        std = np.where(constant, 1.0, X.std(axis=0))
    mean = np.asarray(mean, dtype=np.float64)
    std = np.asarray(std, dtype=np.float64)
    std = np.where(std == 0, 1.0, std)
    return (X - mean) / std, mean, std


_standardize = standardize  # for load_breast_cancer, whose argument shadows the name


def k_fold(n_samples, k=5, shuffle=True, random_state=None):
    """Cross-validation folds: a list of k (train_indices, test_indices) pairs.

    Every sample is in exactly one test fold; fold sizes differ by at most one.
    """
    n_samples, k = _check_int("n_samples", n_samples, 2), _check_int("k", k, 2)
    if k > n_samples:
        raise ValueError(f"k_fold: k={k} folds need at least {k} samples, got {n_samples}")
    order = _rng(random_state).permutation(n_samples) if shuffle else np.arange(n_samples)
    folds = np.array_split(order, k)
    return [(np.concatenate(folds[:i] + folds[i + 1:]), test) for i, test in enumerate(folds)]


def train_test_split(X, y, test_size=0.25, shuffle=True, random_state=None):
    """Split X and y into a training part and a held-out test part.

    ``test_size`` is a fraction in (0, 1) (rounded up to whole samples) or a number of
    samples. Without shuffling the test part is the last samples.
    Returns X_train, X_test, y_train, y_test.
    """
    X, y = np.asarray(X), np.asarray(y)
    n = len(X)
    if len(y) != n:
        raise ValueError(f"X and y have different lengths: {n} and {len(y)}")
    if isinstance(test_size, numbers.Integral) and not isinstance(test_size, bool):
        n_test = int(test_size)
    elif isinstance(test_size, numbers.Real) and 0 < test_size < 1:
        n_test = int(np.ceil(test_size * n))
    else:
        raise ValueError(f"test_size must be a fraction in (0, 1) or a count, got {test_size!r}")
    if not 0 < n_test < n:
        raise ValueError(f"test_size={test_size!r} with {n} samples leaves {n_test} test and "
                         f"{n - n_test} training samples; both sides need at least one")
    idx = _rng(random_state).permutation(n) if shuffle else np.arange(n)
    train, test = idx[:n - n_test], idx[n - n_test:]
    return X[train], X[test], y[train], y[test]


def batches(X, y=None, batch_size=32, shuffle=True, random_state=None):
    """Iterate once over the data in minibatches of ``batch_size`` (the last may be smaller).

    Each sample appears in exactly one batch. Yields ``(Xb, yb)``, or just ``Xb`` when
    y is None. Arguments are checked at call time, before the first batch.
    """
    X = np.asarray(X)
    batch_size = _check_int("batch_size", batch_size, 1)
    if y is not None:
        y = np.asarray(y)
        if len(y) != len(X):
            raise ValueError(f"X and y have different lengths: {len(X)} and {len(y)}")
    idx = _rng(random_state).permutation(len(X)) if shuffle else np.arange(len(X))

    def generate():
        for start in range(0, len(idx), batch_size):
            part = idx[start:start + batch_size]
            yield X[part] if y is None else (X[part], y[part])

    return generate()


def add_bias_column(X):
    """Prepend a column of ones: the bias input x0 = 1, so w0 acts as the bias."""
    X = _as_2d(X)
    return np.hstack([np.ones((len(X), 1)), X])


def add_product_feature(X):
    """For 2-column X = [x1, x2], append x3 = x1*x2 (the hand-made feature that makes
    XOR linearly separable)."""
    X = _as_2d(X)
    if X.shape[1] != 2:
        raise ValueError(f"add_product_feature expects 2 columns, got shape {X.shape}")
    return np.column_stack([X, X[:, 0] * X[:, 1]])

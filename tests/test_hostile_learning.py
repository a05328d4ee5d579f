"""Hostile input, part 2 (issue 13): threads, files, estimators, modules and optimizers.

(Construction, shapes, backward misuse, numerical extremes and memory are in
test_hostile_core.py.) Every case asserts a correct result or a clear error. Thread tests
run real ``threading.Thread``s with bounded loops, barriers with timeouts and joins with
timeouts; a thread's exception fails the test.
"""
import gc
import io
import os
import re
import sys
import threading
import warnings
import zipfile

import numpy as np
import pytest
from test_hostile_core import raises  # (tests/ is on the path: the one helper, shared)

import tinygrad_edu as tg
from tinygrad_edu import nn
from tinygrad_edu.errors import ArgumentError
from tinygrad_edu.io import SerializationError
from tinygrad_edu.nn import functional as F

# ------------------------------------------------------------------------------ helpers


def leaf(values):
    return tg.Tensor(np.asarray(values, dtype=np.float64), requires_grad=True)


def run_threads(*targets, timeout=30):
    """Run each target in its own thread; re-raise the first exception of any of them."""
    errors = []

    def guarded(f):
        def run():
            try:
                f()
            except BaseException as e:  # noqa: BLE001 - reported in the main thread
                errors.append(e)
        return run

    threads = [threading.Thread(target=guarded(f), daemon=True) for f in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    assert not any(t.is_alive() for t in threads), "a thread did not finish in time"
    if errors:
        raise errors[0]


@pytest.fixture
def busy_switching():
    """Switch threads every 10 microseconds: races show up in a few hundred steps."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    yield
    sys.setswitchinterval(old)


def _data(n=16, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    return X, (X[:, 0] + X[:, 1] > 0).astype(np.int64)


def _mlp(seed=0):
    return nn.Sequential(nn.Linear(3, 5, random_state=seed), nn.Tanh(),
                         nn.Linear(5, 2, random_state=seed + 1))


# =====================================================================================
# threads
# =====================================================================================

OPTIMIZERS = {"sgd": lambda ps: tg.optim.SGD(ps, lr=0.1),
              "sgd_momentum": lambda ps: tg.optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True),
              "adam": lambda ps: tg.optim.Adam(ps, lr=0.01)}


def _train(opt_name, steps=150, seed=0):
    X, y = _data()
    model = _mlp(seed)
    opt = OPTIMIZERS[opt_name](model.parameters())
    for _ in range(steps):
        opt.zero_grad()
        loss = F.cross_entropy(model(tg.Tensor(X)), y)
        loss.backward()
        opt.step()
    return [p.data.copy() for p in model.parameters()]


def test_threads_inference_under_no_grad_beside_training(busy_switching):
    X, y = _data()
    model, other = _mlp(0), _mlp(7)
    opt = tg.optim.SGD(model.parameters(), lr=0.1)
    start, stop, steps = threading.Barrier(2, timeout=10), threading.Event(), []

    def infer():
        with tg.no_grad():
            start.wait()
            for _ in range(200_000):
                if stop.is_set():
                    break
                assert not other(tg.Tensor(X)).requires_grad

    def train():
        try:
            start.wait()
            for _ in range(300):
                opt.zero_grad()
                loss = F.cross_entropy(model(tg.Tensor(X)), y)
                recorded = loss.requires_grad
                loss.backward()
                steps.append(recorded and all(p.grad is not None for p in model.parameters()))
                opt.step()
        finally:
            stop.set()

    run_threads(infer, train)
    assert len(steps) == 300 and all(steps), f"{steps.count(False)} of 300 steps had no graph"


@pytest.mark.parametrize("opt_name", list(OPTIMIZERS))
def test_threads_two_trainings_equal_sequential_bitwise(opt_name, busy_switching):
    expected = _train(opt_name)
    results = [None, None]

    def worker(i):
        return lambda: results.__setitem__(i, _train(opt_name))

    run_threads(worker(0), worker(1))
    for got in results:
        assert all(np.array_equal(a, b) for a, b in zip(got, expected))
    assert gc.isenabled()  # the walks pause the collector: both threads put it back


@pytest.mark.parametrize("first", [0, 1])
def test_threads_overlapping_no_grad_blocks_restore_grad_mode(first):
    both_inside, inside, after = threading.Barrier(2, timeout=10), [], []

    def worker(i):
        def run():
            with tg.no_grad():
                both_inside.wait()  # the two blocks overlap
                inside.append(tg.is_grad_enabled())
                if i != first:
                    both_inside.wait()  # the other thread has left its block
                    inside.append(tg.is_grad_enabled())  # still off in this one
            if i == first:
                both_inside.wait()
            after.append(tg.is_grad_enabled())
        return run

    run_threads(worker(0), worker(1))
    assert inside == [False, False, False] and after == [True, True]
    assert tg.is_grad_enabled()


def test_threads_thread_started_inside_no_grad_records_graphs():
    seen = []

    def run():
        x = leaf([1.0, 2.0])
        y = (x * x).sum()
        seen.extend([tg.is_grad_enabled(), y.requires_grad])
        y.backward()
        seen.append(x.grad.data.tolist())

    with tg.no_grad():
        run_threads(run)
        assert not tg.is_grad_enabled()
    assert seen == [True, True, [2.0, 4.0]]


def test_threads_thread_started_inside_detect_anomaly_has_it_off():
    seen = []

    def run():
        with np.errstate(invalid="ignore"):
            seen.append(bool(np.isnan(leaf([-1.0]).log().data[0])))  # no AnomalyError

    with tg.detect_anomaly():
        run_threads(run)
    assert seen == [True]


def test_threads_detect_anomaly_in_one_thread_only():
    barrier, seen = threading.Barrier(2, timeout=10), {}

    def anomalous():
        with tg.detect_anomaly():
            barrier.wait()  # the other thread computes while this one is in the block
            barrier.wait()
            with np.errstate(invalid="ignore"), pytest.raises(tg.AnomalyError):
                leaf([-1.0]).log()
            seen["raised_here"] = True

    def plain():
        barrier.wait()
        with np.errstate(invalid="ignore"):
            for _ in range(200):
                seen["nan"] = bool(np.isnan(leaf([-1.0]).log().data[0]))
        barrier.wait()

    run_threads(anomalous, plain)
    assert seen == {"raised_here": True, "nan": True}


def test_threads_is_grad_enabled_reflects_only_this_thread():
    barrier, seen = threading.Barrier(2, timeout=10), []

    def run():
        with tg.no_grad():
            barrier.wait()
            seen.append(tg.is_grad_enabled())
            barrier.wait()

    t = threading.Thread(target=run, daemon=True)
    t.start()
    barrier.wait()
    main_inside = tg.is_grad_enabled()  # while the thread is inside its no_grad
    barrier.wait()
    t.join(10)
    assert not t.is_alive()
    assert main_inside and seen == [False]


def test_threads_main_no_grad_does_not_reach_a_running_thread():
    barrier, seen = threading.Barrier(2, timeout=10), []

    def run():
        barrier.wait()  # main is inside no_grad now
        x = leaf([3.0])
        seen.append(((x * x).requires_grad, tg.is_grad_enabled()))
        barrier.wait()

    t = threading.Thread(target=run, daemon=True)
    t.start()
    with tg.no_grad():
        barrier.wait()
        barrier.wait()
    t.join(10)
    assert seen == [(True, True)]


def test_threads_backward_in_progress_does_not_stop_recording_elsewhere(busy_switching):
    stop, recorded = threading.Event(), []

    def backwards():
        try:
            for _ in range(30):
                x = leaf(1.0)
                y = x
                for _ in range(2000):
                    y = y * 1.0001
                y.backward()
        finally:
            stop.set()

    def forwards():
        w = leaf([1.0, 2.0])
        for _ in range(100_000):
            if stop.is_set():
                break
            recorded.append((w * w).sum().requires_grad)

    run_threads(backwards, forwards)
    assert recorded and all(recorded), f"{recorded.count(False)} ops recorded no graph"


def test_threads_nested_grad_transforms_concurrently(busy_switching):
    d2 = tg.grad(tg.grad(lambda x: x ** 3))  # 6x
    results = [[], []]

    def worker(i):
        def run():
            for k in range(100):
                r = d2(float(k % 5 + 1))
                results[i].append(float(np.asarray(getattr(r, "data", r))))
        return run

    run_threads(worker(0), worker(1))
    expected = [6.0 * (k % 5 + 1) for k in range(100)]
    assert results == [expected, expected]


# =====================================================================================
# files
# =====================================================================================

ROUND_TRIPS = {
    "float64": {"w": np.arange(6.0).reshape(2, 3)},
    "float32_float16": {"a": np.ones(3, np.float32), "b": np.full(2, 0.5, np.float16)},
    "ints_and_bools": {"i": np.array([1, -2], np.int64), "m": np.array([True, False])},
    "zero_d_and_empty": {"s": np.array(3.5), "e": np.zeros((0, 3))},
    "big_endian": {"be": np.arange(3, dtype=">f8")},
    "dotted_and_unicode_keys": {"0.weight": np.ones(2), "poids_é": np.zeros(1), "a/b": np.ones(1)},
    "lone_npy_suffix": {"w.npy": np.ones(2)},
    "nan_and_inf": {"x": np.array([np.nan, np.inf, -np.inf])},
}


@pytest.mark.parametrize("name", list(ROUND_TRIPS))
def test_files_round_trip(name, tmp_path):
    state = ROUND_TRIPS[name]
    path = tmp_path / "state.npz"
    tg.save(state, path)
    back = tg.load(path)
    assert list(back) == list(state)
    for k in state:
        assert back[k].dtype == state[k].dtype and back[k].shape == state[k].shape
        np.testing.assert_array_equal(back[k], state[k])


@pytest.mark.parametrize("name", list(ROUND_TRIPS))
def test_files_written_file_reads_back_through_plain_numpy(name, tmp_path):
    state = ROUND_TRIPS[name]  # the module promises a plain .npz that numpy can read
    path = tmp_path / "state.npz"
    tg.save(state, path)
    with np.load(path, allow_pickle=False) as npz:
        assert sorted(npz.files) == sorted(state)
        for k in state:
            np.testing.assert_array_equal(npz[k], state[k])


def test_files_round_trip_file_object_and_model():
    model, other = _mlp(0), _mlp(5)
    buf = io.BytesIO()
    tg.save(model.state_dict(), buf)
    buf.seek(0)
    other.load_state_dict(tg.load(buf))
    X = tg.Tensor(_data()[0])
    np.testing.assert_array_equal(other(X).data, model(X).data)


def test_files_concurrent_saves_to_one_path(tmp_path):
    path = tmp_path / "shared.npz"
    dicts = [{"w": np.full((50, 20), float(i)), f"k{i}": np.arange(i + 1.0)} for i in range(8)]
    tg.save(dicts[0], path)
    bad = []

    def writer(i):
        def run():
            for _ in range(20):
                tg.save(dicts[i], path)
                state = tg.load(path)  # always a whole file: one of the dicts exactly
                if not any(list(state) == list(d) and all(np.array_equal(state[k], d[k])
                                                          for k in d) for d in dicts):
                    bad.append(sorted(state))
        return run

    run_threads(*[writer(i) for i in range(8)], timeout=60)
    assert not bad
    assert os.listdir(tmp_path) == ["shared.npz"], os.listdir(tmp_path)  # no temporary left


def test_files_reader_never_sees_a_partial_file(tmp_path):
    path = tmp_path / "m.npz"
    states = [{"w": np.full(20_000, float(i))} for i in range(2)]
    tg.save(states[0], path)
    stop, seen = threading.Event(), []

    def write():
        try:
            for k in range(40):
                tg.save(states[k % 2], path)
        finally:
            stop.set()

    def read():
        while not stop.is_set() and len(seen) < 10_000:
            w = tg.load(path)["w"]
            seen.append(w[0] == w[-1] and w[0] in (0.0, 1.0))

    run_threads(write, read, timeout=60)
    assert seen and all(seen)


@pytest.mark.parametrize("keys", [("a.npy", "a"), ("a", "a.npy")], ids=["npy_first", "plain_first"])
def test_files_keys_colliding_inside_npz(keys, tmp_path):
    path = tmp_path / "c.npz"
    state = {keys[0]: np.ones(2), keys[1]: np.zeros(2)}
    raises(SerializationError, lambda: tg.save(state, path), r"save", r"a\.npy",
           r"'a'|\"a\"")
    assert not path.exists()


BAD_STATES = [("empty_key", {"": np.ones(1)}, r"''|empty"), ("int_key", {1: np.ones(1)}, r"\b1\b"),
              ("string_value", {"w": "abc"}, r"'w'"), ("none_value", {"w": None}, r"'w'"),
              ("object_array", {"w": np.array([None, 1])}, r"'w'"),
              ("not_a_mapping", [("w", np.ones(1))], r"list|mapping")]


@pytest.mark.parametrize("state, pattern", [c[1:] for c in BAD_STATES],
                         ids=[c[0] for c in BAD_STATES])
def test_files_save_refuses_bad_state(state, pattern, tmp_path):
    raises(SerializationError, lambda: tg.save(state, tmp_path / "x.npz"), r"save", pattern)


def test_files_failed_save_keeps_the_old_file(tmp_path):
    path = tmp_path / "keep.npz"
    tg.save({"w": np.arange(3.0)}, path)
    with pytest.raises(SerializationError):
        tg.save({"w": np.ones(2), "bad": None}, path)
    np.testing.assert_array_equal(tg.load(path)["w"], np.arange(3.0))
    assert os.listdir(tmp_path) == ["keep.npz"]


def _huge_npz(path, shape, descr):
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": descr, "fortran_order": False,
                                               "shape": shape})
    buf.write(b"\0" * 64)  # far less data than declared
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("w.npy", buf.getvalue())


@pytest.mark.parametrize("shape, descr", [((10**12,), "<f8"), ((10**6, 10**6), "<f8"),
                                          ((10**12,), "|u1")], ids=["1e12_f8", "1e6x1e6", "1e12_u1"])
def test_files_header_declaring_a_huge_array(shape, descr, tmp_path):
    path = tmp_path / "huge.npz"
    _huge_npz(path, shape, descr)
    raises(SerializationError, lambda: tg.load(path), r"load", r"'w'|w\.npy")


def _saved(tmp_path):
    path = tmp_path / "s.npz"
    tg.save({"w": np.arange(100.0)}, path)
    return path, bytearray(path.read_bytes())


def test_files_corrupted_crc(tmp_path):
    path, raw = _saved(tmp_path)
    i = raw.find(np.arange(100.0).tobytes()[400:408])
    raw[i] ^= 0xFF  # flip a byte of the stored data
    path.write_bytes(bytes(raw))
    raises(SerializationError, lambda: tg.load(path), r"load", r"CRC|corrupt|'w'")


def test_files_truncated_archive(tmp_path):
    path, raw = _saved(tmp_path)
    path.write_bytes(bytes(raw[:-100]))
    raises(SerializationError, lambda: tg.load(path), r"load")


def test_files_corrupted_npy_magic(tmp_path):
    path, raw = _saved(tmp_path)
    i = raw.find(b"\x93NUMPY")
    raw[i + 1] = ord("X")
    path.write_bytes(bytes(raw))
    raises(SerializationError, lambda: tg.load(path), r"load")


@pytest.mark.parametrize("content", [b"not a zip file, just text\n", b"", b"PK\x03\x04garbage"],
                         ids=["text", "empty", "bad_zip_magic"])
def test_files_not_an_npz(content, tmp_path):
    path = tmp_path / "bad.npz"
    path.write_bytes(content)
    raises(SerializationError, lambda: tg.load(path), r"load", re.escape("bad.npz"))


def test_files_single_npy_array(tmp_path):
    path = tmp_path / "one.npy"
    np.save(path, np.ones(3))
    raises(SerializationError, lambda: tg.load(path), r"load")


def test_files_pickle_is_refused(tmp_path):
    import pickle
    path = tmp_path / "p.npz"
    path.write_bytes(pickle.dumps({"w": np.ones(2)}))
    raises(SerializationError, lambda: tg.load(path), r"load", r"pickle")


def test_files_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        tg.load(tmp_path / "nowhere.npz")


def test_files_directory_path(tmp_path):
    with pytest.raises((SerializationError, IsADirectoryError, PermissionError)):
        tg.load(tmp_path)


@pytest.mark.parametrize("state", [None, "model.npz", 42, [("weight", np.ones((2, 3)))]],
                         ids=["None", "str", "int", "list_of_pairs"])
def test_files_load_state_dict_of_a_non_mapping(state):
    lin = nn.Linear(2, 3, random_state=0)
    before = [p.data.copy() for p in lin.parameters()]
    raises((TypeError, tg.ShapeError), lambda: lin.load_state_dict(state), r"load_state_dict")
    assert all(np.array_equal(p.data, b) for p, b in zip(lin.parameters(), before))


BAD_ENTRIES = [
    ("bias_wrong_shape", "bias", np.zeros(4)),
    ("bias_strings", "bias", np.array(["a", "b", "c"])),
    ("bias_object_None", "bias", np.array([None, 1.0, 2.0], dtype=object)),
    ("bias_complex", "bias", np.array([1j, 0, 0])),
    ("bias_huge_int", "bias", np.array([2**1100, 0, 0], dtype=object)),
    ("weight_wrong_shape", "weight", np.zeros((3, 2))),
    ("weight_strings", "weight", np.full((2, 3), "x")),
]


@pytest.mark.parametrize("strict", [True, False])
@pytest.mark.parametrize("key, bad", [c[1:] for c in BAD_ENTRIES], ids=[c[0] for c in BAD_ENTRIES])
def test_files_load_state_dict_is_all_or_nothing(key, bad, strict):
    lin = nn.Linear(2, 3, random_state=0)
    before = {n: p.data.copy() for n, p in lin.named_parameters()}
    state = {"weight": np.full((2, 3), 9.0), "bias": np.full(3, 9.0)}
    state[key] = bad
    raises((ValueError, TypeError), lambda: lin.load_state_dict(state, strict=strict),
           r"load_state_dict", key)
    for n, p in lin.named_parameters():
        np.testing.assert_array_equal(p.data, before[n])


@pytest.mark.parametrize("value", [np.array([1, 2, 3]), [1.0, 2.0, 3.0], tg.Tensor([1, 2, 3])],
                         ids=["int_array", "list", "tensor"])
def test_files_load_state_dict_converts_good_values(value):
    lin = nn.Linear(2, 3, random_state=0)
    lin.load_state_dict({"weight": np.zeros((2, 3)), "bias": value})
    assert lin.bias.dtype == np.float64
    np.testing.assert_array_equal(lin.bias.data, [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(lin.weight.data, np.zeros((2, 3)))


# =====================================================================================
# estimators
# =====================================================================================

ESTIMATORS = {
    "LogisticRegression": lambda **kw: tg.models.LogisticRegression(**kw),
    "MLPClassifier": lambda **kw: tg.models.MLPClassifier((3,), random_state=0, **kw),
    "MLPRegressor": lambda **kw: tg.models.MLPRegressor((3,), random_state=0, **kw),
}


def _xy(name, n=30, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    y = X @ [1.0, -2.0, 0.5] if name == "MLPRegressor" else (X[:, 0] + X[:, 1] > 0).astype(int)
    return X, y


BAD_PARAMS = [("learning_rate_init", v) for v in (np.inf, np.nan, -1, "0.1", 0, None)] + \
             [("alpha", v) for v in (np.nan, np.inf, -1, "0")] + \
             [("max_iter", v) for v in (-1, 0, 2.5, np.nan)] + \
             [("tol", v) for v in (np.nan, -1, np.inf)] + \
             [("momentum", v) for v in (np.nan, -0.1, 1.5)]


@pytest.mark.parametrize("est", list(ESTIMATORS))
@pytest.mark.parametrize("param, value", BAD_PARAMS, ids=[f"{p}={v!r}" for p, v in BAD_PARAMS])
def test_estimators_refuse_bad_hyperparameters(param, value, est):
    kwargs = {param: value}
    if param != "max_iter":
        kwargs["max_iter"] = 5
    model = ESTIMATORS[est](solver="sgd", **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        raises(ValueError, lambda: model.fit(*_xy(est)), param)


DIVERGENT = {
    "LogisticRegression_sgd": ("LogisticRegression", dict(solver="sgd")),
    "MLPClassifier_sgd": ("MLPClassifier", dict(solver="sgd")),
    "MLPRegressor_sgd": ("MLPRegressor", dict(solver="sgd")),
    "MLPRegressor_adam": ("MLPRegressor", dict(solver="adam")),
    "LogisticRegression_adam": ("LogisticRegression", dict(solver="adam")),
}
DIVERGED = r"diverg|non-finite|not finite|nan|\binf|overflow|explod|increas"


def _converged(est):
    history = getattr(est, "history_", None)
    if history is not None and hasattr(history, "stopped_by"):
        said = f"{history.stopped_by} {getattr(history, 'reason', '')}"
        return history.stopped_by is not None and not re.search(DIVERGED, said, re.IGNORECASE)
    return est.n_iter_ < est.max_iter


@pytest.mark.parametrize("case", list(DIVERGENT))
def test_estimators_divergence_is_reported(case):
    name, kw = DIVERGENT[case]
    X, y = _xy(name, n=60)
    X = (X - X.mean(0)) / X.std(0)  # scaled data: only the learning rate is to blame
    if name != "MLPRegressor":  # noisy labels: no separating line with a loss of 0
        flip = np.random.default_rng(1).random(len(y)) < 0.2
        y = np.where(flip, 1 - y, y)
    est = ESTIMATORS[name](learning_rate_init=1e6, max_iter=50, **kw)
    with warnings.catch_warnings(record=True) as caught, np.errstate(all="ignore"):
        warnings.simplefilter("always")
        try:
            est.fit(X, y)
        except ValueError as e:
            assert re.search(DIVERGED, str(e), re.IGNORECASE), str(e)
            return
    messages = [str(w.message) for w in caught]
    assert any(re.search(DIVERGED, m, re.IGNORECASE) for m in messages), messages
    assert not _converged(est), (est.history_.stopped_by, est.loss_curve_[:3])


def _pd():
    return pytest.importorskip("pandas")


def _frame(name):
    X, y = _xy(name)
    return _pd().DataFrame(X, columns=["a", "b", "c"]), y


def _fitted(name):
    df, y = _frame(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ESTIMATORS[name](max_iter=30).fit(df, y), df


@pytest.mark.parametrize("est", list(ESTIMATORS))
def test_estimators_feature_names_in_after_a_dataframe(est):
    model, _ = _fitted(est)
    assert list(model.feature_names_in_) == ["a", "b", "c"]


@pytest.mark.parametrize("change", ["reordered", "renamed"])
@pytest.mark.parametrize("est", list(ESTIMATORS))
def test_estimators_predict_on_changed_columns(est, change):
    model, df = _fitted(est)
    other = df[["c", "a", "b"]] if change == "reordered" else df.rename(columns={"a": "z"})
    raises(ValueError, lambda: model.predict(other), r"feature names")


def test_estimators_predict_proba_and_score_check_feature_names():
    model, df = _fitted("MLPClassifier")
    other = df[["b", "a", "c"]]
    raises(ValueError, lambda: model.predict_proba(other), r"feature names")
    raises(ValueError, lambda: model.score(other, np.zeros(len(df))), r"feature names")


def test_estimators_same_frame_predicts_as_the_array():
    model, df = _fitted("LogisticRegression")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scikit-learn warns: X has no feature names
        np.testing.assert_array_equal(model.predict(df), model.predict(df.to_numpy()))


def test_estimators_no_feature_names_after_an_array():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = ESTIMATORS["LogisticRegression"](max_iter=30).fit(*_xy("LogisticRegression"))
    assert not hasattr(model, "feature_names_in_")


def _labels(kind, n=30):
    y = np.array(["u", "v"] * (n // 2), dtype=object)
    if kind == "None_in_strings":
        y[3] = None
        return y
    if kind == "None_in_ints":
        y = np.array([0, 1] * (n // 2), dtype=object)
        y[3] = None
        return y
    return _pd().Series([0, 1] * (n // 2), dtype="Int64").mask(np.arange(n) == 3)  # pd.NA


MISSING_LABELS = [(est, kind) for est in ESTIMATORS for kind in ("None_in_strings",
                  "None_in_ints", "pd_NA") if (est, kind) != ("MLPRegressor", "None_in_strings")]


@pytest.mark.parametrize("est, kind", MISSING_LABELS, ids=[f"{e}-{k}" for e, k in MISSING_LABELS])
def test_estimators_labels_with_missing_values(est, kind):
    X = _xy(est)[0]
    model = ESTIMATORS[est](max_iter=5)
    raises(ValueError, lambda: model.fit(X, _labels(kind)), est)


BAD_X = {
    "nan": lambda X: np.where(np.arange(X.size).reshape(X.shape) == 4, np.nan, X),
    "inf": lambda X: np.where(np.arange(X.size).reshape(X.shape) == 4, np.inf, X),
    "neg_inf": lambda X: np.where(np.arange(X.size).reshape(X.shape) == 4, -np.inf, X),
    "complex": lambda X: X + 1j,
    "no_samples": lambda X: X[:0],
    "no_features": lambda X: X[:, :0],
    "strings": lambda X: np.full(X.shape, "a"),
    "1d": lambda X: X[:, 0],
}


@pytest.mark.parametrize("bad", list(BAD_X))
@pytest.mark.parametrize("est", list(ESTIMATORS))
def test_estimators_fit_refuses_bad_X(est, bad):
    X, y = _xy(est)
    Xb = BAD_X[bad](X)
    yb = y[:len(Xb)] if bad == "no_samples" else y
    raises(ValueError, lambda: ESTIMATORS[est](max_iter=5).fit(Xb, yb))


@pytest.mark.parametrize("bad", ["nan", "complex", "no_samples"])
def test_estimators_predict_refuses_bad_X(bad):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = ESTIMATORS["MLPClassifier"](max_iter=5).fit(*_xy("MLPClassifier"))
    raises(ValueError, lambda: model.predict(BAD_X[bad](_xy("MLPClassifier")[0])))


def test_estimators_dataframe_with_pd_NA_in_X():
    df, y = _frame("LogisticRegression")
    df = df.astype("Float64")
    df.iloc[2, 1] = _pd().NA
    raises(ValueError, lambda: ESTIMATORS["LogisticRegression"](max_iter=5).fit(df, y),
           r"NaN|missing|NA")


def test_estimators_regressor_target_with_nan():
    X, y = _xy("MLPRegressor")
    y[2] = np.nan
    raises(ValueError, lambda: ESTIMATORS["MLPRegressor"](max_iter=5).fit(X, y), r"NaN")


def test_estimators_length_mismatch():
    X, y = _xy("LogisticRegression")
    raises(ValueError, lambda: ESTIMATORS["LogisticRegression"](max_iter=5).fit(X, y[:-1]),
           r"inconsistent|length")


# =====================================================================================
# modules and optimizers
# =====================================================================================

OPTIMIZER_CLASSES = {"SGD": lambda ps, **kw: tg.optim.SGD(ps, **{"lr": 0.1, **kw}),
                     "Adam": lambda ps, **kw: tg.optim.Adam(ps, **kw)}


@pytest.mark.parametrize("opt", list(OPTIMIZER_CLASSES))
def test_modules_same_parameter_twice(opt):
    p = leaf([1.0, 2.0])
    try:
        o = OPTIMIZER_CLASSES[opt]([p, p], lr=0.1)
    except ArgumentError as e:
        assert re.search(opt, str(e))
        return
    (p * p).sum().backward()  # g = 2p = [2, 4]
    before = p.data.copy()
    o.step()
    step = before - p.data
    if opt == "SGD":
        np.testing.assert_allclose(step, 0.1 * np.array([2.0, 4.0]), rtol=1e-15)
    else:  # Adam's first step is lr * sign(g) (up to eps)
        np.testing.assert_allclose(step, [0.1, 0.1], rtol=1e-6)


BAD_PARAM_LISTS = [
    ("bare_tensor", lambda: leaf([1.0, 2.0]), tg.DTypeError, r"Tensor|iterable|list"),
    ("ndarray", lambda: np.ones(3), tg.DTypeError, r"ndarray|iterable|list"),
    ("list_of_ndarray", lambda: [np.ones(3)], tg.DTypeError, r"ndarray"),
    ("list_of_str", lambda: ["a"], tg.DTypeError, r"str"),
    ("list_of_None", lambda: [None], tg.DTypeError, r"None"),
    ("module", lambda: nn.Linear(2, 2), tg.DTypeError, r"Linear|Module|parameters"),
    ("non_leaf", lambda: [leaf([1.0]) * 2], (ArgumentError, tg.GradientError), r"leaf"),
    ("empty_list", list, ValueError, r"empty"),
    ("empty_generator", lambda: iter([]), ValueError, r"empty"),
]


@pytest.mark.parametrize("opt", list(OPTIMIZER_CLASSES))
@pytest.mark.parametrize("make, exc, pattern", [c[1:] for c in BAD_PARAM_LISTS],
                         ids=[c[0] for c in BAD_PARAM_LISTS])
def test_modules_optimizer_refuses_bad_params(make, exc, pattern, opt):
    raises(exc, lambda: OPTIMIZER_CLASSES[opt](make()), opt, pattern)


BAD_HYPER = [
    ("SGD", dict(lr=np.nan), r"\blr\b"), ("SGD", dict(lr=-1), r"\blr\b"),
    ("SGD", dict(lr="0.1"), r"\blr\b"), ("SGD", dict(lr=None), r"\blr\b"),
    ("SGD", dict(lr=np.inf), r"\blr\b"),
    ("Adam", dict(lr=np.nan), r"\blr\b"), ("Adam", dict(lr=-1), r"\blr\b"),
    ("Adam", dict(lr="0.1"), r"\blr\b"), ("Adam", dict(lr=None), r"\blr\b"),
    ("Adam", dict(lr=np.inf), r"\blr\b"),
    ("Adam", dict(betas=(1.0, 0.999)), r"betas"), ("Adam", dict(betas=(-0.1, 0.9)), r"betas"),
    ("Adam", dict(betas=(0.9, 1.5)), r"betas"), ("Adam", dict(betas=(np.nan, 0.9)), r"betas"),
    ("Adam", dict(betas=(0.9,)), r"betas"), ("Adam", dict(betas="ab"), r"betas"),
    ("Adam", dict(eps=-1e-8), r"eps"), ("Adam", dict(eps=np.nan), r"eps"),
    ("Adam", dict(weight_decay=-0.1), r"weight_decay"),
    ("SGD", dict(weight_decay=-0.1), r"weight_decay"),
    ("SGD", dict(weight_decay=np.nan), r"weight_decay"),
    ("SGD", dict(momentum=-0.5), r"momentum"), ("SGD", dict(momentum=np.nan), r"momentum"),
    ("SGD", dict(nesterov=True), r"nesterov"),
]


@pytest.mark.parametrize("opt, kwargs, pattern", BAD_HYPER,
                         ids=[f"{o}-{k}" for o, k, _ in BAD_HYPER])
def test_modules_optimizer_refuses_bad_hyperparameters(opt, kwargs, pattern):
    raises((ArgumentError, tg.DTypeError), lambda: OPTIMIZER_CLASSES[opt]([leaf([1.0])], **kwargs),
           opt, pattern)


def test_modules_argument_error_is_a_value_error_in_errors():
    from tinygrad_edu import errors
    assert issubclass(errors.ArgumentError, ValueError)


@pytest.mark.parametrize("make", [
    lambda ps: tg.optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.5),
    lambda ps: tg.optim.Adam(ps, lr=0.1, weight_decay=0.5),
    lambda ps: tg.optim.SGD(ps, lr=0.1)], ids=["sgd_momentum_wd", "adam_wd", "sgd"])
def test_modules_step_without_gradients_changes_nothing(make):
    p, q = leaf([1.0, 2.0]), leaf([3.0])
    opt = make([p, q])
    (q * q).sum().backward()  # p gets no gradient
    opt.step()
    np.testing.assert_array_equal(p.data, [1.0, 2.0])
    assert not np.array_equal(q.data, [3.0])


def test_modules_sgd_steps_exactly():
    p = leaf([1.0, -2.0])
    opt = tg.optim.SGD([p], lr=0.25, momentum=0.5)
    for _ in range(2):
        opt.zero_grad()
        (p * p).sum().backward()
        opt.step()
    # g1 = 2p0 = [2, -4]; v1 = g1; p1 = p0 - 0.25 v1 = [0.5, -1]
    # g2 = [1, -2]; v2 = 0.5 v1 + g2 = [2, -4]; p2 = p1 - 0.25 v2 = [0, 0]
    np.testing.assert_array_equal(p.data, [0.0, 0.0])


def test_modules_zero_grad_sets_none_and_generator_params_work():
    model = nn.Linear(2, 1, random_state=0)
    opt = tg.optim.SGD((p for p in model.parameters()), lr=0.1)
    model(tg.Tensor([[1.0, 2.0]])).sum().backward()
    opt.zero_grad()
    assert all(p.grad is None for p in model.parameters())


class Tied(nn.Module):
    def __init__(self):
        self.enc = nn.Linear(2, 2, random_state=0)
        self.dec = self.enc
        self.extra = self.enc.weight


@pytest.mark.parametrize("make, n", [(lambda: Tied(), 2),
                                     (lambda: nn.Sequential(*[nn.Linear(2, 2, random_state=0)] * 2), 2)],
                         ids=["tied_attributes", "sequential_same_layer"])
def test_modules_shared_parameters_listed_once(make, n):
    model = make()
    params = model.parameters()
    assert len(params) == n and len({id(p) for p in params}) == n
    assert len(model.state_dict()) == n
    tg.optim.SGD(params, lr=0.1)  # no "same tensor twice" error


def test_modules_shared_parameter_stepped_once():
    lin = nn.Linear(1, 1, bias=False, random_state=0)
    lin.weight.data[...] = 1.0
    model = nn.Sequential(lin, lin)  # y = w * w * x
    opt = tg.optim.SGD(model.parameters(), lr=0.1)
    model(tg.Tensor([[1.0]])).sum().backward()  # dy/dw = 2w = 2
    opt.step()
    np.testing.assert_allclose(lin.weight.data, [[0.8]], rtol=1e-15)


@pytest.mark.parametrize("change, pattern", [("missing", r"bias"), ("unexpected", r"extra")])
def test_modules_load_state_dict_strict_keys(change, pattern):
    lin = nn.Linear(2, 3, random_state=0)
    state = lin.state_dict()
    if change == "missing":
        del state["bias"]
    else:
        state["extra"] = np.ones(1)
    raises((ValueError, KeyError), lambda: lin.load_state_dict(state), r"load_state_dict",
           change, pattern)


def test_modules_load_state_dict_not_strict():
    lin = nn.Linear(2, 3, random_state=0)
    lin.load_state_dict({"weight": np.full((2, 3), 2.0), "extra": np.ones(1)}, strict=False)
    np.testing.assert_array_equal(lin.weight.data, np.full((2, 3), 2.0))
    np.testing.assert_array_equal(lin.bias.data, np.zeros(3))


def test_modules_state_dict_returns_copies():
    lin = nn.Linear(2, 3, random_state=0)
    before = lin.weight.data.copy()
    lin.state_dict()["weight"][...] = 99.0
    np.testing.assert_array_equal(lin.weight.data, before)


def test_modules_load_state_dict_copies_its_source():
    lin = nn.Linear(2, 3, random_state=0)
    state = {"weight": np.ones((2, 3)), "bias": np.zeros(3)}
    lin.load_state_dict(state)
    state["weight"][...] = 5.0
    np.testing.assert_array_equal(lin.weight.data, np.ones((2, 3)))


@pytest.mark.parametrize("args, pattern", [((2.5, 3), r"2\.5"), ((-1, 3), r"-1"),
                                           (("2", 3), r"'2'|\bstr\b"), ((2, None), r"None")],
                         ids=["float", "negative", "str", "None"])
def test_modules_linear_refuses_bad_sizes(args, pattern):
    raises((tg.ShapeError, tg.DTypeError, ArgumentError), lambda: nn.Linear(*args), r"Linear",
           pattern)


def test_modules_linear_on_strings():
    raises(tg.DTypeError, lambda: nn.Linear(2, 3, random_state=0)(["a", "b"]), r"Linear|Tensor")


def test_modules_sequential_refuses_non_modules():
    raises(TypeError, lambda: nn.Sequential(nn.Linear(2, 2), "relu"), r"Sequential", r"str")

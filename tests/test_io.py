"""tg.save / tg.load: state dicts as .npz files that never run code when loaded."""
import io
import os
import pickle
import zipfile

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu.autograd import ShapeError
from tinygrad_edu.io import SerializationError, UnsafeFileError

nn = tg.nn


def mlp(seed):
    return nn.Sequential(nn.Linear(3, 5, random_state=seed), nn.Tanh(),
                         nn.Linear(5, 2, random_state=seed + 100))


# ------------------------------------------------------------------------ round trips
def test_round_trip_of_a_sequential_restores_names_order_values_and_outputs(tmp_path):
    model = mlp(0)
    model[0].bias.data[:] = np.arange(5.0)  # non-zero biases, so they are really checked
    path = tmp_path / "model.npz"
    tg.save(model.state_dict(), path)

    state = tg.load(path)
    assert list(state) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    for name, p in model.named_parameters():
        assert state[name].dtype == p.dtype and state[name].shape == p.shape
        np.testing.assert_array_equal(state[name], p.data)

    other = mlp(7)  # different initial weights
    x = tg.Tensor(np.random.default_rng(1).standard_normal((4, 3)))
    assert not np.allclose(other(x).data, model(x).data)
    other.load_state_dict(state)
    np.testing.assert_array_equal(other(x).data, model(x).data)


def test_round_trip_of_a_linear_keeps_float32(tmp_path):
    layer = nn.Linear(4, 3, random_state=2, dtype=np.float32)
    tg.save(layer.state_dict(), tmp_path / "linear.npz")
    state = tg.load(tmp_path / "linear.npz")
    assert list(state) == ["weight", "bias"]
    assert state["weight"].dtype == np.float32
    np.testing.assert_array_equal(state["weight"], layer.weight.data)


def test_file_is_a_plain_npz_that_numpy_reads(tmp_path):
    state = {"a": np.arange(6.0).reshape(2, 3), "b": np.array(3, dtype=np.int64)}
    tg.save(state, tmp_path / "s.npz")
    with np.load(tmp_path / "s.npz", allow_pickle=False) as npz:
        assert sorted(npz.files) == ["a", "b"]
        np.testing.assert_array_equal(npz["a"], state["a"])
        assert npz["b"].shape == () and npz["b"] == 3


def test_load_reads_files_written_by_np_savez(tmp_path):
    np.savez(tmp_path / "np.npz", weight=np.eye(2), bias=np.ones(2))
    state = tg.load(tmp_path / "np.npz")
    np.testing.assert_array_equal(state["weight"], np.eye(2))
    np.testing.assert_array_equal(state["bias"], np.ones(2))


def test_names_that_are_numpy_savez_keywords_survive(tmp_path):
    state = {"file": np.zeros(1), "allow_pickle": np.ones(1), "a/b.c": np.full(2, 7.0)}
    tg.save(state, tmp_path / "k.npz")
    loaded = tg.load(tmp_path / "k.npz")
    assert list(loaded) == list(state)
    for k, value in state.items():
        np.testing.assert_array_equal(loaded[k], value)


def test_save_and_load_with_file_objects():
    buf = io.BytesIO()
    tg.save({"w": np.arange(3.0)}, buf)
    buf.seek(0)
    np.testing.assert_array_equal(tg.load(buf)["w"], np.arange(3.0))


def test_tensors_are_stored_as_their_arrays(tmp_path):
    t = tg.Tensor([1.0, 2.0], requires_grad=True)
    tg.save({"t": t}, tmp_path / "t.npz")
    loaded = tg.load(tmp_path / "t.npz")["t"]
    assert isinstance(loaded, np.ndarray)
    np.testing.assert_array_equal(loaded, [1.0, 2.0])


# ----------------------------------------------------------------- errors on save
@pytest.mark.parametrize("value, words", [
    ([1.0, 2.0], "list"),
    (3.5, "float"),
    ("weights", "str"),
    (np.array([object(), 1], dtype=object), "object"),
    (np.zeros(2, dtype=[("a", "f8"), ("b", "O")]), "object"),
])
def test_save_refuses_values_that_are_not_numeric_arrays(tmp_path, value, words):
    path = tmp_path / "bad.npz"
    with pytest.raises(SerializationError, match=words) as info:
        tg.save({"good": np.zeros(2), "bad": value}, path)
    assert "'bad'" in str(info.value)  # names the offending entry
    assert isinstance(info.value, ValueError)
    assert not path.exists()  # nothing half-written


def test_save_refuses_non_mappings_and_non_string_keys(tmp_path):
    with pytest.raises(SerializationError, match="mapping"):
        tg.save([np.zeros(2)], tmp_path / "a.npz")
    with pytest.raises(SerializationError, match="string"):
        tg.save({1: np.zeros(2)}, tmp_path / "b.npz")


# --------------------------------------------------------- load_state_dict mismatches
def test_load_state_dict_lists_every_mismatch():
    model = mlp(0)
    state = model.state_dict()
    state["0.weight"] = np.zeros((4, 5))   # wrong shape
    state["2.bias"] = np.zeros(3)          # wrong shape
    del state["0.bias"]                     # missing
    state["extra.weight"] = np.zeros(1)     # unexpected
    before = {n: p.data.copy() for n, p in model.named_parameters()}
    with pytest.raises(ShapeError) as info:
        model.load_state_dict(state)
    msg = str(info.value)
    for words in ["0.bias", "extra.weight", "0.weight", "(3, 5)", "(4, 5)", "2.bias", "(2,)",
                  "(3,)", "missing", "unexpected"]:
        assert words in msg, (words, msg)
    assert isinstance(info.value, ValueError)
    for n, p in model.named_parameters():  # a refused load changes nothing
        np.testing.assert_array_equal(p.data, before[n])


def test_load_state_dict_from_a_file_for_another_architecture_fails_clearly(tmp_path):
    tg.save(mlp(0).state_dict(), tmp_path / "m.npz")
    other = nn.Sequential(nn.Linear(3, 6), nn.Tanh(), nn.Linear(6, 2))
    with pytest.raises(ShapeError, match=r"0\.weight: expected \(3, 6\), got \(3, 5\)"):
        other.load_state_dict(tg.load(tmp_path / "m.npz"))


# ------------------------------------------------------------- malicious files
class _RunsShell:
    """Unpickling this calls os.system: the classic pickle exploit."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch '{self.marker}'",)


class _WritesFile:
    """Unpickling this calls open(marker, 'w'), which creates the file."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return open, (str(self.marker), "w")


PAYLOADS = [_RunsShell, _WritesFile]


def write_evil_npz(path, payload):
    """An .npz with one honest array and one object array whose unpickling runs code."""
    np.savez(path, weight=np.ones((2, 2)), evil=np.array([payload], dtype=object))


@pytest.mark.parametrize("payload_cls", PAYLOADS)
def test_the_crafted_file_really_runs_code_when_unpickled(tmp_path, payload_cls):
    # The control: the payload is live, so refusing it in the next test means something.
    marker = tmp_path / "control_marker"
    write_evil_npz(tmp_path / "evil.npz", payload_cls(marker))
    with np.load(tmp_path / "evil.npz", allow_pickle=True) as npz:
        npz["evil"]
    assert marker.exists()


@pytest.mark.parametrize("payload_cls", PAYLOADS)
def test_object_array_inside_npz_is_refused_and_never_unpickled(tmp_path, payload_cls):
    marker = tmp_path / "marker"
    path = tmp_path / "evil.npz"
    write_evil_npz(path, payload_cls(marker))
    with pytest.raises(UnsafeFileError, match="'evil'.*(pickle|Python objects)") as info:
        tg.load(path)
    assert "refused" in str(info.value)
    assert isinstance(info.value, SerializationError) and isinstance(info.value, ValueError)
    assert not marker.exists()


@pytest.mark.parametrize("payload_cls", PAYLOADS)
def test_a_pickle_file_is_refused(tmp_path, payload_cls):
    marker = tmp_path / "marker"
    path = tmp_path / "model.npz"  # the name lies: the content is a pickle
    with open(path, "wb") as f:
        pickle.dump({"weight": payload_cls(marker)}, f)
    with pytest.raises(UnsafeFileError, match="pickle"):
        tg.load(path)
    assert not marker.exists()


def test_raw_pickle_bytes_as_an_npz_member_are_refused(tmp_path):
    marker = tmp_path / "marker"
    path = tmp_path / "evil.npz"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("weight.npy", pickle.dumps(_WritesFile(marker)))
    with pytest.raises(UnsafeFileError, match="'weight'.*not a numpy array"):
        tg.load(path)
    assert not marker.exists()


def test_files_that_are_not_state_dicts_give_serialization_errors(tmp_path):
    np.save(tmp_path / "one.npy", np.zeros(3))
    with pytest.raises(SerializationError, match=r"single array \(an \.npy file\)"):
        tg.load(tmp_path / "one.npy")
    with pytest.raises(FileNotFoundError):
        tg.load(tmp_path / "missing.npz")

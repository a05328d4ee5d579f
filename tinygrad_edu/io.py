"""Save and load state dicts (name -> numpy array) as ``.npz`` files, safely.

    >>> tg.save(model.state_dict(), "model.npz")
    >>> model.load_state_dict(tg.load("model.npz"))

The file is a plain numpy ``.npz`` archive (a zip of ``.npy`` arrays) that numpy,
or any other tool, can read. Loading never runs code: arrays are read with
``allow_pickle=False``, so a file that holds a pickled object (which could run
arbitrary code when unpickled) is refused with `UnsafeFileError` instead of being
loaded. Saving refuses values that could only be stored as pickles.
"""
from __future__ import annotations

import os
import tempfile
import zipfile
from collections import OrderedDict
from collections.abc import Mapping

import numpy as np

__all__ = ["SerializationError", "UnsafeFileError", "load", "save"]


class SerializationError(ValueError):
    """A state dict that cannot be saved, or a file that is not a saved state dict."""


class UnsafeFileError(SerializationError):
    """A file whose loading would unpickle Python objects (and so could run code)."""


def _as_array(name, value):
    """The numpy array to store for ``value`` (an ndarray, a numpy scalar or a Tensor)."""
    if not isinstance(name, str) or not name:
        raise SerializationError(f"save: every key must be a non-empty string, got {name!r}")
    data = getattr(value, "data", None)
    if isinstance(data, np.ndarray) and not isinstance(value, np.ndarray):  # a Tensor
        value = data
    if not isinstance(value, (np.ndarray, np.generic)):
        raise SerializationError(
            f"save: {name!r} is a {type(value).__name__}, not a numpy array; a state dict "
            "maps names to arrays (use Module.state_dict(), or np.asarray the value)")
    arr = np.asarray(value)
    if arr.dtype.hasobject:
        raise SerializationError(
            f"save: {name!r} has dtype {arr.dtype}, which holds Python objects; it could only "
            "be stored as a pickle, which load() refuses. Convert it to a numeric dtype")
    return arr


def save(state, path):
    """Write ``state`` (a mapping name -> numpy array, e.g. ``Module.state_dict()``) to ``path``.

    ``path`` is a file name (written exactly as given; ``.npz`` is the usual suffix)
    or a binary file object. Tensors are stored as their arrays; values that are not
    arrays, and arrays of Python objects, raise `SerializationError` before anything
    is written. The archive keeps the order of ``state``. A file name is written through a
    temporary file of its own in the same folder, then put in place in one atomic step:
    a crash, or another thread saving to the same path, never leaves a broken file.
    """
    if not isinstance(state, Mapping):
        raise SerializationError(f"save: expected a mapping name -> array (a state dict), "
                                 f"got {type(state).__name__}")
    arrays = [(name, _as_array(name, value)) for name, value in state.items()]
    names = {name for name, _ in arrays}
    for name in names:
        if name.endswith(".npy") and name[:-4] in names:
            raise SerializationError(
                f"save: keys {name!r} and {name[:-4]!r} would be one entry to numpy's np.load "
                "(it drops a trailing '.npy' from member names); rename one of them")
    if hasattr(path, "write"):
        _write(path, arrays)
        return path
    path = os.fspath(path)
    folder, base = os.path.split(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{base}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            _write(f, arrays)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def _write(file, arrays):
    with zipfile.ZipFile(file, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for name, arr in arrays:
            with zf.open(name + ".npy", mode="w", force_zip64=True) as member:
                np.lib.format.write_array(member, arr, allow_pickle=False)


_PICKLE = b"\x80"          # the first byte of a pickle (protocol 2 and later)
_NPY = b"\x93NUMPY"


def load(path):
    """Read a state dict written by `save` (or by ``np.savez``): an ordered name -> array dict.

    Never unpickles: an entry holding Python objects, or a file that is a pickle,
    raises `UnsafeFileError`; anything else that is not an ``.npz`` of arrays raises
    `SerializationError` (a corrupted entry, or one whose header declares more data than
    the file holds, is refused before anything is allocated).
    """
    label = getattr(path, "name", None) if hasattr(path, "read") else os.fspath(path)
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, EOFError, OSError) as e:
        if isinstance(e, FileNotFoundError):
            raise
        head = _head(path)
        if head.startswith(_PICKLE):
            raise UnsafeFileError(
                f"load: {label!r} is not an .npz archive of arrays: it is a pickle, and "
                "unpickling could run arbitrary code, so it is refused") from None
        if head.startswith(_NPY):
            raise SerializationError(f"load: {label!r} holds a single array (an .npy file), "
                                     "not an .npz state dict; write state dicts with tg.save") \
                from None
        raise SerializationError(f"load: cannot read {label!r} as an .npz archive ({e})") from None
    state = OrderedDict()
    with zf:
        for info in zf.infolist():
            name = info.filename.removesuffix(".npy")
            try:
                state[name] = _read_entry(zf, info, name, label)
            except (zipfile.BadZipFile, EOFError, OSError, ValueError) as e:
                if isinstance(e, SerializationError):
                    raise
                raise SerializationError(f"load: entry {name!r} of {label!r} cannot be read "
                                         f"({e})") from None
    return state


def _head(path):
    """The first bytes of a file name or a seekable file object ('' if unreadable)."""
    try:
        if hasattr(path, "read"):
            path.seek(0)
            return path.read(8)
        with open(path, "rb") as f:
            return f.read(8)
    except OSError:
        return b""


def _read_entry(zf, info, name, label):
    """One ``.npy`` member: its header checked against the bytes stored, then the array."""
    with zf.open(info) as f:
        magic = f.read(8)
        if not magic.startswith(_NPY) or len(magic) < 8:
            raise UnsafeFileError(
                f"load: entry {name!r} of {label!r} is not a numpy array (raw bytes of "
                "unknown format, e.g. a pickle); the file is refused")
        version = (magic[6], magic[7])
        read_header = {(1, 0): np.lib.format.read_array_header_1_0,
                       (2, 0): np.lib.format.read_array_header_2_0}.get(version)
        if read_header is None:
            raise SerializationError(f"load: entry {name!r} of {label!r} has .npy format "
                                     f"version {version}, which is not supported")
        shape, fortran, dtype = read_header(f)
        if dtype.hasobject:
            raise UnsafeFileError(
                f"load: entry {name!r} of {label!r} is an array of Python objects, stored "
                "as a pickle; unpickling it could run arbitrary code, so the file is refused")
        count = 1
        for s in shape:
            count *= int(s)
        need, have = count * dtype.itemsize, info.file_size - f.tell()
        if need != have:
            raise SerializationError(
                f"load: entry {name!r} of {label!r} declares shape {shape} of {dtype} "
                f"({need:,} bytes) but holds {have:,} bytes: the file is damaged")
        data = f.read(need)  # (the zip's CRC is checked as the last byte is read)
    return np.frombuffer(data, dtype=dtype).reshape(shape, order="F" if fortran else "C").copy()

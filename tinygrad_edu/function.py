"""Function: the base class of every op, and the node it leaves in the graph.

An op is a small class with two static methods, ``forward`` (numpy arrays in, an array
out) and ``backward`` (the upstream gradient in, one gradient per input out). Calling
``Op.apply(*args)`` runs forward and, when some input requires a gradient, keeps the
``ctx`` object as the graph node of the result: it holds the inputs (``parents``) and
what forward saved. Only back-pointers exist (output -> node -> parents), so a dropped
graph is freed by reference counting at once. Built-in ops and users' ops subclass
exactly this class.
"""
from __future__ import annotations

import inspect
import itertools
import threading
import weakref

import numpy as np

from . import modes
from .errors import DTypeError, GradientError, ShapeError
from .modes import departures, mutations, state
from .tensor import Tensor

_new = object.__new__
_NO = object()  # an input of apply that was not given
_next_seq = itertools.count().__next__  # numbers the recorded nodes in order of creation


class Function:
    """Base class of every op, built-in or user-defined.

    Subclass and write two static methods::

        class Square(tg.Function):
            '''y = x**2;  dx = g * 2x'''
            @staticmethod
            def forward(ctx, x):            # numpy arrays in, numpy array out
                ctx.save_for_backward(x)
                return x * x
            @staticmethod
            def backward(ctx, g):           # Tensors in, one gradient per input out
                x, = ctx.saved_tensors      # saved inputs come back as the input Tensors
                return g * 2 * x

        y = Square.apply(t)

    Positional Tensor arguments are the inputs (parents); any other argument is
    passed to forward unchanged and gets ``None`` as its gradient. Backward is
    written with Tensor operations, so a gradient can itself be differentiated
    (``backward(create_graph=True)``). Arrays saved with ``save_for_backward``
    come back from ``ctx.saved_tensors`` as the input Tensor they are the data of,
    as the output Tensor if they are the output, else as constants.
    """

    # Slots keep a node small (a chain of a million ops is a million nodes); ops that
    # store more on ctx (masks, axes) get a __dict__ only when they do.
    __slots__ = (
        "__dict__",
        "__weakref__",
        "_out",
        "_p0",
        "_p1",
        "_locks",
        "_saved",
        "_seq",
        "_stamp",
        "needs_input_grad",
    )
    _site = ""         # where the op was created (set in anomaly mode only)

    #: True when backward is plain arithmetic that reads the same on numpy arrays as on
    #: Tensors (``g * (1.0 - y * y)``). A first-order backward (no ``create_graph``) then
    #: runs it on the arrays themselves: no wrapper, no node per operation. With
    #: ``create_graph=True`` it runs on Tensors, so that the gradient has a graph.
    array_backward = False

    #: Optionally a faster first-order backward: a function ``(ctx, g) -> gradients`` on
    #: numpy arrays (see kernels.py), used instead of ``backward`` when ``array_backward``
    #: is set and no graph of the gradient is wanted. It must give the same numbers as
    #: ``backward`` (tests/test_kernels.py checks every built-in one).
    backward_array = None

    def __init_subclass__(cls, **kwargs):
        """``forward`` and ``backward`` written as plain functions (``def backward(ctx, g)``
        without ``@staticmethod``, as many write them) are taken as static methods: the
        engine always passes ``ctx`` itself."""
        super().__init_subclass__(**kwargs)
        for name in ("forward", "backward"):
            fn = cls.__dict__.get(name)
            if inspect.isfunction(fn):
                setattr(cls, name, staticmethod(fn))

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError

    @staticmethod
    def backward(ctx, grad):
        raise NotImplementedError

    # ---- the node's public face
    @property
    def parents(self):
        """The positional arguments of ``apply``: the input Tensors and any constants."""
        p1 = self._p1
        if p1 is _ONE:
            return (self._p0,)
        return self._p0 if p1 is _MANY else (self._p0, p1)

    def save_for_backward(self, *values):
        self._saved = values

    @property
    def saved_tensors(self):
        """What forward saved: input arrays come back as the input Tensors, the output
        array as the output Tensor (so a gradient can be differentiated again), other
        arrays as constant Tensors, anything else unchanged."""
        if self._saved is None:
            raise GradientError(f"{type(self).__name__}.backward reads saved_tensors, "
                                "but forward never called ctx.save_for_backward")
        out = self._out
        if out is _ARRAYS:  # an array backward: the saved arrays themselves
            return self._saved
        parents = self.parents
        result = []
        for v in self._saved:
            if isinstance(v, (np.ndarray, np.generic)):
                for p in parents:
                    if isinstance(p, Tensor) and p._data is v:
                        v = p
                        break
                else:
                    v = out if out is not None and out._data is v else Tensor._make(np.asarray(v))
            result.append(v)
        return tuple(result)

    def vjp(self, out, g, arrays=False):
        """The vector-Jacobian product of this node: for the upstream gradient
        ``g`` = dL/d``out``, one gradient per input (dL/d input, or None).

        ``g`` is a Tensor and so is each gradient (of the output's broadcast shape: the
        walk sums it down to the input's shape). Under ``no_grad`` nothing is recorded;
        with gradient recording on, the gradients carry their own graph. (The walks call
        it inside ``modes.backward_mode``.)

        With ``arrays`` (a first-order pass of the fast engine), ``g`` is a numpy array
        (or, for a 0-d output, possibly a numpy scalar, never to be written into): an op
        with ``array_backward`` computes on it directly, any other op gets a Tensor as
        usual, and the gradients come back as they are (the walk makes them arrays).
        """
        raw = arrays and self.array_backward
        if arrays and not raw:
            g = _wrap(g)
        if self._saved is not None:
            if mutations.count != self._stamp:  # something was updated in place since
                self._check_versions(out)
            self._out = _ARRAYS if raw else out
        backward = (self.backward_array or self.backward) if raw else self.backward
        try:
            grads = backward(self, g)
        finally:
            self._out = None  # no cycle output -> node -> output after the call
        if grads.__class__ is not tuple:
            grads = tuple(grads) if isinstance(grads, list) else (grads,)
        if len(grads) != len(self.needs_input_grad):  # (one flag per input)
            raise GradientError(f"{type(self).__name__}.backward returned {len(grads)} "
                                f"gradient(s) for {len(self.parents)} input(s)")
        if not arrays:
            grads = tuple(gp if gp is None or isinstance(gp, Tensor) else _wrap(gp)
                          for gp in grads)
        return grads

    def _check_versions(self, out):
        """Refuse to run backward with saved values that were modified in place since."""
        stamp = self._stamp
        for i, a in enumerate(self.parents + (out,)):
            if (isinstance(a, Tensor) and a._vc is not None and a._vc[1] > stamp
                    and any(a._data is s for s in self._saved)):
                what = "its output" if a is out else f"input {i}"
                raise GradientError(
                    f"{type(self).__name__}: {what} (shape {a.shape}) was modified in place "
                    f"after the op saved it for backward (it is now at version {a._version}); "
                    "its gradient would be wrong. Use an out-of-place operation instead.")

    # ------------------------------------------------------------------ the hot path
    # apply runs once per op: W1 (200 ops on 4x4 arrays) and W4 (a million-op chain)
    # measure little else. One and two inputs without options, nearly every op, are
    # spelled out: named parameters instead of *args and **kwargs (no tuple and dict to
    # pack and unpack: 0.75x the time of the generic call on W1's 4x4 operands), forward
    # called with its arrays directly. The inputs of one- and two-input nodes sit in the
    # slots _p0, _p1 rather than in a tuple: one object less per op for the cyclic
    # garbage collector to walk again and again while a long graph grows (a third less
    # forward time on W4); _p1 is then _ONE or _MANY for one or more inputs.
    # needs_input_grad of one and two inputs is a shared tuple: no new object per op.
    @classmethod
    def apply(cls, a=_NO, b=_NO, /, *more, **kwargs):
        """Run forward on the inputs' arrays; record the node if any input needs a gradient."""
        ctx = _new(cls)
        ctx._saved = None
        if more or kwargs or a is _NO:  # options, or other than one or two inputs
            args = (() if a is _NO else (a,) if b is _NO else (a, b)) + more
            n = len(args)
            arrays = [x._data if isinstance(x, Tensor) else x for x in args]
            if n == 2:
                a, b = args
            try:
                out = cls.forward(ctx, *arrays, **kwargs)
            except (ValueError, TypeError) as e:
                _forward_failed(cls, e, arrays)
        elif b is _NO:
            n = 1
            x = a._data if isinstance(a, Tensor) else a
            try:
                out = cls.forward(ctx, x)
            except (ValueError, TypeError) as e:
                _forward_failed(cls, e, (x,))
        else:
            n = 2
            x = a._data if isinstance(a, Tensor) else a
            y = b._data if isinstance(b, Tensor) else b
            try:
                out = cls.forward(ctx, x, y)
            except (ValueError, TypeError) as e:
                _forward_failed(cls, e, (x, y))
        if out.__class__ is not np.ndarray:
            out = ctx._as_array(out)
        result = _new(Tensor)
        result._data = out
        if departures.count:  # some thread left the default modes: read this thread's
            anomaly, recording = state.anomaly, state.grad_enabled
        else:
            anomaly, recording = False, True
        if anomaly:
            ctx._site = modes.creation_site()
            modes.check_finite(out, "forward", ctx)
        if recording:
            if n == 2:
                needs = _NEEDS2[isinstance(a, Tensor) and a.requires_grad][
                    isinstance(b, Tensor) and b.requires_grad]
            elif n == 1:
                needs = _NEEDS1[isinstance(a, Tensor) and a.requires_grad]
            else:
                needs = tuple([isinstance(x, Tensor) and x.requires_grad for x in args])
            if True in needs:  # record the node
                if n == 2:
                    ctx._p0, ctx._p1 = a, b
                else:
                    ctx._p0, ctx._p1 = (a, _ONE) if n == 1 else (args, _MANY)
                ctx.needs_input_grad = needs
                ctx._seq = _next_seq()  # (the fast engine's order)
                ctx._out = None  # the output Tensor, set only while backward runs
                if ctx._saved is not None:
                    ctx._stamp = mutations.count  # in-place updates after this: check them
                    # saved arrays of leaves and numpy constants: read-only while this lives
                    if n == 2:
                        if (b.__class__ is Tensor and b._ctx is None and a.__class__ is Tensor
                                and a._ctx is not None):  # (x @ W, y * w: W1, W2, W3)
                            ref = _LOCKS.get(id(b._data))  # the weight's live lock, if any
                            lock = ref() if ref is not None else None
                            if lock is not None and any_is(b._data, ctx._saved):
                                ctx._locks = lock
                            else:
                                _protect(ctx, (a, b))
                        elif (a.__class__ is np.ndarray or b.__class__ is np.ndarray
                                or (isinstance(a, Tensor) and a._ctx is None)
                                or (isinstance(b, Tensor) and b._ctx is None)):
                            _protect(ctx, (a, b))
                    elif n != 1:
                        _protect(ctx, args)
                    elif not isinstance(a, Tensor) or a._ctx is None:
                        _protect(ctx, (a,))
                result.requires_grad = True
                result._ctx = ctx
                return result
        result.requires_grad = False
        result._ctx = None
        return result

    def _as_array(self, out):
        """numpy returns scalars for 0-d results: make them arrays (also in what was saved)."""
        scalar, out = out, np.asarray(out)
        saved = self._saved
        if saved is not None:
            for v in saved:
                if v is scalar:  # (Exp and others save their output)
                    self._saved = tuple([out if v is scalar else v for v in saved])
                    break
        return out


def _forward_failed(cls, e, arrays):
    """Raise the error of a forward that numpy refused, naming the op and its inputs."""
    if isinstance(e, ValueError):
        if isinstance(e, ShapeError):
            raise e
        shapes = ", ".join(str(np.shape(a)) for a in arrays)
        raise ShapeError(f"{cls.__name__}: inputs of shapes {shapes} do not fit: {e}") from None
    # (numpy's words for a dtype an op cannot use, or a bad argument)
    dtypes = ", ".join(str(getattr(a, "dtype", type(a).__name__)) for a in arrays)
    raise DTypeError(f"{cls.__name__}: cannot compute on inputs of dtypes {dtypes} "
                     f"({e}); floating tensors are what ops compute on") from e


# ---------------------------------------------------------- saved arrays are read-only
# A node that saved the array of a leaf (an input, a parameter) or a numpy constant holds
# a lock on it, one object shared by every node that saved that array: while any of them
# lives, the array is read-only, so a write through .data, .numpy(), np.asarray(t) or
# detach() fails at once instead of silently changing the gradient (the Tensor in-place
# API, used under no_grad by the optimizers, writes on and bumps the version, which a
# stale backward refuses). When the last node holding the lock is freed, a weakref
# callback makes the array writeable again. Interior results are reachable only through
# their Tensors, whose in-place API checks versions.
class _Lock:
    __slots__ = ("__weakref__", "vc")  # vc: the version counter of the tensor that owns it


class _LockRef(weakref.ref):
    """_LOCKS' weak reference to a live lock, with the array it holds read-only."""
    __slots__ = ("arr", "key")


def _unlock(ref):
    """The lock is gone (its last node was freed): the array is writeable again, unless
    another thread has locked it anew meanwhile (hence the guard)."""
    with _LOCKS_GUARD:
        if _LOCKS.get(ref.key) is ref:
            del _LOCKS[ref.key]
            try:
                ref.arr.flags.writeable = True
            except ValueError:  # (a view of a read-only base)
                pass


_LOCKS = {}  # id(array) -> _LockRef to the array's live lock
_LOCKS_GUARD = threading.RLock()  # (re-entrant: a lock freed by gc inside _lock_of)


def _lock_of(arr, owner=None):
    """The live lock of ``arr``, made (and the array set read-only) if there is none; None
    for an array that was read-only already (nothing to protect, nothing to undo)."""
    ref = _LOCKS.get(id(arr))
    lock = None if ref is None else ref()
    if lock is not None:
        return lock
    with _LOCKS_GUARD:
        ref = _LOCKS.get(id(arr))
        lock = None if ref is None else ref()
        if lock is None:
            if not arr.flags.writeable:
                return None
            lock = _Lock()
            if owner is not None and owner._vc is None:
                owner._vc = [0, 0]
            lock.vc = None if owner is None else owner._vc
            ref = _LockRef(lock, _unlock)
            ref.arr, ref.key = arr, id(arr)
            _LOCKS[ref.key] = ref
            arr.flags.writeable = False
    return lock


def is_locked(arr):
    """True while a live graph holds ``arr`` itself read-only (it saved it for backward)."""
    ref = _LOCKS.get(id(arr))
    return ref is not None and ref() is not None


def lock_on(arr):
    """The live lock on ``arr`` or on an array it is a view of, or None."""
    while isinstance(arr, np.ndarray):
        ref = _LOCKS.get(id(arr))
        lock = None if ref is None else ref()
        if lock is not None:
            return lock
        arr = arr.base
    return None


def any_is(x, values):
    """x is one of values (by identity: arrays compare elementwise)."""
    for v in values:
        if v is x:
            return True
    return False


def _protect(ctx, args):
    """Lock the arrays of leaves and numpy constants among ctx's inputs that it saved.

    (Hot path: a leaf is saved by every product with a weight; written out, no generator.)
    """
    saved, locks = ctx._saved, None
    for x in args:
        cls = x.__class__
        if cls is Tensor or (cls is not np.ndarray and isinstance(x, Tensor)):
            if x._ctx is not None:
                continue
            arr, owner = x._data, x
        elif cls is np.ndarray:
            arr, owner = x, None
        else:
            continue
        for s in saved:
            if s is arr:
                break
        else:
            continue
        ref = _LOCKS.get(id(arr))
        lock = ref() if ref is not None else None
        if lock is None:
            lock = _lock_of(arr, owner)
            if lock is None:
                continue
        locks = lock if locks is None else (locks, lock)
    if locks is not None:
        ctx._locks = locks


_ARRAYS = object()  # _out of a node whose backward runs on numpy arrays right now
_ONE, _MANY = object(), object()  # _p1 of a node with one input, or with more than two
_NEEDS1 = ((False,), (True,))  # needs_input_grad, indexed by the flags
_NEEDS2 = (((False, False), (False, True)), ((True, False), (True, True)))


def _wrap(g):
    """A gradient given as an array, a numpy scalar or a number, as a Tensor."""
    return Tensor._make(g if g.__class__ is np.ndarray else np.asarray(g))

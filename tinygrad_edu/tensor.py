"""Tensor: a numpy array that remembers how it was computed.

Its operators call the ops of ops.py (each a `Function`, function.py); ``backward()``
calls the engine (engine.py). Those modules build Tensors in turn: the one import
cycle of the package, closed at the bottom of this file.
"""
from __future__ import annotations

import numbers

import numpy as np

from .errors import DTypeError, GradientError, ShapeError
from .modes import mutations, state

_NUMERIC = "biuf"  # the dtype kinds a Tensor holds: booleans, integers, floats


def _operand(x, op):
    """A Tensor, a real Python scalar (keeps the other operand's dtype) or a numeric numpy
    array; anything else (None, strings, complex, objects, ints beyond float) is refused
    with a DTypeError naming ``op``."""
    cls = x.__class__
    if cls is float or cls is Tensor:
        return x
    if cls is np.ndarray:
        if x.dtype.kind in _NUMERIC:
            return x
    elif cls is int:
        if -2**63 <= x < 2**63:
            return x
        return _big_int(x, op)
    elif isinstance(x, Tensor):
        return x
    elif isinstance(x, np.generic):
        if x.dtype.kind in _NUMERIC:
            return x.item()
    elif isinstance(x, numbers.Real):
        return _big_int(x, op) if isinstance(x, int) and not -2**63 <= x < 2**63 else x
    elif not isinstance(x, (str, bytes, numbers.Number)) and x is not None:
        arr = np.asarray(x)
        if arr.dtype.kind in _NUMERIC:
            return arr.astype(np.float64, copy=False)
        x = arr
    raise DTypeError(f"{op}: cannot use {_describe(x)} as an operand "
                     "(only real numbers, numeric arrays and Tensors)")


def _big_int(x, op):
    try:
        return float(x)
    except OverflowError:
        raise DTypeError(f"{op}: the integer {_describe(x)} is too large for a float "
                         "(beyond 1.8e308)") from None


def _describe(x):
    """A short description of a refused value: None, 'abc', (1+2j), array of dtype <U1."""
    if isinstance(x, np.ndarray):
        return f"an array of dtype {x.dtype}" + (f" ({x.flat[0]!r}, ...)" if x.size else "")
    text = repr(x)
    text = text if len(text) <= 40 else text[:37] + "..."
    return text if x is None or isinstance(x, (str, bytes, numbers.Number)) else \
        f"a {type(x).__name__} {text}"


def as_numeric(data, what, dtype=None):
    """``data`` as a new numpy array of numbers (float64 unless ``dtype``): None, strings,
    complex numbers and Python objects are refused, with a DTypeError naming ``what``."""
    if isinstance(data, Tensor):
        data = data.data
    try:
        arr = np.array(data)
    except (TypeError, ValueError, OverflowError) as e:
        raise DTypeError(f"{what}: cannot convert {type(data).__name__} to a numeric array "
                         f"({e})") from None
    if arr.dtype.kind not in _NUMERIC:
        kind = {"c": "complex numbers (complex tensors are not supported: take .real or abs "
                     "first)",
                "U": "strings", "S": "bytes", "O": "Python objects (None, or ints beyond "
                                                  "int64)"}.get(arr.dtype.kind, str(arr.dtype))
        raise DTypeError(f"{what}: got {_describe(data if not isinstance(data, np.ndarray) else arr)}"
                         f", which holds {kind}; a Tensor holds real numbers")
    if dtype is not None:
        dtype = np.dtype(dtype)
        if dtype.kind not in _NUMERIC:
            raise DTypeError(f"{what}: dtype {dtype} is not numeric")
        return arr.astype(dtype, copy=False)
    return arr if arr.dtype.kind == "f" else arr.astype(np.float64)


def _data(x):
    return x.data if isinstance(x, Tensor) else x


class Tensor:
    """An n-dimensional array with automatic differentiation.

    ``Tensor(data, requires_grad=False, dtype=None)`` copies ``data`` into a numpy
    array: Python numbers, lists, integer and boolean arrays become float64;
    floating arrays keep their precision; ``dtype=`` chooses explicitly (integer
    tensors are allowed for labels, but cannot require a gradient).

    Every operation on Tensors that require a gradient records a node in a graph;
    ``loss.backward()`` fills ``.grad`` of the leaves with d(loss)/d(leaf).
    """

    __array_ufunc__ = None  # numpy on the left defers to Tensor: ndarray * Tensor -> Tensor
    __hash__ = object.__hash__  # == returns a Tensor; identity stays the hash

    # Every tensor has these three; the rest live in a __dict__ made only when one is set
    # (most interior tensors never need it), with the class attributes as defaults.
    __slots__ = ("__dict__", "__weakref__", "_ctx", "data", "requires_grad")
    _grad = None
    _vc = None        # [in-place updates, stamp of the last], shared with detached views
    _hooks = ()
    _retain = False

    def __init__(self, data, requires_grad=False, dtype=None):
        self.data = as_numeric(data, "Tensor", dtype)
        self._ctx = None  # the Function node that produced this tensor (None for leaves)
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_()

    @property
    def _version(self):
        """How many in-place updates this tensor's array has seen (0 for most tensors)."""
        vc = self._vc
        return 0 if vc is None else vc[0]

    @_version.setter
    def _version(self, value):
        if self._vc is None:
            self._vc = [0, 0]
        self._vc[0], self._vc[1] = value, mutations.bump()  # the count, and when

    @classmethod
    def _make(cls, arr):
        """Wrap an array without copying or converting (the ops' fast path)."""
        t = object.__new__(cls)
        t.data = arr
        t._ctx = None
        t.requires_grad = False
        return t

    # ------------------------------------------------------------------ attributes
    shape = property(lambda self: self.data.shape, doc="The shape, a tuple of ints.")
    ndim = property(lambda self: self.data.ndim)
    size = property(lambda self: self.data.size)
    dtype = property(lambda self: self.data.dtype)
    T = property(lambda self: self.transpose(), doc="All axes reversed.")
    mT = property(lambda self: self.transpose(*range(self.ndim - 2), -1, -2),
                  doc="The last two axes swapped (a batch of transposed matrices).")
    is_leaf = property(lambda self: self._ctx is None)
    grad_fn = property(lambda self: self._ctx, doc="The node that made this tensor.")
    retains_grad = property(lambda self: self._retain,
                            doc="True when retain_grad() asked backward to keep this gradient.")
    hooks = property(lambda self: tuple(self._hooks),
                     doc="The gradient hooks registered with register_hook, in order.")

    def item(self):
        return self.data.item()

    def numpy(self):
        return self.data

    def tolist(self):
        return self.data.tolist()

    def __array__(self, dtype=None, copy=None):
        if copy:
            return self.data.astype(dtype or self.dtype, copy=True)
        return self.data if dtype is None else self.data.astype(dtype)

    def __len__(self):
        return len(self.data)

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __bool__(self):
        return bool(self.data)

    def __float__(self):
        return float(self.data)

    def __repr__(self):
        body = np.array2string(self.data, separator=", ", prefix="Tensor(", precision=4)
        extra = ""
        if self.dtype != np.float64:
            extra += f", dtype={self.dtype}"
        if self._ctx is not None:
            extra += f", grad_fn={type(self._ctx).__name__}"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        return f"Tensor({body}{extra})"

    # ---------------------------------------------------------------- autograd API
    def backward(self, gradient=None, create_graph=False):
        """Accumulate d(self)/d(leaf) into ``.grad`` of every leaf that requires grad.

        ``gradient`` (dL/dself) is needed when self has more than one element.
        With ``create_graph=True`` the gradients are themselves differentiable.
        Calling backward again accumulates: the leaf gradients add up exactly.
        """
        engine.backward(self, gradient, create_graph)

    def detach(self):
        """The same data, cut from the graph (shares memory and the version counter)."""
        d = Tensor._make(self.data.view())  # its own array object: never mistaken for self
        if self._vc is None:
            self._vc = [0, 0]
        d._vc = self._vc
        return d

    def requires_grad_(self, flag=True):
        """Mark this leaf as a parameter to differentiate (only floating dtypes)."""
        if flag and self.data.dtype.kind != "f":
            raise DTypeError(f"requires_grad: only floating tensors can require gradients, "
                             f"got dtype {self.data.dtype}")
        self.requires_grad = bool(flag)
        return self

    @property
    def grad(self):
        """d(loss)/d(self) after a backward (a Tensor of this tensor's shape), or None."""
        return self._grad

    @grad.setter
    def grad(self, value):
        if value is not None:
            if not isinstance(value, Tensor):
                value = Tensor(value, dtype=self.dtype)
            if value.shape != self.shape:
                raise ShapeError(f"grad: a gradient of shape {value.shape} for a tensor of "
                                 f"shape {self.shape}")
        self._grad = value

    def zero_grad(self):
        self._grad = None

    def retain_grad(self):
        """Keep this interior tensor's gradient in ``.grad`` after backward."""
        self._retain = True

    def register_hook(self, hook):
        """Call ``hook(grad)`` when this tensor's total gradient is known.

        The hook may return a replacement gradient (to clip it, say) or None.
        Returns a handle whose ``remove()`` unregisters the hook.
        """
        if not self.requires_grad:
            raise GradientError("register_hook: the tensor does not require grad")
        self._hooks = list(self._hooks) + [hook]
        return _HookHandle(self, hook)

    # ------------------------------------------------------------- in-place updates
    def _inplace(self, fn, other):
        if state.grad_enabled and isinstance(other, Tensor) and other.requires_grad:
            raise GradientError(
                f"in-place update with a value that requires grad (shape {other.shape}) would "
                "drop its graph: write acc = acc + x (or use tg.stack) instead")
        if state.grad_enabled and self.requires_grad:
            raise GradientError(
                f"in-place update of a tensor that requires grad (shape {self.shape}): "
                "its graph would be wrong. For a parameter update write it under "
                "tg.no_grad() (as optimizers do); to add up losses for a report, add "
                "loss.item(); otherwise use an out-of-place operation")
        with _writable(self.data):
            fn(self.data, _data(other), out=self.data, casting="same_kind")
        self._version += 1
        return self

    def add_(self, other):
        return self._inplace(np.add, other)

    def sub_(self, other):
        return self._inplace(np.subtract, other)

    def mul_(self, other):
        return self._inplace(np.multiply, other)

    def copy_(self, other):
        return self._inplace(lambda a, b, out, casting: np.copyto(out, b, casting=casting),
                             other)

    # t -= u and friends update t in place (numpy semantics; a parameter needs no_grad)
    __iadd__ = add_
    __isub__ = sub_
    __imul__ = mul_

    def zero_(self):
        return self.mul_(0.0)

    def __setitem__(self, idx, value):
        if state.grad_enabled and self.requires_grad:
            raise GradientError("item assignment into a tensor that requires grad would "
                                "break its graph; use tg.where or build a new tensor")
        if state.grad_enabled and isinstance(value, Tensor) and value.requires_grad:
            raise GradientError("item assignment of a value that requires grad would drop "
                                "its graph: build the tensor with tg.stack or tg.where")
        with _writable(self.data):
            self.data[_index(idx)] = _data(value)
        self._version += 1

    # -------------------------------------------------------------------- arithmetic
    def __add__(self, other): return ops.Add.apply(self, _operand(other, "Add"))
    def __radd__(self, other): return ops.Add.apply(_operand(other, "Add"), self)
    def __sub__(self, other): return ops.Sub.apply(self, _operand(other, "Sub"))
    def __rsub__(self, other): return ops.Sub.apply(_operand(other, "Sub"), self)
    def __mul__(self, other): return ops.Mul.apply(self, _operand(other, "Mul"))
    def __rmul__(self, other): return ops.Mul.apply(_operand(other, "Mul"), self)
    def __truediv__(self, other): return ops.Div.apply(self, _operand(other, "Div"))
    def __rtruediv__(self, other): return ops.Div.apply(_operand(other, "Div"), self)
    def __pow__(self, other): return ops.Pow.apply(self, _operand(other, "Pow"))
    def __rpow__(self, other): return ops.Pow.apply(_operand(other, "Pow"), self)
    def __matmul__(self, other): return ops.MatMul.apply(self, _operand(other, "MatMul"))
    def __rmatmul__(self, other): return ops.MatMul.apply(_operand(other, "MatMul"), self)
    def __neg__(self): return ops.Neg.apply(self)
    def __pos__(self): return self

    # comparisons: boolean tensors, no gradient
    def __eq__(self, other): return _compare(np.equal, "==", self, other)
    def __ne__(self, other): return _compare(np.not_equal, "!=", self, other)
    def __lt__(self, other): return _compare(np.less, "<", self, other)
    def __le__(self, other): return _compare(np.less_equal, "<=", self, other)
    def __gt__(self, other): return _compare(np.greater, ">", self, other)
    def __ge__(self, other): return _compare(np.greater_equal, ">=", self, other)

    # ------------------------------------------------------------------- unary ops
    def exp(self): return ops.Exp.apply(self)
    def log(self): return ops.Log.apply(self)
    def sqrt(self): return ops.Sqrt.apply(self)
    def abs(self): return ops.Abs.apply(self)
    def sigmoid(self): return ops.Sigmoid.apply(self)
    def tanh(self): return ops.Tanh.apply(self)
    def relu(self): return ops.ReLU.apply(self)
    def softplus(self): return ops.Softplus.apply(self)
    __abs__ = abs

    def clip(self, lo=None, hi=None):
        return ops.Clip.apply(self, lo, hi)

    def astype(self, dtype):
        dtype = np.dtype(dtype)
        if dtype == self.dtype:
            return self
        if dtype.kind != "f":  # integers and booleans carry no gradient
            return Tensor._make(self.data.astype(dtype))
        return ops.Cast.apply(self, dtype)

    # ------------------------------------------------------------------ reductions
    def sum(self, axis=None, keepdims=False): return ops.Sum.apply(self, axis=axis, keepdims=keepdims)
    def mean(self, axis=None, keepdims=False): return ops.Mean.apply(self, axis=axis, keepdims=keepdims)
    def max(self, axis=None, keepdims=False): return ops.Max.apply(self, axis=axis, keepdims=keepdims)
    def min(self, axis=None, keepdims=False): return ops.Min.apply(self, axis=axis, keepdims=keepdims)

    def logsumexp(self, axis=None, keepdims=False):
        return ops.LogSumExp.apply(self, axis=axis, keepdims=keepdims)

    def softmax(self, axis=-1): return ops.Softmax.apply(self, axis=axis)
    def log_softmax(self, axis=-1): return ops.LogSoftmax.apply(self, axis=axis)

    def argmax(self, axis=None):
        """Indices of the maxima, as a plain integer numpy array (no gradient)."""
        return np.argmax(self.data, axis=axis)

    # -------------------------------------------------------------------- movement
    def reshape(self, *shape):
        shape = _shape_args(shape, "reshape")
        return self if shape == self.shape else ops.Reshape.apply(self, shape)

    def transpose(self, *axes):
        """Axes permuted (all reversed when none are given); numpy's ``transpose``."""
        axes = tuple(_axis(a, self.ndim, "transpose") for a in _shape_args(axes, "transpose"))
        if axes and sorted(axes) != list(range(self.ndim)):
            raise ShapeError(f"transpose: axes {axes} are not a permutation of the "
                             f"{self.ndim} axes of a tensor of shape {self.shape}")
        axes = axes or tuple(range(self.ndim))[::-1]
        return ops.Transpose.apply(self, axes)

    permute = transpose

    def flatten(self, start_dim=0, end_dim=-1):
        """Axes start_dim to end_dim (both included) made one (a 0-d tensor gives shape (1,))."""
        if not self.ndim:
            return self.reshape(1)
        s, e = _axis(start_dim, self.ndim, "flatten"), _axis(end_dim, self.ndim, "flatten")
        if s > e:
            raise ShapeError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} "
                             f"for a tensor of shape {self.shape}")
        return self.reshape(*self.shape[:s], -1, *self.shape[e + 1:])

    def expand(self, *shape):
        shape = _shape_args(shape, "expand")
        return self if shape == self.shape else ops.Expand.apply(self, shape)

    def __getitem__(self, idx):
        return ops.GetItem.apply(self, _index(idx))


class _writable:
    """Write into ``arr`` through the Tensor API even while a live graph holds it (or the
    array it is a view of, as after detach()) read-only (function.py): the version bump
    that follows makes that graph's backward refuse, instead of using the new values."""

    def __init__(self, arr):
        chain = []  # arr and its bases, up to the array a graph locked
        while arr is not None and not arr.flags.writeable:
            chain.append(arr)
            if function.is_locked(arr):
                break
            arr = arr.base if isinstance(arr.base, np.ndarray) else None
        else:
            chain = []  # not locked by a graph: the caller's own read-only array
        self.chain = chain[::-1]  # the base first: a view becomes writeable after it

    def __enter__(self):
        for a in self.chain:
            a.flags.writeable = True

    def __exit__(self, *exc):
        for a in reversed(self.chain):
            a.flags.writeable = False


def _compare(ufunc, symbol, a, b):
    """A comparison: a boolean Tensor (no gradient), numpy's broadcasting."""
    other = _data(_operand(b, f"comparison {symbol}"))
    try:
        return Tensor._make(np.asarray(ufunc(a.data, other)))
    except ValueError:
        raise ShapeError(f"comparison {symbol}: shapes {a.shape} and {np.shape(other)} do not "
                         "broadcast together") from None


def _is_int(a):
    return isinstance(a, (int, np.integer)) and not isinstance(a, (bool, np.bool_))


def _shape_args(args, op):
    """Accept f(2, 3) and f((2, 3)) alike; numpy integers count as ints, nothing else does."""
    if len(args) == 1 and isinstance(args[0], (tuple, list, np.ndarray)):
        args = tuple(args[0])
    for a in args:
        if not _is_int(a):
            raise ShapeError(f"{op}: sizes and axes must be integers, got {a!r} in {args!r}")
    return tuple(int(a) for a in args)


def _axis(a, ndim, op):
    """One axis, checked like numpy: an integer in [-ndim, ndim), made non-negative."""
    if not _is_int(a):
        raise ShapeError(f"{op}: an axis must be an integer, got {a!r}")
    if not -max(ndim, 1) <= a < max(ndim, 1):
        raise ShapeError(f"{op}: axis {a} is out of range for a tensor with {ndim} "
                         "dimension(s)")
    return int(a) % max(ndim, 1)


def run_hooks(t, g):
    """The hooks of ``t`` on its total gradient ``g`` (a Tensor), in order: each may return
    a replacement of the same shape. Both engines call this."""
    for hook in t._hooks:
        new = hook(g)
        if new is None:
            continue
        if not isinstance(new, Tensor):
            try:
                new = Tensor(new, dtype=g.dtype)
            except DTypeError as e:
                raise DTypeError(f"register_hook: the hook {getattr(hook, '__name__', hook)!r} "
                                 f"returned {_describe(new)}, not a gradient ({e})") from None
        if new.shape != g.shape:
            raise ShapeError(f"register_hook: the hook {getattr(hook, '__name__', hook)!r} "
                             f"returned a gradient of shape {new.shape} for a tensor of "
                             f"shape {g.shape}")
        g = new
    return g


class _HookHandle:
    def __init__(self, tensor, hook):
        self.tensor, self.hook = tensor, hook

    def remove(self):
        self.tensor._hooks = [h for h in self.tensor._hooks if h is not self.hook]


def _index(idx):
    """Tensors inside an index become their (integer or boolean) arrays."""
    if isinstance(idx, tuple):
        return tuple(_index_item(i) for i in idx)
    return _index_item(idx)


def _index_item(i):
    if isinstance(i, Tensor):
        i = i.data
    if isinstance(i, list):
        i = np.asarray(i)
    if isinstance(i, np.ndarray) and i.dtype.kind == "f":
        raise IndexError(f"GetItem: index arrays must be integer or boolean, got {i.dtype}")
    return i


# ------------------------------------------------------------------ free functions
def tensor(data, requires_grad=False, dtype=None):
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


def _tensors(xs):
    return [x if isinstance(x, Tensor) else Tensor(x) for x in xs]


def where(cond, a, b):
    """where(cond, a, b): a where cond is true, else b (gradient flows to the branch taken)."""
    return ops.Where.apply(np.asarray(_data(cond), dtype=bool), _operand(a, "where"),
                           _operand(b, "where"))


def maximum(a, b):
    """Elementwise maximum; at ties each side gets half the gradient."""
    return ops.Maximum.apply(_operand(a, "maximum"), _operand(b, "maximum"))


def minimum(a, b):
    """Elementwise minimum; at ties each side gets half the gradient."""
    return ops.Minimum.apply(_operand(a, "minimum"), _operand(b, "minimum"))


def concatenate(tensors, axis=0):
    return ops.Concatenate.apply(*_tensors(tensors), axis=axis)


def stack(tensors, axis=0):
    return ops.Stack.apply(*_tensors(tensors), axis=axis)


def zeros(*shape, requires_grad=False, dtype=np.float64):
    return Tensor(np.zeros(_factory_shape(shape, "zeros")), requires_grad=requires_grad, dtype=dtype)


def ones(*shape, requires_grad=False, dtype=np.float64):
    return Tensor(np.ones(_factory_shape(shape, "ones")), requires_grad=requires_grad, dtype=dtype)


def _factory_shape(shape, op):
    shape = _shape_args(shape, op)
    if any(s < 0 for s in shape):
        raise ShapeError(f"{op}: sizes must be >= 0, got {shape}")
    return shape


__all__ = ["Tensor", "DTypeError", "tensor", "where", "maximum", "minimum", "concatenate",
           "stack", "zeros", "ones", "Function"]

# The one import cycle of the package, paid once and in the open. ops.py subclasses
# Function (function.py), whose nodes build Tensors; Tensor's operators call the ops and
# backward() calls the engine, which builds Tensors too. All three import this module,
# so they are imported here, after Tensor exists.
from . import engine, function, ops
from .function import Function  # (tg.tensor.Function: an import path of earlier versions)

"""Tensor: a numpy array that remembers how it was computed.

Its operators call the ops of ops.py (each a `Function`, function.py); ``backward()``
calls the engine (engine.py). Those modules build Tensors in turn: the one import
cycle of the package, closed at the bottom of this file.
"""
from __future__ import annotations

import numbers
import warnings

import numpy as np

from . import kernels
from .errors import ArgumentError, DTypeError, GradientError, ShapeError
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
        bad = next((v for v in x.flat if not isinstance(v, (numbers.Real, np.number))), None) \
            if x.dtype.kind == "O" else None
        return f"an array of dtype {x.dtype}" + (f" holding {bad!r}" if bad is not None or
                                                  x.dtype.kind == "O" and x.size else
                                                  f" ({x.flat[0]!r}, ...)" if x.size else "")
    text = repr(x)
    text = text if len(text) <= 40 else text[:37] + "..."
    return text if x is None or isinstance(x, (str, bytes, numbers.Number)) else \
        f"a {type(x).__name__} {text}"


def as_numeric(data, what, dtype=None):
    """``data`` as a new numpy array of numbers (float64 unless ``dtype``): None, strings,
    complex numbers and Python objects are refused, with a DTypeError naming ``what``."""
    if isinstance(data, Tensor):
        data = data._data
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
        try:
            dtype = np.dtype(dtype)
        except TypeError as e:
            raise DTypeError(f"{what}: {dtype!r} is not a dtype ({e})") from None
        if dtype.kind not in _NUMERIC:
            raise DTypeError(f"{what}: dtype {dtype} is not numeric")
        return arr.astype(dtype, copy=False)
    return arr if arr.dtype.kind == "f" else arr.astype(np.float64)


def _data(x):
    return x._data if isinstance(x, Tensor) else x


class Tensor:
    """An n-dimensional array with automatic differentiation.

    ``Tensor(data, requires_grad=False, dtype=None)`` copies ``data`` into a numpy
    array: Python numbers, lists, integer and boolean arrays become float64;
    floating arrays keep their precision; ``dtype=`` chooses explicitly (integer
    tensors are allowed for labels, but cannot require a gradient).

    Every operation on Tensors that require a gradient records a node in a graph;
    ``loss.backward()`` fills ``.grad`` of the leaves with d(loss)/d(leaf).
    """

    def __array_ufunc__(self, ufunc, method, *inputs, out=None, **kwargs):
        """numpy's functions on Tensors run the ops, with their gradients: np.sin(t),
        ndarray * t, np.maximum(t, 0). ``p.data -= lr * p.grad`` writes into the array (the
        version bump makes a stale graph refuse). Others name what to call instead."""
        name = f"np.{ufunc.__name__}" + ("" if method == "__call__" else f".{method}")
        if method != "__call__" or kwargs:
            raise DTypeError(f"{name} on a Tensor: only plain calls of the ufuncs with a "
                             "gradient are supported; use the Tensor's methods (t.sum(axis=...))")
        if out is not None:
            return _ufunc_into(ufunc, inputs, out)
        fn = _UFUNCS.get(ufunc)
        if fn is None:
            raise DTypeError(f"{name} has no gradient here: write it with Tensor operations, or "
                             "call it on t.numpy() for numbers without a gradient")
        return fn(*inputs)
    __hash__ = object.__hash__  # == returns a Tensor; identity stays the hash

    # Every tensor has these three; the rest live in a __dict__ made only when one is set
    # (most interior tensors never need it), with the class attributes as defaults.
    __slots__ = ("__dict__", "__weakref__", "_ctx", "_data", "requires_grad")
    _grad = None
    _vc = None        # [in-place updates, stamp of the last], shared with detached views
    _hooks = ()
    _retain = False

    def __array_function__(self, func, types, args, kwargs):
        """numpy's reductions and array functions on Tensors run the Tensor's own (with the
        gradient): np.sum(t, axis=0), np.mean, np.concatenate([t, u]), ... Any other numpy
        function sees the plain arrays (numbers, no gradient), as before."""
        method = _ARRAY_FUNCTIONS.get(func)
        if method is None:
            args = [a._data if isinstance(a, Tensor) else a for a in args]
            return func(*args, **kwargs)
        for k in ("dtype", "out", "initial", "where"):
            if kwargs.get(k) is not None:
                raise DTypeError(f"np.{func.__name__}(..., {k}=...) on a Tensor is not "
                                 f"supported: call it without {k}=")
            kwargs.pop(k, None)
        return method(*args, **kwargs)

    def __init__(self, data, requires_grad=False, dtype=None):
        if isinstance(data, (list, tuple)) and any(
                isinstance(v, Tensor) and v.requires_grad for v in data):
            warnings.warn("Tensor([...]) of tensors that require grad makes a constant: no "
                          "gradient flows back to them; use tg.stack([...]) to keep the graph",
                          UserWarning, stacklevel=2)
        self._data = as_numeric(data, "Tensor", dtype)
        self._ctx = None  # the Function node that produced this tensor (None for leaves)
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_()

    @property
    def _version(self):
        """How many in-place updates this tensor's array has seen (0 for most tensors)."""
        vc = self._vc
        return 0 if vc is None else vc[0]

    @classmethod
    def _make(cls, arr):
        """Wrap an array without copying or converting (the ops' fast path)."""
        t = object.__new__(cls)
        t._data = arr
        t._ctx = None
        t.requires_grad = False
        return t

    # ------------------------------------------------------------------ attributes
    @property
    def data(self):
        """The numpy array (shared, not copied). While a live graph saved it for backward
        it is read-only: update through the Tensor (``w -= lr * w.grad`` under
        ``tg.no_grad()``), or write into a copy. For a tensor made by an op in a graph it
        is a read-only view: the graph may have saved it."""
        return self._exposed()

    def _exposed(self):
        arr = self._data
        if self._ctx is not None:  # an interior tensor: its node or a consumer may hold it
            arr = arr.view()
            arr.flags.writeable = False
        return arr

    @data.setter
    def data(self, value):
        """Rebind the array (``p.data = p.data - lr * p.grad`` works: a Tensor is unwrapped).
        A graph that saved the old array keeps it, unchanged."""
        arr = value._data if isinstance(value, Tensor) else value
        if not isinstance(arr, np.ndarray) or arr.dtype.kind not in _NUMERIC:
            arr = as_numeric(arr, "Tensor.data")
        if self.requires_grad and arr.dtype.kind != "f":
            raise DTypeError(f"Tensor.data: a tensor that requires grad needs a floating array, "
                             f"got dtype {arr.dtype}")
        self._data = arr

    shape = property(lambda self: self._data.shape, doc="The shape, a tuple of ints.")
    ndim = property(lambda self: self._data.ndim)
    size = property(lambda self: self._data.size)
    dtype = property(lambda self: self._data.dtype)
    T = property(lambda self: self.transpose(), doc="All axes reversed.")
    mT = property(lambda self: self.transpose(*range(self.ndim - 2), -1, -2),
                  doc="The last two axes swapped (a batch of transposed matrices).")
    is_leaf = property(lambda self: self._ctx is None)
    grad_fn = property(lambda self: self._ctx, doc="The node that made this tensor.")
    retains_grad = property(lambda self: self._retain,
                            doc="True when retain_grad() asked backward to keep this gradient.")

    def item(self):
        return self._data.item()

    def numpy(self):
        """The data as a numpy array (shared; read-only while a graph may need it)."""
        return self._exposed()

    def tolist(self):
        return self._data.tolist()

    def __array__(self, dtype=None, copy=None):
        if copy:
            return self._data.astype(dtype or self.dtype, copy=True)
        return self._exposed() if dtype is None else self._data.astype(dtype)

    def __len__(self):
        return len(self._data)

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __bool__(self):
        return bool(self._data)

    def __float__(self):
        return float(self._data)

    def __repr__(self):
        body = np.array2string(self._data, separator=", ", prefix="Tensor(", precision=4)
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
        d = Tensor._make(self._exposed() if self._ctx is not None else self._data.view())
        if self._vc is None:
            self._vc = [0, 0]
        d._vc = self._vc
        return d

    def requires_grad_(self, flag=True):
        """Mark this leaf as a parameter to differentiate (only floating dtypes)."""
        if flag and self._data.dtype.kind != "f":
            raise DTypeError(f"requires_grad: only floating tensors can require gradients, "
                             f"got dtype {self._data.dtype}")
        self.requires_grad = bool(flag)
        return self

    @property
    def grad(self):
        """d(loss)/d(self) after a backward (a Tensor of this tensor's shape), or None.

        backward keeps it for leaves and for tensors that called ``retain_grad()``;
        reading it on any other tensor warns, as PyTorch does."""
        if self._grad is None and self._ctx is not None and not self._retain:
            warnings.warn("The .grad of a tensor made by an op (not a leaf) is not kept by "
                          "backward(); call t.retain_grad() before backward to keep it",
                          UserWarning, stacklevel=2)
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
        """fn(self, other) into self's array, then the version bump. (An optimizer's step
        calls this once per parameter: the checks are written for the common case, a
        writeable array under no_grad, W8.)"""
        if state.grad_enabled:
            if isinstance(other, Tensor) and other.requires_grad:
                raise GradientError(
                    f"in-place update with a value that requires grad (shape {other.shape}) "
                    "would drop its graph: write acc = acc + x (or use tg.stack) instead")
            if self.requires_grad:
                raise GradientError(
                    f"in-place update of a tensor that requires grad (shape {self.shape}): "
                    "its graph would be wrong. For a parameter update write it under "
                    "tg.no_grad() (as optimizers do); to add up losses for a report, add "
                    "loss.item(); otherwise use an out-of-place operation")
        arr = self._data
        x = other._data if isinstance(other, Tensor) else other
        if arr.flags.writeable:
            fn(arr, x, out=arr, casting="same_kind")
        else:
            with _writable(arr):
                fn(arr, x, out=arr, casting="same_kind")
        self._bump_version()
        return self

    def _bump_version(self):
        """One in-place update more: the count, and when (the stamp a graph compares)."""
        vc = self._vc
        if vc is None:
            self._vc = vc = [0, 0]
        vc[0] += 1
        vc[1] = mutations.bump()

    def add_(self, other, *, alpha=1):
        """self += alpha * other, in place (PyTorch's add_): ``p.add_(p.grad, alpha=-lr)``
        is the SGD update without a temporary the size of p (kernels.add_scaled)."""
        alpha = _alpha(alpha, "add_")
        if alpha == 1.0:
            return self._inplace(np.add, other)
        return self._inplace(lambda y, x, out, casting: kernels.add_scaled(out, x, alpha),
                             other)

    def sub_(self, other, *, alpha=1):
        """self -= alpha * other, in place (PyTorch's sub_)."""
        alpha = _alpha(alpha, "sub_")
        return self._inplace(np.subtract, other) if alpha == 1.0 else self.add_(other, alpha=-alpha)

    def mul_(self, other):
        return self._inplace(np.multiply, other)

    def copy_(self, other):
        return self._inplace(lambda a, b, out, casting: np.copyto(out, b, casting=casting),
                             other)

    # t += u, -=, *=, /= and **= alike. Where no gradient is involved (or under no_grad)
    # they update t in place, numpy's way (a graph that saved t refuses afterwards). Where
    # one is (total += loss, c += c + 1), the name t is rebound to the out-of-place result:
    # the graph stays exact, as PyTorch's in-place ops on non-leaves are. Only a leaf that
    # requires grad is refused: updating a parameter in place needs tg.no_grad().
    def _iop(self, other, op, ufunc):
        if state.grad_enabled and (self.requires_grad or (
                isinstance(other, Tensor) and other.requires_grad)):
            if self.requires_grad and self._ctx is None:
                raise GradientError(
                    f"in-place update of a leaf that requires grad (shape {self.shape}): write "
                    "it under tg.no_grad() (as optimizers do: w -= lr * w.grad), or write "
                    "w = w - ... to make a new tensor")
            return op(self, other)
        return self._inplace(ufunc, other)

    def __iadd__(self, other): return self._iop(other, Tensor.__add__, np.add)
    def __isub__(self, other): return self._iop(other, Tensor.__sub__, np.subtract)
    def __imul__(self, other): return self._iop(other, Tensor.__mul__, np.multiply)
    def __itruediv__(self, other): return self._iop(other, Tensor.__truediv__, np.divide)
    def __ipow__(self, other): return self._iop(other, Tensor.__pow__, np.power)

    def zero_(self):
        return self.mul_(0.0)

    def __setitem__(self, idx, value):
        if state.grad_enabled and self.requires_grad:
            raise GradientError("item assignment into a tensor that requires grad would "
                                "break its graph; use tg.where or build a new tensor")
        if state.grad_enabled and isinstance(value, Tensor) and value.requires_grad:
            raise GradientError("item assignment of a value that requires grad would drop "
                                "its graph: build the tensor with tg.stack or tg.where")
        idx, value = _index(idx), _data(_operand(value, "item assignment"))
        try:
            with _writable(self._data):
                self._data[idx] = value
        except ValueError as e:
            raise ShapeError(f"item assignment t[...] = value: a value of shape {np.shape(value)}"
                             f" does not fit the selection of a tensor of shape {self.shape} "
                             f"({e})") from None
        self._bump_version()

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
    def __mod__(self, other): return ops.Mod.apply(self, _operand(other, "Mod"))
    def __rmod__(self, other): return ops.Mod.apply(_operand(other, "Mod"), self)
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
    def sin(self): return ops.Sin.apply(self)
    def cos(self): return ops.Cos.apply(self)
    def tan(self): return ops.Tan.apply(self)
    def log1p(self): return ops.Log1p.apply(self)
    def expm1(self): return ops.Expm1.apply(self)
    def square(self): return ops.Square.apply(self)
    def erf(self): return ops.Erf.apply(self)
    def softsign(self): return ops.Softsign.apply(self)
    def silu(self): return ops.SiLU.apply(self)
    def leaky_relu(self, negative_slope=0.01): return ops.LeakyReLU.apply(self, float(negative_slope))
    def elu(self, alpha=1.0): return ops.ELU.apply(self, float(alpha))
    __abs__ = abs

    def gelu(self, approximate="none"):
        """x * Phi(x) (``approximate='none'``, with erf) or its tanh form (``'tanh'``)."""
        if approximate not in ("none", "tanh"):
            raise ArgumentError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
        return (ops.GELU if approximate == "none" else ops.GELUTanh).apply(self)

    def clip(self, lo=None, hi=None):
        return ops.Clip.apply(self, lo, hi)

    def clamp(self, min=None, max=None):
        """PyTorch's spelling of clip(lo, hi)."""
        return ops.Clip.apply(self, min, max)

    def clone(self):
        """A copy of the data that stays in the graph (the gradient flows through)."""
        return ops.Copy.apply(self)

    def astype(self, dtype):
        try:
            dtype = np.dtype(dtype)
        except TypeError as e:
            raise DTypeError(f"astype: {dtype!r} is not a dtype ({e})") from None
        if dtype.kind not in _NUMERIC:
            raise DTypeError(f"astype: a Tensor holds real numbers, not {dtype} (use "
                             "t.numpy().astype(...) for an array of another kind)")
        if dtype == self.dtype:
            return self
        if dtype.kind != "f":  # integers and booleans carry no gradient
            return Tensor._make(self._data.astype(dtype))
        return ops.Cast.apply(self, dtype)

    def float(self):
        """float32, as PyTorch's ``.float()`` (``double()`` is float64)."""
        return self.astype(np.float32)

    def double(self):
        return self.astype(np.float64)

    # ------------------------------------------------------------------ reductions
    # numpy's names and rules (axis=, keepdims=); PyTorch's dim= and keepdim= mean the same
    def sum(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        axis, keepdims = _axis_kw("sum", axis, keepdims, dim, keepdim)
        return ops.Sum.apply(self, axis=axis, keepdims=keepdims)

    def mean(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        axis, keepdims = _axis_kw("mean", axis, keepdims, dim, keepdim)
        return ops.Mean.apply(self, axis=axis, keepdims=keepdims)

    def prod(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        axis, keepdims = _axis_kw("prod", axis, keepdims, dim, keepdim)
        return ops.Prod.apply(self, axis=axis, keepdims=keepdims)

    def max(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        """The maxima (values only, numpy's rule). With PyTorch's ``dim=`` the result refuses
        to be unpacked as (values, indices): take ``t.argmax(dim=...)`` for the indices."""
        return _extremum(self, ops.Max, "max", axis, keepdims, dim, keepdim)

    def min(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        """The minima (values only; see max)."""
        return _extremum(self, ops.Min, "min", axis, keepdims, dim, keepdim)

    def logsumexp(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        axis, keepdims = _axis_kw("logsumexp", axis, keepdims, dim, keepdim)
        return ops.LogSumExp.apply(self, axis=axis, keepdims=keepdims)

    def var(self, axis=None, keepdims=False, ddof=None, *, dim=None, keepdim=None,
            correction=None):
        """mean((x - mean(x))**2) over axis, divided by n - ddof (numpy: ddof=0).

        PyTorch's ``var(dim=...)`` divides by n - 1 by default: with ``dim=`` say which,
        ``ddof=`` or ``correction=`` (the same number), or the call is an error."""
        axis, keepdims = _axis_kw("var", axis, keepdims, dim, keepdim)
        ddof = _ddof("var", ddof, correction, dim)
        mean = self.mean(axis=axis, keepdims=True)
        d = self - mean
        n = int(np.prod([self.shape[a] for a in ops._axes(axis, self.ndim)]))
        return (d * d).sum(axis=axis, keepdims=keepdims) / max(n - ddof, 0)

    def std(self, axis=None, keepdims=False, ddof=None, *, dim=None, keepdim=None,
            correction=None):
        """sqrt(var(...)), with var's rule for ddof."""
        ddof = _ddof("std", ddof, correction, dim)
        return self.var(axis, keepdims, ddof, dim=dim, keepdim=keepdim).sqrt()

    def cumsum(self, axis=None, *, dim=None):
        """Cumulative sums along axis (numpy: the flattened tensor when axis is None)."""
        axis, _ = _axis_kw("cumsum", axis, False, dim, None)
        return ops.Cumsum.apply(self, axis=axis)

    def softmax(self, axis=-1, *, dim=None):
        return ops.Softmax.apply(self, axis=_axis_kw("softmax", axis, False, dim, None, -1)[0])

    def log_softmax(self, axis=-1, *, dim=None):
        axis = _axis_kw("log_softmax", axis, False, dim, None, -1)[0]
        return ops.LogSoftmax.apply(self, axis=axis)

    def argmax(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        """Indices of the maxima, an integer Tensor (no gradient)."""
        axis, keepdims = _axis_kw("argmax", axis, keepdims, dim, keepdim)
        return Tensor._make(np.asarray(np.argmax(self._data, axis=axis, keepdims=keepdims)))

    def argmin(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        """Indices of the minima, an integer Tensor (no gradient)."""
        axis, keepdims = _axis_kw("argmin", axis, keepdims, dim, keepdim)
        return Tensor._make(np.asarray(np.argmin(self._data, axis=axis, keepdims=keepdims)))

    def trace(self):
        """The sum of the diagonal of a matrix."""
        if self.ndim != 2:
            raise ShapeError(f"trace: needs a matrix, got shape {self.shape}")
        k = np.arange(min(self.shape))
        return self[k, k].sum()

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

    view = reshape  # PyTorch's name (a copy may be made; the gradient is the same)

    def unsqueeze(self, dim):
        """A new axis of size 1 at ``dim`` (in [-ndim - 1, ndim], as in PyTorch)."""
        d = _axis(dim, self.ndim + 1, "unsqueeze")
        return self.reshape(*self.shape[:d], 1, *self.shape[d:])

    def squeeze(self, dim=None):
        """Axes of size 1 removed: all of them, or ``dim`` (which must have size 1)."""
        if dim is None:
            return self.reshape(*[s for s in self.shape if s != 1])
        d = _axis(dim, self.ndim, "squeeze")
        if self.shape[d] != 1:
            raise ShapeError(f"squeeze: axis {dim} of shape {self.shape} has size "
                             f"{self.shape[d]}, not 1 (numpy's rule; PyTorch would leave it)")
        return self.reshape(*self.shape[:d], *self.shape[d + 1:])

    def repeat(self, repeats, axis=None):
        """numpy's repeat: each element repeated ``repeats`` times along axis (flattened when
        axis is None). PyTorch's ``t.repeat(2, 3)`` is numpy's tile: write ``t.tile(2, 3)``."""
        if not _is_int(repeats) and not isinstance(repeats, (list, tuple, np.ndarray)):
            raise ShapeError(f"repeat: repeats must be an integer or a sequence, got {repeats!r}")
        if axis is None:
            flat = self.reshape(-1)
            return flat[np.repeat(np.arange(flat.shape[0]), repeats)]
        try:
            a = _axis(axis, self.ndim, "repeat")
        except ShapeError as e:
            raise ShapeError(f"{e} (numpy's repeat(repeats, axis); PyTorch's t.repeat(2, 3) is "
                             "numpy's tile: write t.tile(2, 3))") from None
        idx = np.repeat(np.arange(self.shape[a]), repeats)
        return self[(slice(None),) * a + (idx,)]

    def tile(self, *reps):
        """numpy's tile: the whole tensor repeated ``reps`` times along each axis."""
        reps = _shape_args(reps, "tile")
        x = self.reshape(*(1,) * (len(reps) - self.ndim), *self.shape) if len(reps) > self.ndim \
            else self
        reps = (1,) * (x.ndim - len(reps)) + reps
        idx = np.ix_(*[np.tile(np.arange(n), r) for n, r in zip(x.shape, reps)])
        return x[idx]

    def __getitem__(self, idx):
        return ops.GetItem.apply(self, _index(idx))


def _alpha(alpha, op):
    """alpha of add_/sub_ as a float: a real number, or a 0-d array of one (a learning rate
    kept as an array)."""
    if alpha.__class__ is float:
        return alpha
    if isinstance(alpha, np.ndarray) and alpha.ndim == 0:
        alpha = alpha[()]
    if isinstance(alpha, (bool, np.bool_)) or not isinstance(alpha, numbers.Real):
        raise ArgumentError(f"{op}: alpha must be a real number, got {alpha!r}")
    return float(alpha)


class _writable:
    """Write into ``arr`` through the Tensor API even while it is read-only because a live
    graph holds it (function.py), or because it is a read-only view of such an array or of
    an interior result (detach(), .data): the version bump that follows makes the graph's
    backward refuse, instead of using the new values."""

    def __init__(self, arr):
        chain = []  # arr and its read-only bases, up to the locked or a writeable one
        while isinstance(arr, np.ndarray) and not arr.flags.writeable:
            chain.append(arr)
            if function.is_locked(arr):
                break
            arr = arr.base
        else:
            if not isinstance(arr, np.ndarray):  # read-only all the way: not ours to open
                chain = []
        self.chain = chain[::-1]  # the base first: a view becomes writeable after it

    def __enter__(self):
        for a in self.chain:
            a.flags.writeable = True

    def __exit__(self, *exc):
        for a in reversed(self.chain):
            a.flags.writeable = False


def _axis_kw(op, axis, keepdims, dim, keepdim, default=None):
    """numpy's axis=/keepdims= or PyTorch's dim=/keepdim= (the same meaning), not both."""
    if dim is not None:
        if axis is not default:
            raise ArgumentError(f"{op}: give axis= (numpy's name) or dim= (PyTorch's), not both")
        axis = dim
    if keepdim is not None:
        keepdims = bool(keepdim)
    return axis, keepdims


def _ddof(op, ddof, correction, dim):
    if ddof is not None and correction is not None and ddof != correction:
        raise ArgumentError(f"{op}: ddof={ddof} and correction={correction} disagree")
    ddof = ddof if ddof is not None else correction
    if ddof is None:
        if dim is not None:
            raise ArgumentError(
                f"{op}: numpy's {op} divides by n (ddof=0), PyTorch's {op}(dim=...) by n - 1; "
                f"say which: {op}(dim=..., ddof=0) or {op}(dim=..., correction=1)")
        ddof = 0
    return ddof


class MaxValues(Tensor):
    """What max(dim=...) / min(dim=...) return: the values, a Tensor that refuses to be
    unpacked as PyTorch's (values, indices) pair."""
    __slots__ = ()

    def __iter__(self):
        raise TypeError("max(dim=...) and min(dim=...) give the values only, as numpy's max "
                        "does; for PyTorch's (values, indices) write values, indices = "
                        "t.max(dim=d), t.argmax(dim=d)")


def _extremum(t, op, name, axis, keepdims, dim, keepdim):
    axis, keepdims = _axis_kw(name, axis, keepdims, dim, keepdim)
    out = op.apply(t, axis=axis, keepdims=keepdims)
    if dim is not None:
        out.__class__ = MaxValues
    return out


def _binary(op, ufunc):
    """np.<ufunc>(a, b) with a Tensor among a, b: the op ``op`` of ops.py."""
    name = f"np.{ufunc.__name__}"
    return ufunc, lambda a, b: getattr(ops, op).apply(_operand(a, name), _operand(b, name))


def _comparison(ufunc, symbol):
    return ufunc, lambda a, b: _compare(ufunc, symbol, a if isinstance(a, Tensor) else Tensor(a), b)


_UFUNCS = dict([  # numpy's ufuncs that have an op, run as the Tensor spells them
    _binary("Add", np.add), _binary("Sub", np.subtract), _binary("Mul", np.multiply),
    _binary("Div", np.divide), _binary("Pow", np.power), _binary("MatMul", np.matmul),
    _binary("Mod", np.remainder), _binary("Maximum", np.maximum),
    _binary("Minimum", np.minimum),
    (np.negative, Tensor.__neg__), (np.exp, Tensor.exp), (np.log, Tensor.log),
    (np.sqrt, Tensor.sqrt), (np.absolute, Tensor.abs), (np.tanh, Tensor.tanh),
    (np.sin, Tensor.sin), (np.cos, Tensor.cos), (np.tan, Tensor.tan), (np.log1p, Tensor.log1p),
    (np.expm1, Tensor.expm1), (np.square, Tensor.square),
    _comparison(np.equal, "=="), _comparison(np.not_equal, "!="), _comparison(np.less, "<"),
    _comparison(np.less_equal, "<="), _comparison(np.greater, ">"),
    _comparison(np.greater_equal, ">="),
])


_ARRAY_FUNCTIONS = {  # numpy's functions that the Tensor spells the same way
    np.sum: Tensor.sum, np.mean: Tensor.mean, np.prod: Tensor.prod, np.max: Tensor.max,
    np.min: Tensor.min, np.amax: Tensor.max, np.amin: Tensor.min, np.var: Tensor.var,
    np.std: Tensor.std, np.cumsum: Tensor.cumsum, np.argmax: Tensor.argmax,
    np.argmin: Tensor.argmin, np.transpose: Tensor.transpose, np.reshape: Tensor.reshape,
    np.squeeze: Tensor.squeeze, np.repeat: Tensor.repeat, np.tile: Tensor.tile,
    np.trace: Tensor.trace, np.clip: lambda t, a_min=None, a_max=None: Tensor.clip(t, a_min, a_max),
    np.concatenate: lambda ts, axis=0: concatenate(ts, axis), np.stack: lambda ts, axis=0:
        stack(ts, axis), np.where: lambda c, a, b: where(c, a, b),
    np.einsum: lambda spec, *ops_, **kw: einsum(spec, *ops_),
    np.tensordot: lambda a, b, axes=2: tensordot(a, b, axes),
}


def _ufunc_into(ufunc, inputs, out):
    """ufunc(*inputs, out=...) with Tensors among the inputs: numpy's arithmetic written
    into the output array (the micrograd update ``p.data -= lr * p.grad``), even while a
    graph holds it read-only: the owner's version is bumped, so that graph refuses."""
    arrays = [x._data if isinstance(x, Tensor) else x for x in inputs]
    outs = tuple(o._data if isinstance(o, Tensor) else o for o in out)
    lock = function.lock_on(outs[0])
    with _writable(outs[0]):
        result = ufunc(*arrays, out=outs)
    if lock is not None and lock.vc is not None:
        lock.vc[0] += 1
        lock.vc[1] = mutations.bump()
    return result


def _compare(ufunc, symbol, a, b):
    """A comparison: a boolean Tensor (no gradient), numpy's broadcasting."""
    other = _data(_operand(b, f"comparison {symbol}"))
    try:
        return Tensor._make(np.asarray(ufunc(a._data, other)))
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
        i = i._data
    if isinstance(i, list):
        i = np.asarray(i)
    if isinstance(i, np.ndarray) and i.dtype.kind == "f":
        raise IndexError(f"GetItem: index arrays must be integer or boolean, got {i.dtype}")
    return i


# ------------------------------------------------------------------ free functions
def tensor(data, requires_grad=False, dtype=None):
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


def from_numpy(array):
    """A Tensor that shares ``array``'s memory (PyTorch's torch.from_numpy): no copy, so
    writes into the array show in the Tensor (and, while a graph has saved it, the array
    is read-only: see Tensor.data). Only floating arrays are shared; Tensor(array)
    copies any other."""
    if type(array) is not np.ndarray:  # (np.matrix would make * a matrix product)
        raise DTypeError(f"from_numpy: expected a numpy.ndarray, got {type(array).__name__}")
    if array.dtype.kind != "f":
        raise DTypeError(f"from_numpy: a Tensor shares only floating arrays, got dtype "
                         f"{array.dtype}; Tensor(array) converts it (a copy)")
    return Tensor._make(array)


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


def cat(tensors, dim=0):
    """PyTorch's name for concatenate."""
    return concatenate(tensors, axis=dim)


def einsum(subscripts, *operands):
    """numpy's einsum (explicit 'ij,jk->ik' or implicit 'ij,jk'), with its gradient."""
    return ops.Einsum.apply(*_tensors(operands), spec=subscripts)


def tensordot(a, b, axes=2):
    """numpy's tensordot: the sum over the last ``axes`` axes of a and the first of b (or
    over the axes listed in the pair ``axes``), written as an einsum."""
    a, b = _tensors([a, b])
    if _is_int(axes):
        axes = (list(range(a.ndim - axes, a.ndim)), list(range(axes)))
    ax_a, ax_b = ([x] if _is_int(x) else list(x) for x in axes)
    if len(ax_a) != len(ax_b):
        raise ShapeError(f"tensordot: {len(ax_a)} axes of a against {len(ax_b)} of b")
    letters = iter("abcdefghijklmnopqrstuvwxyz")
    sa = [next(letters) for _ in range(a.ndim)]
    sb = [next(letters) for _ in range(b.ndim)]
    for i, j in zip(ax_a, ax_b):
        sb[_axis(j, b.ndim, "tensordot")] = sa[_axis(i, a.ndim, "tensordot")]
    summed = {sa[_axis(i, a.ndim, "tensordot")] for i in ax_a}
    out = [c for c in sa if c not in summed] + [c for c in sb if c not in summed]
    return einsum(f"{''.join(sa)},{''.join(sb)}->{''.join(out)}", a, b)


__all__ = ["Tensor", "DTypeError", "tensor", "where", "maximum", "minimum", "concatenate",
           "stack", "cat", "einsum", "tensordot", "zeros", "ones", "Function"]

# The one import cycle of the package, paid once and in the open. ops.py subclasses
# Function (function.py), whose nodes build Tensors; Tensor's operators call the ops and
# backward() calls the engine, which builds Tensors too. All three import this module,
# so they are imported here, after Tensor exists.
from . import engine, function, ops
from .creation import ones, zeros  # (tg.tensor.zeros: likewise)
from .function import Function  # (tg.tensor.Function: an import path of earlier versions)

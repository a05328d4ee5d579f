"""Tensor: a numpy array that remembers how it was computed.

Its operators call the ops of ops.py (each a `Function`, function.py); ``backward()``
calls the engine (engine.py). Those modules build Tensors in turn: the one import
cycle of the package, closed at the bottom of this file.
"""
from __future__ import annotations

import numbers

import numpy as np

from .errors import DTypeError, GradientError
from .modes import mutations, state


def _operand(x):
    """A Tensor, a Python scalar (keeps the other operand's dtype) or a numpy array."""
    if x.__class__ is float or x.__class__ is int or isinstance(x, (Tensor, np.ndarray)):
        return x
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, numbers.Number):
        return x
    return np.asarray(x, dtype=np.float64)


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
    grad = None
    _vc = None        # [in-place updates, stamp of the last], shared with detached views
    _hooks = ()
    _retain = False

    def __init__(self, data, requires_grad=False, dtype=None):
        if isinstance(data, Tensor):
            data = data.data
        try:
            if dtype is not None:
                arr = np.array(data, dtype=dtype)
            else:
                arr = np.array(data)
                if arr.dtype.kind != "f":
                    arr = arr.astype(np.float64)
        except (TypeError, ValueError) as e:
            raise DTypeError(f"Tensor: cannot convert {type(data).__name__} to a numeric "
                             f"array ({e})") from None
        self.data = arr
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

    def zero_grad(self):
        self.grad = None

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
        self.data[_index(idx)] = _data(value)
        self._version += 1

    # -------------------------------------------------------------------- arithmetic
    def __add__(self, other): return ops.Add.apply(self, _operand(other))
    def __radd__(self, other): return ops.Add.apply(_operand(other), self)
    def __sub__(self, other): return ops.Sub.apply(self, _operand(other))
    def __rsub__(self, other): return ops.Sub.apply(_operand(other), self)
    def __mul__(self, other): return ops.Mul.apply(self, _operand(other))
    def __rmul__(self, other): return ops.Mul.apply(_operand(other), self)
    def __truediv__(self, other): return ops.Div.apply(self, _operand(other))
    def __rtruediv__(self, other): return ops.Div.apply(_operand(other), self)
    def __pow__(self, other): return ops.Pow.apply(self, _operand(other))
    def __rpow__(self, other): return ops.Pow.apply(_operand(other), self)
    def __matmul__(self, other): return ops.MatMul.apply(self, _operand(other))
    def __rmatmul__(self, other): return ops.MatMul.apply(_operand(other), self)
    def __neg__(self): return ops.Neg.apply(self)
    def __pos__(self): return self

    # comparisons: boolean tensors, no gradient
    def __eq__(self, other): return Tensor._make(np.asarray(self.data == _data(other)))
    def __ne__(self, other): return Tensor._make(np.asarray(self.data != _data(other)))
    def __lt__(self, other): return Tensor._make(np.asarray(self.data < _data(other)))
    def __le__(self, other): return Tensor._make(np.asarray(self.data <= _data(other)))
    def __gt__(self, other): return Tensor._make(np.asarray(self.data > _data(other)))
    def __ge__(self, other): return Tensor._make(np.asarray(self.data >= _data(other)))

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
        shape = _shape_args(shape)
        return self if shape == self.shape else ops.Reshape.apply(self, shape)

    def transpose(self, *axes):
        axes = tuple(a % max(self.ndim, 1) for a in _shape_args(axes))
        axes = axes or tuple(range(self.ndim))[::-1]
        return ops.Transpose.apply(self, axes)

    permute = transpose

    def flatten(self, start_dim=0, end_dim=-1):
        s, e = start_dim % max(self.ndim, 1), end_dim % max(self.ndim, 1)
        return self.reshape(*self.shape[:s], -1, *self.shape[e + 1:]) if self.ndim else self.reshape(1)

    def expand(self, *shape):
        shape = _shape_args(shape)
        return self if shape == self.shape else ops.Expand.apply(self, shape)

    def __getitem__(self, idx):
        return ops.GetItem.apply(self, _index(idx))


def _shape_args(args):
    """Accept f(2, 3) and f((2, 3)) alike; numpy integers count as ints."""
    if len(args) == 1 and not isinstance(args[0], (int, np.integer)):
        args = tuple(args[0])
    return tuple(int(a) for a in args)


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
    return ops.Where.apply(np.asarray(_data(cond), dtype=bool), _operand(a), _operand(b))


def maximum(a, b):
    """Elementwise maximum; at ties each side gets half the gradient."""
    return ops.Maximum.apply(_operand(a), _operand(b))


def minimum(a, b):
    """Elementwise minimum; at ties each side gets half the gradient."""
    return ops.Minimum.apply(_operand(a), _operand(b))


def concatenate(tensors, axis=0):
    return ops.Concatenate.apply(*_tensors(tensors), axis=axis)


def stack(tensors, axis=0):
    return ops.Stack.apply(*_tensors(tensors), axis=axis)


def zeros(*shape, requires_grad=False, dtype=np.float64):
    return Tensor(np.zeros(_shape_args(shape)), requires_grad=requires_grad, dtype=dtype)


def ones(*shape, requires_grad=False, dtype=np.float64):
    return Tensor(np.ones(_shape_args(shape)), requires_grad=requires_grad, dtype=dtype)


__all__ = [
    "DTypeError",
    "Function",
    "Tensor",
    "concatenate",
    "maximum",
    "minimum",
    "ones",
    "stack",
    "tensor",
    "where",
    "zeros",
]

# The one import cycle of the package, paid once and in the open. ops.py subclasses
# Function (function.py), whose nodes build Tensors; Tensor's operators call the ops and
# backward() calls the engine, which builds Tensors too. All three import this module,
# so they are imported here, after Tensor exists.
from . import engine, ops
from .function import Function

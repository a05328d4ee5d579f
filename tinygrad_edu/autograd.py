"""The engine: graph nodes (`Function`), the backward walk, and gradient mode.

Every differentiable operation is a `Function` subclass. Calling ``Op.apply(*args)``
runs ``Op.forward(ctx, *arrays)`` on numpy arrays and, when some input requires a
gradient, keeps ``ctx`` as the graph node of the result: the node holds its parents
(the input Tensors) and whatever forward saved. Only back-pointers exist
(output -> node -> parents), so a dropped graph is freed at once.

``backward`` walks the graph in reverse topological order without recursion (newest
node first: nodes are numbered as they are recorded, and an op always comes after its
inputs) and sums the gradient contributions of every path (the chain rule with total
derivatives). Broadcasting is undone here, once, for every op.
"""
from __future__ import annotations

import contextlib
import functools
import gc
import itertools
import os
import traceback
import weakref
from heapq import heappop, heappush

import numpy as np

Tensor = None  # set by tensor.py once the Tensor class exists (it imports this module)
_new = object.__new__
_next_seq = itertools.count().__next__  # numbers the recorded nodes in order of creation
_ARRAYS = object()  # marks a node whose backward runs on numpy arrays (see array_backward)
_ONE, _MANY = object(), object()  # a node with one input, or with more than two
_NEEDS1 = ((False,), (True,))  # needs_input_grad, indexed by the flags
_NEEDS2 = (((False, False), (False, True)), ((True, False), (True, True)))


# --------------------------------------------------------------------------- errors
class ShapeError(ValueError):
    """Shapes that do not fit an op (names the op and the shapes)."""


class GradientError(RuntimeError):
    """A backward pass that cannot be carried out correctly."""


class AnomalyError(FloatingPointError):
    """A NaN or inf produced by an op while anomaly detection is on."""


# ---------------------------------------------------------------------- grad mode
class _Mode:
    grad_enabled = True
    anomaly = False
    transform_depth = 0  # > 0 inside tg.grad: inner gradients keep their graph
    mutations = 0        # in-place updates so far, anywhere (see Tensor._version)


class no_grad(contextlib.ContextDecorator):
    """Context manager and decorator: operations inside record no graph."""

    def __enter__(self):
        self.prev, _Mode.grad_enabled = _Mode.grad_enabled, False

    def __exit__(self, *exc):
        _Mode.grad_enabled = self.prev


class enable_grad(contextlib.ContextDecorator):
    """Context manager and decorator: record the graph again inside no_grad."""

    def __enter__(self):
        self.prev, _Mode.grad_enabled = _Mode.grad_enabled, True

    def __exit__(self, *exc):
        _Mode.grad_enabled = self.prev


def is_grad_enabled():
    return _Mode.grad_enabled


class detect_anomaly(contextlib.ContextDecorator):
    """Raise `AnomalyError` at the first op whose forward or backward gives NaN/inf.

    The error names the op and the line of user code that created it. Off by
    default; when off it costs one attribute check per op.
    """

    def __enter__(self):
        self.prev, _Mode.anomaly = _Mode.anomaly, True

    def __exit__(self, *exc):
        _Mode.anomaly = self.prev


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def _creation_site():
    """The innermost stack frame outside this package, as 'file:line in func'."""
    for frame in reversed(traceback.extract_stack()):
        if not os.path.abspath(frame.filename).startswith(_PACKAGE_DIR):
            return f"{frame.filename}:{frame.lineno} in {frame.name}\n    {frame.line}"
    return "<unknown>"


def _check_finite(array, what, node):
    if np.issubdtype(array.dtype, np.floating) and not np.all(np.isfinite(array)):
        where = node._site or "<unknown> (turn detect_anomaly on before the forward pass)"
        raise AnomalyError(f"{type(node).__name__}: {what} produced NaN or inf "
                           f"(op created at {where})")


# ------------------------------------------------------------------------ Function
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
    # store more on ctx (masks, axes) get a __dict__ only when they do. The inputs of
    # one- and two-input ops sit in _p0, _p1 rather than in a tuple: one object less
    # per op for the cyclic garbage collector to walk again and again while a long
    # graph grows (a third less forward time on a 100,000-op chain).
    __slots__ = ("_p0", "_p1", "needs_input_grad", "_saved", "_stamp", "_out", "_seq",
                 "__dict__", "__weakref__")
    _site = ""         # where the op was created (set in anomaly mode only)

    #: True when backward is plain arithmetic that reads the same on numpy arrays as on
    #: Tensors (``g * (1.0 - y * y)``). A first-order backward (no ``create_graph``) then
    #: runs it on the arrays themselves: no wrapper, no node per operation. With
    #: ``create_graph=True`` it runs on Tensors, so that the gradient has a graph.
    array_backward = False

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError

    @staticmethod
    def backward(ctx, grad):
        raise NotImplementedError

    @property
    def parents(self):
        """The positional arguments of ``apply``: the input Tensors and any constants."""
        p1 = self._p1
        if p1 is _ONE:
            return (self._p0,)
        return self._p0 if p1 is _MANY else (self._p0, p1)

    # ---- used inside forward / backward
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
                    if isinstance(p, Tensor) and p.data is v:
                        v = p
                        break
                else:
                    v = out if out is not None and out.data is v else Tensor._make(np.asarray(v))
            result.append(v)
        return tuple(result)

    # ---- building the graph
    @classmethod
    def apply(cls, *args, **kwargs):
        """Run forward on the inputs' arrays; record the node if any input needs a gradient."""
        ctx = _new(cls)
        ctx._saved = None
        # Unwrap the inputs. One and two inputs (nearly every op) are spelled out: on
        # small arrays a comprehension costs as much as the arithmetic itself.
        n = len(args)
        if n == 2:
            a, b = args
            arrays = (a.data if isinstance(a, Tensor) else a, b.data if isinstance(b, Tensor) else b)
        elif n == 1:
            a, = args
            arrays = (a.data,) if isinstance(a, Tensor) else args
        else:
            arrays = [a.data if isinstance(a, Tensor) else a for a in args]
        try:
            out = cls.forward(ctx, *arrays, **kwargs)
        except ValueError as e:
            if isinstance(e, ShapeError):
                raise
            shapes = ", ".join(str(np.shape(a)) for a in arrays)
            raise ShapeError(f"{cls.__name__}: inputs of shapes {shapes} do not fit: {e}") from None
        if out.__class__ is not np.ndarray:
            out = ctx._as_array(out)
        result = _new(Tensor)
        result.data = out
        if _Mode.anomaly:
            ctx._site = _creation_site()
            _check_finite(out, "forward", ctx)
        if _Mode.grad_enabled:
            if n == 2:  # (the flags of one and two inputs are shared tuples: no new object)
                needs = _NEEDS2[isinstance(a, Tensor) and a.requires_grad][
                    isinstance(b, Tensor) and b.requires_grad]
            elif n == 1:
                needs = _NEEDS1[isinstance(a, Tensor) and a.requires_grad]
            else:
                needs = tuple([isinstance(a, Tensor) and a.requires_grad for a in args])
            if True in needs:  # record the node
                if n == 2:
                    ctx._p0, ctx._p1 = a, b
                else:
                    ctx._p0, ctx._p1 = (a, _ONE) if n == 1 else (args, _MANY)
                ctx.needs_input_grad = needs
                ctx._seq = _next_seq()  # (the backward walk's order)
                ctx._out = None  # the output Tensor, set only while backward runs
                if ctx._saved is not None:
                    ctx._stamp = _Mode.mutations  # in-place updates after this: check them
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

    def _check_versions(self, out):
        """Refuse to run backward with saved values that were modified in place since."""
        stamp = self._stamp
        for i, a in enumerate(self.parents + (out,)):
            if (isinstance(a, Tensor) and a._vc is not None and a._vc[1] > stamp
                    and any(a.data is s for s in self._saved)):
                what = "its output" if a is out else f"input {i}"
                raise GradientError(
                    f"{type(self).__name__}: {what} (shape {a.shape}) was modified in place "
                    f"after the op saved it for backward (it is now at version {a._version}); "
                    "its gradient would be wrong. Use an out-of-place operation instead.")

    def _call_backward(self, out, g, arrays=False):
        """Run this node's backward for output ``out`` with upstream gradient ``g``.

        With ``arrays`` (a first-order pass), ``g`` is a numpy array (or, for a 0-d
        output, possibly a numpy scalar, as numpy's own arithmetic gives: ten times faster
        than 0-d arrays; never written into): an op with ``array_backward`` computes on it
        directly, any other op gets a Tensor as usual (the walk turns whatever comes back
        into arrays).
        """
        raw = arrays and self.array_backward
        if arrays and not raw:
            g = _wrap(g)
        if self._saved is not None:
            if _Mode.mutations != self._stamp:  # something was updated in place since
                self._check_versions(out)
            self._out = _ARRAYS if raw else out
        try:
            if _Mode.anomaly:  # check this node's gradients, not the ops inside its backward
                _Mode.anomaly = False
                try:
                    grads = self.backward(self, g)
                finally:
                    _Mode.anomaly = True
            else:
                grads = self.backward(self, g)
        finally:
            self._out = None  # no cycle output -> node -> output after the call
        if grads.__class__ is not tuple:
            grads = tuple(grads) if isinstance(grads, list) else (grads,)
        if len(grads) != len(self.needs_input_grad):  # (one flag per input)
            raise GradientError(f"{type(self).__name__}.backward returned {len(grads)} "
                                f"gradient(s) for {len(self.parents)} input(s)")
        return grads


# ------------------------------------------------------------------------ the walk
def unbroadcast(grad, shape, op_name="op"):
    """Sum a gradient down to ``shape``: undo numpy broadcasting of an input."""
    gshape = grad.shape
    if gshape == shape:
        return grad
    lead = len(gshape) - len(shape)  # the axes broadcasting put in front
    kept = [i for i, s in enumerate(shape) if s != gshape[lead + i]] if lead >= 0 else None
    if kept is None or (kept and any(shape[i] != 1 for i in kept)):  # (kept: stretched 1s)
        raise GradientError(f"{op_name}.backward returned a gradient of shape {gshape} "
                            f"for an input of shape {shape}")
    if lead:  # summed away: no reshape, no view
        grad = grad.sum(axis=tuple(range(lead)))
    return grad.sum(axis=tuple(kept), keepdims=True) if kept else grad


def _wrap(g):
    """A first-order gradient (array or numpy scalar) as a Tensor."""
    return Tensor._make(g if g.__class__ is np.ndarray else np.asarray(g))


def _as_gradient_of(p, pg, arrays):
    """A gradient returned by backward, as a numpy array or scalar (first order) or a
    Tensor."""
    if arrays:
        if pg.__class__ is not np.ndarray and not isinstance(pg, np.generic):
            pg = np.asarray(pg.data if isinstance(pg, Tensor) else pg, dtype=p.dtype)
        return pg
    if pg.__class__ is not Tensor and not isinstance(pg, Tensor):
        pg = Tensor._make(np.asarray(pg, dtype=p.dtype))
    return pg


def _handed_out(g, arrays, shared):
    """A gradient as a Tensor for ``.grad`` or a result: never memory that another
    gradient, the caller's input or a view shares (those are copied)."""
    if not arrays:  # create_graph: the gradient is a graph, handed out as it is
        return g
    if g.__class__ is not np.ndarray:  # a numpy scalar: a new 0-d array is nobody's
        return Tensor._make(np.array(g))
    if id(g) in shared or g.base is not None or not g.flags.writeable:
        g = g.copy()
    shared.add(id(g))
    return Tensor._make(g)


def _arrived(t, g, arrays, wanted, captured, shared):
    """A tensor's total gradient is known: run its hooks (which may replace it), then
    capture it (``gradients``) or keep it in ``.grad`` (leaves, ``retain_grad``)."""
    if t._hooks:
        gt = _wrap(g) if arrays else g
        for hook in t._hooks:
            new = hook(gt)
            if new is not None:
                gt = new if isinstance(new, Tensor) else Tensor(new)
        g = gt.data if arrays else gt
    if wanted is not None:
        if id(t) in wanted:
            captured[id(t)] = _handed_out(g, arrays, shared)
    elif t._ctx is None or t._retain:
        if t.grad is None:
            t.grad = _handed_out(g, arrays, shared)
        else:
            t.grad = t.grad + (_wrap(g) if arrays else g)
    return g


def _run_backward(root, gradient, create_graph=False, inputs=None):
    """Walk the graph below ``root``; return {id: grad} for ``inputs`` or accumulate.

    With ``inputs`` None, leaf tensors accumulate into ``.grad`` (out of place) and
    interior tensors with ``retain_grad()`` keep theirs. Hooks registered with
    ``register_hook`` see (and may replace) each tensor's total gradient.
    """
    wanted = None if inputs is None else {id(t) for t in inputs}
    captured = {}
    arrays = not create_graph  # first order: the gradients flow as plain numpy arrays
    pending = {id(root): gradient.data if arrays else gradient}
    shared = set()  # gradients that more than one tensor holds: copy before handing out
    # Topological order from the order of creation: an op's node is recorded after the
    # nodes of its inputs, so taking the interior tensors newest node first, every op that
    # used a tensor has sent its gradient before the tensor is taken; its total (the sum
    # over paths) then goes on. No count of consumers, no recursion. Only tensors that
    # receive a gradient enter the queue; leaves come last. (The id breaks ties between
    # tensors that share a node, such as an op's output and its copy.copy.)
    heap, leaves = [], []
    if root._ctx is None:
        leaves.append(root)
    else:
        heap.append((-root._ctx._seq, id(root), root))
    prev_mode, _Mode.grad_enabled = _Mode.grad_enabled, bool(create_graph)
    # The walk creates many short-lived objects and no cycles: the cyclic garbage
    # collector would only traverse the (possibly huge) graph again and again.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        while heap:
            t = heappop(heap)[2]
            node = t._ctx
            g = pending.pop(id(t))
            if t._hooks or t._retain or wanted is not None:
                g = _arrived(t, g, arrays, wanted, captured, shared)
            grads = node._call_backward(t, g, arrays)
            handed = []
            for p, pg, need in zip(node.parents, grads, node.needs_input_grad):
                if pg is None or not need:
                    continue
                pg = _as_gradient_of(p, pg, arrays)
                gdata = pg if arrays else pg.data
                pdata = p.data
                if gdata.shape != pdata.shape:
                    pg = unbroadcast(pg, pdata.shape, type(node).__name__)
                if gdata.dtype != pdata.dtype:
                    pg = pg.astype(pdata.dtype)
                if _Mode.anomaly:
                    _check_finite(pg if arrays else pg.data, "backward", node)
                if handed and any(pg is h for h in handed):  # one object, two inputs (add)
                    shared.add(id(pg))
                handed.append(pg)
                key = id(p)
                if key in pending:
                    pending[key] = pending[key] + pg
                else:
                    pending[key] = pg
                    if p._ctx is None:
                        leaves.append(p)
                    else:
                        heappush(heap, (-p._ctx._seq, key, p))
        for t in leaves:
            _arrived(t, pending.pop(id(t)), arrays, wanted, captured, shared)
    finally:
        _Mode.grad_enabled = prev_mode
        if gc_was_enabled:
            gc.enable()
    return captured


def _as_gradient(root, gradient):
    if isinstance(gradient, Tensor) and not gradient.requires_grad:
        gradient = gradient.data.copy()  # the caller keeps its own array
    if gradient is None:
        if root.size != 1:
            raise GradientError(
                f"backward() on a tensor of shape {root.shape} needs a `gradient` of that "
                "shape (only a one-element output has an implicit gradient of 1)")
        one = np.empty(root.shape, dtype=root.dtype)  # (np.ones is a Python-level wrapper)
        one.fill(1)
        return Tensor._make(one)
    g = gradient if isinstance(gradient, Tensor) else Tensor(np.array(gradient, dtype=root.dtype))
    if g.shape != root.shape:
        raise GradientError(f"backward(): gradient of shape {g.shape} does not match "
                            f"the output's shape {root.shape}")
    return g


def backward(tensor, gradient=None, create_graph=False):
    """Accumulate d(tensor)/d(leaf) into every leaf's ``.grad`` (see Tensor.backward)."""
    if not tensor.requires_grad:
        raise GradientError("backward(): the tensor does not require grad and has no graph "
                            "(did you create it under no_grad, or forget requires_grad=True?)")
    _run_backward(tensor, _as_gradient(tensor, gradient), create_graph)


def gradients(output, inputs, grad_output=None, create_graph=False):
    """d(output)/d(inputs) as a tuple of Tensors, without touching any ``.grad``.

    Inputs the output does not depend on get a zero gradient.
    """
    inputs = tuple(inputs)
    if not output.requires_grad:
        captured = {}
    else:
        captured = _run_backward(output, _as_gradient(output, grad_output), create_graph, inputs)
    return tuple(captured.get(id(t)) if id(t) in captured
                 else Tensor._make(np.zeros(t.shape, dtype=t.dtype)) for t in inputs)


# ---------------------------------------------------------------- function transforms
def _argnums_tuple(argnums):
    return (argnums,) if isinstance(argnums, int) else tuple(argnums)


def _trace(f, args, kwargs, nums):
    """Call f with args[nums] made differentiable; inner transforms keep their graphs."""
    args = list(args)
    for i in nums:
        if not (isinstance(args[i], Tensor) and args[i].requires_grad):
            args[i] = Tensor(args[i], requires_grad=True)
    _Mode.transform_depth += 1
    try:
        with enable_grad():
            return args, f(*args, **kwargs)
    finally:
        _Mode.transform_depth -= 1


def value_and_grad(f, argnums=0):
    """Transform ``f`` into a function returning ``(f(*args), df/d args[argnums])``.

    ``f`` must return a one-element Tensor. The gradients are returned, never
    stored in ``.grad``; they carry a graph when the call itself is recorded, so
    ``grad(grad(f))`` gives second derivatives.
    """
    nums = _argnums_tuple(argnums)

    @functools.wraps(f)
    def wrapped(*args, **kwargs):
        args, out = _trace(f, args, kwargs, nums)
        if not isinstance(out, Tensor) or out.size != 1:
            shape = getattr(out, "shape", type(out).__name__)
            raise GradientError(f"grad: f must return a one-element Tensor, got shape {shape}; "
                                "for a vector output use tg.jacobian(f)")
        grads = gradients(out, [args[i] for i in nums], create_graph=_Mode.transform_depth > 0)
        if _Mode.transform_depth == 0:
            out = out.detach()  # the caller gets a value, not the graph that made it
        return out, (grads[0] if isinstance(argnums, int) else grads)

    return wrapped


def grad(f, argnums=0):
    """Transform ``f`` into the function computing its gradient (see value_and_grad)."""
    vg = value_and_grad(f, argnums)

    @functools.wraps(f)
    def wrapped(*args, **kwargs):
        return vg(*args, **kwargs)[1]

    return wrapped


def jacobian(f, argnums=0):
    """Transform ``f`` into the function giving its Jacobian d f(x)_i / d x_j.

    The result has shape ``f(x).shape + x.shape``; it costs one backward pass per
    output element, so it is meant for small problems. ``hessian(f) = jacobian(grad(f))``.
    """

    @functools.wraps(f)
    def wrapped(*args, **kwargs):
        args, out = _trace(f, args, kwargs, (argnums,))
        a = args[argnums]
        keep = _Mode.transform_depth > 0
        flat = out.reshape(-1)
        rows = [gradients(flat[i], [a], create_graph=keep)[0] for i in range(flat.shape[0])]
        from .tensor import stack
        return stack(rows).reshape(*out.shape, *a.shape)

    return wrapped


def hessian(f, argnums=0):
    """Transform a scalar ``f`` into the function giving its Hessian (small inputs)."""
    return jacobian(grad(f, argnums), argnums)


def hvp(f, x, v):
    """Hessian-vector product H(x) @ v of a scalar ``f``, without forming the Hessian.

    Two backward passes: g = df/dx with its graph kept, then d(g . v)/dx.
    """
    x = x if isinstance(x, Tensor) and x.requires_grad else Tensor(x, requires_grad=True)
    v = v.data if isinstance(v, Tensor) else np.asarray(v, dtype=x.dtype)
    with enable_grad():
        g, = gradients(f(x), [x], create_graph=True)
        if not g.requires_grad:  # f is linear in x: the Hessian is 0
            return Tensor._make(np.zeros(x.shape, dtype=x.dtype))
        return gradients((g * v).sum(), [x], create_graph=_Mode.transform_depth > 0)[0]

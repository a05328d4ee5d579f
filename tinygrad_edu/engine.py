"""The fast engine: the backward walk that ``loss.backward()`` runs.

It computes exactly what the reference engine (reference.py, the one to read first)
computes; tests/test_engine.py and the whole gradcheck table run through both walks.
What makes it fast, each measured on the benchmarks (benchmarks/README.md):

- Topological order from the order of creation. An op's node is numbered after the
  nodes of its inputs, so taking the interior tensors newest node first (a heap), every
  op that used a tensor has sent its gradient before the tensor is taken: no pass to
  sort or count consumers (W1 0.92x, W4 0.90x the time of Kahn's algorithm).
- First order on numpy arrays. Without ``create_graph`` the gradients flow as plain
  arrays (numpy scalars for 0-d ones: ten times faster arithmetic than 0-d arrays); an
  op with ``array_backward`` computes on them directly, through its ``backward_array``
  kernel when it has one (kernels.py). No Tensor wrapper, no node per operation
  (a Tensor-only first-order walk is about 1.5x slower on W1).
- No cyclic garbage collection during the walk: it creates many short-lived objects
  and no cycles, and the collector would only traverse the (possibly huge) graph again
  and again.
"""
from __future__ import annotations

import gc
from heapq import heapify, heappop, heappush

import numpy as np

from . import modes
from .errors import GradientError
from .function import _MANY, _ONE, _wrap
from .kernels import unbroadcast
from .modes import set_modes
from .tensor import Tensor, as_numeric, run_hooks


def _as_gradient_of(p, pg):
    """A first-order gradient returned by backward, as a numpy array or scalar."""
    if pg.__class__ is not np.ndarray and not isinstance(pg, np.generic):
        pg = np.asarray(pg._data if isinstance(pg, Tensor) else pg, dtype=p.dtype)
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
    if t._hooks:  # (a hook that writes into its gradient must not reach another's array)
        gt = run_hooks(t, _wrap(g.copy() if id(g) in shared else g) if arrays else g)
        g = gt._data if arrays else gt
    if wanted is not None:
        if id(t) in wanted:
            captured[id(t)] = _handed_out(g, arrays, shared)
    elif t._ctx is None or t._retain:
        if t.grad is None:
            t.grad = _handed_out(g, arrays, shared)
        else:
            t.grad = t.grad + (_wrap(g) if arrays else g)
    return g


def walk(root, gradient, create_graph=False, inputs=None):
    """Walk the graph below ``root``; return {id: grad} for ``inputs`` or accumulate.

    ``gradient`` is dL/droot as a Tensor of root's shape. ``root`` may also be a tuple
    of tensors with a tuple of gradients: the walk then starts from all of them at once
    (dL/dt sums the paths from every root). With ``inputs`` None, leaf tensors
    accumulate into ``.grad`` (out of place) and interior tensors with ``retain_grad()``
    keep theirs. Hooks registered with ``register_hook`` see (and may replace) each
    tensor's total gradient.
    """
    wanted = None if inputs is None else {id(t) for t in inputs}
    captured = {}
    arrays = not create_graph  # first order: the gradients flow as plain numpy arrays
    pending = {}
    shared = set()  # gradients that more than one tensor holds: copy before handing out
    # Only tensors that receive a gradient enter the queue; leaves come last. (The id
    # breaks ties between tensors that share a node, such as an op's output and its
    # copy.copy.)
    heap, leaves = [], []
    for r, gr in ((root, gradient),) if isinstance(root, Tensor) else zip(root, gradient):
        gr, key = gr._data if arrays else gr, id(r)
        if key in pending:  # one root given twice: its gradients add up
            pending[key] = pending[key] + gr
            continue
        pending[key] = gr
        if r._ctx is None:
            leaves.append(r)
        else:
            heap.append((-r._ctx._seq, key, r))
    if len(heap) > 1:
        heapify(heap)
    # modes.backward_mode and no cyclic gc, written out (two context objects cost more
    # than the walk of a small graph: the RBM's update, W6)
    prev = set_modes(bool(create_graph), False)
    checking = prev[1]  # the caller's anomaly mode: check every gradient
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        while heap:
            t = heappop(heap)[2]
            node = t._ctx
            g = pending.pop(id(t))
            if t._hooks or t._retain or (wanted is not None and id(t) in wanted):
                g = _arrived(t, g, arrays, wanted, captured, shared)
            grads = node.vjp(t, g, arrays)
            p1 = node._p1  # (node.parents, written out: one call less per node)
            parents = (node._p0,) if p1 is _ONE else node._p0 if p1 is _MANY else (node._p0, p1)
            handed = []
            for p, pg, need in zip(parents, grads, node.needs_input_grad):
                if pg is None or not need:
                    continue
                if arrays and pg.__class__ is not np.ndarray:  # (inline: one call per edge)
                    pg = _as_gradient_of(p, pg)
                gdata = pg if arrays else pg._data
                pdata = p._data
                if gdata.shape != pdata.shape:
                    pg = unbroadcast(pg, pdata.shape, type(node).__name__)
                if gdata.dtype is not pdata.dtype and gdata.dtype != pdata.dtype:  # (is: W1 2%)
                    pg = pg.astype(pdata.dtype)
                if checking:
                    modes.check_finite(pg if arrays else pg._data, "backward", node)
                # one object sent to two inputs (add): copy before handing out. (A generator,
                # not a loop: a loop variable would keep the last gradient alive, W5.)
                if handed and any(pg is h for h in handed):
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
            if wanted is None or id(t) in wanted or t._hooks:
                _arrived(t, pending.pop(id(t)), arrays, wanted, captured, shared)
    finally:
        if gc_was_enabled:
            gc.enable()
        set_modes(*prev)
    return captured


def as_root_gradient(root, gradient, create_graph=False):
    """dL/droot as a Tensor of root's shape and dtype: 1 for a one-element root, else
    checked. A copy, the caller keeps its own array (a hook or a user's backward may write
    into the gradient it is given, or into a view of it); only a gradient that has a graph
    of its own, under create_graph, is used as it is (to be differentiated through)."""
    if isinstance(gradient, Tensor) and not (create_graph and gradient.requires_grad):
        gradient = gradient._data  # (copied and cast below)
    if gradient is None:
        if root.size != 1:
            raise GradientError(
                f"backward() on a tensor of shape {root.shape} needs a `gradient` of that "
                "shape (only a one-element output has an implicit gradient of 1)")
        one = np.empty(root.shape, dtype=root.dtype)  # (np.ones is a Python-level wrapper)
        one.fill(1)
        return Tensor._make(one)
    if gradient.__class__ is np.ndarray and gradient.dtype == root.dtype:
        g = Tensor._make(gradient.copy())  # (the common case without as_numeric's checks)
    else:
        g = gradient if isinstance(gradient, Tensor) else Tensor._make(
            as_numeric(gradient, "backward(gradient)", root.dtype))
    if g.shape != root.shape:
        raise GradientError(f"backward(): gradient of shape {g.shape} does not match "
                            f"the output's shape {root.shape}")
    return g


def _roots(what, outputs, grads, create_graph, need_graph):
    """The roots of a walk, as the walk takes them: one Tensor and its gradient, or (for
    ``outputs`` a list, ``grads`` None or one gradient per output, as in torch.autograd;
    a single array or Tensor is one gradient, never split into rows) a tuple of Tensors
    and a tuple of gradients. An output without a graph sends nothing: it is dropped
    (None when none is left), or refused when ``need_graph``."""
    single = isinstance(outputs, Tensor)
    outputs = (outputs,) if single else tuple(outputs)
    if not outputs or not all(isinstance(t, Tensor) for t in outputs):
        raise GradientError(f"{what}: the outputs must be a Tensor or a non-empty list of "
                            f"Tensors, got {[type(t).__name__ for t in outputs]}")
    if single or isinstance(grads, (Tensor, np.ndarray)):
        grads = (grads,)
    grads = (None,) * len(outputs) if grads is None else tuple(grads)
    if len(grads) != len(outputs):
        raise GradientError(f"{what}: {len(outputs)} outputs but {len(grads)} gradients "
                            "(give one per output, None for a one-element output)")
    if need_graph and not all(t.requires_grad for t in outputs):
        raise GradientError(f"{what}: the tensor does not require grad and has no graph "
                            "(did you create it under no_grad, or forget requires_grad=True?)")
    kept = [(t, as_root_gradient(t, g, create_graph))
            for t, g in zip(outputs, grads) if t.requires_grad]
    if not kept:
        return None, None
    if single:
        return kept[0]
    return tuple(t for t, _ in kept), tuple(g for _, g in kept)


def backward(tensor, gradient=None, create_graph=False):
    """Accumulate d(tensor)/d(leaf) into every leaf's ``.grad`` (see Tensor.backward).

    ``tensor`` may be a list of tensors, with ``gradient`` a list of their gradients
    (torch.autograd.backward's ``tensors`` and ``grad_tensors``): the leaves get the
    gradient of sum_k <gradient_k, tensor_k>, every path from every output summed.
    """
    walk(*_roots("backward()", tensor, gradient, create_graph, need_graph=True), create_graph)


def gradients(output, inputs, grad_output=None, create_graph=False):
    """d(output)/d(inputs) as a tuple of Tensors, without touching any ``.grad``.

    ``output`` may be a list of tensors, with ``grad_output`` a list of their gradients
    (torch.autograd.grad's ``outputs`` and ``grad_outputs``): the gradients are then
    those of sum_k <grad_output_k, output_k>. Inputs the output does not depend on get
    a zero gradient.
    """
    inputs = tuple(inputs)
    root, gradient = _roots("gradients()", output, grad_output, create_graph, need_graph=False)
    captured = {} if root is None else walk(root, gradient, create_graph, inputs)
    return tuple(captured.get(id(t)) if id(t) in captured
                 else Tensor._make(np.zeros(t.shape, dtype=t.dtype)) for t in inputs)

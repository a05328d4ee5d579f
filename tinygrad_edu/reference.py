"""The reference engine: backpropagation written to be read. Start here.

A Tensor made by an op keeps the op's node (``t.grad_fn``); the node keeps its inputs
(``node.parents``). Those back-pointers make a graph with the loss at the top.
``backward(loss)`` applies the chain rule to it:

1. Sort the tensors so that every tensor comes after all of its inputs (``toposort``).
2. Walk that order backwards, from the loss (dL/dL = 1) to the leaves. When a tensor t
   comes up, every op that used t has already sent t its share of dL/dt, so the sum of
   those shares, over every path, is complete: the chain rule with total derivatives.
3. Hand t's gradient g to the node that made t: ``node.vjp(t, g)`` returns dL/d input for
   each input (the op's own ``backward``, its derivative formula in Tensor operations).
4. Broadcasting is undone once, here: a gradient of the broadcast shape is summed down
   to the input's shape (``unbroadcast``), so no op can forget it.

Leaves end up with their total gradient in ``.grad``. ``loss.backward()`` runs the fast
engine (engine.py), which computes the same numbers with less Python per op; the test
suite runs every engine test and every gradient check through both walks.
"""
from __future__ import annotations

import numpy as np

from . import modes
from .errors import GradientError
from .kernels import unbroadcast
from .modes import backward_mode
from .tensor import Tensor, run_hooks


def toposort(root):
    """The tensors below ``root`` (a Tensor, or a tuple of them) that require grad, each
    after all of its inputs.

    An iterative depth-first search (no recursion: a chain of a million ops is fine);
    tensors are told apart by ``id()``, because ``==`` on Tensors compares values.
    """
    order, visited = [], set()
    roots = (root,) if isinstance(root, Tensor) else root
    stack = [(r, False) for r in reversed(roots)]
    while stack:
        t, inputs_done = stack.pop()
        if inputs_done:            # all of t's inputs are in the order: t comes next
            order.append(t)
            continue
        if id(t) in visited:       # reached again by another path
            continue
        visited.add(id(t))
        stack.append((t, True))
        if t.grad_fn is not None:  # (reversed: the first input is taken first)
            for p in reversed(t.grad_fn.parents):
                if isinstance(p, Tensor) and p.requires_grad and id(p) not in visited:
                    stack.append((p, False))
    return order


def backward(root, gradient=None, create_graph=False, inputs=None, on_send=None):
    """Backpropagate from ``root``: d(root)/dt for every tensor t below it.

    gradient      dL/d(root), a Tensor of root's shape (default 1 for a one-element root).
                  (Several roots: ``root`` a tuple of Tensors and ``gradient`` a tuple of
                  their gradients; dL/dt then sums the paths from every root.)
    create_graph  record the backward pass itself, so that gradients can be
                  differentiated again (second derivatives); else nothing is recorded.
    inputs        None: accumulate into ``.grad`` of every leaf that requires grad (and of
                  interior tensors that called ``retain_grad()``). A list of tensors:
                  touch no ``.grad`` and return {id(t): dL/dt} for those of them reached.
    on_send       called as ``on_send(out, node, index, g, grad, broadcast)`` for every
                  path: ``node`` (which made ``out``) sends ``grad`` to its input
                  ``index``, from upstream gradient ``g``; ``broadcast`` tells whether
                  it had to be summed down. explain() builds its text from these calls.

    Hooks (``register_hook``) see each tensor's total gradient and may replace it.
    """
    if isinstance(root, Tensor):
        root, gradient = (root,), (gradient,)
    pending = {}                            # gradients that have arrived, not yet passed on
    for r, g in zip(root, gradient):
        if g is None:
            if r.size != 1:
                raise GradientError(f"backward() on a tensor of shape {r.shape} needs a "
                                    "`gradient` of that shape")
            g = Tensor(np.ones(r.shape, dtype=r.dtype))
        pending[id(r)] = pending[id(r)] + g if id(r) in pending else g
    wanted = None if inputs is None else {id(t) for t in inputs}
    found = {}
    with backward_mode(create_graph) as checking:  # record only for create_graph
        for t in reversed(toposort(root)):  # every user of t comes before t
            g = pending.pop(id(t), None)
            if g is None:                   # no path from root reaches t
                continue
            g = run_hooks(t, g)             # hooks see (and may replace) the total
            if wanted is not None:
                if id(t) in wanted:
                    found[id(t)] = g if create_graph else Tensor(g)  # (a copy: nobody's memory)
            elif t.is_leaf or t.retains_grad:  # copy on first store, then out of place
                g_own = g if create_graph else Tensor(g)
                t.grad = g_own if t.grad is None else t.grad + g
            node = t.grad_fn
            if node is None:                # a leaf: nothing below it
                continue
            for i, (p, gp) in enumerate(zip(node.parents, node.vjp(t, g))):
                if gp is None or not node.needs_input_grad[i]:
                    continue
                broadcast = gp.shape != p.shape
                gp = unbroadcast(gp, p.shape, type(node).__name__)  # broadcasting undone
                if gp.dtype != p.dtype:
                    gp = gp.astype(p.dtype)
                if checking:                # (anomaly mode: the first NaN names its op)
                    modes.check_finite(gp.data, "backward", node)
                if on_send is not None:
                    on_send(t, node, i, g, gp, broadcast)
                pending[id(p)] = pending[id(p)] + gp if id(p) in pending else gp
    return found


__all__ = ["backward", "toposort"]

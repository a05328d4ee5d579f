"""The graph as viz walks it: the vertices in order, and the backward pass with its paths.

Everything here walks the graph without recursion and keys tensors and nodes by
``id()``: a Tensor's ``==`` returns a Tensor, and two different tensors with equal
values are two different vertices of the graph.
"""
from __future__ import annotations

import collections

import numpy as np

from .. import reference
from ..kernels import unbroadcast
from ..tensor import Tensor


# ------------------------------------------------------------------------ the walk
def walk(root):
    """All tensors and op nodes below ``root``, parents before children.

    Returns a list of vertices in forward topological order; a vertex is a Tensor
    or a `Function` node. An op's inputs come in the order of its arguments. The
    walk is an iterative depth-first search, so a graph of any depth works.
    """
    order, entered = [], set()
    stack = [(root, False)]
    while stack:
        v, expanded = stack.pop()
        if expanded:
            order.append(v)  # after all its inputs
            continue
        if id(v) in entered:  # pushed twice (by two children): emit it once
            continue
        entered.add(id(v))
        stack.append((v, True))
        for p in reversed(_inputs(v)):
            if id(p) not in entered:
                stack.append((p, False))
    return order


def bfs_rank(root):
    """{id(vertex): distance rank} in breadth-first order from the output."""
    rank, queue = {id(root): 0}, collections.deque([root])
    while queue:
        v = queue.popleft()
        for p in _inputs(v):
            if id(p) not in rank:
                rank[id(p)] = len(rank)
                queue.append(p)
    return rank


def _inputs(v):
    """The vertices a vertex depends on: a tensor's node, or a node's input tensors."""
    if isinstance(v, Tensor):
        return [v.grad_fn] if v.grad_fn is not None else []
    return [p for p in v.parents if isinstance(p, Tensor)]


def is_parameter(t):
    """A leaf that requires grad: what training changes."""
    return t.grad_fn is None and t.requires_grad


# ---------------------------------------------------------------- the backward pass
class Contribution:
    """One path's share of an input's gradient: what ``node`` sends to input ``index``.

    ``g`` is the upstream gradient dL/d(out); ``value`` the contribution (already
    summed down to the input's shape); ``local`` the local derivative d(out)/d(input)
    when ``out`` has one element (else None); ``broadcast`` tells whether the engine
    had to sum a broadcast gradient down.
    """

    __slots__ = ("broadcast", "g", "index", "local", "node", "out", "value")

    def __init__(self, out, node, index, g, value, local, broadcast):
        self.out, self.node, self.index = out, node, index
        self.g, self.value, self.local, self.broadcast = g, value, local, broadcast


def backprop(root, order=None):
    """d(root)/d(t) for every tensor t below ``root`` that requires grad, and its paths.

    Runs the reference engine (``tinygrad_edu.reference.backward``), the walk that
    ``root.backward()`` is tested against, recording what every node sends to each of
    its inputs; touches no ``.grad`` (hooks run, as in a backward). Returns
    ``(grads, paths)``: {id(t): ndarray} and {id(t): [Contribution, ...]} in the order
    the contributions arrive.
    """
    if root.size != 1:
        raise ValueError(f"the output must have one element to start the backward pass, "
                         f"got shape {root.shape}")
    order = walk(root) if order is None else order
    paths = collections.defaultdict(list)

    def record(out, node, index, g, grad, broadcast):
        p = node.parents[index]
        local = None
        if out.size == 1:  # the local derivative d(out)/dp: the node's vjp of a 1
            one = node.vjp(out, Tensor(np.ones(out.shape, dtype=out.dtype)))[index]
            local = unbroadcast(one, p.shape, type(node).__name__).data.astype(p.dtype)
        paths[id(p)].append(Contribution(out, node, index, g.data, grad.data, local, broadcast))

    tensors = [v for v in order if isinstance(v, Tensor)]
    grads = reference.backward(root, inputs=tensors, on_send=record)
    return {k: g.data for k, g in grads.items()}, paths

"""Gradient mode and anomaly mode: switches every op reads. A leaf module (numpy only).

Both modes belong to the thread that sets them, as in PyTorch: ``no_grad()`` in one
thread never stops another thread from recording its graph. A new thread starts with
the defaults (gradients recorded, anomaly detection off), even when it was started
inside a ``no_grad()`` block; set the mode inside the thread's own function.
"""
from __future__ import annotations

import contextlib
import itertools
import os
import threading
import traceback

import numpy as np

from .errors import AnomalyError


class _ThreadState(threading.local):
    """The modes of the current thread (the class attributes are each thread's defaults)."""
    grad_enabled = True
    anomaly = False
    transform_depth = 0  # > 0 inside tg.grad: inner gradients keep their graph


state = _ThreadState()


class departures:
    """How many threads run with a mode off its default (recording off, or anomaly
    detection on). While none does, ``Function.apply`` takes the defaults without reading
    the thread's state: two thread-local reads less per op (about 2% of W1). A thread
    that left the defaults counts itself before its next op, so it always reads its own
    modes; a thread at the defaults is right either way."""
    count = 0
    _lock = threading.Lock()


def set_modes(grad_enabled, anomaly):
    """Set this thread's gradient and anomaly modes; return the previous pair."""
    prev = state.grad_enabled, state.anomaly
    state.grad_enabled, state.anomaly = grad_enabled, anomaly
    was, now = prev[0] and not prev[1], grad_enabled and not anomaly
    if was != now:
        with departures._lock:
            departures.count += 1 if was else -1
    return prev


class _Mutations:
    """In-place updates so far, in every thread (see Tensor._version): a graph node
    remembers the count when it saves values; a backward that finds the count unchanged
    knows that nothing it saved was written into."""
    count = 0
    _next = itertools.count(1).__next__  # atomic under the GIL: no increment is lost

    @classmethod
    def bump(cls):
        cls.count = n = cls._next()
        return n


mutations = _Mutations


class no_grad(contextlib.ContextDecorator):
    """Context manager and decorator: operations inside record no graph (this thread)."""

    def __enter__(self):
        self.prev = set_modes(False, state.anomaly)

    def __exit__(self, *exc):
        set_modes(self.prev[0], state.anomaly)


class enable_grad(contextlib.ContextDecorator):
    """Context manager and decorator: record the graph again inside no_grad (this thread)."""

    def __enter__(self):
        self.prev = set_modes(True, state.anomaly)

    def __exit__(self, *exc):
        set_modes(self.prev[0], state.anomaly)


def is_grad_enabled():
    """True when ops in this thread record the graph."""
    return state.grad_enabled


class detect_anomaly(contextlib.ContextDecorator):
    """Raise `AnomalyError` at the first op whose forward or backward gives NaN/inf.

    The error names the op and the line of user code that created it. Off by
    default; when off it costs one attribute check per op. Per thread, like no_grad.
    """

    def __enter__(self):
        self.prev = set_modes(state.grad_enabled, True)

    def __exit__(self, *exc):
        set_modes(state.grad_enabled, self.prev[1])


class backward_mode:
    """The modes of a backward pass, for both engines: ops inside it record a graph only
    for ``create_graph``, and anomaly checks of those ops are off (the walk checks each
    node's gradients itself). Gives whether it should: the anomaly mode of the caller."""

    def __init__(self, create_graph):
        self.create_graph = bool(create_graph)

    def __enter__(self):
        self.prev = set_modes(self.create_graph, False)
        return self.prev[1]

    def __exit__(self, *exc):
        set_modes(*self.prev)


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def creation_site():
    """The innermost stack frame outside this package, as 'file:line in func'."""
    for frame in reversed(traceback.extract_stack()):
        if not os.path.abspath(frame.filename).startswith(_PACKAGE_DIR):
            return f"{frame.filename}:{frame.lineno} in {frame.name}\n    {frame.line}"
    return "<unknown>"


def check_finite(array, what, node):
    """In anomaly mode: raise AnomalyError when ``array`` (made by ``node``) holds NaN/inf."""
    if np.issubdtype(array.dtype, np.floating) and not np.all(np.isfinite(array)):
        where = node._site or "<unknown> (turn detect_anomaly on before the forward pass)"
        raise AnomalyError(f"{type(node).__name__}: {what} produced NaN or inf "
                           f"(op created at {where})")


__all__ = ["detect_anomaly", "enable_grad", "is_grad_enabled", "no_grad"]

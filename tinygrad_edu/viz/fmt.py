"""Numbers, shapes and op arguments as short text, for labels and explanations."""
from __future__ import annotations

import numbers

import numpy as np


def fmt_num(x):
    """A number with 4 significant digits: 0.7311, 3, -1.5e-07, True."""
    if isinstance(x, (bool, np.bool_)):
        return str(bool(x))
    if isinstance(x, (numbers.Integral, np.integer)):
        return str(int(x))
    x = float(x)
    if x == 0:
        return "0"  # also -0.0
    return f"{x:.4g}"


def fmt_shape(shape):
    """(2, 3) -> '2×3', () -> 'scalar'."""
    return "×".join(str(s) for s in shape) if shape else "scalar"


def is_small(a, limit=6):
    return a.size <= limit and a.ndim <= 2


def fmt_values(a, limit=6):
    """The values of a small array ('[1, 2.5]', '[[1, 2], [3, 4]]'), else None."""
    a = np.asarray(a)
    if not is_small(a, limit):
        return None
    if a.ndim == 0:
        return fmt_num(a.item())
    if a.ndim == 1:
        return "[" + ", ".join(fmt_num(v) for v in a.tolist()) + "]"
    return "[" + ", ".join(fmt_values(row, limit) for row in a) + "]"


def fmt_rows(a, limit=6):
    """Like fmt_values, one string per row of a small matrix (for multi-line labels)."""
    a = np.asarray(a)
    if a.ndim == 2 and a.shape[0] > 1 and a.shape[1] > 1 and is_small(a, limit):
        rows = [fmt_values(row, limit) for row in a]
        return ["[" + rows[0]] + [" " + r for r in rows[1:-1]] + [" " + rows[-1] + "]"]
    return [fmt_values(a, limit)]


def fmt_summary(a):
    """'min -0.52, mean 0.013, max 0.98' (and how many NaN/inf) for a larger array."""
    a = np.asarray(a)
    if a.size == 0:
        return "empty"
    if a.dtype.kind == "b":
        return f"{int(a.sum())} of {a.size} true"
    finite = a[np.isfinite(a)] if a.dtype.kind in "fc" else a
    parts = []
    if finite.size:
        parts = [f"min {fmt_num(finite.min())}", f"mean {fmt_num(finite.mean())}",
                 f"max {fmt_num(finite.max())}"]
    bad = a.size - finite.size
    if bad:
        nan = int(np.isnan(a).sum())
        parts.append(", ".join(s for s in (f"{nan} NaN" if nan else "",
                                           f"{bad - nan} inf" if bad - nan else "") if s))
    return ", ".join(parts)


def fmt_array(a, limit=6):
    """Values of a small array, else its shape and min/mean/max, on one line."""
    a = np.asarray(a)
    return fmt_values(a, limit) or f"({fmt_shape(a.shape)}: {fmt_summary(a)})"


def fmt_constant(c):
    """A non-Tensor op argument, as short text ('2', '(2, 3)', '[0, 1:3]'), or None."""
    if c is None:
        return None
    if isinstance(c, (float, np.floating)):
        short = repr(float(c))  # a literal from the code: exact when it is short
        short = short.removesuffix(".0")
        return short if len(short) <= 8 else fmt_num(c)
    if isinstance(c, (numbers.Number, np.generic)):
        return fmt_num(c)
    if isinstance(c, np.ndarray):
        return fmt_values(c) or f"array {fmt_shape(c.shape)} {c.dtype}"
    if isinstance(c, np.dtype) or (isinstance(c, type) and issubclass(c, np.generic)):
        return str(np.dtype(c))
    if isinstance(c, tuple) and all(isinstance(i, (int, np.integer)) for i in c):
        return "(" + ", ".join(str(int(i)) for i in c) + ("," if len(c) == 1 else "") + ")"
    return _fmt_index(c)


def _fmt_index(idx):
    items = idx if isinstance(idx, tuple) else (idx,)
    out = []
    for i in items:
        if i is Ellipsis:
            out.append("...")
        elif i is None:
            out.append("None")
        elif isinstance(i, slice):
            s = ":".join("" if v is None else str(v) for v in (i.start, i.stop, i.step))
            out.append(s[:-1] if s.endswith(":") and i.step is None else s)
        elif isinstance(i, np.ndarray):
            out.append(fmt_values(i) or f"<{fmt_shape(i.shape)} {i.dtype}>")
        else:
            out.append(str(i))
    text = "[" + ", ".join(out) + "]"
    return text if len(text) <= 40 else text[:37] + "...]"

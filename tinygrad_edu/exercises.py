"""Exercises that check themselves: backpropagation, written and computed by the learner.

    from tinygrad_edu import exercises
    ex = exercises.sigmoid_backward
    print(ex.prompt)               # the task, with its numbers
    print(ex.starter)              # a template to fill in (it runs, and it is wrong)
    ex.check(backward)             # a Result: truthy when right, else a hint at the mistake
    ex.hints                       # more help, one step at a time

The exercises, in the order of the lesson (``EXERCISES`` holds them all):

    sigmoid_backward            write Sigmoid's backward (checked with gradcheck)
    mul_backward_broadcasting   write Mul's backward for inputs of shapes (3, 1) and (1, 4)
    dL_dw_by_hand               dL/dw of a logistic unit, computed by hand
    dL_dW_matrix                the same for two units sharing their input (W of shape (2, 3))
    missing_chain_rule_step     the blanked-out line of an explain() text
    learning_rate               the learning rate that makes a gradient-descent run converge

Each checker knows the typical mistakes of its exercise -- the upstream gradient g
forgotten, a sign, x where y belongs, a broadcast left unreduced, a transposed matrix,
one path of a fan-out -- and recognises them the way a teacher would: it computes what
each mistake would give and compares that with the answer. Answers that are no answer
(None, a string, a function that raises) get a message, never a traceback. Each
exercise class takes its numbers as arguments, so a teacher can hand out variants.
"""
from __future__ import annotations

import html
import inspect
import itertools
import os
import re
import textwrap
import traceback
from collections import namedtuple

import numpy as np

from . import kernels
from .engine import gradients
from .function import Function
from .modes import no_grad
from .optim import SGD
from .tensor import Tensor
from .testing import GradcheckError, gradcheck
from .viz import explain
from .viz.fmt import fmt_num, fmt_values
from .viz.graphwalk import backprop

_PACKAGE = os.path.dirname(os.path.abspath(__file__))
_NUMPY = os.path.dirname(os.path.abspath(np.__file__))


# ---------------------------------------------------------------------- the result
class Result:
    """The outcome of ``Exercise.check``: truthy when the answer is right.

    ``passed`` (bool), ``message`` (what is right, or the mistake it looks like and how
    to fix it), ``mistake`` (a short key for the diagnosed mistake, such as
    ``"forgot_g"`` or ``"broadcast"``; None when passed) and ``exercise`` (its name).
    Shows itself as readable text in the REPL and as a coloured box in Jupyter.
    """

    __slots__ = ("exercise", "message", "mistake", "passed")

    def __init__(self, passed, message, mistake=None, exercise=""):
        self.passed, self.message = bool(passed), message
        self.mistake, self.exercise = mistake, exercise

    def __bool__(self):
        return self.passed

    def _headline(self):
        return f"{'✓' if self.passed else '✗'} {self.exercise}: " + \
            ("passed" if self.passed else "not yet")

    def __str__(self):
        return f"{self._headline()}\n{textwrap.indent(_wrap(self.message), '  ')}"

    __repr__ = __str__

    def _repr_pretty_(self, p, cycle):
        p.text(str(self))

    def _repr_html_(self):
        colour = "#2e7d32" if self.passed else "#c62828"
        return (f'<div style="border-left: 4px solid {colour}; padding: 0.3em 0.8em">'
                f'<b style="color: {colour}">{html.escape(self._headline())}</b>'
                f'<div style="white-space: pre-wrap">{html.escape(self.message)}</div></div>')


def _wrap(text, width=88):
    """Prose lines filled to ``width``; lines that start with a space (formulas, code) kept."""
    return "\n".join(line if line[:1].isspace() else
                     textwrap.fill(line, width, break_long_words=False, break_on_hyphens=False)
                     for line in text.split("\n"))


class _Refused(Exception):
    """The answer cannot be graded (None, a string, code that raised); says why.
    ``key`` is the Result's mistake: "invalid", or "raised" when the learner's code raised."""

    def __init__(self, message, key="invalid"):
        super().__init__(message)
        self.key = key


# ------------------------------------------------------------ the exercise itself
class Exercise:
    """A graded exercise: read ``prompt``, fill in ``starter``, ``check`` the answer.

    ``name`` is the attribute of this module that holds it, ``title`` one line,
    ``prompt`` the task with its numbers, ``starter`` a code template that runs (and
    gives a wrong answer until it is filled in), ``hints`` a tuple of hints, each a
    step closer to the answer. Subclasses write ``_grade``.
    """

    name = title = prompt = starter = ""
    hints = ()

    def check(self, answer):
        """Grade ``answer``; returns a `Result` (never raises for a wrong or odd answer)."""
        try:
            return self._grade(answer)
        except _Refused as refusal:
            return self._fail(str(refusal), refusal.key)

    def _grade(self, answer):
        raise NotImplementedError

    def _pass(self, message):
        return Result(True, message, None, self.name)

    def _fail(self, message, mistake):
        return Result(False, message, mistake, self.name)

    def _fail_with(self, found, fallback):
        """The Result for a diagnosed mistake (a Candidate), else for ``fallback`` (text)."""
        if found is not None:
            return self._fail(found.message, found.key)
        return self._fail(f"{fallback} Hint: {self.hints[0]}", "unrecognised")

    def __str__(self):
        return f"{self.title}\n\n{self.prompt}"

    def __repr__(self):
        return f"<Exercise {self.name}: {self.title}>"

    def _repr_pretty_(self, p, cycle):
        p.text(str(self))


# ------------------------------------------------------- reading what was handed in
def _short(obj, limit=60):
    """A value in a message: its repr on one line, cut to ``limit`` characters; an array
    by its shape."""
    if isinstance(obj, (Tensor, np.ndarray)) and obj.ndim:
        return f"a {type(obj).__name__} of shape {obj.shape}"
    text = " ".join(repr(obj).split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _where(error):
    """' (line 3: `return g * y`)': the last line of the learner's code in the traceback."""
    frames = [f for f in traceback.extract_tb(error.__traceback__)
              if not os.path.abspath(f.filename).startswith((_PACKAGE + os.sep,
                                                            _NUMPY + os.sep))]
    if not frames:
        return ""
    f = frames[-1]
    return f" (line {f.lineno}: `{f.line.strip()}`)" if f.line else f" (line {f.lineno})"


def _run(what, fn, *args, **kwargs):
    """Call code that runs the learner's code; an exception becomes a `_Refused` naming
    ``what`` raised it, its message and the learner's line. (GradcheckError passes.)"""
    try:
        with np.errstate(all="ignore"):
            return fn(*args, **kwargs)
    except (_Refused, GradcheckError):
        raise
    except Exception as error:  # noqa: BLE001 -- the learner's code may raise anything
        raise _Refused(f"{what[0].upper() + what[1:]} raised {type(error).__name__}: "
                       f"{error}{_where(error)}. Fix that, then check again.", "raised") from None


def _as_numbers(answer, what, source="check() got"):
    """The answer as a float64 array, or a `_Refused` saying what to give instead
    (``source`` says where the value came from: 'check() got', 'your backward returned')."""
    if answer is None:
        raise _Refused(f"{source} None: give {what}.")
    if isinstance(answer, str):
        raise _Refused(f"{source} the string {_short(answer)}: give {what}, written as "
                       "numbers, without quotes.")
    if isinstance(answer, (bool, np.bool_)):
        raise _Refused(f"{source} {answer}: give {what} (not True or False).")
    if callable(answer):
        raise _Refused(f"{source} a function ({_short(answer)}): give {what} (the numbers "
                       "themselves).")
    try:
        values = np.asarray(answer.data if isinstance(answer, Tensor) else answer,
                            dtype=np.float64)
    except Exception:  # noqa: BLE001 -- an object of the learner's may raise anything here
        raise _Refused(f"{source} {_short(answer)}, which is not numbers: give "
                       f"{what}.") from None
    if not np.all(np.isfinite(values)):
        raise _Refused(f"Your answer ({fmt_values(values) or 'an array'}) contains NaN or inf: "
                       f"give {what} (finite numbers).")
    return values


def _backward_of(answer):
    """The learner's backward function: the answer itself, or its Function's backward."""
    if answer is None:
        raise _Refused("check() got None: write `def backward(ctx, g): ...` and pass the "
                       "function itself, check(backward).")
    if isinstance(answer, str):
        raise _Refused(f"check() got the string {_short(answer)}: pass the function itself, "
                       "check(backward), not its name or its source code.")
    if isinstance(answer, type) and issubclass(answer, Function):
        if answer.backward is Function.backward:
            raise _Refused(f"{answer.__name__} has no backward of its own: write "
                           "`def backward(ctx, g): ...` in the class.")
        return answer.backward
    if not callable(answer):
        raise _Refused(f"check() got {_short(answer)}: pass your backward function "
                       "(`def backward(ctx, g): ...`) or your tg.Function subclass.")
    try:
        inspect.signature(answer).bind(None, None)
    except TypeError:
        raise _Refused(f"backward takes two arguments, (ctx, g); yours takes "
                       f"{inspect.signature(answer)}.") from None
    except ValueError:  # no signature to read: the call will tell
        pass
    return answer


def _op(name, forward, backward):
    """A tg.Function subclass from a forward and the learner's backward."""
    return type(name, (Function,), {"forward": staticmethod(forward),
                                    "backward": staticmethod(backward)})


# ---------------------------------------------------------- recognising mistakes
class Choice(namedtuple("Choice", "key message value")):
    """One way to do a step: ``key`` None is the right way, else the mistake's key;
    ``message`` what to tell a learner who made it; ``value`` what the step gives."""

    __slots__ = ()


class Candidate(namedtuple("Candidate", "key message value")):
    """A wrong answer the checker recognises: the mistake's key, its hint, its value."""

    __slots__ = ()


def _join(messages):
    """Several mistakes' messages as one text: 'First. Also: second.'"""
    messages = list(messages)
    return " Also: ".join([messages[0]] + [m[0].lower() + m[1:] for m in messages[1:]])


def _combinations(axes, build):
    """A Candidate for every combination of choices, one per axis, with at least one
    mistake (the right choice comes first on each axis); fewest mistakes first.
    ``build(*values)`` computes the answer of a combination."""
    found = []
    for combo in itertools.product(*axes):
        wrong = [c for c in combo if c.key]
        if wrong:
            found.append(Candidate("+".join(c.key for c in wrong),
                                   _join(c.message for c in wrong),
                                   build(*(c.value for c in combo))))
    return sorted(found, key=lambda c: c.key.count("+"))


def _matches(answer, target, rtol, atol):
    """Same shape and close values; one number matches an array of that number repeated."""
    target = np.asarray(target, dtype=np.float64)
    if answer.size == 1 and target.size >= 1 and np.ptp(target) == 0 and target.ndim:
        target = target.reshape(-1)[:1].reshape(answer.shape)
    if answer.size == 1 and target.size == 1:
        answer, target = answer.reshape(()), target.reshape(())
    return answer.shape == target.shape and bool(np.allclose(answer, target, rtol, atol))


def _diagnose(answer, candidates, rtol=1e-6, atol=1e-9):
    """The first candidate whose value matches the answer, else None."""
    return next((c for c in candidates if _matches(answer, c.value, rtol, atol)), None)


# ============================================================ 1. Sigmoid's backward
def _sigmoid_forward(ctx, x):
    """Sigmoid's forward for the learner's backward: saves the input and the output."""
    y = kernels.sigmoid(x)
    ctx.save_for_backward(x, y)
    return y


class SigmoidBackward(Exercise):
    """Write Sigmoid's backward; checked with gradcheck on random inputs (``seed``)."""

    name, title = "sigmoid_backward", "1. Write Sigmoid's backward"
    starter = '''\
def backward(ctx, g):
    """dL/dx for y = sigmoid(x), given g = dL/dy."""
    x, y = ctx.saved_tensors   # the input and the output of forward, as Tensors
    return g                   # replace: g times sigmoid's local derivative dy/dx
'''
    hints = ("Sigmoid's derivative is best written with its output: dy/dx = y * (1 - y).",
             ("backward returns the chain rule's product: the upstream gradient g times the "
              "local derivative, g * dy/dx."),
             "return g * y * (1 - y)")

    def __init__(self, seed=0):
        rng = np.random.default_rng(seed)
        self._inputs = [rng.uniform(-3, 3, size=5), rng.uniform(-4, 4, size=(2, 3)),
                        np.array(rng.uniform(-2, 2))]
        self._upstream = rng.standard_normal(5)
        self.prompt = _wrap(
            "Sigmoid is y = sigmoid(x) = 1 / (1 + exp(-x)). Its forward is written for you: "
            "it computes y and saves x and y. Write its backward, `def backward(ctx, g):`, "
            "which receives g = dL/dy (a Tensor of y's shape) and returns dL/dx. Inside, "
            "`x, y = ctx.saved_tensors` gives the input and the output as Tensors.\n"
            "Pass the function to check(); or write a whole tg.Function subclass (forward "
            "and backward) and pass the class. The check runs tg.testing.gradcheck on random "
            "inputs of shapes (5,), (2, 3) and () with a random upstream gradient.")

    def _grade(self, answer):
        backward = _backward_of(answer)
        own_class = isinstance(answer, type)
        op = answer if own_class else _op("Sigmoid", _sigmoid_forward, backward)
        if own_class:
            self._check_forward(op)
        x, u = self._inputs[0], self._upstream
        grad = self._gradient(op, x, u)
        y = kernels.sigmoid(x)
        right = u * y * (1 - y)
        if not _matches(grad, right, 1e-6, 1e-9):
            return self._fail_with(
                _diagnose(grad, self._candidates(x, y, u)),
                f"Not sigmoid's gradient yet: with x = {fmt_values(x)} and g = "
                f"{fmt_values(u)}, your backward gives {fmt_values(grad)}, where dL/dx = "
                f"{fmt_values(right)}.")
        for i, x in enumerate(self._inputs):
            try:
                _run("your backward", gradcheck, op.apply, x, seed=i)
            except GradcheckError as error:
                return self._fail_with(None, f"gradcheck disagrees with your backward on an "
                                             f"input of shape {x.shape}: {error}.")
        return self._pass("Right: dL/dx = g * y * (1 - y), and gradcheck agrees on random "
                          "inputs of shapes (5,), (2, 3) and ().")

    def _check_forward(self, op):
        x = self._inputs[0]
        out = _run("your forward", op.apply, Tensor(x))
        values = _as_numbers(out, "sigmoid(x) (a Tensor)", "Your forward returned")
        if not _matches(values, kernels.sigmoid(x), 1e-6, 1e-9):
            raise _Refused(f"Your forward does not compute sigmoid: at x = {fmt_values(x)} "
                           f"it gives {fmt_values(values)}, sigmoid(x) = "
                           f"{fmt_values(kernels.sigmoid(x))}.")

    @staticmethod
    def _gradient(op, x, u):
        """dL/dx through the learner's op for L = sum(sigmoid(x) * u)."""
        xt = Tensor(x, requires_grad=True)
        out = _run("your forward", op.apply, xt)
        (grad,) = _run("your backward", gradients, (out * Tensor(u)).sum(), [xt])
        return grad.data

    @staticmethod
    def _candidates(x, y, u):
        local = y * (1 - y)
        s = kernels.sigmoid(y)
        axes = [
            [Choice(None, "", 1.0),
             Choice("sign", "Sign error: your gradient has the opposite sign. Sigmoid rises "
                            "everywhere, so dy/dx = y * (1 - y) is positive: no minus sign.",
                    -1.0)],
            [Choice(None, "", u),
             Choice("forgot_g", "You forgot g: y * (1 - y) is the local derivative dy/dx "
                                "only. backward returns dL/dx = g * dy/dx: multiply by the "
                                "gradient g that arrives from above (the chain rule).", 1.0)],
            [Choice(None, "", local),
             Choice("x_for_y", "You used x instead of y: the derivative is written with the "
                               "output, y * (1 - y) with y = sigmoid(x), not x * (1 - x).",
                    x * (1 - x)),
             Choice("times_x", "An extra factor x: y * (1 - y) * x is not sigmoid's "
                               "derivative (that x belongs to dz/dw = x of a logistic unit, "
                               "one step further down the chain): dy/dx = y * (1 - y).",
                    local * x),
             Choice("sigmoid_twice", "You applied sigmoid again: y is already sigmoid(x), "
                                     "so y.sigmoid() is sigmoid(sigmoid(x)). Use y itself: "
                                     "y * (1 - y).", s * (1 - s)),
             Choice("tanh", "That is tanh's derivative, 1 - y**2; sigmoid's is y * (1 - y).",
                    1 - y * y),
             Choice("dropped_one_minus_y", "A factor is missing: you have y where the "
                                           "derivative is y * (1 - y).", y),
             Choice("dropped_y", "A factor is missing: you have (1 - y) where the derivative "
                                 "is y * (1 - y).", 1 - y)],
        ]
        plain = [Candidate("zero", "Your gradient is zero everywhere: does backward return "
                                   "its result (a function without `return` gives None)?",
                           np.zeros_like(x)),
                 Candidate("identity", "You returned g unchanged: backward must multiply g "
                                       "by sigmoid's local derivative dy/dx.", u)]
        return plain + _combinations(axes, lambda sign, g, d: sign * g * d)


# ============================================ 2. Mul's backward, with broadcasting
class _Context:
    """What a backward reads from ctx: the saved inputs, and which of them need a gradient."""

    def __init__(self, *saved):
        self.saved_tensors = saved
        self.needs_input_grad = (True,) * len(saved)

    def __getattr__(self, name):
        raise AttributeError(f"ctx has no attribute {name!r}: it holds saved_tensors (the "
                             "inputs a and b) and needs_input_grad")


def _mul_forward(ctx, a, b):
    """Mul's forward for the learner's backward: saves both inputs."""
    ctx.save_for_backward(a, b)
    return a * b


def _broadcast_axes(shape, full):
    """The axes along which an array of ``shape`` was broadcast to ``full`` (as many axes)."""
    return tuple(k for k, (s, n) in enumerate(zip(shape, full)) if s == 1 and n != 1)


def _axis_text(axes):
    """'1' for one axis, '(0, 2)' for several."""
    return str(axes[0]) if len(axes) == 1 else str(axes)


def _sum_to(v, shape):
    """v summed over the axes where an array of ``shape`` (as many axes) was broadcast."""
    return v.sum(axis=_broadcast_axes(shape, v.shape), keepdims=True)


class MulBackwardBroadcasting(Exercise):
    """Write Mul's backward for broadcast inputs: each gradient in its input's shape.

    ``shape_a`` and ``shape_b`` have as many axes, and each has size 1 somewhere the other
    does not (both are broadcast).
    """

    name, title = "mul_backward_broadcasting", "2. Write Mul's backward, with broadcasting"
    def __init__(self, shape_a=(3, 1), shape_b=(1, 4), seed=0):
        rng = np.random.default_rng(seed)
        self.shapes = tuple(shape_a), tuple(shape_b)
        out = np.broadcast_shapes(*self.shapes)
        if len(shape_a) != len(shape_b) or out in self.shapes:
            raise ValueError(f"MulBackwardBroadcasting: shapes {shape_a} and {shape_b} must "
                             "have as many axes, and each must be broadcast")
        self._cases = [tuple(rng.uniform(-2, 2, size=s) for s in (*self.shapes, out))
                       for _ in range(2)]
        axes_a, axes_b = (_axis_text(_broadcast_axes(s, out)) for s in self.shapes)
        uses = int(np.prod([out[k] for k in _broadcast_axes(shape_a, out)]))
        self.starter = (
            "def backward(ctx, g):\n"
            f'    """(dL/da, dL/db) for y = a * b: a {shape_a}, b {shape_b}, g {out}."""\n'
            "    a, b = ctx.saved_tensors\n"
            f"    grad_a = g * b     # shape {out}: not yet a's shape\n"
            f"    grad_b = g * a     # shape {out}: not yet b's shape\n"
            "    return grad_a, grad_b\n")
        self.hints = (
            ("dL/da = g * b and dL/db = g * a, as without broadcasting; but both have g's "
             f"shape {out}."),
            (f"a {shape_a} was broadcast along axis {axes_a}: each of its elements was used "
             f"{uses} times, so its gradient adds up those {uses} contributions. Sum over the "
             "axis where the input has size 1, keeping it: "
             f".sum(axis={axes_a}, keepdims=True)."),
            (f"return (g * b).sum(axis={axes_a}, keepdims=True), "
             f"(g * a).sum(axis={axes_b}, keepdims=True)"))
        self.prompt = _wrap(
            f"Mul computes y = a * b with numpy's broadcasting. Here a has shape {shape_a} "
            f"and b has shape {shape_b}, so y, and g = dL/dy, have shape {out}. Write Mul's "
            "backward, `def backward(ctx, g):`, returning the pair (dL/da, dL/db) in the "
            f"INPUTS' shapes, {shape_a} and {shape_b}. `a, b = ctx.saved_tensors` gives the "
            "inputs as Tensors.\n"
            "The checker calls your function directly, with random a, b and g: the engine, "
            "which would sum a too-big gradient down for you, is not involved. Then "
            "tg.testing.gradcheck runs it through the engine too.")

    def _grade(self, answer):
        backward = _backward_of(answer)
        for a, b, g in self._cases:
            mine = self._call(backward, a, b, g)
            right = self._right(a, b, g)
            if all(_matches(m, r, 1e-6, 1e-9) for m, r in zip(mine, right)):
                continue
            if all(_matches(m, r, 1e-6, 1e-9) for m, r in zip(mine, right[::-1])):
                return self._fail("Swapped: you return (dL/db, dL/da); backward returns one "
                                  "gradient per input, in the order of the inputs: "
                                  "(dL/da, dL/db).", "swapped_order")
            wrong = [self._diagnose_input(i, m, a, b, g) for i, m in enumerate(mine)
                     if not _matches(m, right[i], 1e-6, 1e-9)]
            return self._fail("\n".join(text for _, text in wrong), wrong[0][0])
        op = _op("Mul", _mul_forward, backward)
        a, b, _ = self._cases[0]
        try:
            _run("your backward", gradcheck, op.apply, a, b, seed=0)
        except GradcheckError as error:
            return self._fail_with(None, f"gradcheck disagrees with your backward: {error}.")
        return self._pass("Right: dL/da = g * b and dL/db = g * a, each summed over the axes "
                          "where its input was broadcast (keepdims=True), and gradcheck "
                          "agrees.")

    def _call(self, backward, a, b, g):
        """The learner's (dL/da, dL/db) for these arrays, as two float arrays."""
        with no_grad():
            out = _run("your backward", backward, _Context(Tensor(a), Tensor(b)), Tensor(g))
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            raise _Refused(f"Backward returns two gradients, (dL/da, dL/db), one per input; "
                           f"yours returned {_short(out)}.")
        grads = []
        for name, value in zip("ab", out):
            if value is None:
                raise _Refused(f"Your backward returned None for dL/d{name}: both a and b "
                               "need a gradient here (ctx.needs_input_grad is (True, True)).")
            grads.append(_as_numbers(value, f"dL/d{name} (a Tensor or an array)",
                                     "Your backward returned"))
        return grads

    @staticmethod
    def _right(a, b, g):
        return _sum_to(g * b, a.shape), _sum_to(g * a, b.shape)

    def _diagnose_input(self, i, mine, a, b, g):
        """(key, text) for a wrong gradient of input i (0 for a, 1 for b)."""
        name, other = ("a", "b") if i == 0 else ("b", "a")
        own, partner = (a, b) if i == 0 else (b, a)
        shape = own.shape
        axes = _broadcast_axes(shape, g.shape)
        elsewhere = tuple(k for k in range(g.ndim) if k not in axes)
        axis_text = _axis_text(axes)
        reductions = [
            Choice(None, "", lambda v: v.sum(axis=axes, keepdims=True)),
            Choice("broadcast",
                   f"Your dL/d{name} has shape {g.shape}, g's shape, but {name} has shape "
                   f"{shape}: you forgot to undo the broadcasting. {name} was broadcast along "
                   f"axis {axis_text}, so each of its elements was used "
                   f"{int(np.prod([g.shape[k] for k in axes]))} times; add those up: "
                   f"(...).sum(axis={axis_text}, keepdims=True).", lambda v: v),
            Choice("keepdims",
                   f"Your dL/d{name} has the right numbers but shape "
                   f"{np.sum(g, axis=axes).shape} instead of {shape}: keep the summed axis, "
                   "keepdims=True.", lambda v: v.sum(axis=axes)),
            Choice("axis",
                   f"Your dL/d{name} is summed over the wrong axis: {name} (shape {shape}) "
                   f"was broadcast along axis {axis_text}, where it has size 1; sum over "
                   "that one.", lambda v: v.sum(axis=elsewhere, keepdims=True)),
            Choice("summed_all",
                   f"Your dL/d{name} is summed over every axis, to one number: sum only "
                   f"over axis {axis_text}, where {name} has size 1 (keepdims=True).",
                   lambda v: v.sum()),
        ]
        factors = [
            Choice(None, "", g * partner),
            Choice("swapped", f"You swapped a and b: y = a * b, so dL/d{name} = g * {other}, "
                              f"the other factor, not g * {name}.", g * own),
            Choice("forgot_g", f"You forgot g in dL/d{name}: it is the upstream gradient "
                               f"times the local derivative, g * {other}.",
                   np.broadcast_to(partner, g.shape)),
        ]
        candidates = _combinations([factors, reductions], lambda f, reduce: reduce(f))
        candidates.append(Candidate("forgot_g", factors[2].message, partner))
        found = _diagnose(mine, candidates)
        if found is not None:
            return found.key, found.message
        if mine.shape != shape:
            return "shape", (f"Your dL/d{name} has shape {mine.shape}, but {name} has shape "
                             f"{shape}: backward returns each gradient in its input's shape.")
        return "unrecognised", (f"Your dL/d{name} has the right shape, not the right numbers. "
                                f"Hint: {self.hints[0]}")


# ============================================= 3. dL/dw of a logistic unit, by hand
class _HandComputed(Exercise):
    """An exercise whose answer is numbers: right within rtol/atol (hand-rounded numbers
    pass), else the first matching mistake, else what is off.

    A subclass sets ``right`` (the answer's array), ``what`` (how to give it, for the
    messages), ``passed_text`` and writes ``candidates()``. An all-zero answer is the
    starter's, not yet filled in.
    """

    rtol, atol = 0.01, 0.005
    what = "your answer"

    def _grade(self, answer):
        values = _as_numbers(answer, self.what)
        right = np.asarray(self.right)
        same_shape = values.shape == right.shape or values.size == right.size == 1
        if same_shape and _matches(values, right, self.rtol, self.atol):
            return self._pass(self.passed_text)
        if not np.any(values):
            return self._fail(f"That is still the starter's value (zero): replace it with "
                              f"your computation. Hint: {self.hints[0]}", "starter")
        found = _diagnose(values, self.candidates(), self.rtol, self.atol)
        if found is not None or not same_shape:
            return self._fail_with(found, f"Your answer has shape {values.shape}: give "
                                          f"{self.what}.")
        close = np.isclose(values, right, self.rtol, self.atol)
        some = ""
        if close.any() and right.ndim:
            where = ", ".join(str([int(k) for k in ix]) for ix in np.argwhere(close))
            some = f" The element(s) at {where} are right; the others are not."
        return self._fail_with(None, f"Not the value yet.{some}")

    def candidates(self):
        """The recognised wrong answers, in the order they are tried (a list of Candidate)."""
        raise NotImplementedError


def _cross_entropy_parts(W, x, b, t):
    """z, y and dL/dw of L = sum cross-entropy(sigmoid(W x + b), t), computed with tg."""
    Wt = Tensor(W, requires_grad=True)
    z = Wt @ Tensor(x) + Tensor(b)
    y = z.sigmoid()
    loss = -(Tensor(t) * y.log() + (1 - Tensor(t)) * (1 - y).log()).sum()
    loss.backward()
    return z.data, y.data, Wt.grad.data


def _dz_choices(z, y, t):
    """The ways to get dL/dz of a logistic unit with cross-entropy: right, and wrong."""
    return [Choice(None, "", y - t),
            Choice("squared_error", "You kept the factor y * (1 - y): that is the gradient of "
                                    "the squared error. With cross-entropy, dL/dy = (y - t) / "
                                    "(y (1 - y)) cancels it, and dL/dz = y - t.",
                   (y - t) * y * (1 - y)),
            Choice("z_for_y", "You used z where y = sigmoid(z) belongs: dL/dz = y - t.",
                   z - t),
            Choice("forgot_dy_dz", "You stopped at dL/dy = -t/y + (1 - t)/(1 - y): multiply by "
                                   "dy/dz = y (1 - y) too (which gives dL/dz = y - t).",
                   -t / y + (1 - t) / (1 - y))]


_SIGN = [Choice(None, "", 1.0),
         Choice("sign", "Sign error: dL/dz = y - t, not t - y (the loss falls as y moves "
                        "towards t, so the gradient points away from t).", -1.0)]


class LogisticGradient(_HandComputed):
    """dL/dw of one logistic unit with cross-entropy, computed by hand."""

    name, title = "dL_dw_by_hand", "3. dL/dw of a logistic unit, by hand"
    hints = ("The chain rule: dL/dw = dL/dz * dz/dw with z = w·x + b, so dz/dw = x.",
             ("With cross-entropy and a sigmoid, dL/dz = y - t (the y (1 - y) of the sigmoid "
              "cancels against dL/dy)."),
             "dL/dw = (y - t) * x: compute z, then y = 1 / (1 + exp(-z)), then multiply.")

    def __init__(self, x=(2.0, -1.0, 0.5), w=(0.3, 0.8, -0.4), b=0.1, t=1.0):
        self.x, self.w, self.b, self.t = (np.asarray(v, dtype=np.float64) for v in (x, w, b, t))
        self.z, self.y, self.right = _cross_entropy_parts(self.w, self.x, self.b, self.t)
        n = self.x.size
        self.what = f"dL/dw as a list of {n} numbers [dL/dw1, ..., dL/dw{n}]"
        self.starter = f"answer = {[0.0] * n}   # [dL/dw1, ..., dL/dw{n}]\n"
        self.prompt = _wrap(
            f"A logistic unit with inputs x = {fmt_values(self.x)}, weights w = "
            f"{fmt_values(self.w)}, bias b = {fmt_num(self.b)} and target t = "
            f"{fmt_num(self.t)}:\n"
            "    z = w·x + b,   y = sigmoid(z) = 1 / (1 + exp(-z)),\n"
            "    L = -(t log y + (1 - t) log(1 - y))   (cross-entropy)\n"
            f"Compute dL/dw by hand (paper, or numpy; not backward()) and give the {n} "
            "numbers as a list, to 3 significant digits or better.")
        self.passed_text = (f"Right: dL/dw = (y - t) x = {fmt_values(self.right)} (y = "
                            f"{fmt_num(self.y)}). tg.viz.explain(L) writes the same "
                            "computation out step by step.")

    def candidates(self):
        z, y, t, x = self.z, self.y, self.t, self.x
        factors = [Choice(None, "", x),
                   Choice("missing_x", "You are missing the factor x: y - t is dL/dz (the "
                                       "gradient for the bias); dL/dw = dL/dz * dz/dw, with "
                                       "dz/dw = x.", np.ones_like(x)),
                   Choice("w_for_x", "You multiplied by w where x belongs: z = w·x + b, so "
                                     "dz/dw = x.", self.w)]
        return _combinations([_SIGN, _dz_choices(z, y, t), factors],
                             lambda sign, dz, f: sign * dz * f)


class LogisticGradientMatrix(_HandComputed):
    """dL/dW of two logistic units sharing their input (W of shape (2, 3)), by hand."""

    name, title = "dL_dW_matrix", "3b. dL/dW of two logistic units (a matrix), by hand"
    hints = (("Each row i of W is the weight vector of unit i: dL/dW[i] = (y_i - t_i) x, as "
              "in exercise 3."),
             ("dL/dW has W's shape, one row per unit and one column per input: the outer "
              "product of (y - t) and x."),
             "np.outer(y - t, x)")

    def __init__(self, x=(1.0, 2.0, -1.0), W=((0.5, -0.2, 0.1), (-0.3, 0.4, 0.6)),
                 b=(0.0, -0.5), t=(1.0, 0.0)):
        self.x, self.W, self.b, self.t = (np.asarray(v, dtype=np.float64) for v in (x, W, b, t))
        self.z, self.y, self.right = _cross_entropy_parts(self.W, self.x, self.b, self.t)
        rows, cols = self.W.shape
        self.what = f"dL/dW as a list of {rows} rows of {cols} numbers (W's shape {self.W.shape})"
        self.starter = f"answer = {[[0.0] * cols for _ in range(rows)]}   # dL/dW, W's shape\n"
        self.prompt = _wrap(
            f"Two logistic units share the input x = {fmt_values(self.x)}. Their weights "
            f"are the rows of W = {fmt_values(self.W)} (shape {self.W.shape}), their biases "
            f"b = {fmt_values(self.b)}, their targets t = {fmt_values(self.t)}:\n"
            "    z = W x + b,   y = sigmoid(z)   (both of shape "
            f"({rows},)),\n"
            "    L = sum over the units of -(t_i log y_i + (1 - t_i) log(1 - y_i))\n"
            "Compute dL/dW by hand (paper, or numpy; not backward()) and give it as a "
            f"nested list of W's shape {self.W.shape}: row i, column j is dL/dW_ij.")
        self.passed_text = (f"Right: dL/dW = outer(y - t, x) = {fmt_values(self.right)}, "
                            "W's shape: row i is (y_i - t_i) x.")

    def candidates(self):
        z, y, t, x = self.z, self.y, self.t, self.x
        layouts = [Choice(None, "", lambda m: m),
                   Choice("transposed", f"Your matrix is transposed: dL/dW has W's shape "
                                        f"{self.W.shape}, one row per unit: "
                                        "dL/dW_ij = (y_i - t_i) x_j, i.e. outer(y - t, x), "
                                        "not outer(x, y - t).", lambda m: m.T)]
        factors = [Choice(None, "", x[None, :]),
                   Choice("missing_x", "You are missing the factor x: y - t is dL/dz; "
                                       "dL/dW_ij = dL/dz_i * x_j.", np.ones((1, x.size))),
                   Choice("W_for_x", "You multiplied by W where x belongs: dz_i/dW_ij = x_j.",
                          self.W)]
        found = _combinations([layouts, _SIGN, _dz_choices(z, y, t), factors],
                              lambda lay, sign, dz, f: lay(sign * dz[:, None] * f))
        found.append(Candidate("missing_x", factors[1].message, y - t))
        return found


# ======================================== 4. the missing step of a printed explain()
class MissingChainRuleStep(_HandComputed):
    """Fill in the blanked-out gradient of an explain() text: z fans out to y and q."""

    name, title = "missing_chain_rule_step", "4. The missing step of the chain rule"
    rtol, atol = 0.005, 0.002
    what = "dL/dz, one number"
    starter = "answer = 0.0   # dL/dz\n"
    hints = (("The chain rule for one path: dL/dz = dL/dq * dq/dz (the gradient at the "
              "op's output times the op's local derivative), both printed above."),
             "z is used twice, by q and by y: each use is a path, and dL/dz adds the paths up.",
             "dL/dz = dL/dq * dq/dz + dL/dy * dy/dz")

    def __init__(self, w=0.8, x=1.5, c=3.0):
        wt, xt = Tensor(float(w), requires_grad=True), Tensor(float(x))
        z = wt * xt
        y = z.sigmoid()
        q = z * float(c)
        L = y * q
        names = dict(w=wt, x=xt, z=z, y=y, q=q, L=L)
        text = explain(L, names=names)
        self.right = text.grad(z)
        self._paths = [(next(n for n, t in names.items() if t is p.out), p)
                       for p in backprop(L)[1][id(z)]]
        self.prompt = _wrap(
            "tg.viz.explain() wrote out the backward pass of this small graph, with one "
            "line blanked out. Fill in the number dL/dz, from the numbers printed above it "
            "(to 3 significant digits or better).") + "\n\n" + _blank(text, "z")
        self.passed_text = (f"Right: dL/dz = {fmt_num(self.right)}, the sum over the two "
                            "paths, each the upstream gradient times the local derivative.")

    def candidates(self):
        locals_ = " + ".join(f"d{n}/dz" for n, _ in self._paths)
        upstreams = " + ".join(f"dL/d{n}" for n, _ in self._paths)
        found = [Candidate("forgot_upstream",
                           f"You added the local derivatives ({locals_}) but did not "
                           "multiply each by its upstream gradient: every path is dL/d(out) "
                           "* d(out)/dz.", sum(float(p.local) for _, p in self._paths)),
                 Candidate("forgot_local",
                           f"You added the upstream gradients ({upstreams}) but did not "
                           "multiply each by its local derivative d(out)/dz.",
                           sum(float(p.g) for _, p in self._paths))]
        for n, p in self._paths:
            other = " and ".join(m for m, _ in self._paths if m != n)
            found.append(Candidate("forgot_upstream+sum",
                                   f"That is d{n}/dz alone, a local derivative: multiply it "
                                   f"by the upstream gradient dL/d{n}, and sum in the path "
                                   f"via {other} too (z is used twice).", float(p.local)))
            found.append(Candidate("sum",
                                   f"That is the path via {n} only, dL/d{n} * d{n}/dz: z is "
                                   f"used twice, so dL/dz is the sum over both paths (via "
                                   f"{other} too).", float(p.value)))
        found.append(Candidate("product",
                               "You multiplied the paths: along one path the chain rule "
                               "multiplies, but the paths into z add up (their sum).",
                               float(np.prod([p.value for _, p in self._paths]))))
        return found


def _blank(text, name):
    """``text`` with the gradient lines of ``name`` replaced by a blank, and the rest of
    the backward pass (which would give the blank away) left out."""
    lines = text.splitlines()
    head = f"dL/d{name} = "
    start = next(i for i, line in enumerate(lines) if line.startswith(head))
    end = start + 1
    while end < len(lines) and re.match(r"\s+= ", lines[end]):
        end += 1
    block_end = next((i for i in range(end, len(lines)) if not lines[i].strip()), len(lines))
    return "\n".join(lines[:start] + [f"dL/d{name} = ____      <- this number"] +
                     lines[end:block_end] +
                     ["", f"(the rest of the backward pass starts from dL/d{name}: left out)"])


# ============================================================ 5. the learning rate
class LearningRate(Exercise):
    """Choose the learning rate that makes gradient descent on a 1-D quadratic converge.

    The run: L(w) = a (w - m)**2 from w = w0, ``steps`` steps of tg.optim.SGD; it
    converges when the final loss is below ``tol``. ``run(lr)`` returns its losses.
    """

    name, title = "learning_rate", "5. Choose the learning rate"
    starter = "lr = 1.0   # the learning rate\n"

    def __init__(self, a=4.0, m=1.5, w0=-0.5, steps=15, tol=1e-4):
        self.a, self.m, self.w0 = float(a), float(m), float(w0)
        self.steps, self.tol = int(steps), float(tol)
        self.prompt = _wrap(
            f"Gradient descent on L(w) = {fmt_num(a)} (w - {fmt_num(m)})**2, starting at w = "
            f"{fmt_num(w0)} (where L = {fmt_num(self._loss(w0))}), takes {steps} steps "
            "w <- w - lr * dL/dw. Choose the learning rate lr so that after those "
            f"{steps} steps the loss is below {tol:g}. check(lr) runs the {steps} steps with "
            "tg.optim.SGD and says what happened; run(lr) gives the losses, to experiment.")
        self.hints = (
            (f"Too large a rate overshoots the minimum at w = {fmt_num(m)} and the loss grows; "
             "too small a rate crawls. Try a few values with run(lr)."),
            (f"dL/dw = {fmt_num(2 * a)} (w - {fmt_num(m)}), so each step multiplies "
             f"(w - {fmt_num(m)}) by (1 - {fmt_num(2 * a)} lr): it converges when that factor "
             "is small in size."),
            f"lr = 1/{fmt_num(2 * a)} reaches the minimum in one step.")

    def _loss(self, w):
        return self.a * (w - self.m) ** 2

    def run(self, lr):
        """The losses of the run with this learning rate: at the start, then after each
        step (it stops early when the loss overflows)."""
        w = Tensor(self.w0, requires_grad=True)
        optimizer = SGD([w], lr=lr)
        losses = []
        with np.errstate(all="ignore"):
            for step in range(self.steps + 1):
                optimizer.zero_grad()
                loss = self.a * (w - self.m) ** 2
                losses.append(loss.item())
                if step == self.steps or not np.isfinite(losses[-1]):
                    break
                loss.backward()
                optimizer.step()
        return losses

    def _grade(self, answer):
        lr = _as_numbers(answer, "the learning rate, one number")
        if lr.size != 1:
            raise _Refused(f"check() got {lr.size} numbers: give one learning rate.")
        lr = float(lr.reshape(()))
        start = self._loss(self.w0)
        if lr < 0:
            return self._fail("A negative learning rate climbs: w moves along the gradient, "
                              "uphill, and the loss diverges. Choose a positive one.",
                              "negative")
        if lr == 0:
            return self._fail(f"lr = 0 does not move w: the loss stays {fmt_num(start)}. "
                              "Choose a positive learning rate.", "zero")
        losses = self.run(lr)
        last = losses[-1]
        if not np.isfinite(last) or last > start:
            steps = len(losses) - 1
            return self._fail(f"lr = {lr:g} diverges (the loss grew from {fmt_num(start)} to "
                              f"{fmt_num(last)} in {steps} step{'s' * (steps != 1)}): every step "
                              "overshoots the minimum by more than it was away. Choose a "
                              "smaller learning rate.", "diverges")
        if last >= self.tol:
            overshoots = lr * 2 * self.a > 1
            why = ("w jumps across the minimum at every step and the jumps shrink slowly, "
                   "if at all: "
                   "a smaller learning rate" if overshoots else
                   "the steps are too small: a larger learning rate")
            return self._fail(f"lr = {lr:g} is too slow (after {self.steps} steps the loss is "
                              f"still {fmt_num(last)}, not below {self.tol:g}): {why} "
                              "gets there sooner.", "too_slow")
        return self._pass(f"lr = {lr:g} converges: after {self.steps} steps the loss is "
                          f"{fmt_num(last)} (from {fmt_num(start)}), below {self.tol:g}.")


# ------------------------------------------------------------------ the exercises
sigmoid_backward = SigmoidBackward()
mul_backward_broadcasting = MulBackwardBroadcasting()
dL_dw_by_hand = LogisticGradient()
dL_dW_matrix = LogisticGradientMatrix()
missing_chain_rule_step = MissingChainRuleStep()
learning_rate = LearningRate()

EXERCISES = (sigmoid_backward, mul_backward_broadcasting, dL_dw_by_hand, dL_dW_matrix,
             missing_chain_rule_step, learning_rate)

__all__ = ["EXERCISES", "Exercise", "LearningRate", "LogisticGradient",
           "LogisticGradientMatrix", "MissingChainRuleStep", "MulBackwardBroadcasting", "Result",
           "SigmoidBackward", "dL_dW_matrix", "dL_dw_by_hand", "learning_rate",
           "missing_chain_rule_step", "mul_backward_broadcasting", "sigmoid_backward"]

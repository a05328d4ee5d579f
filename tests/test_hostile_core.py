"""Hostile input, part 1 (issue 13): the core engine as a careless or hostile user meets it.

Categories here: construction and dtypes; shape errors; backward misuse; numerical
extremes; memory. (Threads, files, estimators, modules and optimizers are in
test_hostile_learning.py.) Every case asserts a correct result or a clear error: the
project's own error type, with a message naming the op and the offending value or shape.
Expected values are derived by hand (or in plain numpy / longdouble), never read off the
library.
"""
import gc
import re
import warnings
import weakref
from contextlib import contextmanager

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import nn
from tinygrad_edu.nn import functional as F

# ------------------------------------------------------------------------------ helpers

def raises(exc, fn, *patterns):
    """fn() raises exc, and its message contains every regex pattern (case-insensitive)."""
    with pytest.raises(exc) as info:
        fn()
    msg = str(info.value)
    missing = [p for p in patterns if not re.search(p, msg, re.IGNORECASE | re.DOTALL)]
    assert not missing, f"the message {msg!r} does not contain {missing}"
    return info.value


def leaf(values, dtype=np.float64):
    return tg.Tensor(np.asarray(values, dtype=dtype), requires_grad=True)


def eq(tensor_or_array, expected):
    """Exactly equal values (and the same shape)."""
    got = np.asarray(getattr(tensor_or_array, "data", tensor_or_array))
    np.testing.assert_array_equal(got, np.asarray(expected))
    assert got.shape == np.shape(expected), (got.shape, np.shape(expected))


@contextmanager
def gc_off():
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


HUGE = r"1358|e\+?33[01]|\bint\b|large|overflow"  # 2**1100 = 1.358...e331
COMPLEX = r"complex|1\+2j"
STR_A = r"'a'|\"a\"|\bstr\b|<U1"


# =====================================================================================
# construction and dtypes
# =====================================================================================

BAD_DATA = [
    ("None", None, r"None"),
    ("list_with_None", [1, None], r"None"),
    ("nested_None", [[1.0, 2.0], [None, 3.0]], r"None"),
    ("object_array_None", np.array([1.0, None], dtype=object), r"None"),
    ("numeric_str", "1.5", r"1\.5"),
    ("int_str", "3", r"'3'|\bstr\b|<U1"),
    ("list_of_numeric_str", ["1", "2"], r"'1'|\bstr\b|<U1"),
    ("np_str_array", np.array(["1.0", "2.0"]), r"'1\.0'|\bstr\b|<U3"),
    ("np_str_scalar", np.str_("2"), r"'2'|\bstr\b|<U1"),
    ("bytes", b"1", r"bytes|b'1'|\|S1"),
    ("letters", ["a"], STR_A),
    ("complex", 1 + 2j, COMPLEX),
    ("complex_list", [1 + 2j, 3], COMPLEX),
    ("complex_array", np.array([1 + 2j, 2]), COMPLEX),
    ("complex_zero_imag", np.array([1.0, 2.0], dtype=complex), COMPLEX),
    ("np_complex64", np.complex64(1), COMPLEX),
    ("huge_int", 2**1100, HUGE),
    ("neg_huge_int", -2**1100, HUGE),
    ("list_with_huge_int", [1, 2**1100], HUGE),
    ("object", object(), r"object"),
    ("dict", {"a": 1}, r"dict"),
    ("set", {1, 2}, r"set"),
    ("function", len, r"builtin|function|len"),
    ("object_array_str", np.array(["a", 1], dtype=object), STR_A + r"|object"),
]


@pytest.mark.parametrize("data, pattern", [c[1:] for c in BAD_DATA], ids=[c[0] for c in BAD_DATA])
def test_construction_refuses_non_numeric_data(data, pattern):
    raises(tg.DTypeError, lambda: tg.Tensor(data), r"Tensor", pattern)


@pytest.mark.parametrize("dtype, pattern", [(np.complex128, r"complex"), (str, r"str|<U"),
                                            (object, r"object"), ("foo", r"foo")],
                         ids=["complex128", "str", "object", "unknown"])
def test_construction_refuses_non_float_dtype_argument(dtype, pattern):
    raises(tg.DTypeError, lambda: tg.Tensor([1, 2], dtype=dtype), r"Tensor", pattern)


def test_construction_ragged_list_is_a_clear_error():
    raises((tg.ShapeError, tg.DTypeError), lambda: tg.Tensor([[1, 2], [3]]), r"Tensor")


GOOD_DATA = [
    ("bool", True, 1.0),
    ("int_list", [1, 2], [1.0, 2.0]),
    ("bool_list", [True, False], [1.0, 0.0]),
    ("int", 3, 3.0),
    ("np_int32", np.int32(3), 3.0),
    ("np_bool", np.bool_(True), 1.0),
    ("int8_array", np.array([1, -2], dtype=np.int8), [1.0, -2.0]),
    ("uint64_array", np.array([2**63], dtype=np.uint64), [9.223372036854775808e18]),
    ("mixed_list", [[1, 2.5]], [[1.0, 2.5]]),
]


@pytest.mark.parametrize("data, expected", [c[1:] for c in GOOD_DATA],
                         ids=[c[0] for c in GOOD_DATA])
def test_construction_python_and_integer_data_become_float64(data, expected):
    t = tg.Tensor(data)
    assert t.dtype == np.float64
    eq(t, expected)


FLOAT_KEPT = [
    ("float16_array", lambda: tg.Tensor(np.array([1.5, 2.0], dtype=np.float16)), np.float16),
    ("float32_array", lambda: tg.Tensor(np.ones((2, 2), dtype=np.float32)), np.float32),
    ("float32_scalar", lambda: tg.Tensor(np.float32(1.25)), np.float32),
    ("dtype_argument", lambda: tg.Tensor([1, 2], dtype=np.float32), np.float32),
    ("float32_plus_float", lambda: tg.Tensor(np.ones(2, np.float32)) + 0.1, np.float32),
    ("float32_times_int", lambda: tg.Tensor(np.ones(2, np.float32)) * 3, np.float32),
    ("float16_sigmoid", lambda: tg.Tensor(np.zeros(2, np.float16)).sigmoid(), np.float16),
    ("float32_sum", lambda: tg.Tensor(np.ones(3, np.float32)).sum(), np.float32),
]


@pytest.mark.parametrize("make, dtype", [c[1:] for c in FLOAT_KEPT], ids=[c[0] for c in FLOAT_KEPT])
def test_construction_float16_and_float32_are_preserved(make, dtype):
    assert make().dtype == dtype


def test_construction_empty_sum_is_zero_and_backward_works():
    x = leaf([])
    y = x.sum()
    assert x.shape == (0,) and y.item() == 0.0
    y.backward()
    eq(x.grad, np.zeros(0))


def test_construction_empty_rows_sum_over_axis():
    x = tg.Tensor(np.zeros((0, 3)), requires_grad=True)
    y = x.sum(axis=0)
    eq(y, np.zeros(3))
    y.backward(np.ones(3))
    eq(x.grad, np.zeros((0, 3)))


def test_construction_empty_matmul_and_backward():
    x = tg.Tensor(np.zeros((0, 3)))
    w = leaf(np.ones((3, 2)))
    y = x @ w
    assert y.shape == (0, 2)
    y.sum().backward()
    eq(w.grad, np.zeros((3, 2)))


def test_construction_empty_columns_sum():
    eq(tg.Tensor(np.empty((2, 0))).sum(axis=1), [0.0, 0.0])


def test_construction_max_of_empty_is_a_shape_error():
    raises(tg.ShapeError, lambda: tg.Tensor([]).max(), r"Max")


def _read_only(values):
    a = np.array(values, dtype=np.float64)
    a.flags.writeable = False
    return a


def test_construction_read_only_input_trains():
    t = tg.Tensor(_read_only([1.0, 2.0, 3.0]), requires_grad=True)
    (t * t).sum().backward()
    eq(t.grad, [2.0, 4.0, 6.0])


def test_construction_read_only_input_is_copied():
    a = _read_only([1.0, 2.0])
    t = tg.Tensor(a)
    assert not np.shares_memory(t.data, a)
    t.data[0] = 7.0  # no graph: the tensor's own array is writable
    eq(t, [7.0, 2.0])
    eq(a, [1.0, 2.0])


def test_construction_read_only_operand():
    x = leaf([1.0, 2.0])
    y = (x * _read_only([3.0, 4.0])).sum()
    y.backward()
    assert y.item() == 11.0
    eq(x.grad, [3.0, 4.0])


def test_construction_copies_its_source():
    a = np.ones(3)
    t = tg.Tensor(a)
    a[0] = 5.0
    eq(t, [1.0, 1.0, 1.0])


BAD_OPERANDS = [
    ("None", None, r"None"),
    ("str", "a", STR_A),
    ("numeric_str", "1.5", r"1\.5"),
    ("object", object(), r"object"),
    ("huge_int", 2**1100, HUGE),
    ("neg_huge_int", -2**1100, HUGE),
    ("complex", 1 + 2j, COMPLEX),
    ("list_with_None", [1.0, None], r"None"),
]
BINARY = {"Add": lambda a, b: a + b, "Sub": lambda a, b: a - b, "Mul": lambda a, b: a * b,
          "Div": lambda a, b: a / b, "Pow": lambda a, b: a ** b, "MatMul": lambda a, b: a @ b}
OPERAND_CASES = (
    [(op, side, *c) for op in ("Add", "Mul") for side in ("right", "left") for c in BAD_OPERANDS]
    + [(op, "right", *c) for op in ("Sub", "Div", "Pow") for c in BAD_OPERANDS
       if c[0] in ("None", "str", "huge_int", "complex")]
    + [("MatMul", "right", *c) for c in BAD_OPERANDS if c[0] in ("None", "str")])


@pytest.mark.parametrize("op, side, name, value, pattern", OPERAND_CASES,
                         ids=[f"{c[0]}-{c[1]}-{c[2]}" for c in OPERAND_CASES])
def test_construction_bad_operand_names_op_and_value(op, side, name, value, pattern):
    x = leaf([1.0, 2.0])
    f = BINARY[op]
    call = (lambda: f(x, value)) if side == "right" else (lambda: f(value, x))
    raises(tg.DTypeError, call, op, pattern)


FREE_FUNCTIONS = [
    ("maximum_None", lambda x: tg.maximum(x, None), r"maximum", r"None"),
    ("maximum_str", lambda x: tg.maximum(x, "a"), r"maximum", STR_A),
    ("minimum_None", lambda x: tg.minimum(None, x), r"minimum", r"None"),
    ("where_b_None", lambda x: tg.where(np.array([True, False]), x, None), r"where", r"None"),
    ("where_a_None", lambda x: tg.where(np.array([True, False]), None, x), r"where", r"None"),
    ("where_complex", lambda x: tg.where(np.array([True, False]), x, 1j), r"where", r"complex|1j"),
]


@pytest.mark.parametrize("call, op, pattern", [c[1:] for c in FREE_FUNCTIONS],
                         ids=[c[0] for c in FREE_FUNCTIONS])
def test_construction_free_functions_refuse_bad_operands(call, op, pattern):
    raises(tg.DTypeError, lambda: call(leaf([1.0, 2.0])), op, pattern)


@pytest.mark.parametrize("dtype", [str, object, np.complex128, "U3", np.bytes_],
                         ids=["str", "object", "complex128", "U3", "bytes"])
def test_construction_astype_refuses_non_numeric(dtype):
    raises(tg.DTypeError, lambda: leaf([1.0, 2.0]).astype(dtype), r"astype")


def test_construction_astype_float32_keeps_gradient():
    x = leaf([1.0, 2.0])
    y = x.astype(np.float32)
    assert y.dtype == np.float32
    (y * 3).sum().backward()
    assert x.grad.dtype == np.float64
    eq(x.grad, [3.0, 3.0])


def test_construction_astype_int_is_values_without_graph():
    y = leaf([1.0, 2.0]).astype(np.int64)
    assert y.dtype == np.int64 and not y.requires_grad
    eq(y, np.array([1, 2]))


BAD_SHAPES = [
    ("zeros", (2.5,), r"2\.5"), ("zeros", ("3",), r"'3'|\bstr\b"), ("ones", (-1,), r"-1"),
    ("zeros", (2, -3), r"-3"), ("ones", (None,), r"None"), ("zeros", ((2, 2.0),), r"2\.0"),
]


@pytest.mark.parametrize("fn, args, pattern", BAD_SHAPES,
                         ids=[f"{c[0]}{c[1]!r}" for c in BAD_SHAPES])
def test_construction_zeros_ones_refuse_bad_shapes(fn, args, pattern):
    raises((tg.ShapeError, tg.DTypeError), lambda: getattr(tg, fn)(*args), fn, pattern)


@pytest.mark.parametrize("fn, args, shape", [("zeros", (2, 3), (2, 3)), ("ones", ((2,),), (2,)),
                                             ("zeros", (np.int64(2),), (2,)),
                                             ("ones", (0,), (0,))])
def test_construction_zeros_ones_good_shapes(fn, args, shape):
    t = getattr(tg, fn)(*args)
    assert t.shape == shape and t.dtype == np.float64
    eq(t, np.full(shape, 0.0 if fn == "zeros" else 1.0))


@pytest.mark.parametrize("make", [
    lambda: tg.Tensor([1, 2], dtype=np.int64, requires_grad=True),
    lambda: tg.Tensor([1, 2], dtype=np.int32, requires_grad=True),
    lambda: tg.Tensor([1, 2], dtype=np.uint8, requires_grad=True),
    lambda: tg.Tensor([True], dtype=bool, requires_grad=True),
    lambda: tg.Tensor([1, 2], dtype=np.int64).requires_grad_(),
], ids=["int64", "int32", "uint8", "bool", "requires_grad_"])
def test_construction_requires_grad_on_integers_refused(make):
    raises(tg.DTypeError, make, r"requires_grad", r"int|bool")


UNARY_FLOAT_OPS = {  # the float function, written with numpy on float64 values
    "sigmoid": lambda v: 1.0 / (1.0 + np.exp(-v)), "exp": np.exp, "log": np.log,
    "tanh": np.tanh, "softplus": lambda v: np.log1p(np.exp(v))}


@pytest.mark.parametrize("dtype", [np.int64, np.int32])
@pytest.mark.parametrize("method", sorted(UNARY_FLOAT_OPS))
def test_construction_float_ops_of_integer_tensors_compute_in_float64(method, dtype):
    """numpy's and PyTorch's rule: exp, log, ... of integers give floats (not a crash, not
    integers): the values of the float function at those integers."""
    x = tg.Tensor([1, 2], dtype=dtype)
    out = getattr(x, method)()
    assert out.dtype == np.float64
    np.testing.assert_allclose(out.data, UNARY_FLOAT_OPS[method](np.array([1.0, 2.0])),
                               rtol=1e-15)


# =====================================================================================
# shape errors
# =====================================================================================

REDUCTIONS = [("sum", "Sum"), ("mean", "Mean"), ("max", "Max"), ("min", "Min"),
              ("logsumexp", "LogSumExp")]
BAD_AXES = [(1.0, r"1\.0"), ("x", r"'x'|\bstr\b"), (2, r"\b2\b"), (-3, r"-3"),
            ((0, 0), r"\(0, 0\)|duplicate|repeat")]


@pytest.mark.parametrize("axis, pattern", BAD_AXES, ids=["float", "str", "2", "-3", "dup"])
@pytest.mark.parametrize("method, op", REDUCTIONS, ids=[c[0] for c in REDUCTIONS])
def test_shape_reduction_bad_axis(method, op, axis, pattern):
    x = leaf(np.ones((2, 3)))
    raises((tg.ShapeError, tg.DTypeError), lambda: getattr(x, method)(axis=axis), op, pattern)


@pytest.mark.parametrize("method, op", [("softmax", "Softmax"), ("log_softmax", "LogSoftmax")])
def test_shape_softmax_axis_out_of_range(method, op):
    raises(tg.ShapeError, lambda: getattr(leaf(np.ones((2, 3))), method)(axis=2),
           rf"{op}|{method}", r"2")


DIMS = r"\(2, 3\)|2 dim|ndim|\(0, 1(, 2)?\)|\(0,\)"  # the tensor's shape or the axes given
BAD_TRANSPOSES = [((1, 2), r"\b2\b"), ((0, 0), r"\(0, 0\)|repeat|duplicate"), ((2, 0), r"\b2\b"),
                  ((0,), DIMS), ((0, 1, 2), DIMS), ((-3, 0), r"-3"), ((1.5, 0), r"1\.5")]


@pytest.mark.parametrize("axes, pattern", BAD_TRANSPOSES, ids=[repr(c[0]) for c in BAD_TRANSPOSES])
def test_shape_transpose_bad_axes(axes, pattern):
    x = leaf(np.ones((2, 3)))
    raises((tg.ShapeError, tg.DTypeError), lambda: x.transpose(*axes), r"transpose", pattern)


@pytest.mark.parametrize("args", [(5,), (0, 5), (-3,), (1.5,)], ids=str)
def test_shape_flatten_bad_dims(args):
    x = leaf(np.ones((2, 3)))
    raises((tg.ShapeError, tg.DTypeError), lambda: x.flatten(*args), r"flatten",
           re.escape(str(args[-1])))


def test_shape_flatten_good():
    assert leaf(np.ones((2, 3))).flatten().shape == (6,)
    assert leaf(np.ones((2, 3, 4))).flatten(1).shape == (2, 12)


BAD_RESHAPES = [((1.5, 6), r"1\.5"), (("23",), r"'23'|\bstr\b"), ((-1, -1), r"-1|unknown"),
                ((4, 4), r"4"), ((7,), r"7"), (("2", "3"), r"'2'|\bstr\b"),
                ((None,), r"None")]


@pytest.mark.parametrize("shape, pattern", BAD_RESHAPES, ids=[repr(c[0]) for c in BAD_RESHAPES])
def test_shape_reshape_bad(shape, pattern):
    x = leaf(np.ones((2, 3)))
    raises((tg.ShapeError, tg.DTypeError), lambda: x.reshape(*shape), r"reshape", pattern)


@pytest.mark.parametrize("shape, result", [((3, -1), (3, 2)), (((6,),), (6,)),
                                           ((np.int64(6),), (6,))], ids=["-1", "tuple", "np_int"])
def test_shape_reshape_good(shape, result):
    x = leaf(np.arange(6.0).reshape(2, 3))
    y = x.reshape(*shape)
    assert y.shape == result
    eq(y.data.ravel(), np.arange(6.0))


COMPARISONS = [("lt", lambda a, b: a < b, r"<|\blt\b|less|compar"),
               ("le", lambda a, b: a <= b, r"<=|\ble\b|less|compar"),
               ("gt", lambda a, b: a > b, r">|\bgt\b|greater|compar"),
               ("ge", lambda a, b: a >= b, r">=|\bge\b|greater|compar"),
               ("eq", lambda a, b: a == b, r"==|\beq\b|equal|compar"),
               ("ne", lambda a, b: a != b, r"!=|\bne\b|equal|compar")]


@pytest.mark.parametrize("other", ["tensor", "ndarray"])
@pytest.mark.parametrize("cmp, pattern", [c[1:] for c in COMPARISONS],
                         ids=[c[0] for c in COMPARISONS])
def test_shape_comparison_of_mismatched_shapes(cmp, pattern, other):
    a = tg.Tensor([1.0, 2.0])
    b = tg.Tensor([1.0, 2.0, 3.0]) if other == "tensor" else np.array([1.0, 2.0, 3.0])
    raises(tg.ShapeError, lambda: cmp(a, b), pattern, r"\(2,\)", r"\(3,\)")


BAD_SETITEMS = [("row_too_long", 0, np.ones(4)), ("all_transposed", Ellipsis, np.ones((3, 2))),
                ("column_list", (slice(None), 0), [1.0, 2.0, 3.0]),
                ("row_tensor", 0, tg.Tensor(np.ones(5)))]


@pytest.mark.parametrize("idx, value", [c[1:] for c in BAD_SETITEMS],
                         ids=[c[0] for c in BAD_SETITEMS])
def test_shape_item_assignment_mismatched(idx, value):
    x = tg.zeros(2, 3)

    def assign():
        x[idx] = value
    raises(tg.ShapeError, assign, r"setitem|assign", r"\(2, 3\)|\(3,\)|\(2,\)|\(4,\)|\(5,\)")
    eq(x, np.zeros((2, 3)))


def test_shape_item_assignment_good():
    x = tg.zeros(2, 3)
    x[0] = 5.0
    x[:, 1] = [1.0, 2.0]
    eq(x, [[5.0, 1.0, 5.0], [0.0, 2.0, 0.0]])


@pytest.mark.parametrize("a_shape, b_shape", [((2, 3), (4, 5)), ((3,), (4,)), ((2, 3), (2,)),
                                              ((), (3,))], ids=str)
def test_shape_matmul_mismatched(a_shape, b_shape):
    a, b = leaf(np.ones(a_shape)), tg.Tensor(np.ones(b_shape))
    raises(tg.ShapeError, lambda: a @ b, r"MatMul", re.escape(str(b_shape)))


BAD_LABELS = [("short", (4, 3), np.array([0, 1, 2])), ("column", (4, 3), np.zeros((4, 1), int)),
              ("probs_wrong", (4, 3), np.ones((4, 2)) / 2), ("square", (4, 3), np.zeros((2, 2))),
              ("scalar", (4, 3), np.array(1)), ("1d_logits", (3,), np.array([0]))]


@pytest.mark.parametrize("shape, labels", [c[1:] for c in BAD_LABELS],
                         ids=[c[0] for c in BAD_LABELS])
def test_shape_cross_entropy_wrong_labels(shape, labels):
    x = leaf(np.zeros(shape))
    raises(tg.ShapeError, lambda: F.cross_entropy(x, labels), r"cross_entropy")


LOSS_SHAPES = [("mse_loss", (5, 1), (5,)), ("mse_loss", (5,), (5, 1)),
               ("mse_loss", (2, 3), (3,)), ("binary_cross_entropy", (5, 1), (5,)),
               ("binary_cross_entropy_with_logits", (5, 1), (5,))]


@pytest.mark.parametrize("loss, a, b", LOSS_SHAPES, ids=[f"{c[0]}{c[1]}{c[2]}" for c in LOSS_SHAPES])
def test_shape_losses_refuse_silent_broadcast(loss, a, b):
    p = leaf(np.full(a, 0.5))
    raises(tg.ShapeError, lambda: getattr(F, loss)(p, np.full(b, 0.5)), loss,
           re.escape(str(a)), re.escape(str(b)))


def _linear():
    return nn.Linear(2, 3, random_state=0)


@pytest.mark.parametrize("data", [[[1.0, 2.0], [3.0, -1.0]], [1.0, 2.0],
                                  np.array([[1.0, 2.0]])], ids=["list2d", "list1d", "ndarray"])
def test_shape_linear_accepts_lists_and_arrays(data):
    lin = _linear()
    expected = np.asarray(data) @ lin.weight.data + lin.bias.data  # by hand: x W + b
    np.testing.assert_allclose(np.asarray(lin(data).data), expected, rtol=1e-15)


@pytest.mark.parametrize("x, pattern", [(tg.Tensor(1.0), r"\(\)|0-d|scalar|dimension"),
                                        (np.float64(1.0), r"\(\)|0-d|scalar|dimension"),
                                        (tg.Tensor(np.ones((2, 4))), r"\(2, 4\)")],
                         ids=["0d_tensor", "np_scalar", "wrong_features"])
def test_shape_linear_refuses_bad_inputs(x, pattern):
    raises(tg.ShapeError, lambda: _linear()(x), r"Linear", pattern)


BAD_JOINS = [("concatenate", [(2, 3), (2, 4)], 0, r"Concatenate"),
             ("concatenate", [(2,), (2, 3)], 0, r"Concatenate"),
             ("concatenate", [(2, 3), (2, 3)], 2, r"Concatenate"),
             ("stack", [(2,), (3,)], 0, r"Stack"), ("concatenate", [], 0, r"Concatenate")]


@pytest.mark.parametrize("fn, shapes, axis, op", BAD_JOINS,
                         ids=[f"{c[0]}{c[1]}ax{c[2]}" for c in BAD_JOINS])
def test_shape_join_mismatched(fn, shapes, axis, op):
    xs = [leaf(np.ones(s)) for s in shapes]
    raises(ValueError, lambda: getattr(tg, fn)(xs, axis=axis), op)


@pytest.mark.parametrize("call, op", [
    (lambda: leaf(np.ones((2, 3))) * tg.Tensor(np.ones((3, 2))), r"Mul"),
    (lambda: tg.where(np.ones(2, bool), leaf(np.ones(3)), 0.0), r"Where"),
    (lambda: leaf(np.ones(3)).expand(2, 4), r"Expand"),
], ids=["mul", "where", "expand"])
def test_shape_broadcast_errors(call, op):
    raises(tg.ShapeError, call, op)


# =====================================================================================
# backward misuse
# =====================================================================================

@pytest.mark.parametrize("shape", [(2,), (2, 3), (0,)], ids=str)
def test_backward_non_scalar_needs_gradient(shape):
    y = leaf(np.ones(shape)) * 2
    raises(tg.GradientError, y.backward, r"backward", re.escape(str(shape)))


@pytest.mark.parametrize("out_shape, g", [((3,), np.ones(2)), ((3,), np.ones((3, 1))),
                                          ((3,), 1.0), ((), [1.0, 2.0])],
                         ids=["short", "column", "scalar_for_vector", "vector_for_scalar"])
def test_backward_gradient_of_wrong_shape(out_shape, g):
    y = (leaf(np.ones(out_shape)) * 2)
    raises((tg.ShapeError, tg.GradientError), lambda: y.backward(g), r"backward",
           re.escape(str(np.shape(g))))


@pytest.mark.parametrize("g, pattern", [([None, 1], r"None"), (["a", "b"], STR_A),
                                        ([1 + 2j, 0], r"complex|1\+2j"), ("1", r"'1'|\bstr\b"),
                                        (object(), r"object")],
                         ids=["None", "str", "complex", "numeric_str", "object"])
def test_backward_gradient_of_bad_type(g, pattern):
    y = leaf([1.0, 2.0]) * 2
    raises(tg.DTypeError, lambda: y.backward(g), r"backward", pattern)


def test_backward_without_requires_grad():
    raises(tg.GradientError, tg.Tensor([1.0, 2.0]).sum().backward, r"backward")


def test_backward_of_a_result_made_under_no_grad():
    x = leaf([1.0, 2.0])
    with tg.no_grad():
        y = (x * x).sum()
    raises(tg.GradientError, y.backward, r"backward")


@pytest.mark.parametrize("g, expected", [(np.array([1, 2]), [2.0, 4.0]),
                                         (np.array([1.0, 2.0], np.float32), [2.0, 4.0])],
                         ids=["int_gradient", "float32_gradient"])
def test_backward_gradient_is_converted(g, expected):
    x = leaf([1.0, 2.0])
    (x * 2).backward(g)
    assert x.grad.dtype == np.float64
    eq(x.grad, expected)


BAD_HOOKS = [("str", lambda g: "a", tg.DTypeError, STR_A),
             ("object", lambda g: object(), tg.DTypeError, r"object"),
             ("list_of_None", lambda g: [None, None], tg.DTypeError, r"None"),
             ("complex", lambda g: np.array([1j, 1j]), tg.DTypeError, r"complex"),
             ("wrong_shape", lambda g: np.ones(3), tg.ShapeError, r"\(3,\)")]


@pytest.mark.parametrize("where", ["leaf", "interior"])
@pytest.mark.parametrize("hook, exc, pattern", [c[1:] for c in BAD_HOOKS],
                         ids=[c[0] for c in BAD_HOOKS])
def test_backward_bad_hook_result(hook, exc, pattern, where):
    x = leaf([1.0, 2.0])
    h = x * 3
    (x if where == "leaf" else h).register_hook(hook)
    raises(exc, (h * h).sum().backward, r"hook", pattern)
    assert x.grad is None  # nothing stored silently


@pytest.mark.parametrize("hook", [lambda g: g * 2, lambda g: np.asarray(g.data) * 2],
                         ids=["tensor", "ndarray"])
def test_backward_hook_replacing_gradient(hook):
    x = leaf([1.0, 2.0])
    x.register_hook(hook)
    (x * x).sum().backward()
    eq(x.grad, [4.0, 8.0])  # 2 * (2x)


@pytest.mark.parametrize("shape", [(3,), (2, 1)], ids=str)
def test_backward_grad_assignment_of_wrong_shape(shape):
    x = leaf([1.0, 2.0])

    def assign():
        x.grad = tg.Tensor(np.ones(shape))
    raises(tg.ShapeError, assign, r"grad", re.escape(str(shape)), r"\(2,\)")


def test_backward_grad_assignment_none_clears():
    x = leaf([1.0, 2.0])
    (x * x).sum().backward()
    x.grad = None
    assert x.grad is None


def test_backward_grad_assignment_then_accumulate():
    x = leaf([1.0, 2.0])
    x.grad = tg.Tensor([1.0, 1.0])
    (x * x).sum().backward()
    eq(x.grad, [3.0, 5.0])  # 1 + 2x


class PlainSquare(tg.Function):
    def forward(ctx, x):  # no @staticmethod, as many users write it
        ctx.save_for_backward(x)
        return x * x

    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g * 2 * x


class StaticSquare(tg.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g * 2 * x


class MixedSquare(tg.Function):
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g * 2 * x


@pytest.mark.parametrize("op", [PlainSquare, StaticSquare, MixedSquare],
                         ids=["plain_methods", "staticmethods", "mixed"])
def test_backward_custom_op_both_spellings(op):
    x = leaf([1.0, -3.0])
    y = op.apply(x)
    eq(y, [1.0, 9.0])
    y.sum().backward()
    eq(x.grad, [2.0, -6.0])


class TwoGradsForOne(tg.Function):
    @staticmethod
    def forward(ctx, x):
        return 2 * x

    @staticmethod
    def backward(ctx, g):
        return g, g


class OneGradForTwo(tg.Function):
    @staticmethod
    def forward(ctx, x, w):
        return x * w

    @staticmethod
    def backward(ctx, g):
        return g


class NoGrads(tg.Function):
    @staticmethod
    def forward(ctx, x):
        return 2 * x

    @staticmethod
    def backward(ctx, g):
        return ()


@pytest.mark.parametrize("op, n", [(TwoGradsForOne, 1), (OneGradForTwo, 2), (NoGrads, 1)],
                         ids=["two_for_one", "one_for_two", "none_for_one"])
def test_backward_custom_op_wrong_number_of_gradients(op, n):
    args = [leaf([1.0, 2.0]) for _ in range(n)]
    y = op.apply(*args).sum()
    raises(tg.GradientError, y.backward, op.__name__)


def _write(target, idx=Ellipsis):
    def write(x, w):
        arr = {"x.data": lambda: x.data, "x.numpy()": lambda: x.numpy(),
               "np.asarray(x)": lambda: np.asarray(x), "x.detach().data": lambda: x.detach().data,
               "x.detach().numpy()": lambda: x.detach().numpy(), "w.data": lambda: w.data,
               "np.asarray(w)": lambda: np.asarray(w)}[target]()
        arr[idx] = 5.0
    return write


WRITES = [("x.data", _write("x.data")), ("x.numpy()", _write("x.numpy()")),
          ("np.asarray(x)", _write("np.asarray(x)")),
          ("x.detach().data", _write("x.detach().data")),
          ("x.detach().numpy()", _write("x.detach().numpy()")),
          ("w.data[0]", _write("w.data", 0)), ("np.asarray(w)[1]", _write("np.asarray(w)", 1))]


@pytest.mark.parametrize("write", [c[1] for c in WRITES], ids=[c[0] for c in WRITES])
def test_backward_write_into_arrays_behind_a_live_graph(write):
    x, w = leaf([1.0, 2.0, 3.0]), leaf([4.0, 5.0, 6.0])
    y = (x * w).sum()
    try:
        write(x, w)
    except ValueError:  # the array is read-only while the graph lives: fine
        eq(x, [1.0, 2.0, 3.0])
        eq(w, [4.0, 5.0, 6.0])
        y.backward()
        eq(x.grad, [4.0, 5.0, 6.0])  # the gradient of the ORIGINAL values
        eq(w.grad, [1.0, 2.0, 3.0])
    else:  # the write went through: the old graph must refuse
        with pytest.raises(tg.GradientError):
            y.backward()


@pytest.mark.parametrize("where", ["saved_output", "interior_input"])
def test_backward_write_into_saved_interior_arrays(where):
    w = leaf([0.0, 1.0])
    if where == "saved_output":  # Exp saves its output
        z = w.exp()
        y, target = z.sum(), z
        expected = np.exp([0.0, 1.0])
    else:
        z = w * 2.0
        y, target = (z * z).sum(), z
        expected = [0.0, 8.0]  # d/dw (2w)^2 = 8w
    try:
        target.data[...] = 0.0
    except ValueError:
        y.backward()
        np.testing.assert_allclose(w.grad.data, expected, rtol=1e-15)
    else:
        with pytest.raises(tg.GradientError):
            y.backward()


@pytest.mark.parametrize("update", [
    lambda x: x.__setitem__(Ellipsis, 5.0), lambda x: x.copy_(np.zeros(3)),
    lambda x: x.add_(1.0)], ids=["setitem", "copy_", "add_"])
def test_backward_in_place_update_under_no_grad_makes_graph_stale(update):
    x, w = leaf([1.0, 2.0, 3.0]), leaf([4.0, 5.0, 6.0])
    y = (x * w).sum()
    with tg.no_grad():
        update(x)
    with pytest.raises(tg.GradientError):
        y.backward()


@pytest.mark.parametrize("target", ["w.data", "w.numpy()"])
def test_backward_leaf_writable_after_graph_dropped(target):
    x, w = leaf([1.0, 2.0, 3.0]), leaf([4.0, 5.0, 6.0])
    y = (x * w).sum()
    y.backward()
    del y
    (w.data if target == "w.data" else w.numpy())[...] = 0.0
    eq(w, [0.0, 0.0, 0.0])


def test_backward_no_grad_update_while_graph_lives_then_stale():
    x, w = leaf([1.0, 2.0, 3.0]), leaf([4.0, 5.0, 6.0])
    y = (x * w).sum()
    y.backward()
    with tg.no_grad():
        w -= 0.1 * w.grad
    np.testing.assert_allclose(w.data, [3.9, 4.8, 5.7], rtol=1e-15)
    with pytest.raises(tg.GradientError):
        y.backward()


def test_backward_optimizer_step_makes_graph_stale():
    x, w = leaf([1.0, 2.0]), leaf([4.0, 5.0])
    y = (x * w).sum()
    y.backward()
    tg.optim.SGD([w], lr=0.5).step()
    eq(w, [3.5, 4.0])
    with pytest.raises(tg.GradientError):
        y.backward()


def test_backward_twice_accumulates_exactly_twice():
    x, w = leaf([1.0, 2.0]), leaf([4.0, 5.0])
    y = (x * w).sum()
    y.backward()
    y.backward()
    eq(x.grad, [8.0, 10.0])
    eq(w.grad, [2.0, 4.0])


def test_backward_twice_through_reused_interior_node():
    a = leaf([1.0, 3.0])
    b = a + a
    c = (b * b).sum()  # c = 4 a^2, dc/da = 8a
    c.backward()
    c.backward()
    eq(a.grad, [16.0, 48.0])


# =====================================================================================
# numerical extremes
# =====================================================================================

RAISE = {"over_invalid_divide": dict(over="raise", invalid="raise", divide="raise"),
         "all": dict(all="raise")}
FLOATS = [np.float16, np.float32, np.float64]

# name: (function, input, upstream gradient or None for a scalar, value, gradient) - by hand:
# sigmoid(+-1000) = 1, 0 and s(1-s) = 0; tanh = +-1, 1 - y^2 = 0; softplus = 1000, 0 with
# gradient sigmoid; log_softmax = x - 1000 with dx = g - softmax sum(g), softmax = [1, 0, 0];
# softmax dx = y (g - sum(g y)); logsumexp = 1000 with dx = softmax; cross entropy =
# logsumexp - x[label] with dx = softmax - onehot; BCE with logits = softplus(x) - t x with
# dx = sigmoid(x) - t (divided by 4 for the mean).
EXTREMES = {
    "sigmoid": (lambda x: x.sigmoid(), [1000, -1000], [2, 3], [1, 0], [0, 0]),
    "tanh": (lambda x: x.tanh(), [1000, -1000], [2, 3], [1, -1], [0, 0]),
    "softplus": (lambda x: x.softplus(), [1000, -1000], [2, 3], [1000, 0], [2, 0]),
    "log_softmax": (lambda x: x.log_softmax(), [1000, 0, -1000], [0.5, -2, 4],
                    [0, -1000, -2000], [-2, -2, 4]),
    "softmax": (lambda x: x.softmax(), [1000, 0, -1000], [0.5, -2, 4], [1, 0, 0], [0, 0, 0]),
    "logsumexp": (lambda x: x.logsumexp(), [1000, 0, -1000], None, 1000, [1, 0, 0]),
    "cross_entropy_label0": (lambda x: F.cross_entropy(x, [0]), [[1000, 0, -1000]], None,
                             0, [[0, 0, 0]]),
    "cross_entropy_label1": (lambda x: F.cross_entropy(x, [1]), [[1000, 0, -1000]], None,
                             1000, [[1, -1, 0]]),
    "cross_entropy_label2": (lambda x: F.cross_entropy(x, [2]), [[1000, 0, -1000]], None,
                             2000, [[1, 0, -1]]),
    "bce_logits_mean": (lambda x: F.binary_cross_entropy_with_logits(
        x, np.array([1, 0, 0, 1], x.dtype)), [1000, 1000, -1000, -1000], None, 500,
        [0, 0.25, 0, -0.25]),
    "bce_logits_none": (lambda x: F.binary_cross_entropy_with_logits(
        x, np.array([1, 0, 0, 1], x.dtype), reduction="none"), [1000, 1000, -1000, -1000],
        [1, 1, 1, 1], [0, 1000, 0, 1000], [0, 1, 0, -1]),
}


@pytest.mark.parametrize("errstate", list(RAISE))
@pytest.mark.parametrize("dtype", FLOATS, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name", list(EXTREMES))
def test_numerical_extremes_exact_and_finite(name, dtype, errstate):
    f, x0, up, value, grad = EXTREMES[name]
    x = leaf(x0, dtype)
    with np.errstate(**RAISE[errstate]):
        y = f(x)
        if up is None:
            y.backward()
        else:
            y.backward(np.asarray(up, dtype))
    assert y.dtype == dtype and x.grad.dtype == dtype
    eq(y, np.asarray(value, dtype))
    eq(x.grad, np.asarray(grad, dtype))


def _ld(x):
    return np.asarray(x, dtype=np.longdouble)


MODERATE = {  # against longdouble references, within 4 ulp
    "sigmoid": (lambda t: t.sigmoid(), lambda x: 1 / (1 + np.exp(-x)),
                lambda x: np.exp(-x) / (1 + np.exp(-x)) ** 2),
    "softplus": (lambda t: t.softplus(), lambda x: np.log1p(np.exp(x)),
                 lambda x: 1 / (1 + np.exp(-x))),
    "tanh": (lambda t: t.tanh(), np.tanh, lambda x: 1 / np.cosh(x) ** 2),
}


@pytest.mark.parametrize("name", list(MODERATE))
def test_numerical_moderate_values_against_longdouble(name):
    f, ref, dref = MODERATE[name]
    x0 = np.array([-40.0, -20.0, -5.0, -0.5, 0.0, 0.5, 5.0, 20.0, 35.0])
    x = leaf(x0)
    y = f(x)
    y.backward(np.ones_like(x0))
    eps = np.finfo(np.float64).eps
    value, grad = ref(_ld(x0)).astype(np.float64), dref(_ld(x0)).astype(np.float64)
    assert np.all(np.abs(y.data - value) <= 4 * eps * np.abs(value))  # 4 ulp
    # the gradient from the saved output (s (1 - s), 1 - y^2, as PyTorch): 4 eps absolute
    assert np.all(np.abs(x.grad.data - grad) <= 4 * eps * np.maximum(np.abs(grad), 1.0))


@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-12), (np.float32, 1e-5)],
                         ids=["float64", "float32"])
def test_numerical_bce_confident_mistake_large_loss_nonzero_gradient(dtype, rtol):
    p = leaf([1e-15], dtype)
    loss = F.binary_cross_entropy(p, np.ones(1, dtype))
    loss.backward()
    exact = -np.log(_ld(p.data[0]))  # -log(1e-15) = 34.54 (PyTorch caps the log at -100)
    np.testing.assert_allclose(float(loss.item()), float(exact), rtol=rtol)
    g = p.grad.data[0]
    assert np.isfinite(g) and g < -1.0, g  # d/dp -log p = -1/p: large and negative


def test_numerical_bce_confident_right_small_p():
    p = leaf([1e-15])
    loss = F.binary_cross_entropy(p, np.zeros(1))
    loss.backward()
    np.testing.assert_allclose(loss.item(), 1e-15, rtol=1e-6)  # -log(1 - p) ~ p
    g = p.grad.data[0]  # exactly 1 / (1 - p) = 1; PyTorch's clamped formula gives 1e-3
    assert np.isfinite(g) and g > 0, g


def test_numerical_bce_p_just_below_one_with_target_zero():
    p0 = 1.0 - 2.0 ** -53  # the largest float64 below 1
    p = leaf([p0])
    loss = F.binary_cross_entropy(p, np.zeros(1))
    loss.backward()
    np.testing.assert_allclose(loss.item(), 53 * np.log(2.0), rtol=1e-12)  # -log(2^-53)
    assert np.isfinite(p.grad.data[0]) and p.grad.data[0] > 1.0


SATURATED_P, SATURATED_T = [0.0, 1.0, 0.0, 1.0], [1.0, 0.0, 0.0, 1.0]  # wrong, wrong, right, right


@pytest.mark.parametrize("dtype", FLOATS, ids=lambda d: np.dtype(d).name)
def test_numerical_bce_saturated_loss_finite(dtype):
    p = leaf(SATURATED_P, dtype)
    loss = F.binary_cross_entropy(p, np.array(SATURATED_T, dtype), reduction="none")
    assert loss.dtype == dtype
    assert np.all(np.isfinite(loss.data)), loss.data
    assert np.all(loss.data[:2] >= 10), loss.data  # confident mistakes: a large loss
    eq(loss.data[2:], np.zeros(2, dtype))  # confident and right: 0


@pytest.mark.parametrize("dtype", FLOATS, ids=lambda d: np.dtype(d).name)
def test_numerical_bce_saturated_gradient_finite_with_right_sign(dtype):
    p = leaf(SATURATED_P, dtype)
    F.binary_cross_entropy(p, np.array(SATURATED_T, dtype)).backward()
    g = p.grad.data
    assert g.dtype == dtype and np.all(np.isfinite(g)), g
    assert g[0] < 0 and g[1] > 0, g  # push p up where t = 1, down where t = 0


def test_numerical_bce_soft_target_at_half():
    p = leaf([0.5])
    loss = F.binary_cross_entropy(p, np.array([0.5]))
    loss.backward()
    np.testing.assert_allclose(loss.item(), np.log(2.0), rtol=1e-15)
    np.testing.assert_allclose(p.grad.data, [0.0], atol=1e-15)


@pytest.mark.parametrize("bad, pattern", [(1.5, r"1\.5"), (-0.1, r"-0\.1"),
                                          (1.0000001, r"1\.0000001|1\.00000"),
                                          (-1e-300, r"-1(\.0)?e-300"), (np.inf, r"inf")],
                         ids=["1.5", "-0.1", "1+1e-7", "-1e-300", "inf"])
def test_numerical_bce_probability_outside_unit_interval(bad, pattern):
    p = leaf([0.5, bad])
    raises(ValueError, lambda: F.binary_cross_entropy(p, np.ones(2)), r"binary_cross_entropy",
           pattern)


def test_numerical_bce_nan_propagates():
    p = leaf([np.nan, 0.5])
    with np.errstate(invalid="ignore"):
        loss = F.binary_cross_entropy(p, np.ones(2), reduction="none")
    assert np.isnan(loss.data[0])
    np.testing.assert_allclose(loss.data[1], np.log(2.0), rtol=1e-15)


NAN_CASES = {
    "sigmoid": lambda x: x.sigmoid(), "tanh": lambda x: x.tanh(),
    "softplus": lambda x: x.softplus(), "relu": lambda x: x.relu(), "exp": lambda x: x.exp(),
    "abs": lambda x: x.abs(), "clip": lambda x: x.clip(0.0, 1.0), "max": lambda x: x.max(),
    "maximum": lambda x: tg.maximum(x, 0.0), "log_softmax": lambda x: x.log_softmax(),
    "softmax": lambda x: x.softmax(), "logsumexp": lambda x: x.logsumexp(),
    "cross_entropy": lambda x: F.cross_entropy(x.reshape(1, 2), [1]),
    "bce_logits": lambda x: F.binary_cross_entropy_with_logits(x, np.ones(2)),
    "mse": lambda x: F.mse_loss(x, np.zeros(2)),
}


@pytest.mark.parametrize("name", list(NAN_CASES))
def test_numerical_nan_input_propagates(name):
    with np.errstate(invalid="ignore"):
        y = NAN_CASES[name](leaf([np.nan, 1.0]))
    assert np.isnan(y.data.ravel()[0]), y.data


@pytest.mark.parametrize("name, f, value, grad", [
    ("sigmoid", lambda x: x.sigmoid(), [1.0, 0.0], [0.0, 0.0]),
    ("tanh", lambda x: x.tanh(), [1.0, -1.0], [0.0, 0.0]),
    ("softplus", lambda x: x.softplus(), [np.inf, 0.0], [1.0, 0.0]),
], ids=["sigmoid", "tanh", "softplus"])
def test_numerical_infinite_inputs(name, f, value, grad):
    x = leaf([np.inf, -np.inf])
    y = f(x)
    y.backward(np.ones(2))
    eq(y, value)
    eq(x.grad, grad)


# =====================================================================================
# memory
# =====================================================================================

W = np.arange(6.0).reshape(3, 2) / 10


def _hooked(x):
    h = x * 2
    h.register_hook(lambda g: g * 0.5)
    return (h * h).sum()


def _retained(x):
    h = x.tanh()
    h.retain_grad()
    return (h * x).sum()


def _module(x):
    lin = nn.Linear(6, 2, random_state=0)
    return F.mse_loss(lin(x.reshape(1, 6)), np.zeros((1, 2)))


GRAPHS = {
    "elementwise": lambda x: (x * x).sigmoid().sum(),
    "matmul_cross_entropy": lambda x: F.cross_entropy(x.reshape(2, 3) @ W, [0, 1]),
    "hooked": _hooked, "retain_grad": _retained, "module": _module,
    "softplus_log_softmax": lambda x: (x.softplus().log_softmax() * x).sum(),
}


@pytest.mark.parametrize("backward", [False, True], ids=["forward_only", "after_backward"])
@pytest.mark.parametrize("name", list(GRAPHS))
def test_memory_dropped_graph_freed_without_gc(name, backward):
    x = leaf(np.linspace(-1, 1, 6))
    with gc_off():
        y = GRAPHS[name](x)
        if backward:
            y.backward()
        node = weakref.ref(y.grad_fn)
        del y
        assert node() is None, "the graph is kept alive by a reference cycle"


def test_memory_long_chain_freed_without_gc():
    x = leaf(1.0)
    with gc_off():
        y = x
        for _ in range(100_000):
            y = y + 1.0
        first = weakref.ref(y.grad_fn)
        del y
        assert first() is None


def _count(cls):
    return sum(1 for o in gc.get_objects() if isinstance(o, cls))


def _train_steps(make_opt, steps, running=None):
    rng = np.random.default_rng(0)
    X, labels = tg.Tensor(rng.normal(size=(8, 4))), rng.integers(0, 3, 8)
    model = nn.Sequential(nn.Linear(4, 6, random_state=0), nn.Tanh(),
                          nn.Linear(6, 3, random_state=1))
    opt = make_opt(model.parameters())
    counts, total = {}, 0.0
    with gc_off():
        for step in range(1, steps + 1):
            opt.zero_grad()
            loss = F.cross_entropy(model(X), labels)
            loss.backward()
            opt.step()
            total = running(total, loss) if running else total + loss.item()
            if step in (100, steps):
                counts[step] = (_count(tg.Tensor), _count(tg.Function))
    return counts, total


@pytest.mark.parametrize("make_opt", [
    lambda ps: tg.optim.SGD(ps, lr=0.1, momentum=0.9),
    lambda ps: tg.optim.Adam(ps, lr=0.01)], ids=["sgd_momentum", "adam"])
def test_memory_1000_steps_keep_live_tensors_flat(make_opt):
    counts, total = _train_steps(make_opt, 1000)
    assert counts[1000][0] <= counts[100][0] + 2, counts
    assert counts[1000][1] <= counts[100][1] + 2, counts
    assert np.isfinite(total)


def test_memory_running_loss_of_detached_tensors_stays_flat():
    counts, total = _train_steps(lambda ps: tg.optim.SGD(ps, lr=0.1), 1000,
                                 running=lambda tot, loss: 0.9 * tg.Tensor(tot) + loss.detach())
    assert counts[1000][0] <= counts[100][0] + 2, counts
    assert counts[1000][1] <= counts[100][1] + 2, counts
    assert not total.requires_grad and total.grad_fn is None


@pytest.mark.parametrize("keep, factor", [
    (lambda loss: loss.detach(), 1.0),
    (lambda loss: loss.detach() * 0.1, 0.1),
    (lambda loss: loss.item(), 1.0)], ids=["detach", "detach_times", "item"])
def test_memory_kept_statistics_do_not_keep_graphs(keep, factor):
    x = leaf([0.5, -0.5])
    kept, nodes = [], []
    with gc_off():
        for _ in range(20):
            loss = (x * x).tanh().sum()
            nodes.append(weakref.ref(loss.grad_fn))
            kept.append(keep(loss))
        del loss
        assert all(n() is None for n in nodes)
    value = float(np.asarray(getattr(kept[-1], "data", kept[-1])))
    np.testing.assert_allclose(value, 2 * np.tanh(0.25) * factor, rtol=1e-15)


def test_memory_running_statistic_under_no_grad_keeps_no_graph():
    x = leaf([1.0, 2.0])
    with gc_off():
        running = tg.Tensor(0.0)
        y = (x * x).sum()
        node = weakref.ref(y.grad_fn)
        with tg.no_grad():
            running = 0.9 * running + 0.1 * y
        del y
        assert node() is None
    assert not running.requires_grad
    np.testing.assert_allclose(running.item(), 0.5, rtol=1e-15)


def test_memory_estimator_fit_leaves_no_graph():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    y = (X[:, 0] > 0).astype(int)
    gc.collect()
    before = _count(tg.Function)
    clf = tg.models.MLPClassifier((4,), solver="adam", max_iter=20, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(X, y)
    clf.predict(X)
    gc.collect()
    assert _count(tg.Function) <= before

"""Bad input gives clear errors: the project's exception types, naming the op and shapes."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_edu as tg
from tinygrad_edu import functional as F
from tinygrad_edu import testing
from tinygrad_edu.testing import GradcheckError


def leaf(values, dtype=np.float64):
    return tg.Tensor(np.asarray(values, dtype=dtype), requires_grad=True)


# ------------------------------------------------------------------------- shapes

@pytest.mark.parametrize("op, name", [(lambda a, b: a + b, "Add"), (lambda a, b: a * b, "Mul"),
                                      (lambda a, b: a - b, "Sub"), (lambda a, b: a / b, "Div")])
def test_mismatched_elementwise_shapes(op, name):
    a = leaf(np.ones((2, 3)))
    b = tg.Tensor(np.ones(4))
    with pytest.raises(tg.ShapeError) as info:
        op(a, b)
    msg = str(info.value)
    assert name in msg and "(2, 3)" in msg and "(4,)" in msg
    assert isinstance(info.value, ValueError)


@settings(deadline=None, max_examples=30)
@given(a_shape=testing.shapes(min_dims=1), b_shape=testing.shapes(min_dims=1))
def test_incompatible_shapes_always_raise_shape_error(a_shape, b_shape):
    try:
        np.broadcast_shapes(a_shape, b_shape)
        compatible = True
    except ValueError:
        compatible = False
    a, b = tg.Tensor(np.ones(a_shape)), tg.Tensor(np.ones(b_shape))
    if compatible:
        assert (a * b).shape == np.broadcast_shapes(a_shape, b_shape)
    else:
        with pytest.raises(tg.ShapeError, match="Mul") as info:
            a * b
        assert str(a_shape) in str(info.value) and str(b_shape) in str(info.value)


@pytest.mark.parametrize("a_shape, b_shape", [((2, 3), (4, 5)), ((3,), (4,)), ((2, 3), (2,)),
                                              ((5, 2, 3), (5, 4, 2))])
def test_matmul_mismatched_shapes(a_shape, b_shape):
    a = leaf(np.ones(a_shape))
    b = tg.Tensor(np.ones(b_shape))
    with pytest.raises(tg.ShapeError) as info:
        a @ b
    msg = str(info.value)
    assert "MatMul" in msg and str(a_shape) in msg and str(b_shape) in msg


@pytest.mark.parametrize("a, b", [(tg.Tensor(2.0), tg.Tensor(3.0)),
                                  (tg.Tensor([1.0, 2.0]), 3.0),
                                  (tg.Tensor(2.0), tg.Tensor([1.0]))])
def test_matmul_with_a_scalar(a, b):
    with pytest.raises(tg.ShapeError, match="MatMul") as info:
        a @ b
    assert "()" in str(info.value)


# ----------------------------------------------------------------------- backward

def test_backward_non_scalar_without_gradient():
    y = leaf(np.ones((2, 3))) * 2.0
    with pytest.raises(tg.GradientError, match=r"\(2, 3\)"):
        y.backward()


def test_backward_gradient_of_wrong_shape():
    y = leaf(np.ones((2, 3))) * 2.0
    with pytest.raises(tg.GradientError) as info:
        y.backward(np.ones(3))
    assert "(3,)" in str(info.value) and "(2, 3)" in str(info.value)


def test_backward_on_tensor_without_grad():
    with pytest.raises(tg.GradientError, match="does not require grad"):
        tg.Tensor(1.0).backward()
    x = leaf([1.0])
    with tg.no_grad():
        y = (x * 2.0).sum()
    with pytest.raises(tg.GradientError):
        y.backward()


def test_register_hook_on_tensor_without_grad():
    with pytest.raises(tg.GradientError):
        tg.Tensor([1.0]).register_hook(lambda g: g)


# ------------------------------------------------------------------------- dtypes

@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.bool_])
def test_requires_grad_on_non_float(dtype):
    with pytest.raises(tg.DTypeError, match=np.dtype(dtype).name) as info:
        tg.Tensor([1, 0], dtype=dtype, requires_grad=True)
    assert isinstance(info.value, TypeError)
    t = tg.Tensor([1, 0], dtype=dtype)
    with pytest.raises(TypeError):
        t.requires_grad_()


def test_tensor_of_strings():
    with pytest.raises(tg.DTypeError) as info:
        tg.Tensor(["a"])
    assert isinstance(info.value, TypeError) and "Tensor" in str(info.value)


def test_float_index_array():
    x = leaf([1.0, 2.0, 3.0])
    with pytest.raises(IndexError, match="float64"):
        x[np.array([0.0, 1.0])]
    with pytest.raises(IndexError):
        x[tg.Tensor([0.0, 2.0])]   # a float Tensor is not an index either


def test_index_out_of_range_names_op_and_shape():
    x = leaf([1.0, 2.0, 3.0])
    with pytest.raises((tg.ShapeError, IndexError)) as info:
        x[np.array([0, 5])]
    assert "GetItem" in str(info.value) and "(3,)" in str(info.value)


# ------------------------------------------------------------------------- losses

def test_cross_entropy_label_out_of_range():
    logits = leaf(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"\b5\b"):
        F.cross_entropy(logits, [0, 5])
    with pytest.raises(ValueError, match=r"-1"):
        F.cross_entropy(logits, np.array([-1, 0]))
    with pytest.raises(ValueError, match=r"\b3\b"):
        F.cross_entropy(logits, tg.Tensor([3, 0], dtype=np.int64))


def test_cross_entropy_non_integer_float_labels():
    logits = leaf(np.zeros((2, 3)))
    with pytest.raises(TypeError, match="integer"):
        F.cross_entropy(logits, np.array([0.5, 1.0]))


@pytest.mark.parametrize("labels", [np.array([0, 1, 2]), np.array([0]), np.array([[0], [1]])])
def test_cross_entropy_wrong_shaped_labels(labels):
    logits = leaf(np.zeros((2, 3)))
    with pytest.raises(tg.ShapeError) as info:
        F.cross_entropy(logits, labels)
    assert str(labels.shape) in str(info.value)


def test_cross_entropy_label_errors_name_cross_entropy_and_logits_shape():
    logits = leaf(np.zeros((2, 3)))
    with pytest.raises(tg.ShapeError) as info:
        F.cross_entropy(logits, np.array([0, 1, 2]))
    assert "cross_entropy" in str(info.value) and "(2, 3)" in str(info.value)


def test_cross_entropy_logits_not_2d():
    with pytest.raises(tg.ShapeError, match=r"cross_entropy.*\(3,\)"):
        F.cross_entropy(leaf([1.0, 2.0, 3.0]), [0])


def test_mse_loss_column_vs_vector_is_an_error_not_a_broadcast():
    pred = leaf(np.zeros((4, 1)))
    target = np.arange(4.0)
    with pytest.raises(tg.ShapeError) as info:
        F.mse_loss(pred, target)
    msg = str(info.value)
    assert "mse_loss" in msg and "(4, 1)" in msg and "(4,)" in msg


@pytest.mark.parametrize("loss", [F.binary_cross_entropy, F.binary_cross_entropy_with_logits])
def test_bce_shape_mismatch(loss):
    with pytest.raises(tg.ShapeError, match=loss.__name__):
        loss(leaf(np.full((3, 1), 0.5)), np.ones(3))


def test_bad_reduction():
    with pytest.raises(ValueError, match="reduction"):
        F.mse_loss(leaf([1.0]), [1.0], reduction="avg")


# ---------------------------------------------------------------- custom Functions

class TwoInTwoOut(tg.Function):
    """y = a * b;  but backward returns one gradient only (wrong)"""

    @staticmethod
    def forward(ctx, a, b):
        return a * b

    @staticmethod
    def backward(ctx, g):
        return g


class WrongShapeGrad(tg.Function):
    """y = sum(x);  backward returns a gradient of the wrong shape"""

    @staticmethod
    def forward(ctx, x):
        return np.sum(x)

    @staticmethod
    def backward(ctx, g):
        return tg.Tensor(np.ones(5))


class ReadsUnsaved(tg.Function):
    """y = 2x;  backward reads saved_tensors that forward never saved"""

    @staticmethod
    def forward(ctx, x):
        return 2 * x

    @staticmethod
    def backward(ctx, g):
        _x, = ctx.saved_tensors
        return g * 2


def test_custom_function_wrong_number_of_gradients():
    a, b = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    y = TwoInTwoOut.apply(a, b)
    with pytest.raises(tg.GradientError) as info:
        y.sum().backward()
    msg = str(info.value)
    assert "TwoInTwoOut" in msg and "1" in msg and "2" in msg


def test_custom_function_wrong_shaped_gradient():
    x = leaf(np.ones((2, 3)))
    y = WrongShapeGrad.apply(x)
    with pytest.raises(tg.GradientError) as info:
        y.backward()
    msg = str(info.value)
    assert "WrongShapeGrad" in msg and "(5,)" in msg and "(2, 3)" in msg


def test_custom_function_reads_unsaved_tensors():
    y = ReadsUnsaved.apply(leaf([1.0]))
    with pytest.raises(tg.GradientError, match="ReadsUnsaved.*save_for_backward"):
        y.backward()


def test_custom_function_forward_value_error_becomes_shape_error():
    class Outer(tg.Function):
        @staticmethod
        def forward(ctx, a, b):
            return np.outer(a, b) + a  # (2, 3) + (2,): does not broadcast

        @staticmethod
        def backward(ctx, g):
            return None, None

    with pytest.raises(tg.ShapeError) as info:
        Outer.apply(leaf([1.0, 2.0]), leaf([1.0, 2.0, 3.0]))
    assert "Outer" in str(info.value) and "(2,)" in str(info.value) and "(3,)" in str(info.value)


# ----------------------------------------------------------------------- gradcheck

class SquareMissingFactor(tg.Function):
    """y = x**2;  deliberately wrong backward: dx = g * x (should be g * 2x)"""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g * x


class TransposedGrad(tg.Function):
    """y = a @ b;  deliberately wrong: da = g @ b (b should be transposed)"""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a @ b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        return g @ b, a.T @ g


def test_gradcheck_catches_wrong_backward_and_names_input():
    rng = np.random.default_rng(1)
    a = tg.Tensor(rng.standard_normal(3), requires_grad=True)
    b = tg.Tensor(rng.standard_normal(3), requires_grad=True)
    # the wrong op is applied to input 1 only; input 0 is right
    with pytest.raises(GradcheckError, match="input 1") as info:
        testing.gradcheck(lambda p, q: p * SquareMissingFactor.apply(q), a, b, seed=0)
    assert "input 0" not in str(info.value)
    assert testing.gradcheck(lambda p, q: p * SquareMissingFactor.apply(q), a, b,
                             seed=0, raise_exception=False) is False
    # the same function with a correct square passes
    assert testing.gradcheck(lambda p, q: p * (q * q), a, b, seed=0) is True


def test_gradcheck_catches_transposed_gradient():
    rng = np.random.default_rng(2)
    a = tg.Tensor(rng.standard_normal((3, 3)), requires_grad=True)
    b = tg.Tensor(rng.standard_normal((3, 3)), requires_grad=True)
    with pytest.raises(GradcheckError, match="input 0"):
        testing.gradcheck(TransposedGrad.apply, a, b, seed=0)


def test_gradcheck_refuses_float32():
    x32 = tg.Tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    with pytest.raises(TypeError, match="float32"):
        testing.gradcheck(lambda t: t * 2.0, x32)
    with pytest.raises(TypeError, match="float64"):
        testing.gradcheck(lambda t: t * 2.0, np.ones(3, dtype=np.float32))


@settings(deadline=None, max_examples=10)
@given(st.integers(0, 2**31 - 1))
def test_gradcheck_negative_test_for_any_upstream_gradient(seed):
    x = tg.Tensor(np.array([0.7, -1.3, 2.1]), requires_grad=True)
    with pytest.raises(GradcheckError, match="input 0"):
        testing.gradcheck(SquareMissingFactor.apply, x, seed=seed)

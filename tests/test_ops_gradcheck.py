"""Every primitive op against central finite differences, first and second order.

One table entry per op in tinygrad_edu.ops: a hypothesis strategy draws the inputs
(float64, broadcastable shapes where the op broadcasts, domains per op, kinks and ties
avoided) and gradcheck draws a random upstream gradient. A meta-test fails when an op
is added to ops.py without an entry here.
"""
import inspect

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from kernel_probe import counted_kernel  # tests/kernel_probe.py

import tinygrad_edu as tg
from tinygrad_edu import ops
from tinygrad_edu.testing import (
    arrays,
    broadcastable_shapes,
    distinct,
    gradcheck,
    gradgradcheck,
    shapes,
)

pytestmark = pytest.mark.usefixtures("both_walks")  # every test through both engines

R = {"low": -3.0, "high": 3.0}
POS = {"low": 0.3, "high": 3.0}
NONZERO = {"low": -3.0, "high": 3.0, "avoid": (0.0,), "min_distance": 0.3}


def draw_arrays(data, shape_list, **domain):
    return [data.draw(arrays(s, **domain)) for s in shape_list]


def binary(fn, dom_a=R, dom_b=R):
    def case(data):
        sa, sb = data.draw(broadcastable_shapes(2))
        return fn, [data.draw(arrays(sa, **dom_a)), data.draw(arrays(sb, **dom_b))]
    return case


def unary(fn, **domain):
    def case(data):
        return fn, draw_arrays(data, [data.draw(shapes())], **(domain or R))
    return case


def axis_arg(data, ndim):
    """None, one axis (maybe negative) or a tuple of distinct axes."""
    if ndim == 0:
        return None
    kind = data.draw(st.sampled_from(["none", "int", "tuple"]))
    if kind == "none":
        return None
    if kind == "int":
        return data.draw(st.integers(-ndim, ndim - 1))
    return tuple(data.draw(st.lists(st.integers(0, ndim - 1), min_size=1, unique=True)))


def reduction(method, distinct_values=False, **domain):
    def case(data):
        x, = draw_arrays(data, [data.draw(shapes())], **(domain or R))
        if distinct_values:
            assume(distinct(x, 1e-3))  # ties split the gradient: keep them out of FD
        axis, keepdims = axis_arg(data, x.ndim), data.draw(st.booleans())
        return (lambda t: getattr(t, method)(axis=axis, keepdims=keepdims)), [x]
    return case


def along_axis(method):
    def case(data):
        x, = draw_arrays(data, [data.draw(shapes(min_dims=1))], **R)
        axis = data.draw(st.integers(-x.ndim, x.ndim - 1))
        return (lambda t: getattr(t, method)(axis=axis)), [x]
    return case


def pow_case(data):
    sa, sb = data.draw(broadcastable_shapes(2))
    if data.draw(st.booleans()):
        p = data.draw(st.sampled_from([-1.5, -1, 0, 0.5, 1, 2, 3]))
        return (lambda a: a ** p), [data.draw(arrays(sa, **POS))]
    return (lambda a, b: a ** b), [data.draw(arrays(sa, **POS)), data.draw(arrays(sb, low=-2, high=2))]


def rpow_case(data):
    x, = draw_arrays(data, [data.draw(shapes())], low=-2, high=2)
    return (lambda t: 2.5 ** t), [x]


def elementwise_extremum(fn):
    def case(data):
        sa, sb = data.draw(broadcastable_shapes(2))
        a, b = data.draw(arrays(sa, **R)), data.draw(arrays(sb, **R))
        assume(np.all(np.abs(a - b) > 1e-3))  # away from ties, where the kink is
        return fn, [a, b]
    return case


def where_case(data):
    sc, sa, sb = data.draw(broadcastable_shapes(3))
    cond = data.draw(arrays(sc, low=-1, high=1)) > 0
    a, b = data.draw(arrays(sa, **R)), data.draw(arrays(sb, **R))
    return (lambda x, y: tg.where(cond, x, y)), [a, b]


def clip_case(data):
    x, = draw_arrays(data, [data.draw(shapes())], low=-3, high=3, avoid=(-1.0, 1.0))
    lo, hi = data.draw(st.sampled_from([(-1.0, 1.0), (None, 1.0), (-1.0, None)]))
    return (lambda t: t.clip(lo, hi)), [x]


def cast_case(data):
    x, = draw_arrays(data, [data.draw(shapes())], **R)
    return (lambda t: (t.astype(np.longdouble) * 1.5).astype(np.float64)), [x]


def reshape_case(data):
    x, = draw_arrays(data, [data.draw(shapes())], **R)
    shape = data.draw(st.sampled_from([(-1,), x.shape[::-1], (1,) + x.shape]))
    return (lambda t: t.reshape(shape) * 1.0), [x]


def transpose_case(data):
    x, = draw_arrays(data, [data.draw(shapes(min_dims=1))], **R)
    axes = data.draw(st.permutations(range(x.ndim)))
    return (lambda t: t.transpose(*axes)), [x]


def expand_case(data):
    shape = data.draw(shapes(max_dims=2))
    x, = draw_arrays(data, [shape], **R)
    target = (data.draw(st.integers(1, 3)),) + tuple(
        data.draw(st.integers(1, 3)) if s == 1 else s for s in shape)
    return (lambda t: t.expand(target)), [x]


def index_for(data, shape):
    kind = data.draw(st.sampled_from(["int", "slice", "repeat", "mask", "none", "mixed"]))
    if kind == "int":
        return data.draw(st.integers(-shape[0], shape[0] - 1))
    if kind == "slice":
        return slice(data.draw(st.integers(0, 1)), None, data.draw(st.integers(1, 2)))
    if kind == "repeat":  # repeated indices must accumulate
        return np.array(data.draw(st.lists(st.integers(0, shape[0] - 1), min_size=1, max_size=5)))
    if kind == "mask":
        return np.array(data.draw(st.lists(st.booleans(), min_size=shape[0], max_size=shape[0])))
    if kind == "none":
        return (Ellipsis, None)
    return (np.array([0, shape[0] - 1, 0]),) + (slice(None, None, -1),) * (len(shape) > 1)


def getitem_case(data):
    x, = draw_arrays(data, [data.draw(shapes(min_dims=1, min_side=2))], **R)
    idx = index_for(data, x.shape)
    return (lambda t: t[idx]), [x]


def index_add_case(data):
    shape = data.draw(shapes(min_dims=1, min_side=2))
    idx = index_for(data, shape)
    x, = draw_arrays(data, [np.zeros(shape)[idx].shape], **R)
    return (lambda t: ops.IndexAdd.apply(t, shape, idx)), [x]


def concatenate_case(data):
    base = data.draw(shapes(min_dims=1))
    axis = data.draw(st.integers(0, len(base) - 1))
    sizes = data.draw(st.lists(st.integers(1, 3), min_size=1, max_size=3))
    xs = [data.draw(arrays(base[:axis] + (n,) + base[axis + 1:], **R)) for n in sizes]
    return (lambda *ts: tg.concatenate(ts, axis=axis)), xs


def stack_case(data):
    shape = data.draw(shapes())
    axis = data.draw(st.integers(-len(shape) - 1, len(shape)))
    xs = draw_arrays(data, [shape] * data.draw(st.integers(1, 3)), **R)
    return (lambda *ts: tg.stack(ts, axis=axis)), xs


MATMUL_SHAPES = [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((2, 3), (3, 4)),
                 ((2, 2, 3), (3, 4)), ((3,), (2, 3, 4)), ((2, 1, 2, 3), (2, 3, 2)),
                 ((1, 2, 3), (2, 3, 1)), ((2, 2, 3), (3,))]


def matmul_case(data):
    sa, sb = data.draw(st.sampled_from(MATMUL_SHAPES))
    return (lambda a, b: a @ b), [data.draw(arrays(sa, **R)), data.draw(arrays(sb, **R))]


# x @ w + b for nn.Linear: a sample, a batch, a batch of batches; the bias as nn.Linear's
# (m,) or broadcast from (1,) or a scalar (the forward's plain road, not in place)
AFFINE_SHAPES = [((3,), (3, 4), (4,)), ((2, 3), (3, 4), (4,)), ((2, 2, 3), (3, 4), (4,)),
                 ((2, 3), (3, 1), (1,)), ((2, 3), (3, 4), (1,)), ((2, 3), (3, 4), ())]


def affine_case(data):
    shapes = data.draw(st.sampled_from(AFFINE_SHAPES))
    return ops.Affine.apply, [data.draw(arrays(s, **R)) for s in shapes]


def cross_entropy_case(data):
    n, c = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 5))
    x = data.draw(arrays((n, c), **R))
    labels = np.array(data.draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)))
    reduction = data.draw(st.sampled_from(["none", "mean", "sum"]))
    return (lambda t: tg.functional.cross_entropy(t, labels, reduction=reduction)), [x]


def bce_with_logits_case(data):
    reduction = data.draw(st.sampled_from(["none", "mean", "sum"]))
    op = binary(lambda x, t: ops.BinaryCrossEntropyWithLogits.apply(x, t, reduction=reduction),
                R, {"low": 0.0, "high": 1.0})
    return op(data)


def bce_case(data):
    reduction = data.draw(st.sampled_from(["none", "mean", "sum"]))
    op = binary(lambda p, t: ops.BinaryCrossEntropy.apply(p, t, reduction=reduction),
                {"low": 0.05, "high": 0.95}, {"low": 0.0, "high": 1.0})
    return op(data)


def mod_case(data):
    sa, sb = data.draw(broadcastable_shapes(2))
    a = data.draw(arrays(sa, **R))
    b = data.draw(arrays(sb, low=0.5, high=2.0))
    assume(np.all(np.abs(np.mod(a, b) / b - 0.5) < 0.45))  # away from the jumps of a mod b
    return (lambda x, y: x % y), [a, b]


def std_case(data):
    x, = draw_arrays(data, [data.draw(shapes(min_dims=1, min_side=2))], **R)
    assume(np.std(x) > 0.1)  # sqrt's kink: the gradient of std at zero spread is 0/0
    return (lambda t: t.std()), [x]


def cumsum_case(data):
    x, = draw_arrays(data, [data.draw(shapes(min_dims=0))], **R)
    axis = None if x.ndim == 0 or data.draw(st.booleans()) else \
        data.draw(st.integers(-x.ndim, x.ndim - 1))
    return (lambda t: t.cumsum(axis)), [x]


EINSUM_SPECS = [("ij,jk->ik", [(2, 3), (3, 4)]), ("i,i->", [(3,), (3,)]),
                ("ij->ji", [(2, 3)]), ("ij->i", [(2, 3)]), ("ijk,ik->j", [(2, 3, 2), (2, 2)]),
                ("bij,bjk->bik", [(2, 2, 3), (2, 3, 2)]), ("i,j->ij", [(2,), (3,)]),
                ("ij,kj", [(2, 3), (4, 3)])]


def sum_of_squares_case(data):
    shape = data.draw(shapes())
    n = data.draw(st.integers(1, 3))
    xs = draw_arrays(data, [shape] + [data.draw(shapes()) for _ in range(n - 1)], **R)
    scale = data.draw(st.floats(-3.0, 3.0, allow_nan=False))
    return (lambda *ts: tg.functional.l2_penalty(ts, scale)), xs


def einsum_case(data):
    spec, shapes_ = data.draw(st.sampled_from(EINSUM_SPECS))
    return (lambda *xs: tg.einsum(spec, *xs)), draw_arrays(data, shapes_, **R)


OP_CASES = {
    "Add": binary(lambda a, b: a + b),
    "Sub": binary(lambda a, b: a - b),
    "Mul": binary(lambda a, b: a * b),
    "Div": binary(lambda a, b: a / b, R, NONZERO),
    "Pow": pow_case,
    "Maximum": elementwise_extremum(tg.maximum),
    "Minimum": elementwise_extremum(tg.minimum),
    "Where": where_case,
    "Neg": unary(lambda x: -x),
    "Exp": unary(lambda x: x.exp()),
    "Log": unary(lambda x: x.log(), **POS),
    "Sqrt": unary(lambda x: x.sqrt(), **POS),
    "Abs": unary(lambda x: x.abs(), **NONZERO),
    "Sigmoid": unary(lambda x: x.sigmoid(), low=-8, high=8),
    "Softplus": unary(lambda x: x.softplus(), low=-8, high=8),
    "Tanh": unary(lambda x: x.tanh()),
    "ReLU": unary(lambda x: x.relu(), **NONZERO),
    "Sin": unary(lambda x: x.sin()),
    "Cos": unary(lambda x: x.cos()),
    "Tan": unary(lambda x: x.tan(), low=-1.2, high=1.2),
    "Log1p": unary(lambda x: x.log1p(), low=-0.7, high=3.0),
    "Expm1": unary(lambda x: x.expm1()),
    "Square": unary(lambda x: x.square()),
    "Erf": unary(lambda x: x.erf()),
    "LeakyReLU": unary(lambda x: x.leaky_relu(0.1), **NONZERO),
    "ELU": unary(lambda x: x.elu(0.7), **NONZERO),
    "Softsign": unary(lambda x: x.softsign(), **NONZERO),
    "SiLU": unary(lambda x: x.silu()),
    "GELU": unary(lambda x: x.gelu()),
    "GELUTanh": unary(lambda x: x.gelu(approximate="tanh")),
    "Copy": unary(lambda x: x.clone()),
    "Mod": mod_case,
    "Prod": reduction("prod", low=0.3, high=2.0),
    "Cumsum": cumsum_case,
    "Einsum": einsum_case,
    "Clip": clip_case,
    "Cast": cast_case,
    "Sum": reduction("sum"),
    "Mean": reduction("mean"),
    "Max": reduction("max", distinct_values=True),
    "Min": reduction("min", distinct_values=True),
    "LogSumExp": reduction("logsumexp"),
    "Softmax": along_axis("softmax"),
    "LogSoftmax": along_axis("log_softmax"),
    "CrossEntropy": cross_entropy_case,
    "BinaryCrossEntropyWithLogits": bce_with_logits_case,
    "BinaryCrossEntropy": bce_case,
    "Reshape": reshape_case,
    "Transpose": transpose_case,
    "Expand": expand_case,
    "GetItem": getitem_case,
    "IndexAdd": index_add_case,
    "Concatenate": concatenate_case,
    "Stack": stack_case,
    "SumOfSquares": sum_of_squares_case,
    "MatMul": matmul_case,
    "Affine": affine_case,
}

EXTRA_CASES = {  # reflected operators and Python-scalar operands take other code paths
    "rsub": unary(lambda x: 2.0 - x),
    "rdiv": unary(lambda x: 2.0 / x, **NONZERO),
    "rpow": rpow_case,
    "scalar_mul": unary(lambda x: x * 3.0 + 1.0),
    "ndarray_left": unary(lambda x: np.full(x.shape, 2.0) * x),
    "var": reduction("var"),
    "std": std_case,
    "repeat": unary(lambda x: x.repeat(2, axis=0) if x.ndim else x.repeat(3)),
    "tile": unary(lambda x: x.tile(2, 1)),
    "trace": lambda data: ((lambda x: x.trace()), draw_arrays(data, [(3, 3)], **R)),
    "tensordot": lambda data: ((lambda a, b: tg.tensordot(a, b, axes=1)),
                               draw_arrays(data, [(2, 3), (3, 2)], **R)),
    "prod_with_zero": lambda data: ((lambda x: (x * np.array([0.0, 1.0, 1.0])).prod()),
                                    draw_arrays(data, [(3,)], **R)),
}

SETTINGS = settings(max_examples=30, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def registered_ops():
    return {name for name, obj in vars(ops).items()
            if inspect.isclass(obj) and issubclass(obj, tg.Function)
            and obj.__module__ == ops.__name__ and not name.startswith("_")}


def test_every_registered_op_has_a_gradient_test():
    missing = registered_ops() - set(OP_CASES)
    assert not missing, f"ops without a property test: {sorted(missing)}"
    assert not set(OP_CASES) - registered_ops(), "table entries for ops that do not exist"


@pytest.mark.parametrize("name", sorted({**OP_CASES, **EXTRA_CASES}))
@SETTINGS
@given(data=st.data())
def test_gradient_matches_finite_differences(name, data):
    fn, inputs = {**OP_CASES, **EXTRA_CASES}[name](data)
    assert gradcheck(fn, *inputs, seed=data.draw(st.integers(0, 2**32 - 1)))


@pytest.mark.parametrize("name", sorted(OP_CASES))
@settings(SETTINGS, max_examples=10)
@given(data=st.data())
def test_second_derivative_matches_finite_differences(name, data):
    fn, inputs = OP_CASES[name](data)
    assert gradgradcheck(fn, *inputs, seed=data.draw(st.integers(0, 2**32 - 1)))


# --- the named first-order kernels (kernels.py) against the ops' own formula backwards
def ops_with_kernels():
    return sorted(n for n in registered_ops() if getattr(ops, n).backward_array is not None)


def test_the_kernel_table_covers_the_fused_ops():
    assert {"Sigmoid", "Softplus", "BinaryCrossEntropyWithLogits", "CrossEntropy",
            "MatMul"} <= set(ops_with_kernels())


@pytest.mark.fast_engine_only
@pytest.mark.parametrize("name", ops_with_kernels())
@SETTINGS
@given(data=st.data())
def test_first_order_kernel_equals_the_formula_backward(name, data):
    """A first-order backward runs the op's kernel on arrays; create_graph runs its formula
    ``backward`` on Tensors. Both must give the same gradients, to rounding."""
    fn, inputs = OP_CASES[name](data)
    xs = [tg.Tensor(x, requires_grad=True) for x in inputs]
    out = fn(*xs)
    u = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1))).standard_normal(out.shape)
    with counted_kernel(getattr(ops, name)) as calls:
        fast = tg.gradients(out, xs, grad_output=u)
    assert name in calls, f"the {name} kernel was not used by the first-order backward"
    formula = tg.gradients(out, xs, grad_output=u, create_graph=True)
    for i, (k, f) in enumerate(zip(fast, formula)):
        np.testing.assert_allclose(k.data, f.data, rtol=1e-12, atol=1e-14,
                                   err_msg=f"{name}: input {i}")


# --- every op's docstring is a formula that viz can read
def test_every_op_docstring_parses_as_a_formula_with_a_rule_per_input():
    from tinygrad_edu.viz.formula import Formula

    for name in sorted(registered_ops()):
        f = Formula(getattr(ops, name))
        assert f.forward.startswith("y = "), (name, f.line)
        assert f.rules and all(r.startswith("d") and " = " in r for r in f.rules), (name, f.line)
        assert None not in f.roles, (name, f.roles)
        # one rule per differentiable input, or one rule 'dx_i' for all of a list of inputs
        assert len(set(f.roles)) == len(f.roles), (name, f.roles)
        assert all(role in f.forward or role.removesuffix("_i") + "s" in f.forward
                   for role in f.roles), (name, f.roles, f.forward)

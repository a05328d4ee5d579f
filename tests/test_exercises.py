"""The exercises grade as a teacher would: each checker accepts a right answer (written
here independently of the checker's own formulas) and rejects each typical mistake with
the hint that names it; answers that are no answer get a message, never a traceback;
the notebook that hands the exercises out is committed clean and in step with them."""
import json
import pathlib

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import exercises
from tinygrad_edu.exercises import Result

NOTEBOOK = pathlib.Path(__file__).resolve().parent.parent / "notebooks" / "exercises.ipynb"


def rejected(result, *keywords, mistake=None):
    """The result is a failure whose message names every keyword (case-insensitive)."""
    assert isinstance(result, Result)
    assert not result and result.passed is False, result
    for word in keywords:
        assert word.lower() in result.message.lower(), (word, result.message)
    if mistake is not None:
        assert result.mistake == mistake, (result.mistake, result.message)
    assert "Traceback" not in result.message
    return result


def accepted(result):
    assert isinstance(result, Result)
    assert result and result.passed is True and result.mistake is None, result.message
    return result


def numerical_gradient(f, x, eps=1e-6):
    """Central differences of the scalar function f at the array x (numpy only)."""
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    for k in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[k] = eps
        grad[k] = (f(x + step) - f(x - step)) / (2 * eps)
    return grad


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def cross_entropy(y, t):
    return float(np.sum(-(t * np.log(y) + (1 - t) * np.log(1 - y))))


# ------------------------------------------------------------ 1. Sigmoid's backward
def sigmoid_backward_of(formula):
    """A backward(ctx, g) that returns formula(x, y, g)."""
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        return formula(x, y, g)
    return backward


def test_sigmoid_backward_accepts_the_derivative_written_with_x():
    def backward(ctx, g):           # e^-x / (1 + e^-x)^2, not the checker's y (1 - y)
        x, _ = ctx.saved_tensors
        e = (-x).exp()
        return g * e / (1 + e) ** 2
    result = accepted(exercises.sigmoid_backward.check(backward))
    assert "gradcheck" in result.message


def test_sigmoid_backward_accepts_a_whole_function_subclass():
    class MySigmoid(tg.Function):
        def forward(ctx, x):
            y = 1.0 / (1.0 + np.exp(-x))
            ctx.save_for_backward(y)
            return y

        def backward(ctx, g):
            (y,) = ctx.saved_tensors
            return g * y - g * y * y
    accepted(exercises.sigmoid_backward.check(MySigmoid))


@pytest.mark.parametrize("formula, keywords, mistake", [
    (lambda x, y, g: y * (1 - y), ["forgot g", "local derivative"], "forgot_g"),
    (lambda x, y, g: -g * y * (1 - y), ["sign"], "sign"),
    (lambda x, y, g: g * x * (1 - x), ["x instead of y"], "x_for_y"),
    (lambda x, y, g: g * y * (1 - y) * x, ["extra factor x"], "times_x"),
    (lambda x, y, g: x * (1 - x), ["forgot g", "x instead of y"], "forgot_g+x_for_y"),
    (lambda x, y, g: g * y.sigmoid() * (1 - y.sigmoid()), ["sigmoid again"], "sigmoid_twice"),
    (lambda x, y, g: g * (1 - y * y), ["tanh"], "tanh"),
    (lambda x, y, g: g, ["unchanged"], "identity"),
    (lambda x, y, g: None, ["zero everywhere", "return"], "zero"),
    (lambda x, y, g: g * y * y, ["not sigmoid's gradient", "hint"], "unrecognised"),
], ids=["forgot_g", "sign", "x_for_y", "times_x", "two_mistakes", "sigmoid_twice", "tanh",
        "identity", "none", "unrecognised"])
def test_sigmoid_backward_names_the_mistake(formula, keywords, mistake):
    rejected(exercises.sigmoid_backward.check(sigmoid_backward_of(formula)), *keywords,
             mistake=mistake)


def test_sigmoid_backward_checks_the_forward_of_a_whole_function():
    class Doubler(tg.Function):
        def forward(ctx, x):
            return 2 * x

        def backward(ctx, g):
            return 2 * g
    rejected(exercises.sigmoid_backward.check(Doubler), "forward does not compute sigmoid")


def divides_by_zero(ctx, g):
    return g * (1 / 0)


@pytest.mark.parametrize("answer, keywords", [
    (None, ["got None", "def backward(ctx, g)"]),
    ("backward", ["string", "the function itself"]),
    (42, ["got 42"]),
    (lambda g: g, ["two arguments", "(ctx, g)"]),
    (divides_by_zero, ["raised ZeroDivisionError", "(1 / 0)"]),
    (sigmoid_backward_of(lambda x, y, g: (g, g)), ["2 gradient(s) for 1 input"]),
    (sigmoid_backward_of(lambda x, y, g: g.sum()), ["shape ()"]),
    (tg.Function, ["no backward of its own"]),
], ids=["None", "string", "number", "one_argument", "raises", "two_gradients", "scalar",
        "base_class"])
def test_sigmoid_backward_refuses_what_is_no_backward(answer, keywords):
    rejected(exercises.sigmoid_backward.check(answer), *keywords)


def test_the_learners_line_is_named_when_their_code_raises():
    result = rejected(exercises.sigmoid_backward.check(divides_by_zero), mistake="raised")
    line = divides_by_zero.__code__.co_firstlineno + 1
    assert f"line {line}: `return g * (1 / 0)`" in result.message


# ---------------------------------------------- 2. Mul's backward, with broadcasting
def mul_backward_of(formula):
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        return formula(a, b, g)
    return backward


def test_mul_backward_accepts_the_reduction_written_as_matrix_products():
    # g @ b.T sums g_ij b_0j over j: (3, 1); a.T @ g sums a_i0 g_ij over i: (1, 4)
    accepted(exercises.mul_backward_broadcasting.check(
        mul_backward_of(lambda a, b, g: (g @ b.T, a.T @ g))))


def test_mul_backward_accepts_numpy_arrays_and_a_function_subclass():
    class MyMul(tg.Function):
        def forward(ctx, a, b):
            ctx.save_for_backward(a, b)
            return a * b

        def backward(ctx, g):
            a, b = (t.numpy() for t in ctx.saved_tensors)
            g = g.numpy()
            return np.einsum("ij,ij->i", g, np.broadcast_to(b, g.shape))[:, None], \
                np.einsum("ij,ij->j", g, np.broadcast_to(a, g.shape))[None, :]
    accepted(exercises.mul_backward_broadcasting.check(MyMul))


def test_the_forgotten_reduction_is_caught_though_the_engine_would_hide_it():
    unreduced = mul_backward_of(lambda a, b, g: (g * b, g * a))
    rejected(exercises.mul_backward_broadcasting.check(unreduced), "forgot to undo the broadcast",
             "(3, 4)", "(3, 1)", "(1, 4)", "keepdims=True", mistake="broadcast")
    op = type("UnreducedMul", (tg.Function,), {
        "forward": staticmethod(lambda ctx, a, b: (ctx.save_for_backward(a, b), a * b)[1]),
        "backward": staticmethod(unreduced)})
    rng = np.random.default_rng(1)    # through the engine the same backward looks right
    assert tg.testing.gradcheck(op.apply, rng.standard_normal((3, 1)), rng.standard_normal((1, 4)))


@pytest.mark.parametrize("formula, keywords, mistake", [
    (lambda a, b, g: ((g * a).sum(axis=1, keepdims=True), (g * b).sum(axis=0, keepdims=True)),
     ["swapped a and b", "g * b"], "swapped"),
    (lambda a, b, g: ((g * a).sum(axis=0, keepdims=True), (g * b).sum(axis=1, keepdims=True)),
     ["swapped", "(dL/da, dL/db)"], "swapped_order"),
    (lambda a, b, g: (b.sum(axis=1, keepdims=True) * tg.ones((3, 1)),
                      a.sum(axis=0, keepdims=True) * tg.ones((1, 4))),
     ["forgot g"], "forgot_g"),
    (lambda a, b, g: (b, a), ["forgot g"], "forgot_g"),
    (lambda a, b, g: ((g * b).sum(axis=1), (g * a).sum(axis=0)), ["keepdims=True", "(3,)"],
     "keepdims"),
    (lambda a, b, g: ((g * b).sum(axis=0, keepdims=True), (g * a).sum(axis=1, keepdims=True)),
     ["wrong axis"], "axis"),
    (lambda a, b, g: ((g * b).sum(), (g * a).sum()), ["every axis"], "summed_all"),
    (lambda a, b, g: (g * a, (g * a).sum(axis=0, keepdims=True)),
     ["swapped a and b", "broadcast"], "swapped+broadcast"),
    (lambda a, b, g: (g @ b.T, g * a), ["dL/db", "broadcast"], "broadcast"),
    (lambda a, b, g: (2 * g @ b.T, 3 * a.T @ g), ["right shape", "hint"], "unrecognised"),
], ids=["swapped", "swapped_order", "forgot_g", "forgot_g_raw", "keepdims", "axis", "all",
        "two_mistakes", "one_wrong", "unrecognised"])
def test_mul_backward_names_the_mistake(formula, keywords, mistake):
    rejected(exercises.mul_backward_broadcasting.check(mul_backward_of(formula)), *keywords,
             mistake=mistake)


@pytest.mark.parametrize("answer, keywords", [
    (None, ["got None"]),
    ("def backward(ctx, g): ...", ["string"]),
    (mul_backward_of(lambda a, b, g: g @ b.T), ["two gradients", "a Tensor of shape (3, 1)"]),
    (mul_backward_of(lambda a, b, g: None), ["two gradients", "None"]),
    (mul_backward_of(lambda a, b, g: (g @ b.T, None)), ["None for dL/db"]),
    (mul_backward_of(lambda a, b, g: ("x", "y")), ["the string 'x'"]),
    (lambda ctx, g: ctx.a * g, ["AttributeError", "saved_tensors"]),
    (divides_by_zero, ["ZeroDivisionError"]),
], ids=["None", "string", "one_gradient", "returns_None", "None_for_b", "strings",
        "unknown_ctx_attribute", "raises"])
def test_mul_backward_refuses_what_is_no_backward(answer, keywords):
    rejected(exercises.mul_backward_broadcasting.check(answer), *keywords)


def test_mul_backward_exercise_refuses_shapes_that_do_not_broadcast_both_ways():
    with pytest.raises(ValueError, match="broadcast"):
        exercises.MulBackwardBroadcasting(shape_a=(3, 4), shape_b=(1, 4))


# -------------------------------------------------- 3. dL/dw of a logistic unit by hand
X, W, B, T = np.array([2.0, -1.0, 0.5]), np.array([0.3, 0.8, -0.4]), 0.1, 1.0
Y = sigmoid(W @ X + B)


def test_dl_dw_accepts_the_finite_difference_gradient_and_hand_rounding():
    right = numerical_gradient(lambda w: cross_entropy(sigmoid(w @ X + B), T), W)
    accepted(exercises.dL_dw_by_hand.check(list(right)))
    accepted(exercises.dL_dw_by_hand.check([float(f"{v:.3g}") for v in right]))
    accepted(exercises.dL_dw_by_hand.check(tg.Tensor(right)))


@pytest.mark.parametrize("answer, keywords, mistake", [
    (Y - T, ["missing the factor x"], "missing_x"),
    ([Y - T] * 3, ["missing the factor x"], "missing_x"),
    ((T - Y) * X, ["sign error"], "sign"),
    (T - Y, ["sign error", "missing the factor x"], "sign+missing_x"),
    ((Y - T) * Y * (1 - Y) * X, ["squared error"], "squared_error"),
    ((W @ X + B - T) * X, ["used z where y"], "z_for_y"),
    ((Y - T) * W, ["w where x belongs"], "w_for_x"),
    (-T / Y * X, ["stopped at dL/dy"], "forgot_dy_dz"),
    ([0.0, 0.0, 0.0], ["starter"], "starter"),
    ([(Y - T) * X[0], 1.0, 2.0], ["at [0] are right", "hint"], "unrecognised"),
    ([1.0, 2.0], ["shape (2,)", "3 numbers"], "unrecognised"),
], ids=["missing_x", "missing_x_repeated", "sign", "two_mistakes", "squared_error", "z_for_y",
        "w_for_x", "forgot_dy_dz", "starter", "partly_right", "wrong_length"])
def test_dl_dw_names_the_mistake(answer, keywords, mistake):
    rejected(exercises.dL_dw_by_hand.check(answer), *keywords, mistake=mistake)


XM = np.array([1.0, 2.0, -1.0])
WM = np.array([[0.5, -0.2, 0.1], [-0.3, 0.4, 0.6]])
BM, TM = np.array([0.0, -0.5]), np.array([1.0, 0.0])
YM = sigmoid(WM @ XM + BM)
RIGHT_M = numerical_gradient(lambda w: cross_entropy(sigmoid(w @ XM + BM), TM), WM)


def test_dl_dw_matrix_accepts_the_finite_difference_gradient():
    accepted(exercises.dL_dW_matrix.check(RIGHT_M.tolist()))
    accepted(exercises.dL_dW_matrix.check(np.round(RIGHT_M, 3)))


@pytest.mark.parametrize("answer, keywords, mistake", [
    (RIGHT_M.T, ["transposed", "(2, 3)"], "transposed"),
    (-RIGHT_M.T, ["transposed", "sign error"], "transposed+sign"),
    (-RIGHT_M, ["sign error"], "sign"),
    (YM - TM, ["missing the factor x"], "missing_x"),
    (np.outer((YM - TM) * YM * (1 - YM), XM), ["squared error"], "squared_error"),
    ((YM - TM)[:, None] * WM, ["W where x belongs"], "W_for_x"),
    (RIGHT_M.ravel(), ["shape (6,)", "2 rows of 3 numbers"], "unrecognised"),
], ids=["transposed", "transposed_and_sign", "sign", "missing_x", "squared_error", "W_for_x",
        "flat"])
def test_dl_dw_matrix_names_the_mistake(answer, keywords, mistake):
    rejected(exercises.dL_dW_matrix.check(answer), *keywords, mistake=mistake)


@pytest.mark.parametrize("exercise", [exercises.dL_dw_by_hand, exercises.dL_dW_matrix,
                                      exercises.missing_chain_rule_step,
                                      exercises.learning_rate], ids=lambda e: e.name)
@pytest.mark.parametrize("answer, keywords", [
    (None, ["got None"]),
    ("0.5", ["the string '0.5'", "without quotes"]),
    (True, ["not True or False"]),
    (print, ["a function"]),
    ([[1.0], [1.0, 2.0]], ["not numbers"]),
    ([float("nan"), 1.0, 2.0], ["NaN or inf"]),
    (object(), ["not numbers"]),
], ids=["None", "string", "bool", "function", "ragged", "nan", "object"])
def test_number_exercises_refuse_what_is_no_number(exercise, answer, keywords):
    rejected(exercise.check(answer), *keywords, mistake="invalid")


# ------------------------------------------------- 4. the missing step of the chain rule
def test_the_blank_hides_every_line_that_would_give_dl_dz_away():
    prompt = exercises.missing_chain_rule_step.prompt
    z = 0.8 * 1.5
    y = sigmoid(z)
    right = y * (1 - y) * (3 * z) + y * 3       # dL/dz of L = sigmoid(z) * 3z, by hand
    assert "dL/dz = ____" in prompt
    assert "dL/dq = dL/dL * dL/dq" in prompt and "dy/dz = y * (1 - y) = 0.1779" in prompt
    assert f"{right:.4g}" not in prompt and f"{right * 1.5:.4g}" not in prompt
    assert "dL/dw" not in prompt.split("dL/dz = ____")[1]
    accepted(exercises.missing_chain_rule_step.check(right))
    accepted(exercises.missing_chain_rule_step.check(round(right, 2)))
    accepted(exercises.missing_chain_rule_step.check([right]))


Z = 0.8 * 1.5
S = sigmoid(Z)


@pytest.mark.parametrize("answer, keywords, mistake", [
    (S * (1 - S), ["local derivative", "upstream gradient dL/dy", "sum"],
     "forgot_upstream+sum"),
    (3.0, ["local derivative", "upstream gradient dL/dq"], "forgot_upstream+sum"),
    (S * (1 - S) + 3.0, ["local derivatives", "upstream gradient"], "forgot_upstream"),
    (S * (1 - S) * 3 * Z, ["path via y only", "sum over both paths"], "sum"),
    (S * 3, ["path via q only", "sum"], "sum"),
    (3 * Z + S, ["upstream gradients", "local derivative"], "forgot_local"),
    (S * (1 - S) * 3 * Z * S * 3, ["multiplied the paths"], "product"),
    (0.0, ["starter"], "starter"),
    (1.0, ["not the value", "hint"], "unrecognised"),
    ([1.0, 2.0], ["shape (2,)", "one number"], "unrecognised"),
], ids=["local_y", "local_q", "locals_summed", "path_y", "path_q", "upstreams", "product",
        "starter", "unrecognised", "two_numbers"])
def test_missing_chain_rule_step_names_the_mistake(answer, keywords, mistake):
    rejected(exercises.missing_chain_rule_step.check(answer), *keywords, mistake=mistake)


# ---------------------------------------------------------------- 5. the learning rate
def gradient_descent_loss(lr, steps=15):
    w = -0.5
    for _ in range(steps):
        w -= lr * 8 * (w - 1.5)
    return 4 * (w - 1.5) ** 2


@pytest.mark.parametrize("lr", [0.05, 0.1, 0.125, 0.2])
def test_learning_rate_accepts_a_rate_that_converges(lr):
    assert gradient_descent_loss(lr) < 1e-4                 # the run, in plain Python
    result = accepted(exercises.learning_rate.check(lr))
    assert "converges" in result.message


@pytest.mark.parametrize("lr, keywords, mistake", [
    (1.0, ["diverges", "the loss grew from 16 to"], "diverges"),
    (0.3, ["diverges", "smaller"], "diverges"),
    (1e300, ["diverges", "to inf in 1 step)"], "diverges"),
    (0.01, ["too slow", "after 15 steps the loss is still", "larger"], "too_slow"),
    (0.23, ["too slow", "jumps across the minimum", "smaller"], "too_slow"),
    (0.0, ["does not move"], "zero"),
    (-0.1, ["negative", "positive"], "negative"),
    ([0.1, 0.2], ["2 numbers", "one learning rate"], "invalid"),
], ids=["diverges", "diverges_slowly", "overflows", "too_small", "oscillates", "zero",
        "negative", "two_numbers"])
def test_learning_rate_says_what_went_wrong(lr, keywords, mistake):
    if mistake == "too_slow":
        assert gradient_descent_loss(lr) >= 1e-4
    rejected(exercises.learning_rate.check(lr), *keywords, mistake=mistake)


def test_learning_rate_run_gives_the_losses_of_the_run():
    losses = exercises.learning_rate.run(0.1)
    assert len(losses) == 16 and losses[0] == 16.0
    assert losses[-1] == pytest.approx(gradient_descent_loss(0.1), abs=1e-15)


# ------------------------------------------------------------- the exercises as a set
@pytest.mark.parametrize("exercise", exercises.EXERCISES, ids=lambda e: e.name)
def test_each_exercise_has_a_prompt_a_starter_that_runs_and_hints(exercise):
    assert getattr(exercises, exercise.name) is exercise
    assert exercise.title and exercise.prompt and len(exercise.hints) >= 2
    namespace = {}
    exec(compile(exercise.starter, exercise.name, "exec"), namespace)  # noqa: S102
    answer = next(v for k, v in namespace.items() if k in ("backward", "answer", "lr"))
    result = rejected(exercise.check(answer))        # wrong, with a hint, and no exception
    assert len(result.message) > 40
    assert exercise.title in str(exercise) and exercise.prompt in str(exercise)
    assert exercise.name in repr(exercise)


def test_a_result_reads_well_in_the_repl_and_in_jupyter():
    passed = Result(True, "Right: <g * y>.", exercise="demo")
    failed = Result(False, "You forgot g. " * 20, "forgot_g", "demo")
    assert passed and not failed
    assert str(passed) == "✓ demo: passed\n  Right: <g * y>."
    assert repr(failed).startswith("✗ demo: not yet\n  You forgot g.")
    assert all(len(line) <= 90 for line in str(failed).splitlines())
    assert "&lt;g * y&gt;" in passed._repr_html_() and "<g" not in passed._repr_html_()


def test_the_module_is_importable_on_its_own():
    import importlib
    assert importlib.import_module("tinygrad_edu.exercises") is exercises


# ------------------------------------------------------------------------ the notebook
def test_the_notebook_is_valid_json_committed_without_outputs():
    nb = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    assert nb["nbformat"] == 4
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert code and all(c["outputs"] == [] and c["execution_count"] is None for c in code)
    try:
        import nbformat
    except ImportError:
        return
    nbformat.validate(nbformat.reads(NOTEBOOK.read_text(encoding="utf-8"), as_version=4))


def test_the_notebook_hands_out_every_exercise_with_its_starter_and_check():
    nb = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    sources = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    for exercise in exercises.EXERCISES:
        assert exercise.starter.rstrip("\n") in sources, exercise.name
        assert any(f"exercises.{exercise.name}" in s for s in sources), exercise.name
        assert any(".check(" in s for s in sources)


def test_the_notebooks_code_runs_top_to_bottom(capsys):
    """The code cells in one namespace, as a kernel runs them (without Jupyter)."""
    nb = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    namespace = {}
    results = []
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            source = "".join(cell["source"])
            exec(compile(source, "exercises.ipynb", "exec"), namespace)  # noqa: S102
            if ".check(" in source:
                results.append(eval(source.strip().splitlines()[-1], namespace))
    assert len(results) == len(exercises.EXERCISES)
    assert all(isinstance(r, Result) and not r for r in results)   # the starters are wrong

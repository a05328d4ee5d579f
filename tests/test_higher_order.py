"""Higher-order derivatives, function transforms, hooks, anomaly detection, mutation safety.

Expected values come from calculus written out by hand, from finite differences of
plain numpy functions, or from PyTorch when it is installed.
"""
import inspect
import math
import os

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import AnomalyError, GradientError

pytestmark = pytest.mark.usefixtures("both_walks")  # every test through both engines


def T(x, grad=True):
    return tg.Tensor(np.asarray(x, dtype=np.float64), requires_grad=grad)


def line_of_next_statement():
    """The line number just after the caller's current line."""
    return inspect.currentframe().f_back.f_lineno + 1


# ------------------------------------------------------------- second derivatives
def test_second_derivative_of_exp_3x_is_9_exp_6x():
    d2 = tg.grad(tg.grad(lambda x: (3 * x).exp()))(2.0)
    assert math.isclose(d2.item(), 9 * math.exp(6), rel_tol=1e-12)


def test_second_and_third_derivative_of_cube():
    cube = lambda x: x ** 3
    assert tg.grad(cube)(2.0).item() == pytest.approx(12.0, rel=1e-14)       # 3x^2
    assert tg.grad(tg.grad(cube))(2.0).item() == pytest.approx(12.0, rel=1e-14)  # 6x
    assert tg.grad(tg.grad(tg.grad(cube)))(2.0).item() == pytest.approx(6.0, rel=1e-14)


def test_second_derivative_of_a_linear_function_is_zero_not_an_error():
    d2 = tg.grad(tg.grad(lambda x: 3 * x + 1))(2.0)
    assert isinstance(d2, tg.Tensor) and d2.shape == () and d2.item() == 0.0
    h = tg.hessian(lambda x: (x * tg.Tensor([1.0, -2.0, 3.0])).sum())(np.ones(3))
    np.testing.assert_array_equal(h.data, np.zeros((3, 3)))
    np.testing.assert_array_equal(tg.hvp(lambda x: (2 * x).sum(), np.ones(3), np.ones(3)).data,
                                  np.zeros(3))


def test_grad_of_grad_on_vectors_sums_the_hessian_rows():
    # f(x) = sum(x^4) / 4 has gradient g = x^3, and grad(sum(g)) = 3x^2 elementwise
    x = np.array([-1.5, 0.5, 2.0])
    g_of_sum = tg.grad(lambda t: tg.grad(lambda s: (s ** 4).sum() / 4)(t).sum())(x)
    np.testing.assert_allclose(g_of_sum.data, 3 * x ** 2, rtol=1e-14)


def test_backward_create_graph_then_differentiate_x_grad_again():
    x = T(2.0)
    (x ** 3).backward(create_graph=True)
    g = x.grad
    assert g.item() == pytest.approx(12.0) and g.requires_grad  # 3x^2, with its graph

    d2, = tg.gradients(g, [x])
    assert d2.item() == pytest.approx(12.0)  # 6x

    x.grad = None  # or the second backward would add to the first gradient
    g.backward()
    assert x.grad.item() == pytest.approx(12.0)


def test_backward_without_create_graph_gives_a_constant_gradient():
    x = T(2.0)
    (x ** 3).backward()
    assert x.grad.item() == pytest.approx(12.0)
    assert not x.grad.requires_grad and x.grad.grad_fn is None


def test_mixed_partials_through_create_graph():
    # f(a, b) = a^2 b^3: d2f/da db = 6 a b^2
    a, b = T(1.5), T(-2.0)
    ga, = tg.gradients(a * a * b ** 3, [a], create_graph=True)
    gab, = tg.gradients(ga, [b])
    assert gab.item() == pytest.approx(6 * 1.5 * 4.0, rel=1e-14)


# --------------------------------------------------------------------- Hessians
def f_numpy(x):
    return np.exp(x[0] * x[1]) + x[1] * x[2] ** 3 + np.log(x[0])


def f_tg(x):
    return (x[0] * x[1]).exp() + x[1] * x[2] ** 3 + x[0].log()


def hessian_by_hand(x):
    e = np.exp(x[0] * x[1])
    return np.array([
        [x[1] ** 2 * e - 1 / x[0] ** 2, e + x[0] * x[1] * e, 0.0],
        [e + x[0] * x[1] * e, x[0] ** 2 * e, 3 * x[2] ** 2],
        [0.0, 3 * x[2] ** 2, 6 * x[1] * x[2]],
    ])


def hessian_by_finite_differences(f, x, h=1e-4):
    n = x.size
    H = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            def at(si, sj, i=i, j=j):
                y = x.copy()
                y[i] += si * h
                y[j] += sj * h
                return f(y)
            H[i, j] = (at(1, 1) - at(1, -1) - at(-1, 1) + at(-1, -1)) / (4 * h * h)
    return H


X0 = np.array([0.7, -0.4, 1.3])


def test_hessian_matches_the_analytic_form():
    H = tg.hessian(f_tg)(X0)
    assert H.shape == (3, 3)
    np.testing.assert_allclose(H.data, hessian_by_hand(X0), rtol=1e-12, atol=1e-12)


def test_hessian_matches_finite_differences():
    H = tg.hessian(f_tg)(X0)
    np.testing.assert_allclose(H.data, hessian_by_finite_differences(f_numpy, X0),
                               rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(H.data, H.data.T, rtol=0, atol=1e-12)  # symmetric


def test_hvp_equals_hessian_times_v():
    v = np.array([0.3, -1.1, 2.0])
    hv = tg.hvp(f_tg, X0, v)
    assert hv.shape == (3,)
    np.testing.assert_allclose(hv.data, hessian_by_hand(X0) @ v, rtol=1e-12, atol=1e-12)


def test_hvp_uses_two_backward_passes_whatever_the_dimension():
    # Forming the Hessian would take one backward pass per input element (n = 200);
    # a Hessian-vector product takes two. Count the passes that reach x with a hook.
    n = 200
    rng = np.random.default_rng(0)
    x, v = T(rng.standard_normal(n)), rng.standard_normal(n)
    passes = []
    x.register_hook(lambda g: passes.append(1))
    hv = tg.hvp(lambda t: (t ** 4).sum() / 12 + (t[:-1] * t[1:]).sum(), x, v)
    assert len(passes) == 2
    # H = diag(x^2) + (ones on the first off-diagonals)
    expected = x.data ** 2 * v
    expected[:-1] += v[1:]
    expected[1:] += v[:-1]
    np.testing.assert_allclose(hv.data, expected, rtol=1e-12, atol=1e-12)
    assert x.grad is None


# -------------------------------------------------------------------- jacobians
def test_jacobian_of_a_linear_map_is_its_matrix():
    A = np.array([[1.0, 2.0, 3.0], [-1.0, 0.5, 4.0]])
    J = tg.jacobian(lambda x: tg.Tensor(A) @ x)(np.array([0.1, 0.2, 0.3]))
    assert J.shape == (2, 3)
    np.testing.assert_array_equal(J.data, A)


def test_jacobian_shapes_are_output_shape_plus_input_shape():
    x = np.arange(1.0, 7.0).reshape(2, 3)
    J = tg.jacobian(lambda t: t.sum(axis=0) * t.sum(axis=1)[0])(x)
    assert J.shape == (3, 2, 3)
    J2 = tg.jacobian(lambda t: t * t)(x)
    assert J2.shape == (2, 3, 2, 3)
    np.testing.assert_allclose(J2.data.reshape(6, 6), np.diag(2 * x.ravel()), rtol=1e-14)
    Js = tg.jacobian(lambda t: (t * t).sum())(x)  # scalar output: the gradient's shape
    assert Js.shape == (2, 3)
    np.testing.assert_allclose(Js.data, 2 * x, rtol=1e-14)


def test_jacobian_argnums_picks_the_argument():
    a, b = np.array([1.0, 2.0]), np.array([3.0, 5.0, 7.0])
    J = tg.jacobian(lambda a, b: (a.reshape(2, 1) * b).reshape(-1), argnums=1)(a, b)
    assert J.shape == (6, 3)
    expected = np.kron(a.reshape(2, 1), np.eye(3))  # d(a_i b_j)/d b_k = a_i [j == k]
    np.testing.assert_array_equal(J.data, expected)


# ------------------------------------------------------------- grad / value_and_grad
def test_grad_of_a_non_scalar_output_suggests_jacobian():
    with pytest.raises(GradientError, match="jacobian") as info:
        tg.grad(lambda x: x * 2)(np.ones(3))
    assert "(3,)" in str(info.value)


def test_value_and_grad_with_argnums_tuple():
    a, b = np.array([1.0, -2.0]), np.array([3.0, 0.5])
    value, (da, db) = tg.value_and_grad(lambda a, b: (a * b * b).sum(), argnums=(0, 1))(a, b)
    assert value.item() == pytest.approx(np.sum(a * b * b))
    np.testing.assert_allclose(da.data, b * b, rtol=1e-15)
    np.testing.assert_allclose(db.data, 2 * a * b, rtol=1e-15)
    only_b = tg.grad(lambda a, b: (a * b * b).sum(), argnums=1)(a, b)
    assert isinstance(only_b, tg.Tensor)
    np.testing.assert_allclose(only_b.data, 2 * a * b, rtol=1e-15)


def test_grad_of_an_unused_argument_is_zero():
    da, db = tg.grad(lambda a, b: (a * a).sum(), argnums=(0, 1))(np.ones(2), np.ones(3))
    np.testing.assert_array_equal(db.data, np.zeros(3))
    np.testing.assert_array_equal(da.data, 2 * np.ones(2))


def test_transforms_never_touch_dot_grad():
    w = T([0.5, -1.0])
    x = T([2.0, 3.0])
    sentinel = tg.Tensor([7.0, 7.0])
    x.grad = sentinel
    f = lambda x: ((x * w).tanh() ** 2).sum()
    tg.grad(f)(x)
    tg.value_and_grad(f)(x)
    tg.grad(lambda t: tg.grad(f)(t).sum())(x)
    tg.hessian(f)(x)
    tg.jacobian(lambda t: t * w)(x)
    tg.hvp(f, x, np.ones(2))
    tg.gradients(f(x), [x], create_graph=True)
    assert x.grad is sentinel
    np.testing.assert_array_equal(x.grad.data, [7.0, 7.0])
    assert w.grad is None  # w requires grad too, but nobody asked for its gradient


# ------------------------------------------------------------- gradient penalty
def penalty_numpy(W, b, x):
    """P = ||dL/dx||^2 with L = sum(tanh(x @ W + b)); dL/dx = (1 - tanh^2) @ W^T."""
    t = np.tanh(x @ W + b)
    g = (1 - t ** 2) @ W.T
    return np.sum(g ** 2)


def central_differences(f, a, h=1e-6):
    out = np.zeros_like(a)
    for i in np.ndindex(a.shape):
        ap, am = a.copy(), a.copy()
        ap[i] += h
        am[i] -= h
        out[i] = (f(ap) - f(am)) / (2 * h)
    return out


def gradient_penalty_tg(W, b, x):
    loss = (x @ W + b).tanh().sum()
    gx, = tg.gradients(loss, [x], create_graph=True)
    return (gx * gx).sum()


def test_gradient_penalty_matches_finite_differences():
    rng = np.random.default_rng(3)
    W0, b0, x0 = rng.standard_normal((3, 2)), rng.standard_normal(2), rng.standard_normal((4, 3))
    W, b, x = T(W0), T(b0), T(x0)
    P = gradient_penalty_tg(W, b, x)
    assert P.item() == pytest.approx(penalty_numpy(W0, b0, x0), rel=1e-13)
    P.backward()
    np.testing.assert_allclose(W.grad.data, central_differences(lambda w: penalty_numpy(w, b0, x0), W0),
                               rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(b.grad.data, central_differences(lambda c: penalty_numpy(W0, c, x0), b0),
                               rtol=1e-6, atol=1e-8)


# ---------------------------------------------------------------- against PyTorch
def mlp_loss_tg(theta, X, y):
    W1, b1 = theta[0:12].reshape(3, 4), theta[12:16]
    W2, b2 = theta[16:20].reshape(4, 1), theta[20:21]
    pred = (X @ W1 + b1).tanh() @ W2 + b2
    return ((pred - y) ** 2).mean()


def mlp_loss_torch(torch, theta, X, y):
    W1, b1 = theta[0:12].reshape(3, 4), theta[12:16]
    W2, b2 = theta[16:20].reshape(4, 1), theta[20:21]
    pred = torch.tanh(X @ W1 + b1) @ W2 + b2
    return ((pred - y) ** 2).mean()


def mlp_problem():
    rng = np.random.default_rng(11)
    return (rng.standard_normal(21), rng.standard_normal((5, 3)), rng.standard_normal((5, 1)),
            rng.standard_normal(21))


def test_hvp_of_an_mlp_loss_matches_torch():
    torch = pytest.importorskip("torch")
    theta, X, y, v = mlp_problem()
    ours = tg.hvp(lambda t: mlp_loss_tg(t, tg.Tensor(X), tg.Tensor(y)), theta, v)
    Xt, yt = torch.tensor(X), torch.tensor(y)
    _, theirs = torch.autograd.functional.hvp(lambda t: mlp_loss_torch(torch, t, Xt, yt),
                                              torch.tensor(theta), torch.tensor(v))
    np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=1e-10, atol=1e-12)


def test_hessian_of_an_mlp_loss_matches_torch():
    torch = pytest.importorskip("torch")
    theta, X, y, _ = mlp_problem()
    ours = tg.hessian(lambda t: mlp_loss_tg(t, tg.Tensor(X), tg.Tensor(y)))(theta)
    Xt, yt = torch.tensor(X), torch.tensor(y)
    theirs = torch.autograd.functional.hessian(lambda t: mlp_loss_torch(torch, t, Xt, yt),
                                               torch.tensor(theta))
    np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=1e-10, atol=1e-12)


def test_gradient_penalty_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    W0, b0, x0 = rng.standard_normal((3, 2)), rng.standard_normal(2), rng.standard_normal((4, 3))
    W, b = T(W0), T(b0)
    gradient_penalty_tg(W, b, T(x0)).backward()
    Wt, bt, xt = (torch.tensor(a, requires_grad=True) for a in (W0, b0, x0))
    gx, = torch.autograd.grad(torch.tanh(xt @ Wt + bt).sum(), [xt], create_graph=True)
    (gx * gx).sum().backward()
    np.testing.assert_allclose(W.grad.data, Wt.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(b.grad.data, bt.grad.numpy(), rtol=1e-10, atol=1e-12)


# ------------------------------------------------------------------------- hooks
def test_hook_can_clip_a_leaf_gradient_and_be_removed():
    x = T([1.0, -2.0, 3.0])
    c = tg.Tensor([1.0, 2.0, -3.0])
    handle = x.register_hook(lambda g: g.clip(-1.5, 1.5))
    (x * c).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [1.0, 1.5, -1.5])
    handle.remove()
    x.grad = None
    (x * c).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [1.0, 2.0, -3.0])


def test_hook_on_an_interior_tensor_replaces_what_flows_upstream():
    x = T([1.0, 2.0])
    y = x * 3
    y.register_hook(lambda g: tg.Tensor(np.full(2, 10.0)))
    (y * y).sum().backward()  # dL/dy = 2y is replaced by 10; dL/dx = 10 * 3
    np.testing.assert_array_equal(x.grad.data, [30.0, 30.0])


def test_hook_sees_the_total_gradient_once_and_none_keeps_it():
    x = T([1.0, 2.0])
    seen = []
    x.register_hook(lambda g: seen.append(g.data.copy()))  # returns None: keep g
    (x * 2 + x * 3).sum().backward()
    assert len(seen) == 1
    np.testing.assert_array_equal(seen[0], [5.0, 5.0])
    np.testing.assert_array_equal(x.grad.data, [5.0, 5.0])


def test_hooks_apply_inside_grad_transforms_too():
    x = T([1.0, -4.0])
    x.register_hook(lambda g: g * 0.5)
    g = tg.grad(lambda t: (t * t).sum())(x)
    np.testing.assert_array_equal(g.data, [1.0, -4.0])  # 2x halved


def test_register_hook_needs_a_tensor_that_requires_grad():
    with pytest.raises(GradientError, match="require"):
        tg.Tensor([1.0]).register_hook(lambda g: g)


# -------------------------------------------------------------------- retain_grad
def test_retain_grad_keeps_an_interior_gradient_only_when_asked():
    x = T([1.0, 2.0])
    y = x * 3
    z = x * 2
    y.retain_grad()
    loss = (y * y + z).sum()
    loss.backward()
    np.testing.assert_array_equal(y.grad.data, 2 * y.data)  # dL/dy = 2y
    with pytest.warns(UserWarning, match="retain_grad"):  # as PyTorch warns
        assert z.grad is None
    np.testing.assert_array_equal(x.grad.data, 18 * x.data + 2)
    loss.backward()  # accumulates exactly, like a leaf
    np.testing.assert_array_equal(y.grad.data, 4 * y.data)
    np.testing.assert_array_equal(x.grad.data, 2 * (18 * x.data + 2))


# ------------------------------------------------------------------ detect_anomaly
def test_anomaly_in_forward_names_the_op_and_the_users_line():
    x = T([-1.0, 1.0])
    with tg.detect_anomaly(), np.errstate(invalid="ignore"), \
            pytest.raises(AnomalyError) as info:
        line = line_of_next_statement()
        x.log()
    msg = str(info.value)
    assert "Log" in msg and "forward" in msg
    assert f"{os.path.basename(__file__)}:{line}" in msg
    assert isinstance(info.value, FloatingPointError)


def test_anomaly_in_backward_sqrt_at_zero_is_caught():
    x = T([0.0, 4.0])
    with tg.detect_anomaly(), np.errstate(divide="ignore"):
        y = x.sqrt().sum()  # forward is finite: sqrt(0) = 0
        with pytest.raises(AnomalyError, match="NaN or inf"):
            y.backward()  # d sqrt(x)/dx = 1 / (2 sqrt(x)) = inf at 0


def test_anomaly_in_backward_names_the_op_whose_backward_failed_and_where_it_was_made():
    x = T([0.0, 4.0])
    with tg.detect_anomaly(), np.errstate(divide="ignore"):
        line = line_of_next_statement()
        y = x.sqrt().sum()
        with pytest.raises(AnomalyError) as info:
            y.backward()
    msg = str(info.value)
    assert "Sqrt" in msg and "backward" in msg
    assert f"{os.path.basename(__file__)}:{line}" in msg


def test_anomaly_in_a_user_function_backward_names_it():
    class BadGrad(tg.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2.0

        @staticmethod
        def backward(ctx, g):
            return np.full(g.shape, np.nan)  # a raw array, as a first-order-only op may return

    x = T([1.0, 2.0])
    with tg.detect_anomaly():
        y = BadGrad.apply(x).sum()
        with pytest.raises(AnomalyError, match="BadGrad.*backward"):
            y.backward()


def test_anomaly_detection_off_costs_nothing_and_raises_nothing(monkeypatch):
    def forbidden(*args):
        raise AssertionError("anomaly machinery used while detection is off")

    monkeypatch.setattr(tg.modes, "creation_site", forbidden)
    monkeypatch.setattr(tg.modes, "check_finite", forbidden)
    x = T([0.0, 4.0])
    with np.errstate(divide="ignore", invalid="ignore"):
        y = x.sqrt().sum() + T([-1.0]).log().sum()
        y.backward()
    assert np.isnan(y.item())
    assert x.grad.data[0] == np.inf and x.grad.data[1] == 0.25
    # the same machinery does run when detection is on (so the patch above was live)
    with tg.detect_anomaly(), pytest.raises(AssertionError, match="while detection is off"):
        x * 2


def test_detect_anomaly_is_restored_after_the_block():
    with pytest.raises(AnomalyError), tg.detect_anomaly(), np.errstate(divide="ignore"):
        T([0.0]).log()
    with np.errstate(divide="ignore"):
        assert T([0.0]).log().item() == -np.inf  # no error after the block


# ------------------------------------------------------------------ mutation safety
def test_in_place_add_on_a_tensor_saved_for_backward_is_refused():
    x = T([1.0, 2.0])
    y = x * 2
    z = (y * y).sum()  # Mul saved y
    with tg.no_grad():  # in grad mode the update itself is refused
        y.add_(1.0)
    with pytest.raises(GradientError, match="modified in place"):
        z.backward()


@pytest.mark.parametrize("mutate", [
    lambda t: t.add_(1.0), lambda t: t.sub_(1.0), lambda t: t.mul_(2.0),
    lambda t: t.copy_(np.zeros(2)), lambda t: t.zero_(), lambda t: t.__setitem__(0, 5.0),
])
def test_every_in_place_update_of_a_saved_constant_is_detected(mutate):
    c = tg.Tensor([3.0, 4.0])  # a constant (no grad) that Mul saves for w's gradient
    w = T([1.0, 1.0])
    loss = (w * c).sum()
    mutate(c)
    with pytest.raises(GradientError, match="modified in place"):
        loss.backward()


def test_leaf_updated_under_no_grad_after_being_saved_is_refused():
    x = T([1.0, 2.0])
    y = (x * x).sum()
    with tg.no_grad():
        x.add_(1.0)
    with pytest.raises(GradientError, match="modified in place"):
        y.backward()


def test_in_place_update_of_a_leaf_that_requires_grad_needs_no_grad():
    x = T([1.0, 2.0])
    with pytest.raises(GradientError, match="no_grad"):
        x.add_(1.0)
    np.testing.assert_array_equal(x.data, [1.0, 2.0])


def test_ops_that_did_not_save_the_tensor_are_unaffected():
    x = T([0.5, 1.0])
    y = x * 2
    a = y + 1          # Add saves nothing
    b = y.exp()        # Exp saves its output, not y
    c = y.sum() * 3.0  # Sum saves nothing
    with tg.no_grad():  # in grad mode the update itself is refused
        y.add_(1.0)
    (a.sum() + b.sum() + c).backward()
    # d/dx of sum(2x + 1) + sum(exp(2x)) + 3 sum(2x), with the values of the original graph
    np.testing.assert_allclose(x.grad.data, 2 + 2 * np.exp(2 * np.array([0.5, 1.0])) + 6,
                               rtol=1e-14)


def test_optimizer_step_then_backward_on_the_stale_graph_is_refused():
    model = tg.nn.Linear(2, 1, random_state=0)
    opt = tg.optim.SGD(model.parameters(), lr=0.1)
    x = tg.Tensor([[1.0, 2.0]])
    loss = model(x).sum()
    loss.backward()
    opt.step()
    with pytest.raises(GradientError, match="modified in place"):
        loss.backward()
    opt.zero_grad()
    model(x).sum().backward()  # a fresh forward pass is fine
    np.testing.assert_array_equal(model.weight.grad.data, [[1.0], [2.0]])


def test_in_place_update_of_a_saved_output_is_refused():
    x = T([1.0, 2.0])
    y = (x * 1.0).exp()  # Exp saves its output y for backward: dx = g * y
    with tg.no_grad():  # in grad mode the update itself is refused
        y.add_(1.0)
    with pytest.raises(GradientError, match="modified in place"):
        y.sum().backward()


def test_in_place_update_through_detach_is_refused():
    x = T([1.0, 2.0])
    y = (x * x).sum()
    x.detach().add_(1.0)  # same memory as x
    with pytest.raises(GradientError, match="modified in place"):
        y.backward()

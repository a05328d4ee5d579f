"""Module API, Linear initialisation, and the optimizers against hand-written updates."""
import builtins
import sys

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu.autograd import ShapeError

nn, optim = tg.nn, tg.optim


def mlp(seed=0, bias=True):
    return nn.Sequential(nn.Linear(3, 4, bias=bias, random_state=seed), nn.Tanh(),
                         nn.Linear(4, 2, bias=bias, random_state=seed + 1))


class Block(nn.Module):
    """A hand-written module: a parameter, a nested layer, and a non-parameter attribute."""

    def __init__(self):
        self.scale = nn.Parameter(np.ones(2))
        self.inner = nn.Linear(2, 2, random_state=0)
        self.constant = tg.Tensor([5.0, 5.0])  # a plain Tensor is not a parameter
        self.head = nn.Sequential(nn.Linear(2, 1, random_state=1))

    def forward(self, x):
        return self.head(self.inner(x) * self.scale + self.constant)


# ------------------------------------------------------------------------ Module API
def test_parameter_names_and_order():
    model = mlp()
    names = [n for n, _ in model.named_parameters()]
    assert names == ["0.weight", "0.bias", "2.weight", "2.bias"]
    params = model.parameters()
    assert [id(p) for p in params] == [id(model[0].weight), id(model[0].bias),
                                       id(model[2].weight), id(model[2].bias)]
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in params)


def test_nested_module_parameter_names_follow_definition_order():
    names = [n for n, _ in Block().named_parameters()]
    assert names == ["scale", "inner.weight", "inner.bias", "head.0.weight", "head.0.bias"]


def test_a_parameter_shared_by_two_layers_is_listed_once():
    a, b = nn.Linear(2, 2), nn.Linear(2, 2)
    b.weight = a.weight
    model = nn.Sequential(a, b)
    assert [n for n, _ in model.named_parameters()] == ["0.weight", "0.bias", "1.bias"]
    assert model.num_parameters() == 4 + 2 + 2


def test_zero_grad_clears_every_parameter_gradient():
    model = mlp()
    model(tg.Tensor(np.ones((2, 3)))).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_train_and_eval_flags_reach_every_submodule():
    model = nn.Sequential(mlp(), Block())
    modules = [m for _, m in model.named_modules()]
    assert len(modules) == 1 + 4 + 4  # Sequential(mlp: 1+3, Block: 1+inner+head+head.0)
    assert all(m.training for m in modules)
    assert model.eval() is model
    assert not any(m.training for m in modules)
    model.train()
    assert all(m.training for m in modules)
    model.train(False)
    assert not any(m.training for m in modules)


def test_state_dict_is_a_copy_and_round_trips():
    model = mlp(0)
    state = model.state_dict()
    assert list(state) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    state["0.weight"][:] = 123.0  # editing the dict does not touch the model
    assert not np.any(model[0].weight.data == 123.0)

    source, target = mlp(1), mlp(2)
    x = tg.Tensor(np.random.default_rng(0).standard_normal((5, 3)))
    assert not np.allclose(source(x).data, target(x).data)
    versions = [p._version for p in target.parameters()]
    target.load_state_dict(source.state_dict())
    np.testing.assert_array_equal(target(x).data, source(x).data)
    assert all(p._version > v for p, v in zip(target.parameters(), versions))
    source[0].weight.data[:] = 0.0  # the loaded arrays are not shared with the source
    assert not np.all(target[0].weight.data == 0.0)


def test_load_state_dict_keeps_the_parameters_dtype():
    target = nn.Linear(2, 2, dtype=np.float32)
    target.load_state_dict({"weight": np.ones((2, 2)), "bias": np.zeros(2)})
    assert target.weight.dtype == np.float32 and target.bias.dtype == np.float32


def test_load_state_dict_lists_every_mismatch():
    model = mlp()
    bad = {"0.weight": np.zeros((4, 3)), "2.weight": np.zeros((4, 2)), "2.bias": np.zeros(2),
           "3.weight": np.zeros(1)}
    with pytest.raises(ShapeError) as info:
        model.load_state_dict(bad)
    msg = str(info.value)
    for words in ["0.bias", "3.weight", "0.weight: expected (3, 4), got (4, 3)"]:
        assert words in msg, msg
    assert "2.weight" not in msg and "2.bias" not in msg  # only the real problems


def test_load_state_dict_non_strict_ignores_missing_and_unexpected_names():
    model = mlp()
    model.load_state_dict({"0.bias": np.full(4, 2.0), "nope": np.zeros(1)}, strict=False)
    np.testing.assert_array_equal(model[0].bias.data, np.full(4, 2.0))
    with pytest.raises(ShapeError, match="wrong shape"):  # shapes are checked all the same
        model.load_state_dict({"0.bias": np.zeros(5)}, strict=False)


@pytest.mark.parametrize("bias, total", [(False, 517_000), (True, 517_510)])
def test_summary_of_the_1024_500_10_network(bias, total):
    model = nn.Sequential(nn.Linear(1024, 500, bias=bias), nn.Sigmoid(),
                          nn.Linear(500, 10, bias=bias), nn.Sigmoid())
    assert model.num_parameters() == 1024 * 500 + 500 * 10 + (510 if bias else 0) == total
    text = model.summary()
    lines = text.splitlines()
    first = 1024 * 500 + (500 if bias else 0)
    second = 500 * 10 + (10 if bias else 0)
    layer_lines = [ln for ln in lines if ln.startswith(("0 ", "2 "))]
    assert len(layer_lines) == 2
    assert "Linear" in layer_lines[0] and f"{first:,}" in layer_lines[0]
    assert "Linear" in layer_lines[1] and f"{second:,}" in layer_lines[1]
    assert any(ln.startswith("1 ") and "Sigmoid" in ln for ln in lines)
    assert any(ln.startswith("3 ") and "Sigmoid" in ln for ln in lines)
    assert lines[-1].startswith("total") and lines[-1].split()[-1] == f"{total:,}"


# ------------------------------------------------------------------------ Linear
def test_linear_forward_is_x_at_w_plus_b():
    layer = nn.Linear(3, 2, random_state=0)
    layer.bias.data[:] = [0.5, -1.0]
    x = np.arange(6.0).reshape(2, 3)
    np.testing.assert_allclose(layer(tg.Tensor(x)).data, x @ layer.weight.data + [0.5, -1.0],
                               rtol=1e-15)
    assert layer.weight.shape == (3, 2) and layer.bias.shape == (2,)
    assert nn.Linear(3, 2, bias=False).bias is None


def test_linear_same_seed_same_weights_and_generators_are_accepted():
    a = nn.Linear(5, 4, random_state=42)
    b = nn.Linear(5, 4, random_state=42)
    c = nn.Linear(5, 4, random_state=43)
    np.testing.assert_array_equal(a.weight.data, b.weight.data)
    assert not np.allclose(a.weight.data, c.weight.data)
    g1 = nn.Linear(5, 4, random_state=np.random.default_rng(42))
    np.testing.assert_array_equal(g1.weight.data, a.weight.data)  # seed s == default_rng(s)
    gen = np.random.default_rng(7)
    first, second = nn.Linear(5, 4, random_state=gen), nn.Linear(5, 4, random_state=gen)
    assert not np.allclose(first.weight.data, second.weight.data)  # the generator advances


def test_linear_xavier_bound_and_variance():
    fan_in, fan_out = 300, 200
    w = nn.Linear(fan_in, fan_out, init="xavier", random_state=0).weight.data
    bound = np.sqrt(6.0 / (fan_in + fan_out))
    assert np.all(np.abs(w) <= bound)
    assert np.abs(w).max() > 0.999 * bound  # the whole interval is used (60,000 draws)
    # U(-a, a) has variance a^2 / 3 = 2 / (fan_in + fan_out); std error here ~0.4 %
    assert np.var(w) == pytest.approx(2.0 / (fan_in + fan_out), rel=0.03)
    assert abs(np.mean(w)) < 4 * bound / np.sqrt(3 * w.size)


def test_linear_he_std():
    fan_in, fan_out = 400, 300
    w = nn.Linear(fan_in, fan_out, init="he", random_state=1).weight.data
    # N(0, 2 / fan_in): the sample std of 120,000 draws is within ~0.2 % of sqrt(2 / fan_in)
    assert np.std(w) == pytest.approx(np.sqrt(2.0 / fan_in), rel=0.02)
    assert abs(np.mean(w)) < 4 * np.sqrt(2.0 / fan_in) / np.sqrt(w.size)
    assert np.abs(w).max() > 3 * np.sqrt(2.0 / fan_in)  # not a bounded distribution


def test_linear_rejects_unknown_init():
    with pytest.raises(ValueError, match="init"):
        nn.Linear(2, 2, init="zeros-please")


def test_linear_input_feature_mismatch_names_both_sizes():
    layer = nn.Linear(3, 2)
    with pytest.raises(ShapeError) as info:
        layer(tg.Tensor(np.ones((4, 5))))
    msg = str(info.value)
    assert "Linear(3, 2)" in msg and "(4, 5)" in msg and "expected 3" in msg
    assert isinstance(info.value, ValueError)


# ------------------------------------------------------------------ optimizer set-up
A = np.array([[3.0, 0.5, 0.0], [0.5, 2.0, -0.3], [0.0, -0.3, 1.5]])  # symmetric, positive
B = np.array([1.0, -2.0, 0.5])
W0 = np.array([0.3, -0.7, 1.2])
M0 = np.array([[0.5, -1.0], [2.0, 0.1]])


def quad_loss(w):
    """L(w) = 1/2 w.A.w - b.w (gradient A w - b)."""
    return 0.5 * (w @ (tg.Tensor(A) @ w)) - tg.Tensor(B) @ w


def quad_grad(w):
    return A @ w - B


def quartic_loss(m):
    """L(m) = sum(m^4) / 4 + sum(m) (gradient m^3 + 1): a non-quadratic second parameter."""
    return (m ** 4).sum() / 4 + m.sum()


def quartic_grad(m):
    return m ** 3 + 1


def run_tg(make_opt, steps=3):
    w, m = nn.Parameter(W0.copy()), nn.Parameter(M0.copy())
    opt = make_opt([w, m])
    for _ in range(steps):
        opt.zero_grad()
        (quad_loss(w) + quartic_loss(m)).backward()
        opt.step()
    return w.data, m.data


def run_numpy(update, steps=3):
    """update(i, param, grad, state) -> new param, with a state dict per parameter."""
    params, grads, states = [W0.copy(), M0.copy()], [quad_grad, quartic_grad], [{}, {}]
    for t in range(1, steps + 1):
        params = [update(t, p, g(p), s) for p, g, s in zip(params, grads, states)]
    return params


def sgd_by_hand(lr, momentum=0.0, nesterov=False, weight_decay=0.0):
    # PyTorch's SGD (dampening 0): g += wd w; b = g at the first step, else mu b + g;
    # nesterov: g = g + mu b, else g = b; w -= lr g
    def update(t, w, g, s):
        g = g + weight_decay * w
        if momentum:
            s["b"] = g if t == 1 else momentum * s["b"] + g
            g = g + momentum * s["b"] if nesterov else s["b"]
        return w - lr * g
    return update


SGD_CASES = {
    "plain": {"lr": 0.1},
    "momentum": {"lr": 0.05, "momentum": 0.9},
    "nesterov": {"lr": 0.05, "momentum": 0.8, "nesterov": True},
    "weight_decay": {"lr": 0.1, "weight_decay": 0.3},
    "all": {"lr": 0.03, "momentum": 0.7, "nesterov": True, "weight_decay": 0.1},
}


@pytest.mark.parametrize("case", SGD_CASES)
def test_sgd_matches_the_update_written_by_hand(case):
    kw = SGD_CASES[case]
    w, m = run_tg(lambda ps: optim.SGD(ps, **kw))
    w_ref, m_ref = run_numpy(sgd_by_hand(**kw))
    assert not np.allclose(w, W0)  # the steps moved the parameters
    np.testing.assert_allclose(w, w_ref, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(m, m_ref, rtol=1e-13, atol=1e-15)


def test_sgd_variants_really_differ():
    # guards the table above: each option changes the trajectory
    kws = [{}, {"momentum": 0.8}, {"momentum": 0.8, "nesterov": True}, {"weight_decay": 0.3}]
    ends = [run_tg(lambda ps, kw=kw: optim.SGD(ps, lr=0.05, **kw))[0] for kw in kws]
    for i in range(len(ends)):
        for j in range(i):
            assert not np.allclose(ends[i], ends[j], rtol=1e-6, atol=0), (kws[i], kws[j])


def adam_by_hand(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    # Kingma & Ba (2015), Algorithm 1, with L2 weight decay added to the gradient
    b1, b2 = betas

    def update(t, w, g, s):
        g = g + weight_decay * w
        s["m"] = b1 * s.get("m", 0.0) + (1 - b1) * g
        s["v"] = b2 * s.get("v", 0.0) + (1 - b2) * g * g
        m_hat = s["m"] / (1 - b1 ** t)
        v_hat = s["v"] / (1 - b2 ** t)
        return w - lr * m_hat / (np.sqrt(v_hat) + eps)
    return update


@pytest.mark.parametrize("kw", [{"lr": 0.1}, {"lr": 0.05, "betas": (0.8, 0.99), "eps": 1e-6},
                                {"lr": 0.1, "weight_decay": 0.2}])
def test_adam_matches_the_update_written_by_hand(kw):
    w, m = run_tg(lambda ps: optim.Adam(ps, **kw))
    w_ref, m_ref = run_numpy(adam_by_hand(**kw))
    assert not np.allclose(w, W0)
    np.testing.assert_allclose(w, w_ref, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(m, m_ref, rtol=1e-13, atol=1e-15)


def test_sgd_and_adam_match_torch():
    torch = pytest.importorskip("torch")
    cases = [(optim.SGD, torch.optim.SGD, {"lr": 0.05, "momentum": 0.9, "nesterov": True,
                                                "weight_decay": 0.1}),
             (optim.Adam, torch.optim.Adam, {"lr": 0.05, "betas": (0.8, 0.99), "weight_decay": 0.1})]
    for ours, theirs, kw in cases:
        w, m = run_tg(lambda ps, ours=ours, kw=kw: ours(ps, **kw))
        wt = torch.tensor(W0, requires_grad=True)
        mt = torch.tensor(M0, requires_grad=True)
        opt = theirs([wt, mt], **kw)
        At, Bt = torch.tensor(A), torch.tensor(B)
        for _ in range(3):
            opt.zero_grad()
            (0.5 * wt @ (At @ wt) - Bt @ wt + (mt ** 4).sum() / 4 + mt.sum()).backward()
            opt.step()
        np.testing.assert_allclose(w, wt.detach().numpy(), rtol=1e-12)
        np.testing.assert_allclose(m, mt.detach().numpy(), rtol=1e-12)


def test_parameters_without_a_gradient_are_left_alone():
    used, unused = nn.Parameter(np.ones(2)), nn.Parameter(np.ones(2))
    for opt in (optim.SGD([used, unused], lr=0.1, momentum=0.9), optim.Adam([used, unused])):
        opt.zero_grad()
        (used * used).sum().backward()
        opt.step()
        np.testing.assert_array_equal(unused.data, np.ones(2))
        assert unused._version == 0


def test_optimizer_argument_errors():
    p = nn.Parameter(np.ones(2))
    with pytest.raises(ValueError, match="empty"):
        optim.SGD([], lr=0.1)
    with pytest.raises(ValueError, match="lr"):
        optim.SGD([p], lr=-0.1)
    with pytest.raises(ValueError, match="nesterov"):
        optim.SGD([p], lr=0.1, nesterov=True)


# --------------------------------------------------------- scipy-backed optimizers
def rosenbrock(p):
    a, b = p[0], p[1]
    return (1 - a) ** 2 + 100 * (b - a * a) ** 2


@pytest.mark.parametrize("make", [optim.LBFGS, optim.ConjugateGradient])
def test_scipy_optimizers_minimise_a_quadratic(make):
    pytest.importorskip("scipy")
    w = nn.Parameter(W0.copy())
    opt = make([w], max_iter=500, tol=1e-12)

    def closure():
        opt.zero_grad()
        loss = quad_loss(w)
        loss.backward()
        return loss

    result = opt.step(closure)
    assert result.success
    np.testing.assert_allclose(w.data, np.linalg.solve(A, B), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("make", [optim.LBFGS, optim.ConjugateGradient])
def test_scipy_optimizers_minimise_rosenbrock(make):
    pytest.importorskip("scipy")
    p = nn.Parameter(np.array([-1.2, 1.0]))  # the classic start, far up the valley
    opt = make([p], max_iter=2000, tol=1e-12)

    def closure():
        opt.zero_grad()
        loss = rosenbrock(p)
        loss.backward()
        return loss

    result = opt.step(closure)
    np.testing.assert_allclose(p.data, [1.0, 1.0], atol=1e-5)
    assert result.fun < 1e-10


def test_lbfgs_fits_a_linear_layer_to_least_squares():
    pytest.importorskip("scipy")
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20, 3))
    y = X @ np.array([[1.0], [-2.0], [0.5]]) + 0.3 + 0.01 * rng.standard_normal((20, 1))
    layer = nn.Linear(3, 1, random_state=0)
    opt = optim.LBFGS(layer.parameters(), tol=1e-14)

    def closure():
        opt.zero_grad()
        loss = tg.nn.functional.mse_loss(layer(tg.Tensor(X)), tg.Tensor(y))
        loss.backward()
        return loss

    opt.step(closure)
    X1 = np.hstack([X, np.ones((20, 1))])
    coef = np.linalg.lstsq(X1, y, rcond=None)[0]
    np.testing.assert_allclose(layer.weight.data, coef[:3], atol=1e-6)
    np.testing.assert_allclose(layer.bias.data, coef[3], atol=1e-6)


@pytest.mark.parametrize("how", ["sys.modules", "__import__"])
def test_clear_import_error_when_scipy_is_missing(monkeypatch, how):
    if how == "sys.modules":
        monkeypatch.setitem(sys.modules, "scipy", None)
        monkeypatch.setitem(sys.modules, "scipy.optimize", None)
    else:
        real_import = builtins.__import__

        def no_scipy(name, *args, **kwargs):
            if name == "scipy" or name.startswith("scipy."):
                raise ImportError(f"No module named {name!r}")
            return real_import(name, *args, **kwargs)

        monkeypatch.setattr(builtins, "__import__", no_scipy)
    p = nn.Parameter(np.ones(2))
    for make in (optim.LBFGS, optim.ConjugateGradient):
        with pytest.raises(ImportError, match="needs scipy.*pip install scipy"):
            make([p])
    optim.SGD([p], lr=0.1)  # the other optimizers do not need scipy


# ------------------------------------------------------------- dtypes and versions
def float32_problem():
    w = nn.Parameter(np.array([0.5, -1.5, 2.0], dtype=np.float32))
    layer = nn.Linear(3, 2, random_state=0, dtype=np.float32)
    x64 = tg.Tensor(np.ones((4, 3)))  # float64 data meets float32 weights

    def loss_fn():
        return ((w * w).sum() + (layer(x64 * w) ** 2).mean()).astype(np.float64)

    return [w, layer.weight, layer.bias], loss_fn


@pytest.mark.parametrize("make", [
    lambda ps: optim.SGD(ps, lr=0.01, momentum=0.9, nesterov=True, weight_decay=0.1),
    lambda ps: optim.Adam(ps, lr=0.01, weight_decay=0.1),
    lambda ps: optim.LBFGS(ps, max_iter=5),
    lambda ps: optim.ConjugateGradient(ps, max_iter=5),
], ids=["sgd", "adam", "lbfgs", "cg"])
def test_float32_parameters_stay_float32(make):
    params, loss_fn = float32_problem()
    before = [p.data.copy() for p in params]
    opt = make(params)

    def closure():
        opt.zero_grad()
        loss = loss_fn()
        loss.backward()
        return loss

    for _ in range(3):
        if isinstance(opt, optim.ScipyOptimizer):
            opt.step(closure)
        else:
            closure()
            opt.step()
        for p in params:
            assert p.dtype == np.float32 and p.data.dtype == np.float32
            assert p.grad is None or p.grad.dtype == np.float32
    assert any(not np.array_equal(p.data, b) for p, b in zip(params, before))


@pytest.mark.parametrize("make", [lambda ps: optim.SGD(ps, lr=0.1),
                                  lambda ps: optim.Adam(ps, lr=0.1)], ids=["sgd", "adam"])
def test_optimizer_steps_bump_the_version(make):
    params = [nn.Parameter(np.ones(2)), nn.Parameter(np.ones((2, 2)))]
    opt = make(params)
    for step in range(1, 4):
        opt.zero_grad()
        (params[0].sum() + (params[1] ** 2).sum()).backward()
        opt.step()
        assert [p._version for p in params] == [step, step]


def test_scipy_optimizer_bumps_the_version():
    pytest.importorskip("scipy")
    p = nn.Parameter(np.array([2.0, -1.0]))
    opt = optim.LBFGS([p])

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    opt.step(closure)
    assert p._version >= 2  # at least one evaluation and the final write
    np.testing.assert_allclose(p.data, [0.0, 0.0], atol=1e-8)


def test_adam_counts_steps_per_parameter():
    # a parameter whose first gradient arrives at step 11 gets Adam's first-step update,
    # lr * sign(g): bias correction uses its own step count, not the optimizer's
    a, b = tg.Tensor([0.0], requires_grad=True), tg.Tensor([0.0], requires_grad=True)
    opt = tg.optim.Adam([a, b], lr=0.1)
    for _ in range(10):
        opt.zero_grad()
        (a * 1.0).sum().backward()
        opt.step()
    opt.zero_grad()
    (b * 3.0).sum().backward()
    opt.step()
    np.testing.assert_allclose(b.data, [-0.1], rtol=1e-6)

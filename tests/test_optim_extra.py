"""Param groups, RMSprop, AdamW, Adagrad and the learning-rate schedulers.

Each update rule is written out by hand for one and two steps; the trajectories over 20
steps and the schedules are compared with torch.optim (float64) when PyTorch is installed.
"""
import math
from types import SimpleNamespace

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import nn, optim
from tinygrad_edu.errors import ArgumentError, DTypeError, GradientError, ShapeError

sched = optim.lr_scheduler
FIRST_ORDER = {"SGD": {"lr": 0.1, "momentum": 0.9}, "Adam": {"lr": 0.1},
               "AdamW": {"lr": 0.1}, "RMSprop": {"lr": 0.01}, "Adagrad": {"lr": 0.1}}


# --------------------------------------------------------- one and two steps by hand
C = np.array([2.0, 0.5, 3.0])
W0 = np.array([1.0, -2.0, 0.5])


def trajectory(make_opt, steps=2):
    """w after each step on L(w) = 1/2 sum(c w^2), whose gradient is c w."""
    w = nn.Parameter(W0.copy())
    opt = make_opt([w])
    out = []
    for _ in range(steps):
        opt.zero_grad()
        (0.5 * (tg.Tensor(C) * w * w).sum()).backward()
        opt.step()
        out.append(w.data.copy())
    return out


def close(actual, expected):
    for a, e in zip(actual, expected, strict=True):
        np.testing.assert_allclose(a, e, rtol=1e-14, atol=0)


def test_rmsprop_two_steps_by_hand():
    lr, alpha, eps = 0.1, 0.9, 1e-8
    g0 = C * W0
    v1 = (1 - alpha) * g0 ** 2
    w1 = W0 - lr * g0 / (np.sqrt(v1) + eps)
    g1 = C * w1
    v2 = alpha * v1 + (1 - alpha) * g1 ** 2
    w2 = w1 - lr * g1 / (np.sqrt(v2) + eps)
    got = trajectory(lambda ps: optim.RMSprop(ps, lr=lr, alpha=alpha, eps=eps))
    close(got, [w1, w2])
    # the first step is lr sign(g) / sqrt(1 - alpha), whatever the size of g
    np.testing.assert_allclose(got[0], W0 - lr * np.sign(g0) / np.sqrt(1 - alpha), rtol=1e-7)


def test_rmsprop_centered_with_momentum_and_weight_decay_two_steps_by_hand():
    lr, alpha, mu, wd, eps = 0.01, 0.9, 0.5, 0.1, 1e-8
    g0 = C * W0 + wd * W0
    v1, a1 = (1 - alpha) * g0 ** 2, (1 - alpha) * g0
    b1 = g0 / (np.sqrt(v1 - a1 ** 2) + eps)
    w1 = W0 - lr * b1
    g1 = C * w1 + wd * w1
    v2, a2 = alpha * v1 + (1 - alpha) * g1 ** 2, alpha * a1 + (1 - alpha) * g1
    b2 = mu * b1 + g1 / (np.sqrt(v2 - a2 ** 2) + eps)
    w2 = w1 - lr * b2
    got = trajectory(lambda ps: optim.RMSprop(ps, lr=lr, alpha=alpha, eps=eps, weight_decay=wd,
                                              momentum=mu, centered=True))
    close(got, [w1, w2])
    # centred, the first denominator is sqrt(0.1 g^2 - 0.01 g^2) = 0.3 |g|
    np.testing.assert_allclose(got[0], W0 - lr * np.sign(g0) / 0.3, rtol=1e-7)


def test_adamw_two_steps_by_hand():
    lr, (b1, b2), eps, wd = 0.1, (0.9, 0.999), 1e-8, 0.5
    g0 = C * W0
    m1, v1 = (1 - b1) * g0, (1 - b2) * g0 ** 2
    w1 = W0 - lr * wd * W0 - lr * (m1 / (1 - b1)) / (np.sqrt(v1 / (1 - b2)) + eps)
    g1 = C * w1
    m2, v2 = b1 * m1 + (1 - b1) * g1, b2 * v1 + (1 - b2) * g1 ** 2
    w2 = w1 - lr * wd * w1 - lr * (m2 / (1 - b1 ** 2)) / (np.sqrt(v2 / (1 - b2 ** 2)) + eps)
    got = trajectory(lambda ps: optim.AdamW(ps, lr=lr, betas=(b1, b2), eps=eps, weight_decay=wd))
    close(got, [w1, w2])
    # the first step: shrink by 1 - lr wd, then Adam's lr sign(g)
    np.testing.assert_allclose(got[0], W0 * (1 - lr * wd) - lr * np.sign(g0), rtol=1e-7)


def test_adamw_decay_is_decoupled_from_the_gradient():
    # with a zero loss gradient AdamW shrinks w by exactly 1 - lr wd per step; Adam's L2
    # decay goes through m / sqrt(v) instead: its first step moves every weight by lr
    for cls, steps, expected in [(optim.AdamW, 3, W0 * (1 - 0.1 * 0.5) ** 3),
                                 (optim.Adam, 1, W0 - 0.1 * np.sign(W0))]:
        w = nn.Parameter(W0.copy())
        opt = cls([w], lr=0.1, weight_decay=0.5)
        for _ in range(steps):
            opt.zero_grad()
            (0.0 * w).sum().backward()
            opt.step()
        np.testing.assert_allclose(w.data, expected, rtol=1e-6)


def test_adagrad_two_steps_by_hand():
    lr, lr_decay, wd, s0, eps = 0.1, 0.5, 0.2, 0.1, 1e-10
    g0 = C * W0 + wd * W0
    s1 = s0 + g0 ** 2
    w1 = W0 - lr * g0 / (np.sqrt(s1) + eps)  # step 1: lr / (1 + 0 lr_decay)
    g1 = C * w1 + wd * w1
    s2 = s1 + g1 ** 2
    w2 = w1 - lr / (1 + lr_decay) * g1 / (np.sqrt(s2) + eps)
    got = trajectory(lambda ps: optim.Adagrad(ps, lr=lr, lr_decay=lr_decay, weight_decay=wd,
                                              initial_accumulator_value=s0, eps=eps))
    close(got, [w1, w2])


def test_adagrad_first_step_is_lr_times_the_sign_and_then_shrinks():
    got = trajectory(lambda ps: optim.Adagrad(ps, lr=0.1), steps=2)
    np.testing.assert_allclose(got[0], W0 - 0.1 * np.sign(C * W0), rtol=1e-9)
    g1 = C * got[0]
    np.testing.assert_allclose(got[1], got[0] - 0.1 * g1 / np.sqrt((C * W0) ** 2 + g1 ** 2),
                               rtol=1e-9)


def test_the_defaults_are_pytorchs():
    w = nn.Parameter(np.ones(2))
    expected = {
        optim.RMSprop: dict(lr=0.01, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                            centered=False),
        optim.AdamW: dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2),
        optim.Adagrad: dict(lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
                            eps=1e-10),
    }
    for cls, defaults in expected.items():
        group = cls([w]).param_groups[0]
        assert {k: group[k] for k in defaults} == defaults, cls.__name__


@pytest.mark.parametrize("name", FIRST_ORDER)
def test_each_optimizer_docstring_writes_its_update(name):
    assert "w <- w - lr" in getattr(optim, name).__doc__


# ------------------------------------------------------------------- param groups
def test_group_options_fall_back_to_the_constructors():
    w, b = nn.Parameter(np.array([1.0, -2.0])), nn.Parameter(np.array([0.5]))
    opt = optim.SGD([{"params": [w], "lr": 0.01}, {"params": [b]}], lr=0.1, momentum=0.9)
    assert [g["lr"] for g in opt.param_groups] == [0.01, 0.1]
    for group in opt.param_groups:
        assert set(group) == {"params", "lr", "momentum", "nesterov", "weight_decay"}
        assert (group["momentum"], group["nesterov"], group["weight_decay"]) == (0.9, False, 0.0)
    assert opt.params == [w, b] and len(opt.state) == 2
    steps = []
    for _ in range(2):
        opt.zero_grad()
        ((w * w).sum() / 2 + (3 * b).sum()).backward()  # gradients w and 3
        opt.step()
        steps.append((w.data.copy(), b.data.copy()))
    w1 = np.array([1.0, -2.0]) * (1 - 0.01)                    # velocity g0 = w0
    w2 = w1 - 0.01 * (0.9 * np.array([1.0, -2.0]) + w1)        # velocity 0.9 g0 + g1
    np.testing.assert_allclose(steps[0][0], w1, rtol=1e-15)
    np.testing.assert_allclose(steps[1][0], w2, rtol=1e-15)
    np.testing.assert_allclose(steps[0][1], [0.5 - 0.1 * 3], rtol=1e-15)
    np.testing.assert_allclose(steps[1][1], [0.5 - 0.3 - 0.1 * (0.9 * 3 + 3)], rtol=1e-15)


def test_a_changed_group_lr_takes_effect_at_the_next_step():
    w, b = nn.Parameter(np.array([1.0])), nn.Parameter(np.array([1.0]))
    opt = optim.SGD([{"params": [w]}, {"params": [b]}], lr=0.1)
    seen = []
    for lr_b in [0.1, 0.5, 0.0]:
        opt.param_groups[1]["lr"] = lr_b
        opt.zero_grad()
        (w + b).sum().backward()  # gradient 1 for both
        opt.step()
        seen.append((w.item(), b.item()))
    np.testing.assert_allclose(seen, [(0.9, 0.9), (0.8, 0.4), (0.7, 0.4)], rtol=1e-15)


PER_GROUP = {"SGD": ({"lr": 0.05}, {"lr": 0.01, "momentum": 0.5, "nesterov": True}),
             "Adam": ({"lr": 0.1}, {"betas": (0.5, 0.9), "eps": 1e-3}),
             "AdamW": ({"lr": 0.1}, {"weight_decay": 0.3}),
             "RMSprop": ({"lr": 0.01}, {"centered": True, "momentum": 0.9, "alpha": 0.5}),
             "Adagrad": ({"lr": 0.1}, {"lr_decay": 0.3, "initial_accumulator_value": 1.0})}


@pytest.mark.parametrize("name", PER_GROUP)
def test_a_group_steps_as_an_optimizer_of_its_own_would(name):
    cls, (defaults, special) = getattr(optim, name), PER_GROUP[name]

    def run(make):
        w, m = nn.Parameter(np.array([0.3, -0.7])), nn.Parameter(np.array([[0.5, -1.0]]))
        opts = make(w, m)
        for _ in range(5):
            for opt in opts:
                opt.zero_grad()
            ((w * w * w).sum() + (m * m).sum() * 2 + m.sum()).backward()
            for opt in opts:
                opt.step()
        return w.data, m.data

    grouped = run(lambda w, m: [cls([{"params": w}, {"params": [m], **special}], **defaults)])
    apart = run(lambda w, m: [cls([w], **defaults), cls([m], **{**defaults, **special})])
    for a, b in zip(grouped, apart):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(grouped[1], run(lambda w, m: [cls([w, m], **defaults)])[1])


def test_lr_may_be_given_by_every_group_instead_of_the_constructor():
    w, b = nn.Parameter(np.ones(2)), nn.Parameter(np.ones(1))
    opt = optim.SGD([{"params": [w], "lr": 0.1}, {"params": [b], "lr": 0.2}])
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.2]
    with pytest.raises(ArgumentError, match=r"SGD \(param group 1\): lr is required"):
        optim.SGD([{"params": [w], "lr": 0.1}, {"params": [b]}])
    with pytest.raises(ArgumentError, match="lr is required"):
        optim.SGD([w])


def test_add_param_group_takes_the_defaults_and_joins_the_flat_list():
    w, head = nn.Parameter(np.ones(2)), nn.Parameter(np.ones(3))
    opt = optim.Adam([w], lr=0.1, betas=(0.8, 0.9))
    opt.add_param_group({"params": head, "lr": 0.01})  # one tensor is a group of one
    assert opt.params == [w, head] and len(opt.state) == 2
    assert opt.param_groups[1]["lr"] == 0.01 and opt.param_groups[1]["betas"] == (0.8, 0.9)
    opt.zero_grad()
    (w.sum() + head.sum()).backward()
    opt.step()
    np.testing.assert_allclose(head.data, np.ones(3) - 0.01, rtol=1e-9)  # Adam: lr sign(g)
    with pytest.raises(ArgumentError, match="parameters 1 and 2 are the same tensor"):
        opt.add_param_group({"params": [head]})


def test_fit_trains_with_param_groups():
    X, y = tg.data.xor()
    model = nn.Sequential(nn.Linear(2, 4, random_state=0), nn.Tanh(),
                          nn.Linear(4, 2, random_state=1))
    opt = optim.SGD([{"params": model[0].parameters()},
                     {"params": model[2].parameters(), "lr": 0.05}], lr=0.5, momentum=0.9)
    history = tg.train.fit(model, tg.nn.functional.cross_entropy, X, y, optimizer=opt,
                           epochs=200)
    assert history.loss[-1] < 0.5 * history.loss[0]


# ----------------------------------------------------------------- what every one does
def make(name, params, **kw):
    return getattr(optim, name)(params, **{**FIRST_ORDER[name], **kw})


@pytest.mark.parametrize("name", FIRST_ORDER)
def test_each_step_bumps_the_version_once_and_stales_the_graph(name):
    used, unused = nn.Parameter(np.ones(2)), nn.Parameter(np.ones(2))
    opt = make(name, [used, unused], weight_decay=0.1)
    for step in range(1, 4):
        opt.zero_grad()
        loss = (used * used).sum()
        loss.backward()
        opt.step()
        assert used._version == step and unused._version == 0
    np.testing.assert_array_equal(unused.data, np.ones(2))  # no gradient, no decay
    with pytest.raises(GradientError):
        loss.backward()  # its saved value of `used` has been stepped over


@pytest.mark.parametrize("name", FIRST_ORDER)
def test_float32_parameters_and_state_stay_float32(name):
    w = nn.Parameter(np.array([0.5, -1.5, 2.0], dtype=np.float32))
    opt = make(name, [w], weight_decay=0.1)
    for _ in range(3):
        opt.zero_grad()
        ((w * w).sum()).backward()
        opt.step()
    assert w.data.dtype == np.float32
    assert all(v.dtype == np.float32 for v in opt.state[0].values() if isinstance(v, np.ndarray))


@pytest.mark.parametrize("name", FIRST_ORDER)
def test_state_dict_round_trip_continues_the_same_trajectory(name):
    def fresh():
        w, m = nn.Parameter(np.array([0.3, -0.7])), nn.Parameter(np.array([[0.5, -1.0]]))
        return [w, m], make(name, [{"params": [w]}, {"params": [m], "lr": 0.03}])

    def steps(params, opt, n):
        for _ in range(n):
            opt.zero_grad()
            ((params[0] ** 3).sum() + (params[1] ** 2).sum()).backward()
            opt.step()

    params, opt = fresh()
    steps(params, opt, 3)
    saved = opt.state_dict()
    assert saved["param_groups"][1]["params"] == [1] and saved["param_groups"][1]["lr"] == 0.03
    copy_params, copy_opt = fresh()
    copy_opt.param_groups[1]["lr"] = 0.5  # overwritten by the load
    with tg.no_grad():
        for p, q in zip(copy_params, params):
            p.copy_(q)
    copy_opt.load_state_dict(saved)
    for key, value in saved["state"][0].items():  # the saved state is a copy, both ways
        if isinstance(value, np.ndarray):
            value += 100.0
            assert not np.array_equal(copy_opt.state[0][key], value)
            assert not np.array_equal(opt.state[0][key], value)
    steps(params, opt, 3)
    steps(copy_params, copy_opt, 3)
    for p, q in zip(params, copy_params):
        np.testing.assert_array_equal(p.data, q.data)


def test_load_state_dict_refuses_other_groups_and_shapes_and_changes_nothing():
    w, b = nn.Parameter(np.ones(2)), nn.Parameter(np.ones(3))
    opt = optim.Adam([w, b], lr=0.1)
    opt.zero_grad()
    (w.sum() + b.sum()).backward()
    opt.step()
    saved = opt.state_dict()
    other = optim.Adam([{"params": [w]}, {"params": [b]}])
    with pytest.raises(ArgumentError, match=r"hold \[2\] parameters.*\[1, 1\]"):
        other.load_state_dict(saved)
    small = optim.Adam([nn.Parameter(np.ones(2)), nn.Parameter(np.ones(2))], lr=0.5)
    with pytest.raises(ShapeError, match="'exp_avg' of parameter 1 has shape"):
        small.load_state_dict(saved)
    assert small.state == [{}, {}] and small.param_groups[0]["lr"] == 0.5


# ---------------------------------------------------------------- argument errors
def test_group_errors_name_the_optimizer_the_group_and_the_option():
    w, b = nn.Parameter(np.ones(2)), nn.Parameter(np.ones(2))
    cases = [
        (ArgumentError, r"SGD \(param group 1\): lr must be a finite number >= 0, got -1",
         lambda: optim.SGD([{"params": [w]}, {"params": [b], "lr": -1}], lr=0.1)),
        (DTypeError, r"SGD \(param group 1\): momentum must be a number, got 'high'",
         lambda: optim.SGD([{"params": [w]}, {"params": [b], "momentum": "high"}], lr=0.1)),
        (ArgumentError, r"Adam \(param group 0\): betas must be two numbers in \[0, 1\)",
         lambda: optim.Adam([{"params": [w], "betas": (0.9, 1.0)}])),
        (ArgumentError, r"SGD \(param group 0\): nesterov needs momentum > 0",
         lambda: optim.SGD([{"params": [w], "nesterov": True}], lr=0.1, momentum=0)),
        (ArgumentError, r"unknown option 'learning_rate'; the options of SGD are lr, momentum",
         lambda: optim.SGD([{"params": [w], "learning_rate": 0.1}], lr=0.1)),
        (ArgumentError, r"parameters 0 and 2 are the same tensor",
         lambda: optim.SGD([{"params": [w]}, {"params": [b, w]}], lr=0.1)),
        (ArgumentError, r"parameter 1 \(in param group 1\), of shape \(2,\), was made by an op",
         lambda: optim.SGD([{"params": [w]}, {"params": [b * 2]}], lr=0.1)),
        (DTypeError, r"mixes param groups \(dicts\) with tensors",
         lambda: optim.SGD([{"params": [w]}, b], lr=0.1)),
        (DTypeError, r"params is one dict; param groups are a list of dicts",
         lambda: optim.SGD({"params": [w]}, lr=0.1)),
        (DTypeError, r"a param group is a dict with a 'params' entry",
         lambda: optim.SGD([{"lr": 0.1}], lr=0.1)),
        (ArgumentError, "empty parameter list",
         lambda: optim.SGD([{"params": []}, {"params": []}], lr=0.1)),
    ]
    for error, message, build in cases:
        with pytest.raises(error, match=message):
            build()


@pytest.mark.parametrize("name, kw, error, message", [
    ("RMSprop", {"alpha": 1.5}, ArgumentError, "RMSprop: alpha must be in \\[0, 1\\]"),
    ("RMSprop", {"alpha": -0.1}, ArgumentError, "RMSprop: alpha must be a finite number >= 0"),
    ("RMSprop", {"momentum": -0.9}, ArgumentError, "RMSprop: momentum must be a finite"),
    ("RMSprop", {"eps": float("nan")}, ArgumentError, "RMSprop: eps must be a finite"),
    ("RMSprop", {"centered": "yes"}, DTypeError, "RMSprop: centered must be True or False"),
    ("AdamW", {"betas": (0.9, 1.0)}, ArgumentError, "AdamW: betas must be two numbers"),
    ("AdamW", {"weight_decay": -0.01}, ArgumentError, "AdamW: weight_decay must be a finite"),
    ("AdamW", {"lr": float("inf")}, ArgumentError, "AdamW: lr must be a finite"),
    ("Adagrad", {"lr_decay": -1}, ArgumentError, "Adagrad: lr_decay must be a finite"),
    ("Adagrad", {"initial_accumulator_value": -0.1}, ArgumentError,
     "Adagrad: initial_accumulator_value must be a finite"),
    ("Adagrad", {"eps": None}, DTypeError, "Adagrad: eps must be a number, got None"),
    ("SGD", {"lr": 0.1, "nesterov": 1, "momentum": 0.9}, DTypeError,
     "SGD: nesterov must be True or False"),
])
def test_new_optimizer_argument_errors(name, kw, error, message):
    with pytest.raises(error, match=message):
        getattr(optim, name)([nn.Parameter(np.ones(2))], **kw)


def test_a_bad_lr_set_between_steps_is_refused_before_any_update():
    w, b = nn.Parameter(np.ones(2)), nn.Parameter(np.ones(2))
    opt = optim.RMSprop([{"params": [w]}, {"params": [b]}])
    opt.param_groups[1]["lr"] = float("nan")
    (w.sum() + b.sum()).backward()
    with pytest.raises(ArgumentError, match=r"RMSprop \(param group 1\): lr must be a finite"):
        opt.step()
    assert w._version == 0 and b._version == 0


# ---------------------------------------------------- 20 steps against torch.optim
A = np.array([[3.0, 0.5, 0.0], [0.5, 2.0, -0.3], [0.0, -0.3, 1.5]])  # symmetric, positive
B = np.array([1.0, -2.0, 0.5])
RNG = np.random.default_rng(0)
X, Y = RNG.standard_normal((6, 3)), RNG.standard_normal((6, 2))


def quadratic(lib, w, m):
    """1/2 w.A.w - b.w + sum(m^4)/4 + sum(m): a quadratic and a quartic parameter."""
    return 0.5 * (w @ (lib.const(A) @ w)) - lib.const(B) @ w + (m ** 4).sum() / 4 + m.sum()


def tiny_mlp(lib, w1, w2, b1, b2):
    """Mean squared error of a 3-4-2 tanh network."""
    hidden = (lib.const(X) @ w1 + b1).tanh()
    return ((hidden @ w2 + b2 - lib.const(Y)) ** 2).mean()


PROBLEMS = {  # loss, initial values, how many of them (from the front) are group 0
    "quadratic": (quadratic, [np.array([0.3, -0.7, 1.2]), np.array([[0.5, -1.0], [2.0, 0.1]])], 1),
    "mlp": (tiny_mlp, [RNG.standard_normal((3, 4)), RNG.standard_normal((4, 2)),
                       0.1 * RNG.standard_normal(4), 0.1 * RNG.standard_normal(2)], 2),
}

TORCH_CASES = {  # optimizer, its arguments, the options of group 1 (group 0: the arguments)
    "sgd": ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.1},
            {"lr": 0.02, "nesterov": False}),
    "adam": ("Adam", {"lr": 0.05, "betas": (0.8, 0.99), "weight_decay": 0.1}, {"lr": 0.01}),
    "adamw": ("AdamW", {}, {"lr": 0.05, "weight_decay": 0.0}),
    "adamw_options": ("AdamW", {"lr": 0.05, "betas": (0.8, 0.95), "eps": 1e-6,
                                "weight_decay": 0.3}, {"betas": (0.5, 0.9)}),
    "rmsprop": ("RMSprop", {}, {"lr": 0.001}),
    "rmsprop_centered": ("RMSprop", {"lr": 0.01, "alpha": 0.9, "eps": 1e-6, "weight_decay": 0.1,
                                     "momentum": 0.8, "centered": True}, {"centered": False}),
    "adagrad": ("Adagrad", {}, {"lr": 0.1}),
    "adagrad_options": ("Adagrad", {"lr": 0.1, "lr_decay": 0.05, "weight_decay": 0.1,
                                    "initial_accumulator_value": 0.2, "eps": 1e-6},
                        {"lr_decay": 0.0}),
}


def tg_lib():
    return SimpleNamespace(optim=optim, param=lambda a: tg.Tensor(a.copy(), requires_grad=True),
                           const=tg.Tensor, value=lambda t: t.data.copy())


def torch_lib():
    torch = pytest.importorskip("torch")
    return SimpleNamespace(optim=torch.optim, const=torch.tensor,
                           param=lambda a: torch.tensor(a.copy(), requires_grad=True),
                           value=lambda t: t.detach().numpy().copy())


def train(lib, case, problem, steps=20, schedule=None):
    """The parameters after ``steps`` steps (and ``schedule(lib, opt)``'s step after each)."""
    name, kw, group1 = TORCH_CASES[case]
    loss_fn, inits, split = PROBLEMS[problem]
    params = [lib.param(a) for a in inits]
    opt = getattr(lib.optim, name)([{"params": params[:split]},
                                    {"params": params[split:], **group1}], **kw)
    scheduler = schedule(lib.optim.lr_scheduler, opt) if schedule else None
    for _ in range(steps):
        opt.zero_grad()
        loss_fn(lib, *params).backward()
        opt.step()
        if scheduler:
            scheduler.step()
    return [lib.value(p) for p in params]


@pytest.mark.parametrize("problem", PROBLEMS)
@pytest.mark.parametrize("case", TORCH_CASES)
def test_twenty_steps_match_torch(case, problem):
    theirs = train(torch_lib(), case, problem)
    ours = train(tg_lib(), case, problem)
    for a, b, start in zip(ours, theirs, PROBLEMS[problem][1]):
        assert not np.allclose(a, start)  # the steps moved every parameter
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("make", [
    lambda s, opt: s.StepLR(opt, step_size=4, gamma=0.5),
    lambda s, opt: s.CosineAnnealingLR(opt, T_max=7, eta_min=0.001),
], ids=["step", "cosine"])
def test_scheduled_training_matches_torch(make):
    theirs = train(torch_lib(), "sgd", "mlp", schedule=make)
    ours = train(tg_lib(), "sgd", "mlp", schedule=make)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


# ------------------------------------------------------------------ schedulers
def two_groups(lib=None, lrs=(0.1, 0.03)):
    """An SGD with two param groups of different lrs."""
    lib = lib or tg_lib()
    w, b = lib.param(np.ones(2)), lib.param(np.ones(1))
    return lib.optim.SGD([{"params": [w]}, {"params": [b], "lr": lrs[1]}], lr=lrs[0])


def lrs_after_each_step(scheduler, steps, metrics=None):
    """[lrs at epoch 0, after step 1, ...], one list of lrs per param group."""
    out = [scheduler.get_last_lr()]
    for t in range(steps):
        scheduler.optimizer.step()  # (no gradients: nothing moves) the order torch expects
        scheduler.step(*([metrics[t]] if metrics is not None else []))
        out.append(scheduler.get_last_lr())
    return np.array(out)


def test_step_lr_by_hand():
    opt = two_groups()
    got = lrs_after_each_step(sched.StepLR(opt, step_size=3, gamma=0.1), 10)
    t = np.arange(11)[:, None]
    np.testing.assert_allclose(got, np.array([0.1, 0.03]) * 0.1 ** (t // 3), rtol=1e-14)
    assert [g["lr"] for g in opt.param_groups] == list(got[-1])
    assert [g["initial_lr"] for g in opt.param_groups] == [0.1, 0.03]


def test_exponential_lr_by_hand():
    got = lrs_after_each_step(sched.ExponentialLR(two_groups(), gamma=0.9), 12)
    t = np.arange(13)[:, None]
    np.testing.assert_allclose(got, np.array([0.1, 0.03]) * 0.9 ** t, rtol=1e-14)


def test_cosine_annealing_by_hand_over_a_whole_period_and_on():
    T, low = 5, 0.001
    got = lrs_after_each_step(sched.CosineAnnealingLR(two_groups(), T_max=T, eta_min=low), 3 * T)
    t = np.arange(3 * T + 1)[:, None]
    expected = low + (np.array([0.1, 0.03]) - low) * (1 + np.cos(np.pi * t / T)) / 2
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    np.testing.assert_allclose(got[T], [low, low], rtol=1e-12)            # the trough
    np.testing.assert_allclose(got[2 * T], [0.1, 0.03], rtol=1e-12)       # back up


def test_reduce_on_plateau_by_hand():
    # patience 1 (a second bad epoch in a row reduces), 10% relative threshold, cooldown 1
    opt = two_groups(lrs=(1.0, 0.4))
    scheduler = sched.ReduceLROnPlateau(opt, factor=0.5, patience=1, threshold=0.1, cooldown=1,
                                        min_lr=[0.0, 0.3])
    losses = [10, 9.5, 9.5, 9.4, 9.4, 8.0, 7.5, 7.5]
    # 10 best | 9.5 > 9 bad 1 | bad 2: halve, cooldown | bad, but cooling down | bad 1 |
    # 8 < 9 best | 7.5 > 7.2 bad 1 | bad 2: halve (group 1 stays at its min_lr 0.3)
    expected = [[1.0, 0.4]] * 3 + [[0.5, 0.3]] * 5 + [[0.25, 0.3]]
    np.testing.assert_allclose(lrs_after_each_step(scheduler, 8, losses), expected, rtol=1e-15)
    assert scheduler.best == 8.0


def test_reduce_on_plateau_in_max_mode_with_an_absolute_threshold():
    opt = two_groups(lrs=(1.0, 1.0))
    scheduler = sched.ReduceLROnPlateau(opt, mode="max", factor=0.1, patience=0,
                                        threshold=0.01, threshold_mode="abs")
    accuracies = [0.5, 0.52, 0.525, 0.6, tg.Tensor(0.6)]  # +0.005 is not 0.01 better
    got = lrs_after_each_step(scheduler, 5, accuracies)
    np.testing.assert_allclose(got[:, 0], [1.0, 1.0, 1.0, 0.1, 0.1, 0.01], rtol=1e-15)


def test_schedulers_are_chainable_as_torchs_are():
    # a scheduler continues from the group's current lr, whoever changed it
    opt = two_groups()
    scheduler = sched.ExponentialLR(opt, gamma=0.5)
    scheduler.step()
    opt.param_groups[0]["lr"] = 1.0
    scheduler.step()
    np.testing.assert_allclose(scheduler.get_last_lr(), [0.5, 0.03 * 0.25], rtol=1e-15)


def test_get_last_lr_is_a_copy_and_the_scheduler_state_round_trips():
    opt = two_groups()
    scheduler = sched.CosineAnnealingLR(opt, T_max=6)
    scheduler.get_last_lr().append(99.0)
    assert len(scheduler.get_last_lr()) == 2
    for _ in range(4):
        scheduler.step()
    opt2 = two_groups()
    scheduler2 = sched.CosineAnnealingLR(opt2, T_max=6)
    opt2.load_state_dict(opt.state_dict())
    scheduler2.load_state_dict(scheduler.state_dict())
    np.testing.assert_array_equal(lrs_after_each_step(scheduler2, 6),
                                  lrs_after_each_step(scheduler, 6))


def test_lr_scheduler_is_reachable_under_pytorchs_name():
    import tinygrad_edu.lr_scheduler

    assert tg.optim.lr_scheduler is tinygrad_edu.lr_scheduler


SCHEDULES = {
    "step": lambda s, opt: s.StepLR(opt, step_size=3, gamma=0.5),
    "step_default_gamma": lambda s, opt: s.StepLR(opt, 4),
    "exponential": lambda s, opt: s.ExponentialLR(opt, gamma=0.93),
    "cosine": lambda s, opt: s.CosineAnnealingLR(opt, T_max=5, eta_min=0.001),
    "cosine_1": lambda s, opt: s.CosineAnnealingLR(opt, T_max=1),
    "cosine_7": lambda s, opt: s.CosineAnnealingLR(opt, T_max=7),
    "plateau": lambda s, opt: s.ReduceLROnPlateau(opt, patience=2),
    "plateau_max": lambda s, opt: s.ReduceLROnPlateau(opt, "max", 0.5, 1, 0.05, "abs", 2,
                                                      [0.01, 0.02]),
    "plateau_cooldown": lambda s, opt: s.ReduceLROnPlateau(opt, factor=0.3, patience=0,
                                                           cooldown=3, min_lr=1e-3),
}
METRICS = list(np.r_[np.linspace(1.0, 0.5, 6), 0.5 + 0.1 * RNG.standard_normal(24)])


@pytest.mark.parametrize("name", SCHEDULES)
def test_schedules_match_torch(name):
    theirs_lib = torch_lib()
    metrics = METRICS if name.startswith("plateau") else None
    got = [lrs_after_each_step(SCHEDULES[name](lib.optim.lr_scheduler, two_groups(lib)), 30,
                               metrics)
           for lib in (tg_lib(), theirs_lib)]
    assert len(np.unique(got[0][:, 0])) > 1  # the schedule really moves
    np.testing.assert_allclose(got[0], got[1], rtol=1e-12, atol=0)


def test_two_schedulers_on_one_optimizer_match_torch():
    got = []
    for lib in (tg_lib(), torch_lib()):
        opt = two_groups(lib)
        first = lib.optim.lr_scheduler.StepLR(opt, 3, 0.5)
        second = lib.optim.lr_scheduler.ExponentialLR(opt, 0.9)
        seen = []
        for _ in range(12):
            opt.step()
            first.step()
            second.step()
            seen.append([g["lr"] for g in opt.param_groups])
        got.append(np.array(seen))
    np.testing.assert_allclose(got[0], got[1], rtol=1e-12, atol=0)


@pytest.mark.parametrize("build, message", [
    (lambda opt: sched.StepLR(opt, 0), "StepLR: step_size must be an integer >= 1, got 0"),
    (lambda opt: sched.StepLR(opt, 2.5), "StepLR: step_size must be an integer >= 1"),
    (lambda opt: sched.StepLR(opt, True), "StepLR: step_size must be an integer >= 1"),
    (lambda opt: sched.StepLR(opt, 3, gamma=0), "StepLR: gamma must be a number > 0, got 0"),
    (lambda opt: sched.StepLR(opt, 3, gamma=float("nan")), "StepLR: gamma must be a number"),
    (lambda opt: sched.ExponentialLR(opt, -0.5), "ExponentialLR: gamma must be a number > 0"),
    (lambda opt: sched.ExponentialLR(opt, "0.9"), "ExponentialLR: gamma must be a number > 0"),
    (lambda opt: sched.CosineAnnealingLR(opt, 0), "CosineAnnealingLR: T_max must be an integer"),
    (lambda opt: sched.CosineAnnealingLR(opt, 10, eta_min=-1e-3),
     "CosineAnnealingLR: eta_min must be a finite number >= 0"),
    (lambda opt: sched.ReduceLROnPlateau(opt, mode="minimum"),
     "ReduceLROnPlateau: mode must be one of 'min', 'max', got 'minimum'"),
    (lambda opt: sched.ReduceLROnPlateau(opt, factor=1.0),
     r"ReduceLROnPlateau: factor must be a number in \(0, 1\), got 1.0"),
    (lambda opt: sched.ReduceLROnPlateau(opt, factor=0), "ReduceLROnPlateau: factor must be"),
    (lambda opt: sched.ReduceLROnPlateau(opt, patience=-1),
     "ReduceLROnPlateau: patience must be an integer >= 0"),
    (lambda opt: sched.ReduceLROnPlateau(opt, cooldown=0.5),
     "ReduceLROnPlateau: cooldown must be an integer >= 0"),
    (lambda opt: sched.ReduceLROnPlateau(opt, threshold_mode="relative"),
     "ReduceLROnPlateau: threshold_mode must be one of 'rel', 'abs'"),
    (lambda opt: sched.ReduceLROnPlateau(opt, threshold=-0.1),
     "ReduceLROnPlateau: threshold must be a finite number >= 0"),
    (lambda opt: sched.ReduceLROnPlateau(opt, min_lr=[0.1]),
     "ReduceLROnPlateau: min_lr has 1 entries for 2 param groups"),
    (lambda opt: sched.ReduceLROnPlateau(opt, min_lr=-1.0),
     "ReduceLROnPlateau: min_lr must be a finite number >= 0"),
])
def test_scheduler_argument_errors(build, message):
    opt = two_groups()
    with pytest.raises(ArgumentError, match=message):
        build(opt)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.03]  # untouched


def test_a_scheduler_needs_an_optimizer_with_learning_rates():
    w = nn.Parameter(np.ones(2))
    with pytest.raises(DTypeError, match=r"StepLR: optimizer must be an optimizer such as"):
        sched.StepLR([w], 3)
    with pytest.raises(ArgumentError, match="ScipyOptimizer has no learning rate"):
        sched.ExponentialLR(optim.LBFGS([w]), 0.9)
    scheduler = sched.ReduceLROnPlateau(two_groups())
    with pytest.raises(DTypeError, match=r"ReduceLROnPlateau.step: metrics must be one number"):
        scheduler.step([0.5, 0.4])
    assert math.isinf(scheduler.best) and scheduler.last_epoch == 0

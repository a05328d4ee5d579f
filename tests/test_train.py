"""The fit loop: History, the three stopping rules, minibatches, seeds, memory, progress."""
import gc
import sys
import weakref

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import functional as F
from tinygrad_edu import nn, optim
from tinygrad_edu.train import EarlyStopping, GradientNormBelow, History, LossPlateau, fit


def mse(out, t):
    return F.mse_loss(out, np.asarray(t, dtype=np.float64)[:, None])


def accuracy(out, t):
    return float(np.mean((out[:, 0] > 0) == t))


@pytest.fixture
def line():
    """y = 2 x1 - x2 + 0.5 plus a little noise: a convex least-squares problem."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2))
    y = X @ np.array([2.0, -1.0]) + 0.5 + rng.normal(scale=0.1, size=40)
    return X, y


@pytest.fixture
def overfit():
    """Twelve noisy samples of sin(3x), a degree-9 polynomial, clean held-out data:
    the held-out loss falls, then rises as the polynomial fits the noise."""
    rng = np.random.default_rng(0)
    x, xv = rng.uniform(-1, 1, 12), np.linspace(-1, 1, 50)
    features = lambda x: np.column_stack([x ** k for k in range(1, 10)])
    y = np.sin(3 * x) + rng.normal(scale=0.3, size=12)
    return features(x), y, features(xv), np.sin(3 * xv)


def full_gradient_norm(model, X, y):
    model.zero_grad()
    mse(model(tg.Tensor(X)), y).backward()
    return np.sqrt(sum(np.sum(p.grad.data ** 2) for p in model.parameters()))


# ------------------------------------------------------------------------------ History
def test_history_records_every_epoch(line):
    X, y = line
    model = nn.Linear(2, 1, random_state=0)
    first_grad = full_gradient_norm(model, X, y)
    h = fit(model, mse, X[:30], y[:30], optimizer=optim.SGD(model.parameters(), lr=0.05),
            epochs=7, X_val=X[30:], y_val=y[30:], metric=lambda out, t: -np.mean(out[:, 0] - t))
    assert isinstance(h, History)
    assert h.epochs == h.n_iter == 7
    for name in ("loss", "val_loss", "grad_norm", "metric", "val_metric"):
        assert len(getattr(h, name)) == 7, name
    assert h.stopped_by is None and "maximum of 7 epochs" in h.reason
    assert h.loss == sorted(h.loss, reverse=True)  # a small enough step on a quadratic
    assert h.best_epoch == int(np.argmin(h.val_loss))
    # full batch: the first entry is the gradient at the starting weights (on X[:30])
    model2 = nn.Linear(2, 1, random_state=0)
    assert h.grad_norm[0] == pytest.approx(full_gradient_norm(model2, X[:30], y[:30]))
    assert h.grad_norm[0] != pytest.approx(first_grad)
    # held-out numbers are those of the final weights
    with tg.no_grad():
        out = model(tg.Tensor(X[30:]))
        assert h.val_loss[-1] == pytest.approx(mse(out, y[30:]).item())
        assert h.val_metric[-1] == pytest.approx(-np.mean(out.data[:, 0] - y[30:]))
    assert "loss" in h.last() and "val_loss" in h.last()


def test_minibatch_loss_is_the_mean_over_the_epoch(line):
    X, y = line
    seen = []

    def recording(out, t):
        loss = mse(out, t)
        seen.append((loss.item(), len(t)))
        return loss

    model = nn.Linear(2, 1, random_state=0)
    h = fit(model, recording, X, y, optimizer=optim.SGD(model.parameters(), lr=0.01),
            epochs=1, batch_size=16, random_state=0)
    assert [n for _, n in seen] == [16, 16, 8]
    assert h.loss[0] == pytest.approx(sum(v * n for v, n in seen) / 40)


def test_minibatch_grad_norm_weights_each_batch_by_its_size(line):
    """The epoch's gradient is sum_b n_b g_b / N over the batches (a short last one
    counts for its size), recorded before each update."""
    X, y = line
    seen = []

    class Recording(optim.SGD):
        def step(self):
            seen.append(([p.grad.data.copy() for p in self.params], None))
            super().step()

    def sizes(out, t):
        seen.append((None, len(t)))
        return mse(out, t)

    model = nn.Linear(2, 1, random_state=0)
    h = fit(model, sizes, X, y, optimizer=Recording(model.parameters(), lr=0.01), epochs=1,
            batch_size=16, random_state=0)
    n = [k for _, k in seen if k is not None]
    grads = [g for g, _ in seen if g is not None]
    assert n == [16, 16, 8]
    total = [sum(k * g[i] for k, g in zip(n, grads)) / 40 for i in range(len(grads[0]))]
    want = np.sqrt(sum(np.sum(a * a) for a in total))
    assert h.grad_norm[0] == pytest.approx(want, rel=1e-12)


# ---------------------------------------------------------------------- stopping rules
def test_gradient_norm_below_stops_when_the_gradient_is_small(line):
    X, y = line
    model = nn.Linear(2, 1, random_state=0)
    h = fit(model, mse, X, y, optimizer=optim.SGD(model.parameters(), lr=0.1), epochs=500,
            stopping=[GradientNormBelow(1e-3)])
    assert h.stopped_by == "GradientNormBelow" and "below" in h.reason
    assert h.grad_norm[-1] < 1e-3 and min(h.grad_norm[:-1]) >= 1e-3
    assert h.epochs < 500


def test_gradient_norm_below_does_not_stop_early(line):
    X, y = line
    model = nn.Linear(2, 1, random_state=0)
    h = fit(model, mse, X, y, optimizer=optim.SGD(model.parameters(), lr=0.1), epochs=20,
            stopping=[GradientNormBelow(1e-12)])
    assert h.stopped_by is None and h.epochs == 20


def test_loss_plateau_stops_when_a_tiny_step_makes_no_progress(line):
    X, y = line
    model = nn.Linear(2, 1, random_state=0)
    h = fit(model, mse, X, y, optimizer=optim.SGD(model.parameters(), lr=1e-7), epochs=100,
            stopping=[LossPlateau(patience=5, min_delta=1e-4)])
    assert h.stopped_by == "LossPlateau" and "did not improve" in h.reason
    # the first epoch sets the best; five more without a 1e-4 improvement stop the run
    assert h.epochs == 6
    assert h.loss[0] - min(h.loss) < 1e-4


def test_loss_plateau_does_not_stop_while_the_loss_falls(line):
    X, y = line
    model = nn.Linear(2, 1, random_state=0)
    h = fit(model, mse, X, y, optimizer=optim.SGD(model.parameters(), lr=0.05), epochs=15,
            stopping=[LossPlateau(patience=2, min_delta=1e-4)])
    assert h.stopped_by is None and h.epochs == 15
    assert all(a - b > 1e-4 for a, b in zip(h.loss, h.loss[1:]))


@pytest.mark.parametrize("restore", [True, False])
def test_early_stopping_stops_when_held_out_loss_rises(overfit, restore):
    X, y, Xv, yv = overfit
    model = nn.Linear(9, 1, random_state=0)
    states = []
    record = lambda history, model: states.append(model.state_dict())  # a rule never stopping
    rule = EarlyStopping(patience=20, restore_best=restore)
    h = fit(model, mse, X, y, optimizer=optim.Adam(model.parameters(), lr=0.05), epochs=3000,
            X_val=Xv, y_val=yv, stopping=[record, rule])
    assert h.stopped_by == "EarlyStopping" and "val_loss" in h.reason
    assert h.epochs == h.best_epoch + 20 + 1 < 3000
    assert h.val_loss[h.best_epoch] == min(h.val_loss)
    assert h.val_loss[-1] > h.val_loss[h.best_epoch]  # it had started to rise
    assert h.loss[-1] < h.loss[h.best_epoch]          # while the training loss still fell
    expected = states[h.best_epoch] if restore else states[-1]
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, expected[name])
    if restore:
        assert any(not np.array_equal(states[-1][n], v) for n, v in expected.items())


def test_early_stopping_waits_while_held_out_loss_falls(line):
    X, y = line
    model = nn.Linear(2, 1, random_state=0)
    h = fit(model, mse, X[:30], y[:30], optimizer=optim.SGD(model.parameters(), lr=0.02),
            epochs=25, X_val=X[30:], y_val=y[30:], stopping=[EarlyStopping(patience=3)])
    assert h.stopped_by is None and h.epochs == 25 and h.best_epoch == 24


def test_early_stopping_needs_held_out_data(line):
    X, y = line
    model = nn.Linear(2, 1)
    with pytest.raises(ValueError, match="val_loss"):
        fit(model, mse, X, y, optimizer=optim.SGD(model.parameters(), lr=0.1), epochs=3,
            stopping=[EarlyStopping()])


def test_early_stopping_on_a_held_out_metric():
    X, y = tg.data.blobs(80, separable=False, random_state=0)
    model = nn.Linear(2, 1, random_state=0)
    bce = lambda out, t: F.binary_cross_entropy_with_logits(out, np.asarray(t, float)[:, None])
    h = fit(model, bce, X[:60], y[:60], optimizer=optim.SGD(model.parameters(), lr=0.1),
            epochs=200, X_val=X[60:], y_val=y[60:], metric=accuracy,
            stopping=[EarlyStopping(patience=5, monitor="val_metric")])
    assert h.stopped_by == "EarlyStopping"
    assert h.val_metric[h.best_epoch] == max(h.val_metric)
    assert h.epochs == h.best_epoch + 6


# ------------------------------------------------------------------- batches and seeds
def test_every_sample_is_used_once_per_epoch():
    X = np.arange(10.0)[:, None]
    y = np.arange(10.0)
    epochs = []

    def recording(out, t):
        if not epochs or sum(map(len, epochs[-1])) == 10:
            epochs.append([])
        epochs[-1].append(np.asarray(t).copy())
        return mse(out, t)

    model = nn.Linear(1, 1, random_state=0)
    fit(model, recording, X, y, optimizer=optim.SGD(model.parameters(), lr=1e-3), epochs=4,
        batch_size=3, random_state=0)
    assert len(epochs) == 4
    for batches in epochs:
        assert [len(b) for b in batches] == [3, 3, 3, 1]
        np.testing.assert_array_equal(np.sort(np.concatenate(batches)), y)
    orders = [tuple(np.concatenate(b)) for b in epochs]
    assert len(set(orders)) == 4  # reshuffled every epoch

    epochs.clear()
    fit(model, recording, X, y, optimizer=optim.SGD(model.parameters(), lr=1e-3), epochs=2,
        batch_size=4, shuffle=False)
    assert [tuple(np.concatenate(b)) for b in epochs] == [tuple(y)] * 2


def run_adam(X, y, random_state):
    model = nn.Sequential(nn.Linear(2, 5, random_state=1), nn.Tanh(),
                          nn.Linear(5, 1, random_state=2))
    h = fit(model, mse, X, y, optimizer=optim.Adam(model.parameters(), lr=0.01), epochs=5,
            batch_size=7, random_state=random_state)
    return h, model.state_dict()


def test_same_seed_same_run(line):
    X, y = line
    (h1, s1), (h2, s2), (h3, _) = (run_adam(X, y, rs) for rs in (3, 3, 4))
    assert h1 == h2
    for name in s1:
        np.testing.assert_array_equal(s1[name], s2[name])
    assert h1.loss != h3.loss


# -------------------------------------------------------------------------- memory
def test_no_graph_outlives_its_step(line):
    X, y = line
    refs = []

    def tracking(out, t):
        # by the time the next loss is computed, the previous graph must be gone
        assert all(r() is None for r in refs), "a previous step's graph is still alive"
        loss = mse(out, t)
        refs.append(weakref.ref(loss))
        refs.append(weakref.ref(out))
        return loss

    model = nn.Sequential(nn.Linear(2, 4, random_state=0), nn.Tanh(),
                          nn.Linear(4, 1, random_state=1))
    gc.collect()
    gc.disable()  # reference counting alone must free the graphs
    try:
        h = fit(model, tracking, X, y, optimizer=optim.Adam(model.parameters()), epochs=3,
                batch_size=8, X_val=X, y_val=y, random_state=0)
        assert all(r() is None for r in refs)
    finally:
        gc.enable()
    assert len(refs) > 2 * 3 * 5
    assert all(isinstance(v, float) for v in h.loss + h.val_loss + h.grad_norm)
    assert all(p.grad is None or p.grad.grad_fn is None for p in model.parameters())


# ------------------------------------------------------------------------ scipy
def test_lbfgs_runs_full_batch_through_a_closure(line):
    X, y = line
    model = nn.Linear(2, 1, random_state=0)
    h = fit(model, mse, X, y, optimizer=optim.LBFGS(model.parameters(), tol=1e-12),
            epochs=100, X_val=X, y_val=y, stopping=[LossPlateau(1)])
    assert h.stopped_by == "L-BFGS-B" and h.n_iter >= 1
    assert len(h.loss) == len(h.grad_norm) == len(h.val_loss) >= h.n_iter
    w = np.linalg.lstsq(np.column_stack([X, np.ones(40)]), y, rcond=None)[0]
    np.testing.assert_allclose(model.weight.data[:, 0], w[:2], atol=1e-5)
    assert h.loss[-1] == pytest.approx(np.mean((X @ w[:2] + w[2] - y) ** 2), rel=1e-6)
    assert h.grad_norm[-1] < 1e-4


def test_scipy_iterations_are_capped_by_epochs(line):
    X, y = line
    model = nn.Sequential(nn.Linear(2, 8, random_state=0), nn.Tanh(),
                          nn.Linear(8, 1, random_state=1))
    h = fit(model, mse, X, y, optimizer=optim.ConjugateGradient(model.parameters(), tol=0),
            epochs=3)
    assert h.n_iter == 3 and h.stopped_by is None


# ----------------------------------------------------------------------- progress
def test_progress_is_off_by_default(line, capsys):
    X, y = line
    model = nn.Linear(2, 1)
    fit(model, mse, X, y, optimizer=optim.SGD(model.parameters(), lr=0.01), epochs=30)
    out, err = capsys.readouterr()
    assert out == "" and err == ""


def test_progress_every_n_epochs(line, capsys):
    X, y = line
    model = nn.Linear(2, 1)
    fit(model, mse, X, y, optimizer=optim.SGD(model.parameters(), lr=0.01), epochs=30,
        progress=10)
    lines = capsys.readouterr().out.splitlines()
    assert [ln.split()[1] for ln in lines[:-1]] == ["1/30", "10/30", "20/30", "30/30"]
    assert all("loss" in ln and "grad_norm" in ln for ln in lines[:-1])
    assert lines[-1] == "stopped after epoch 30: reached the maximum of 30 epochs"


def test_progress_bar_uses_tqdm_when_installed(line, capsys):
    pytest.importorskip("tqdm")
    X, y = line
    model = nn.Linear(2, 1)
    fit(model, mse, X, y, optimizer=optim.SGD(model.parameters(), lr=0.01), epochs=30,
        progress=True)
    out, err = capsys.readouterr()
    assert out == "" and "30/30" in err and "loss" in err


def test_progress_falls_back_to_lines_without_tqdm(line, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)  # import tqdm now fails
    X, y = line
    model = nn.Linear(2, 1, random_state=0)
    h = fit(model, mse, X, y, optimizer=optim.SGD(model.parameters(), lr=0.1), epochs=100,
            progress=True, stopping=[GradientNormBelow(1e-3)])
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert err == "" and 30 < h.epochs < 100
    assert [ln.split()[1] for ln in lines[:-1]] == ["1/100"] + [
        f"{e}/100" for e in range(10, h.epochs + 1, 10)]  # a tenth of the run
    assert lines[-1].startswith(f"stopped after epoch {h.epochs}: gradient norm")


# ------------------------------------------------------------------------- errors
@pytest.mark.parametrize("kwargs, match", [
    ({"X": np.zeros((5, 2)), "y": np.zeros(4)}, "different lengths: 5 and 4"),
    ({"X": np.zeros((0, 2)), "y": np.zeros(0)}, "empty"),
    ({"X_val": np.zeros((2, 2))}, "both X_val and y_val"),
    ({"epochs": 0}, "epochs must be an integer >= 1"),
])
def test_bad_arguments(kwargs, match):
    model = nn.Linear(2, 1)
    args = {"X": np.zeros((5, 2)), "y": np.zeros(5), "epochs": 2} | kwargs
    with pytest.raises(ValueError, match=match):
        fit(model, mse, args.pop("X"), args.pop("y"),
            optimizer=optim.SGD(model.parameters(), lr=0.1), **args)

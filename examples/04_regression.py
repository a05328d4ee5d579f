"""Step 3 of the story, for regression: drop the sigmoid, use the squared error.

    python examples/04_regression.py [--out DIR]

When the target is a number instead of a class, the output unit is linear, y = w . x
with x0 = 1, and the noise is modelled as Gaussian: t = y + e, e ~ N(0, s^2). The
likelihood of independent samples is prod_n exp(-(t_n - y_n)^2 / 2s^2) / sqrt(2 pi s^2);
its negative log is, up to constants that do not depend on w,

    E(w) = 1/2 sum_n (t_n - y_n)^2      -- the squared error: linear regression.

1. Linear regression on a noisy line, by gradient descent (the same loop as the
   logistic unit, without the sigmoid), compared with the closed-form least-squares
   solution that exists here (and not for the cross-entropy).
2. On y = sin(2x) a line is hopeless (R^2 near 0); an MLPRegressor with 20 tanh hidden
   units learns the curve (R^2 near the 1 - noise limit on held-out data).

R^2 = 1 - sum (t - y)^2 / sum (t - mean t)^2: 1 is perfect, 0 is no better than
predicting the mean. With --out DIR the fits are plotted (PNG; needs matplotlib).
"""
import argparse
import pathlib
import warnings

import numpy as np

import tinygrad_edu as tg
from tinygrad_edu import data
from tinygrad_edu import functional as F


def r2(t, y):
    return 1.0 - np.sum((t - y) ** 2) / np.sum((t - np.mean(t)) ** 2)


def linear_regression_gd(X, t, lr=0.1, epochs=200, report_every=50):
    """Gradient descent on the mean squared error of y = w . x (X starts with x0 = 1)."""
    X, t = tg.Tensor(X), tg.Tensor(t)
    w = tg.Tensor(np.zeros(X.shape[1]), requires_grad=True)
    print(f"    {'epoch':>5}  {'squared error':>13}  {'|grad|':>8}")
    for epoch in range(1, epochs + 1):
        y = X @ w                          # a linear output: no sigmoid
        loss = 0.5 * F.mse_loss(y, t)      # E = 1/2 mean (y - t)^2; dE/dw = mean (y - t) x
        w.grad = None
        loss.backward()
        with tg.no_grad():
            w.sub_(lr * w.grad)            # w <- w - lr * dE/dw
        if epoch % report_every == 0 or epoch == 1:
            print(f"    {epoch:>5}  {loss.item():13.5f}  {np.linalg.norm(w.grad.data):8.5f}")
    return w.data


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", metavar="DIR", help="write pictures (PNG) into DIR")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)

    # 1. a noisy line: t = 0.3 + 0.8 x + Gaussian noise (s = 0.2)
    x = rng.uniform(-2, 2, size=100)
    t = 0.3 + 0.8 * x + rng.normal(scale=0.2, size=100)
    X1 = data.add_bias_column(x[:, None])       # [x0 = 1, x]
    print("1. Linear regression on t = 0.3 + 0.8 x + noise, gradient descent (lr 0.1):")
    w = linear_regression_gd(X1, t)
    w_exact = np.linalg.lstsq(X1, t, rcond=None)[0]  # least squares: solves X^T X w = X^T t
    print(f"   gradient descent: w = [w0, w1] = [{w[0]:.4f}, {w[1]:.4f}]")
    print(f"   least squares:    w = [w0, w1] = [{w_exact[0]:.4f}, {w_exact[1]:.4f}]"
          "  (the closed form that logistic regression lacks)")
    print(f"   linear fit R^2 on the line = {r2(t, X1 @ w):.3f}")

    # 2. a curve: t = sin(2x) + Gaussian noise (s = 0.1)
    X, y = data.sine(400, noise=0.1, random_state=0)
    X_train, X_test, y_train, y_test = data.train_test_split(X, y, random_state=0)
    print("\n2. t = sin(2x) + noise, 300 samples to train on, 100 held out:")
    w_line = linear_regression_gd(data.add_bias_column(X_train), y_train, report_every=200)
    line_r2 = r2(y_test, data.add_bias_column(X_test) @ w_line)
    print(f"   a straight line: held-out R^2 = {line_r2:.3f}")
    mlp = tg.models.MLPRegressor(hidden_layer_sizes=(20,), activation="tanh", max_iter=500,
                                 random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mlp.fit(X_train, y_train)
    limit = 1 - 0.1 ** 2 / np.var(y_test)
    print(f"   MLPRegressor 1-20-1 (tanh, {mlp.solver_}, {mlp.n_iter_} iterations): "
          f"training R^2 = {mlp.score(X_train, y_train):.3f}")
    print(f"   MLPRegressor held-out R^2 = {mlp.score(X_test, y_test):.3f}"
          f"  (the noise alone limits it to about {limit:.3f})")
    print(f"   {mlp.module_.num_parameters()} parameters: 20 tanh units, each a bent "
          "piece of the curve, added up by the linear output unit")

    if args.out:
        write_pictures(pathlib.Path(args.out), x, t, w, X, y, w_line, mlp)


def write_pictures(out, x, t, w, X, y, w_line, mlp):
    if not tg.viz.plots_available():
        return
    from matplotlib.figure import Figure

    out.mkdir(parents=True, exist_ok=True)
    fig = Figure(figsize=(10, 3.8), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    grid = np.linspace(-2, 2, 200)
    ax1.scatter(x, t, s=10, color="#64748b", label="data")
    ax1.plot(grid, w[0] + w[1] * grid, color="#2563eb", lw=2, label="gradient descent")
    ax1.set_title("Linear regression")
    ax2.scatter(X[:, 0], y, s=8, color="#64748b", label="data")
    ax2.plot(grid, w_line[0] + w_line[1] * grid, color="#ea580c", lw=2, label="a line")
    ax2.plot(grid, mlp.predict(grid[:, None]), color="#2563eb", lw=2, label="MLPRegressor")
    ax2.plot(grid, np.sin(2 * grid), color="black", lw=1, ls="--", label="sin(2x)")
    ax2.set_title("y = sin(2x)")
    for ax in (ax1, ax2):
        ax.set_xlabel("x")
        ax.legend(frameon=False)
    fig.savefig(out / "04_regression.png", dpi=100)
    print(f"wrote 04_regression.png to {out}")


if __name__ == "__main__":
    main()

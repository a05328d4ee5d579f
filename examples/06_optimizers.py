"""Step 4 of the story, continued: gradient descent is not the only way downhill.

    python examples/06_optimizers.py [--out DIR]

One problem for all: a 2-16-1 tanh network on two interleaved spirals (200 points),
cross-entropy loss, full batch, the same initial weights, at most 300 iterations.

  gradient descent   w <- w - lr * g
  momentum           v <- 0.9 v + g;  w <- w - lr * v   (a heavy ball that keeps rolling)
  Adam               steps scaled per weight by running averages of g and g^2
  L-BFGS             a quasi-Newton method: builds a picture of the curvature from the
                     last few gradients and takes a line search along it (scipy)
  conjugate gradient each direction conjugate to the previous ones, with a line search
                     (scipy)

The first three need a learning rate: each is run with 0.1 and 1 and the better one
is shown. L-BFGS and CG choose their step lengths themselves, by line searches that
evaluate the loss (and gradient) several times per iteration, so the table counts
both iterations and evaluations. With --out DIR the loss curves are plotted (PNG;
needs matplotlib).
"""
import argparse
import pathlib
import time

import numpy as np

import tinygrad_edu as tg
from tinygrad_edu import data, nn, optim, train
from tinygrad_edu import functional as F

MAX_ITER, TARGET = 300, 0.1


def make_model():
    """The same 2-16-1 network, with the same initial weights, for every optimizer."""
    return nn.Sequential(nn.Linear(2, 16, random_state=0), nn.Tanh(),
                         nn.Linear(16, 1, random_state=1))


def loss_fn(out, t):
    return F.binary_cross_entropy_with_logits(out, np.asarray(t, np.float64)[:, None])


OPTIMIZERS = {  # name -> (make the optimizer from (params, lr), learning rates to try)
    "gradient descent": (lambda p, lr: optim.SGD(p, lr=lr), (0.1, 1.0)),
    "momentum 0.9": (lambda p, lr: optim.SGD(p, lr=lr, momentum=0.9), (0.1, 1.0)),
    "Adam": (lambda p, lr: optim.Adam(p, lr=lr), (0.1, 1.0)),
    "L-BFGS": (lambda p, lr: optim.LBFGS(p), (None,)),
    "conjugate gradient": (lambda p, lr: optim.ConjugateGradient(p), (None,)),
}


def run(make_optimizer, lr, X, y):
    model = make_model()
    optimizer = make_optimizer(model.parameters(), lr)
    start = time.perf_counter()
    history = train.fit(model, loss_fn, X, y, optimizer=optimizer, epochs=MAX_ITER,
                        random_state=0)
    seconds = time.perf_counter() - start
    with tg.no_grad():
        out = model(tg.Tensor(X))
    final = loss_fn(out, y).item()
    acc = float(np.mean((out.data[:, 0] > 0) == y))
    # fit records one loss per evaluation: an epoch for GD/momentum/Adam (full batch),
    # every function call of the line searches for L-BFGS and CG
    evaluations = len(history.loss)
    reached = next((i + 1 for i, v in enumerate(history.loss) if v < TARGET), None)
    return {"lr": lr, "iterations": history.n_iter, "evaluations": evaluations, "loss": final,
            "acc": acc, "reached": reached, "seconds": seconds, "history": history}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", metavar="DIR", help="write pictures (PNG) into DIR")
    args = parser.parse_args(argv)

    X, y = data.spirals(200, noise=0.1, random_state=0)
    print(f"Two spirals, {len(X)} points; a 2-16-1 tanh network; at most {MAX_ITER} "
          "iterations, full batch, the same start for every optimizer.")
    try:
        import scipy  # noqa: F401
    except ImportError:
        print("(scipy is not installed, so L-BFGS and conjugate gradient are skipped: "
              "pip install scipy)")
        for name in ("L-BFGS", "conjugate gradient"):
            OPTIMIZERS.pop(name)

    results = {}
    for name, (make_optimizer, rates) in OPTIMIZERS.items():
        runs = [run(make_optimizer, lr, X, y) for lr in rates]
        results[name] = min(runs, key=lambda r: r["loss"])   # the best learning rate

    print(f"\n{'optimizer':<20} {'lr':>5} {'iterations':>10} {'evaluations':>11} "
          f"{'final loss':>10} {'accuracy':>8}  {'evals to loss<' + str(TARGET):>17} "
          f"{'seconds':>7}")
    for name, r in results.items():
        lr = "auto" if r["lr"] is None else f"{r['lr']:g}"
        reached = "never" if r["reached"] is None else str(r["reached"])
        print(f"{name:<20} {lr:>5} {r['iterations']:>10} {r['evaluations']:>11} "
              f"{r['loss']:10.2e} {r['acc']:8.1%}  {reached:>17} {r['seconds']:7.2f}")

    best = min(results, key=lambda name: results[name]["loss"])
    print(f"\nLowest final loss: {best} ({results[best]['loss']:.2e}).")
    print("Gradient descent creeps along the flat valleys of this problem; momentum and Adam "
          "move faster;\nthe quasi-Newton L-BFGS uses curvature and converges in the fewest "
          "iterations,\nat the price of a few extra loss evaluations per iteration for its "
          "line search.")

    if args.out:
        write_pictures(pathlib.Path(args.out), results)


def write_pictures(out, results):
    if not tg.viz.plots_available():
        return
    from matplotlib.figure import Figure

    out.mkdir(parents=True, exist_ok=True)
    fig = Figure(figsize=(6.5, 4), layout="constrained")
    ax = fig.subplots()
    for name, r in results.items():
        ax.plot(np.arange(1, len(r["history"].loss) + 1), r["history"].loss, lw=2, label=name)
    ax.set_yscale("log")
    ax.set_xlabel("loss evaluations")
    ax.set_ylabel("training loss")
    ax.set_title("Optimizers on the two spirals")
    ax.legend(frameon=False)
    fig.savefig(out / "06_optimizers.png", dpi=100)
    print(f"wrote 06_optimizers.png to {out}")


if __name__ == "__main__":
    main()

"""Past the MLP: a small convolutional network reads the handwritten digits.

    python examples/10_convnet_digits.py [--out DIR] [--epochs N] [--seconds S]

A convolution slides each of its small filters (3x3 weights) over the whole image:
the same 9 weights look for their pattern (a stroke, an edge, a corner) at every
position, so the layer learns few weights and finds a pattern wherever it is. Max
pooling keeps the strongest answer of each 2x2 patch, so the next layer sees a smaller
map that tolerates a shift of a pixel. Two such blocks, then one Linear layer over the
feature maps, classify scikit-learn's 8x8 digits (the same 75% / 25% split as
03_digits.py, where an MLP gets about 97%). Batch normalisation after each convolution
and dropout before the last layer are switched off by ``model.eval()`` for testing.

The training loop is written out as in PyTorch: zero_grad, forward, loss, backward,
step. With --out DIR the first layer's 16 filters and the feature maps they make of a
few held-out digits are drawn (PNG; needs matplotlib).
"""
import os

# Small matrices, shared cores: one BLAS thread is several times faster than two that
# fight over two cores (set before numpy is imported; an explicit setting wins).
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse
import pathlib
import sys
import time

import numpy as np

import tinygrad_edu as tg
from tinygrad_edu import data, nn


def make_model(random_state=0):
    """(N, 1, 8, 8) -> conv 3x3 (16 maps of 8x8) -> pool -> conv 3x3 (32 maps of 4x4)
    -> pool -> 32 x 2 x 2 = 128 features -> 10 logits."""
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1, random_state=random_state), nn.BatchNorm2d(16),
        nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1, random_state=random_state + 1), nn.BatchNorm2d(32),
        nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Dropout(0.3, random_state=random_state),
        nn.Linear(32 * 2 * 2, 10, random_state=random_state + 2))


def accuracy(model, X, y):
    """The fraction of correct predictions, in evaluation mode and without a graph."""
    model.eval()
    with tg.no_grad():
        pred = model(tg.Tensor(X)).data.argmax(axis=1)
    model.train()
    return float(np.mean(pred == y))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", metavar="DIR", help="write pictures (PNG) into DIR")
    parser.add_argument("--epochs", type=int, default=25, help="passes over the data (25)")
    parser.add_argument("--seconds", type=float, default=50.0,
                        help="stop training after this many seconds (50)")
    args = parser.parse_args(argv)

    try:
        X, y = data.load_digits()   # pixels scaled to [0, 1], labels 0..9
    except ImportError as err:
        print(f"This example needs scikit-learn's bundled digits: {err}")
        sys.exit(0)
    X_train, X_test, y_train, y_test = data.train_test_split(X, y, test_size=0.25,
                                                             random_state=0)
    X_train, X_test = X_train.reshape(-1, 1, 8, 8), X_test.reshape(-1, 1, 8, 8)  # NCHW
    print(f"digits: {len(X_train)} images of 1x8x8 to train on, {len(X_test)} held out")

    model = make_model(random_state=0)
    criterion = nn.CrossEntropyLoss()
    optimizer = tg.optim.Adam(model.parameters(), lr=0.003)
    print(f"\n{'epoch':>5}  {'training loss':>13}  {'held-out accuracy':>17}")
    start, steps = time.perf_counter(), 0
    for epoch in range(1, args.epochs + 1):
        total = 0.0
        for xb, yb in data.batches(X_train, y_train, batch_size=64, random_state=epoch):
            optimizer.zero_grad()
            loss = criterion(model(tg.Tensor(xb)), yb)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(xb)  # .item(): a number, no graph kept
            steps += 1
        if epoch % 5 == 0 or epoch == 1 or epoch == args.epochs:
            print(f"{epoch:>5}  {total / len(X_train):>13.4f}  "
                  f"{accuracy(model, X_test, y_test):>16.1%}")
        if time.perf_counter() - start > args.seconds:
            print(f"  (stopped after epoch {epoch}: the budget of {args.seconds:g} s is used)")
            break
    seconds = time.perf_counter() - start

    test_acc = accuracy(model, X_test, y_test)
    print(f"\nConvNet: training accuracy {accuracy(model, X_train, y_train):.1%}")
    print(f"ConvNet: held-out accuracy {test_acc:.1%} "
          f"({round((1 - test_acc) * len(X_test))} of {len(X_test)} digits misread)")
    print(f"training took {seconds:.1f} s: {steps} steps of 64 images, "
          f"{1000 * seconds / steps:.1f} ms per step")

    print("\nParameters (model.summary()):")
    print(model.summary())
    print(f"\nThe first convolution has {model[0].num_parameters()} weights: 16 filters of "
          "3x3 and a bias each, used at all 64 positions of every image.")

    if args.out:
        write_pictures(pathlib.Path(args.out), model, X_test, y_test)


def write_pictures(out, model, X_test, y_test, n_digits=4):
    """The first layer's filters, and the feature maps (after batch norm and ReLU) that
    they make of a few held-out digits (needs matplotlib)."""
    if not tg.viz.plots_available():
        return
    from matplotlib.figure import Figure

    out.mkdir(parents=True, exist_ok=True)
    filters = model[0].weight.data[:, 0]  # (16, 3, 3)
    fig = Figure(figsize=(8, 2.4), layout="constrained")
    fig.suptitle("Conv2d(1, 16, 3): the 16 filters (red +, blue -)")
    lim = np.abs(filters).max()
    for k, ax in enumerate(fig.subplots(2, 8).flat):
        ax.imshow(filters[k], cmap="RdBu_r", vmin=-lim, vmax=lim)
        ax.set_title(f"filter {k}", fontsize=8)
        ax.set_axis_off()
    fig.savefig(out / "10_filters.png", dpi=100)

    model.eval()
    with tg.no_grad():
        maps = tg.Tensor(X_test[:n_digits])
        for layer in list(model)[:3]:  # conv, batch norm, ReLU
            maps = layer(maps)
    model.train()
    fig = Figure(figsize=(10, 1.5 * n_digits), layout="constrained")
    fig.suptitle("Held-out digits and 8 of the 16 feature maps of the first layer")
    axes = fig.subplots(n_digits, 9)
    for i in range(n_digits):
        axes[i, 0].imshow(X_test[i, 0], cmap="gray_r")
        axes[i, 0].set_title(f"digit {y_test[i]}", fontsize=8)
        for k in range(8):
            axes[i, k + 1].imshow(maps.data[i, 2 * k], cmap="viridis")
            axes[i, k + 1].set_title(f"map {2 * k}", fontsize=8)
        for ax in axes[i]:
            ax.set_axis_off()
    fig.savefig(out / "10_feature_maps.png", dpi=100)
    print(f"wrote 10_filters.png, 10_feature_maps.png to {out}")


if __name__ == "__main__":
    main()

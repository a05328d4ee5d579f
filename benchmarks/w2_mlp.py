"""W2 the tutorial's network: 1024 inputs, 500 sigmoid hidden units, 10 softmax outputs,
cross-entropy, batch 128; one SGD step = forward, backward, update. No gradient for X.

The float32 variant must stay float32 end to end (loss, gradients, weights).
"""
import numpy as np

from benchmarks.frameworks import loss_sources
from benchmarks.harness import Bench, Workload, result, timed

LR = 0.1
NET = {"full": {"batch": 128, "n_in": 1024, "n_hidden": 500, "n_out": 10},
       "quick": {"batch": 16, "n_in": 64, "n_hidden": 32, "n_out": 10}}


def make_data(dtype, batch, n_in, n_hidden, n_out, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((batch, n_in)).astype(dtype)
    labels = rng.integers(0, n_out, batch)
    W1 = (rng.standard_normal((n_in, n_hidden)) / np.sqrt(n_in)).astype(dtype)
    W2 = (rng.standard_normal((n_hidden, n_out)) / np.sqrt(n_hidden)).astype(dtype)
    return X, labels, W1, W2


def build(fw, dtype, **net):
    """A ``step()`` doing forward, backward and SGD update in place; it returns
    (loss, gradient of W1, W1 after the update) as numpy arrays."""
    X, labels, W1, W2 = make_data(dtype, **net)
    n = len(labels)
    if not fw.autograd:
        T = np.eye(net["n_out"], dtype=dtype)[labels]          # one-hot targets

        def step():
            nonlocal W1, W2
            Z = 1.0 / (1.0 + np.exp(-(X @ W1)))                # hidden: Z = sigmoid(X W1)
            A = Z @ W2
            Y = np.exp(A - A.max(axis=1, keepdims=True))
            Y /= Y.sum(axis=1, keepdims=True)                   # output: Y = softmax(Z W2)
            loss = -np.log(Y[np.arange(n), labels]).mean()      # E = -1/n sum T log Y
            dA = (Y - T) / n                                    # dE/dA = (Y - T)/n
            dW2 = Z.T @ dA
            dW1 = X.T @ ((dA @ W2.T) * Z * (1.0 - Z))           # sigmoid' = Z(1 - Z)
            W1 -= LR * dW1
            W2 -= LR * dW2
            return loss, dW1, W1
        return step

    X, labels = fw.tensor(X), fw.labels(labels)
    W1, W2 = fw.tensor(W1, requires_grad=True), fw.tensor(W2, requires_grad=True)

    def step():
        loss = fw.cross_entropy((X @ W1).sigmoid() @ W2, labels)
        loss.backward()
        dW1 = fw.numpy(W1.grad)
        fw.sgd_step([W1, W2], LR)
        return fw.numpy(loss), dW1, fw.numpy(W1)
    return step


def summary(loss, dW1, W1):
    """What is kept of a step: loss, sum of |dW1|, dtypes of loss, gradient and weights."""
    return float(loss), float(np.abs(dW1).sum()), (loss.dtype, dW1.dtype, W1.dtype)


def dtype_flags(dtype, dtypes):
    names = ("loss", "gradient", "weights")
    return [f"{what} is {dt}, not {dtype}" for what, dt in zip(names, dtypes) if dt != dtype]


def bench(fw, dtype, **net):
    dtype = np.dtype(dtype)
    step = build(fw, dtype, **net)

    def report(med, outs):
        (first_loss, _, _), (last_loss, last_grad, dtypes) = outs[0], outs[-1]
        return result({"ms/step": med["total"] * 1e3},
                      checksum=(first_loss, last_loss, last_grad),
                      flags=dtype_flags(dtype, dtypes), **loss_sources(fw))
    return Bench(lambda: timed(step, keep=lambda out: summary(*out)), report, warmup=2)


def sizes(dtype):   # full: 2 + 10 rounds of (1 untimed + 5 timed) = 62 steps per contender
    return {"full": dict(dtype=dtype, rounds=10, block=5, **NET["full"]),
            "quick": dict(dtype=dtype, rounds=1, block=3, **NET["quick"])}


WORKLOADS = [
    Workload("W2-f64", "tutorial network 1024-500-10, batch 128, one SGD step, float64",
             sizes("float64"), bench=bench),
    Workload("W2-f32", "tutorial network 1024-500-10, batch 128, one SGD step, float32",
             sizes("float32"), bench=bench, rtol=1e-3),
]

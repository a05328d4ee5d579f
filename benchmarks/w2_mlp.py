"""W2 the tutorial's network: 1024 inputs, 500 sigmoid hidden units, 10 softmax outputs,
cross-entropy, batch 128; one SGD step = forward, backward, update. No gradient for X.

The float32 variant must stay float32 end to end (loss, gradients, weights). W2-relu and
W2-tanh are the float64 step with relu or tanh hidden units instead of the sigmoid.
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


# The hidden layer by hand, on the product H = X W1 (a fresh array, overwritten): the
# activation in place, and its derivative multiplied into dZ in place, each from the
# output Z. Fewer passes and temporaries than the textbook spelling (1 / (1 + exp(-H)):
# 4 passes, 3 new arrays; dZ * Z * (1 - Z): 3 new arrays).
def sigmoid_into(a, out=None):
    """1 / (1 + exp(-a)) in four in-place passes, into ``out`` (it may be a). scipy's expit
    loops over libm's exp one element at a time: 2 to 2.5x slower on small arrays (W6
    uses this one too)."""
    out = np.negative(a, out=out)
    np.exp(out, out=out)
    out += 1.0
    return np.divide(1.0, out, out=out)


def _sigmoid(H):
    return sigmoid_into(H, out=H)


def _sigmoid_back(dZ, Z):                   # sigmoid' = Z (1 - Z)
    D = 1.0 - Z
    D *= Z
    dZ *= D


def _relu(H):
    return np.maximum(H, 0.0, out=H)


def _relu_back(dZ, Z):                      # relu' = [Z > 0] (Z = max(H, 0))
    dZ *= Z > 0


def _tanh(H):
    return np.tanh(H, out=H)


def _tanh_back(dZ, Z):                      # tanh' = 1 - Z^2
    D = np.square(Z)
    np.subtract(1.0, D, out=D)
    dZ *= D


HIDDEN = {"sigmoid": (_sigmoid, _sigmoid_back), "relu": (_relu, _relu_back),
          "tanh": (_tanh, _tanh_back)}


def build(fw, dtype, activation="sigmoid", **net):
    """A ``step()`` doing forward, backward and SGD update in place; it returns
    (loss, the gradient of W1 times ``scale``, W1 after the update, scale) as numpy
    arrays (the numpy reference keeps the learning rate in its gradients, scale = LR)."""
    X, labels, W1, W2 = make_data(dtype, **net)
    n = len(labels)
    if not fw.autograd:
        act, act_back = HIDDEN[activation]
        rows = np.arange(n)

        def step():
            nonlocal W1, W2
            Z = act(X @ W1)                                     # hidden: Z = f(X W1)
            Y = Z @ W2
            Y -= Y.max(axis=1, keepdims=True)
            np.exp(Y, out=Y)
            Y /= Y.sum(axis=1, keepdims=True)                   # output: Y = softmax(Z W2)
            loss = -np.log(Y[rows, labels]).mean()              # E = -1/n sum T log Y
            # dE/dA = (Y - T)/n, times the learning rate here, on the (n, 10) array,
            # rather than on the (1024, 500) gradient of W1
            Y[rows, labels] -= 1.0
            Y *= LR / n
            dZ = Y @ W2.T
            act_back(dZ, Z)
            W2 -= Z.T @ Y
            dW1 = X.T @ dZ                                      # LR * dE/dW1
            W1 -= dW1
            return loss, dW1, W1, LR
        return step

    X, labels = fw.tensor(X), fw.labels(labels)
    W1, W2 = fw.tensor(W1, requires_grad=True), fw.tensor(W2, requires_grad=True)
    f = {"sigmoid": lambda h: h.sigmoid(), "relu": lambda h: h.relu(),
         "tanh": lambda h: h.tanh()}[activation]

    def step():
        loss = fw.cross_entropy(f(X @ W1) @ W2, labels)
        loss.backward()
        dW1 = fw.numpy(W1.grad)
        fw.sgd_step([W1, W2], LR)
        return fw.numpy(loss), dW1, fw.numpy(W1), 1.0
    return step


def summary(loss, dW1, W1, scale):
    """What is kept of a step: loss, sum of |dW1|, dtypes of loss, gradient and weights."""
    return float(loss), float(np.abs(dW1).sum()) / scale, (loss.dtype, dW1.dtype, W1.dtype)


def dtype_flags(dtype, dtypes):
    names = ("loss", "gradient", "weights")
    return [f"{what} is {dt}, not {dtype}" for what, dt in zip(names, dtypes) if dt != dtype]


def bench(fw, dtype, activation="sigmoid", **net):
    dtype = np.dtype(dtype)
    step = build(fw, dtype, activation, **net)

    def report(med, outs):
        (first_loss, _, _), (last_loss, last_grad, dtypes) = outs[0], outs[-1]
        return result({"ms/step": med["total"] * 1e3},
                      checksum=(first_loss, last_loss, last_grad),
                      flags=dtype_flags(dtype, dtypes), **loss_sources(fw))
    return Bench(lambda: timed(step, keep=lambda out: summary(*out)), report, warmup=2)


def sizes(dtype, activation="sigmoid", rounds=10):
    """full: 2 + ``rounds`` rounds of (1 untimed + 5 timed) steps per contender."""
    return {"full": dict(dtype=dtype, activation=activation, rounds=rounds, block=5,
                         **NET["full"]),
            "quick": dict(dtype=dtype, activation=activation, rounds=1, block=3,
                          **NET["quick"])}


WORKLOADS = [
    Workload("W2-f64", "tutorial network 1024-500-10, batch 128, one SGD step, float64",
             sizes("float64"), bench=bench),
    Workload("W2-f32", "tutorial network 1024-500-10, batch 128, one SGD step, float32",
             sizes("float32"), bench=bench, rtol=1e-3),
    Workload("W2-relu", "the W2-f64 step with relu hidden units", sizes("float64", "relu"),
             bench=bench),
    Workload("W2-tanh", "the W2-f64 step with tanh hidden units", sizes("float64", "tanh"),
             bench=bench),
]

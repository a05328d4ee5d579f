"""The training loop: ``fit``, its ``History`` and the lessons' three stopping rules.

    history = fit(model, F.cross_entropy, X, y, optimizer=Adam(model.parameters()),
                  epochs=500, batch_size=32, X_val=X_val, y_val=y_val,
                  stopping=[GradientNormBelow(1e-4), LossPlateau(10), EarlyStopping(10)])

Stop when the gradient is small, when the training loss stops falling, or when the loss
on held-out data starts to rise (EarlyStopping also puts back the best epoch's weights).
A stopping rule is any callable ``rule(history, model)`` returning a reason to stop (a
string) or None; it may also define ``start(model)`` and ``end(history, model)``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .data import batches
from .modes import no_grad
from .optim import ScipyOptimizer
from .random import rng as random_rng
from .tensor import Tensor, from_numpy

__all__ = ["EarlyStopping", "GradientNormBelow", "History", "LossPlateau", "fit"]


@dataclass
class History:
    """What ``fit`` measured, one entry per epoch (index 0 is the first epoch).

    ``loss``: mean training loss over the epoch's minibatches; ``grad_norm``: norm of the
    epoch's mean gradient (full batch: the gradient); ``metric`` (training data),
    ``val_loss`` and ``val_metric`` (held-out data) after the epoch, when asked for.
    ``stopped_by`` names the rule that stopped (None: the epochs ran out), ``reason``
    says why; ``best_epoch`` indexes the best epoch; ``n_iter`` counts the iterations.
    """

    loss: list = field(default_factory=list)
    val_loss: list = field(default_factory=list)
    grad_norm: list = field(default_factory=list)
    metric: list = field(default_factory=list)
    val_metric: list = field(default_factory=list)
    stopped_by: str | None = None
    reason: str = ""
    best_epoch: int | None = None
    n_iter: int = 0

    @property
    def epochs(self):
        return len(self.loss)

    def last(self):
        """The latest numbers as one line: 'loss 0.1234  grad_norm 0.01  val_loss ...'."""
        names = ["loss", "grad_norm", "val_loss", "metric", "val_metric"]
        return "  ".join(f"{n} {getattr(self, n)[-1]:.4g}" for n in names if getattr(self, n))

    def __repr__(self):
        """One line, however long the run: 'History(epochs=120, loss=0.6931→0.0121
        (min 0.0119), ..., best_epoch=117, stopped_by='LossPlateau')'. Each curve
        shows its first and last value, and its best (min for losses, max for metrics)."""
        parts = [f"epochs={self.epochs}"]
        for name in ("loss", "val_loss", "metric", "val_metric"):
            values = getattr(self, name)
            if values:
                best = (max if "metric" in name else min)(values)
                text = f"{name}={values[0]:.4g}→{values[-1]:.4g}" if len(values) > 1 \
                    else f"{name}={values[0]:.4g}"
                if best not in (values[0], values[-1]):
                    text += f" ({'max' if 'metric' in name else 'min'} {best:.4g})"
                parts.append(text)
        if self.epochs:
            parts += [f"best_epoch={self.best_epoch}", f"stopped_by={self.stopped_by!r}"]
        return f"History({', '.join(parts)})"


class GradientNormBelow:
    """Stop when the norm of the (epoch's mean) gradient falls below ``tol``."""

    def __init__(self, tol=1e-5):
        self.tol = tol

    def __call__(self, history, model):
        g = history.grad_norm[-1]
        return f"gradient norm {g:.3g} fell below {self.tol:g}" if g < self.tol else None


class LossPlateau:
    """Stop when ``monitor`` has not improved on its best by more than ``min_delta`` for
    ``patience`` epochs in a row (scikit-learn's rule for ``tol``/``n_iter_no_change``).

    Losses improve downwards, metrics (``monitor`` containing 'metric') upwards.
    """

    monitor = "loss"

    def __init__(self, patience=10, min_delta=1e-4):
        self.patience, self.min_delta = patience, min_delta

    def start(self, model):
        self.best, self.best_epoch, self.wait, self.best_state = math.inf, None, 0, None

    def __call__(self, history, model):
        values = getattr(history, self.monitor)
        if not values:
            raise ValueError(f"{type(self).__name__} watches {self.monitor}, which fit did "
                             "not record (pass X_val and y_val, and a metric for *_metric)")
        value = -values[-1] if "metric" in self.monitor else values[-1]
        self.wait = self.wait + 1 if value >= self.best - self.min_delta else 0
        if value < self.best:
            self.best, self.best_epoch = value, len(values) - 1
            self.improved(model)
        if self.wait >= self.patience:
            return (f"{self.monitor} did not improve by more than {self.min_delta:g} for "
                    f"{self.patience} epochs (best at epoch {self.best_epoch + 1}, counting from 1)")
        return None

    def improved(self, model):
        pass


class EarlyStopping(LossPlateau):
    """Stop when the held-out loss starts to rise (no improvement for ``patience`` epochs);
    with ``restore_best`` put back the weights of the best epoch (via ``state_dict``).

    ``monitor='val_metric'`` watches a held-out score instead (higher is better).
    """

    def __init__(self, patience=10, min_delta=0.0, restore_best=True, monitor="val_loss"):
        super().__init__(patience, min_delta)
        self.restore_best, self.monitor = restore_best, monitor

    def improved(self, model):
        if self.restore_best:
            self.best_state = model.state_dict()

    def end(self, history, model):
        history.best_epoch = self.best_epoch
        if self.best_state is not None:
            model.load_state_dict(self.best_state)


class _Progress:
    """A tqdm bar when tqdm is installed (``progress=True``), else a printed line every
    ``every`` epochs (``progress=every``, or a tenth of the run). Either ends with a
    line that says why training stopped.

    The bar is ``tqdm.auto``'s: the notebook widget in Jupyter (when ipywidgets is
    installed), text elsewhere.
    """

    def __init__(self, progress, total):
        self.bar, self.total, self.every = None, total, int(progress or 0)
        if progress is True:
            try:
                tqdm = _tqdm_auto()
            except ImportError:
                self.every = max(1, total // 10)
            else:
                self.bar = tqdm(total=total, desc="fit", unit="epoch")

    def update(self, history):
        if self.bar is not None:
            self.bar.set_postfix_str(history.last(), refresh=False)
            self.bar.update(1)
        elif self.every and (history.epochs % self.every == 0 or history.epochs == 1):
            print(f"epoch {history.epochs}/{self.total}  {history.last()}", flush=True)

    def close(self, history):
        line = f"stopped after epoch {history.epochs}: {history.reason}"
        if self.bar is not None:
            self.bar.close()
            if history.reason:  # beside the bar: stderr in a terminal, under the widget in Jupyter
                print(line, file=self.bar.fp, flush=True)
        elif self.every and history.reason:
            print(line, flush=True)


def _tqdm_auto():
    """``tqdm.auto.tqdm``; without ipywidgets in Jupyter it is the text bar, quietly."""
    import warnings

    from tqdm import TqdmWarning
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TqdmWarning)  # "IProgress not found": text it is
        from tqdm.auto import tqdm
    return tqdm


def _train_step(model, loss_fn, optimizer, Xb, yb):
    """One update; returns the loss as a float, so no graph outlives the step. (Xb is the
    batch's own new array, see batches(): a floating one is used without a copy.)"""
    optimizer.zero_grad()
    x = from_numpy(Xb) if Xb.__class__ is np.ndarray and Xb.dtype.kind == "f" else Tensor(Xb)
    loss = loss_fn(model(x), yb)
    loss.backward()
    value = loss.item()
    del loss  # the graph goes before the step: it writes into weights no graph holds
    optimizer.step()
    return value


def _norm(arrays):
    return float(np.sqrt(sum(np.vdot(a, a) for a in arrays)))


def _record(history, model, loss_fn, metric, X, y, X_val, y_val):
    """The metric on the training data and the loss and metric on held-out data."""
    with no_grad():
        model.eval()
        if metric is not None:
            history.metric.append(float(metric(model(Tensor(X)).data, y)))
        if X_val is not None:
            out = model(Tensor(X_val))
            history.val_loss.append(loss_fn(out, y_val).item())
            if metric is not None:
                history.val_metric.append(float(metric(out.data, y_val)))
        model.train()


def fit(model, loss_fn, X, y, *, optimizer, epochs, batch_size=None, X_val=None, y_val=None,
        stopping=(), metric=None, shuffle=True, random_state=None, progress=False):
    """Train ``model`` to minimise ``loss_fn(model(X), y)``; returns a ``History``.

    Each epoch visits every sample once, in minibatches of ``batch_size`` (None: all at
    once), shuffled with ``random_state`` when ``shuffle``: the same seed, the same run.
    ``metric(output, y) -> float`` takes the model's numpy output. After each epoch,
    every rule in ``stopping`` is asked whether to stop. ``progress``: False, True (a
    tqdm.auto bar, a widget in Jupyter; lines if tqdm is missing) or N (a line every N
    epochs); either ends with a line that says why training stopped.

    A ``ScipyOptimizer`` (L-BFGS, conjugate gradient) trains full batch in one
    ``step(closure)`` of at most ``epochs`` iterations (it sets its ``max_iter``);
    History holds one entry per loss evaluation, the rules are not consulted (scipy
    tests convergence with the optimizer's ``tol``) and ``stopped_by`` is the method.
    """
    X, y = np.asarray(X), np.asarray(y)
    for bad, message in [
            (len(X) != len(y), f"X and y have different lengths: {len(X)} and {len(y)}"),
            (len(X) == 0, "X and y are empty"),
            ((X_val is None) != (y_val is None), "pass both X_val and y_val, or neither"),
            (isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer))
             or epochs < 1, f"epochs must be an integer >= 1, got {epochs!r}")]:
        if bad:
            raise ValueError(f"fit: {message}")
    arrays = (X, y, None, None) if X_val is None else (X, y, np.asarray(X_val), np.asarray(y_val))
    history, rules = History(), list(stopping)
    bar = _Progress(progress, epochs)
    model.train()
    if isinstance(optimizer, ScipyOptimizer):
        rules = []  # scipy runs its own convergence tests
        _fit_scipy(model, loss_fn, arrays, optimizer, epochs, metric, history, bar)
    else:
        for rule in rules:
            getattr(rule, "start", lambda model: None)(model)
        rng = random_rng(random_state)
        params = optimizer.params
        size = batch_size or len(X)
        for _ in range(epochs):
            # the epoch's gradient: the batches' mean gradients weighted by their sizes,
            # added up in units of a whole batch (only a short last batch is scaled)
            total, grad_sum = 0.0, [np.zeros_like(p.data) for p in params]
            order = shuffle and batch_size is not None  # full batch: nothing to shuffle
            for Xb, yb in batches(X, y, size, order, random_state=rng):
                total += _train_step(model, loss_fn, optimizer, Xb, yb) * len(Xb)
                weight = len(Xb) / size  # 1 for a whole batch: no temporary
                for acc, p in zip(grad_sum, params):
                    g = p.grad
                    if g is not None:
                        acc += g.data if weight == 1 else g.data * weight
            history.loss.append(total / len(X))
            history.grad_norm.append(_norm(grad_sum) * size / len(X))
            _record(history, model, loss_fn, metric, *arrays)
            history.n_iter += 1
            bar.update(history)
            for rule in rules:
                reason = rule(history, model)
                if reason and not history.stopped_by:
                    history.stopped_by = getattr(rule, "__name__", type(rule).__name__)
                    history.reason = reason
            if history.stopped_by:
                break
        if not history.stopped_by:
            history.reason = f"reached the maximum of {epochs} epochs"
    history.best_epoch = int(np.argmin(history.val_loss or history.loss))
    for rule in rules:
        getattr(rule, "end", lambda history, model: None)(history, model)
    bar.close(history)
    return history


def _fit_scipy(model, loss_fn, arrays, optimizer, epochs, metric, history, bar):
    X, y = arrays[:2]

    def closure():
        optimizer.zero_grad()
        loss = loss_fn(model(Tensor(X)), y)
        loss.backward()
        history.loss.append(loss.item())
        history.grad_norm.append(_norm(p.grad.data for p in optimizer.params if p.grad is not None))
        _record(history, model, loss_fn, metric, *arrays)
        bar.update(history)
        return history.loss[-1]

    optimizer.max_iter = epochs
    result = optimizer.step(closure)
    history.n_iter = int(getattr(result, "nit", len(history.loss)))
    history.reason = str(result.message)
    if result.success or history.n_iter < epochs:
        history.stopped_by = optimizer.method

"""Learning-rate schedulers: each ``step()`` sets the lr of every param group, as PyTorch's do.

    optimizer = tg.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    scheduler = tg.optim.lr_scheduler.StepLR(optimizer, step_size=30, gamma=0.1)
    for epoch in range(100):
        ...                          # the epoch's optimizer.step() calls
        scheduler.step()             # then once per epoch

A scheduler reads and writes ``group["lr"]`` of its optimizer's param groups, remembers
each group's first lr in ``group["initial_lr"]`` (its ``base_lrs``), counts its steps in
``last_epoch`` (0 once constructed) and returns the lrs it set last from
``get_last_lr()``. StepLR, ExponentialLR and CosineAnnealingLR are chainable, as
PyTorch's are: each step computes the new lr from the group's current one, so a change
made in between (by hand, or by a second scheduler on the same optimizer) carries on.
ReduceLROnPlateau watches a measured quantity instead: ``scheduler.step(val_loss)``.
"""
from __future__ import annotations

import copy
import math
import numbers

from .errors import ArgumentError, DTypeError


class LRScheduler:
    """The base: ``step()`` counts an epoch and writes ``get_lr()`` (one lr per group)
    into the groups. A subclass writes ``get_lr()``."""

    def __init__(self, optimizer):
        self.optimizer = _with_lrs(type(self).__name__, optimizer)
        for group in optimizer.param_groups:
            group.setdefault("initial_lr", group["lr"])
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = -1
        self.step()  # epoch 0: the lrs as they are

    def get_lr(self):
        raise NotImplementedError

    def step(self):
        self.last_epoch += 1
        for group, lr in zip(self.optimizer.param_groups, self.get_lr()):
            group["lr"] = lr
        self._last_lr = self._lrs()

    def _lrs(self):
        return [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self):
        """The lrs of the last step, one per param group."""
        return list(self._last_lr)

    def state_dict(self):
        """A copy of the scheduler's counters and settings (everything but the optimizer)."""
        return copy.deepcopy({k: v for k, v in vars(self).items() if k != "optimizer"})

    def load_state_dict(self, state_dict):
        vars(self).update(copy.deepcopy(state_dict))


class StepLR(LRScheduler):
    """Multiply every group's lr by ``gamma`` each ``step_size`` epochs:
    lr_t = lr_0 gamma^floor(t / step_size)  (chainable: lr_t = gamma lr_(t-1) when
    step_size divides t, else lr_(t-1))."""

    def __init__(self, optimizer, step_size, gamma=0.1):
        name = type(self).__name__
        self.step_size = _number(name, "step_size", step_size, "an integer >= 1",
                                 lambda v: v >= 1, integer=True)
        self.gamma = _number(name, "gamma", gamma, "a number > 0", lambda v: v > 0)
        super().__init__(optimizer)

    def get_lr(self):
        t = self.last_epoch
        factor = self.gamma if t > 0 and t % self.step_size == 0 else 1.0
        return [lr * factor for lr in self._lrs()]


class ExponentialLR(LRScheduler):
    """Multiply every group's lr by ``gamma`` each epoch: lr_t = lr_0 gamma^t
    (chainable: lr_t = gamma lr_(t-1))."""

    def __init__(self, optimizer, gamma):
        self.gamma = _number(type(self).__name__, "gamma", gamma, "a number > 0",
                             lambda v: v > 0)
        super().__init__(optimizer)

    def get_lr(self):
        factor = self.gamma if self.last_epoch > 0 else 1.0
        return [lr * factor for lr in self._lrs()]


class CosineAnnealingLR(LRScheduler):
    """Half a cosine from each group's lr_0 down to ``eta_min`` over ``T_max`` epochs
    (SGDR without restarts, Loshchilov & Hutter, 2017):

        lr_t = eta_min + (lr_0 - eta_min) (1 + cos(pi t / T_max)) / 2

    Past T_max the cosine goes on: back up to lr_0 at 2 T_max, and so on. Chainable, as
    PyTorch computes it: lr_t = eta_min + (lr_(t-1) - eta_min) (1 + cos(pi t / T_max)) /
    (1 + cos(pi (t - 1) / T_max)), and where that divides by 0 (leaving a trough, t - 1 =
    T_max mod 2 T_max) lr_t = lr_(t-1) + (lr_0 - eta_min) (1 - cos(pi / T_max)) / 2.
    """

    def __init__(self, optimizer, T_max, eta_min=0.0):
        name = type(self).__name__
        self.T_max = _number(name, "T_max", T_max, "an integer >= 1", lambda v: v >= 1,
                             integer=True)
        self.eta_min = _number(name, "eta_min", eta_min, "a finite number >= 0",
                               lambda v: v >= 0)
        super().__init__(optimizer)

    def get_lr(self):
        t, T, low = self.last_epoch, self.T_max, self.eta_min
        if t == 0:
            return self._lrs()
        if (t - 1 - T) % (2 * T) == 0:
            rise = (1 - math.cos(math.pi / T)) / 2
            return [lr + (base - low) * rise for lr, base in zip(self._lrs(), self.base_lrs)]
        ratio = (1 + math.cos(math.pi * t / T)) / (1 + math.cos(math.pi * (t - 1) / T))
        return [ratio * (lr - low) + low for lr in self._lrs()]


class ReduceLROnPlateau(LRScheduler):
    """Multiply every group's lr by ``factor`` when a metric has stopped improving:
    ``step(metric)`` once per epoch, with the validation loss (mode 'min') or accuracy
    ('max').

    An epoch improves when the metric beats the best so far by ``threshold``: relatively
    (mode 'min': metric < best (1 - threshold); 'max': metric > best (1 + threshold)) or,
    with threshold_mode 'abs', by that much (best - threshold, best + threshold). After
    more than ``patience`` epochs in a row without improvement each group's lr becomes
    max(lr factor, min_lr) (a change smaller than ``eps`` is skipped), then ``cooldown``
    epochs pass before bad epochs count again. ``min_lr``: one number, or one per group.
    """

    def __init__(self, optimizer, mode="min", factor=0.1, patience=10, threshold=1e-4,
                 threshold_mode="rel", cooldown=0, min_lr=0, eps=1e-8):
        name = type(self).__name__
        self.optimizer = _with_lrs(name, optimizer)
        self.mode = _choice(name, "mode", mode, ("min", "max"))
        self.threshold_mode = _choice(name, "threshold_mode", threshold_mode, ("rel", "abs"))
        self.factor = _number(name, "factor", factor, "a number in (0, 1)",
                              lambda v: 0 < v < 1)
        for key, value in (("patience", patience), ("cooldown", cooldown)):
            _number(name, key, value, "an integer >= 0", lambda v: v >= 0, integer=True)
        for key, value in (("threshold", threshold), ("eps", eps)):
            _number(name, key, value, "a finite number >= 0", lambda v: v >= 0)
        self.patience, self.cooldown, self.threshold, self.eps = patience, cooldown, threshold, eps
        n = len(optimizer.param_groups)
        self.min_lrs = list(min_lr) if isinstance(min_lr, (list, tuple)) else [min_lr] * n
        if len(self.min_lrs) != n:
            raise ArgumentError(f"{name}: min_lr has {len(self.min_lrs)} entries for "
                                f"{n} param groups: give one number, or one per group")
        for value in self.min_lrs:
            _number(name, "min_lr", value, "a finite number >= 0", lambda v: v >= 0)
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = self.cooldown_counter = self.last_epoch = 0
        self._last_lr = self._lrs()

    def is_better(self, a, best):
        """Whether the metric ``a`` improves on ``best`` by the threshold."""
        if self.mode == "min":
            return a < (best * (1 - self.threshold) if self.threshold_mode == "rel"
                        else best - self.threshold)
        return a > (best * (1 + self.threshold) if self.threshold_mode == "rel"
                    else best + self.threshold)

    def step(self, metrics):
        """One epoch's metric: a number, or a Tensor or array holding one."""
        try:
            current = float(metrics)
        except (TypeError, ValueError):
            raise DTypeError(f"{type(self).__name__}.step: metrics must be one number (the "
                             f"epoch's loss or accuracy), got {metrics!r}") from None
        self.last_epoch += 1
        if self.is_better(current, self.best):
            self.best, self.num_bad_epochs = current, 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:  # bad epochs in the cooldown do not count
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            for group, low in zip(self.optimizer.param_groups, self.min_lrs):
                new = max(group["lr"] * self.factor, low)
                if group["lr"] - new > self.eps:
                    group["lr"] = new
            self.cooldown_counter, self.num_bad_epochs = self.cooldown, 0
        self._last_lr = self._lrs()


def _with_lrs(name, optimizer):
    """The optimizer, once it is seen to have param groups with an lr each."""
    groups = getattr(optimizer, "param_groups", None)
    if not isinstance(groups, list) or not all(isinstance(g, dict) for g in groups):
        raise DTypeError(f"{name}: optimizer must be an optimizer such as "
                         f"tg.optim.SGD(params, lr=0.1), got a {type(optimizer).__name__}")
    if not all("lr" in g for g in groups):
        raise ArgumentError(f"{name}: {type(optimizer).__name__} has no learning rate to "
                            "schedule")
    return optimizer


def _number(name, key, value, must, ok, integer=False):
    """``value``, once it is a finite real number (an integer if ``integer``) with ``ok``."""
    kind = numbers.Integral if integer else numbers.Real
    if not (isinstance(value, kind) and not isinstance(value, bool) and math.isfinite(value)
            and ok(value)):
        raise ArgumentError(f"{name}: {key} must be {must}, got {value!r}")
    return value


def _choice(name, key, value, choices):
    if not isinstance(value, str) or value not in choices:
        raise ArgumentError(f"{name}: {key} must be one of {', '.join(map(repr, choices))}, "
                            f"got {value!r}")
    return value


__all__ = ["LRScheduler", "StepLR", "ExponentialLR", "CosineAnnealingLR", "ReduceLROnPlateau"]

"""A small, honest training loop for in-memory tensors.

"Honest" means: it is seeded and deterministic on CPU (shuffling uses its own generator and
the global RNG that dropout draws from is forked and seeded, so calling :func:`fit` leaves the
caller's random state untouched); the per-epoch ``train_loss``/``train_acc`` are measured
after the epoch with the model in eval mode, on the same footing as the validation numbers,
instead of being a running average over batches of a model that kept changing (set
``eval_train=False`` to get the cheaper running average); and a non-finite loss stops
training and is reported (``History.diverged``) instead of silently producing NaN weights.

One step is the textbook mini-batch SGD update

.. math::

    \\theta \\leftarrow \\theta - \\eta\\,\\nabla_\\theta \\Big(\\frac{1}{|B|}\\sum_{i\\in B}
    \\ell(f_\\theta(x_i), y_i) + R(\\theta)\\Big)

with batches ``B`` drawn without replacement from a fresh permutation each epoch (Robbins &
Monro 1951; Bottou 2010), or the chosen optimizer's variant of it. ``R`` is the optional
``penalty``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["fit", "evaluate", "History", "make_optimizer"]

Data = tuple[Tensor, Tensor]
LossFn = Callable[[Tensor, Tensor], Tensor]
ProgressFn = Callable[[float, float, str], None]


@dataclass
class History:
    """What :func:`fit` measured.

    Attributes:
        epochs: one dict per finished epoch with ``epoch`` (from 1), ``train_loss``,
            ``train_acc``, ``val_loss`` and ``val_acc`` (when validation data was given),
            ``lr`` and ``time`` (seconds since the start of training; wall clock, so not
            deterministic).
        steps: the training loss of every optimizer step (data loss, without the penalty).
        stopped_epoch: the epoch after which early stopping ended training, else None.
        best_epoch: the epoch whose weights the model holds at the end when early stopping
            restored them; otherwise the epoch with the lowest ``val_loss`` (None without val).
        diverged: True when a non-finite loss ended training.
    """

    epochs: list[dict[str, float]] = field(default_factory=list)
    steps: list[float] = field(default_factory=list)
    stopped_epoch: int | None = None
    best_epoch: int | None = None
    diverged: bool = False

    def metric(self, key: str) -> list[float]:
        """The per-epoch values of ``key`` (for example ``"val_acc"``)."""
        return [e[key] for e in self.epochs if key in e]

    @property
    def last(self) -> dict[str, float]:
        return self.epochs[-1] if self.epochs else {}

    def to_json(self) -> dict[str, Any]:
        return {
            "epochs": [dict(e) for e in self.epochs],
            "steps": list(self.steps),
            "stopped_epoch": self.stopped_epoch,
            "best_epoch": self.best_epoch,
            "diverged": self.diverged,
        }


def _is_classification(out: Tensor, y: Tensor) -> bool:
    return out.dim() == 2 and not torch.is_floating_point(y) and y.dim() == 1


def make_optimizer(
    params: Iterable[nn.Parameter] | list[dict[str, Any]],
    optimizer: str | Callable[..., torch.optim.Optimizer] = "sgd",
    lr: float = 0.1,
    momentum: float = 0.0,
    weight_decay: float = 0.0,
) -> torch.optim.Optimizer:
    """Build ``"sgd"``, ``"adam"`` or ``"adamw"`` (or call ``optimizer(params)``).

    ``weight_decay`` is coupled L2 for ``"sgd"`` and ``"adam"`` and decoupled decay for
    ``"adamw"`` (Loshchilov & Hutter 2019; see :mod:`dlfaq.train.regularization`).
    """
    if callable(optimizer):
        return optimizer(params)
    if optimizer == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    if optimizer == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    if optimizer == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    raise ValueError(f"optimizer must be 'sgd', 'adam', 'adamw' or a callable, got {optimizer!r}")


@torch.no_grad()
def evaluate(
    model: nn.Module, data: Data, batch_size: int | None = 1024, loss_fn: LossFn | None = None
) -> dict[str, float]:
    """Mean loss and accuracy of ``model`` on ``data = (X, y)`` in eval mode.

    ``loss_fn`` must average over its batch (like ``F.cross_entropy``'s default); the result is
    the sample-weighted mean over batches. ``acc`` is NaN when the task is not classification
    (integer labels and 2-D logits). The model's train/eval mode is restored afterwards.
    """
    loss_fn = loss_fn or F.cross_entropy
    X, y = data
    device = _model_device(model)
    was_training = model.training
    model.eval()
    n = len(X)
    bs = n if batch_size is None else max(1, batch_size)
    total_loss = 0.0
    correct = 0
    classification = True
    try:
        for start in range(0, n, bs):
            xb = X[start : start + bs].to(device)
            yb = y[start : start + bs].to(device)
            out = model(xb)
            total_loss += float(loss_fn(out, yb)) * len(xb)
            if classification and _is_classification(out, yb):
                correct += int((out.argmax(1) == yb).sum())
            else:
                classification = False
    finally:
        model.train(was_training)
    return {
        "loss": total_loss / n if n else math.nan,
        "acc": correct / n if (n and classification) else math.nan,
    }


def _model_device(model: nn.Module) -> torch.device:
    for p in model.parameters():
        return p.device
    for b in model.buffers():
        return b.device
    return torch.device("cpu")


def fit(
    model: nn.Module,
    train: Data,
    *,
    val: Data | None = None,
    epochs: int = 10,
    lr: float = 0.1,
    optimizer: str | Callable[..., torch.optim.Optimizer] = "sgd",
    momentum: float = 0.0,
    weight_decay: float = 0.0,
    batch_size: int | None = 64,
    loss_fn: LossFn | None = None,
    penalty: Callable[[nn.Module], Tensor] | None = None,
    monitor: Any = None,
    early_stopping: Any = None,
    clip: Callable[[Iterable[nn.Parameter]], Any] | None = None,
    seed: int = 0,
    device: str | torch.device = "cpu",
    progress: ProgressFn | None = None,
    shuffle: bool = True,
    eval_train: bool = True,
    drop_last: bool = False,
    max_steps: int | None = None,
    stop_on: str | None = None,
) -> History:
    """Train ``model`` on ``train = (X, y)`` and return a :class:`History`.

    Args:
        model: any ``nn.Module``; it is moved to ``device``.
        train: input and target tensors (kept whole in memory).
        val: optional validation pair, evaluated after every epoch.
        epochs: passes over the training data.
        lr, momentum, weight_decay: optimizer settings (see :func:`make_optimizer`).
        optimizer: ``"sgd"``, ``"adam"``, ``"adamw"`` or a callable ``params -> Optimizer``.
        batch_size: mini-batch size; ``None`` means full-batch gradient descent.
        loss_fn: ``loss_fn(output, target)`` averaged over the batch; cross-entropy on logits
            by default.
        penalty: ``penalty(model) -> scalar`` added to every batch's loss (for example
            ``functools.partial(l1_penalty, weight=1e-4)``).
        monitor: anything with ``.step()``; called after each ``backward()``, before clipping,
            so it sees the raw gradients.
        early_stopping: an :class:`~dlfaq.train.regularization.EarlyStopping`; it watches
            ``stop_on`` (``val_loss`` by default, ``train_loss`` without ``val``). When it stops, or
            at the end, its best weights are restored.
        clip: ``clip(parameters)`` called after backward and before the optimizer step
            (for example ``functools.partial(torch.nn.utils.clip_grad_norm_, max_norm=1.0)``).
        seed: seeds the shuffling and (in a forked RNG state) dropout and other random layers.
        device: where to train.
        progress: ``progress(done, total, desc)`` after every epoch.
        shuffle: reshuffle the training data every epoch.
        eval_train: measure ``train_loss``/``train_acc`` in eval mode after each epoch (else
            report the running mean over the epoch's batches).
        drop_last: drop the last incomplete batch (useful with batch norm and tiny batches).
        max_steps: stop after this many optimizer steps in total.
        stop_on: the epoch-record key that ``early_stopping`` watches (default ``"val_loss"``, or
            ``"train_loss"`` without ``val``); for ``"val_acc"`` build it with ``mode="max"``.

    The model is left in eval mode.
    """
    loss_fn = loss_fn or F.cross_entropy
    device = torch.device(device)
    model.to(device)
    X, y = train[0].to(device), train[1].to(device)
    val_d = (val[0].to(device), val[1].to(device)) if val is not None else None
    watch, bs = _check_options(len(X), val is not None, batch_size, stop_on)
    opt = make_optimizer(model.parameters(), optimizer, lr, momentum, weight_decay)
    run = _Run(model, X, y, opt, loss_fn, penalty, monitor, clip, bs, drop_last, max_steps, eval_train)
    hist = run.hist
    gen = torch.Generator().manual_seed(seed)
    t0 = time.perf_counter()
    # dropout and other random layers draw from the global RNG: fork it so the caller's is untouched
    with torch.random.fork_rng(devices=[device.index or 0] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        for epoch in range(1, epochs + 1):
            order = torch.randperm(len(X), generator=gen) if shuffle else torch.arange(len(X))
            running, budget_spent = run.epoch(order.to(device))
            if hist.diverged:
                break  # the epoch did not finish: no record
            rec = _epoch_record(run, epoch, running, val_d, time.perf_counter() - t0)
            hist.epochs.append(rec)
            if progress is not None:
                progress(epoch, epochs, "train")
            if _stops_early(early_stopping, watch, rec, model, epoch):
                hist.stopped_epoch = epoch
                break
            if budget_spent:
                break
    hist.best_epoch = _best_epoch(early_stopping, model, hist, val_d is not None)
    model.eval()
    return hist


def _check_options(n: int, has_val: bool, batch_size: int | None, stop_on: str | None) -> tuple[str, int]:
    """The epoch-record key that early stopping watches and the batch size; ValueError for bad options."""
    if n == 0:
        raise ValueError("empty training set")
    watch = stop_on or ("val_loss" if has_val else "train_loss")
    if watch.startswith("val_") and not has_val:
        raise ValueError(f"stop_on={watch!r} needs validation data")
    bs = n if batch_size is None else int(batch_size)
    if bs <= 0:
        raise ValueError(f"batch_size must be positive or None, got {batch_size}")
    return watch, bs


@dataclass
class _Running:
    """The running mean of the batch losses (and accuracy) over one epoch, for ``eval_train=False``."""

    loss: float = 0.0
    correct: int = 0
    n: int = 0
    classification: bool = True

    def add(self, loss_value: float, out: Tensor, yb: Tensor) -> None:
        self.loss += loss_value * len(yb)
        self.n += len(yb)
        if self.classification and _is_classification(out, yb):
            self.correct += int((out.detach().argmax(1) == yb).sum())
        else:
            self.classification = False

    def metrics(self) -> dict[str, float]:
        n = self.n
        return {
            "loss": self.loss / n if n else math.nan,
            "acc": self.correct / n if (n and self.classification) else math.nan,
        }


@dataclass
class _Run:
    """What one call of :func:`fit` trains with, and the steps it takes so far."""

    model: nn.Module
    X: Tensor
    y: Tensor
    opt: torch.optim.Optimizer
    loss_fn: LossFn
    penalty: Callable[[nn.Module], Tensor] | None
    monitor: Any
    clip: Callable[[Iterable[nn.Parameter]], Any] | None
    batch_size: int
    drop_last: bool
    max_steps: int | None
    eval_train: bool
    hist: History = field(default_factory=History)
    steps: int = 0

    def batch(self, xb: Tensor, yb: Tensor) -> tuple[float, Tensor] | None:
        """One optimizer step on the batch: its data loss and the model's output, or None (and no
        step) when the loss or the objective is not finite."""
        out = self.model(xb)
        loss = self.loss_fn(out, yb)
        objective = loss + self.penalty(self.model) if self.penalty is not None else loss
        self.opt.zero_grad(set_to_none=True)
        objective.backward()
        if self.monitor is not None:
            self.monitor.step()  # before clipping: the monitor sees the raw gradients
        loss_value = float(loss.detach())
        self.hist.steps.append(loss_value)
        finite = math.isfinite(loss_value)
        if self.penalty is not None and finite:
            finite = math.isfinite(float(objective.detach()))
        if not finite:
            return None
        if self.clip is not None:
            self.clip(self.model.parameters())
        self.opt.step()
        self.steps += 1
        return loss_value, out

    def epoch(self, order: Tensor) -> tuple[_Running, bool]:
        """One pass over the rows in ``order``: the running mean of its batches and whether the
        ``max_steps`` budget is spent. A non-finite loss sets ``hist.diverged`` and ends the pass."""
        self.model.train()
        running = _Running()
        bs = self.batch_size
        for start in range(0, len(order), bs):
            idx = order[start : start + bs]
            if self.drop_last and len(idx) < bs and start > 0:
                break
            xb, yb = self.X[idx], self.y[idx]
            done = self.batch(xb, yb)
            if done is None:
                self.hist.diverged = True
                break
            if not self.eval_train:
                running.add(*done, yb)
            if self.max_steps is not None and self.steps >= self.max_steps:
                return running, True
        return running, False


def _epoch_record(run: _Run, epoch: int, running: _Running, val: Data | None, elapsed: float) -> dict[str, float]:
    """The epoch's row of :attr:`History.epochs` (train metrics in eval mode unless ``eval_train=False``)."""
    rec: dict[str, float] = {"epoch": epoch}
    train = evaluate(run.model, (run.X, run.y), loss_fn=run.loss_fn) if run.eval_train else running.metrics()
    rec["train_loss"], rec["train_acc"] = train["loss"], train["acc"]
    if val is not None:
        m = evaluate(run.model, val, loss_fn=run.loss_fn)
        rec["val_loss"], rec["val_acc"] = m["loss"], m["acc"]
    rec["lr"] = float(run.opt.param_groups[0]["lr"])
    rec["time"] = elapsed
    return rec


def _stops_early(early_stopping: Any, watch: str, rec: dict[str, float], model: nn.Module, epoch: int) -> bool:
    """Feed the watched value of the epoch record to ``early_stopping``; True when it says stop."""
    if early_stopping is None:
        return False
    if watch not in rec:
        raise ValueError(f"stop_on={watch!r} is not a key of the epoch record {sorted(rec)}")
    return bool(early_stopping.step(rec[watch], model, epoch=epoch))


def _best_epoch(early_stopping: Any, model: nn.Module, hist: History, has_val: bool) -> int | None:
    """Restore early stopping's best weights and return their epoch; else the epoch of the lowest
    finite ``val_loss`` (None without validation data)."""
    if early_stopping is not None and early_stopping.restore_best and early_stopping.restore(model):
        best: int | None = early_stopping.best_epoch
        return best
    if not has_val or not hist.epochs:
        return None
    finite = [(e["val_loss"], i) for i, e in enumerate(hist.epochs) if math.isfinite(e["val_loss"])]
    return int(hist.epochs[min(finite)[1]]["epoch"]) if finite else None

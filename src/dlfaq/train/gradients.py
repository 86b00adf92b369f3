"""Gradient monitoring and gradient clipping.

:class:`GradientMonitor` records, for every tracked parameter ("layer"), the
gradient norm, the weight norm and the relative size of each optimizer update,
and turns the record into findings: vanishing, exploding or non-finite
gradients, with the layers affected, the step the problem started and advice.

The clipping functions follow :func:`torch.nn.utils.clip_grad_norm_` and
:func:`torch.nn.utils.clip_grad_value_` but never let a NaN or inf gradient pass
silently: by default they raise :class:`NonFiniteGradientError` naming the
offending parameters (with one NaN, torch's ``clip_grad_norm_`` multiplies
every gradient by ``max_norm / nan``; with an inf it scales the others to 0;
``clip_grad_value_`` turns ``inf`` into the clip value). :func:`adaptive_clip_grad` implements the unit-wise adaptive
gradient clipping (AGC) of Brock et al. (2021).

References:
    Pascanu, R., Mikolov, T. & Bengio, Y. (2013). On the difficulty of training
    recurrent neural networks. ICML.
    Brock, A., De, S., Smith, S. L. & Simonyan, K. (2021). High-performance
    large-scale image recognition without normalization. ICML (NFNets, AGC).
    Glorot, X. & Bengio, Y. (2010). Understanding the difficulty of training deep
    feedforward neural networks. AISTATS.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal, cast

import numpy as np
import torch
from torch import Tensor, nn

from dlfaq._fast import monitor as _fast_monitor

__all__ = [
    "Finding",
    "GradientMonitor",
    "NonFiniteGradientError",
    "adaptive_clip_grad",
    "clip_grad_norm",
    "clip_grad_value",
]

OnNonFinite = Literal["raise", "zero", "warn"]
ParamsArg = Tensor | Iterable[Tensor] | Iterable[tuple[str, Tensor]]


class NonFiniteGradientError(FloatingPointError):
    """A gradient holds NaN or inf. ``names`` lists the offending parameters."""

    def __init__(self, message: str, names: list[str] | None = None) -> None:
        super().__init__(message)
        self.names = list(names or [])


# --------------------------------------------------------------------------- clipping


def _named_grads(parameters: ParamsArg) -> list[tuple[str, Tensor, Tensor]]:
    """Normalize the accepted inputs to ``[(name, param, grad)]`` for params that have a ``.grad``.

    Accepts a tensor, an iterable of tensors (``model.parameters()``) or of
    ``(name, tensor)`` pairs (``model.named_parameters()``); names make error
    messages useful.
    """
    if isinstance(parameters, Tensor):
        items: list[Any] = [parameters]
    else:
        items = list(parameters)
    out = []
    for i, item in enumerate(items):
        if isinstance(item, tuple):
            name, p = item
        else:
            name, p = f"param[{i}]", item
        if p.grad is not None:
            out.append((str(name), p, p.grad))
    return out


def _check_finite(
    named: list[tuple[str, Tensor, Tensor]], summary: Tensor, on_nonfinite: OnNonFinite, what: str
) -> bool:
    """Return True if gradients are finite; otherwise raise, zero or warn as asked.

    ``summary`` is a reduction of all gradients (a total norm or a max) that is
    non-finite exactly when some gradient element is; reading it is the one
    host-device synchronization of the check.
    """
    if on_nonfinite not in ("raise", "zero", "warn"):
        raise ValueError(f"on_nonfinite must be 'raise', 'zero' or 'warn', got {on_nonfinite!r}")
    if bool(torch.isfinite(summary)):
        return True
    bad = [n for n, _, g in named if not bool(torch.isfinite(g).all())]
    msg = (
        f"{what}: non-finite gradient (NaN or inf) in {len(bad)} parameter(s): {', '.join(bad[:8])}"
    )
    if len(bad) > 8:
        msg += ", ..."
    if on_nonfinite == "raise":
        raise NonFiniteGradientError(msg, bad)
    # stacklevel 4: the warning names the line that called clip_grad_norm (or its siblings),
    # through _grads_and_norm and this function
    if on_nonfinite == "zero":
        for _, _, g in named:
            g.zero_()
        warnings.warn(msg + "; all gradients set to zero", RuntimeWarning, stacklevel=4)
    else:
        warnings.warn(msg + "; gradients left unchanged", RuntimeWarning, stacklevel=4)
    return False


def _grads_and_norm(
    parameters: ParamsArg,
    norm_type: float,
    on_nonfinite: OnNonFinite,
    what: str,
    foreach: bool | None = None,
) -> tuple[list[tuple[str, Tensor, Tensor]], Tensor, bool]:
    """What every clipping function starts with: the ``(name, param, grad)`` of the parameters that hold a gradient,
    the ``norm_type`` norm of all their gradients together (torch's ``get_total_norm``), and
    whether it is safe to clip: False when there is no gradient (the norm is then 0) or when some
    gradient is not finite (``on_nonfinite`` has then been applied, see :func:`_check_finite`).
    """
    named = _named_grads(parameters)
    if not named:
        return named, torch.tensor(0.0), False
    grads = [g for _, _, g in named]
    total = torch.nn.utils.get_total_norm(grads, norm_type, error_if_nonfinite=False, foreach=foreach)
    return named, total, _check_finite(named, total, on_nonfinite, what)


def clip_grad_norm(
    parameters: ParamsArg,
    max_norm: float,
    norm_type: float = 2.0,
    *,
    on_nonfinite: OnNonFinite = "raise",
    foreach: bool | None = None,
) -> Tensor:
    r"""Scale all gradients together so that their joint norm is at most ``max_norm``.

    With :math:`g` the concatenation of every gradient and
    :math:`\|g\|_p` its ``norm_type`` norm, each gradient is multiplied by

    .. math::
        c = \min\left(1, \frac{\text{max\_norm}}{\|g\|_p + 10^{-6}}\right),

    which keeps the direction of the update and caps its length (Pascanu et al.,
    2013). The arithmetic is torch's (``get_total_norm`` and
    ``clip_grads_with_norm_``), so results equal :func:`torch.nn.utils.clip_grad_norm_`.

    Non-finite gradients (``on_nonfinite``):

    * ``"raise"`` (default): raise :class:`NonFiniteGradientError` naming the
      parameters whose gradient holds NaN/inf; gradients are left untouched.
    * ``"zero"``: set every gradient to zero and emit a ``RuntimeWarning``, so
      the following optimizer step does not move the weights by the gradient
      (stateful optimizers still apply momentum and weight decay).
    * ``"warn"``: emit a ``RuntimeWarning`` and leave gradients unchanged (no
      scaling, unlike torch, which would multiply every gradient by NaN).

    Args:
        parameters: a tensor, ``model.parameters()`` or ``model.named_parameters()``
            (names appear in the error message).
        max_norm: largest allowed joint norm.
        norm_type: order of the norm (``float("inf")`` for the max-abs norm).
        on_nonfinite: see above.
        foreach: use the fused multi-tensor kernels (None: torch decides).

    Returns:
        The joint norm of the gradients *before* clipping (a 0-d tensor).
    """
    named, total, ok = _grads_and_norm(parameters, norm_type, on_nonfinite, "clip_grad_norm", foreach)
    if not ok:
        return total
    torch.nn.utils.clip_grads_with_norm_([p for _, p, _ in named], max_norm, total, foreach=foreach)
    return total


def clip_grad_value(
    parameters: ParamsArg,
    clip_value: float,
    *,
    on_nonfinite: OnNonFinite = "raise",
    foreach: bool | None = None,
) -> Tensor:
    r"""Clamp every gradient element to :math:`[-\text{clip\_value}, \text{clip\_value}]`.

    Unlike norm clipping this changes the direction of the update. Torch's
    ``clip_grad_value_`` maps ``+inf`` to ``clip_value`` and keeps NaN, so an
    overflow turns silently into a full-size step; here non-finite gradients are
    handled by ``on_nonfinite`` exactly as in :func:`clip_grad_norm` (default:
    raise :class:`NonFiniteGradientError`).

    Returns:
        The largest absolute gradient element before clipping (a 0-d tensor).
    """
    if clip_value <= 0:
        raise ValueError(f"clip_value must be positive, got {clip_value}")
    named, largest, ok = _grads_and_norm(parameters, math.inf, on_nonfinite, "clip_grad_value", foreach)
    if not ok:
        return largest
    torch.nn.utils.clip_grad_value_([p for _, p, _ in named], clip_value, foreach=foreach)
    return largest


def _unitwise_norm(x: Tensor) -> Tensor:
    """Norm of each output unit: over all dims but the first; whole tensor for 0-d/1-d."""
    if x.ndim <= 1:
        return torch.linalg.vector_norm(x)
    return torch.linalg.vector_norm(x, dim=tuple(range(1, x.ndim)), keepdim=True)


def adaptive_clip_grad(
    parameters: ParamsArg,
    clipping: float = 0.01,
    eps: float = 1e-3,
    *,
    on_nonfinite: OnNonFinite = "raise",
) -> Tensor:
    r"""Adaptive gradient clipping, unit-wise (Brock et al., 2021, Sec. 4.1).

    For each unit :math:`i` (a row of a weight matrix, an output channel of a
    convolution kernel: the norm runs over every dimension but the first; a
    bias or other 1-d tensor counts as one unit) with weight :math:`W_i` and
    gradient :math:`G_i`:

    .. math::
        G_i \leftarrow \begin{cases}
            \lambda \dfrac{\max(\|W_i\|_F, \epsilon)}{\|G_i\|_F}\, G_i
                & \text{if } \dfrac{\|G_i\|_F}{\max(\|W_i\|_F, \epsilon)} > \lambda \\
            G_i & \text{otherwise,}
        \end{cases}

    with :math:`\lambda` = ``clipping`` and :math:`\epsilon` = ``eps`` (which
    stops zero-initialized weights from freezing). The paper does not clip the
    final classifier layer; pass only the parameters to clip
    (e.g. ``[p for n, p in model.named_parameters() if not n.startswith("head")]``).
    Non-finite gradients are handled as in :func:`clip_grad_norm`.

    Returns:
        The number of units that were clipped (a 0-d tensor).
    """
    if clipping <= 0:
        raise ValueError(f"clipping must be positive, got {clipping}")
    named, _, ok = _grads_and_norm(parameters, 2.0, on_nonfinite, "adaptive_clip_grad")
    if not ok:
        return torch.tensor(0)
    clipped = []
    with torch.no_grad():
        for _, p, g in named:
            w_norm = _unitwise_norm(p.detach()).clamp_min(eps)
            g_norm = _unitwise_norm(g)
            max_norm = clipping * w_norm
            # the 1e-6 floor only matters where g_norm is 0, and there no clipping happens
            scale = torch.where(g_norm > max_norm, max_norm / g_norm.clamp_min(1e-6), 1.0)
            g.mul_(scale)
            clipped.append((g_norm > max_norm).sum())
    return torch.stack(clipped).sum()


# --------------------------------------------------------------------------- monitor


@dataclass(frozen=True)
class Finding:
    """One problem found by :meth:`GradientMonitor.diagnose`.

    Attributes:
        kind: ``"vanishing"``, ``"exploding"`` or ``"nonfinite"``.
        layers: names of the affected parameters, input side first.
        step: the recorded step (0-based count of ``monitor.step()`` calls) since
            which the problem holds.
        advice: one or two sentences: what is measured, the likely cause, what to try.
        value: the measurement behind the finding (smallest or largest relative
            gradient among the affected layers; NaN for ``"nonfinite"``).
    """

    kind: str
    layers: tuple[str, ...]
    step: int
    advice: str
    value: float = math.nan

    def __str__(self) -> str:
        shown = ", ".join(self.layers[:4]) + (", ..." if len(self.layers) > 4 else "")
        return f"{self.kind} gradients in {len(self.layers)} layer(s) ({shown}) since step {self.step}: {self.advice}"


class GradientMonitor:
    r"""Per-layer gradient statistics recorded with tensor hooks, and a diagnosis.

    ``GradientMonitor(model)`` registers a post-accumulate-grad hook
    (:meth:`torch.Tensor.register_post_accumulate_grad_hook`) on every tracked
    parameter; the hook only notes that the parameter received a gradient.
    :meth:`step`, called once per optimizer step after ``backward()``, reads the
    accumulated ``.grad`` of every parameter a backward reached since the last
    call (the others are filed as 0), takes the norms of all gradients and
    weights in one multi-tensor kernel (:mod:`dlfaq._fast.monitor`) and keeps
    them on the parameters' device (no host sync). Nothing is copied to the
    host until :meth:`history`, :meth:`diagnose` or :meth:`plot` asks. The
    update ratio needs a copy of the weights and two more multi-tensor ops, so
    it is sampled every ``update_every`` (10) records. Measured with
    ``python benchmarks/bench_monitor.py`` (one CPU thread, machine shared with
    another job), a step of an MLP on digits with the monitor on every step
    takes 1.04-1.07 times as long as without it for 8 and 20 layers, and 1.13
    times for a 2-layer MLP whose whole step is 0.25 ms (the monitor's ~15 µs
    is then mostly the fixed cost of launching a handful of small kernels);
    ``every=10`` brings that to about 1.03.

    For tracked parameter (layer) :math:`l` at recorded step :math:`t`:

    * gradient norm :math:`\|g_l\|`, weight norm :math:`\|W_l\|` (Frobenius);
    * relative gradient :math:`r_l = \|g_l\| / \|W_l\|` (scale-free, so layers
      of different widths compare);
    * update ratio :math:`\|W_l^{(t+1)} - W_l^{(t)}\| / \|W_l^{(t)}\|`: how much
      the optimizer step(s) between two consecutive records changed the layer
      (sampled every ``update_every`` records). A common rule of thumb for SGD
      puts healthy values near :math:`10^{-3}`.

    Findings (:meth:`diagnose`), each judged per layer and per step, then
    summarized over time (see below):

    * **nonfinite**: the gradient norm is NaN or inf.
    * **vanishing**: :math:`r_l < \text{depth\_ratio} \cdot \max_k r_k` (the
      layer's relative gradient is more than ``1/depth_ratio`` = 1000 times
      smaller than the best-served layer's in the same step: the signal has
      decayed on its way back through depth), or :math:`r_l < \text{min\_rel}`
      (= 1e-6; every layer starves, as in a deep ReLU net whose forward signal
      has also decayed: with plain SGD at a learning rate of 0.1 a relative
      gradient of 1e-6 changes the weights by 1e-7 of their size per step).
    * **exploding**: :math:`r_l > \text{max\_rel}` (= 100: one SGD step with a
      learning rate of 0.01 would change the layer by more than its own size;
      healthy networks measured on digits stay below 10 even at initialization),
      or :math:`\|g_l\|` jumps above ``spike`` (= 100) times the median of
      that layer's previous (up to 100) norms (needs at least 5 earlier steps).

    A layer is reported when its condition holds in at least ``min_fraction``
    (default 0.5) of the last ``window`` recorded steps; the reported ``step``
    is the earliest step from which the condition held in at least that
    fraction of all later steps. Non-finite values are reported from their
    first occurrence.

    Args:
        model: any :class:`torch.nn.Module`.
        include: ``"weights"`` (default: parameters with 2 or more dimensions,
            i.e. the weight matrices and kernels that depth multiplies),
            ``"all"``, or a predicate ``(name, param) -> bool``.
        every: record every ``every``-th call to :meth:`step` (other calls
            only count).
        track_updates: keep a copy of the tracked weights to measure update
            ratios (memory: one extra copy of the tracked parameters).
        update_every: measure the update ratio after every ``update_every``-th
            record (default 10: records 0, 10, 20, ...; the others hold NaN).
            Each measurement costs a copy of the weights at record ``t`` and a
            subtraction and norm at record ``t + 1``, twice what the gradient
            and weight norms cost together, and the ratio drifts slowly, so
            sampling it keeps the monitor cheap; ``1`` measures every record.
        on_nonfinite: ``"record"`` (default) or ``"raise"``: raise
            :class:`NonFiniteGradientError` from :meth:`step` (one host sync per step).

    Example::

        with GradientMonitor(model) as monitor:
            for x, y in loader:
                loss = F.cross_entropy(model(x), y)
                opt.zero_grad(); loss.backward()
                monitor.step()
                opt.step()
        for finding in monitor.diagnose():
            print(finding)
        monitor.plot().savefig("gradients.png")
    """

    def __init__(
        self,
        model: nn.Module,
        *,
        include: str | Callable[[str, Tensor], bool] = "weights",
        every: int = 1,
        track_updates: bool = True,
        update_every: int = 10,
        on_nonfinite: Literal["record", "raise"] = "record",
        depth_ratio: float = 1e-3,
        min_rel: float = 1e-6,
        max_rel: float = 100.0,
        spike: float = 100.0,
        window: int = 20,
        min_fraction: float = 0.5,
    ) -> None:
        if every < 1:
            raise ValueError(f"every must be >= 1, got {every}")
        if update_every < 1:
            raise ValueError(f"update_every must be >= 1, got {update_every}")
        if on_nonfinite not in ("record", "raise"):
            raise ValueError(f"on_nonfinite must be 'record' or 'raise', got {on_nonfinite!r}")
        if include == "weights":
            keep: Callable[[str, Tensor], bool] = lambda n, p: p.ndim >= 2  # noqa: E731
        elif include == "all":
            keep = lambda n, p: True  # noqa: E731
        elif callable(include):
            keep = include
        else:
            raise ValueError(f"include must be 'weights', 'all' or a callable, got {include!r}")
        self.model = model
        self.names: list[str] = []
        self._params: list[Tensor] = []
        for name, p in model.named_parameters():
            if p.requires_grad and keep(name, p):
                self.names.append(name)
                self._params.append(p)
        if not self._params:
            raise ValueError("GradientMonitor: the model has no parameter to track")
        self.every = every
        self.track_updates = track_updates
        self.update_every = update_every
        self.on_nonfinite = on_nonfinite
        self.depth_ratio = depth_ratio
        self.min_rel = min_rel
        self.max_rel = max_rel
        self.spike = spike
        self.window = window
        self.min_fraction = min_fraction
        self._calls = 0
        self._open = True
        k = len(self._params)
        first = self._params[0]
        # Norms of float16/bfloat16 tensors would overflow or round in their own
        # dtype, so the record is float32 (float64 if any tracked parameter is);
        # asking the norms for that dtype costs a cast, so only when needed.
        dtype = torch.float64 if any(p.dtype == torch.float64 for p in self._params) else None
        dtype = dtype or torch.float32
        self._norm_dtype = None if all(p.dtype == dtype for p in self._params) else dtype
        # The record: a table with one row of 3k floats per record, [gradient
        # norms | weight norms | norm of the change since the previous record],
        # on the parameters' device, NaN where nothing was measured, so recording
        # never syncs with a GPU. Each step stacks its norms into one small
        # tensor; every 256 records (or when history() asks) they are moved into
        # the table in one op, which costs less per step than writing each row in
        # place; the table doubles when full (amortized O(1) per step).
        self._table = torch.full((256, 3 * k), math.nan, dtype=dtype, device=first.device)
        self._stored = 0  # rows of the table filled
        self._recent: list[Tensor] = []  # records not yet moved into the table
        self._steps: list[int] = []
        # snapshot of the tracked weights at the last record, for the update ratio
        self._prev: list[Tensor] | None = None
        self._initial_gain: list[float] | None = None
        # seen[i]: parameter i received a gradient since the last step() (set by
        # its post-accumulate-grad hook, a single list store: the hooks cost
        # nothing measurable, see benchmarks/bench_monitor.py)
        self._seen = [False] * k
        self._unseen = [False] * k
        self._handles = [
            p.register_post_accumulate_grad_hook(self._make_hook(i))
            for i, p in enumerate(self._params)
        ]

    # -- recording ----------------------------------------------------------

    def _make_hook(self, i: int) -> Callable[[Tensor], None]:
        seen = self._seen

        def hook(p: Tensor) -> None:
            seen[i] = True

        return hook

    def step(self) -> None:
        """Record the gradients the optimizer is about to use; call once per optimizer step,
        after ``backward()`` (and after any gradient accumulation) and before ``opt.step()``."""
        # The hot path of the monitor. Per-parameter Python work costs ~1-2 µs a
        # parameter on CPU, more than the norms themselves, so a record is a fixed
        # handful of multi-tensor ops (dlfaq._fast.monitor): one norm over gradients,
        # weights (and weight changes), one stack, and, on the records that measure
        # the update ratio, one subtraction or copy.
        calls = self._calls
        self._calls = calls + 1
        seen = self._seen
        if calls % self.every or not self._open:
            seen[:] = self._unseen
            return
        params = self._params
        # every parameter whose hook fired holds a .grad; the others are replaced just below
        grads = cast(list[Tensor], [p.grad for p in params])
        if not all(seen):
            # a parameter that no backward since the last step() reached (unused
            # by the forward) is filed as 0, whatever stale .grad it may hold
            grads = [
                g if s and g is not None else p.new_zeros(())
                for g, s, p in zip(grads, seen, params, strict=True)
            ]
        seen[:] = self._unseen
        row = len(self._steps)
        measure = snapshot = False
        if self.track_updates:
            phase = row % self.update_every
            snapshot = phase == 0
            # the snapshot taken at record row - 1 gives the change made since
            measure = row > 0 and phase == 1 % self.update_every
        prev = self._prev
        # torch.set_grad_enabled called as a function switches the mode at once (cheaper than
        # entering the torch.no_grad() context manager, and this runs every step)
        grad_mode = torch.is_grad_enabled()
        torch.set_grad_enabled(False)
        try:
            dtype = self._norm_dtype
            record = _fast_monitor.record(grads, params, prev, measure=measure, snapshot=snapshot, dtype=dtype)
            if record is None:  # no multi-tensor kernels: the reference, tensor by tensor
                record = _record(grads, params, prev, measure=measure, snapshot=snapshot, dtype=dtype)
            if snapshot and prev is None:
                self._prev = [p.detach().clone() for p in params]
        finally:
            torch.set_grad_enabled(grad_mode)
        self._steps.append(calls)
        self._recent.append(record)
        if len(self._recent) == 256:
            self._flush()
        if self._initial_gain is None:
            self._initial_gain = [_init_gain(p) for p in params]
        if self.on_nonfinite == "raise" and not bool(torch.isfinite(record[: len(grads)]).all()):
            vals = record[: len(grads)].tolist()
            bad = [n for n, v in zip(self.names, vals, strict=True) if not math.isfinite(v)]
            raise NonFiniteGradientError(
                f"non-finite gradient at step {calls} in: {', '.join(bad)}", bad
            )

    def _flush(self) -> None:
        """Move the recent records (one small tensor each) into the table."""
        recent, self._recent = self._recent, []
        if not recent:
            return
        k = len(self._params)
        start = self._stored
        end = start + len(recent)
        rows = self._table.shape[0]
        if end > rows:
            grown = self._table.new_full((max(2 * rows, end), 3 * k), math.nan)
            grown[:start] = self._table[:start]
            self._table = grown
        full = [i for i, r in enumerate(recent) if r.shape[0] == 3 * k]
        part = [i for i, r in enumerate(recent) if r.shape[0] == 2 * k]
        for idx, width in ((full, 3 * k), (part, 2 * k)):
            if idx:
                where = torch.tensor(idx, device=self._table.device) + start
                self._table[where, :width] = torch.stack([recent[i] for i in idx])
        self._stored = end

    # -- results --------------------------------------------------------------

    @property
    def num_records(self) -> int:
        return len(self._steps)

    def history(self) -> dict[str, Any]:
        """The record as NumPy arrays.

        Returns a dict with ``names`` (layers), ``steps`` (the ``step()`` call
        index of each record), ``grad_norm`` and ``weight_norm`` (shape
        steps × layers), ``rel_grad`` (their ratio) and ``update_ratio``: row
        ``t`` holds the relative change made by the optimizer step(s) after
        record ``t`` (NaN for the last record, for records not a multiple of
        ``update_every`` and when updates are not tracked).
        """
        n, k = self.num_records, len(self.names)
        self._flush()
        rec = self._table[:n].to("cpu", torch.float64).numpy()
        grad, weight = rec[:, :k], rec[:, k : 2 * k]
        with np.errstate(divide="ignore", invalid="ignore"):
            rel = grad / weight
            upd = np.full((n, k), np.nan)
            if n > 1:
                upd[:-1] = rec[1:, 2 * k :] / weight[:-1]
        return {
            "names": list(self.names),
            "steps": np.asarray(self._steps, dtype=int),
            "grad_norm": grad,
            "weight_norm": weight,
            "rel_grad": rel,
            "update_ratio": upd,
        }

    def summary(self) -> list[dict[str, Any]]:
        """One row per layer: gradient norm, weight norm and relative gradient at the first and last record."""
        h = self.history()
        recorded = self.num_records > 0

        def at(key: str, row: int, j: int) -> float:
            return float(h[key][row, j]) if recorded else math.nan

        return [
            {
                "layer": name,
                "grad_norm_first": at("grad_norm", 0, j),
                "grad_norm_last": at("grad_norm", -1, j),
                "rel_grad_last": at("rel_grad", -1, j),
                "weight_norm_last": at("weight_norm", -1, j),
            }
            for j, name in enumerate(h["names"])
        ]

    def diagnose(self) -> list[Finding]:
        """Findings (see the class docstring for the thresholds), non-finite first."""
        if self.num_records == 0:
            return []
        h = self.history()
        grad, rel, steps, names = h["grad_norm"], h["rel_grad"], h["steps"], h["names"]
        n = len(steps)
        findings: list[Finding] = []

        finite = np.isfinite(grad)
        if not finite.all():
            bad_layers = np.where(~finite.all(axis=0))[0]
            first = int(np.argmax(~finite.all(axis=1)))
            findings.append(
                Finding(
                    "nonfinite",
                    tuple(names[j] for j in bad_layers),
                    int(steps[first]),
                    "gradients hold NaN or inf. Usual causes: a learning rate so high that "
                    "weights or activations overflowed, log(0) or division by zero in the loss, "
                    "or float16 overflow. Lower the learning rate, check the inputs and the loss, "
                    "and clip with dlfaq.train.clip_grad_norm (it raises on NaN/inf by default).",
                )
            )
        # Vanishing/exploding are judged on the steps whose gradients are all
        # finite, so a blow-up that ends in NaN is still reported as exploding.
        rows = finite.all(axis=1)
        if not rows.any():
            return findings
        grad, rel, steps, finite = grad[rows], rel[rows], steps[rows], finite[rows]
        n = len(steps)
        with np.errstate(invalid="ignore", divide="ignore"):
            rel_f = np.where(np.isfinite(rel), rel, np.nan)
            best = np.nanmax(np.where(np.isnan(rel_f), -np.inf, rel_f), axis=1, keepdims=True)
            vanish = (rel_f < self.depth_ratio * best) | (rel_f < self.min_rel)
            explode = rel_f > self.max_rel
            if n > 5:
                prev_median = np.full_like(grad, np.nan)
                for t in range(5, n):
                    lo = max(
                        0, t - 100
                    )  # trailing window keeps diagnose() linear in the run length
                    prev_median[t] = np.nanmedian(
                        np.where(finite[lo:t], grad[lo:t], np.nan), axis=0
                    )
                explode |= grad > self.spike * prev_median
        vanish &= finite
        explode &= finite

        for kind, cond in (("vanishing", vanish), ("exploding", explode)):
            layers, starts = [], []
            for j in range(len(names)):
                start = self._onset(cond[:, j])
                if start is not None:
                    layers.append(j)
                    starts.append(start)
            if not layers:
                continue
            vals = rel_f[:, layers][cond[:, layers]]
            value = float(np.nanmin(vals) if kind == "vanishing" else np.nanmax(vals))
            findings.append(
                Finding(
                    kind,
                    tuple(names[j] for j in layers),
                    int(steps[min(starts)]),
                    self._advice(kind, layers, value),
                    value,
                )
            )
        return findings

    def _onset(self, cond: Any) -> int | None:
        """Index from which ``cond`` mostly holds, if it holds in the recent window."""
        n = len(cond)
        w = min(self.window, n)
        if cond[-w:].mean() < self.min_fraction:
            return None
        suffix = np.cumsum(cond[::-1])[::-1] / np.arange(n, 0, -1)
        ok = np.where(cond & (suffix >= self.min_fraction))[0]
        return int(ok[0]) if len(ok) else None

    def _advice(self, kind: str, layers: list[int], value: float) -> str:
        mods = {type(m).__name__ for m in self.model.modules()}
        saturating = sorted(mods & {"Sigmoid", "Tanh", "Hardtanh", "Softsign"})
        has_norm = any("Norm" in m for m in mods)
        recurrent = sorted(mods & {"RNN", "RNNCell"})
        gains = [self._initial_gain[j] for j in layers] if self._initial_gain else []
        gain = float(sum(gains) / len(gains)) if gains else math.nan
        causes, fixes = [], []
        if kind == "vanishing":
            what = (
                f"the smallest relative gradient |g|/|W| is {value:.2g}, "
                f"below {self.depth_ratio:g} of the largest layer's or {self.min_rel:g}"
            )
            if saturating:
                causes.append(
                    f"saturating activations ({', '.join(saturating)}: sigmoid's derivative is at most 0.25)"
                )
                fixes.append("use ReLU-family activations")
            if gain < 0.7:
                causes.append(f"small initial weights (std·sqrt(fan_in) ≈ {gain:.2g})")
                fixes.append("use Xavier (tanh/sigmoid) or He (ReLU) initialization")
            if recurrent:
                causes.append("a vanilla RNN multiplying by the same matrix at every time step")
                fixes.append("use an LSTM or GRU")
            if not has_norm:
                fixes.append("add batch normalization")
            fixes.append("add residual connections")
        else:
            what = (
                f"the largest relative gradient |g|/|W| is {value:.3g} "
                f"(threshold {self.max_rel:g}, or a {self.spike:g}x jump over the layer's history)"
            )
            if gain > 1.8:
                causes.append(f"large initial weights (std·sqrt(fan_in) ≈ {gain:.2g})")
                fixes.append("use He/Xavier initialization")
            if recurrent:
                causes.append("a vanilla RNN multiplying by the same matrix at every time step")
                fixes.append("use an LSTM or GRU")
            causes.append("a learning rate too high for this depth")
            fixes.append(
                "clip the gradient norm (dlfaq.train.clip_grad_norm) and lower the learning rate"
            )
            if not has_norm:
                fixes.append("add batch normalization")
        cause = "; likely cause: " + "; ".join(causes) if causes else ""
        return f"{what}{cause}. Try: {'; '.join(fixes)}."

    # -- plotting -------------------------------------------------------------

    def plot(self, *, title: str | None = None) -> Any:
        """A matplotlib figure: gradient norm per layer (first/middle/last record),
        relative gradient over steps per layer, and update ratio over steps."""
        from matplotlib import colormaps
        from matplotlib.figure import Figure

        h = self.history()
        fig = Figure(figsize=(13, 3.8))
        axes = fig.subplots(1, 3)
        k = len(h["names"])
        n = self.num_records
        depth = np.arange(k)
        if n:
            for idx, style in ((0, "o-"), (n // 2, "s--"), (n - 1, "^:")):
                axes[0].semilogy(
                    depth,
                    np.abs(h["grad_norm"][idx]) + 1e-30,
                    style,
                    ms=3,
                    label=f"step {int(h['steps'][idx])}",
                )
            cmap = colormaps["viridis"]
            for j in range(k):
                c = cmap(j / max(k - 1, 1))
                axes[1].semilogy(h["steps"], np.abs(h["rel_grad"][:, j]) + 1e-30, color=c, lw=1)
                u = h["update_ratio"][:, j]
                ok = np.isfinite(u)  # measured every update_every records only
                if ok.any():
                    axes[2].semilogy(h["steps"][ok], u[ok], ".-", color=c, lw=1, ms=2)
            axes[0].legend(fontsize=7)
        axes[0].set(
            xlabel="layer (input → output)", ylabel="gradient norm", title="per-layer gradient norm"
        )
        axes[1].set(xlabel="step", ylabel="|g| / |W|", title="relative gradient (colour = depth)")
        axes[1].axhline(self.max_rel, color="red", ls=":", lw=1)
        axes[1].axhline(self.min_rel, color="grey", ls=":", lw=1)
        sampled = f" (every {self.update_every} records)" if self.update_every > 1 else ""
        axes[2].set(xlabel="step", ylabel="|ΔW| / |W|", title="update ratio" + sampled)
        if title:
            fig.suptitle(title)
        fig.tight_layout()
        return fig

    # -- lifetime -------------------------------------------------------------

    def close(self) -> None:
        """Remove the hooks, stop recording (later :meth:`step` calls do nothing) and
        free the weight snapshot; the record stays available."""
        for h in self._handles:
            h.remove()
        self._handles = []
        self._open = False
        self._prev = None

    def __enter__(self) -> GradientMonitor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"GradientMonitor({len(self.names)} layers, {self.num_records} records, "
            f"every={self.every}, {'recording' if self._open else 'closed, hooks removed'})"
        )


def _record(
    grads: list[Tensor],
    params: list[Tensor],
    prev: list[Tensor] | None,
    *,
    measure: bool,
    snapshot: bool,
    dtype: torch.dtype | None,
) -> Tensor:
    """One record of :meth:`GradientMonitor.step`, tensor by tensor (the reference for
    :func:`dlfaq._fast.monitor.record`, which does the same in a few multi-tensor kernels):
    the norms of the gradients and of the weights, then, with ``measure``, of each weight's
    change since the snapshot ``prev`` (left in ``prev``, negated); with ``snapshot``, ``prev``
    then receives a copy of the weights."""
    norms = [torch.linalg.vector_norm(t, dtype=dtype) for t in grads + params]
    if measure:
        assert prev is not None
        for old, p in zip(prev, params, strict=True):
            norms.append(torch.linalg.vector_norm(old.sub_(p), dtype=dtype))
    if snapshot and prev is not None:
        for old, p in zip(prev, params, strict=True):
            old.copy_(p)
    return torch.stack(norms)


def _init_gain(p: Tensor) -> float:
    """std(W)·sqrt(fan_in): about 1 for Xavier-like, √2 for He init of a weight matrix."""
    if p.ndim < 2:
        return math.nan
    fan_in = p[0].numel()
    return float(p.detach().float().std()) * math.sqrt(fan_in)

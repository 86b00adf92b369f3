"""Q5: what an LSTM's gates do, read off a trained LSTM on a delayed-recall task."""

from __future__ import annotations

from typing import Any

import numpy as np

from dlfaq.experiments._core import Evidence, RunContext, experiment, judge

VOCAB = 8  # tokens 1..7 (0 unused), chance = 1/7
IDENTITY_TOL = 1e-5  # float32 gate identities
SOLVED = 0.9  # test accuracy that counts as "solved"


class _Recaller:
    """Embedding + first-step marker -> recurrent layer -> linear read-out of the last state."""

    def __init__(self, kind: str, hidden: int, device: Any) -> None:
        import torch

        from dlfaq.nn import LSTM

        self.kind = kind
        self.emb = torch.nn.Embedding(VOCAB, 8).to(device)
        if kind == "LSTM":
            self.rnn = LSTM(9, hidden).to(device)
            # Forget-gate bias init (Gers et al. 2000; Jozefowicz et al. 2015): start with the memory open.
            with torch.no_grad():
                self.rnn.bias_ih_l0[hidden : 2 * hidden].fill_(5.0)
                self.rnn.bias_hh_l0[hidden : 2 * hidden].zero_()
        else:
            self.rnn = torch.nn.RNN(9, hidden).to(device)
        self.head = torch.nn.Linear(hidden, VOCAB).to(device)
        self.device = device

    def params(self) -> list:
        return [*self.emb.parameters(), *self.rnn.parameters(), *self.head.parameters()]

    def inputs(self, tokens: Any) -> Any:
        import torch

        e = self.emb(tokens)
        flag = torch.zeros(tokens.shape[0], tokens.shape[1], 1, device=self.device)
        flag[0] = 1.0  # marks the token to remember
        return torch.cat([e, flag], -1)

    def logits(self, tokens: Any) -> Any:
        out = self.rnn(self.inputs(tokens))[0]
        return self.head(out[-1])


def _data(n: int, delay: int, seed: int, device: Any) -> tuple[Any, Any]:
    import torch

    from dlfaq.data import delayed_recall

    x, y = delayed_recall(n, delay, vocab=VOCAB, seed=seed)
    return torch.as_tensor(x, device=device).T.contiguous(), torch.as_tensor(y, device=device)


def _train(kind: str, delay: int, seed: int, steps: int, hidden: int, device: Any) -> tuple[_Recaller, float]:
    import torch

    torch.manual_seed(seed)
    model = _Recaller(kind, hidden, device)
    params = model.params()
    opt = torch.optim.Adam(params, lr=1e-2)
    batch = 32
    x, y = _data(batch * steps, delay, seed, device)
    for s in range(steps):
        xb, yb = x[:, s * batch : (s + 1) * batch], y[s * batch : (s + 1) * batch]
        loss = torch.nn.functional.cross_entropy(model.logits(xb), yb)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
    xt, yt = _data(1000, delay, seed + 10_000, device)
    with torch.no_grad():
        acc = (model.logits(xt).argmax(-1) == yt).float().mean().item()
    return model, acc


def _eta2(values: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Share of each unit's variance explained by the label (between-class / total)."""
    total = values.var(0) + 1e-12
    means = np.stack([values[labels == k].mean(0) for k in np.unique(labels)])
    counts = np.array([(labels == k).sum() for k in np.unique(labels)])
    between = (counts[:, None] * (means - values.mean(0)) ** 2).sum(0) / len(labels)
    return between / total


def _intervene(model: _Recaller, tokens: Any, units: Any, start: int, stop: int) -> Any:
    """Final hidden state when the forget gate of ``units`` is forced to 0 at steps start..stop-1."""
    import torch

    from dlfaq.nn import LSTMCell

    lstm = model.rnn
    cell = LSTMCell(lstm.input_size, lstm.hidden_size).to(model.device)
    cell.load_state_dict({k.replace("_l0", ""): v for k, v in lstm.state_dict().items()})
    x = model.inputs(tokens)
    B = x.shape[1]
    h = x.new_zeros(B, lstm.hidden_size)
    c = x.new_zeros(B, lstm.hidden_size)
    keep = torch.ones(lstm.hidden_size, device=model.device)
    keep[units] = 0.0
    for t in range(x.shape[0]):
        (h_new, c_new), g = cell(x[t], (h, c), return_gates=True)
        if start <= t < stop:
            c_new = g.f * keep * c + g.i * g.g
            h_new = g.o * torch.tanh(c_new)
        h, c = h_new, c_new
    return h


@experiment(
    5,
    "gates-delayed-recall",
    title={
        "en": "LSTM vs vanilla RNN on delayed recall, and what the LSTM's gates do",
        "zh": "延迟回忆任务上的 LSTM 与普通 RNN,以及 LSTM 各个门的实际行为",
    },
    description={
        "en": "Both networks must output the first token of a sequence after a delay of T random distractor "
        "tokens. Success is plotted against T; on a solved LSTM the gate activations (dlfaq.nn.LSTM with "
        "return_gates=True) are read to judge each of the page's statements about the gates.",
        "zh": "两种网络都要在 T 个随机干扰符号之后输出序列的第一个符号。画出成功率随 T 的变化;"
        "在解出任务的 LSTM 上用 return_gates=True 读出门的数值,逐条检验页面对各个门的描述。",
    },
)
def gates_delayed_recall(ctx: RunContext) -> Evidence:
    return _gates_delayed_recall(ctx)


def _gates_delayed_recall(ctx: RunContext) -> Evidence:
    import torch
    from matplotlib.figure import Figure

    dev = ctx.torch_device()
    ev = Evidence()
    delays = ctx.pick(quick=[10, 20, 40], full=[5, 10, 20, 40, 60, 80], smoke=[3, 6])
    seeds = ctx.seeds(quick=2, full=3, smoke=1)
    steps = ctx.pick(quick=400, full=800, smoke=30)
    hidden = 32
    acc: dict[str, dict[int, list[float]]] = {"LSTM": {d: [] for d in delays}, "RNN": {d: [] for d in delays}}
    models: dict[int, _Recaller] = {}
    jobs = [(k, d, s) for d in delays for k in ("LSTM", "RNN") for s in seeds]
    for kind, delay, seed in ctx.track(jobs, desc="training LSTM and RNN"):
        model, a = _train(kind, delay, seed, steps, hidden, dev)
        acc[kind][delay].append(a)
        if kind == "LSTM" and seed == seeds[0]:
            models[delay] = model
    rows = []
    for d in delays:
        la, ra = np.array(acc["LSTM"][d]), np.array(acc["RNN"][d])
        rows.append([d, la.mean(), la.min(), la.max(), ra.mean(), ra.min(), ra.max()])
    ev.table(
        "success-vs-delay",
        ["delay T", "LSTM mean", "LSTM min", "LSTM max", "RNN mean", "RNN min", "RNN max"],
        rows,
        title=f"Test accuracy recalling the first token (chance {1 / (VOCAB - 1):.3f}; {len(seeds)} seeds, {steps} steps)",
    )
    ev.metrics["accuracy"] = {k: {str(d): v for d, v in per.items()} for k, per in acc.items()}

    fig = Figure(figsize=(6.5, 4))
    ax = fig.add_subplot(1, 1, 1)
    for kind, color in (("LSTM", "tab:blue"), ("RNN", "tab:orange")):
        m = [np.mean(acc[kind][d]) for d in delays]
        lo = [np.min(acc[kind][d]) for d in delays]
        hi = [np.max(acc[kind][d]) for d in delays]
        ax.plot(delays, m, "o-", color=color, label=kind)
        ax.fill_between(delays, lo, hi, color=color, alpha=0.2)
    ax.axhline(1 / (VOCAB - 1), color="grey", ls="--", lw=1, label="chance")
    ax.set_xlabel("delay T (distractor tokens)")
    ax.set_ylabel("test accuracy")
    ax.set_ylim(0, 1.05)
    ax.set_title("Recall the first token after T steps")
    ax.legend()
    ax.grid(alpha=0.3)
    ev.figure("success-vs-delay", fig, "Mean test accuracy over seeds; the band spans min to max.")

    # ------------------------------------------------------------------ gate analysis
    solved = [d for d in delays if np.mean(acc["LSTM"][d]) >= SOLVED]
    delay = max(solved) if solved else max(delays, key=lambda d: np.mean(acc["LSTM"][d]))
    model = models[delay]
    ev.metrics["analysed_delay"] = delay
    xt, yt = _data(512, delay, ctx.seed + 20_000, dev)
    with torch.no_grad():
        out, (h_n, c_n), g = model.rnn(model.inputs(xt), return_gates=True)
        pred = model.head(out[-1]).argmax(-1)
    i, f, gg, o, c = (t[0].cpu().numpy() for t in g)  # (T, B, H)
    labels = yt.cpu().numpy()
    correct = (pred == yt).cpu().numpy()
    T = i.shape[0]

    # Identities between the gates and the states (page claims on the update rules).
    c_prev = np.concatenate([np.zeros_like(c[:1]), c[:-1]])
    upd_err = float(np.abs(c - (f * c_prev + i * gg)).max())
    out_np = out.cpu().numpy()
    h_err = float(np.abs(out_np - o * np.tanh(c)).max())
    hand_err = float(
        max((h_n[0] - out[-1]).abs().max().item(), np.abs(c_n[0].cpu().numpy() - c[-1]).max())
    )
    # float32 rounding grows with the magnitude of c (memory units reach |c| of tens), so the
    # identity tolerance is relative to the largest |c|.
    scale = max(1.0, float(np.abs(c).max()))
    tol = IDENTITY_TOL * scale
    ev.metrics.update(update_identity_err=upd_err, output_identity_err=h_err, final_state_err=hand_err, max_abs_c=scale)

    # Memory units: the cell units whose final value depends most on the first token.
    eta = _eta2(c[-1], labels)
    k = max(2, hidden // 4)
    mem = np.argsort(-eta)[:k]
    rest = np.setdiff1d(np.arange(hidden), mem)
    half = len(labels) // 2
    cents = np.stack([c[-1, :half][labels[:half] == v][:, mem].mean(0) for v in range(1, VOCAB)])
    dists = ((c[-1, half:, None, :][..., mem] - cents[None]) ** 2).sum(-1)
    decode_acc = float((dists.argmin(1) + 1 == labels[half:]).mean())
    f_mem = float(f[1:, :, mem].mean())
    f_rest = float(f[1:, :, rest].mean())
    i_mem_first = float(i[0, :, mem].mean())
    i_mem_delay = float(i[1:, :, mem].mean())
    ev.metrics.update(
        memory_units=[int(u) for u in mem],
        memory_eta2=[float(eta[u]) for u in mem],
        decode_accuracy_from_c=decode_acc,
        forget_mean_memory_units=f_mem,
        forget_mean_other_units=f_rest,
        input_gate_memory_first_step=i_mem_first,
        input_gate_memory_during_delay=i_mem_delay,
    )
    # Intervention: close the forget gate (f = 0) of the memory units halfway through the delay.
    mid = T // 2
    # Top half of the units by η² against the bottom half, and all units at once.
    order = np.argsort(-eta)
    top_half, bottom_half = order[: hidden // 2], order[hidden // 2 :]

    def acc_with_f_zero(units: np.ndarray, stop: int) -> float:
        h_x = _intervene(model, xt, torch.as_tensor(units, device=dev), mid, stop)
        return (model.head(h_x).argmax(-1) == yt).float().mean().item()

    # f = 0 from mid-delay to the end: with a single step, h_{t-1} still holds a copy of the token
    # that the input gate can write back, so one closed step alone does not erase the memory.
    with torch.no_grad():
        acc_cut = acc_with_f_zero(top_half, T)
        acc_ctrl = acc_with_f_zero(bottom_half, T)
        acc_all = acc_with_f_zero(np.arange(hidden), T)
        acc_all_one = acc_with_f_zero(np.arange(hidden), mid + 1)
    base_acc = float(correct.mean())
    ev.metrics.update(
        acc_base=base_acc,
        acc_forget_zeroed_top_half=acc_cut,
        acc_forget_zeroed_bottom_half=acc_ctrl,
        acc_forget_zeroed_all=acc_all,
        acc_forget_zeroed_all_one_step=acc_all_one,
    )
    ev.table(
        "gates",
        ["quantity", "value"],
        [
            ["analysed delay T", delay],
            ["accuracy (this seed, analysis batch)", base_acc],
            [f"memory units (top {k} by η² of c_T vs first token)", ", ".join(str(int(u)) for u in mem)],
            ["first token decoded from c_T of memory units (nearest centroid)", decode_acc],
            ["mean forget gate during the delay, memory units", f_mem],
            ["mean forget gate during the delay, other units", f_rest],
            ["mean input gate of memory units at step 0 (the token)", i_mem_first],
            ["mean input gate of memory units during the delay", i_mem_delay],
            [f"accuracy with f = 0 on all units at step {mid} only", acc_all_one],
            [f"accuracy with f = 0 on all units from step {mid} on", acc_all],
            [f"accuracy with f = 0 from step {mid} on, the {hidden // 2} units with highest η²", acc_cut],
            [f"accuracy with f = 0 from step {mid} on, the {hidden // 2} units with lowest η²", acc_ctrl],
            ["max |c_t − (f⊙c_{t−1} + i⊙g)|", upd_err],
            ["max |h_t − o⊙tanh(c_t)|", h_err],
        ],
        title="Gate activations of the trained LSTM",
    )

    # Figure: gates of memory units over time on one correctly solved example, and c trajectories.
    ex = int(np.flatnonzero(correct)[0]) if correct.any() else 0
    fig2 = Figure(figsize=(11, 6.5))
    axes = fig2.subplots(2, 2)
    ts = np.arange(T)
    for ax, arr, name in ((axes[0, 0], f, "forget gate f"), (axes[0, 1], i, "input gate i"), (axes[1, 0], o, "output gate o")):
        for u in mem:
            ax.plot(ts, arr[:, ex, u], color="tab:blue", alpha=0.8, lw=1.2)
        for u in rest[: len(mem)]:
            ax.plot(ts, arr[:, ex, u], color="tab:grey", alpha=0.4, lw=0.8)
        ax.set_title(f"{name} (blue: memory units, grey: others)")
        ax.set_xlabel("time step")
        ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
    ax = axes[1, 1]
    cmap = ax.figure.colormaps["tab10"] if hasattr(ax.figure, "colormaps") else None
    u0 = int(mem[0])
    for v in range(1, VOCAB):
        sel = np.flatnonzero(labels == v)[:6]
        for j, b in enumerate(sel):
            color = cmap(v) if cmap is not None else None
            ax.plot(ts, c[:, b, u0], color=color, alpha=0.7, lw=1, label=f"first token {v}" if j == 0 else None)
    ax.set_title(f"cell state of memory unit {u0}, coloured by the first token")
    ax.set_xlabel("time step")
    ax.legend(fontsize=7, ncol=2)
    ax.grid(alpha=0.3)
    fig2.suptitle(f"Trained LSTM, delay T = {delay}: gate activations of one solved example")
    fig2.tight_layout()
    ev.figure("gates-over-time", fig2, "Gate activations over time (memory units in blue) and the cell state carrying the first token.")

    # ------------------------------------------------------------------ verdicts
    lstm_ok = bool(solved)
    ev.add(
        judge(
            "q05.cell-state-is-memory",
            supported=lstm_ok and decode_acc >= SOLVED,
            partly=lstm_ok or decode_acc >= 0.5,
            rule=f"supported if the LSTM solves delayed recall (mean accuracy ≥ {SOLVED}) at some delay and the first "
            f"token can be read back from the final cell state of a few units (nearest-centroid accuracy ≥ {SOLVED}); "
            "partly if only one of the two holds (or decoding ≥ 0.5)",
            reason=f"LSTM mean accuracy at T={delay}: {np.mean(acc['LSTM'][delay]):.3f} "
            f"(RNN {np.mean(acc['RNN'][delay]):.3f}); decoding from c_T of {k} units: {decode_acc:.3f}",
        )
    )
    sig_ok = all(a.min() >= 0 and a.max() <= 1 for a in (i, f, o))
    g_neg = float(gg.min()) < -0.1 and float(gg.max()) > 0.1
    ev.add(
        judge(
            "q05.three-gates",
            supported=sig_ok and g_neg,
            rule="supported if exactly three of the four blocks computed from [h_{t−1}, x_t] are sigmoid-valued "
            "multiplicative gates (all values in [0, 1]) and the fourth (g) takes both signs, i.e. is content, "
            "not a gate",
            reason=f"i, f, o within [0, 1]: {sig_ok}; g range [{gg.min():.2f}, {gg.max():.2f}]",
        )
    )
    chance = 1 / (VOCAB - 1)
    keeps = f_mem >= 0.9
    drops = acc_all <= chance + 0.15 and acc_cut < acc_ctrl
    ev.add(
        judge(
            "q05.forget-gate-keeps-or-drops",
            supported=keeps and drops,
            partly=keeps or drops,
            rule="supported if (keep) the units that carry the first token hold f ≥ 0.9 through the delay and (drop) "
            "forcing f to 0 on all units from mid-delay on brings accuracy to within 0.15 of chance, with f = 0 on the "
            "half of the units that carry the token hurting more than on the other half; partly if only one holds",
            reason=f"f during the delay: memory units {f_mem:.3f}, others {f_rest:.3f}; accuracy {base_acc:.3f} -> "
            f"{acc_all:.3f} with f = 0 on all units from step {mid} on (chance {chance:.3f}; {acc_all_one:.3f} "
            f"if closed at step {mid} only), {acc_cut:.3f} on the top half by η², {acc_ctrl:.3f} on the bottom half",
        )
    )
    ev.add(
        judge(
            "q05.input-gate-sigmoid-times-tanh",
            supported=upd_err <= tol and i_mem_first > i_mem_delay,
            partly=upd_err <= tol,
            rule=f"supported if the written amount is exactly i⊙g (c_t − f⊙c_{{t−1}} = i⊙g within {IDENTITY_TOL:g} × max(1, max|c|)) "
            "and the memory units' input gate is more open on the token to remember than during the delay; "
            "partly if only the identity holds",
            reason=f"max identity error {upd_err:.1e}; memory units' i at step 0 {i_mem_first:.3f} vs during "
            f"the delay {i_mem_delay:.3f}",
        )
    )
    ev.add(
        judge(
            "q05.cell-state-update",
            supported=upd_err <= tol,
            rule=f"supported if c_t = f⊙c_{{t−1}} + i⊙g holds within {IDENTITY_TOL:g} × max(1, max|c|) (float32 "
            "rounding scales with |c|) at every step of the trained LSTM",
            reason=f"max |c_t − (f⊙c_{{t−1}} + i⊙g)| = {upd_err:.1e} over {T} steps × 512 sequences",
        )
    )
    ev.add(
        judge(
            "q05.output-gate",
            supported=h_err <= tol and hand_err <= tol,
            rule=f"supported if h_t = o⊙tanh(c_t) within {IDENTITY_TOL:g} × max(1, max|c|) at every step and the returned (h_n, c_n) "
            "are the last step's h and c (what the next step receives)",
            reason=f"max |h_t − o⊙tanh(c_t)| = {h_err:.1e}; final-state mismatch {hand_err:.1e}; max|c| = {scale:.1f}",
        )
    )
    ev.notes = (
        "The LSTM's forget-gate bias starts at 5 (Gers et al. 2000 recommend a positive bias; without it the "
        "short training budget does not find the long delays). The first token is marked by an extra input flag. "
        "Memory units are the cell units whose final value varies most with the first token (η²)."
    )
    return ev

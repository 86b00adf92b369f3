"""Q10: the RNN dropout family, checked against its definitions and on a character-level LM."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from dlfaq.experiments._core import Evidence, RunContext, experiment, judge

SIGMAS = 5  # rate bounds: |measured - p| <= 5 binomial standard deviations


def _rate_ok(fraction: float, p: float, n: int) -> bool:
    return abs(fraction - p) <= SIGMAS * math.sqrt(p * (1 - p) / n)


def _logit(p: Any) -> Any:
    import torch

    return torch.log(p) - torch.log1p(-p)


# --------------------------------------------------------------------------- definitional checks


def _check_definitions(ctx: RunContext, ev: Evidence) -> None:
    import torch

    from dlfaq.nn import LSTM, DropConnectLinear, LockedDropout

    dev = ctx.torch_device()
    torch.manual_seed(ctx.seed)
    p = 0.3
    rows: list[list[Any]] = []

    # Dropout: zeroes units, scales the rest, identity in eval.
    drop = torch.nn.Dropout(p)
    x = torch.ones(64, 256, device=dev)
    y = drop(x)
    zero_frac = (y == 0).float().mean().item()
    scaled = bool(torch.allclose(y[y != 0], torch.full_like(y[y != 0], 1 / (1 - p))))
    drop.eval()
    eval_id = bool(torch.equal(drop(x), x))
    rows.append(["dropout", "fraction of activations zeroed", zero_frac, p])
    ev.add(
        judge(
            "q10.dropout-removes-units",
            supported=_rate_ok(zero_frac, p, x.numel()) and scaled and eval_id,
            rule=f"supported if training-mode dropout zeroes a fraction of units within {SIGMAS} binomial standard "
            "deviations of p, scales the survivors by 1/(1-p), and is the identity in eval mode",
            reason=f"zeroed {zero_frac:.4f} (p = {p}, n = {x.numel()}); survivors scaled: {scaled}; eval identity: {eval_id}",
        )
    )

    # DropConnect: weights are dropped, output units are not.
    lin = DropConnectLinear(64, 64, bias=False, p=p).to(dev)
    w_eff = lin(torch.eye(64, device=dev)).T
    w_zero = (w_eff == 0).float().mean().item()
    out = lin(torch.ones(256, 64, device=dev))
    unit_zero = (out == 0).all(0).float().mean().item()
    rows.append(["DropConnect", "fraction of weights zeroed", w_zero, p])
    rows.append(["DropConnect", "fraction of output units entirely zero", unit_zero, p**64])
    ev.add(
        judge(
            "q10.dropconnect-drops-weights",
            supported=_rate_ok(w_zero, p, w_eff.numel()) and unit_zero == 0.0,
            rule=f"supported if DropConnectLinear zeroes a fraction of weights within {SIGMAS} binomial standard "
            "deviations of p while no output unit is zeroed as a whole (which dropout would do at rate p)",
            reason=f"weights zeroed {w_zero:.4f} (p = {p}); output units entirely zero {unit_zero:.4f}",
        )
    )

    # Variational dropout: one mask per sequence, reused at every step (inputs/outputs and the recurrent state).
    T, B, H = 20, 64, 32
    ld = LockedDropout(p)
    yl = ld(torch.ones(T, B, H, device=dev))
    shared_io = bool(torch.equal(yl != 0, (yl[0] != 0).expand_as(yl)))
    io_rate = (yl[0] == 0).float().mean().item()
    per_seq_distinct = float(
        np.mean([not torch.equal(yl[0, b] != 0, yl[0, b + 1] != 0) for b in range(B - 1)])
    )
    m = LSTM(1, H, variational_dropout=(0.0, p, 0.0)).to(dev)
    with torch.no_grad():
        m.weight_ih_l0.zero_()
        m.bias_ih_l0.zero_()
        m.bias_hh_l0.zero_()
        m.weight_hh_l0.copy_(torch.eye(H, device=dev).repeat(4, 1))
    h0 = torch.rand(1, B, H, device=dev) * 0.5 + 0.25
    c0 = torch.rand(1, B, H, device=dev)
    with torch.no_grad():
        o, _, g = m(torch.zeros(T, B, 1, device=dev), (h0, c0), return_gates=True)
    h_prev = torch.cat([h0, o[:-1]])
    # The mask applied to h_{t-1}, read back from the input gate. A dropped unit's h decays
    # towards 0 and may reach exactly 0, where nothing can be read back (0/0): compare only
    # the steps where h_{t-1} is not (numerically) zero; step 0 always is (h0 >= 0.25).
    readable = h_prev.abs() > 1e-6
    implied = _logit(g.i[0]) / torch.where(readable, h_prev, torch.ones_like(h_prev))
    dropped = implied.abs() < 1e-3
    shared_rec = bool(((dropped == dropped[:1]) | ~readable).all())
    rec_rate = dropped[0].float().mean().item()
    rows.append(["variational", "input/output mask identical at every step", float(shared_io), 1.0])
    rows.append(["variational", "recurrent-state mask identical at every step", float(shared_rec), 1.0])
    rows.append(["variational", "fraction dropped (input/output mask)", io_rate, p])
    rows.append(["variational", "fraction dropped (recurrent mask)", rec_rate, p])
    rows.append(["variational", "neighbouring sequences with different masks", per_seq_distinct, 1.0])
    ev.add(
        judge(
            "q10.variational-same-mask",
            supported=shared_io and shared_rec and _rate_ok(io_rate, p, B * H) and _rate_ok(rec_rate, p, B * H),
            rule=f"supported if the locked input/output mask and the recurrent-state mask are identical at every time "
            f"step and drop fractions within {SIGMAS} binomial standard deviations of p",
            reason=f"same mask over {T} steps: input/output {shared_io}, recurrent {shared_rec}; rates {io_rate:.3f}, "
            f"{rec_rate:.3f} (p = {p}); {100 * per_seq_distinct:.0f}% of neighbouring sequences have different masks "
            "(one mask per sequence, not one for the whole batch)",
        )
    )

    # Recurrent dropout (Semeniuta et al.): what does it drop?
    m = LSTM(3, H, recurrent_dropout=p).to(dev)
    x = torch.randn(T, B, 3, device=dev)
    c0 = torch.randn(1, B, H, device=dev)
    with torch.no_grad():
        _, _, g = m(x, (torch.zeros(1, B, H, device=dev), c0), return_gates=True)
    c_prev = torch.cat([c0[0:1], g.c[0, :-1]])
    update = g.c[0] - g.f[0] * c_prev
    upd_dropped = (update.abs() < 1e-7).float().mean().item()
    gate_zero = max((g.i == 0).float().mean().item(), (g.f == 0).float().mean().item(), (g.o == 0).float().mean().item())
    mem_zero = (g.c == 0).float().mean().item()
    mem_kept = bool(
        torch.allclose(g.c[0][update.abs() < 1e-7], (g.f[0] * c_prev)[update.abs() < 1e-7], atol=1e-6)
    )
    rows.append(["recurrent (Semeniuta)", "fraction of updates i⊙g dropped", upd_dropped, p])
    rows.append(["recurrent (Semeniuta)", "fraction of gate values (i, f, o) zeroed", gate_zero, 0.0])
    rows.append(["recurrent (Semeniuta)", "fraction of cell-state values zeroed", mem_zero, 0.0])
    update_only = _rate_ok(upd_dropped, p, update.numel()) and mem_zero == 0.0 and mem_kept
    ev.add(
        judge(
            "q10.recurrent-dropout-gates-and-update",
            supported=update_only and gate_zero > 0.0,
            partly=update_only and gate_zero == 0.0,
            rule="applied to recurrent dropout as defined by Semeniuta et al. (2016): supported if dropout hits both "
            "the gate values and the cell update, as the page's sentence says; partly if it hits only the candidate "
            "update i⊙g (rate within 5 binomial sd of p) while the gates and the memory c_{t−1} are never zeroed",
            reason=f"updates dropped {upd_dropped:.3f} (p = {p}); gate values zeroed {gate_zero:.4f}; cell-state "
            f"values zeroed {mem_zero:.4f}; where the update is dropped c_t = f⊙c_{{t−1}}: {mem_kept}",
        )
    )

    # Zoneout: units keep their previous value; nothing is zeroed.
    z = 0.3
    m = LSTM(3, H, zoneout=(z, z)).to(dev)
    with torch.no_grad():
        out, _, g = m(x, return_gates=True)
    c_prev = torch.cat([torch.zeros(1, B, H, device=dev), g.c[0, :-1]])
    h_prev = torch.cat([torch.zeros(1, B, H, device=dev), out[:-1]])
    live_c, live_h = c_prev != 0, h_prev != 0
    kept_c = ((g.c[0] == c_prev) & live_c).float().sum().item() / live_c.sum().item()
    kept_h = ((out == h_prev) & live_h).float().sum().item() / live_h.sum().item()
    zeros = ((g.c[0][live_c] == 0).float().mean().item(), (out[live_h] == 0).float().mean().item())
    rows.append(["zoneout", "fraction of c units keeping their previous value", kept_c, z])
    rows.append(["zoneout", "fraction of h units keeping their previous value", kept_h, z])
    rows.append(["zoneout", "fraction of values set to zero", max(zeros), 0.0])
    ev.add(
        judge(
            "q10.zoneout-keeps-previous",
            supported=_rate_ok(kept_c, z, int(live_c.sum())) and _rate_ok(kept_h, z, int(live_h.sum())) and max(zeros) == 0.0,
            rule=f"supported if the fraction of c and h units that keep exactly their previous value is within {SIGMAS} "
            "binomial standard deviations of the zoneout probability and no value is set to zero",
            reason=f"kept previous value: c {kept_c:.3f}, h {kept_h:.3f} (z = {z}); zeroed {max(zeros):.4f}",
        )
    )
    ev.table(
        "definitions",
        ["method", "measured", "value", "expected"],
        rows,
        title="Each method's definition, measured on dlfaq.nn (training mode)",
    )


# --------------------------------------------------------------------------- character LM


def _corpus(device: Any) -> tuple[Any, Any, int]:
    import torch

    from dlfaq.data import lee_text

    text = lee_text().lower()
    counts: dict[str, int] = {}
    for ch in text:
        counts[ch] = counts.get(ch, 0) + 1
    chars = sorted(ch for ch, n in counts.items() if n >= 20)
    index = {ch: i + 1 for i, ch in enumerate(chars)}  # 0 = rare character
    ids = torch.tensor([index.get(ch, 0) for ch in text], dtype=torch.long, device=device)
    cut = int(0.9 * len(ids))
    return ids[:cut], ids[cut:], len(chars) + 1


class _CharLM:
    def __init__(self, vocab: int, hidden: int, variant: dict[str, Any], device: Any) -> None:
        import torch

        from dlfaq.nn import LSTM

        kw = dict(variant)
        self.p_std = kw.pop("standard_dropout", 0.0)
        self.emb = torch.nn.Embedding(vocab, 32).to(device)
        self.rnn = LSTM(32, hidden, **kw).to(device)
        self.head = torch.nn.Linear(hidden, vocab).to(device)
        self.drop = torch.nn.Dropout(self.p_std)
        self.modules = [self.emb, self.rnn, self.head, self.drop]

    def train(self, mode: bool) -> None:
        for m in self.modules:
            m.train(mode)

    def params(self) -> list:
        return [*self.emb.parameters(), *self.rnn.parameters(), *self.head.parameters()]

    def __call__(self, x: Any, state: Any) -> tuple[Any, Any]:
        # Standard (Zaremba et al.) dropout: non-recurrent connections only, a fresh mask per step.
        out, state = self.rnn(self.drop(self.emb(x)), state)
        return self.head(self.drop(out)), state


VARIANTS: dict[str, dict[str, Any]] = {
    "none": {},
    "dropout (non-recurrent)": {"standard_dropout": 0.25},
    "variational": {"variational_dropout": 0.25},
    "weight drop": {"weight_drop": 0.5},
    "recurrent dropout": {"recurrent_dropout": 0.25},
    "zoneout": {"zoneout": (0.25, 0.05)},
}


def _train_lm(variant: dict[str, Any], seed: int, steps: int, hidden: int, data: tuple, device: Any) -> dict[str, Any]:
    import torch

    train_ids, val_ids, vocab = data
    torch.manual_seed(seed)
    model = _CharLM(vocab, hidden, variant, device)
    params = model.params()
    opt = torch.optim.Adam(params, lr=1e-2)
    bptt, batch = 50, 32
    gen = torch.Generator().manual_seed(seed)
    n = len(train_ids) - bptt - 1
    curve = []
    model.train(True)
    for _ in range(steps):
        starts = torch.randint(0, n, (batch,), generator=gen).to(device)
        idx = starts[None, :] + torch.arange(bptt + 1, device=device)[:, None]
        seq = train_ids[idx]
        logits, _ = model(seq[:-1], None)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, vocab), seq[1:].reshape(-1))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 0.5)
        opt.step()
        curve.append(loss.item() / math.log(2))
    model.train(False)
    with torch.no_grad():
        # Validation: the held-out 10% in 50-character windows, state carried across windows.
        v = val_ids[: (len(val_ids) - 1) // 200 * 200 + 1]
        cols = 4
        per = (len(v) - 1) // cols
        xs = v[: per * cols].reshape(cols, per).T
        ys = v[1 : per * cols + 1].reshape(cols, per).T
        state = None
        total, count = 0.0, 0
        for t0 in range(0, per, 200):
            logits, state = model(xs[t0 : t0 + 200], state)
            total += torch.nn.functional.cross_entropy(
                logits.reshape(-1, vocab), ys[t0 : t0 + 200].reshape(-1), reduction="sum"
            ).item()
            count += ys[t0 : t0 + 200].numel()
    tail = max(1, steps // 10)
    return {"val_bpc": total / count / math.log(2), "train_bpc": float(np.mean(curve[-tail:])), "curve": curve}


@experiment(
    10,
    "char-lm-regularizers",
    title={
        "en": "The RNN dropout family: definitions measured, and a character-level language model",
        "zh": "RNN 的各种 dropout:逐一检验定义,并在字符级语言模型上比较",
    },
    description={
        "en": "Measures what each method drops (units, weights, per-sequence masks, the candidate update, or nothing "
        "with zoneout) on dlfaq.nn, then trains one-layer LSTM character models on the Lee news corpus "
        "shipped with gensim with no regularization, standard dropout, variational dropout, weight drop, "
        "recurrent dropout and zoneout, and compares validation bits per character.",
        "zh": "在 dlfaq.nn 上测量每种方法到底丢弃了什么(单元、权重、每条序列一个掩码、候选更新,或 zoneout 什么也不丢),"
        "再在 gensim 自带的 Lee 新闻语料上训练单层 LSTM 字符级语言模型,比较不加正则、标准 dropout、变分 dropout、"
        "weight drop、循环 dropout 和 zoneout 的验证集每字符比特数。",
    },
)
def char_lm_regularizers(ctx: RunContext) -> Evidence:
    return _char_lm_regularizers(ctx)


def _char_lm_regularizers(ctx: RunContext) -> Evidence:
    from matplotlib.figure import Figure

    dev = ctx.torch_device()
    ev = Evidence()
    _check_definitions(ctx, ev)

    data = _corpus(dev)
    steps = ctx.pick(quick=300, full=1500, smoke=4)
    hidden = ctx.pick(quick=128, full=256, smoke=16)
    seeds = ctx.seeds(quick=1, full=3, smoke=1)
    results: dict[str, list[dict[str, Any]]] = {k: [] for k in VARIANTS}
    jobs = [(name, s) for s in seeds for name in VARIANTS]
    for name, seed in ctx.track(jobs, desc="character LMs"):
        results[name].append(_train_lm(VARIANTS[name], seed, steps, hidden, data, dev))
    rows = []
    for name, runs in results.items():
        val = np.array([r["val_bpc"] for r in runs])
        tr = np.array([r["train_bpc"] for r in runs])
        rows.append([name, str(VARIANTS[name] or "-"), val.mean(), val.std(), val.min(), val.max(), tr.mean(), (val - tr).mean()])
    ev.table(
        "char-lm",
        ["variant", "options", "val bpc mean", "val bpc std", "val bpc min", "val bpc max", "train bpc (last 10%)", "gap val − train"],
        rows,
        title=f"One-layer LSTM (hidden {hidden}) character LM on lee_background.cor: {steps} steps of batch 32 × 50 "
        f"characters, {len(seeds)} seed(s)",
    )
    ev.metrics["val_bpc"] = {k: [r["val_bpc"] for r in v] for k, v in results.items()}
    ev.metrics["train_bpc"] = {k: [r["train_bpc"] for r in v] for k, v in results.items()}

    fig = Figure(figsize=(11, 4))
    ax1, ax2 = fig.subplots(1, 2)
    for name, runs in results.items():
        curve = np.mean([r["curve"] for r in runs], axis=0)
        w = max(1, len(curve) // 20)
        smooth = np.convolve(curve, np.ones(w) / w, mode="valid")
        ax1.plot(np.arange(len(smooth)) + w, smooth, label=name)
    ax1.set_xlabel("training step")
    ax1.set_ylabel("training bits per character")
    ax1.set_title("Training loss (moving average)")
    ax1.legend(fontsize=8)
    ax1.grid(alpha=0.3)
    names = list(results)
    means = [np.mean([r["val_bpc"] for r in results[k]]) for k in names]
    lo = [means[i] - min(r["val_bpc"] for r in results[k]) for i, k in enumerate(names)]
    hi = [max(r["val_bpc"] for r in results[k]) - means[i] for i, k in enumerate(names)]
    ax2.bar(range(len(names)), means, yerr=[lo, hi], color="tab:blue", alpha=0.75, capsize=4)
    ax2.set_xticks(range(len(names)))
    ax2.set_xticklabels(names, rotation=25, ha="right", fontsize=8)
    ax2.set_ylim(min(means) - 0.3, max(means) + 0.2)
    ax2.set_ylabel("validation bits per character")
    ax2.set_title("Validation bpc (bars: mean; whiskers: min–max over seeds)")
    ax2.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    ev.figure("char-lm", fig, "Character-level LSTM language models with each regularizer.")
    ev.notes = (
        "The verdicts come from the definitional checks (first table). The language-model comparison is evidence "
        "about cost and effect, not a verdict: in the quick profile (one seed, a few hundred steps) the models are "
        "still underfitting, so regularizers can only slow training down; the full profile trains longer with "
        "three seeds. Recurrent dropout is implemented as in Semeniuta et al. (2016) — dropout on the candidate "
        "update only — which is why the page's wording (gates and update) is judged only partly right."
    )
    return ev

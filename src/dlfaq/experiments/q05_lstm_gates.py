"""Q5: what an LSTM's gates do -- the equations checked against torch.nn.LSTM, the memory measured.

Two kinds of evidence:

* Exact checks (float64, random weights): the page's equations for the cell
  update, the input gate (sigmoid x tanh), the output gate and the count of
  gates are compared with what ``torch.nn.LSTM`` computes, step by step.
* Measurements on delayed recall (``dlfaq.data.delayed_recall``): the first of
  T + 1 tokens must be named after T random distractors. The positive control
  is Hochreiter & Schmidhuber's (1997) result, the LSTM recalling across a delay
  where a vanilla RNN fails; on the trained LSTMs the cell's carry path and the
  forget gate are then manipulated from mid-delay on, to see whether the memory
  lives in the cell state and whether f near 1 keeps it while f near 0 drops it.

Units: one for the checks, one per (model, delay, learning rate, seed). The
learning rate of each model is chosen per seed on a validation batch (fresh
sequences, never the test batch); the test batch is read for the chosen one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from dlfaq.experiments import stats
from dlfaq.experiments._core import Evidence, RunContext, Study, Unit, check, experiment, measured

VOCAB = 8  # tokens 1..7 (0 unused): chance = 1/7
CHANCE = 1 / (VOCAB - 1)
HIDDEN = 32
BATCH = 32
LRS = (1e-2, 3e-3)  # Adam learning rates tried for both models; chosen on validation
# A large positive forget-gate bias, the idea behind Gers et al.'s (2000) positive bias and Tallec &
# Ollivier's (2018) chrono initialization (b_f ~ log of the time scale to remember): with the
# PyTorch default (b_f ~ U(+-1/sqrt(H))) or b_f = 1, 600 steps did not find the 40-step delay.
FORGET_BIAS = 5.0
N_VAL, N_TEST = 512, 1000
# Smallest effect that matters, in points of recall accuracy: half the distance from chance (1/7)
# to perfect recall. Below that, one model or condition does not "recall where the other cannot".
MARGIN_POINTS = round(100 * (1 - CHANCE) / 2, 1)
TOL = 1e-10  # float64 agreement of two computations of the same LSTM step
MEMORY_UNITS = 8  # cell units reported as "memory units" (highest eta^2 of c_T vs the first token)


# --------------------------------------------------------------------------- exact checks


def hand_lstm(x: Any, h0: Any, c0: Any, w_ih: Any, w_hh: Any, b_ih: Any, b_hh: Any,
              tanh_block: int = 2) -> tuple[Any, Any, list[Any]]:
    """The LSTM step written out: the ``tanh_block``-th of the four row blocks is the candidate
    (tanh), the other three, in order, are the input, forget and output gates (sigmoid).

    Returns the outputs h_t, the cell states c_t (each (T, B, H)) and the gates [i, f, g, o].
    PyTorch's layout is tanh_block = 2 (rows ordered i, f, g, o).
    """
    import torch

    blocks = [b for b in range(4) if b != tanh_block]
    h, c = h0, c0
    hs, cs, gs = [], [], []
    for t in range(x.shape[0]):
        a = (x[t] @ w_ih.T + b_ih + h @ w_hh.T + b_hh).chunk(4, -1)
        i, f, o = (a[b].sigmoid() for b in blocks)
        g = a[tanh_block].tanh()
        c = f * c + i * g
        h = o * torch.tanh(c)
        hs.append(h)
        cs.append(c)
        gs.append((i, f, g, o))
    gates = [torch.stack([s[k] for s in gs]) for k in range(4)]
    return torch.stack(hs), torch.stack(cs), gates


def measure_equations(device: Any) -> dict[str, Any]:
    """Compare the written-out equations with torch.nn.LSTM (and dlfaq.nn.LSTM's gates), float64."""
    import torch

    from dlfaq.nn import LSTM

    T, B, D, H = 12, 4, 5, 8
    ref = torch.nn.LSTM(D, H).double().to(device)
    ours = LSTM(D, H).double().to(device)
    ours.load_state_dict(ref.state_dict())
    x = torch.randn(T, B, D, dtype=torch.float64, device=device)
    h0 = torch.randn(1, B, H, dtype=torch.float64, device=device)
    c0 = torch.randn(1, B, H, dtype=torch.float64, device=device)
    w = [ref.weight_ih_l0, ref.weight_hh_l0, ref.bias_ih_l0, ref.bias_hh_l0]
    with torch.no_grad():
        out, (h_n, c_n) = ref(x, (h0, c0))
        _, _, g = ours(x, (h0, c0), return_gates=True)
        hh, cc, (i, f, gg, o) = hand_lstm(x, h0[0], c0[0], *w)
        # which block is the tanh candidate: only one assignment can reproduce torch
        assign_err = [float((hand_lstm(x, h0[0], c0[0], *w, tanh_block=b)[0] - out).abs().max()) for b in range(4)]
        c_prev = torch.cat([c0, cc[:-1]])
        increment = g.c[0] - g.f[0] * torch.cat([c0, g.c[0, :-1]])
        # the state handed on: the second half continued from (h, c) of the first half
        half = T // 2
        o1, (h1, c1) = ref(x[:half], (h0, c0))
        o2, _ = ref(x[half:], (h1, c1))
        o2_h_only, _ = ref(x[half:], (h1, torch.zeros_like(c1)))
    return {
        "cell_update_err": max(float((cc - (f * c_prev + i * gg)).abs().max()), float((cc[-1] - c_n[0]).abs().max()),
                               float((g.c[0] - cc).abs().max())),
        "output_err": max(float((out - o * torch.tanh(cc)).abs().max()), float((out[-1] - h_n[0]).abs().max())),
        "continuation_err": float((torch.cat([o1, o2]) - out).abs().max()),
        "without_c_diff": float((o2_h_only - o2).abs().max()),
        "increment_err": float((increment - i * gg).abs().max()),
        "increment_vs_i_only": float((increment - i).abs().max()),
        "increment_vs_g_only": float((increment - gg).abs().max()),
        "assignment_err": assign_err,
        "rows": int(ref.weight_ih_l0.shape[0]), "hidden": H,
        "sigmoid_range": [float(min(t.min() for t in (i, f, o))), float(max(t.max() for t in (i, f, o)))],
        "g_range": [float(gg.min()), float(gg.max())],
    }


# --------------------------------------------------------------------------- delayed recall


def recall_data(n: int, delay: int, seed: int, device: Any) -> tuple[Any, Any]:
    """Tokens (T+1, n) and targets (n,) of the delayed-recall task."""
    import torch

    from dlfaq.data import delayed_recall

    x, y = delayed_recall(n, delay, vocab=VOCAB, seed=seed)
    return torch.as_tensor(x, device=device).T.contiguous(), torch.as_tensor(y, device=device)


def build_model(kind: str, device: Any) -> Any:
    """Embedding + a flag marking the first step -> LSTM or tanh RNN -> linear read-out of the last state."""
    import torch

    from dlfaq.nn import LSTM

    class Recaller(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.emb = torch.nn.Embedding(VOCAB, 8)
            self.rnn = LSTM(9, HIDDEN) if kind == "LSTM" else torch.nn.RNN(9, HIDDEN)
            self.head = torch.nn.Linear(HIDDEN, VOCAB)
            if kind == "LSTM":
                with torch.no_grad():
                    self.rnn.bias_ih_l0[HIDDEN : 2 * HIDDEN].fill_(FORGET_BIAS)
                    self.rnn.bias_hh_l0[HIDDEN : 2 * HIDDEN].zero_()

        def inputs(self, tokens: Any) -> Any:
            flag = torch.zeros(*tokens.shape, 1, device=tokens.device)
            flag[0] = 1.0  # marks the token to remember
            return torch.cat([self.emb(tokens), flag], -1)

        def forward(self, tokens: Any) -> Any:
            return self.head(self.rnn(self.inputs(tokens))[0][-1])

    return Recaller().to(device)


def accuracy(model: Any, x: Any, y: Any) -> float:
    import torch

    with torch.no_grad():
        return float((model(x).argmax(-1) == y).float().mean())


def train(kind: str, delay: int, lr: float, seed: int, steps: int, device: Any) -> Any:
    """Adam on fresh batches (the task is generated, so there is nothing to overfit), gradient-norm clip 1."""
    import torch

    model = build_model(kind, device)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    x, y = recall_data(BATCH * steps, delay, seed, device)
    for s in range(steps):
        xb, yb = x[:, s * BATCH : (s + 1) * BATCH], y[s * BATCH : (s + 1) * BATCH]
        loss = torch.nn.functional.cross_entropy(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
    return model


def intervene(model: Any, tokens: Any, mode: str, start: int) -> Any:
    """Logits of the trained LSTM when, from step ``start`` on, the forget gate of every unit is
    forced to 0 (``f=0``: the cell no longer carries c_{t-1}) or to 1 (``f=1``: it keeps all of it),
    or h_{t-1} is replaced by 0 where it enters the gates (``h=0``)."""
    import torch

    from dlfaq.nn import LSTMCell

    lstm = model.rnn
    cell = LSTMCell(lstm.input_size, lstm.hidden_size).to(tokens.device)
    cell.load_state_dict({k.replace("_l0", ""): v for k, v in lstm.state_dict().items()})
    x = model.inputs(tokens)
    h = x.new_zeros(x.shape[1], lstm.hidden_size)
    c = torch.zeros_like(h)
    for t in range(x.shape[0]):
        on = t >= start
        _, g = cell(x[t], (torch.zeros_like(h) if on and mode == "h=0" else h, c), return_gates=True)
        f = torch.zeros_like(g.f) if on and mode == "f=0" else torch.ones_like(g.f) if on and mode == "f=1" else g.f
        c = f * c + g.i * g.g
        h = g.o * torch.tanh(c)
    return model.head(h)


def eta2(values: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Share of each unit's variance explained by the label (between-class / total)."""
    classes = np.unique(labels)
    means = np.stack([values[labels == k].mean(0) for k in classes])
    counts = np.array([(labels == k).sum() for k in classes])
    between = (counts[:, None] * (means - values.mean(0)) ** 2).sum(0) / len(labels)
    return between / (values.var(0) + 1e-12)


def probe_lstm(model: Any, delay: int, seed: int, device: Any) -> dict[str, Any]:
    """Gate statistics and interventions on a trained LSTM.

    Memory units are chosen on the validation batch (highest eta^2 of c_T against the first
    token); every number is then measured on the test batch.
    """
    import torch

    xv, yv = recall_data(N_VAL, delay, seed + 20_000, device)
    xt, yt = recall_data(N_TEST, delay, seed + 10_000, device)
    with torch.no_grad():
        _, _, gv = model.rnn(model.inputs(xv), return_gates=True)
        mem = np.argsort(-eta2(gv.c[0, -1].cpu().numpy(), yv.cpu().numpy()))[:MEMORY_UNITS]
        rest = np.setdiff1d(np.arange(HIDDEN), mem)
        _, _, g = model.rnn(model.inputs(xt), return_gates=True)
        f = g.f[0, 1:].cpu().numpy()  # during the delay (after the token)
        i = g.i[0].cpu().numpy()
        mid = (delay + 1) // 2
        acc = {m: float((intervene(model, xt, m, mid).argmax(-1) == yt).float().mean())
               for m in ("none", "f=0", "f=1", "h=0")}
    return {
        "acc_intact": acc["none"], "acc_f0": acc["f=0"], "acc_f1": acc["f=1"], "acc_h0": acc["h=0"],
        "intervention_start": mid,
        "forget_memory_units": float(f[:, :, mem].mean()), "forget_other_units": float(f[:, :, rest].mean()),
        "input_memory_units_token": float(i[0][:, mem].mean()),
        "input_memory_units_delay": float(i[1:][:, :, mem].mean()),
    }


# --------------------------------------------------------------------------- judging


def choose(results: Mapping[str, Mapping[str, Any]], kind: str, delay: int, seeds: Sequence[int]) -> list[dict]:
    """Per seed, the result of the learning rate with the best validation accuracy (ties: LRS order)."""
    out = []
    for s in seeds:
        cands = [results[unit_key(kind, delay, lr, s)] for lr in LRS]
        best = max(range(len(LRS)), key=lambda j: (cands[j]["val_acc"], -j))
        out.append({**cands[best], "lr": LRS[best]})
    return out


def unit_key(kind: str, delay: int, lr: float, seed: int) -> str:
    return f"{kind}/T={delay}/lr={lr:g}/seed={seed}"


def judge_equations(ev: Evidence, r: Mapping[str, Any]) -> None:
    lo, hi = r["sigmoid_range"]
    ev.add(check(
        "q05.cell-state-update", r["cell_update_err"] <= TOL,
        rule={"en": f"Holds if c_t = f_t⊙c_{{t−1}} + i_t⊙g_t, written out by hand from torch.nn.LSTM's weights, "
                    f"agrees with torch's c_n (and with dlfaq.nn.LSTM's returned c_t) within {TOL:g} at every step "
                    "(float64, random weights and states).",
              "zh": f"用 torch.nn.LSTM 的权重手写出 c_t = f_t⊙c_{{t−1}} + i_t⊙g_t,若它在每个时间步都与 torch 的 c_n"
                    f"(以及 dlfaq.nn.LSTM 返回的 c_t)相差不超过 {TOL:g}(float64,随机权重和初始状态),则成立。"},
        reason={"en": f"Largest difference {r['cell_update_err']:.1e}.",
                "zh": f"最大差异 {r['cell_update_err']:.1e}。"},
        evidence=["equations"]))
    ev.add(check(
        "q05.output-gate", r["output_err"] <= TOL and r["continuation_err"] <= TOL and r["without_c_diff"] > 1e-3,
        rule={"en": f"Holds if torch's output equals o_t⊙tanh(c_t) within {TOL:g} at every step, continuing a "
                    "sequence from the returned (h, c) gives the same outputs as running it whole, and dropping c "
                    "from that state changes them (both states are what the next step receives).",
              "zh": f"若 torch 的输出在每一步都等于 o_t⊙tanh(c_t)(差异不超过 {TOL:g}),用返回的 (h, c) 接着处理"
                    "后半段序列与一次处理整条序列结果相同,且去掉其中的 c 会改变结果(下一步接收的正是这两个状态),则成立。"},
        reason={"en": f"Output vs o⊙tanh(c): {r['output_err']:.1e}; continued vs whole: {r['continuation_err']:.1e}; "
                      f"continued with c set to zero differs by {r['without_c_diff']:.2f}.",
                "zh": f"输出与 o⊙tanh(c) 相差 {r['output_err']:.1e};接续与整段相差 {r['continuation_err']:.1e};"
                      f"把 c 置零后接续,结果相差 {r['without_c_diff']:.2f}。"},
        evidence=["equations"]))
    ev.add(check(
        "q05.input-gate-sigmoid-times-tanh",
        r["increment_err"] <= TOL and min(r["increment_vs_i_only"], r["increment_vs_g_only"]) > 1e-3,
        rule={"en": f"Holds if what is written into the cell, c_t − f_t⊙c_{{t−1}}, equals σ(input-gate "
                    f"pre-activation) × tanh(candidate pre-activation) within {TOL:g}, and neither factor alone "
                    "matches it.",
              "zh": f"若写入细胞的量 c_t − f_t⊙c_{{t−1}} 等于 σ(输入门预激活) × tanh(候选值预激活)(差异不超过 "
                    f"{TOL:g}),且单独任一因子都不等于它,则成立。"},
        reason={"en": f"Increment vs i⊙g: {r['increment_err']:.1e}; vs i alone {r['increment_vs_i_only']:.2f}, "
                      f"vs g alone {r['increment_vs_g_only']:.2f}.",
                "zh": f"写入量与 i⊙g 相差 {r['increment_err']:.1e};与单独的 i 相差 {r['increment_vs_i_only']:.2f},"
                      f"与单独的 g 相差 {r['increment_vs_g_only']:.2f}。"},
        evidence=["equations"]))
    matches = [b for b, e in enumerate(r["assignment_err"]) if e <= TOL]
    ev.add(check(
        "q05.three-gates",
        r["rows"] == 4 * r["hidden"] and matches == [2] and 0 < lo and hi < 1 and r["g_range"][0] < 0 < r["g_range"][1],
        rule={"en": "Holds if torch.nn.LSTM computes four blocks from [x_t, h_{t−1}] and, of the four readings that "
                    "make one block a tanh candidate and the other three multiplying sigmoid gates (input, forget, "
                    f"output), exactly one reproduces it within {TOL:g}, with gate values in (0, 1) and a candidate "
                    "that takes both signs (the content, not a gate).",
              "zh": "若 torch.nn.LSTM 从 [x_t, h_{t−1}] 计算四个分块,并且在\"其中一块是 tanh 候选值、其余三块是起乘法作用的 "
                    "sigmoid 门(输入门、遗忘门、输出门)\"的四种解读中,恰好只有一种能复现它的结果(差异不超过 "
                    f"{TOL:g}),门值在 (0, 1) 内,候选值可正可负(是内容,而不是门),则成立。"},
        reason={"en": f"{r['rows']} rows = 4 × {r['hidden']}; tanh on block 0, 1, 2, 3 gives errors "
                      + ", ".join(f"{e:.1e}" for e in r["assignment_err"])
                      + f"; gate values in [{lo:.3f}, {hi:.3f}], candidate in [{r['g_range'][0]:.2f}, {r['g_range'][1]:.2f}].",
                "zh": f"{r['rows']} 行 = 4 × {r['hidden']};把 tanh 放在第 0、1、2、3 块时误差分别为 "
                      + "、".join(f"{e:.1e}" for e in r["assignment_err"])
                      + f";门值范围 [{lo:.3f}, {hi:.3f}],候选值范围 [{r['g_range'][0]:.2f}, {r['g_range'][1]:.2f}]。"},
        evidence=["equations"]))


@experiment(
    5,
    "gates-delayed-recall",
    title={
        "en": "The LSTM's equations checked against torch, and its memory measured on delayed recall",
        "zh": "对照 torch 检验 LSTM 的公式,并在延迟回忆任务上测量它的记忆",
    },
    description={
        "en": "The page's gate equations are compared exactly with torch.nn.LSTM. Then LSTMs and vanilla RNNs "
        "learn to name the first token after T distractors (positive control: the LSTM recalls where the RNN "
        "cannot), and on each trained LSTM the forget gate is forced to 0 or 1 from mid-delay on.",
        "zh": "先把页面上的门公式与 torch.nn.LSTM 逐一精确比较;再让 LSTM 和普通 RNN 学习在 T 个干扰符号之后说出第一个"
        "符号(阳性对照:LSTM 能回忆而 RNN 不能),并在每个训练好的 LSTM 上从延迟中点起把遗忘门强制设为 0 或 1。",
    },
)
class GatesDelayedRecall(Study):
    @staticmethod
    def delays(ctx: RunContext) -> list[int]:
        return ctx.pick(quick=[40], full=[10, 40, 60], smoke=[6])

    @staticmethod
    def long_delay(ctx: RunContext) -> int:
        return ctx.pick(quick=40, full=40, smoke=6)

    def units(self, ctx: RunContext) -> list[Unit]:
        steps = ctx.pick(quick=600, full=800, smoke=20)
        out = [Unit("equations", {"seed": ctx.seed, "what": "equations"})]
        for d in self.delays(ctx):
            for kind in ("LSTM", "RNN"):
                for lr in LRS:
                    for s in ctx.seeds():
                        probe = kind == "LSTM" and d == self.long_delay(ctx)
                        out.append(Unit(unit_key(kind, d, lr, s), {"seed": s, "what": "train", "kind": kind,
                                                                   "delay": d, "lr": lr, "steps": steps,
                                                                   "probe": probe}))
        return out

    def run_unit(self, ctx: RunContext, unit: Unit) -> dict[str, Any]:
        dev = ctx.torch_device()
        p = unit.params
        if p["what"] == "equations":
            return measure_equations(dev)
        model = train(p["kind"], p["delay"], p["lr"], p["seed"], p["steps"], dev)
        res: dict[str, Any] = {
            "val_acc": accuracy(model, *recall_data(N_VAL, p["delay"], p["seed"] + 20_000, dev)),
            "test_acc": accuracy(model, *recall_data(N_TEST, p["delay"], p["seed"] + 10_000, dev)),
        }
        if p["probe"]:
            res.update(probe_lstm(model, p["delay"], p["seed"], dev))
        return res

    def merge(self, ctx: RunContext, results: Mapping[str, Mapping[str, Any]]) -> Evidence:
        ev = Evidence()
        eq = results["equations"]
        ev.metrics["equations"] = dict(eq)
        ev.table("equations", ["quantity", "value"], [
            ["max |c_t − (f⊙c_{t−1} + i⊙g)| (hand vs torch.nn.LSTM)", eq["cell_update_err"]],
            ["max |h_t − o⊙tanh(c_t)|", eq["output_err"]],
            ["max |continued from (h, c) − whole sequence|", eq["continuation_err"]],
            ["max change when c is dropped from the handed-on state", eq["without_c_diff"]],
            ["max |(c_t − f⊙c_{t−1}) − i⊙g|", eq["increment_err"]],
            ["error with tanh on block 0 / 1 / 2 / 3", " / ".join(f"{e:.1e}" for e in eq["assignment_err"])],
        ], title="The page's equations against torch.nn.LSTM (float64, random weights, 12 steps)")
        judge_equations(ev, eq)
        self.judge_recall(ctx, ev, results)
        return ev

    def judge_recall(self, ctx: RunContext, ev: Evidence, results: Mapping[str, Mapping[str, Any]]) -> None:
        seeds = ctx.seeds()
        long = self.long_delay(ctx)
        chosen = {(k, d): choose(results, k, d, seeds) for d in self.delays(ctx) for k in ("LSTM", "RNN")}
        rows = []
        for (k, d), runs in sorted(chosen.items(), key=lambda kv: (kv[0][1], kv[0][0])):
            a = np.array([r["test_acc"] for r in runs])
            rows.append([d, k, float(a.mean()), float(a.min()), float(a.max()),
                         ", ".join(f"{r['lr']:g}" for r in runs)])
            ev.metrics.setdefault("test_acc", {}).setdefault(k, {})[str(d)] = [r["test_acc"] for r in runs]
        ev.table("success-vs-delay", ["delay T", "model", "test acc. mean", "min", "max", "chosen lr per seed"], rows,
                 title=f"Recalling the first token after T distractors ({len(seeds)} seeds; chance {CHANCE:.3f})")
        lstm, rnn = chosen[("LSTM", long)], chosen[("RNN", long)]
        control = stats.Control(
            {"en": f"the LSTM recalls the first token across {long} distractors where a vanilla RNN fails "
                   "(Hochreiter & Schmidhuber 1997)",
             "zh": f"在 {long} 个干扰符号之后,LSTM 能回忆第一个符号而普通 RNN 不能(Hochreiter & Schmidhuber 1997)"},
            stats.paired([r["test_acc"] for r in lstm], [r["test_acc"] for r in rnn], "points", scale=100),
            MARGIN_POINTS, source="Hochreiter & Schmidhuber 1997")
        ev.metrics["control_effect"] = control.effect.mean
        ev.metrics["long_delay"] = long
        ev.metrics["long_delay_mean"] = {k: float(np.mean([r["test_acc"] for r in chosen[(k, long)]]))
                                         for k in ("LSTM", "RNN")}
        keys = ("acc_intact", "acc_f0", "acc_f1", "acc_h0", "forget_memory_units", "forget_other_units",
                "input_memory_units_token", "input_memory_units_delay")
        probe = {k: [r[k] for r in lstm] for k in keys}
        ev.metrics["probe"] = {k: float(np.mean(v)) for k, v in probe.items()}
        ev.metrics["probe_runs"] = probe
        start = lstm[0]["intervention_start"]
        ev.table("interventions", [f"condition (LSTM, from step {start} on)", "test acc. mean", "min", "max"], [
            [name, float(np.mean(probe[k])), float(np.min(probe[k])), float(np.max(probe[k]))]
            for name, k in (("unchanged", "acc_intact"), ("forget gate forced to 0 (cell carries nothing)", "acc_f0"),
                            ("forget gate forced to 1 (cell keeps everything)", "acc_f1"),
                            ("h_{t−1} replaced by 0 in the gates (c still carried)", "acc_h0"))
        ] + [
            [f"mean forget gate during the delay, {MEMORY_UNITS} memory units", *self._mmm(probe["forget_memory_units"])],
            ["mean forget gate during the delay, other units", *self._mmm(probe["forget_other_units"])],
            ["mean input gate of memory units on the token", *self._mmm(probe["input_memory_units_token"])],
            ["mean input gate of memory units during the delay", *self._mmm(probe["input_memory_units_delay"])],
        ], title=f"Trained LSTMs at T = {long}, one per seed, on the test batch (chance {CHANCE:.3f})")
        why = {"en": f"The margin, {MARGIN_POINTS:.1f} points, is half the distance from chance (1/7) to perfect "
                     "recall.",
               "zh": f"阈值 {MARGIN_POINTS:.1f} 个百分点是从随机水平(1/7)到完全回忆之间距离的一半。"}
        ev.add(measured(
            "q05.cell-state-is-memory",
            stats.paired(probe["acc_intact"], probe["acc_f0"], "points", scale=100), MARGIN_POINTS, control=control,
            rule={"en": "Effect: test recall accuracy of each trained LSTM unchanged minus the same LSTM with its cell "
                        "unable to carry anything forward (forget gate forced to 0 on every unit from mid-delay on), "
                        "in points; positive = the remembered token travels in the cell state. " + why["en"],
                  "zh": "效应:每个训练好的 LSTM 原样的测试回忆准确率,减去同一个 LSTM 从延迟中点起细胞无法向后传递任何"
                        "东西(所有单元的遗忘门强制为 0)时的准确率,单位为百分点;为正表示被记住的符号是沿细胞状态传递的。"
                        + why["zh"]},
            reason={"en": "Compared on the same test sequences, seed by seed.",
                    "zh": "在相同的测试序列上逐个种子比较。"},
            evidence=["interventions", "success-vs-delay", "recall-and-interventions"]))
        ev.add(measured(
            "q05.forget-gate-keeps-or-drops",
            stats.paired(probe["acc_f1"], probe["acc_f0"], "points", scale=100), MARGIN_POINTS, control=control,
            rule={"en": "Effect: test recall accuracy of each trained LSTM with its forget gate forced to 1 (keep) "
                        "minus forced to 0 (drop) on every unit from mid-delay on, in points; positive = f near 1 keeps "
                        "the memory and f near 0 discards it. (That the gate is a sigmoid of [h_{t−1}, x_t] is part of "
                        "the exact check of the cell update.) " + why["en"],
                  "zh": "效应:每个训练好的 LSTM 从延迟中点起把所有单元的遗忘门强制为 1(保留)时的测试回忆准确率,减去强制"
                        "为 0(丢弃)时的准确率,单位为百分点;为正表示 f 接近 1 保留记忆、接近 0 丢弃记忆。(遗忘门是 "
                        "[h_{t−1}, x_t] 的 sigmoid 这一点,已包含在细胞更新的精确检验中。)" + why["zh"]},
            reason={"en": "Compared on the same test sequences, seed by seed.",
                    "zh": "在相同的测试序列上逐个种子比较。"},
            evidence=["interventions", "recall-and-interventions"]))
        self.figure(ctx, ev, chosen)
        ev.notes = (f"The LSTM's forget-gate bias starts at {FORGET_BIAS:g}; both models choose their Adam learning "
                    f"rate from {list(LRS)} per seed on a validation batch. The first token is marked by an extra "
                    "input flag. Interventions start at the middle of the delay.")

    @staticmethod
    def _mmm(v: Sequence[float]) -> list[float]:
        return [float(np.mean(v)), float(np.min(v)), float(np.max(v))]

    def figure(self, ctx: RunContext, ev: Evidence, chosen: Mapping[tuple[str, int], list[dict]]) -> None:
        from matplotlib.figure import Figure

        delays = self.delays(ctx)
        fig = Figure(figsize=(10, 3.8))
        ax1, ax2 = fig.subplots(1, 2)
        for kind, color in (("LSTM", "tab:blue"), ("RNN", "tab:orange")):
            for j, d in enumerate(delays):
                a = [r["test_acc"] for r in chosen[(kind, d)]]
                ax1.scatter([d + (-0.6 if kind == "LSTM" else 0.6)] * len(a), a, color=color, s=14, alpha=0.7,
                            label=kind if j == 0 else None)
            ax1.plot(delays, [np.mean([r["test_acc"] for r in chosen[(kind, d)]]) for d in delays], "-", color=color)
        ax1.axhline(CHANCE, color="grey", ls="--", lw=1, label="chance")
        ax1.set(xlabel="delay T (distractor tokens)", ylabel="test accuracy", ylim=(0, 1.05),
                title="Recall the first token after T steps")
        ax1.legend(fontsize=8)
        ax1.grid(alpha=0.3)
        lstm = chosen[("LSTM", self.long_delay(ctx))]
        names = [("unchanged", "acc_intact"), ("f := 0", "acc_f0"), ("f := 1", "acc_f1"), ("h := 0 in gates", "acc_h0")]
        for j, (_, k) in enumerate(names):
            v = [r[k] for r in lstm]
            ax2.scatter([j] * len(v), v, color="tab:blue", s=14, alpha=0.7)
            ax2.plot([j - 0.25, j + 0.25], [np.mean(v)] * 2, color="k")
        ax2.axhline(CHANCE, color="grey", ls="--", lw=1)
        ax2.set_xticks(range(len(names)), [n for n, _ in names])
        ax2.set(ylabel="test accuracy", ylim=(0, 1.05),
                title=f"Trained LSTM, T = {self.long_delay(ctx)}: changed from mid-delay on")
        ax2.grid(alpha=0.3, axis="y")
        fig.tight_layout()
        ev.figure("recall-and-interventions", fig, "Left: test accuracy per seed (dots) and mean (line). Right: the same "
                  "LSTMs with the forget gate forced to 0 or 1, or h_{t−1} hidden from the gates, from mid-delay on.")

"""Q10: what each member of the RNN dropout family drops, checked exactly on dlfaq.nn.

Every claim of the page is a definition (what is zeroed, which mask is shared
over time, what is kept), so every verdict is a ``check``: the regularizer is
run in training mode on inputs built so that its mask can be read back, and
the property is decided from what comes out. Mask rates are random; a rate
"matches p" when it lies within :data:`SIGMAS` binomial standard deviations of
p for the number of draws actually made (a false failure has probability
below 1e-6 for a correct implementation), and the draws are seeded, so the
outcome is the same on every run.

One unit per regularizer; each returns numbers only, and :meth:`merge` turns
them into the table and the checks.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from dlfaq.experiments._core import Evidence, RunContext, Study, Unit, check, experiment

SIGMAS = 5  # rate bounds: |measured - p| <= 5 binomial standard deviations of the actual n
P = 0.3  # the drop / zoneout probability used in every check (a setting)
T, B, H = 20, 64, 32  # steps, sequences, hidden units of the recurrent checks
EXACT = 1e-6  # float32 agreement for quantities computed two ways from the same numbers

METHODS = ("dropout", "dropconnect", "variational", "recurrent", "zoneout")


def rate_ok(fraction: float, p: float, n: int) -> bool:
    """True when ``fraction`` of ``n`` Bernoulli(p) draws lies within SIGMAS standard deviations of p."""
    return abs(fraction - p) <= SIGMAS * math.sqrt(p * (1 - p) / n)


def _logit(p: Any) -> Any:
    import torch

    return torch.log(p) - torch.log1p(-p)


# --------------------------------------------------------------------------- measurements


def measure_dropout(device: Any) -> dict[str, Any]:
    """Training-mode dropout zeroes units at rate p, scales survivors by 1/(1-p); eval is the identity."""
    import torch

    drop = torch.nn.Dropout(P)
    x = torch.ones(64, 256, device=device)
    y = drop(x)
    kept = y[y != 0]
    scaled = bool(torch.allclose(kept, torch.full_like(kept, 1 / (1 - P))))
    drop.eval()
    return {"zero_fraction": (y == 0).float().mean().item(), "n": x.numel(), "survivors_scaled": scaled,
            "eval_identity": bool(torch.equal(drop(x), x))}


def measure_dropconnect(device: Any) -> dict[str, Any]:
    """DropConnectLinear: the effective weight read back through the identity; no output unit dies as a whole."""
    import torch

    from dlfaq.nn import DropConnectLinear

    lin = DropConnectLinear(64, 64, bias=False, p=P).to(device)
    w_eff = lin(torch.eye(64, device=device)).T
    out = lin(torch.ones(256, 64, device=device))
    return {"weight_zero_fraction": (w_eff == 0).float().mean().item(), "n": w_eff.numel(),
            "output_units_all_zero": (out == 0).all(0).float().mean().item()}


def measure_variational(device: Any) -> dict[str, Any]:
    """LockedDropout's mask over time, and the recurrent mask of LSTM(variational_dropout) read back.

    The recurrent mask is read through the input gate: with W_ih = 0, biases 0 and W_hi = I,
    logit(i_t) = m ⊙ h_{t-1}, so a unit whose logit is 0 while h_{t-1} is not was dropped.
    A dropped unit's h decays towards 0 and may reach it exactly, where nothing can be read
    (0/0): only the steps where h_{t-1} is not zero are compared; at step 0 it never is.
    """
    import torch

    from dlfaq.nn import LSTM, LockedDropout

    yl = LockedDropout(P)(torch.ones(T, B, H, device=device))
    shared_io = bool(torch.equal(yl != 0, (yl[0] != 0).expand_as(yl)))
    distinct = sum(not torch.equal(yl[0, b] != 0, yl[0, b + 1] != 0) for b in range(B - 1)) / (B - 1)
    m = LSTM(1, H, variational_dropout=(0.0, P, 0.0)).to(device)
    with torch.no_grad():
        m.weight_ih_l0.zero_()
        m.bias_ih_l0.zero_()
        m.bias_hh_l0.zero_()
        m.weight_hh_l0.copy_(torch.eye(H, device=device).repeat(4, 1))
    h0 = torch.rand(1, B, H, device=device) * 0.5 + 0.25
    c0 = torch.rand(1, B, H, device=device)
    with torch.no_grad():
        o, _, g = m(torch.zeros(T, B, 1, device=device), (h0, c0), return_gates=True)
    h_prev = torch.cat([h0, o[:-1]])
    readable = h_prev.abs() > 1e-6
    implied = _logit(g.i[0]) / torch.where(readable, h_prev, torch.ones_like(h_prev))
    dropped = implied.abs() < 1e-3
    return {"io_mask_same_every_step": shared_io, "io_rate": (yl[0] == 0).float().mean().item(),
            "rec_mask_same_every_step": bool(((dropped == dropped[:1]) | ~readable).all()),
            "rec_rate": dropped[0].float().mean().item(), "n": B * H,
            "neighbouring_sequences_distinct": float(distinct)}


def measure_recurrent(device: Any) -> dict[str, Any]:
    """LSTM(recurrent_dropout=p): which of the gates, the update i⊙g and the memory c_{t-1} are dropped.

    The gates are recomputed from the returned h_{t-1} with the layer's own weights and no
    dropout; if dropout touched the gates (or the h_{t-1} that feeds them) they would differ.
    The update c_t - f⊙c_{t-1} is either exactly 0 (dropped) or i⊙g/(1-p) (kept, rescaled).
    """
    import torch

    from dlfaq.nn import LSTM

    m = LSTM(3, H, recurrent_dropout=P).to(device)
    x = torch.randn(T, B, 3, device=device)
    h0 = torch.randn(1, B, H, device=device) * 0.5
    c0 = torch.randn(1, B, H, device=device)
    with torch.no_grad():
        out, _, g = m(x, (h0, c0), return_gates=True)
        h_prev = torch.cat([h0, out[:-1]])
        a = x @ m.weight_ih_l0.T + m.bias_ih_l0 + h_prev @ m.weight_hh_l0.T + m.bias_hh_l0
        ai, af, ag, ao = a.chunk(4, -1)
    gate_err = max((ai.sigmoid() - g.i[0]).abs().max().item(), (af.sigmoid() - g.f[0]).abs().max().item(),
                   (ag.tanh() - g.g[0]).abs().max().item(), (ao.sigmoid() - g.o[0]).abs().max().item())
    c_prev = torch.cat([c0, g.c[0, :-1]])
    update = g.c[0] - g.f[0] * c_prev
    full = g.i[0] * g.g[0] / (1 - P)
    tol = EXACT * (1 + full.abs())
    dropped = update.abs() <= tol
    kept_scaled = (update - full).abs() <= tol
    return {"update_dropped_fraction": dropped.float().mean().item(), "n": update.numel(),
            "update_dropped_or_rescaled": bool((dropped | kept_scaled).all()),
            "gate_recompute_err": gate_err,
            "gate_values_zeroed": max((t == 0).float().mean().item() for t in (g.i, g.f, g.o)),
            "memory_zeroed": (g.c == 0).float().mean().item()}


def measure_zoneout(device: Any) -> dict[str, Any]:
    """LSTM(zoneout=z): the share of c and h units equal to their previous value, and of zeros."""
    import torch

    from dlfaq.nn import LSTM

    m = LSTM(3, H, zoneout=(P, P)).to(device)
    x = torch.randn(T, B, 3, device=device)
    with torch.no_grad():
        out, _, g = m(x, return_gates=True)
    c_prev = torch.cat([torch.zeros(1, B, H, device=device), g.c[0, :-1]])
    h_prev = torch.cat([torch.zeros(1, B, H, device=device), out[:-1]])
    live_c, live_h = c_prev != 0, h_prev != 0
    return {"kept_c": ((g.c[0] == c_prev) & live_c).float().sum().item() / live_c.sum().item(),
            "kept_h": ((out == h_prev) & live_h).float().sum().item() / live_h.sum().item(),
            "n_c": int(live_c.sum()), "n_h": int(live_h.sum()),
            "zeroed": max((g.c[0][live_c] == 0).float().mean().item(), (out[live_h] == 0).float().mean().item())}


MEASURE = {"dropout": measure_dropout, "dropconnect": measure_dropconnect, "variational": measure_variational,
           "recurrent": measure_recurrent, "zoneout": measure_zoneout}


# --------------------------------------------------------------------------- judging


def _b(v: bool) -> dict[str, str]:
    return {"en": "yes" if v else "no", "zh": "是" if v else "否"}


def judge_dropout(r: Mapping[str, Any]) -> Any:
    holds = rate_ok(r["zero_fraction"], P, r["n"]) and r["survivors_scaled"] and r["eval_identity"]
    return check(
        "q10.dropout-removes-units", holds,
        rule={"en": f"Holds if training-mode dropout zeroes a fraction of the units within {SIGMAS} binomial "
                    "standard deviations of p, scales the survivors by 1/(1 − p), and is the identity in eval mode.",
              "zh": f"若训练模式下 dropout 置零的单元比例与 p 相差不超过 {SIGMAS} 个二项分布标准差、保留的单元乘以 "
                    "1/(1 − p),且评估模式下是恒等映射,则成立。"},
        reason={"en": f"Dropout with p = {P} zeroed {r['zero_fraction']:.4f} of {r['n']} units; survivors scaled: "
                      f"{_b(r['survivors_scaled'])['en']}; identity in eval mode: {_b(r['eval_identity'])['en']}.",
                "zh": f"p = {P} 的 dropout 在 {r['n']} 个单元中置零了 {r['zero_fraction']:.4f};保留单元按比例放大:"
                      f"{_b(r['survivors_scaled'])['zh']};评估模式下为恒等映射:{_b(r['eval_identity'])['zh']}。"},
        evidence=["definitions"])


def judge_dropconnect(r: Mapping[str, Any]) -> Any:
    holds = rate_ok(r["weight_zero_fraction"], P, r["n"]) and r["output_units_all_zero"] == 0.0
    return check(
        "q10.dropconnect-drops-weights", holds,
        rule={"en": f"Holds if DropConnectLinear zeroes a fraction of its weights within {SIGMAS} binomial standard "
                    "deviations of p while no output unit is zeroed as a whole (dropout of the outputs would "
                    "silence whole units at rate p).",
              "zh": f"若 DropConnectLinear 置零的权重比例与 p 相差不超过 {SIGMAS} 个二项分布标准差,且没有任何输出单元"
                    "整体为零(对输出做 dropout 会以概率 p 让整个单元沉默),则成立。"},
        reason={"en": f"{r['weight_zero_fraction']:.4f} of the {r['n']} effective weights were zero (p = {P}); "
                      f"output units that were zero for every input: {r['output_units_all_zero']:.4f}.",
                "zh": f"{r['n']} 个有效权重中有 {r['weight_zero_fraction']:.4f} 为零(p = {P});对所有输入都为零的"
                      f"输出单元比例:{r['output_units_all_zero']:.4f}。"},
        evidence=["definitions"])


def judge_variational(r: Mapping[str, Any]) -> Any:
    holds = (r["io_mask_same_every_step"] and r["rec_mask_same_every_step"]
             and rate_ok(r["io_rate"], P, r["n"]) and rate_ok(r["rec_rate"], P, r["n"]))
    return check(
        "q10.variational-same-mask", holds,
        rule={"en": "Holds if the locked input/output mask and the mask on the recurrent state h_{t−1} are identical "
                    f"at every time step and each drops a fraction within {SIGMAS} binomial standard deviations of p.",
              "zh": "若输入/输出上的锁定掩码和循环状态 h_{t−1} 上的掩码在每个时间步都相同,且各自丢弃的比例与 p 相差"
                    f"不超过 {SIGMAS} 个二项分布标准差,则成立。"},
        reason={"en": f"Over {T} steps the input/output mask stayed the same: {_b(r['io_mask_same_every_step'])['en']}, "
                      f"the recurrent mask too: {_b(r['rec_mask_same_every_step'])['en']}; drop rates "
                      f"{r['io_rate']:.3f} and {r['rec_rate']:.3f} (p = {P}); a share of "
                      f"{r['neighbouring_sequences_distinct']:.2f} of neighbouring sequences had different masks, "
                      "so the mask is drawn per sequence, not once for the batch.",
                "zh": f"在 {T} 个时间步中,输入/输出掩码保持不变:{_b(r['io_mask_same_every_step'])['zh']},循环掩码也"
                      f"保持不变:{_b(r['rec_mask_same_every_step'])['zh']};丢弃比例分别为 {r['io_rate']:.3f} 和 "
                      f"{r['rec_rate']:.3f}(p = {P});相邻序列掩码不同的比例为 "
                      f"{r['neighbouring_sequences_distinct']:.2f},即每条序列各有一个掩码,而不是整个批次共用一个。"},
        evidence=["definitions"])


def judge_recurrent(r: Mapping[str, Any]) -> Any:
    update_dropped = rate_ok(r["update_dropped_fraction"], P, r["n"]) and r["update_dropped_or_rescaled"]
    gates_dropped = r["gate_recompute_err"] > EXACT or r["gate_values_zeroed"] > 0.0
    return check(
        "q10.recurrent-dropout-gates-and-update", update_dropped and gates_dropped,
        rule={"en": "Read as the page words it, the claim holds if recurrent dropout (Semeniuta et al. 2016, "
                    "dlfaq.nn.LSTM(recurrent_dropout=p)) drops both the gate values and the cell update: the update "
                    f"c_t − f⊙c_{{t−1}} is zero at a rate within {SIGMAS} binomial standard deviations of p, and the "
                    f"gates differ (by more than {EXACT:g}) from the gates recomputed without dropout from the same "
                    "h_{t−1}, or are zeroed.",
              "zh": "按页面的字面意思,若循环 dropout(Semeniuta 等 2016,即 dlfaq.nn.LSTM(recurrent_dropout=p))既丢弃"
                    f"门值又丢弃细胞更新,则成立:更新量 c_t − f⊙c_{{t−1}} 为零的比例与 p 相差不超过 {SIGMAS} 个二项分布"
                    f"标准差,并且门值与用同一个 h_{{t−1}} 不加 dropout 重新计算的门值不同(差异超过 {EXACT:g})或被置零。"},
        reason={"en": f"The update i⊙g was dropped at {r['update_dropped_fraction']:.3f} (p = {P}) and otherwise "
                      f"rescaled by 1/(1 − p) ({_b(r['update_dropped_or_rescaled'])['en']}); the gates matched the "
                      f"recomputation to {r['gate_recompute_err']:.1e} and {r['gate_values_zeroed']:.4f} of them were "
                      f"zero; {r['memory_zeroed']:.4f} of the cell-state values were zero. Only the candidate update "
                      "is dropped; the gates and the memory c_{t−1} are not.",
                "zh": f"更新量 i⊙g 被丢弃的比例为 {r['update_dropped_fraction']:.3f}(p = {P}),其余按 1/(1 − p) 放大"
                      f"({_b(r['update_dropped_or_rescaled'])['zh']});门值与重新计算的结果相差 "
                      f"{r['gate_recompute_err']:.1e},为零的门值比例为 {r['gate_values_zeroed']:.4f};细胞状态为零的"
                      f"比例为 {r['memory_zeroed']:.4f}。被丢弃的只有候选更新,门和旧记忆 c_{{t−1}} 都没有被丢弃。"},
        evidence=["definitions"])


def judge_zoneout(r: Mapping[str, Any]) -> Any:
    holds = rate_ok(r["kept_c"], P, r["n_c"]) and rate_ok(r["kept_h"], P, r["n_h"]) and r["zeroed"] == 0.0
    return check(
        "q10.zoneout-keeps-previous", holds,
        rule={"en": f"Holds if the fractions of c and h units that keep exactly their previous value are within "
                    f"{SIGMAS} binomial standard deviations of the zoneout probability and no value is set to zero.",
              "zh": f"若 c 和 h 中恰好保持上一步取值的单元比例与 zoneout 概率相差不超过 {SIGMAS} 个二项分布标准差,"
                    "且没有任何值被置零,则成立。"},
        reason={"en": f"With z = {P}, {r['kept_c']:.3f} of the c units and {r['kept_h']:.3f} of the h units kept "
                      f"their previous value; {r['zeroed']:.4f} of the values were set to zero.",
                "zh": f"z = {P} 时,c 中有 {r['kept_c']:.3f}、h 中有 {r['kept_h']:.3f} 的单元保持了上一步的值;"
                      f"被置零的比例为 {r['zeroed']:.4f}。"},
        evidence=["definitions"])


JUDGE = {"dropout": judge_dropout, "dropconnect": judge_dropconnect, "variational": judge_variational,
         "recurrent": judge_recurrent, "zoneout": judge_zoneout}


def table_rows(res: Mapping[str, Mapping[str, Any]]) -> list[list[Any]]:
    d, c, v, r, z = (res[m] for m in METHODS)
    return [
        ["dropout", "fraction of activations zeroed", d["zero_fraction"], P],
        ["DropConnect", "fraction of weights zeroed", c["weight_zero_fraction"], P],
        ["DropConnect", "fraction of output units entirely zero", c["output_units_all_zero"], 0.0],
        ["variational", "input/output mask identical at every step", float(v["io_mask_same_every_step"]), 1.0],
        ["variational", "recurrent-state mask identical at every step", float(v["rec_mask_same_every_step"]), 1.0],
        ["variational", "fraction dropped (input/output mask)", v["io_rate"], P],
        ["variational", "fraction dropped (recurrent mask)", v["rec_rate"], P],
        ["variational", "neighbouring sequences with different masks", v["neighbouring_sequences_distinct"], 1.0],
        ["recurrent (Semeniuta)", "fraction of updates i⊙g dropped", r["update_dropped_fraction"], P],
        ["recurrent (Semeniuta)", "max |gates − gates recomputed without dropout|", r["gate_recompute_err"], 0.0],
        ["recurrent (Semeniuta)", "fraction of gate values (i, f, o) zeroed", r["gate_values_zeroed"], 0.0],
        ["recurrent (Semeniuta)", "fraction of cell-state values zeroed", r["memory_zeroed"], 0.0],
        ["zoneout", "fraction of c units keeping their previous value", z["kept_c"], P],
        ["zoneout", "fraction of h units keeping their previous value", z["kept_h"], P],
        ["zoneout", "fraction of values set to zero", z["zeroed"], 0.0],
    ]


@experiment(
    10,
    "char-lm-regularizers",
    title={
        "en": "The RNN dropout family: what each method drops, checked on dlfaq.nn",
        "zh": "RNN 的各种 dropout:逐一检验每种方法到底丢弃了什么",
    },
    description={
        "en": "Runs dropout, DropConnect, variational dropout, recurrent dropout and zoneout in training mode on "
        "inputs built so that each mask can be read back, and checks each definition exactly: which values are "
        "zeroed, at what rate, whether the mask is shared across time steps, and what is kept.",
        "zh": "在训练模式下运行 dropout、DropConnect、变分 dropout、循环 dropout 和 zoneout,输入经过特别构造,"
        "使每个掩码都能被读出,然后逐一精确检验定义:哪些值被置零、比例多少、掩码是否在时间步之间共享、保留了什么。",
    },
)
class RNNDropoutFamily(Study):
    def units(self, ctx: RunContext) -> list[Unit]:
        return [Unit(m, {"seed": ctx.seed, "method": m}) for m in METHODS]

    def run_unit(self, ctx: RunContext, unit: Unit) -> dict[str, Any]:
        return MEASURE[unit.params["method"]](ctx.torch_device())

    def merge(self, ctx: RunContext, results: Mapping[str, Mapping[str, Any]]) -> Evidence:
        ev = Evidence()
        ev.table("definitions", ["method", "measured", "value", "expected"], table_rows(results),
                 title="Each method's definition, measured on dlfaq.nn in training mode (p = z = 0.3)")
        ev.metrics.update({m: dict(results[m]) for m in METHODS})
        for m in METHODS:
            ev.add(JUDGE[m](results[m]))
        ev.notes = (
            "All verdicts are exact checks of definitions. Recurrent dropout is implemented as Semeniuta et al. "
            "(2016) define it, dropout on the candidate update only, which is why the page's wording (gates and "
            "update) is contradicted. An earlier version also trained character-level language models with each "
            "regularizer; at a laptop budget they stayed underfitted (no regularizer can help there), so that "
            "comparison could not test anything the page claims and was dropped."
        )
        return ev

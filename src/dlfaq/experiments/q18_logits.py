"""Q18: what logits are, what softmax does to them, and the numerics around both.

The page says three things: logits are the output layer's ``XW + b``; softmax
normalizes them; the prediction is ``Y_pred = tf.nn.softmax(logits)``. Each is
an identity or a property of code, so each verdict is an exact ``check``:

* the logits of a classifier are its last linear layer's ``XW + b``, not
  normalized, and equal to log-probabilities up to one constant per example;
* softmax, as frameworks compute it (max-shifted, like ``tf.nn.softmax``),
  turns logits of every scale into probability vectors that keep their order;
* ``softmax(logits)`` is the distribution that cross-entropy training fits,
  and its argmax is the logits' argmax.

Mistakes the page does not make (the unshifted textbook formula, ``log`` of a
softmax, a softmax fed into a loss that expects logits) are measured as
information only. Nothing is trained.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from dlfaq import data
from dlfaq.experiments._core import Evidence, RunContext, check, experiment
from dlfaq.nn.blocks import MLP
from dlfaq.nn.functional import log_softmax, logit, logsumexp, naive_softmax, softmax

SCALES = [1, 3, 10, 30, 50, 88, 89, 100, 300, 700, 710, 1000, 10_000]
K = 10  # classes
TOL64 = 1e-9  # float64 identities on values of size ~10: a few hundred ulps of slack, far below any real error
SUM_TOL = {torch.float32: 1e-5, torch.float64: 1e-12}  # |sum − 1| of a softmax row: ~K ulps of each dtype


# --------------------------------------------------------------------------- 1. logits = XW + b


def output_layer(seed: int) -> dict[str, Any]:
    """A classifier on real inputs (digits): are its outputs the head's XW + b, unnormalized, log-probs + const?"""
    split = data.digits(seed=seed)
    X = torch.as_tensor(split.X_test, dtype=torch.float64)
    torch.manual_seed(seed)
    model = MLP(64, K, hidden=64, depth=2, activation="relu").double().eval()
    seen: dict[str, torch.Tensor] = {}
    hook = model.head.register_forward_hook(lambda mod, inp, out: seen.update(x=inp[0].detach()))
    with torch.no_grad():
        z = model(X)
        xwb = seen["x"] @ model.head.weight.T + model.head.bias
    hook.remove()
    shift = log_softmax(z) - z  # one number per row, -logsumexp(z), if logits are log-probs up to a constant
    return {
        "examples": int(z.shape[0]),
        "xwb_max_abs_diff": float((z - xwb).abs().max()),
        "rows_summing_to_one": int(((z.sum(1) - 1).abs() < 1e-6).sum()),
        "negative_entries": int((z < 0).sum()),
        "log_softmax_minus_logits_spread": float((shift.amax(1) - shift.amin(1)).max()),
        "logsumexp_error_vs_torch": float((logsumexp(z) - torch.logsumexp(z, dim=1)).abs().max()),
    }


def log_odds(seed: int) -> dict[str, float]:
    """Information: the name's origin. Two classes: softmax over [0, z] is sigmoid(z), and logit inverts it."""
    zb = torch.linspace(-15, 15, 301, dtype=torch.float64)
    two = torch.stack([torch.zeros_like(zb), zb], dim=1)
    zpos = torch.linspace(0, 30, 301)
    err32 = (logit(torch.sigmoid(zpos)) - zpos).abs()
    ok32 = zpos[torch.isfinite(err32) & (err32 < 1e-2)]
    return {
        "two_class_softmax_vs_sigmoid_err": float((softmax(two)[:, 1] - torch.sigmoid(zb)).abs().max()),
        "logit_sigmoid_roundtrip_err_f64": float((logit(torch.sigmoid(zb)) - zb).abs().max()),
        "logit_sigmoid_f32_valid_up_to": float(ok32.max()),
    }


# --------------------------------------------------------------------------- 2. softmax normalizes


def numerics(seed: int) -> tuple[dict[str, Any], list[list[Any]]]:
    """Softmax (torch's and dlfaq's max-shifted one) on logits of every scale, float32 and float64; the
    textbook formula and log(softmax) beside them as information."""
    g = torch.Generator().manual_seed(seed)
    base = torch.randn(256, K, generator=g, dtype=torch.float64)
    rows, first_fail = [], {}
    bad_prob_rows = order_broken = shift_broken = 0
    worst_sum = {str(d): 0.0 for d in (torch.float32, torch.float64)}
    for dtype in (torch.float32, torch.float64):
        for s in SCALES:
            z = (base * s).to(dtype)
            row_bad = 0
            for p in (torch.softmax(z, dim=1), softmax(z)):
                ok = torch.isfinite(p).all(1) & (p >= 0).all(1) & ((p.sum(1) - 1).abs() <= SUM_TOL[dtype])
                row_bad += int((~ok).sum())
                order_broken += int((p.argmax(1) != z.argmax(1)).sum())
                worst_sum[str(dtype)] = max(worst_sum[str(dtype)], float((p.double().sum(1) - 1).abs().max()))
            # adding one constant to every logit of a row changes nothing (exactly representable shift)
            shift_broken += int((softmax(z + 2.0) - softmax(z)).abs().max() > SUM_TOL[dtype])
            bad_prob_rows += row_bad
            naive_bad = int((~torch.isfinite(naive_softmax(z))).any(dim=1).sum())
            neg_inf = int(torch.isneginf(torch.log(torch.softmax(z, dim=1))).sum())
            ours_nonfinite = int((~torch.isfinite(log_softmax(z))).sum())
            if naive_bad and str(dtype) not in first_fail:
                first_fail[str(dtype)] = s
            rows.append([str(dtype).replace("torch.", ""), s, row_bad, naive_bad, neg_inf, ours_nonfinite])
    return (
        {
            "softmax_bad_rows": bad_prob_rows,
            "softmax_order_broken": order_broken,
            "softmax_shift_broken": shift_broken,
            "softmax_max_sum_error": worst_sum,
            "naive_first_failing_scale": first_fail,
            "log_of_softmax_neg_inf_total": int(sum(r[4] for r in rows)),
            "log_softmax_nonfinite_total": int(sum(r[5] for r in rows)),
        },
        rows,
    )


# --------------------------------------------------------------------------- 3. Y_pred = softmax(logits)


def predictions(seed: int) -> dict[str, Any]:
    """Is softmax(logits) what cross-entropy training fits, and does it predict the logits' class?"""
    g = torch.Generator().manual_seed(seed + 2)
    z = torch.randn(2000, K, generator=g, dtype=torch.float64) * 4
    y = torch.randint(0, K, (2000,), generator=g)
    p = softmax(z)
    ce_torch = F.cross_entropy(z, y, reduction="none")
    ce_from_p = -torch.log(p[torch.arange(len(y)), y])
    return {
        "examples": int(len(y)),
        "ce_vs_neg_log_softmax_max_diff": float((ce_torch - ce_from_p).abs().max()),
        "argmax_disagreements": int((p.argmax(1) != z.argmax(1)).sum()),
    }


def double_softmax_floor() -> dict[str, Any]:
    """Information: a softmax fed into a loss that applies its own log-softmax. The second softmax sees
    inputs in [0, 1], so the loss can never fall below log(e + K − 1) − 1, however confident the model."""
    margins = np.linspace(-4, 20, 97)
    z = torch.zeros(len(margins), K, dtype=torch.float64)
    z[:, 0] = torch.as_tensor(margins)
    y = torch.zeros(len(margins), dtype=torch.long)
    ce = F.cross_entropy(z, y, reduction="none")
    ce2 = F.cross_entropy(torch.softmax(z, dim=1), y, reduction="none")
    floor = math.log(math.e + K - 1) - 1
    return {"margins": margins.tolist(), "ce": ce.tolist(), "ce_double": ce2.tolist(), "floor": floor,
            "double_min": float(ce2.min()), "ce_min": float(ce.min())}


def figure(num_rows: list[list[Any]], ds: dict[str, Any]) -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    f32 = [r for r in num_rows if r[0] == "float32"]
    axes[0].plot([r[1] for r in f32], [r[2] for r in f32], marker="s", label="softmax (max-shifted): bad rows")
    axes[0].plot([r[1] for r in f32], [r[3] for r in f32], marker="o", label="textbook exp(z)/Σexp(z): inf/nan rows")
    axes[0].plot([r[1] for r in f32], [r[4] / K for r in f32], marker="^", label="log(softmax) = -inf (per row avg)")
    axes[0].set_xscale("log")
    axes[0].set_xlabel("logit scale s (float32)")
    axes[0].set_ylabel("rows out of 256")
    axes[0].set_title("Overflow and underflow")
    axes[0].legend(fontsize=8)
    axes[1].plot(ds["margins"], ds["ce"], label="CE(logits)")
    axes[1].plot(ds["margins"], ds["ce_double"], color="C3", label="CE(softmax(logits))")
    axes[1].axhline(ds["floor"], color="C3", ls=":", lw=1, label="log(e + K − 1) − 1")
    axes[1].set_xlabel("correct-class logit minus the others")
    axes[1].set_ylabel("loss")
    axes[1].set_title("A softmax before a loss that expects logits")
    axes[1].legend(fontsize=8)
    for ax in axes:
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def judge_claims(ev: Evidence, out: dict[str, Any], num: dict[str, Any], pred: dict[str, Any]) -> None:
    holds = (out["xwb_max_abs_diff"] <= TOL64 and out["rows_summing_to_one"] == 0 and out["negative_entries"] > 0
             and out["log_softmax_minus_logits_spread"] <= TOL64)
    ev.add(check(
        "q18.logits-are-raw-scores", holds,
        rule={"en": f"On a classifier (an MLP from dlfaq.nn.blocks, float64) applied to the {out['examples']} digits "
                    f"test images, the claim holds if its outputs equal XW + b of its last linear layer within "
                    f"{TOL64:g}, are not normalized (no row sums to 1, some entries are negative), and "
                    f"log_softmax(z) − z is one constant per row within {TOL64:g}, i.e. the raw scores are the "
                    "log-probabilities up to a per-example constant.",
              "zh": f"对一个分类器(dlfaq.nn.blocks 的 MLP,float64)在 digits 的 {out['examples']} 张测试图像上的输出:如果它在 "
                    f"{TOL64:g} 以内等于最后一个线性层的 XW + b,没有归一化(没有一行和为 1,且有负值),并且 log_softmax(z) − z "
                    f"在每一行内是同一个常数(误差 {TOL64:g} 以内),即这些原始得分就是差一个逐样本常数的对数概率,则命题成立。"},
        reason={"en": f"Outputs vs XW + b: largest difference {out['xwb_max_abs_diff']:.1e}; rows summing to 1: "
                      f"{out['rows_summing_to_one']}; negative entries: {out['negative_entries']}; spread of "
                      f"log_softmax(z) − z within a row: {out['log_softmax_minus_logits_spread']:.1e}.",
                "zh": f"输出与 XW + b 的最大差异 {out['xwb_max_abs_diff']:.1e};和为 1 的行数:{out['rows_summing_to_one']};"
                      f"负值个数:{out['negative_entries']};每行内 log_softmax(z) − z 的极差:{out['log_softmax_minus_logits_spread']:.1e}。"},
        evidence=["output-layer"],
    ))
    holds = num["softmax_bad_rows"] == 0 and num["softmax_order_broken"] == 0 and num["softmax_shift_broken"] == 0
    cases = len(SCALES) * 2 * 256
    ev.add(check(
        "q18.softmax-normalizes-logits", holds,
        rule={"en": f"The claim holds if softmax as frameworks compute it (torch.softmax and dlfaq's max-shifted "
                    f"softmax, the way tf.nn.softmax works) turns every one of {cases} rows of {K} random logits, at "
                    f"{len(SCALES)} scales from 1 to 10⁴ in float32 and float64, into a probability vector (finite, "
                    "non-negative, summing to 1 within about K ulps of the dtype) whose largest entry is the "
                    "largest logit's, and if adding one constant to every logit changes nothing.",
              "zh": f"如果框架实际使用的 softmax(torch.softmax 和 dlfaq 减最大值的 softmax,与 tf.nn.softmax 的做法相同)把 "
                    f"{cases} 行、每行 {K} 个随机 logits(float32 与 float64,{len(SCALES)} 个尺度,从 1 到 10⁴)都变成概率向量"
                    "(有限、非负、和为 1,误差约为该精度下 K 个 ulp),最大的概率对应最大的 logit,并且给所有 logits 加同一个常数"
                    "不改变结果,则命题成立。"},
        reason={"en": f"Rows that failed to be probability vectors: {num['softmax_bad_rows']}; rows whose argmax "
                      f"changed: {num['softmax_order_broken']}; scales where a constant shift changed the result: "
                      f"{num['softmax_shift_broken']}. The textbook exp(z)/Σexp(z) without the shift, which the page "
                      f"does not use, first overflows at scale {num['naive_first_failing_scale'].get('torch.float32')} "
                      f"in float32 and {num['naive_first_failing_scale'].get('torch.float64')} in float64.",
                "zh": f"未能成为概率向量的行数:{num['softmax_bad_rows']};argmax 改变的行数:{num['softmax_order_broken']};"
                      f"加常数后结果改变的尺度数:{num['softmax_shift_broken']}。页面并没有用的、不减最大值的教科书公式 exp(z)/Σexp(z) "
                      f"在 float32 中从尺度 {num['naive_first_failing_scale'].get('torch.float32')}、float64 中从尺度 "
                      f"{num['naive_first_failing_scale'].get('torch.float64')} 开始溢出。"},
        evidence=["numerics", "softmax-numerics"],
    ))
    holds = pred["ce_vs_neg_log_softmax_max_diff"] <= TOL64 and pred["argmax_disagreements"] == 0
    ev.add(check(
        "q18.predictions-via-softmax", holds,
        rule={"en": f"The claim holds if, on {pred['examples']} random rows of logits with labels (float64), "
                    "softmax(logits) is the distribution cross-entropy training fits — torch's cross_entropy on the "
                    f"logits equals −log softmax(logits)[label] within {TOL64:g} — and its argmax, the predicted "
                    "class, is the logits' argmax on every row.",
              "zh": f"如果在 {pred['examples']} 行带标签的随机 logits(float64)上,softmax(logits) 就是交叉熵训练所拟合的分布——torch 对 "
                    f"logits 的 cross_entropy 在 {TOL64:g} 以内等于 −log softmax(logits)[标签]——并且它的 argmax(预测的类别)"
                    "在每一行都等于 logits 的 argmax,则命题成立。"},
        reason={"en": f"Largest |cross_entropy − (−log softmax[label])|: {pred['ce_vs_neg_log_softmax_max_diff']:.1e}; rows "
                      f"where softmax's argmax differs from the logits': {pred['argmax_disagreements']}. So softmax gives "
                      "the probabilities, and the class needs no softmax at all.",
                "zh": f"|cross_entropy − (−log softmax[标签])| 的最大值:{pred['ce_vs_neg_log_softmax_max_diff']:.1e};softmax 的 argmax "
                      f"与 logits 不同的行数:{pred['argmax_disagreements']}。所以 softmax 给出的是概率,而取类别根本不需要 softmax。"},
        evidence=["predictions"],
    ))


@experiment(
    18,
    "logits",
    title={"en": "Logits, softmax and the numerics around them", "zh": "logits、softmax 及其数值问题"},
    description={
        "en": "Logits as XW + b and log-probabilities up to a constant; softmax on logits of every scale; softmax(logits) "
        "as the distribution cross-entropy fits; the textbook formula's overflow, log(softmax) underflow and the "
        "double softmax shown beside them.",
        "zh": "logits 即 XW + b、差一个常数的对数概率;各种尺度下 logits 的 softmax;softmax(logits) 即交叉熵拟合的分布;"
        "并列展示教科书公式的溢出、log(softmax) 的下溢和\"双重 softmax\"。",
    },
)
def logits_experiment(ctx: RunContext) -> Evidence:
    ev = Evidence()
    out = output_layer(ctx.seed)
    odds = log_odds(ctx.seed)
    num, num_rows = numerics(ctx.seed)
    pred = predictions(ctx.seed)
    ds = double_softmax_floor()
    ev.metrics.update(out)
    ev.metrics.update(odds)
    ev.metrics.update(num)
    ev.metrics.update({f"pred_{k}": v for k, v in pred.items()})
    ev.metrics.update(double_softmax_floor=ds["floor"], double_softmax_min=ds["double_min"],
                      ce_on_logits_min=ds["ce_min"])
    ev.table("output-layer", ["quantity", "value"], [[k, v] for k, v in out.items()] + [[k, v] for k, v in odds.items()],
             title="The classifier's outputs against its last layer's XW + b; the two-class log-odds (information)")
    ev.table(
        "numerics",
        ["dtype", "logit scale", "softmax rows not a distribution", "textbook formula rows inf/nan",
         "-inf in log(softmax)", "non-finite in log_softmax"],
        num_rows,
        title="256 random rows of 10 logits scaled by s (columns after the third: information)",
    )
    ev.table("predictions", ["quantity", "value"],
             [[k, v] for k, v in pred.items()]
             + [["lowest CE(softmax(logits)) over the margins", ds["double_min"]],
                ["log(e + K − 1) − 1", ds["floor"]]],
             title="softmax(logits) as the fitted distribution and the predicted class; the double-softmax floor")
    ev.figure("softmax-numerics", figure(num_rows, ds),
              "Left: rows that overflow (textbook formula) or underflow (log of softmax) against the framework "
              "softmax. Right: the loss with logits vs with softmax outputs fed to it, against the correct-class margin.")
    judge_claims(ev, out, num, pred)
    ev.notes = (
        "argmax(softmax(z)) = argmax(z), so class predictions never need the softmax; it is needed only when "
        "probabilities are. Losses such as torch.nn.CrossEntropyLoss and tf.nn.softmax_cross_entropy_with_logits "
        "apply log-softmax internally and must be given logits."
    )
    return ev

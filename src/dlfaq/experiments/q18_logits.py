"""Q18: what logits are, and what goes wrong around softmax."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from dlfaq import data
from dlfaq.experiments._core import Evidence, RunContext, experiment, judge
from dlfaq.nn.blocks import MLP
from dlfaq.nn.functional import log_softmax, logit, logsumexp, naive_softmax, softmax
from dlfaq.train.loop import evaluate, fit

SCALES = [1, 3, 10, 30, 50, 88, 89, 100, 300, 700, 710, 1000, 10_000]


def _numerics(seed: int) -> tuple[dict, list[list]]:
    """Overflow of the naive softmax and underflow of log(softmax) across logit scales."""
    g = torch.Generator().manual_seed(seed)
    base64 = torch.randn(256, 10, generator=g, dtype=torch.float64)
    rows = []
    first_fail = {}
    worst_err = 0.0
    worst_ref = 0.0
    for dtype in (torch.float32, torch.float64):
        for s in SCALES:
            z = (base64 * s).to(dtype)
            naive = naive_softmax(z)
            stable = softmax(z)
            naive_bad = int((~torch.isfinite(naive)).any(dim=1).sum())
            stable_bad = int((~torch.isfinite(stable)).any(dim=1).sum())
            sum_err = float((stable.double().sum(dim=1) - 1).abs().max())
            ref_err = float((stable - torch.softmax(z, dim=1)).abs().max())
            lsm_err = float((log_softmax(z) - torch.log_softmax(z, dim=1)).abs().max() / max(1.0, s))
            log_of_sm = torch.log(torch.softmax(z, dim=1))
            neg_inf = int(torch.isneginf(log_of_sm).sum())
            ours_neg_inf = int((~torch.isfinite(log_softmax(z))).sum())
            if naive_bad and str(dtype) not in first_fail:
                first_fail[str(dtype)] = s
            worst_err = max(worst_err, sum_err)
            worst_ref = max(worst_ref, ref_err, lsm_err)
            rows.append(
                [str(dtype).replace("torch.", ""), s, naive_bad, stable_bad, f"{sum_err:.1e}", neg_inf, ours_neg_inf]
            )
    return (
        {
            "naive_first_failing_scale": first_fail,
            "stable_rows_nonfinite": int(sum(r[3] for r in rows)),
            "stable_max_sum_error": worst_err,
            "stable_max_error_vs_torch": worst_ref,
            "log_of_softmax_neg_inf_total": int(sum(r[5] for r in rows)),
            "log_softmax_nonfinite_total": int(sum(r[6] for r in rows)),
        },
        rows,
    )


def _identities(seed: int) -> dict:
    g = torch.Generator().manual_seed(seed + 1)
    z = torch.randn(1000, 10, generator=g, dtype=torch.float64) * 5
    shift = log_softmax(z) - z  # must be the same number in every column: -logsumexp(z)
    shift_spread = float((shift.amax(dim=1) - shift.amin(dim=1)).max())
    lse_err = float((logsumexp(z) - torch.logsumexp(z, dim=1)).abs().max())
    # |z| <= 15: beyond that 1 - sigmoid(z) < 3e-7 and forming it from p costs digits in
    # any float format (that is a property of computing p first, not of the identity).
    zb = torch.linspace(-15, 15, 301, dtype=torch.float64)
    roundtrip64 = float((logit(torch.sigmoid(zb)) - zb).abs().max())
    zpos = torch.linspace(0, 30, 301)
    err32 = (logit(torch.sigmoid(zpos)) - zpos).abs()
    ok32 = zpos[torch.isfinite(err32) & (err32 < 1e-2)]
    # binary case: softmax over [0, z] is sigmoid(z), so a 2-class logit difference is the log-odds
    two = torch.stack([torch.zeros_like(zb), zb], dim=1)
    two_class = float((softmax(two)[:, 1] - torch.sigmoid(zb)).abs().max())
    return {
        "log_softmax_minus_logits_spread": shift_spread,
        "logsumexp_error_vs_torch": lse_err,
        "logit_sigmoid_roundtrip_err_f64": roundtrip64,
        "logit_sigmoid_f32_valid_up_to": float(ok32.max()),
        "two_class_softmax_vs_sigmoid_err": two_class,
    }


def _double_softmax(ctx: RunContext) -> tuple[dict, list[list], dict]:
    """Train the same MLP with cross-entropy on logits vs on softmax(logits) (the double softmax)."""
    epochs = ctx.pick(quick=25, full=60, smoke=3)
    results = {"logits": [], "double": []}
    grad_ratio = []
    curves = {"logits": [], "double": []}
    for s in ctx.track(ctx.seeds(quick=3, full=5, smoke=1), desc="training"):
        split = data.digits(seed=s)
        Xtr, ytr, Xte, yte = split.tensors(ctx.device)
        grads = {}
        for mode, loss_fn in (
            ("logits", F.cross_entropy),
            ("double", lambda out, y: F.cross_entropy(torch.softmax(out, dim=1), y)),
        ):
            torch.manual_seed(s)
            model = MLP(64, 10, hidden=64, depth=2, activation="relu").to(ctx.device)
            # gradient size at initialization, first layer, full training set
            model.zero_grad()
            loss_fn(model(Xtr), ytr).backward()
            grads[mode] = float(model.layers[0].linear.weight.grad.norm())
            model.zero_grad()
            hist = fit(
                model, (Xtr, ytr), epochs=epochs, lr=0.1, batch_size=128, loss_fn=loss_fn, seed=s,
                device=ctx.device, eval_train=False,
            )  # fmt: skip
            acc = evaluate(model, (Xte, yte))["acc"]
            results[mode].append(acc)
            curves[mode].append([e["train_loss"] for e in hist.epochs])
        grad_ratio.append(grads["logits"] / grads["double"])
    rows = [
        [mode, f"{np.mean(v):.4f}", f"{np.std(v):.4f}", f"{min(v):.4f}", f"{max(v):.4f}"]
        for mode, v in results.items()
    ]
    metrics = {
        "acc_logits_mean": float(np.mean(results["logits"])),
        "acc_double_mean": float(np.mean(results["double"])),
        "acc_logits_per_seed": results["logits"],
        "acc_double_per_seed": results["double"],
        "init_grad_ratio_per_seed": grad_ratio,
        "init_grad_ratio_min": float(min(grad_ratio)),
        "epochs": epochs,
    }
    return metrics, rows, curves


@experiment(
    18,
    "logits",
    title={"en": "Logits, softmax and the numerics around them", "zh": "logits、softmax 及其数值问题"},
    description={
        "en": "Naive softmax overflow vs the max-shifted one, log(softmax) underflow vs log_softmax, "
        "logits as log-odds, and the double-softmax mistake trained on digits.",
        "zh": "朴素 softmax 的溢出与减最大值的稳定实现、log(softmax) 的下溢与 log_softmax、"
        "logits 即对数几率,以及在 digits 上训练时\"双重 softmax\"错误的代价。",
    },
)
def logits_experiment(ctx: RunContext) -> Evidence:
    ev = Evidence()
    num, num_rows = _numerics(ctx.seed)
    ident = _identities(ctx.seed)
    ds, ds_rows, curves = _double_softmax(ctx)
    ev.metrics.update(num)
    ev.metrics.update(ident)
    ev.metrics.update(ds)
    ev.table(
        "numerics",
        ["dtype", "logit scale", "naive rows inf/nan", "stable rows inf/nan", "stable max |sum-1|",
         "-inf in log(softmax)", "non-finite in log_softmax"],
        num_rows,
        title="256 random rows of 10 logits scaled by s",
    )  # fmt: skip
    ev.table("double-softmax", ["loss on", "test acc mean", "std", "min", "max"], ds_rows,
             title="Cross-entropy on logits vs on softmax(logits), same MLP and schedule")  # fmt: skip

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    f32 = [r for r in num_rows if r[0] == "float32"]
    axes[0].plot([r[1] for r in f32], [r[2] for r in f32], marker="o", label="naive exp(z)/Σexp(z)")
    axes[0].plot([r[1] for r in f32], [r[3] for r in f32], marker="s", label="max-shifted softmax")
    axes[0].plot([r[1] for r in f32], [r[5] / 10 for r in f32], marker="^", label="log(softmax) = -inf (per row avg)")
    axes[0].set_xscale("log")
    axes[0].set_xlabel("logit scale s (float32)")
    axes[0].set_ylabel("rows out of 256")
    axes[0].set_title("Overflow and underflow")
    axes[0].legend(fontsize=8)
    for mode, color in (("logits", "C0"), ("double", "C3")):
        for i, c in enumerate(curves[mode]):
            axes[1].plot(range(1, len(c) + 1), c, color=color, alpha=0.7,
                         label=("CE(logits)" if mode == "logits" else "CE(softmax(logits))") if i == 0 else None)  # fmt: skip
    axes[1].set_xlabel("epoch")
    axes[1].set_ylabel("training loss (as optimized)")
    axes[1].set_title("The double-softmax mistake")
    axes[1].legend(fontsize=8)
    for ax in axes:
        ax.grid(alpha=0.3)
    fig.tight_layout()
    ev.figure("softmax-numerics", fig, "Left: rows that overflow (naive softmax) or underflow (log of softmax). "
              "Right: training loss with the loss fed logits vs softmax outputs, every seed.")  # fmt: skip

    tol = 1e-9  # float64 identities: a few ulps of values of size ~10
    ev.add(
        judge(
            "q18.logits-are-raw-scores",
            supported=ident["log_softmax_minus_logits_spread"] < tol
            and ident["logit_sigmoid_roundtrip_err_f64"] < 1e-6
            and ident["two_class_softmax_vs_sigmoid_err"] < tol,
            rule="supported if, in float64, log_softmax(z) − z is the same constant across classes (< 1e-9 spread), "
            "logit(sigmoid(z)) = z within 1e-6 for |z| ≤ 15, and a 2-class softmax equals the sigmoid of the logit "
            "difference: logits are unnormalized log-probabilities (log-odds in the binary case)",
            reason=f"spread {ident['log_softmax_minus_logits_spread']:.1e}; round-trip error "
            f"{ident['logit_sigmoid_roundtrip_err_f64']:.1e} in float64 (float32 round-trips within 0.01 only "
            f"up to z ≈ {ident['logit_sigmoid_f32_valid_up_to']:.0f}, where sigmoid saturates); 2-class vs sigmoid {ident['two_class_softmax_vs_sigmoid_err']:.1e}",
        )
    )
    f32_fail = num["naive_first_failing_scale"].get("torch.float32")
    ev.add(
        judge(
            "q18.softmax-normalizes-logits",
            supported=num["stable_rows_nonfinite"] == 0 and num["stable_max_sum_error"] < 1e-5
            and num["stable_max_error_vs_torch"] < 1e-5 and f32_fail is None,
            partly=num["stable_rows_nonfinite"] == 0 and num["stable_max_sum_error"] < 1e-5,
            rule="supported if softmax turns logits of every tested scale into distributions (finite, summing to 1 "
            "within 1e-5) whichever way it is computed; partly if only the max-shifted form does and the literal "
            "exp(z)/Σexp(z) overflows",
            reason=f"max-shifted softmax: {num['stable_rows_nonfinite']} bad rows, max |sum−1| "
            f"{num['stable_max_sum_error']:.1e}, max error vs torch {num['stable_max_error_vs_torch']:.1e}; the literal "
            f"formula first overflows at scale {f32_fail} in float32 and "
            f"{num['naive_first_failing_scale'].get('torch.float64')} in float64; log(softmax) gave "
            f"{num['log_of_softmax_neg_inf_total']} -inf entries where log_softmax gave {num['log_softmax_nonfinite_total']}",
        )
    )
    gap = ds["acc_logits_mean"] - ds["acc_double_mean"]
    harmful = gap >= 0.01 or ds["init_grad_ratio_min"] >= 2.0
    ev.add(
        judge(
            "q18.predictions-via-softmax",
            supported=not harmful,
            partly=harmful,
            rule="the page's recipe applies softmax to the logits to get Y_pred; supported if doing so before a loss "
            "that expects logits (the double softmax the recipe invites) costs under 1 point of test accuracy and "
            "shrinks the initial gradient less than 2×; partly otherwise (softmax is right for probabilities, but "
            "the loss must receive logits and argmax needs no softmax)",
            reason=f"test accuracy {ds['acc_logits_mean']:.3f} with CE on logits vs {ds['acc_double_mean']:.3f} with "
            f"CE on softmax outputs after {ds['epochs']} epochs ({gap * 100:+.1f} points); first-layer gradient at init "
            f"{ds['init_grad_ratio_min']:.1f}× smaller (min over seeds)",
        )
    )
    ev.notes = (
        "argmax(softmax(z)) = argmax(z), so class predictions never need the softmax; it is needed only when "
        "probabilities are. Losses such as torch.nn.CrossEntropyLoss and tf.nn.softmax_cross_entropy_with_logits "
        "apply log-softmax internally and must be given logits."
    )
    return ev

"""Q13: the LSTM cell diagram, drawn in code and checked against torch.nn.LSTM."""

from __future__ import annotations

from typing import Any

from dlfaq.experiments._core import Evidence, RunContext, check, experiment
from dlfaq.experiments._equations import State, Step, against_torch

EQ_TOL = 1e-5  # float32, as the parity bound
JAC_TOL = 1e-12  # float64: an exact identity up to rounding


def _draw(values: dict[str, float] | None) -> Any:
    from matplotlib.figure import Figure
    from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch

    fig = Figure(figsize=(10, 5.6))
    ax = fig.add_subplot(1, 1, 1)
    ax.set_xlim(0, 10)
    ax.set_ylim(-0.6, 6)
    ax.axis("off")
    ax.add_patch(FancyBboxPatch((1.2, 0.9), 7.6, 4.3, boxstyle="round,pad=0.05", fc="#f5f7fa", ec="#555", lw=1.5))

    def arrow(p: tuple[float, float], q: tuple[float, float], color: str = "#333", lw: float = 1.5) -> None:
        ax.add_patch(FancyArrowPatch(p, q, arrowstyle="-|>", mutation_scale=12, color=color, lw=lw))

    def op(x: float, y: float, text: str, color: str = "#fde2e2") -> None:
        ax.add_patch(Circle((x, y), 0.28, fc=color, ec="#333", lw=1.2, zorder=3))
        ax.text(x, y, text, ha="center", va="center", fontsize=12 if len(text) == 1 else 9, zorder=4)

    def layer(x: float, text: str, label: str, color: str) -> None:
        ax.add_patch(FancyBboxPatch((x - 0.42, 2.0), 0.84, 0.55, boxstyle="round,pad=0.03", fc=color, ec="#333", zorder=3))
        ax.text(x, 2.27, text, ha="center", va="center", fontsize=12, zorder=4)
        ax.text(x, 1.75, label, ha="center", va="center", fontsize=9, color="#222",
                bbox={"fc": "#f5f7fa", "ec": "none", "pad": 0.5}, zorder=4)

    # Cell-state line along the top.
    top = 4.6
    ax.plot([0.3, 9.7], [top, top], color="#1f5fbf", lw=3, zorder=1)
    ax.text(0.3, top + 0.25, "c_{t−1}", fontsize=12, color="#1f5fbf")
    ax.text(9.2, top + 0.25, "c_t", fontsize=12, color="#1f5fbf")
    arrow((9.3, top), (9.75, top), color="#1f5fbf", lw=3)
    # Hidden/input line along the bottom.
    bottom = 1.4
    ax.plot([0.3, 7.6], [bottom, bottom], color="#444", lw=2, zorder=1)
    ax.text(0.3, bottom - 0.4, "h_{t−1}", fontsize=12)
    ax.text(1.85, 0.75, "x_t", fontsize=12)
    arrow((2.2, 0.65), (2.2, bottom - 0.02))
    xs = {"f": 2.6, "i": 3.8, "g": 5.2, "o": 6.6}
    colors = {"f": "#ffe9b3", "i": "#d6f0d0", "g": "#e4dcf7", "o": "#cfe7f7"}
    names = {"f": "f: forget", "i": "i: input", "g": "g: candidate", "o": "o: output"}
    for k, x in xs.items():
        ax.plot([x, x], [bottom, 2.0], color="#444", lw=1.5, zorder=1)
        layer(x, "tanh" if k == "g" else "σ", names[k], colors[k])
    # Forget: multiply on the cell line.
    op(xs["f"], top, "×")
    arrow((xs["f"], 2.55), (xs["f"], top - 0.28))
    # Input gate × candidate, then add to the cell line.
    op(4.5, 3.55, "×")
    arrow((xs["i"], 2.55), (4.3, 3.35))
    arrow((xs["g"], 2.55), (4.7, 3.35))
    op(4.5, top, "+")
    arrow((4.5, 3.83), (4.5, top - 0.28))
    # Output: tanh(c_t) × o -> h_t.
    op(7.6, 3.7, "tanh", "#fff4c2")
    ax.plot([7.6, 7.6], [top, 3.98], color="#1f5fbf", lw=1.5)
    op(7.6, 2.75, "×")
    arrow((7.6, 3.42), (7.6, 3.03))
    arrow((xs["o"], 2.55), (7.32, 2.75))
    ax.plot([7.88, 9.3], [2.75, 2.75], color="#444", lw=2)
    arrow((9.3, 2.75), (9.3, 5.7))
    ax.text(9.4, 5.4, "h_t (output)", fontsize=12)
    ax.plot([7.6, 7.6], [2.47, 1.0], color="#444", lw=2)
    arrow((7.6, 1.0), (9.75, 1.0))
    ax.text(8.8, 0.6, "h_t (next step)", fontsize=11)
    eq = (
        "i = σ(W_i[h_{t−1}, x_t] + b_i)    f = σ(W_f[·] + b_f)    g = tanh(W_g[·] + b_g)    o = σ(W_o[·] + b_o)\n"
        "c_t = f ⊙ c_{t−1} + i ⊙ g        h_t = o ⊙ tanh(c_t)"
    )
    ax.text(5.0, 0.15, eq, ha="center", va="center", fontsize=9, family="monospace")
    if values:
        txt = "one real step, unit 0:  " + "  ".join(f"{k} = {v:+.2f}" for k, v in values.items())
        ax.text(5.0, -0.45, txt, ha="center", va="bottom", fontsize=9.5, color="#7a1f1f")
    ax.set_title("LSTM cell: the cell state runs along the top; four layers read [h_{t−1}, x_t]")
    return fig


def diagram_step(lstm: Any) -> Step:
    """The diagram's equations, one weight matrix per gate acting on the concatenation [h_{t-1}, x_t]
    (Hochreiter & Schmidhuber 1997, with the forget gate of Gers et al. 2000), with ``lstm``'s weights.

    i = σ(W_i[h, x] + b_i), f = σ(W_f[h, x] + b_f), g = tanh(W_g[h, x] + b_g), o = σ(W_o[h, x] + b_o);
    c_t = f ⊙ c_{t-1} + i ⊙ g; h_t = o ⊙ tanh(c_t). torch.nn.LSTM stores the gates in the order i, f, g, o
    and keeps W_x (``weight_ih``) and W_h (``weight_hh``) and two biases apart; W_gate = [W_h | W_x].
    """
    import torch

    w = torch.cat([lstm.weight_hh_l0, lstm.weight_ih_l0], dim=1)
    b = lstm.bias_ih_l0 + lstm.bias_hh_l0
    W = dict(zip("ifgo", w.chunk(4, 0), strict=True))
    bb = dict(zip("ifgo", b.chunk(4, 0), strict=True))

    def step(x_t: Any, state: State) -> State:
        h, c = state
        hx = torch.cat([h, x_t], dim=1)
        i = torch.sigmoid(hx @ W["i"].T + bb["i"])
        f = torch.sigmoid(hx @ W["f"].T + bb["f"])
        g = torch.tanh(hx @ W["g"].T + bb["g"])
        o = torch.sigmoid(hx @ W["o"].T + bb["o"])
        c = f * c + i * g
        return o * torch.tanh(c), c

    return step


@experiment(
    13,
    "lstm-diagram",
    title={
        "en": "The LSTM cell diagram, drawn in code and checked against torch.nn.LSTM",
        "zh": "用代码画出 LSTM 单元原理图,并与 torch.nn.LSTM 对照验证",
    },
    description={
        "en": "Draws the cell with its i, f, g, o paths and the cell-state line, annotated with one real step; "
        "implements the diagram's equations with the concatenated [h, x] and compares them with torch.nn.LSTM; "
        "checks that the cell-state line is purely elementwise (∂c_t/∂c_{t−1} = diag(f_t)).",
        "zh": "画出带 i、f、g、o 通路和细胞状态线的单元图,并标注一个真实时间步的数值;按图中公式(拼接 [h, x])"
        "实现并与 torch.nn.LSTM 对比;验证细胞状态线只有逐元素运算(∂c_t/∂c_{t−1} = diag(f_t))。",
    },
)
def lstm_diagram(ctx: RunContext) -> Evidence:
    import torch

    from dlfaq.nn import LSTMCell

    dev = ctx.torch_device()
    ev = Evidence()
    gen = torch.Generator().manual_seed(ctx.seed)

    # 1. The diagram's equations, with one weight matrix per gate acting on [h, x], versus torch.nn.LSTM.
    configs = ctx.pick(
        quick=[(4, 8, 10, 3), (16, 32, 40, 8), (1, 3, 5, 1), (32, 64, 25, 16)],
        full=[(4, 8, 10, 3), (16, 32, 40, 8), (1, 3, 5, 1), (32, 64, 25, 16), (64, 128, 60, 32)],
        smoke=[(4, 8, 5, 2)],
    )
    rows, worst = against_torch(ctx, torch.nn.LSTM, configs, {"diagram": diagram_step}, state_size=2, gen=gen,
                                desc="diagram equations vs torch.nn.LSTM")
    ev.table(
        "diagram-vs-torch",
        ["input size", "hidden", "steps", "batch", "max |diagram − torch| (h and c)"],
        rows,
        title="The diagram's equations versus torch.nn.LSTM (float32)",
    )
    ev.metrics["diagram_max_abs_diff"] = worst
    ev.add(check(
        "q13.diagram-equations", worst <= EQ_TOL,
        rule={"en": f"The claim holds if the diagram's equations, with one weight matrix per gate acting on the "
                    f"concatenation [h_{{t−1}}, x_t], reproduce torch.nn.LSTM's outputs and final cell state within "
                    f"{EQ_TOL:g} (max abs difference, float32) on each of the {len(configs)} random configurations.",
              "zh": f"如果图中的公式(每个门一个权重矩阵,作用于拼接的 [h_{{t−1}}, x_t])在 {len(configs)} 组随机配置上都在 "
                    f"{EQ_TOL:g} 以内(最大绝对误差,float32)复现 torch.nn.LSTM 的输出和最终细胞状态,则命题成立。"},
        reason={"en": f"The largest difference from torch.nn.LSTM over the {len(configs)} configurations was {worst:.1e}.",
                "zh": f"在 {len(configs)} 组配置上与 torch.nn.LSTM 的最大差异为 {worst:.1e}。"},
        evidence=["diagram-vs-torch"],
    ))

    # 2. The cell-state line is elementwise: dc_t/dc_{t-1} = diag(f_t); dh_t/dh_{t-1} is a full matrix.
    H = ctx.pick(quick=16, full=32, smoke=6)
    torch.manual_seed(ctx.seed)
    cell = LSTMCell(5, H).double().to(dev)
    x = torch.randn(1, 5, generator=gen, dtype=torch.float64).to(dev)
    h_prev = torch.randn(1, H, generator=gen, dtype=torch.float64).to(dev)
    c_prev = torch.randn(1, H, generator=gen, dtype=torch.float64).to(dev)
    (_, _), gates = cell(x, (h_prev, c_prev), return_gates=True)
    jac_c = torch.autograd.functional.jacobian(lambda cc: cell(x, (h_prev, cc))[1], c_prev).reshape(H, H)
    jac_h = torch.autograd.functional.jacobian(lambda hh: cell(x, (hh, c_prev))[0], h_prev).reshape(H, H)
    diag_err = (jac_c - torch.diag(gates.f[0].detach())).abs().max().item()
    off_c = (jac_c - torch.diag(torch.diagonal(jac_c))).abs().sum().item()
    off_h_share = ((jac_h - torch.diag(torch.diagonal(jac_h))).abs().sum() / jac_h.abs().sum()).item()
    ev.metrics.update(jacobian_c_minus_diag_f=diag_err, jacobian_c_offdiag_sum=off_c, jacobian_h_offdiag_share=off_h_share)
    ev.table(
        "jacobians",
        ["quantity", "value"],
        [
            ["max |∂c_t/∂c_{t−1} − diag(f_t)|", diag_err],
            ["sum of off-diagonal |∂c_t/∂c_{t−1}|", off_c],
            ["off-diagonal share of |∂h_t/∂h_{t−1}| (for contrast)", off_h_share],
        ],
        title=f"One step of a random LSTM cell (hidden {H}, float64)",
    )
    ev.add(check(
        "q13.cell-line-elementwise", diag_err <= JAC_TOL and off_c <= JAC_TOL,
        rule={"en": f"The claim holds if, for one step of a random LSTM cell (hidden {H}, float64), the Jacobian of "
                    f"c_t with respect to c_{{t−1}} equals diag(f_t) within {JAC_TOL:g} and its off-diagonal entries "
                    "sum to at most that: no weight matrix acts on the cell-state line.",
              "zh": f"如果对一个随机 LSTM 单元的一步(隐藏维度 {H},float64),c_t 对 c_{{t−1}} 的雅可比矩阵在 {JAC_TOL:g} 以内等于 "
                    "diag(f_t),且非对角元素之和不超过该值,即细胞状态线上没有权重矩阵,则命题成立。"},
        reason={"en": f"max |∂c_t/∂c_{{t−1}} − diag(f_t)| = {diag_err:.1e} and the off-diagonal sum is {off_c:.1e}; for "
                      f"contrast, {100 * off_h_share:.0f} % of |∂h_t/∂h_{{t−1}}| lies off the diagonal.",
                "zh": f"max |∂c_t/∂c_{{t−1}} − diag(f_t)| = {diag_err:.1e},非对角元素之和为 {off_c:.1e};作为对照,"
                      f"|∂h_t/∂h_{{t−1}}| 有 {100 * off_h_share:.0f}% 位于对角线之外。"},
        evidence=["jacobians", "lstm-cell"],
    ))

    # 3. The diagram, annotated with one real step of unit 0.
    vals = {k: getattr(gates, k)[0, 0].item() for k in ("f", "i", "g", "o")}
    vals["c_t"] = gates.c[0, 0].item()
    vals["c_{t−1}"] = c_prev[0, 0].item()
    ev.figure(
        "lstm-cell",
        _draw(vals),
        "The LSTM cell drawn from its equations; the red line gives the gate values of one real step "
        "(unit 0 of a random-weight cell): c_t = f·c_{t−1} + i·g.",
    )
    ev.notes = "The diagram is drawn with matplotlib patches; its equations are the ones verified above."
    return ev

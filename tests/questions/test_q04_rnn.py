"""Q4 experiment: the gradient profile it measures, on one seed."""

from __future__ import annotations

import torch

from dlfaq.experiments import q04_rnn as q04


def test_default_init_decays_geometrically_and_radius_15_does_not(one_thread):
    p = q04.gradient_profile(0, 30, None, torch.device("cpu"))
    assert p["decades"] > 3 and p["far_half_decades"] > 1 and p["r2"] > 0.99 and p["bound_holds"]
    big = q04.gradient_profile(0, 30, 1.5, torch.device("cpu"))
    assert big["decades"] < 1 and big["bound_holds"]


# --------------------------------------------------------------------------- the formula-vs-torch harness


def _ctx():
    from dlfaq.experiments import RunContext

    return RunContext(profile="smoke")


def _without_b_hh(rnn):
    w = (rnn.weight_ih_l0, rnn.weight_hh_l0, rnn.bias_ih_l0, torch.zeros_like(rnn.bias_hh_l0))
    return lambda x_t, s: (q04.rnn_step(x_t, s[0], *w),)


def test_formula_and_cell_reproduce_torch_rnn(one_thread):
    rows, worst = q04.formula_vs_torch(_ctx())
    assert [r[:4] for r in rows] == [[3, 8, 6, 2]]  # the smoke configuration
    assert worst == max(rows[0][4:]) and worst <= q04.FORMULA_TOL


def test_harness_flags_a_wrong_equation_in_its_own_column(one_thread):
    """A step that drops b_hh is caught (its column far above the tolerance) while the right one
    on the same module and inputs passes; the stream drawn from ``gen`` does not depend on how
    many equations are compared."""
    from dlfaq.experiments._equations import against_torch

    right = lambda rnn: lambda x_t, s: (  # noqa: E731
        q04.rnn_step(x_t, s[0], rnn.weight_ih_l0, rnn.weight_hh_l0, rnn.bias_ih_l0, rnn.bias_hh_l0),)
    gens = [torch.Generator().manual_seed(3) for _ in range(2)]
    configs = [(3, 8, 6, 2), (1, 5, 4, 1)]
    rows, worst = against_torch(_ctx(), torch.nn.RNN, configs, {"right": right, "no b_hh": _without_b_hh},
                                state_size=1, gen=gens[0], desc="")
    assert all(r[4] <= q04.FORMULA_TOL for r in rows)
    # torch's default init draws b_hh from U(±1/√H): dropping it moves h by about that much
    assert all(r[5] > 1e-3 for r in rows) and worst == max(r[5] for r in rows)
    against_torch(_ctx(), torch.nn.RNN, configs, {"right": right}, state_size=1, gen=gens[1], desc="")
    assert torch.equal(torch.randn(4, generator=gens[0]), torch.randn(4, generator=gens[1]))


def test_unroll_returns_every_output_and_the_final_state():
    from dlfaq.experiments._equations import unroll

    x = torch.arange(6.0).reshape(3, 2, 1)
    out, (h, total) = unroll(lambda x_t, s: (x_t * 2, s[1] + x_t), x, (torch.zeros(2, 1), torch.zeros(2, 1)))
    assert torch.equal(out, x * 2) and torch.equal(h, x[-1] * 2) and torch.equal(total, x.sum(0))

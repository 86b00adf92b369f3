"""The formula-vs-torch harness: hand-written recurrence equations against torch's fused module.

Q4 (the vanilla RNN step) and Q13 (the LSTM diagram) both write a cell's equations out as a loop
over time and check that it reproduces torch's module on random weights and inputs. What they
share lives here: the random configurations (one module and one input per configuration, seeded
the same way), running a step function over the time axis, and the largest absolute difference
from the module's outputs and final state. The equations themselves stay in the question's module,
where a reader looks for them.

torch is imported inside the functions, as in the experiment modules, so discovering the
experiments does not load it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from dlfaq.experiments._core import RunContext

if TYPE_CHECKING:
    import torch
    from torch import Tensor, nn

__all__ = ["Config", "State", "Step", "against_torch", "unroll"]

#: A recurrent state: ``(h,)`` for an RNN, ``(h, c)`` for an LSTM; ``h`` (first) is the output.
State = tuple["Tensor", ...]
#: One time step of the equations: ``(x_t, state_{t-1}) -> state_t``.
Step = Callable[["Tensor", State], State]
#: One random configuration: (input size, hidden size, time steps, batch).
Config = tuple[int, int, int, int]


def unroll(step: Step, x: Tensor, state: State) -> tuple[Tensor, State]:
    """Run ``state = step(x[t], state)`` for t = 0 .. T−1 over ``x`` of shape (T, B, input).

    Returns the outputs ``h_t`` stacked to (T, B, hidden) and the final state.
    """
    import torch

    outs = []
    for t in range(len(x)):
        state = step(x[t], state)
        outs.append(state[0])
    return torch.stack(outs), state


def _max_abs(a: Tensor, b: Tensor) -> float:
    return float((a - b).abs().max().item())


def against_torch(
    ctx: RunContext,
    make_module: Callable[[int, int], nn.Module],
    configs: Sequence[Config],
    equations: Mapping[str, Callable[[nn.Module], Step]],
    *,
    state_size: int,
    gen: torch.Generator,
    desc: str,
) -> tuple[list[list[Any]], float]:
    """Compare each of ``equations`` with torch's module on every configuration of ``configs``.

    For each configuration ``(input, hidden, steps, batch)``: the global RNG is seeded with
    ``ctx.seed + hidden`` and ``make_module(input, hidden)`` built (torch's own initialisation);
    ``x`` (steps, batch, input) and then the ``state_size`` initial state tensors (1, batch,
    hidden) are drawn from ``gen`` (so a caller that goes on drawing from ``gen`` sees the same
    stream whatever it compares). Each entry of ``equations`` turns the module (its weights) into
    a :data:`Step`, which :func:`unroll` runs from the same initial state, without autograd.

    Returns one row per configuration, ``[input, hidden, steps, batch, d_1, ...]`` with ``d_k``
    the largest absolute difference of equation ``k`` from the module over the outputs and every
    tensor of the final state, and the largest ``d`` overall.
    """
    import torch

    dev = ctx.torch_device()
    rows: list[list[Any]] = []
    worst = 0.0
    for n_in, hidden, steps, batch in ctx.track(configs, desc=desc):
        torch.manual_seed(ctx.seed + hidden)
        module = make_module(n_in, hidden).to(dev)
        x = torch.randn(steps, batch, n_in, generator=gen).to(dev)
        state0 = tuple(torch.randn(1, batch, hidden, generator=gen).to(dev) for _ in range(state_size))
        with torch.no_grad():
            ref_out, ref_final = module(x, state0[0] if state_size == 1 else state0)
            ref_state = (ref_final,) if state_size == 1 else tuple(ref_final)
            diffs = []
            for build in equations.values():
                out, final = unroll(build(module), x, tuple(s[0] for s in state0))
                finals = (_max_abs(got, ref[0]) for got, ref in zip(final, ref_state, strict=True))
                diffs.append(max(_max_abs(out, ref_out), *finals))
        worst = max(worst, *diffs)
        rows.append([n_in, hidden, steps, batch, *diffs])
    return rows, worst

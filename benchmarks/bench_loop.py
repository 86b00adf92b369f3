"""Overhead of dlfaq.train.loop.fit against a bare hand-written PyTorch loop.

Both train the same MLP on digits with the same SGD settings and batch order source
(a seeded permutation per epoch). ``fit`` adds per-step bookkeeping (loss history, a
finiteness check) and, by default, an eval-mode pass over the training and validation data
after every epoch. Rows: fit with ``eval_train=False`` and no validation (bookkeeping only),
and fit with its defaults plus validation (what the experiments use).

Run: python benchmarks/bench_loop.py [--repeats N] [--json]   (N interleaved repeats, default 7;
more on a busy machine, as the 2x64 row sits near its 1.10 line)
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from _harness import compare, report  # noqa: E402

from dlfaq.data import digits  # noqa: E402
from dlfaq.nn import MLP  # noqa: E402
from dlfaq.train.loop import fit  # noqa: E402

EPOCHS = 5
BATCH = 64


def main() -> None:
    repeats = int(sys.argv[sys.argv.index("--repeats") + 1]) if "--repeats" in sys.argv else 7
    if repeats < 1:
        raise SystemExit("--repeats must be a positive integer")
    torch.set_num_threads(1)
    Xtr, ytr, Xte, yte = digits(0).tensors()
    rows = []
    for hidden, depth in ((64, 2), (256, 4)):

        def model(hidden: int = hidden, depth: int = depth) -> torch.nn.Module:
            torch.manual_seed(0)
            return MLP(64, 10, hidden=hidden, depth=depth)

        def bare() -> None:
            m = model()
            opt = torch.optim.SGD(m.parameters(), lr=0.05, momentum=0.9)
            g = torch.Generator().manual_seed(0)
            m.train()
            for _ in range(EPOCHS):
                order = torch.randperm(len(ytr), generator=g)
                for s in range(0, len(ytr), BATCH):
                    idx = order[s : s + BATCH]
                    loss = F.cross_entropy(m(Xtr[idx]), ytr[idx])
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    opt.step()

        def ours_min() -> None:
            fit(model(), (Xtr, ytr), epochs=EPOCHS, lr=0.05, momentum=0.9, batch_size=BATCH, eval_train=False)

        def ours_full() -> None:
            fit(model(), (Xtr, ytr), val=(Xte, yte), epochs=EPOCHS, lr=0.05, momentum=0.9, batch_size=BATCH)

        r = compare(ours_min, bare, repeats=repeats)
        rows.append({"model": f"{depth}x{hidden}", "variant": "fit, bookkeeping only", **r})
        r = compare(ours_full, bare, repeats=repeats)
        rows.append({"model": f"{depth}x{hidden}", "variant": "fit + eval of train and val each epoch", **r})
    report("fit vs bare PyTorch loop (digits, 5 epochs, batch 64, 1 thread)", rows,
           target="bookkeeping-only ratio close to 1 (<= 1.10)")


if __name__ == "__main__":
    main()

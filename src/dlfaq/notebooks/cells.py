"""The three kinds of cell a question's notebook is written in.

A notebook is a list of cells: :class:`Md` (prose in both languages), :class:`Code` (a step a
reader would type, using only dlfaq's public API) and :class:`Sizes` (the one cell that sets
the experiment's sizes, quick or full). :func:`dlfaq.notebooks.build_notebook` turns the list
into an nbformat v4 notebook.

Cells that more than one notebook runs live here too, written once: :data:`MNIST1D_SPLIT` and
:data:`MLP_TRAIN`, the data and the training function of the MLP that overfits MNIST-1D, shared
by Q7 (dropout) and Q15 (the remedies for overfitting).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from textwrap import dedent
from typing import Any


@dataclass(frozen=True)
class Md:
    """A markdown cell: the same text in Chinese and English."""

    zh: str
    en: str

    def text(self, lang: str | None) -> str:
        zh, en = dedent(self.zh).strip(), dedent(self.en).strip()
        if lang == "zh":
            return zh
        if lang == "en":
            return en
        return f"{zh}\n\n{en}"


@dataclass(frozen=True)
class Code:
    """A code cell (dedented)."""

    source: str

    def text(self, lang: str | None = None) -> str:
        return dedent(self.source).strip("\n")


@dataclass(frozen=True)
class Sizes:
    """The marked cell that picks the quick or the full sizes.

    ``quick`` must run the whole notebook in about a minute on a laptop CPU; ``full`` follows the
    experiment's full profile (``dlfaq run N --profile full``).
    """

    quick: dict[str, Any]
    full: dict[str, Any] = field(default_factory=dict)
    #: tiny sizes for dlfaq's own tests (seconds); only the keys that differ from quick
    smoke: dict[str, Any] = field(default_factory=dict)

    def text(self, lang: str | None = None) -> str:
        profiles = {"quick": self.quick, "full": {**self.quick, **self.full}, "smoke": {**self.quick, **self.smoke}}
        lines = [
            "# ===================== SIZES / 规模: the one cell to edit =====================",
            '# PROFILE = "quick": about a minute on a laptop CPU (fewer seeds / smaller grids);',
            '# PROFILE = "full": the sizes of `dlfaq run N --profile full` (minutes to an hour);',
            '# PROFILE = "smoke": a few seconds, only to check that the notebook runs (dlfaq\'s tests).',
            "# quick 约一分钟(笔记本 CPU);full 与 `dlfaq run N --profile full` 规模相同;smoke 只用于测试。",
            'PROFILE = "quick"',
            "SIZES = {",
        ]
        for name, values in profiles.items():
            lines.append(f'    "{name}": dict(')
            lines += [f"        {k}={v!r}," for k, v in values.items()]
            lines.append("    ),")
        lines.append("}[PROFILE]")
        lines += [f'{k} = SIZES["{k}"]' for k in self.quick]
        lines.append('print(PROFILE, SIZES)')
        return "\n".join(lines)


Cell = Md | Code | Sizes


#: Per seed, a stratified 12.5 % validation split of MNIST-1D (Greydanus & Kobak 2024) and ``n``
#: training examples drawn from the rest, as tensors (Q7, Q15).
MNIST1D_SPLIT = Code(
    """
    from sklearn.model_selection import train_test_split
    from dlfaq.data import mnist1d

    def split(seed, n):
        sp = mnist1d().with_validation(0.125, seed=seed)
        X, y = sp.X_train, sp.y_train
        if n < len(y):
            X, _, y, _ = train_test_split(X, y, train_size=n, random_state=seed, stratify=y)
        arrays = dict(X_train=X, y_train=y, X_val=sp.X_val, y_val=sp.y_val, X_test=sp.X_test, y_test=sp.y_test)
        return {k: torch.as_tensor(v) for k, v in arrays.items()}
    """
)

#: ``train(seed, n, hidden, p, penalty)``: a 2-layer ReLU MLP with dropout ``p`` and an optional
#: ``penalty``, trained with Adam and early-stopped on validation accuracy (best weights restored),
#: about ``max_steps`` optimizer steps at most, patience about ``patience_steps`` (both from the
#: SIZES cell). Returns the validation, training and test accuracy, the steps to the best epoch
#: and the validation curve (Q7, Q15; needs :data:`MNIST1D_SPLIT`).
MLP_TRAIN = Code(
    """
    from dlfaq.nn import MLP
    from dlfaq.train.loop import evaluate, fit
    from dlfaq.train.regularization import EarlyStopping

    def train(seed, n, hidden=128, p=0.0, penalty=None, batch=100):
        d = split(seed, n)
        torch.manual_seed(seed)
        model = MLP(40, 10, hidden=hidden, depth=2, activation="relu", dropout=p)
        per_epoch = math.ceil(n / batch)
        es = EarlyStopping(patience=max(5, math.ceil(patience_steps / per_epoch)), mode="max")
        h = fit(model, (d["X_train"], d["y_train"]), val=(d["X_val"], d["y_val"]),
                epochs=math.ceil(max_steps / per_epoch), lr=2e-3, optimizer="adam", batch_size=batch,
                penalty=penalty, early_stopping=es, stop_on="val_acc", eval_train=False, seed=seed)
        best = int(h.best_epoch or len(h.epochs))
        return dict(val_acc=float(es.best_value),
                    train_acc=evaluate(model, (d["X_train"], d["y_train"]))["acc"],
                    test_acc=evaluate(model, (d["X_test"], d["y_test"]))["acc"],
                    steps_to_best=best * per_epoch, curve=[e["val_acc"] for e in h.epochs])
    """
)

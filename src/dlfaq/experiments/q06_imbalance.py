"""Q6: how to handle class imbalance -- resampling, reweighting, ensembles, feature selection.

Data: imbalanced versions of real data sets. "digits 3 vs rest" (scikit-learn's
digits, the digit 3 as the minority) with the minority cut in the training
split to 1:r of the majority, and breast cancer (malignant as the minority, cut
the same way). The test split keeps its natural class mix and is never
resampled. Every method uses the same model (a linear softmax classifier
trained with full-batch L-BFGS, in torch on ``ctx.device``) so that only the
imbalance remedy differs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dlfaq.experiments._core import Evidence, RunContext, experiment, judge

METHODS = (
    "none",
    "ros",
    "rus",
    "smote",
    "class_weights",
    "focal",
    "logit_adjust",
    "easy_ensemble",
    "feature_selection",
)
LABELS = {
    "none": "none",
    "ros": "random over-sampling",
    "rus": "random under-sampling",
    "smote": "SMOTE",
    "class_weights": "class weights",
    "focal": "focal loss (γ=2)",
    "logit_adjust": "logit adjustment",
    "easy_ensemble": "EasyEnsemble",
    "feature_selection": "feature selection (MI)",
}
REMEDIES = {
    "q06.generate-data": ("ros", "rus", "smote"),
    "q06.reweighting": ("class_weights", "focal", "logit_adjust"),
    "q06.ensembles": ("easy_ensemble",),
    "q06.feature-selection": ("feature_selection",),
}
MIN_GAIN = 0.02  # 2 points of balanced accuracy
MIN_WIN = 0.75  # share of runs where the method beats "none"


class LinearSoftmax:
    """Multinomial logistic regression in torch, full-batch L-BFGS, with a pluggable loss.

    A scikit-learn-style estimator (``fit``/``predict_proba``/``get_params``) so
    that the ensembles can clone it.
    """

    def __init__(self, loss: str = "ce", weight_decay: float = 1e-3, device: str = "cpu", max_iter: int = 100):
        self.loss = loss
        self.weight_decay = weight_decay
        self.device = device
        self.max_iter = max_iter

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {"loss": self.loss, "weight_decay": self.weight_decay, "device": self.device, "max_iter": self.max_iter}

    def set_params(self, **p: Any) -> LinearSoftmax:
        for k, v in p.items():
            setattr(self, k, v)
        return self

    def _criterion(self, y: Any, n_classes: int) -> Any:
        import torch

        from dlfaq.imbalance import FocalLoss, LogitAdjustedLoss, class_priors, class_weights

        if self.loss == "ce":
            return torch.nn.CrossEntropyLoss()
        if self.loss == "weighted":
            return torch.nn.CrossEntropyLoss(weight=class_weights(y, num_classes=n_classes).to(self.device))
        if self.loss == "focal":
            return FocalLoss(gamma=2.0)
        if self.loss == "logit_adjust":
            return LogitAdjustedLoss(class_priors(y, num_classes=n_classes), tau=1.0).to(self.device)
        raise ValueError(self.loss)

    def fit(self, X: np.ndarray, y: np.ndarray) -> LinearSoftmax:
        import torch

        self.classes_ = np.unique(y)
        yi = np.searchsorted(self.classes_, y)
        C = len(self.classes_)
        Xt = torch.as_tensor(X, dtype=torch.float32, device=self.device)
        yt = torch.as_tensor(yi, dtype=torch.long, device=self.device)
        W = torch.zeros(X.shape[1], C, device=self.device, requires_grad=True)
        b = torch.zeros(C, device=self.device, requires_grad=True)
        crit = self._criterion(yi, C)
        opt = torch.optim.LBFGS([W, b], lr=1.0, max_iter=self.max_iter, line_search_fn="strong_wolfe")

        def closure() -> Any:
            opt.zero_grad()
            loss = crit(Xt @ W + b, yt) + self.weight_decay * (W * W).sum()
            loss.backward()
            return loss

        opt.step(closure)
        self.W_, self.b_ = W.detach(), b.detach()
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        import torch

        with torch.no_grad():
            z = torch.as_tensor(X, dtype=torch.float32, device=self.device) @ self.W_ + self.b_
            return torch.softmax(z, 1).cpu().double().numpy()

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.classes_[self.predict_proba(X).argmax(1)]


def _metrics(y_true: np.ndarray, y_pred: np.ndarray, minority: int) -> dict[str, float]:
    from sklearn.metrics import balanced_accuracy_score, f1_score, recall_score

    rec = recall_score(y_true, y_pred, average=None, labels=np.unique(y_true), zero_division=0)
    return {
        "balanced_accuracy": float(balanced_accuracy_score(y_true, y_pred)),
        "macro_f1": float(f1_score(y_true, y_pred, average="macro", zero_division=0)),
        "g_mean": float(np.prod(rec) ** (1.0 / len(rec))),
        "minority_recall": float(recall_score(y_true, y_pred, labels=[minority], average="macro", zero_division=0)),
    }


def _load(name: str) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_breast_cancer, load_digits

    if name == "digits":
        X, y = load_digits(return_X_y=True)
        return X.astype(np.float64), (y == 3).astype(np.int64)
    X, y = load_breast_cancer(return_X_y=True)
    return X.astype(np.float64), (y == 0).astype(np.int64)  # 1 = malignant


def _imbalanced_split(X: np.ndarray, y: np.ndarray, ratio: int, seed: int) -> tuple[np.ndarray, ...]:
    """50/50 stratified split; in the training half keep only n_majority / ratio minority rows."""
    from sklearn.model_selection import train_test_split

    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.5, stratify=y, random_state=seed)
    rng = np.random.RandomState(seed)
    pos = np.flatnonzero(ytr == 1)
    n_keep = max(6, int(round((ytr == 0).sum() / ratio)))
    keep = np.sort(np.concatenate([np.flatnonzero(ytr == 0), rng.choice(pos, n_keep, replace=False)]))
    Xtr, ytr = Xtr[keep], ytr[keep]
    mu, sd = Xtr.mean(0), Xtr.std(0)
    sd[sd == 0] = 1.0
    return (Xtr - mu) / sd, ytr, (Xte - mu) / sd, yte


def _fit_predict(method: str, Xtr: np.ndarray, ytr: np.ndarray, Xte: np.ndarray, seed: int, device: str) -> np.ndarray:
    from dlfaq.imbalance import (
        SMOTE,
        EasyEnsembleClassifier,
        RandomOverSampler,
        RandomUnderSampler,
        make_selector,
    )

    k = int(min(5, (ytr == 1).sum() - 1))
    loss = {"class_weights": "weighted", "focal": "focal", "logit_adjust": "logit_adjust"}.get(method, "ce")
    model = LinearSoftmax(loss=loss, device=device)
    if method == "ros":
        Xtr, ytr = RandomOverSampler(random_state=seed).fit_resample(Xtr, ytr)
    elif method == "rus":
        Xtr, ytr = RandomUnderSampler(random_state=seed).fit_resample(Xtr, ytr)
    elif method == "smote":
        Xtr, ytr = SMOTE(random_state=seed, k_neighbors=k).fit_resample(Xtr, ytr)
    elif method == "easy_ensemble":
        ee = EasyEnsembleClassifier(n_estimators=10, estimator=model, random_state=seed)
        return ee.fit(Xtr, ytr).predict(Xte)
    elif method == "feature_selection":
        sel = make_selector("mutual_info", k=max(2, Xtr.shape[1] // 4), random_state=seed).fit(Xtr, ytr)
        Xtr, Xte = sel.transform(Xtr), sel.transform(Xte)
    return model.fit(Xtr, ytr).predict(Xte)


def _leakage(ctx: RunContext, seeds: list[int]) -> list[list[Any]]:
    """Validation estimate vs. untouched test score, resampling before vs. after the split."""
    from sklearn.model_selection import train_test_split
    from sklearn.neighbors import KNeighborsClassifier

    from dlfaq.imbalance import SMOTE

    X, y = _load("digits")
    rows = []
    for model_name in ("linear", "1-NN"):
        acc: dict[str, list[tuple[float, float]]] = {"before split (leaky)": [], "after split (correct)": []}
        for seed in seeds:
            Xpool, ypool, Xte, yte = _imbalanced_split(X, y, 20, seed)
            for protocol in acc:
                if protocol.startswith("before"):
                    Xs, ys = SMOTE(random_state=seed).fit_resample(Xpool, ypool)
                    Xf, Xv, yf, yv = train_test_split(Xs, ys, test_size=0.3, stratify=ys, random_state=seed)
                else:
                    Xf, Xv, yf, yv = train_test_split(Xpool, ypool, test_size=0.3, stratify=ypool, random_state=seed)
                    Xf, yf = SMOTE(random_state=seed, k_neighbors=int(min(5, yf.sum() - 1))).fit_resample(Xf, yf)
                model: Any = LinearSoftmax(device=ctx.device) if model_name == "linear" else KNeighborsClassifier(1)
                model.fit(Xf, yf)
                est = _metrics(yv, model.predict(Xv), 1)["minority_recall"]
                test = _metrics(yte, model.predict(Xte), 1)["minority_recall"]
                acc[protocol].append((est, test))
        for protocol, vals in acc.items():
            a = np.array(vals)
            rows.append([model_name, protocol, a[:, 0].mean(), a[:, 1].mean(), (a[:, 0] - a[:, 1]).mean()])
    return rows


def _rule_text(methods: tuple[str, ...]) -> str:
    names = ", ".join(LABELS[m] for m in methods)
    return (
        f"A method helps if, over every (data set, imbalance ratio, seed) run, its balanced accuracy "
        f"beats the untreated model's by at least {MIN_GAIN * 100:.0f} points on average and it wins in "
        f"at least {MIN_WIN:.0%} of the runs. Supported if every method of the remedy ({names}) helps; "
        "partly if at least one helps or all improve on average by less; otherwise not supported."
    )


@experiment(
    6,
    "remedies",
    title={"en": "Imbalance remedies on imbalanced digits and breast cancer", "zh": "样本不均衡的各种对策:不均衡的手写数字和乳腺癌数据"},
    description={
        "en": "Minority class cut to 1:r in the training split only; nine methods, one linear model; "
        "balanced accuracy, macro-F1, G-mean, minority recall over several seeds; plus the leakage of resampling before the split.",
        "zh": "只在训练集里把少数类削减到 1:r;九种方法共用一个线性模型;在多个随机种子上比较平衡准确率、宏平均 F1、G-mean 和少数类召回率;并展示先重采样再划分数据造成的泄漏。",
    },
)
def remedies(ctx: RunContext) -> Evidence:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    ev = Evidence()
    seeds = ctx.seeds(quick=3, full=5, smoke=1)
    cells = ctx.pick(
        quick=[("digits", 20), ("digits", 100), ("breast_cancer", 20)],
        full=[("digits", 20), ("digits", 50), ("digits", 100), ("breast_cancer", 10), ("breast_cancer", 20)],
        smoke=[("breast_cancer", 20)],
    )
    data = {name: _load(name) for name in {c[0] for c in cells}}
    # results[(dataset, ratio)][method] -> list of metric dicts (one per seed)
    results: dict[tuple[str, int], dict[str, list[dict[str, float]]]] = {}
    jobs = [(c, s) for c in cells for s in seeds]
    for (name, ratio), seed in ctx.track(jobs, desc="q06 remedies"):
        Xtr, ytr, Xte, yte = _imbalanced_split(*data[name], ratio, seed)
        cell = results.setdefault((name, ratio), {m: [] for m in METHODS})
        for m in METHODS:
            cell[m].append(_metrics(yte, _fit_predict(m, Xtr, ytr, Xte, seed, ctx.device), 1))

    metric_names = ("balanced_accuracy", "macro_f1", "g_mean", "minority_recall")
    rows = []
    for (name, ratio), cell in results.items():
        for m in METHODS:
            a = {k: np.array([r[k] for r in cell[m]]) for k in metric_names}
            rows.append([name, f"1:{ratio}", LABELS[m]] + [f"{a[k].mean():.3f} ± {a[k].std():.3f}" for k in metric_names])
            for k in metric_names:
                ev.metrics[f"{name}_1to{ratio}.{m}.{k}_mean"] = float(a[k].mean())
            ev.metrics[f"{name}_1to{ratio}.{m}.balanced_accuracy_min"] = float(a["balanced_accuracy"].min())
            ev.metrics[f"{name}_1to{ratio}.{m}.balanced_accuracy_max"] = float(a["balanced_accuracy"].max())
    ev.table(
        "remedies",
        ["data", "imbalance", "method", "balanced acc.", "macro-F1", "G-mean", "minority recall"],
        rows,
        title=f"Test metrics, mean ± std over {len(seeds)} seeds (test split keeps its natural class mix)",
    )

    # Gains in balanced accuracy over "none", run by run.
    gains: dict[str, np.ndarray] = {}
    for m in METHODS[1:]:
        g = []
        for cell in results.values():
            g.extend(r["balanced_accuracy"] - b["balanced_accuracy"] for r, b in zip(cell[m], cell["none"], strict=True))
        gains[m] = np.array(g)
    helps = {m: bool(g.mean() >= MIN_GAIN and (g > 0).mean() >= MIN_WIN) for m, g in gains.items()}
    ev.table(
        "gains",
        ["method", "mean gain (points)", "min", "max", "runs won", "helps"],
        [
            [LABELS[m], f"{100 * g.mean():+.1f}", f"{100 * g.min():+.1f}", f"{100 * g.max():+.1f}", f"{(g > 0).mean():.0%}", "yes" if helps[m] else "no"]
            for m, g in gains.items()
        ],
        title="Balanced-accuracy gain over the untreated model, over all runs",
    )
    for m, g in gains.items():
        ev.metrics[f"gain.{m}.mean"] = float(g.mean())
        ev.metrics[f"gain.{m}.win_rate"] = float((g > 0).mean())

    for claim, methods in REMEDIES.items():
        hs = [helps[m] for m in methods]
        improve = [gains[m].mean() > 0 for m in methods]
        reason = "; ".join(
            f"{LABELS[m]}: {100 * gains[m].mean():+.1f} points (min {100 * gains[m].min():+.1f}, max {100 * gains[m].max():+.1f}), won {(gains[m] > 0).mean():.0%} of {len(gains[m])} runs"
            for m in methods
        )
        rule = _rule_text(methods)
        supported = all(hs)
        if claim == "q06.ensembles":
            # EasyEnsemble = under-sampling + averaging; credit the ensemble only for what
            # it adds over a single under-sampled model.
            over_rus = float((gains["easy_ensemble"] - gains["rus"]).mean())
            supported = supported and over_rus > 0
            rule += (
                " For the ensemble, 'supported' also needs its mean balanced accuracy to exceed that "
                "of a single random under-sample (so the gain is the ensemble's, not the under-sampling's)."
            )
            reason += f"; EasyEnsemble minus single under-sampling: {100 * over_rus:+.1f} points"
            ev.metrics["ensemble_minus_rus.mean"] = over_rus
        ev.add(judge(claim, supported=supported, partly=any(hs) or all(improve), rule=rule, reason=reason))

    # Figure 1: gains per method with min/max whiskers.
    fig = Figure(figsize=(8, 4.2))
    ax = fig.add_subplot(111)
    ms = list(gains)
    mean = np.array([100 * gains[m].mean() for m in ms])
    lo = mean - np.array([100 * gains[m].min() for m in ms])
    hi = np.array([100 * gains[m].max() for m in ms]) - mean
    colors = ["#4c72b0" if helps[m] else "#c44e52" for m in ms]
    ax.bar(range(len(ms)), mean, yerr=[lo, hi], color=colors, capsize=4)
    ax.axhline(0, color="k", lw=0.8)
    ax.axhline(100 * MIN_GAIN, color="gray", ls="--", lw=0.8)
    ax.set_xticks(range(len(ms)), [LABELS[m] for m in ms], rotation=30, ha="right")
    ax.set_ylabel("balanced-accuracy gain over none (points)")
    ax.set_title("Gain of each remedy (bars: mean; whiskers: min/max over runs)")
    ev.figure("gains", fig, "Balanced-accuracy gain over the untreated linear model; blue = meets the 'helps' rule.")

    # Figure 2: balanced accuracy and minority recall per cell.
    fig2 = Figure(figsize=(9, 4))
    for j, k in enumerate(("balanced_accuracy", "minority_recall")):
        ax = fig2.add_subplot(1, 2, j + 1)
        width = 0.8 / max(1, len(results))
        for i, ((name, ratio), cell) in enumerate(results.items()):
            vals = [np.mean([r[k] for r in cell[m]]) for m in METHODS]
            ax.bar(np.arange(len(METHODS)) + i * width, vals, width, label=f"{name} 1:{ratio}")
        ax.set_xticks(np.arange(len(METHODS)) + 0.4 - width / 2, [LABELS[m] for m in METHODS], rotation=60, ha="right", fontsize=7)
        ax.set_title(k.replace("_", " "))
        ax.set_ylim(0.4 if k == "balanced_accuracy" else 0.0, 1.0)
    fig2.axes[1].legend(fontsize=7, loc="lower right")
    ev.figure("metrics", fig2, "Test balanced accuracy and minority recall per data set and imbalance ratio (mean over seeds).")

    # Leakage: resampling before the split.
    leak = _leakage(ctx, seeds)
    ev.table(
        "leakage",
        ["model", "SMOTE applied", "validation estimate", "test (untouched)", "optimism"],
        [[r[0], r[1], f"{r[2]:.3f}", f"{r[3]:.3f}", f"{r[4]:+.3f}"] for r in leak],
        title="Minority recall on digits 1:20: validation estimate vs. held-out test, SMOTE before vs. after the split",
    )
    for r in leak:
        key = f"leakage.{r[0]}.{'before' if r[1].startswith('before') else 'after'}"
        ev.metrics[key + ".estimate"] = float(r[2])
        ev.metrics[key + ".test"] = float(r[3])
    fig3 = Figure(figsize=(6, 3.6))
    ax = fig3.add_subplot(111)
    labels = [f"{r[0]}\n{r[1]}" for r in leak]
    x = np.arange(len(leak))
    ax.bar(x - 0.2, [r[2] for r in leak], 0.4, label="validation estimate")
    ax.bar(x + 0.2, [r[3] for r in leak], 0.4, label="held-out test")
    ax.set_xticks(x, labels, fontsize=7)
    ax.set_ylabel("minority recall")
    ax.set_ylim(0, 1.25)
    ax.legend(fontsize=8, loc="upper center", ncol=2)
    ax.set_title("SMOTE before the split inflates the estimate")
    ev.figure("leakage", fig3, "Resampling before the train/validation split puts synthetic neighbours of training points into validation.")

    ev.notes = (
        "All methods share one linear softmax model (L-BFGS, weight decay 1e-3); only the remedy differs. "
        "The minority class is cut to 1:r in the training split only; the test split keeps the natural mix "
        "(digits: about 1:9, breast cancer: about 1:1.7) and is never resampled. Feature selection keeps a quarter "
        "of the features by mutual information and applies no other remedy. EasyEnsemble uses 10 members of the "
        "same linear model on independent random under-samples. The leakage table applies SMOTE to the whole "
        "training pool before the train/validation split ('leaky') or to the training part only ('correct')."
    )
    return ev

"""Q6 notebook: the page's four remedies for class imbalance, each against the plain model."""

from dlfaq.notebooks.cells import Code, Md, Sizes

CELLS = [
    Md(
        """
        ## 实验设计
        数据:MNIST-1D,每个种子一对数字,第二个是少数类;训练集中少数类被削减到多数类的 1/20,测试集保持自然的近乎均衡的比例,从不重采样。
        所有方法用同一个线性分类器(这里是 scikit-learn 的逻辑回归),只有补救手段不同:生成数据(SMOTE)、重新加权(balanced 类权重)、
        集成(EasyEnsemble,另与单个欠采样模型比较,只记组合带来的部分)、特征选择。指标:测试集的平衡准确率(百分点),阈值 2。阳性对照(He & Garcia 2009):不均衡本身要伤害普通模型,
        即在完整均衡训练集上训练的模型要胜过在 1:20 上训练的。(完整实验在训练集内做交叉验证选超参数,见 `dlfaq run 6`。)
        """,
        """
        ## The design
        Data: MNIST-1D, one pair of digits per seed, the second one the minority; in the training split the
        minority is cut to 1/20 of the majority, the test split keeps the pair's natural, nearly even mix and is
        never resampled. Every method uses the same linear classifier (here scikit-learn's logistic regression),
        so only the remedy differs: generated data (SMOTE), reweighting (balanced class weights), an ensemble
        (EasyEnsemble, also against a single under-sampled model, crediting only what combining adds),
        feature selection. Metric: balanced test accuracy (points), margin 2. Positive control
        (He & Garcia 2009): the imbalance must hurt the plain model, i.e. the model trained on the full, balanced
        split must beat the one trained on the 1:20 cut. (The full experiment chooses every hyper-parameter by
        cross-validation inside the training split: `dlfaq run 6`.)
        """,
    ),
    Sizes(quick=dict(seeds=[0, 1, 2, 3, 4], ratio=20, k_features=20), full=dict(seeds=list(range(10))),
          smoke=dict(seeds=[0, 1])),
    Code(
        """
        from itertools import combinations
        from sklearn.linear_model import LogisticRegression
        from sklearn.metrics import balanced_accuracy_score
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler
        from dlfaq.data import mnist1d
        from dlfaq.imbalance import SMOTE, EasyEnsembleClassifier, RandomUnderSampler, class_weights, make_selector

        sp = mnist1d()
        pairs = list(combinations(range(10), 2))

        def load_pair(seed):
            a, b = pairs[(7 * seed) % len(pairs)]
            rng = np.random.default_rng(seed)
            tr = np.flatnonzero(np.isin(sp.y_train, (a, b))); te = np.flatnonzero(np.isin(sp.y_test, (a, b)))
            Xtr, ytr = sp.X_train[tr], (sp.y_train[tr] == b).astype(int)
            keep_min = rng.choice(np.flatnonzero(ytr == 1), max(2, int((ytr == 0).sum() / ratio)), replace=False)
            cut = np.concatenate([np.flatnonzero(ytr == 0), keep_min])
            return (Xtr, ytr), (Xtr[cut], ytr[cut]), (sp.X_test[te], (sp.y_test[te] == b).astype(int))

        model = lambda **kw: make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, **kw))
        score = lambda m, X, y: 100 * balanced_accuracy_score(y, m.predict(X))
        """
    ),
    Code(
        """
        res = {}
        for s in seeds:
            (Xb, yb), (X, y), (Xte, yte) = load_pair(s)
            r = {"balanced training": score(model().fit(Xb, yb), Xte, yte), "plain": score(model().fit(X, y), Xte, yte)}
            Xs, ys = SMOTE(k_neighbors=5, random_state=s).fit_resample(X, y)
            r["SMOTE"] = score(model().fit(Xs, ys), Xte, yte)
            w = class_weights(y, "balanced")
            r["class weights"] = score(model(class_weight={0: float(w[0]), 1: float(w[1])}).fit(X, y), Xte, yte)
            Xu, yu = RandomUnderSampler(random_state=s).fit_resample(X, y)
            r["one under-sample"] = score(model().fit(Xu, yu), Xte, yte)
            r["EasyEnsemble"] = score(EasyEnsembleClassifier(n_estimators=10, estimator=model(), random_state=s).fit(X, y), Xte, yte)
            sel = make_selector("mutual_info", k=k_features, random_state=s)
            r["feature selection"] = score(make_pipeline(sel, model()).fit(X, y), Xte, yte)
            res[s] = r
            print(f"seed {s}: " + "  ".join(f"{k} {v:.1f}" for k, v in r.items()))
        """
    ),
    Code(
        """
        MARGIN = 2.0
        control = stats.Control({"en": "imbalance hurts the plain model", "zh": "不均衡伤害普通模型"},
                                stats.paired([res[s]["balanced training"] for s in seeds], [res[s]["plain"] for s in seeds],
                                             "points"), MARGIN, source="He & Garcia 2009")
        e = control.effect
        print(f"control: balanced - 1:{ratio} training {e.mean:+.1f} points [{e.lo:+.1f}, {e.hi:+.1f}], reproduced {control.reproduced}")
        claims = {"SMOTE": "q06.generate-data", "class weights": "q06.reweighting", "EasyEnsemble": "q06.ensembles",
                  "feature selection": "q06.feature-selection"}
        # EasyEnsemble is also judged against a single under-sampled model: what combining adds
        combine_gain = stats.paired([res[s]["EasyEnsemble"] for s in seeds], [res[s]["one under-sample"] for s in seeds],
                                    "points")
        effects = {}
        for method, cid in claims.items():
            effects[method] = g = stats.paired([res[s][method] for s in seeds], [res[s]["plain"] for s in seeds], "points")
            verdict = stats.decide(g, MARGIN)
            if method == "EasyEnsemble":
                verdict = stats.combine([verdict, stats.decide(combine_gain, MARGIN)])
                print(f"{'':22s} {'vs one under-sample':18s} {combine_gain.mean:+6.2f} points "
                      f"[{combine_gain.lo:+6.2f}, {combine_gain.hi:+6.2f}]")
            print(f"{cid:22s} {method:18s} {g.mean:+6.2f} points [{g.lo:+6.2f}, {g.hi:+6.2f}] (n={g.n}) -> "
                  f"{stats.decide_with_control(verdict, control)[0]}")
        fig, ax = plt.subplots(figsize=(6, 2.8))
        for i, (m, g) in enumerate(effects.items()):
            ax.errorbar(g.mean, i, xerr=[[g.mean - g.lo], [g.hi - g.mean]], fmt="o")
        ax.axvline(0, color="k", lw=0.8); ax.axvline(MARGIN, color="gray", ls=":")
        ax.set_yticks(range(len(effects)), list(effects)); ax.set_xlabel("balanced-accuracy gain over plain (points)")
        plt.show()
        """
    ),
]

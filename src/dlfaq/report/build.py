"""Build the report: collect knowledge base + saved evidence, write HTML and Markdown."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dlfaq import publish
from dlfaq.experiments import discover, evidence_dir, schema
from dlfaq.faq import Entry, load_all
from dlfaq.report import quotes

LANGS = ("zh", "en")
VERDICT_CLASS = {
    "supported": "ok",
    "partly": "partly",
    "contradicted": "no",
    "inconclusive": "inconclusive",
    "untested": "untested",
    "pending": "untested",
    "failed": "failed",
}
LABELS = {
    "supported": {"en": "supported", "zh": "成立"},
    "partly": {"en": "partly", "zh": "部分成立"},
    "contradicted": {"en": "contradicted", "zh": "不成立"},
    "inconclusive": {"en": "inconclusive", "zh": "无法判定"},
    "untested": {"en": "not yet tested", "zh": "尚未检验"},
    "pending": {"en": "not run yet", "zh": "尚未运行"},
    "failed": {"en": "experiment failed", "zh": "实验失败"},
}
KIND_LABELS = {
    "check": {"en": "exact check", "zh": "精确检验"},
    "experiment": {"en": "experiment", "zh": "实验"},
}
#: The verdict words counted in the index and the README table, in order.
COUNTED = ("supported", "partly", "contradicted", "inconclusive")
UI = {
    "title": {"en": "dlfaq — an executable deep-learning FAQ", "zh": "dlfaq:可执行的深度学习常见问题"},
    "intro": {
        "en": "Every answer below comes with the claims the original FAQ page makes, and each claim with a verdict "
        "computed by code you can rerun on a laptop (dlfaq run ID). An exact check decides identities and "
        "properties of code; an experiment decides noisy claims from at least five independent runs, with a 95 % "
        "interval and a margin fixed before the run, after a positive control has shown that the setting can "
        "produce the effect at all. Inconclusive means this scale cannot decide the claim.",
        "zh": "下面每个回答都列出了原 FAQ 页面的论断;每条论断的结论都由可以在笔记本电脑上重跑的代码计算得出(dlfaq run ID)。"
        "恒等式和代码性质用精确检验判定;带噪声的论断用实验判定:至少五次独立运行,给出 95% 区间,阈值在运行前写定,"
        "并且先用阳性对照证明这个设置确实能产生该效应。“无法判定”表示在这个规模上无法得出结论。",
    },
    "answer": {"en": "Answer", "zh": "回答"},
    "claims": {"en": "The page's claims and their verdicts", "zh": "页面的论断与检验结论"},
    "evidence": {"en": "Evidence", "zh": "证据"},
    "api": {"en": "Use it", "zh": "代码入口"},
    "refs": {"en": "References", "zh": "参考文献"},
    "rule": {"en": "rule", "zh": "判定规则"},
    "metrics": {"en": "All measured numbers", "zh": "全部测量数值"},
    "back": {"en": "← all questions", "zh": "← 全部问题"},
    "run": {"en": "ran", "zh": "运行于"},
    "profile": {"en": "profile", "zh": "配置"},
    "seed": {"en": "seed", "zh": "随机种子"},
    "error": {"en": "The experiment failed:", "zh": "实验失败:"},
    "generated": {"en": "Generated", "zh": "生成时间"},
    "summary": {"en": "Verdicts", "zh": "结论统计"},
}


@dataclass
class ClaimView:
    id: str
    text: dict[str, str]
    status: str  # a verdict word, or untested / pending / failed
    reason: dict[str, str] = field(default_factory=dict)
    rule: dict[str, str] = field(default_factory=dict)
    experiment: str | None = None
    record: dict[str, Any] | None = None  # the verdict record, when there is one

    @property
    def kind(self) -> str:
        return str((self.record or {}).get("kind", ""))


@dataclass
class QuestionView:
    entry: Entry
    claims: list[ClaimView]
    records: list[dict[str, Any]] = field(default_factory=list)
    answer: dict[str, str] = field(default_factory=dict)  # with measured numbers filled in
    #: One line per damaged evidence file (naming the file and the field); such a record shows as failed.
    problems: list[str] = field(default_factory=list)


def question_view(entry: Entry, results_dir: Path | str) -> QuestionView:
    """Join one entry's claims with the saved evidence of the experiments that judge them.

    Every record is checked by :func:`dlfaq.experiments.schema.read_evidence` first; a damaged one
    is shown as a failed record with the problem line (also in ``problems``).
    """
    records = {}
    problems: list[str] = []
    for name in entry.experiments:
        got = schema.read_evidence(results_dir, name)
        problems += got.problems
        rec = got.shown()
        if rec is not None:
            records[name] = rec
    claims = []
    for c in entry.claims:
        if c.tested_by is None:
            claims.append(ClaimView(c.id, c.text, "untested"))
            continue
        rec = records.get(c.tested_by)
        if rec is None:
            claims.append(ClaimView(c.id, c.text, "pending", experiment=c.tested_by))
        elif rec.get("status") != "ok":
            claims.append(ClaimView(c.id, c.text, "failed", reason=_both_langs(rec.get("error") or ""),
                                    experiment=c.tested_by))
        else:
            v = next((v for v in rec.get("verdicts", []) if v["claim"] == c.id), None)
            if v is None:
                claims.append(ClaimView(c.id, c.text, "failed", reason={
                    "en": "the experiment gave no verdict for this claim", "zh": "实验没有给出这条论断的结论"},
                    experiment=c.tested_by))
            else:
                status = v["verdict"] if v.get("verdict") in VERDICT_CLASS else "failed"
                claims.append(ClaimView(c.id, c.text, status, _both_langs(v.get("reason", "")),
                                        _both_langs(v.get("rule", "")), c.tested_by, v))
    ok = {n: r for n, r in records.items() if r.get("status") == "ok"}
    answer = {lang: quotes.render(entry.answer.get(lang, ""), entry.id, ok, lang) for lang in LANGS}
    return QuestionView(entry, claims, [records[n] for n in entry.experiments if n in records], answer, problems)


def _both_langs(text: Any) -> dict[str, str]:
    """A reason or rule as ``{"en", "zh"}`` (schema-1 evidence had one English string)."""
    if isinstance(text, dict):
        return {lang: str(text.get(lang) or text.get("en") or "") for lang in LANGS}
    return {lang: str(text) for lang in LANGS}


def collect(results_dir: Path | str) -> list[QuestionView]:
    """Join the knowledge base with the saved evidence under ``results_dir``."""
    return [question_view(entry, results_dir) for entry in load_all()]


# --------------------------------------------------------------------------- HTML


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, (list, dict)):
        return json.dumps(v, ensure_ascii=False)
    return "" if v is None else str(v)


def controls_of(rec: dict[str, Any]) -> list[dict[str, Any]]:
    """The distinct positive controls the verdicts of one evidence record rest on."""
    seen: dict[str, dict[str, Any]] = {}
    for v in rec.get("verdicts", []) or []:
        c = v.get("control") if isinstance(v, dict) else None
        if isinstance(c, dict) and isinstance(c.get("name"), dict):
            seen.setdefault(json.dumps(c["name"], sort_keys=True), c)
    return list(seen.values())


CONTROL_UI = {
    "title": {"en": "Positive controls", "zh": "阳性对照"},
    "heads": {"en": ["control", "effect", "95 % CI", "n", "margin", "reproduced"],
              "zh": ["对照", "效应", "95% 区间", "n", "阈值", "是否复现"]},
    "yes": {"en": "yes", "zh": "是"},
    "no": {"en": "no: the claims that rest on it are inconclusive",
           "zh": "否:依赖它的论断无法判定"},
}


def _question_html(q: QuestionView, img_dir: str, lang: str = "en", views: list[QuestionView] | None = None,
                   notebook: str | None = None, zh_figures: frozenset[str] = frozenset()) -> str:
    """The body of one question page in one language (:func:`dlfaq.report.site.question_html`)."""
    from dlfaq.report import site

    return site.question_html(q, views or [q], lang, img_dir, notebook, zh_figures)


def _counts(views: list[QuestionView]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for q in views:
        for c in q.claims:
            counts[c.status] = counts.get(c.status, 0) + 1
    return counts


CAL_UI = {
    "title": {"en": "Calibration: MNIST-1D against the paper", "zh": "校准:MNIST-1D 与论文对照"},
    "intro": {
        "en": "Before any training experiment is trusted, models built from dlfaq's components are trained on "
        "MNIST-1D and compared with the test accuracies Greydanus & Kobak (2024) report. Run it yourself "
        "with `dlfaq calibrate`.",
        "zh": "在相信任何训练实验之前,先用 dlfaq 自己的组件搭出的模型在 MNIST-1D 上训练,并与 Greydanus 和 Kobak(2024)"
        "报告的测试准确率对照。可以用 `dlfaq calibrate` 自己运行。",
    },
    "heads": {"en": ["model", "dlfaq test accuracy", "paper", "target range", "calibrated"],
              "zh": ["模型", "dlfaq 测试准确率", "论文", "目标区间", "达标"]},
    "yes": {"en": "yes", "zh": "是"},
    "no": {"en": "no", "zh": "否"},
    "link": {"en": "Calibration on MNIST-1D", "zh": "MNIST-1D 校准"},
}


# --------------------------------------------------------------------------- Markdown


def _question_md(q: QuestionView, lang: str, img_dir: str) -> str:
    e = q.entry
    out = [f"# Q{e.id}. {e.question[lang]}", "", q.answer[lang], "", f"## {UI['claims'][lang]}", ""]
    for c in q.claims:
        line = f"- **{LABELS[c.status][lang]}** `{c.id}`: {c.text[lang]}"
        if c.kind in KIND_LABELS:
            line += f" ({KIND_LABELS[c.kind][lang]})"
        if c.reason.get(lang):
            line += f"  \n  {c.reason[lang]}"
        if c.rule.get(lang):
            line += f"  \n  *{UI['rule'][lang]}:* {c.rule[lang]}"
        out.append(line)
    for rec in q.records:
        title = (rec.get("title") or {}).get(lang, rec["name"])
        out += ["", f"## {UI['evidence'][lang]}: {title}", ""]
        if rec.get("status") != "ok":
            out.append(f"{UI['error'][lang]} `{rec.get('error')}`")
        ctrls = controls_of(rec)
        if ctrls:
            out += [f"*{CONTROL_UI['title'][lang]}*", "", "| " + " | ".join(CONTROL_UI["heads"][lang]) + " |",
                    "|" + "---|" * 6]
            for c in ctrls:
                ok = CONTROL_UI["yes" if c.get("reproduced") else "no"][lang]
                lo, hi = c.get("ci") or ["", ""]
                out.append(f"| {c['name'].get(lang, '')} | {_fmt(c.get('effect'))} {c.get('unit', '')} | "
                           f"[{_fmt(lo)}, {_fmt(hi)}] | {c.get('n', '')} | {c.get('margin', '')} | {ok} |")
            out.append("")
        for fig in rec.get("figures", []):
            out.append(f"![{fig.get('caption', '')}]({img_dir}/{rec['name']}/{fig['file']})")
            out.append("")
        for t in rec.get("tables", []):
            out += [f"*{t.get('title') or t['name']}*", "", "| " + " | ".join(map(str, t["columns"])) + " |",
                    "|" + "---|" * len(t["columns"])]  # fmt: skip
            out += ["| " + " | ".join(_fmt(v).replace("|", "\\|") for v in r) + " |" for r in t["rows"]]
            out.append("")
    if e.api:
        out += ["", f"## {UI['api'][lang]}", ""] + [f"- `{a}`" for a in e.api]
    return "\n".join(out) + "\n"


def _index_md(views: list[QuestionView], lang: str) -> str:
    out = [f"# {UI['title'][lang]}", "", UI["intro"][lang], "", "| # | " + ("问题" if lang == "zh" else "question") + " | "
           + " | ".join(LABELS[s][lang] for s in (*COUNTED, "untested")) + " |",
           "|---|---|---|---|---|---|---|"]  # fmt: skip
    for q in views:
        n = {s: sum(1 for c in q.claims if c.status == s) for s in COUNTED}
        other = len(q.claims) - sum(n.values())
        out.append(
            f"| {q.entry.id} | [{q.entry.question[lang]}](q{q.entry.id:02d}.{lang}.md) | "
            + " | ".join(str(n[s]) for s in COUNTED) + f" | {other} |"
        )
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- build


def build_site(results_dir: Path | str, site_dir: Path | str, views: list[QuestionView] | None = None) -> Path:
    """Write ``index.html``, one page per question, ``style.css``, images and ``md/`` into ``site_dir``.

    ``site_dir`` must be a folder dlfaq may replace (:func:`dlfaq.publish.check_site_target`,
    raises :class:`~dlfaq.publish.UnsafeOutput`). The site is written to a temporary
    sibling that then takes its place in one atomic exchange (:func:`dlfaq.publish.publish`),
    so at every instant a complete old or new site is at ``site_dir``.
    """
    results_dir = Path(results_dir)
    site_dir = publish.check_site_target(site_dir, results_dir)
    views = collect(results_dir) if views is None else views
    cal, _ = schema.check_calibration(results_dir)
    return publish.publish(site_dir, lambda tmp: _write_site(tmp, views, results_dir, cal))


def _write_site(tmp: Path, views: list[QuestionView], results_dir: Path, cal: dict[str, Any] | None) -> None:
    """Fill the (new, empty) folder ``tmp`` with the whole site."""
    from dlfaq.report import site

    img = tmp / "img"
    img.mkdir()
    for q in views:
        for rec in q.records:
            src = evidence_dir(results_dir, rec["name"])
            if rec.get("figures"):
                (img / rec["name"]).mkdir()
            for fig in rec.get("figures", []):
                shutil.copy2(src / fig["file"], img / rec["name"] / fig["file"])
                zh = src / (fig["file"][:-4] + ".zh.png")  # its Chinese copy (experiments._plots.save_zh)
                if fig["file"].endswith(".png") and zh.is_file() and not zh.is_symlink():
                    shutil.copy2(zh, img / rec["name"] / zh.name)
    site.write(tmp, views, cal, _notebooks(tmp, views))
    md = tmp / "md"
    md.mkdir()
    for q in views:
        for lang in LANGS:
            (md / f"q{q.entry.id:02d}.{lang}.md").write_text(_question_md(q, lang, "../img"), encoding="utf-8")
    for lang in LANGS:
        (md / f"index.{lang}.md").write_text(_index_md(views, lang), encoding="utf-8")
    registry = discover()
    summary = {
        "claims": _counts(views),
        "experiments": sorted(registry),
        "questions": [{"id": q.entry.id, "claims": {c.id: c.status for c in q.claims}} for q in views],
    }
    (tmp / "summary.json").write_text(json.dumps(summary, indent=1, ensure_ascii=False), encoding="utf-8")


def _notebooks(tmp: Path, views: list[QuestionView]) -> dict[int, str]:
    """Write ``notebooks/qNN.ipynb`` for every question (when :mod:`dlfaq.notebooks` is there); their links."""
    try:
        from dlfaq.notebooks import write_notebook
    except ImportError:
        return {}
    out = tmp / "notebooks"
    out.mkdir()
    links = {}
    for q in views:
        try:
            path = write_notebook(q.entry.id, out)
        except ImportError:  # a question whose notebook module is not there yet gets no link
            continue
        links[q.entry.id] = f"notebooks/{Path(path).name}"
    return links

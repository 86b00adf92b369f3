"""Strings of the site in both languages, the topics of the sidebar, and zh for evidence text.

Experiments write their figure captions, table titles, column headers, cell labels
and notes in English. :func:`zh` finds their Chinese in :mod:`dlfaq.experiments.zh`:
first the exact string, then the string with every number replaced by ``#``
(the numbers are put back in order), so a caption that quotes a measured value
still translates. A string with no translation is returned as it is and
remembered in :data:`MISSING`, which the tests read.
"""

from __future__ import annotations

import re

from dlfaq.experiments.zh import MISSING, PREFIXES, ZH, template, zh  # noqa: F401 - re-exported

NAV = {
    "search": {"en": "Search questions, answers, claims…", "zh": "搜索问题、回答和论断…"},
    "search_label": {"en": "Search", "zh": "搜索"},
    "no_hits": {"en": "Nothing found.", "zh": "没有找到。"},
    "toc": {"en": "On this page", "zh": "本页内容"},
    "home": {"en": "All questions", "zh": "全部问题"},
    "prev": {"en": "Previous", "zh": "上一题"},
    "next": {"en": "Next", "zh": "下一题"},
    "other_lang": {"en": "中文", "zh": "English"},
    "notebook": {"en": "Notebook: rerun this question's experiments step by step",
                 "zh": "笔记本:一步一步重跑本题的实验"},
    "decided_by": {"en": "Decided by", "zh": "判定依据"},
    "decides": {"en": "Decides", "zh": "判定的论断"},
    "figure": {"en": "figure", "zh": "图"},
    "table": {"en": "table", "zh": "表"},
    "rows": {"en": "rows", "zh": "行"},
    "notes": {"en": "Notes on the set-up", "zh": "实验设置说明"},
    "stat": {"en": "effect {eff}, 95 % CI [{lo}, {hi}], n = {n}, margin {margin}",
             "zh": "效应 {eff},95% 区间 [{lo}, {hi}],n = {n},阈值 {margin}"},
    "why": {"en": "Why this verdict", "zh": "为什么是这个结论"},
    "no_evidence": {"en": "no experiment tests this claim yet", "zh": "还没有实验检验这条论断"},
    "claims_n": {"en": "{n} claims", "zh": "{n} 条论断"},
    "found": {"en": "Evidence found", "zh": "证据表明"},
    "all_hold": {"en": "every claim holds", "zh": "所有论断都成立"},
    "question": {"en": "Question", "zh": "问题"},
    "verdicts": {"en": "Verdicts", "zh": "结论"},
    "legend": {"en": "How to read the verdicts", "zh": "结论的含义"},
    "menu": {"en": "Questions", "zh": "问题列表"},
}

#: A symbol next to each verdict, so colour never carries it alone.
ICONS = {"supported": "✓", "partly": "◐", "contradicted": "✗", "inconclusive": "?", "untested": "○",
         "pending": "…", "failed": "!"}

LEGEND = {
    "supported": {"en": "the measured effect reaches the margin fixed before the run (or the exact check holds)",
                  "zh": "测得的效应达到运行前写定的阈值(或精确检验成立)"},
    "partly": {"en": "some parts of the claim hold, others do not", "zh": "论断的一部分成立,另一部分不成立"},
    "contradicted": {"en": "the evidence goes against the claim", "zh": "证据与论断相反"},
    "inconclusive": {"en": "this scale cannot decide the claim", "zh": "在这个规模上无法判定"},
    "untested": {"en": "no experiment tests it", "zh": "没有实验检验它"},
}

#: Sidebar topics, in reading order; every question is in exactly one.
TOPICS = [
    ({"en": "Setup and debugging", "zh": "环境与排错"}, [1, 2]),
    ({"en": "Architectures", "zh": "网络结构"}, [3, 4, 5, 13, 14]),
    ({"en": "Training and gradients", "zh": "训练与梯度"}, [8, 9, 11]),
    ({"en": "Regularization", "zh": "正则化"}, [7, 10, 15]),
    ({"en": "Outputs, losses and data", "zh": "输出、损失与数据"}, [6, 16, 17, 18]),
    ({"en": "Word embeddings", "zh": "词向量"}, [12]),
]


def topic_of(qid: int) -> dict[str, str]:
    for name, ids in TOPICS:
        if qid in ids:
            return name
    return {"en": "Other", "zh": "其他"}


def tr(text: str, lang: str) -> str:
    return zh(text) if lang == "zh" else text


_CODE_LIKE = re.compile(
    r"^[A-Za-z0-9_]+(?:[-_.][A-Za-z0-9_]+)+(?:\(\))?$"  # kebab/snake/dotted identifiers, calls
    r"|^[A-Za-z]*(?:Error|Exception|Warning)\b"  # an exception message
    r"|^(?:/|\./|~/|cd |export |mv |cp |ln |touch |PYTHONPATH=|pip |python\S* |\S+/python\S*)"  # paths, commands
    r"|^[\w.]+\([^()]*\)$"  # a call such as cuda.is_available()
)


def looks_like_code(text: str) -> bool:
    """A table cell that is an identifier, a command, a path or an error message: shown as code."""
    return bool(_CODE_LIKE.match(text.strip()))

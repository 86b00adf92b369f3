"""``dlfaq ask`` answers in the language the question was asked in, unless --lang says otherwise."""

from __future__ import annotations

import pytest

from dlfaq.cli import main
from dlfaq.faq import get_entry


def _ask(capsys, *args: str) -> str:
    with pytest.raises(SystemExit) as exc:
        main(["ask", *args])
    out = capsys.readouterr().out
    assert exc.value.code == 0, out
    return out


def test_the_question_language_wins_over_the_locale(capsys, monkeypatch):
    for var in ("LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(var, raising=False)
    q18 = get_entry(18)
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    zh = _ask(capsys, "交叉熵应该输入 logits 还是概率")
    assert f"Q18. {q18.question['zh']}" in zh and q18.question["en"] not in zh
    forced = _ask(capsys, "交叉熵应该输入 logits 还是概率", "--lang", "en")
    assert f"Q18. {q18.question['en']}" in forced
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    en = _ask(capsys, "should cross entropy take logits or probabilities")
    assert f"Q18. {q18.question['en']}" in en and q18.question["zh"] not in en

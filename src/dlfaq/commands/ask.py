"""``dlfaq ask "QUESTION"``: find the FAQ entries that answer a question in one's own words."""

from __future__ import annotations

import typer

from dlfaq.commands._common import (
    JsonOpt,
    UserError,
    check_int,
    check_lang,
    default_lang,
    print_json,
    print_markdown,
    print_table,
)

AskLangOpt = typer.Option(None, "--lang", help="Language of the answer: zh or en (default: the question's "
                          "language, from its characters; the locale when it has no letters).")
MAX_QUESTION = 2000  # characters; a question, not a document


def ask_cmd(
    question: str = typer.Argument(..., metavar="QUESTION", help="A question in Chinese or English."),
    top: int = typer.Option(3, "--top", help="How many entries to list (1-18)."),
    lang: str = AskLangOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Rank the FAQ entries for a question, then show the best entry's answer."""
    from dlfaq.faq import get_entry
    from dlfaq.faq.search import MIN_SCORE, ask, is_match, query_lang

    if lang is not None:
        lang = check_lang(lang)
    if not question.strip():
        raise UserError("the question is empty")
    if len(question) > MAX_QUESTION:
        raise UserError(f"the question is {len(question)} characters long; ask in at most {MAX_QUESTION}")
    check_int(top, "--top", 1, 18)
    if lang is None:  # answer in the language the question was asked in
        lang = query_lang(question) if any(ch.isalpha() for ch in question) else default_lang()
    hits, confident = ask(question, k=top)
    if as_json:
        print_json([{"id": h.id, "score": h.score, "match": is_match(question, h)} for h in hits])
        return
    rows = [[h.id, f"{h.score:.3f}", get_entry(h.id).question[lang]] for h in hits]
    print_table(["#", "score", "问题" if lang == "zh" else "question"], rows)
    print()
    if not confident:
        msg = (
            f"没有足够相关的条目(最高分 {hits[0].score:.3f} 低于 {MIN_SCORE[query_lang(question)]});试试换个说法,或用 `dlfaq list` 浏览全部问题。"
            if lang == "zh"
            else f"No entry matches well (best score {hits[0].score:.3f} < {MIN_SCORE[query_lang(question)]}); try other words, "
            "or browse them all with `dlfaq list`."
        )
        print(msg)
        return
    best = get_entry(hits[0].id)
    print(f"Q{best.id}. {best.question[lang]}\n")
    print_markdown(best.answer[lang])


def register(app: typer.Typer) -> None:
    app.command("ask")(ask_cmd)

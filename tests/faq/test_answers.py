"""The answers quote measured numbers through placeholders, never by typing them."""

from __future__ import annotations

import pytest

from dlfaq.faq import load_all
from dlfaq.report import quotes


def test_typed_numbers_finds_what_it_should():
    text = "We measured 2.7× and 10.8 % (cf. {{hs.metrics.x:.1f}}), `lr=0.01`, $p=0.5$, 7,188 nodes, 3 layers, T = 20."
    assert quotes.typed_numbers(text) == ["2.7×", "10.8 %", "7,188"]


@pytest.mark.parametrize("entry", load_all(), ids=lambda e: f"q{e.id:02d}")
def test_no_measured_number_is_typed_into_an_answer(entry):
    allowed = set(entry.extra.get("cited_numbers", []))
    for lang in ("en", "zh"):
        typed = [t for t in quotes.typed_numbers(entry.answer[lang]) if t not in allowed]
        assert typed == [], f"q{entry.id:02d} ({lang}) types numbers: {typed}; use a placeholder or cite them"


@pytest.mark.parametrize("entry", load_all(), ids=lambda e: f"q{e.id:02d}")
def test_placeholders_are_well_formed_and_name_an_experiment_of_the_question(entry):
    shorts = {name.split(".", 1)[1] for name in entry.experiments}
    claims = {c.id for c in entry.claims}
    for lang in ("en", "zh"):
        for p in quotes.parse(entry.answer[lang]):
            if p.claim is not None:
                assert p.claim in claims, p.text
            else:
                assert p.experiment in shorts, f"{p.text}: q{entry.id:02d} has no experiment {p.experiment!r}"


@pytest.mark.parametrize("entry", load_all(), ids=lambda e: f"q{e.id:02d}")
def test_every_formula_in_an_answer_typesets(entry):
    """Each $...$ / $$...$$ of an answer becomes MathML (an unknown command would fall back to text)."""
    from dlfaq.report import math as tex

    for lang in ("en", "zh"):
        for latex, display in tex.spans(entry.answer[lang]):
            assert tex.to_mathml(latex, display).startswith("<math"), f"q{entry.id:02d} ({lang}): {latex!r}"


def test_q03_quotes_what_dlfaq_shape_layer_prints():
    """The answer's command line and the output it quotes agree with the real CLI, in both languages."""
    import re

    from typer.testing import CliRunner

    from dlfaq.cli import app
    from dlfaq.faq import get_entry

    entry = get_entry(3)
    found = set()
    for lang in ("en", "zh"):
        text = entry.answer[lang]
        cmd = re.search(r"`dlfaq (shape layer [^`]+)`", text)
        quoted = re.search(r"`(Conv2d\([^`]+)`", text)
        assert cmd and quoted, lang
        found.add((cmd.group(1), quoted.group(1)))
    assert len(found) == 1, found  # both languages quote the same command and output
    ((args, expected),) = found
    r = CliRunner().invoke(app, args.split())
    assert r.exit_code == 0, r.output
    assert r.stdout.strip() == expected

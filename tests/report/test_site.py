"""The documentation site: maths as MathML, offline search in both languages, navigation,
claims linked to their evidence, verdict colours with AA contrast, and a Chinese view that is Chinese."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from importlib import resources
from pathlib import Path

import pytest
from site_text import english_function_words, visible_text

from dlfaq.report import build_site, i18n, searchindex
from dlfaq.report import math as tex

#: The issue's acceptance bound: English function words in the zh view of a question page.
MAX_ENGLISH_WORDS = 5


@pytest.fixture(scope="module")
def bare_site(tmp_path_factory) -> Path:
    """The site with no evidence yet: answers, claims, navigation and search only."""
    root = tmp_path_factory.mktemp("bare")
    (root / "results").mkdir()
    return build_site(root / "results", root / "site")


class Anchors(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[dict[str, str]] = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self.links.append({k: v or "" for k, v in attrs})


# --------------------------------------------------------------------------- maths


def test_latex_becomes_mathml_outside_code_only():
    text = "Inline $\\sigma(z)^{30}$, display\n\n$$h_t = \\tanh(W x_t)$$\n\nand code `a $x$ b` stays; costs $5 and $6."
    protected, rendered = tex.protect(text)
    assert len(rendered) == 2 and "`a $x$ b`" in protected
    out = tex.restore(protected, rendered)
    assert out.count("<math") == 2 and 'display="block"' in out
    assert 'alttext="\\sigma(z)^{30}"' in out  # the LaTeX stays readable where MathML does not render
    assert "<msup>" in out and "<mi>&#x003C3;</mi>" in out  # σ
    assert tex.plain(text).startswith("Inline \\sigma(z)^{30}, display")


def test_a_formula_latex2mathml_cannot_read_stays_text():
    assert tex.to_mathml("\\notacommand{x}").startswith('<code class="tex">')


@pytest.mark.parametrize("qid", [4, 5, 8, 16, 17])
def test_pages_of_the_formula_questions_contain_mathml(bare_site: Path, qid: int):
    for name in (f"q{qid:02d}.html", f"q{qid:02d}.zh.html"):
        page = (bare_site / name).read_text(encoding="utf-8")
        assert page.count("<math") >= 2, name
        assert "$" not in visible_text(page), f"{name}: an unrendered $ delimiter"


# --------------------------------------------------------------------------- search


def test_tokens_cut_chinese_into_bigrams_and_keep_words():
    assert searchindex.tokens("Dropout 为什么能缓解过拟合?") == ["dropout", "为什", "什么", "么能", "能缓", "缓解",
                                                             "解过", "过拟", "拟合"]
    assert searchindex.tokens("梯度") == ["梯度"] and searchindex.tokens("度") == ["度"]


def test_search_finds_the_question_in_both_languages(bare_site: Path):
    js = (bare_site / "search-index.js").read_text(encoding="utf-8")
    assert js.startswith("window.DLFAQ_INDEX = ")
    import json

    index = json.loads(js[len("window.DLFAQ_INDEX = "):].rstrip().rstrip(";"))
    assert searchindex.search(index, "层次 softmax", "zh")[0]["u"] == "q16.zh.html"
    assert searchindex.search(index, "hierarch softm", "en")[0]["u"] == "q16.html"  # Latin words match by prefix
    assert searchindex.search(index, "蒸馏", "zh")[0]["u"].startswith("q17.zh.html")
    hits = searchindex.search(index, "forget gate", "en")
    assert hits and all(h["l"] == "en" for h in hits) and hits[0]["u"].startswith(("q05", "q13", "q08"))
    claim_hits = [h for h in searchindex.search(index, "ldconfig", "en", limit=50) if h["k"] == "claim"]
    assert any(h["u"].startswith("q01.html#q01.") for h in claim_hits)  # claims are searchable, with an anchor
    assert searchindex.search(index, "sourdough", "en") == []
    # search.js is shipped and tokenizes as the Python side does
    script = (bare_site / "search.js").read_text(encoding="utf-8")
    assert "\\u4e00-\\u9fff" in script and "substr(i, 2)" in script


# --------------------------------------------------------------------------- navigation


def test_every_page_has_sidebar_breadcrumb_toc_and_links_to_the_next_question(bare_site: Path):
    for lang, sfx in (("en", ""), ("zh", ".zh")):
        for qid in range(1, 19):
            page = (bare_site / f"q{qid:02d}{sfx}.html").read_text(encoding="utf-8")
            p = Anchors()
            p.feed(page)
            nxt = [a["href"] for a in p.links if a.get("rel") == "next"]
            assert nxt == [f"q{qid % 18 + 1:02d}{sfx}.html"], (lang, qid)
            assert [a["href"] for a in p.links if a.get("rel") == "prev"] == [f"q{(qid - 2) % 18 + 1:02d}{sfx}.html"]
            side = [a["href"] for a in p.links if re.fullmatch(r"q\d\d(\.zh)?\.html", a.get("href", ""))]
            assert {f"q{i:02d}{sfx}.html" for i in range(1, 19)} <= set(side)
            assert 'class="crumbs"' in page and 'class="toc"' in page and 'aria-current="page"' in page
            twin = f"q{qid:02d}{'' if sfx else '.zh'}.html"
            assert any(a.get("class") == "langswitch" and a["href"] == twin for a in p.links)
            assert f'<html lang="{lang}">' in page


def test_sidebar_puts_every_question_in_one_topic():
    ids = [q for _, qs in i18n.TOPICS for q in qs]
    assert sorted(ids) == list(range(1, 19))


def test_index_counts_say_the_verdict_in_words_and_symbols(bare_site: Path):
    for name, word in (("index.html", "not yet tested"), ("index.zh.html", "尚未运行")):
        page = (bare_site / name).read_text(encoding="utf-8")
        assert 'class="counts"' in page and 'class="finding"' in page and word in page
        assert "`" not in visible_text(page)  # no literal Markdown backticks
    en = (bare_site / "index.html").read_text(encoding="utf-8")
    assert re.search(r'class="count v-untested"><span class="big">○ \d+</span><span class="lbl">not yet tested', en)


def _luminance(hex_colour: str) -> float:
    rgb = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def test_verdict_colours_reach_wcag_aa_contrast_against_white():
    css = resources.files("dlfaq.report").joinpath("style.css").read_text(encoding="utf-8")
    colours = dict(re.findall(r"--(ok|partly|no|untested|inconclusive|failed|muted|link): (#[0-9a-f]{6})", css))
    assert len(colours) == 8
    for name, c in colours.items():
        ratio = (1.0 + 0.05) / (_luminance(c) + 0.05)  # WCAG 2.x contrast ratio with white
        assert ratio >= 4.5, f"--{name} {c}: contrast {ratio:.2f} < 4.5"


# --------------------------------------------------------------------------- languages


def test_zh_pages_without_evidence_are_chinese(bare_site: Path):
    counts = {p.name: len(english_function_words(p.read_text(encoding="utf-8")))
              for p in sorted(bare_site.glob("*.zh.html"))}
    assert len(counts) == 19
    assert max(counts.values()) <= MAX_ENGLISH_WORDS, counts


def test_function_word_counter_counts_what_it_should():
    page = ('<html lang="zh"><body><p>这是中文 with the seed</p><code>for the loop</code>'
            '<section class="refs">Smith and Jones</section><p>fan_in, not-on-sys-path, A, (a)</p></body></html>')
    assert english_function_words(page) == ["with", "the", "seed"]


def test_evidence_strings_translate_by_template():
    assert i18n.zh("Recalling the first token after T distractors (5 seeds; chance 0.143)") == \
        "在 T 个干扰符号之后回忆第一个符号(5 个随机种子;随机猜测 0.143)"
    assert i18n.zh("gain (points)") == "增益(百分点)"
    assert i18n.zh("LSTM") == "LSTM"  # names stay
    assert i18n.looks_like_code("not-on-sys-path") and i18n.looks_like_code("ModuleNotFoundError: No module")
    assert not i18n.looks_like_code("random over-sampling")


@pytest.mark.slow
def test_zh_view_of_every_question_page_with_all_evidence(tmp_path: Path):
    """All 18 questions' experiments in the smoke profile, then the issue's bound on every zh page."""
    from dlfaq.experiments import RunContext, discover, run_experiment

    results = tmp_path / "results"
    for _, spec in sorted(discover().items()):
        run_experiment(spec, RunContext(profile="smoke", out_dir=results))
    site = build_site(results, tmp_path / "site")
    counts = {p.name: english_function_words(p.read_text(encoding="utf-8")) for p in sorted(site.glob("q*.zh.html"))}
    assert len(counts) == 18
    assert max(len(w) for w in counts.values()) <= MAX_ENGLISH_WORDS, {k: v for k, v in counts.items() if len(v) > 5}


def test_chinese_figure_copy_is_made_and_used_by_the_zh_page(tmp_path: Path):
    """save_zh draws the figure's texts in Chinese (when a CJK font is there), and the zh page shows
    that copy while the en page keeps the original."""
    import json

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from dlfaq.experiments import _plots

    folder = tmp_path / "res" / "q17" / "distill-mnist1d"
    folder.mkdir(parents=True)
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot([1, 2, 3])
    ax.set_xlabel("temperature T")
    ax.set_ylabel("test accuracy")
    fig.savefig(folder / "curve.png")
    made = _plots.save_zh(fig, folder / "curve.png")
    plt.close(fig)
    if _plots.cjk_font() is None:
        assert not made and not (folder / "curve.zh.png").exists()
        pytest.skip("no Chinese-capable font here (apt-get install fonts-noto-cjk)")
    assert made and (folder / "curve.zh.png").stat().st_size > 1000
    assert ax.get_xlabel() == "温度 T" and ax.get_ylabel() == "测试准确率"
    rec = {"schema": 2, "name": "q17.distill-mnist1d", "question": 17, "status": "ok", "profile": "smoke", "seed": 0,
           "metrics": {}, "tables": [], "verdicts": [],
           "figures": [{"name": "curve", "file": "curve.png", "caption": "Student test accuracy against the "
                        "distillation temperature."}]}
    (folder / "evidence.json").write_text(json.dumps(rec), encoding="utf-8")
    site = build_site(tmp_path / "res", tmp_path / "site")
    zh_page = (site / "q17.zh.html").read_text(encoding="utf-8")
    assert 'src="img/q17.distill-mnist1d/curve.zh.png"' in zh_page and "学生的测试准确率随蒸馏温度的变化" in zh_page
    assert 'src="img/q17.distill-mnist1d/curve.png"' in (site / "q17.html").read_text(encoding="utf-8")


def test_every_question_page_links_its_notebook(bare_site: Path):
    pytest.importorskip("dlfaq.notebooks")
    for qid in range(1, 19):
        for sfx in ("", ".zh"):
            page = (bare_site / f"q{qid:02d}{sfx}.html").read_text(encoding="utf-8")
            assert f'href="notebooks/q{qid:02d}.ipynb"' in page, (qid, sfx)
        assert (bare_site / "notebooks" / f"q{qid:02d}.ipynb").is_file()

"""The static report: every link and image resolves, nothing comes from the network,
all 18 questions appear, and an interrupted build leaves the previous site alone."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlparse

import pytest

from dlfaq.experiments import RunContext, discover, run_experiment
from dlfaq.report import build, build_site


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.refs: list[tuple[str, str, str]] = []  # (tag, attr, value)
        self.ids: set[str] = set()
        self.langs: set[str] = set()
        self.html_lang: str | None = None

    def handle_starttag(self, tag, attrs):
        d = dict(attrs)
        for attr in ("href", "src"):
            if d.get(attr):
                self.refs.append((tag, attr, d[attr]))
        if "id" in d:
            self.ids.add(d["id"])
        if "lang" in d:
            self.langs.add(d["lang"])
        if tag == "html":
            self.html_lang = d.get("lang")


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    results = tmp_path_factory.mktemp("results")
    for name in ("q03.feature-map-sizes", "q18.logits"):
        rec = run_experiment(discover()[name], RunContext(profile="smoke", out_dir=results))
        assert rec["status"] == "ok", rec.get("error")
    return build_site(results, results / "site")


def test_every_link_and_image_resolves_and_nothing_is_remote(site: Path):
    pages = sorted(site.glob("*.html"))
    assert len(pages) == 38  # index + 18 questions, each in en (NAME.html) and zh (NAME.zh.html)
    parsed = {}
    for page in pages:
        p = Links()
        p.feed(page.read_text(encoding="utf-8"))
        parsed[page.name] = p
        assert p.html_lang == ("zh" if page.name.endswith(".zh.html") else "en"), page.name
    checked = 0
    for name, p in parsed.items():
        for tag, attr, value in p.refs:
            if value == "data:,":  # the empty favicon, so browsers do not request /favicon.ico
                continue
            url = urlparse(value)
            assert url.scheme in ("", "file") and not url.netloc, f"{name}: remote {tag} {attr}={value}"
            if url.path:
                target = (site / url.path).resolve()
                assert target.is_file(), f"{name}: {value} does not resolve"
                assert site.resolve() in target.parents, f"{name}: {value} leaves the site"
            if url.fragment:  # every #anchor names an element of the page it points to
                ids = parsed[url.path].ids if url.path else p.ids
                assert url.fragment in ids, f"{name}: {value} points to no element"
            checked += 1
    assert checked > 40
    images = list((site / "img").rglob("*.png"))
    assert len(images) >= 2


def test_index_lists_all_questions_with_verdicts(site: Path):
    index = (site / "index.html").read_text(encoding="utf-8")
    for qid in range(1, 19):
        assert f'href="q{qid:02d}.html"' in index
        assert f'href="q{qid:02d}.zh.html"' in (site / "index.zh.html").read_text(encoding="utf-8")
    q03 = (site / "q03.html").read_text(encoding="utf-8")
    assert "q03.conv-output-formula" in q03 and "receptive-field.png" in q03
    # verdict badges are computed from evidence, and untested questions say so
    assert any(s in q03 for s in ("v-ok", "v-partly", "v-no"))
    summary = (site / "md" / "index.en.md").read_text(encoding="utf-8")
    assert summary.count("\n| ") >= 18


def test_markdown_images_resolve(site: Path):
    import re

    for md in (site / "md").glob("*.md"):
        for ref in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md.read_text(encoding="utf-8")):
            assert (md.parent / ref).resolve().is_file(), f"{md.name}: {ref}"


def test_interrupted_build_keeps_previous_site(site: Path, monkeypatch):
    before = (site / "index.html").read_text(encoding="utf-8")

    def boom(*args, **kwargs):
        raise RuntimeError("disk full, say")

    monkeypatch.setattr(build, "_question_html", boom)
    with pytest.raises(RuntimeError):
        build_site(site.parent, site)
    assert (site / "index.html").read_text(encoding="utf-8") == before
    leftovers = [p.name for p in site.parent.iterdir() if p.name.startswith(".site-")]
    assert leftovers == []


def test_experiment_verdicts_show_their_statistics_control_and_filled_numbers(tmp_path: Path):
    """A schema-2 record: the claim shows its kind and reason in both languages, the control table
    says whether the control reproduced, and a placeholder in the answer is filled from evidence."""
    import json

    from dlfaq.experiments import measured, stats
    from dlfaq.faq import get_entry
    from dlfaq.report import quotes

    ctrl = stats.Control({"en": "wide MLP overfits", "zh": "宽网络过拟合"},
                         stats.effect([2.0, 3.0, 2.5, 2.8, 3.1], "points"), 1.0, "Srivastava et al. 2014")
    v = measured("q07.reduces-overfitting", stats.effect([0.1, -0.2, 0.3, 0.0, 0.2], "points"), 1.0,
                 control=ctrl, rule={"en": "gain in points", "zh": "增益(百分点)"})
    folder = tmp_path / "res" / "q07" / "dropout-sweeps"
    folder.mkdir(parents=True)
    rec = {"schema": 2, "name": "q07.dropout-sweeps", "question": 7, "status": "ok", "profile": "quick", "seed": 0,
           "metrics": {"gain": 0.08}, "tables": [], "figures": [], "verdicts": [v.to_json()]}
    (folder / "evidence.json").write_text(json.dumps(rec), encoding="utf-8")
    view = build.question_view(get_entry(7), tmp_path / "res")
    (claim,) = [c for c in view.claims if c.id == "q07.reduces-overfitting"]
    assert claim.status == "contradicted" and claim.kind == "experiment"
    assert "95 %" in claim.reason["en"] and "95%" in claim.reason["zh"]
    page = build._question_html(view, "img", lang="zh")
    assert "宽网络过拟合" in page and "Srivastava et al. 2014" in page and "+2.68" in page
    # the claim shows the statistic that decided it, in the page's language
    assert "效应 +0.08" in page and "95% 区间 [" in page and "n = 5" in page
    text = "gain {{dropout-sweeps.metrics.gain:.2f}} and {{claim:q07.reduces-overfitting.verdict}}"
    assert quotes.render(text, 7, {"q07.dropout-sweeps": rec}) == "gain 0.08 and contradicted"
    assert quotes.render(text, 7, {}, lang="zh") == "gain 〔尚未测量〕 and 〔尚未测量〕"
    with pytest.raises(quotes.QuoteError):
        quotes.render("{{dropout-sweeps.metrics.nothing}}", 7, {"q07.dropout-sweeps": rec}, strict=True)


def test_each_claim_links_to_the_evidence_that_decided_it_and_back(site: Path):
    """Every judged claim names its statistic's figure or table by an anchor on the page, and that
    figure or table links back to the claim (both languages)."""
    import re

    from site_text import english_function_words

    for name in ("q03.html", "q03.zh.html", "q18.html", "q18.zh.html"):
        page = (site / name).read_text(encoding="utf-8")
        claims = re.findall(r'<li class="claim" id="([^"]+)">(.*?)</li>(?=<li class="claim"|</ul>)', page, re.S)
        assert claims, name
        for cid, body in claims:
            links = re.findall(r'class="evlink" href="#([^"]+)"', body)
            assert links, f"{name}: {cid} links to no evidence"
            for target in links:
                assert f'id="{target}"' in page
            back = re.findall(r'<p class="decides">(.*?)</p>', page, re.S)  # under each figure and table
            assert any(f'href="#{cid}"' in b for b in back), f"{name}: no figure or table names {cid}"
        if name.endswith(".zh.html"):
            assert len(english_function_words(page)) <= 5, (name, english_function_words(page))

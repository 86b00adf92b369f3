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

    def handle_starttag(self, tag, attrs):
        d = dict(attrs)
        for attr in ("href", "src"):
            if d.get(attr):
                self.refs.append((tag, attr, d[attr]))
        if "id" in d:
            self.ids.add(d["id"])
        if "lang" in d:
            self.langs.add(d["lang"])


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    results = tmp_path_factory.mktemp("results")
    for name in ("q03.feature-map-sizes", "q18.logits"):
        rec = run_experiment(discover()[name], RunContext(profile="smoke", out_dir=results))
        assert rec["status"] == "ok", rec.get("error")
    return build_site(results, results / "site")


def test_every_link_and_image_resolves_and_nothing_is_remote(site: Path):
    pages = sorted(site.glob("*.html"))
    assert len(pages) == 19  # index + 18 questions
    checked = 0
    for page in pages:
        p = Links()
        p.feed(page.read_text(encoding="utf-8"))
        assert {"zh", "en"} <= p.langs, page.name
        for tag, attr, value in p.refs:
            url = urlparse(value)
            assert url.scheme in ("", "file") and not url.netloc, f"{page.name}: remote {tag} {attr}={value}"
            if url.path:
                target = (page.parent / url.path).resolve()
                assert target.is_file(), f"{page.name}: {value} does not resolve"
                assert site.resolve() in target.parents, f"{page.name}: {value} leaves the site"
            checked += 1
    assert checked > 40
    images = list((site / "img").rglob("*.png"))
    assert len(images) >= 2


def test_index_lists_all_questions_with_verdicts(site: Path):
    index = (site / "index.html").read_text(encoding="utf-8")
    for qid in range(1, 19):
        assert f'href="q{qid:02d}.html"' in index
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

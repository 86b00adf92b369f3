"""The site in a real browser (headless Chromium through Selenium): every page opens with no console
error and no broken image or script, the language switch works, search finds and opens a question,
and a claim's evidence link lands on the figure or table that decided it. Screenshots of the index and
two question pages are saved for CI.

Run: ``python -m pytest -m browser tests/browser -p no:xdist`` (needs ``pip install selenium`` and
Debian's ``chromium`` and ``chromium-driver``; skipped where they are missing). Screenshots go to
``$DLFAQ_BROWSER_ARTEFACTS`` (default: ``screenshots/`` in the test's temporary results folder).
Set ``DLFAQ_BROWSER_SITE`` to check an existing site (e.g. ``dlfaq-results/site``) instead of building
one from smoke runs.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

webdriver = pytest.importorskip("selenium.webdriver", reason="pip install selenium")

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
DRIVER = shutil.which("chromedriver")
if not (CHROMIUM and DRIVER):  # pragma: no cover - depends on the machine
    pytest.skip("no chromium / chromedriver (apt-get install chromium chromium-driver)", allow_module_level=True)

from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

#: Experiments run (smoke profile) for the built site: with figures, folded tables and MathML.
EXPERIMENTS = ("q03.feature-map-sizes", "q05.gates-delayed-recall", "q17.distill-mnist1d", "q18.logits")


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    given = os.environ.get("DLFAQ_BROWSER_SITE")
    if given:
        return Path(given).resolve()
    from dlfaq.experiments import RunContext, discover, run_experiment
    from dlfaq.report import build_site

    results = tmp_path_factory.mktemp("results")
    for name in EXPERIMENTS:
        rec = run_experiment(discover()[name], RunContext(profile="smoke", out_dir=results))
        assert rec["status"] == "ok", rec.get("error")
    return build_site(results, results / "site")


@pytest.fixture(scope="module")
def artefacts(site: Path) -> Path:
    out = Path(os.environ.get("DLFAQ_BROWSER_ARTEFACTS") or site.parent / "screenshots")
    out.mkdir(parents=True, exist_ok=True)
    return out


@pytest.fixture(scope="module")
def browser():
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1400,1000", "--lang=en-US", "--allow-file-access-from-files"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    from selenium.webdriver.chrome.service import Service

    drv = webdriver.Chrome(service=Service(DRIVER), options=opts)
    drv.set_page_load_timeout(60)
    yield drv
    drv.quit()


def _errors(drv) -> list[str]:
    """Console messages of level SEVERE since the last call (failed loads appear here too)."""
    return [f"{e['level']}: {e['message']}" for e in drv.get_log("browser") if e["level"] == "SEVERE"]


def _open(drv, url: str) -> None:
    """Load a page and every image on it (the site's images load lazily)."""
    drv.get(url)
    WebDriverWait(drv, 30).until(lambda d: d.execute_script("return document.readyState") == "complete")
    drv.execute_script("document.querySelectorAll('img').forEach(function(i){i.loading='eager'})")
    WebDriverWait(drv, 30).until(
        lambda d: d.execute_script("return [...document.images].every(function(i){return i.complete})"))


_BROKEN = """
var bad = [];
document.querySelectorAll('img').forEach(function (i) { if (!i.complete || i.naturalWidth === 0) bad.push(i.src); });
if (!window.DLFAQ_INDEX) bad.push('search-index.js did not load');
if (!window.dlfaqSearch) bad.push('search.js did not load');
if (!getComputedStyle(document.body).fontFamily) bad.push('style.css');
return bad;
"""


def test_every_page_opens_without_console_errors_or_broken_resources(browser, site: Path):
    pages = sorted(site.glob("*.html"))
    assert len(pages) >= 38
    browser.get_log("browser")
    for page in pages:
        _open(browser, page.as_uri())
        assert browser.execute_script(_BROKEN) == [], page.name
        assert _errors(browser) == [], page.name
        lang = "zh" if page.name.endswith(".zh.html") else "en"
        assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == lang


def test_language_switch_goes_to_the_twin_page_and_keeps_the_anchor(browser, site: Path):
    _open(browser, (site / "q05.html").as_uri() + "#claims")
    browser.find_element(By.CSS_SELECTOR, "a.langswitch").click()
    WebDriverWait(browser, 30).until(lambda d: d.current_url.split("#")[0].endswith("q05.zh.html"))
    assert browser.current_url.endswith("#claims")
    assert browser.find_element(By.TAG_NAME, "h1").text.startswith("Q5 LSTM")
    assert "门" in browser.find_element(By.TAG_NAME, "h1").text
    browser.find_element(By.CSS_SELECTOR, "a.langswitch").click()
    WebDriverWait(browser, 30).until(lambda d: d.current_url.split("#")[0].endswith("q05.html"))
    assert _errors(browser) == []


def test_search_finds_a_question_in_each_language_and_opens_it(browser, site: Path):
    for page, query, target in (("index.zh.html", "层次 softmax", "q16.zh.html"),
                                ("index.html", "distill temperature", "q17.html")):
        _open(browser, (site / page).as_uri())
        box = browser.find_element(By.ID, "search")
        box.send_keys(query)
        results = browser.find_element(By.ID, "search-results")
        WebDriverWait(browser, 10).until(lambda d, r=results: r.is_displayed() and r.find_elements(By.TAG_NAME, "a"))
        first = results.find_elements(By.TAG_NAME, "a")[0]
        assert first.get_attribute("href").split("#")[0].endswith(target), (query, first.get_attribute("href"))
        first.click()
        WebDriverWait(browser, 30).until(lambda d, t=target: d.current_url.split("#")[0].endswith(t))
    assert _errors(browser) == []


def test_a_claim_links_to_the_figure_or_table_that_decided_it(browser, site: Path):
    checked = 0
    for name in ("q03.html", "q05.zh.html", "q17.html"):
        _open(browser, (site / name).as_uri())
        links = browser.find_elements(By.CSS_SELECTOR, "a.evlink")
        assert links, name
        for i in range(len(links)):
            link = browser.find_elements(By.CSS_SELECTOR, "a.evlink")[i]
            target = link.get_attribute("href").split("#", 1)[1]
            browser.execute_script("arguments[0].scrollIntoView(); arguments[0].click();", link)
            WebDriverWait(browser, 10).until(lambda d, t=target: d.current_url.endswith("#" + t))
            el = browser.find_element(By.ID, target)
            assert el.is_displayed(), f"{name}: #{target} is hidden (a fold did not open)"
            assert browser.execute_script("var r = arguments[0].getBoundingClientRect();"
                                          "return r.bottom > 0 && r.top < innerHeight;", el), target
            # the figure or table names the claim back
            assert el.find_elements(By.CSS_SELECTOR, ".decides a"), target
            checked += 1
    assert checked >= 5
    assert _errors(browser) == []


def test_maths_is_rendered_as_mathml(browser, site: Path):
    _open(browser, (site / "q05.html").as_uri())
    maths = browser.find_elements(By.TAG_NAME, "math")
    assert len(maths) >= 6
    assert all(m.size["width"] > 10 for m in maths[:6])  # laid out, not an empty box


def test_site_works_from_a_web_server(browser, site: Path):
    status: list[tuple[str, int]] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_request(self, code="-", size="-"):  # record every request's status instead of printing it
            status.append((self.path, int(code) if str(code).isdigit() else 0))

    handler = functools.partial(Handler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}/"
        for name in ("index.html", "q17.zh.html"):
            _open(browser, base + name)
            assert browser.execute_script(_BROKEN) == [], name
        assert _errors(browser) == []
        assert {"/index.html", "/q17.zh.html", "/search-index.js"} <= {path for path, _ in status}
        assert [s for s in status if s[1] not in (200, 304)] == []  # 404-free, the favicon too
    finally:
        server.shutdown()
        server.server_close()


def test_screenshots_of_the_index_and_two_question_pages(browser, site: Path, artefacts: Path):
    heights = {}
    for name in ("index.html", "q17.html", "q05.zh.html"):
        _open(browser, (site / name).as_uri())
        height = browser.execute_script("return document.documentElement.scrollHeight")
        heights[name] = height
        browser.set_window_size(1400, min(max(height, 800), 8000))
        shot = artefacts / name.replace(".html", ".png")
        assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
    browser.set_window_size(1400, 1000)
    (artefacts / "page-heights.txt").write_text(
        "".join(f"{k}\t{v} px at 1400 px width\n" for k, v in heights.items()), encoding="utf-8")

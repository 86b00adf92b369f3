"""The HTML site: one page per question and language, with navigation, search, MathML and evidence links.

Every page exists twice, ``qNN.html`` (English) and ``qNN.zh.html`` (Chinese),
so a shared link opens in its language without JavaScript; the switch in the
header is a link to the twin page. Each page has:

* a header with the search box (``search.js`` over ``search-index.js``, both
  shipped in the site) and the language link;
* a sidebar with the 18 questions grouped by topic, each with its verdict counts
  (symbol and number, never colour alone);
* a breadcrumb, a table of contents, previous/next links (Q18's next is Q1);
* each claim with its verdict, the statistic that decided it (effect, 95 %
  interval, n, margin) and links to the figures and tables named in the verdict's
  ``evidence``; each figure and table names the claims it decides;
* long tables, notes and the raw metrics folded into ``<details>``.

Only relative links, no fonts, scripts or styles from the network: it works from
``file://`` and from any static web server.
"""

from __future__ import annotations

import html
import json
import re
import time
from pathlib import Path
from typing import Any

from dlfaq.report import i18n
from dlfaq.report import math as tex
from dlfaq.report.i18n import ICONS, LEGEND, NAV, TOPICS, topic_of, tr

LANGS = ("zh", "en")
#: Tables longer than this many rows are folded.
FOLD_ROWS = 6
#: Table columns whose cells are data (words of a vocabulary), shown as code, never translated.
LITERAL_COLUMNS = {"word", "words", "token", "deepest word"}
#: Notes longer than this many characters are folded.
FOLD_NOTES = 300


def suffix(lang: str) -> str:
    return "" if lang == "en" else f".{lang}"


def page_name(stem: str, lang: str) -> str:
    return f"{stem}{suffix(lang)}.html"


def qstem(qid: int) -> str:
    return f"q{qid:02d}"


def esc(x: Any) -> str:
    return html.escape("" if x is None else str(x))


def anchor(rec_name: str, item: str) -> str:
    """The id of a figure or table of an evidence record."""
    return f"{rec_name}--{item}"


def md(text: str) -> str:
    """Markdown to HTML, with ``$...$`` / ``$$...$$`` typeset as MathML."""
    from markdown_it import MarkdownIt

    protected, rendered = tex.protect(text)
    out = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table").render(protected)
    return tex.restore(out, rendered)


def _b():
    from dlfaq.report import build

    return build


# --------------------------------------------------------------------------- pieces


def badge(status: str, lang: str) -> str:
    b = _b()
    return (f'<span class="badge v-{b.VERDICT_CLASS[status]}"><span aria-hidden="true">{ICONS[status]}</span> '
            f"{esc(b.LABELS[status][lang])}</span>")


def counts_of(q) -> dict[str, int]:
    out: dict[str, int] = {}
    for c in q.claims:
        out[c.status] = out.get(c.status, 0) + 1
    return out


def mini_counts(q, lang: str) -> str:
    b = _b()
    n = counts_of(q)
    parts = []
    for s in b.LABELS:
        if n.get(s):
            parts.append(f'<span class="mc v-{b.VERDICT_CLASS[s]}-t" title="{esc(b.LABELS[s][lang])}">'
                         f'{ICONS[s]}{n[s]}</span>')
    return f'<span class="minicounts">{"".join(parts)}</span>'


def sidebar(views, lang: str, current: int | None) -> str:
    by_id = {q.entry.id: q for q in views}
    out = [f'<nav class="sidebar" aria-label="{esc(NAV["menu"][lang])}">',
           f'<p class="home"><a href="{page_name("index", lang)}">{esc(NAV["home"][lang])}</a></p>']
    for name, ids in TOPICS:
        items = []
        for qid in ids:
            q = by_id.get(qid)
            if q is None:
                continue
            cur = ' aria-current="page" class="current"' if qid == current else ""
            items.append(f'<li><a href="{page_name(qstem(qid), lang)}"{cur}><span class="qn">Q{qid}</span> '
                         f'{esc(q.entry.question[lang])}</a> {mini_counts(q, lang)}</li>')
        out.append(f"<h3>{esc(name[lang])}</h3><ul>{''.join(items)}</ul>")
    out.append("</nav>")
    return "".join(out)


def page(title: str, body: str, lang: str, stem: str, views, current: int | None = None) -> str:
    other = "en" if lang == "zh" else "zh"
    search = (f'<div class="searchbox" role="search"><label for="search" class="vh">{esc(NAV["search_label"][lang])}'
              f'</label><input id="search" type="search" autocomplete="off" placeholder="{esc(NAV["search"][lang])}">'
              f'<ul id="search-results" hidden data-none="{esc(NAV["no_hits"][lang])}"></ul></div>')
    return (
        f'<!DOCTYPE html>\n<html lang="{lang}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(title)} · dlfaq</title>\n"
        f'<link rel="alternate" hreflang="{other}" href="{page_name(stem, other)}">\n'
        '<link rel="icon" href="data:,">\n<link rel="stylesheet" href="style.css">\n'
        '<script src="site.js"></script>\n<script src="search-index.js" defer></script>\n'
        '<script src="search.js" defer></script>\n</head>\n<body>\n'
        f'<header class="top"><a class="brand" href="{page_name("index", lang)}">dlfaq</a>{search}'
        f'<a class="langswitch" hreflang="{other}" lang="{other}" href="{page_name(stem, other)}">'
        f'{esc(NAV["other_lang"][lang])}</a></header>\n'
        f'<div class="layout">{sidebar(views, lang, current)}\n<main>\n{body}\n</main></div>\n</body>\n</html>\n'
    )


def stat_line(rec: dict[str, Any], lang: str) -> str:
    """effect, interval, n and margin of a measured verdict (or of each of its parts)."""
    def one(v: dict[str, Any]) -> str | None:
        try:
            lo, hi = (float(x) for x in v["ci"])
            unit = tr(str(v.get("unit") or ""), lang)
            eff = f"{float(v['effect']):+.3g}" + (f" {unit}" if unit else "")
            margin = f"{float(v['margin']):.3g}" if v.get("margin") is not None else "—"
            return NAV["stat"][lang].format(eff=eff, lo=f"{lo:+.3g}", hi=f"{hi:+.3g}", n=v.get("n", "—"),
                                            margin=margin)
        except (KeyError, TypeError, ValueError):
            return None

    lines = []
    parts = rec.get("parts") or []
    if len(parts) > 1:
        for p in parts:
            s = one(p)
            if s:
                name = p.get("name", {})
                name = name.get(lang) or name.get("en") if isinstance(name, dict) else str(name)
                v = p.get("verdict")
                icon = ICONS.get(v, "") if v else ""
                lines.append(f"<li>{icon} {esc(name)}: {esc(s)}</li>")
        if lines:
            return f'<ul class="stat">{"".join(lines)}</ul>'
    s = one(rec)
    return f'<p class="stat">{esc(s)}</p>' if s else ""


def items_of(rec: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """name -> (kind, title) of the figures and tables of a record."""
    out: dict[str, tuple[str, str]] = {}
    for f in rec.get("figures", []) or []:
        out[f["name"]] = ("figure", f.get("caption") or f["name"])
    for t in rec.get("tables", []) or []:
        out.setdefault(t["name"], ("table", t.get("title") or t["name"]))
    return out


def decided_by(rec: dict[str, Any]) -> dict[str, list[str]]:
    """figure/table name -> the claims whose verdicts name it as evidence."""
    out: dict[str, list[str]] = {}
    for v in rec.get("verdicts", []) or []:
        for e in v.get("evidence") or []:
            out.setdefault(str(e), []).append(v["claim"])
    return out


def inline(text: str) -> str:
    """Escaped text with its `code spans` as <code>."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", esc(text))


def short(text: str, n: int = 90) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= n else text[: n - 1].rstrip() + "…"


# --------------------------------------------------------------------------- question page


def claim_html(c, q, lang: str) -> str:
    b = _b()
    rec_by_name = {r["name"]: r for r in q.records}
    out = [f'<li class="claim" id="{esc(c.id)}">{badge(c.status, lang)} ']
    if c.kind in b.KIND_LABELS:
        out.append(f'<span class="kind">{esc(b.KIND_LABELS[c.kind][lang])}</span> ')
    out.append(f'<span class="ctext">{inline(c.text[lang])}</span> <code class="cid">{esc(c.id)}</code>')
    if c.record is not None:
        out.append(stat_line(c.record, lang))
    rec = rec_by_name.get(c.experiment or "")
    if rec is not None:
        items = items_of(rec)
        links = []
        for name in (c.record or {}).get("evidence") or []:
            if name in items:
                kind, title = items[name]
                links.append(f'<a class="evlink" href="#{esc(anchor(rec["name"], name))}">{esc(NAV[kind][lang])}: '
                             f'{esc(short(tr(title, lang), 70))}</a>')
        if not links:
            links.append(f'<a class="evlink" href="#{esc(rec["name"])}">'
                         f'{esc(_title(rec, lang))}</a>')
        out.append(f'<p class="decided">{esc(NAV["decided_by"][lang])}: {" · ".join(links)}</p>')
    elif c.status == "untested":
        out.append(f'<p class="decided none">{esc(NAV["no_evidence"][lang])}</p>')
    if c.status == "failed" and any(c.reason.values()):  # the reason is the experiment's error message
        out.append(f'<div class="reason"><code>{esc(short(c.reason[lang], 300))}</code></div>')
    elif any(c.reason.values()) or any(c.rule.values()):
        # the statistic and the evidence links stay in view; the full reasoning folds away
        body = f'<div class="reason">{esc(c.reason[lang])}</div>' if any(c.reason.values()) else ""
        if any(c.rule.values()):
            body += f'<div class="rule"><b>{esc(b.UI["rule"][lang])}:</b> {esc(c.rule[lang])}</div>'
        out.append(f'<details class="why"><summary>{esc(NAV["why"][lang])}</summary>{body}</details>')
    out.append("</li>")
    return "".join(out)


def _title(rec: dict[str, Any], lang: str) -> str:
    t = rec.get("title")
    if isinstance(t, dict):
        return t.get(lang) or t.get("en") or rec["name"]
    return tr(str(t or rec["name"]), lang)


def _decides(rec: dict[str, Any], name: str, lang: str, claims_text: dict[str, str]) -> str:
    ids = decided_by(rec).get(name) or []
    if not ids:
        return ""
    links = ", ".join(f'<a href="#{esc(i)}" title="{esc(claims_text.get(i, ""))}"><code>{esc(i.split(".", 1)[1])}'
                      "</code></a>" for i in ids)
    return f'<p class="decides">{esc(NAV["decides"][lang])}: {links}</p>'


def cell(v: Any, lang: str, literal: bool = False) -> str:
    """A table cell: numbers formatted, identifiers/commands/errors as code, words in the page's language."""
    if isinstance(v, bool):
        return esc(_b().CAL_UI["yes" if v else "no"][lang])
    if isinstance(v, (list, dict)):
        return f"<code>{esc(_b()._fmt(v))}</code>"
    if not isinstance(v, str):
        return esc(_b()._fmt(v))
    if literal or i18n.looks_like_code(v):
        return f"<code>{esc(v)}</code>"
    return inline(tr(v, lang))


def table_html(t: dict[str, Any], lang: str, rec_name: str, decides: str) -> str:
    cols = t.get("columns") or []
    head = "".join(f"<th>{esc(tr(str(c), lang))}</th>" for c in cols)
    # a column of words (a vocabulary, say) holds data, shown literally
    lit = [str(c).strip().lower() in LITERAL_COLUMNS for c in cols]
    rows = "".join("<tr>" + "".join(f"<td>{cell(v, lang, i < len(lit) and lit[i])}</td>" for i, v in enumerate(r))
                   + "</tr>" for r in t.get("rows") or [])
    title = tr(t.get("title") or t["name"], lang)
    body = (f'<div class="tablewrap"><table><caption>{esc(title)}</caption><thead><tr>{head}</tr></thead>'
            f"<tbody>{rows}</tbody></table></div>")
    n = len(t.get("rows") or [])
    if n > FOLD_ROWS:
        body = (f'<details class="longtable"><summary>{esc(NAV["table"][lang])}: {esc(title)} '
                f'<small>({n} {esc(NAV["rows"][lang])})</small></summary>{body}</details>')
    return f'<div class="evitem" id="{esc(anchor(rec_name, t["name"]))}">{body}{decides}</div>'


def controls_html(rec: dict[str, Any], lang: str) -> str:
    b = _b()
    rows = []
    for c in b.controls_of(rec):
        try:
            lo, hi = (float(x) for x in c["ci"])
            eff = f"{float(c['effect']):+.3g} {tr(str(c.get('unit', '')), lang)}"
            ci = f"[{lo:+.3g}, {hi:+.3g}]"
        except (KeyError, TypeError, ValueError):
            eff = ci = "—"
        ok = b.CONTROL_UI["yes" if c.get("reproduced") else "no"][lang]
        src = f" <small>({esc(c['source'])})</small>" if c.get("source") else ""
        rows.append(f"<tr><td>{esc(c['name'].get(lang) or c['name'].get('en'))}{src}</td><td>{esc(eff)}</td>"
                    f"<td>{esc(ci)}</td><td>{esc(c.get('n', ''))}</td><td>{esc(c.get('margin', ''))}</td>"
                    f"<td>{esc(ok)}</td></tr>")
    if not rows:
        return ""
    heads = "".join(f"<th>{esc(h)}</th>" for h in b.CONTROL_UI["heads"][lang])
    return (f'<div class="tablewrap controls"><table><caption>{esc(b.CONTROL_UI["title"][lang])}</caption>'
            f"<thead><tr>{heads}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>")


def experiment_html(rec: dict[str, Any], q, lang: str, img_dir: str, zh_figures: frozenset[str] = frozenset()) -> str:
    b = _b()
    claims_text = {c.id: c.text[lang] for c in q.claims}
    out = [f'<section class="experiment" id="{esc(rec["name"])}">',
           f"<h2>{esc(b.UI['evidence'][lang])}: {esc(_title(rec, lang))}</h2>"]
    desc = rec.get("description")
    if desc:
        d = desc.get(lang) or desc.get("en") if isinstance(desc, dict) else tr(str(desc), lang)
        out.append(f'<p class="desc">{esc(d)}</p>')
    seed_word = b.UI["seed"][lang]
    out.append(f'<p class="meta"><code>{esc(rec["name"])}</code> · {esc(b.UI["profile"][lang])} '
               f'{esc(rec.get("profile"))} · {esc(seed_word)} {esc(rec.get("seed"))} · {esc(rec.get("device"))} · '
               f'{float(rec.get("duration_s") or 0):.1f} s · {esc(b.UI["run"][lang])} {esc(rec.get("started", ""))}</p>')
    if rec.get("status") != "ok":
        out.append(f'<div class="error"><b>{esc(b.UI["error"][lang])}</b> <code>{esc(rec.get("error") or "")}</code></div>')
    out.append(controls_html(rec, lang))
    for fig in rec.get("figures", []) or []:
        src = f"{img_dir}/{rec['name']}/{fig['file']}"
        zh_src = f"{img_dir}/{rec['name']}/{fig['file'][:-4]}.zh.png"
        if lang == "zh" and zh_src in zh_figures:  # the Chinese copy of the figure, when it was made
            src = zh_src
        cap = tr(fig.get("caption") or "", lang)
        out.append(f'<figure class="evitem" id="{esc(anchor(rec["name"], fig["name"]))}">'
                   f'<a href="{esc(src)}"><img src="{esc(src)}" alt="{esc(cap or fig["name"])}" loading="lazy"></a>'
                   f"<figcaption>{esc(cap)}</figcaption>{_decides(rec, fig['name'], lang, claims_text)}</figure>")
    for t in rec.get("tables", []) or []:
        out.append(table_html(t, lang, rec["name"], _decides(rec, t["name"], lang, claims_text)))
    notes = rec.get("notes")
    if notes:
        text = tr(str(notes), lang)
        body = f'<div class="notes">{md(text)}</div>'
        if len(text) > FOLD_NOTES:
            body = f'<details class="notes-d"><summary>{esc(NAV["notes"][lang])}</summary>{body}</details>'
        out.append(body)
    if rec.get("metrics"):
        out.append(f"<details><summary>{esc(b.UI['metrics'][lang])}</summary><pre>"
                   f"{esc(json.dumps(rec['metrics'], indent=1, ensure_ascii=False))}</pre></details>")
    out.append("</section>")
    return "\n".join(out)


def question_html(q, views, lang: str, img_dir: str = "img", notebook: str | None = None,
                  zh_figures: frozenset[str] = frozenset()) -> str:
    b = _b()
    e = q.entry
    ids = [v.entry.id for v in views]
    i = ids.index(e.id) if e.id in ids else 0
    prev_q, next_q = views[i - 1], views[(i + 1) % len(views)]
    topic = topic_of(e.id)
    toc = [("answer", b.UI["answer"][lang]), ("claims", b.UI["claims"][lang])]
    toc += [(r["name"], f'{b.UI["evidence"][lang]}: {_title(r, lang)}') for r in q.records]
    if e.api:
        toc.append(("api", b.UI["api"][lang]))
    if e.references:
        toc.append(("refs", b.UI["refs"][lang]))
    parts = [
        f'<nav class="crumbs" aria-label="breadcrumb"><a href="{page_name("index", lang)}">dlfaq</a> › '
        f'<span>{esc(topic[lang])}</span> › <span aria-current="page">Q{e.id}</span></nav>',
        f'<h1><span class="qid">Q{e.id}</span> {esc(e.question[lang])}</h1>',
        f'<p class="qcounts">{mini_counts(q, lang)}</p>',
        f'<nav class="toc" aria-label="{esc(NAV["toc"][lang])}"><b>{esc(NAV["toc"][lang])}</b><ol>'
        + "".join(f'<li><a href="#{esc(a)}">{esc(t)}</a></li>' for a, t in toc) + "</ol></nav>",
    ]
    if notebook:
        parts.append(f'<p class="notebook"><a href="{esc(notebook)}" download>{esc(NAV["notebook"][lang])}</a> '
                     f"<code>{esc(notebook)}</code></p>")
    parts.append(f'<section class="answer" id="answer"><h2>{esc(b.UI["answer"][lang])}</h2>'
                 f'<div class="prose">{md(q.answer.get(lang, ""))}</div></section>')
    parts.append(f'<section class="claims" id="claims"><h2>{esc(b.UI["claims"][lang])}</h2><ul>')
    parts += [claim_html(c, q, lang) for c in q.claims]
    parts.append("</ul></section>")
    parts += [experiment_html(r, q, lang, img_dir, zh_figures) for r in q.records]
    if e.api:
        items = "".join(f"<li><code>{esc(a)}</code></li>" for a in e.api)
        parts.append(f'<section class="api" id="api"><h2>{esc(b.UI["api"][lang])}</h2><ul>{items}</ul></section>')
    if e.references:
        items = "".join(f"<li>{esc(r)}</li>" for r in e.references)
        parts.append(f'<section class="refs" id="refs" translate="no"><h2>{esc(b.UI["refs"][lang])}</h2>'
                     f"<ul>{items}</ul></section>")
    parts.append(
        f'<nav class="pager"><a rel="prev" href="{page_name(qstem(prev_q.entry.id), lang)}">← {esc(NAV["prev"][lang])}: '
        f'Q{prev_q.entry.id} {esc(short(prev_q.entry.question[lang], 50))}</a>'
        f'<a rel="next" href="{page_name(qstem(next_q.entry.id), lang)}">{esc(NAV["next"][lang])}: '
        f'Q{next_q.entry.id} {esc(short(next_q.entry.question[lang], 50))} →</a></nav>')
    return "\n".join(parts)


# --------------------------------------------------------------------------- index


def finding(q, lang: str) -> str:
    """One line on what the evidence found for a question, from its verdicts."""
    b = _b()
    n = counts_of(q)
    total = len(q.claims)
    head = NAV["claims_n"][lang].format(n=total)
    bits = [f"{ICONS[s]} {n[s]} {b.LABELS[s][lang]}" for s in b.LABELS if n.get(s)]
    worst = next((c for s in ("contradicted", "partly", "inconclusive", "failed") for c in q.claims if c.status == s),
                 None)
    sep = ":" if lang == "zh" else ": "
    if worst is None and n.get("supported") == total:
        tail = NAV["all_hold"][lang]
    elif worst is not None:
        tail = f"{b.LABELS[worst.status][lang]}{sep}{short(worst.text[lang], 80)}"
    else:
        tail = ""
    comma = ",".join(bits) if lang == "zh" else ", ".join(bits)
    return f"{head} ({comma})" + (f" — {tail}" if tail else "")


def index_html(views, lang: str, calibration: bool = False) -> str:
    b = _b()
    counts = b._counts(views)
    cards = []
    for s in b.LABELS:
        if counts.get(s):
            cards.append(f'<div class="count v-{b.VERDICT_CLASS[s]}"><span class="big">{ICONS[s]} {counts[s]}</span>'
                         f'<span class="lbl">{esc(b.LABELS[s][lang])}</span></div>')
    legend = "".join(f"<li>{badge(s, lang)} {esc(t[lang])}</li>" for s, t in LEGEND.items())
    by_id = {q.entry.id: q for q in views}
    groups = []
    for name, ids in TOPICS:
        rows = []
        for qid in ids:
            q = by_id.get(qid)
            if q is None:
                continue
            rows.append(f'<li><a href="{page_name(qstem(qid), lang)}"><span class="qn">Q{qid}</span> '
                        f'{esc(q.entry.question[lang])}</a> {mini_counts(q, lang)}'
                        f'<div class="finding">{inline(finding(q, lang))}</div></li>')
        groups.append(f'<h2>{esc(name[lang])}</h2><ul class="qlist">{"".join(rows)}</ul>')
    intro = b.UI["intro"][lang]
    stamp = time.strftime("%Y-%m-%d %H:%M")
    return (f"<h1>{esc(b.UI['title'][lang])}</h1>\n<p class=\"intro\">{esc(intro)}</p>\n"
            f'<div class="counts" aria-label="{esc(b.UI["summary"][lang])}">{"".join(cards)}</div>\n'
            f'<details class="legend"><summary>{esc(NAV["legend"][lang])}</summary><ul>{legend}</ul></details>\n'
            + "\n".join(groups)
            + (f'<p><a href="{page_name("calibration", lang)}">{esc(b.CAL_UI["link"][lang])}</a></p>\n'
               if calibration else "")
            + f'<p class="meta">{esc(b.UI["generated"][lang])} {stamp}</p>')


def calibration_html(cal: dict[str, Any], lang: str) -> str:
    b = _b()

    def pct(x: Any) -> str:
        return f"{float(x):.1%}" if isinstance(x, (int, float)) else "—"

    rows = []
    for m, acc in cal.get("mnist1d", {}).items():
        tgt = (cal.get("targets") or {}).get(m) or ["", ""]
        ok = (cal.get("calibrated") or {}).get(m)
        okt = b.CAL_UI["yes" if ok else "no"][lang] if ok is not None else "—"
        rows.append(f"<tr><td>{esc(m)}</td><td>{pct(acc)}</td><td>{pct((cal.get('paper') or {}).get(m))}</td>"
                    f"<td>{pct(tgt[0])}–{pct(tgt[1])}</td><td>{esc(okt)}</td></tr>")
    heads = "".join(f"<th>{esc(h)}</th>" for h in b.CAL_UI["heads"][lang])
    seeds = {"en": "seeds", "zh": "个随机种子"}[lang]
    return (f'<nav class="crumbs"><a href="{page_name("index", lang)}">dlfaq</a> › '
            f'<span aria-current="page">{esc(b.CAL_UI["link"][lang])}</span></nav>'
            f"<h1>{esc(b.CAL_UI['title'][lang])}</h1><div>{md(b.CAL_UI['intro'][lang])}</div>"
            f'<div class="tablewrap"><table><thead><tr>{heads}</tr></thead><tbody>{"".join(rows)}</tbody></table></div>'
            f'<p class="meta">{esc(b.UI["profile"][lang])} {esc(cal.get("profile"))} · {esc(cal.get("seeds"))} '
            f"{seeds}</p>")


# --------------------------------------------------------------------------- search index


def _text(markdown: str) -> str:
    t = tex.plain(markdown)
    t = re.sub(r"[`*_#>|]", " ", t)
    t = re.sub(r"\]\([^)]*\)", "]", t)
    return re.sub(r"\s+", " ", t).strip()


def search_docs(views) -> list:
    from dlfaq.report.searchindex import Doc

    docs = []
    for lang in LANGS:
        for q in views:
            url = page_name(qstem(q.entry.id), lang)
            docs.append(Doc(url, f"Q{q.entry.id} {q.entry.question[lang]}", lang, _text(q.answer.get(lang, ""))))
            for c in q.claims:
                reason = c.reason.get(lang, "") if c.reason else ""
                docs.append(Doc(f"{url}#{c.id}", f"Q{q.entry.id} · {c.text[lang]}", lang,
                                f"{_b().LABELS[c.status][lang]}. {reason}", kind="claim"))
    return docs


# --------------------------------------------------------------------------- the whole site


def write(out: Path, views, cal: dict[str, Any] | None = None, notebooks: dict[int, str] | None = None) -> None:
    """Write the HTML pages, assets and search index of the site into ``out`` (which exists)."""
    from importlib import resources

    from dlfaq.report import searchindex

    pkg = resources.files("dlfaq.report")
    for asset in ("style.css", "site.js", "search.js"):
        (out / asset).write_text(pkg.joinpath(asset).read_text(encoding="utf-8"), encoding="utf-8")
    (out / "search-index.js").write_text(searchindex.to_js(searchindex.build(search_docs(views))), encoding="utf-8")
    b = _b()
    zh_figures = frozenset(p.relative_to(out).as_posix() for p in (out / "img").glob("*/*.zh.png"))
    for lang in LANGS:
        (out / page_name("index", lang)).write_text(
            page(b.UI["title"][lang], index_html(views, lang, cal is not None), lang, "index", views), encoding="utf-8")
        if cal is not None:
            (out / page_name("calibration", lang)).write_text(
                page(b.CAL_UI["title"][lang], calibration_html(cal, lang), lang, "calibration", views),
                encoding="utf-8")
        for q in views:
            nb = (notebooks or {}).get(q.entry.id)
            body = b._question_html(q, "img", lang=lang, views=views, notebook=nb, zh_figures=zh_figures)
            (out / page_name(qstem(q.entry.id), lang)).write_text(
                page(f"Q{q.entry.id} {q.entry.question[lang]}", body, lang, qstem(q.entry.id), views, q.entry.id),
                encoding="utf-8")


__all__ = ["write", "question_html", "index_html", "page_name", "i18n"]

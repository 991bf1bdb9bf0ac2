"""Quality figures of web sources for docs/sources.md (quality, not timing: bench/ times).

    python tools/eval_sources.py

1. The integration filter: precision and recall on our three labelled sets
   (tests/data/web/relevance*.jsonl), and how many of ../shared/figures-dev's 90 real
   articles and ../shared/samples' three e-paper pages it keeps (those carry no relevance
   labels, so they are counts, not precision).
2. Extraction: for each of our fixture article pages, the share of the article's own
   paragraphs found in the extracted text (recall) and the number of site-chrome snippets
   that leaked into it, for trafilatura (precision mode, what we use), trafilatura's
   default mode, and a whole-page inscriptis baseline. The same for the three real e-paper
   texts of ../shared/samples wrapped at run time in a chrome-laden GBK page of our own
   (the wrapped pages are never written to disk).
"""

from __future__ import annotations

import html
import json
import sys
from pathlib import Path

import lxml.html
import trafilatura
from inscriptis import get_text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from analysis.relevance import Relevance  # noqa: E402
from analysis.taxonomy import Tagger  # noqa: E402
from app.config import DEFAULT_TAXONOMY, load_taxonomy  # noqa: E402
from feeds.decode import decode_page  # noqa: E402
from feeds.extract import extract_article  # noqa: E402

WEB = ROOT / "tests" / "data" / "web"
SHARED = ROOT.parent / "shared"
BODY = "founder-content, .TRS_Editor, .text"  # where our fixtures keep the article


def relevance_figures() -> None:
    rel = Relevance(Tagger(load_taxonomy(DEFAULT_TAXONOMY)))
    print("| set | articles | integration | precision | recall | never fetched |")
    print("| --- | --- | --- | --- | --- | --- |")
    for path in sorted(WEB.glob("relevance*.jsonl")):
        rows = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x]
        kept = [rel.judge(r["title"], r["text"]).kept for r in rows]
        labels = [bool(r["label"]) for r in rows]
        tp = sum(k and y for k, y in zip(kept, labels, strict=True))
        unfetched = sum(not rel.title_could_pass(r["title"]) for r in rows)
        print(
            f"| {path.name} | {len(rows)} | {sum(labels)} | {tp / max(1, sum(kept)):.2f} "
            f"| {tp / max(1, sum(labels)):.2f} | {unfetched} |"
        )
    dev = SHARED / "figures-dev" / "articles.jsonl"
    if dev.is_file():
        rows = [json.loads(x) for x in dev.read_text(encoding="utf-8").splitlines() if x]
        kept = sum(rel.judge(r["title"], r.get("excerpt") or "").kept for r in rows)
        print(f"\nfigures-dev: {kept} of {len(rows)} kept")
    for sample in sorted((SHARED / "samples").glob("*.txt")):
        text = sample.read_text(encoding="utf-8")
        heads = [line.lstrip("# ") for line in text.splitlines() if line.startswith("#")]
        title = heads[0] if heads else ""
        verdict = rel.judge(title, text)
        print(
            f"{sample.name}: headline {len(title)} chars, by title {rel.title_verdict(title)},"
            f" by title and text kept={verdict.kept} (score {verdict.score})"
        )


def paragraphs_of(doc: lxml.html.HtmlElement) -> list[str]:
    found = doc.cssselect(BODY)
    paras = [" ".join(p.text_content().split()) for el in found for p in el.iter("p")]
    return [p for p in paras if len(p) >= 8]


def chrome_of(doc: lxml.html.HtmlElement) -> list[str]:
    # Hold the elements: lxml keeps one proxy per node only while it is referenced.
    body = set(doc.cssselect(BODY))
    snippets = []
    for el in doc.iter("a", "div", "td", "span"):
        if el in body or any(a in body for a in el.iterancestors()):
            continue
        text = "".join(el.itertext() if el.tag == "a" else [el.text or ""]).strip()
        if len(text) >= 4 and el.tag != "h1":
            snippets.append(" ".join(text.split()))
    return snippets


def methods(page: str, url: str) -> dict[str, str]:
    default = trafilatura.extract(page, url=url, include_comments=False) or ""
    return {
        "ours": extract_article(page, url).text,
        "trafilatura default": default,
        "inscriptis whole page": get_text(page),
    }


def score(text: str, paras: list[str], chrome: list[str]) -> tuple[float, int]:
    flat = " ".join(text.split())
    found = sum(1 for p in paras if p[:40] in flat)
    leaked = sum(1 for c in set(chrome) if c in flat)
    return found / max(1, len(paras)), leaked


def wrap(text: str, title: str) -> bytes:
    """A real e-paper text inside a chrome-laden GBK page of our own."""
    paras = [p.strip() for p in text.split("\n\n") if p.strip() and not p.startswith("#")]
    body = "".join(f"<p>{html.escape(p)}</p>" for p in paras)
    page = (
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312">'
        f"<title>{html.escape(title)}</title></head><body>"
        '<div class="header"><a href="../../../index.htm">数字报首页</a>'
        " 2026年11月25日 星期三</div>"
        '<table><tr><td><a href="node_1.htm">第01版：要闻</a></td>'
        '<td><a href="node_2.htm">第02版：综合</a></td></tr></table>'
        f'<h1>{html.escape(title)}</h1><div id="ozoom"><founder-content>{body}'
        "</founder-content></div>"
        '<div class="share">分享到：微信朋友圈 新浪微博</div>'
        '<div class="footer">主办单位：示范日报社 本报所有内容未经书面授权不得转载</div>'
        "</body></html>"
    )
    return page.encode("gb18030")


def extraction_figures() -> None:
    print("\n| page | method | paragraph recall | chrome snippets leaked |")
    print("| --- | --- | --- | --- |")
    pages: list[tuple[str, bytes]] = [
        (p.name, p.read_bytes())
        for p in sorted(WEB.glob("*"))
        if "content" in p.name or "article" in p.name
    ]
    for sample in sorted((SHARED / "samples").glob("*.txt")):
        pages.append((f"shared/{sample.name} (wrapped)", wrap(sample.read_text("utf-8"), "x")))
    totals: dict[str, list[float]] = {}
    for name, raw in pages:
        page = decode_page(raw)
        doc = lxml.html.document_fromstring(page)
        paras, chrome = paragraphs_of(doc), chrome_of(doc)
        for method, text in methods(page, "http://h.cn/a/" + name).items():
            recall, leaked = score(text, paras, chrome)
            if leaked and method == "ours":
                flat = " ".join(text.split())
                print(f"<!-- {name}: {[c for c in set(chrome) if c in flat]} -->")
            totals.setdefault(method, []).extend([recall, leaked])
            print(f"| {name} | {method} | {recall:.2f} | {leaked} of {len(set(chrome))} |")
    print("\n| method | mean paragraph recall | chrome snippets leaked in all |")
    print("| --- | --- | --- |")
    for method, values in totals.items():
        recalls, leaks = values[0::2], values[1::2]
        print(f"| {method} | {sum(recalls) / len(recalls):.2f} | {int(sum(leaks))} |")


if __name__ == "__main__":
    relevance_figures()
    extraction_figures()

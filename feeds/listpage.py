"""Reading a list page (a column page or an e-paper layout page): its article links with
their titles and dates, further list pages, and any feed it advertises. Pure.

Without a ``links`` pattern an article link is found by a heuristic:

1. it points into the same site (the host's last two labels, three under .gov.cn-like
   second-level domains), and is neither the list page itself nor a directory;
2. its path looks like an article: a file name with a digit in the path
   (``content_123.htm``, ``t20261103_55.html``, ``/2026/11/03/abc.shtml``, ``?id=7``),
   and not an index, list or layout page (``index``, ``list``, ``node_``);
3. its text (or its ``title`` attribute, when longer) is long enough to be a headline:
   at least ``MIN_TITLE`` characters, which navigation links ("首页", "更多>>") are not.

With ``links``, any link whose absolute URL matches the pattern is an article.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote_plus, urljoin, urlsplit, urlunsplit

import lxml.html

from feeds.dates import Day, date_in_row

MIN_TITLE = 6
_ARTICLE_FILE = re.compile(r"\.(?:s?html?|jhtml|jsp|php|aspx?)$", re.I)
_NOT_ARTICLE = re.compile(r"(?:^|/)(?:index|default|list|node)[_\w-]*\.\w+$", re.I)
_FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/rdf+xml")
_SECOND_LEVEL = {"com", "net", "org", "gov", "edu", "ac", "co"}
_ELLIPSIS = re.compile(r"(?:\.\.\.|…+)$")
# Query parameters that say how a link was shared, never which article it is.
_TRACKING = re.compile(
    r"^(?:utm_\w*|spm|from|share|share_\w*|isappinstalled|fbclid|gclid)$",
    re.I,
)
WEB_SCHEMES = ("http", "https")


@dataclass(frozen=True)
class Listed:
    """An article link on a list page."""

    url: str  # absolute, fragment dropped: what is fetched
    title: str
    date: Day | None


@dataclass(frozen=True)
class ListPage:
    title: str
    articles: tuple[Listed, ...]
    pages: tuple[str, ...]  # further list pages matching the ``pages`` pattern
    feeds: tuple[str, ...]  # feeds advertised with <link rel="alternate">


def identity(url: str) -> str:
    """The URL an article is known by: fragment and tracking parameters (``utm_*``,
    ``spm``, ``from``, ``share`` ...) dropped, scheme and host lowered.

    The rest of the query stays, in its order: ``show.php?id=77`` and ``?id=78`` are two
    articles.
    """
    parts = urlsplit(url)
    path = parts.path or "/"
    kept = [
        pair
        for pair in parts.query.split("&")
        if pair and not _TRACKING.match(unquote_plus(pair.partition("=")[0]))
    ]
    query = "&".join(kept)
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, query, ""))


def is_web(url: str) -> bool:
    """Whether ``url`` is an http(s) URL with a host: the only links a page may give us."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme.lower() in WEB_SCHEMES and bool(parts.hostname)


def site(host: str) -> str:
    labels = host.lower().rstrip(".").split(".")
    if len(labels) >= 3 and labels[-2] in _SECOND_LEVEL and len(labels[-1]) == 2:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


def looks_like_article(url: str, base: str) -> bool:
    parts, home = urlsplit(url), urlsplit(base)
    if parts.scheme not in ("http", "https") or site(parts.hostname or "") != site(
        home.hostname or ""
    ):
        return False
    path = parts.path or "/"
    if identity(url) == identity(base) or path.endswith("/"):
        return False
    if _NOT_ARTICLE.search(path):
        return False
    digit = any(c.isdigit() for c in path + parts.query)
    return digit and (bool(_ARTICLE_FILE.search(path)) or bool(parts.query))


def parse_list(
    text: str, base_url: str, *, links: str = "", pages: str = "", min_title: int = MIN_TITLE
) -> ListPage:
    """Article links (in page order, each once), list pages and advertised feeds of a page."""
    try:
        doc = lxml.html.document_fromstring(text)
    except (ValueError, lxml.etree.ParserError):
        return ListPage("", (), (), ())
    base = base_url
    for href in doc.xpath("//base/@href")[:1]:
        base = urljoin(base_url, str(href).strip())
    link_re = re.compile(links) if links else None
    pages_re = re.compile(pages) if pages else None
    found: dict[str, Listed] = {}
    more: dict[str, None] = {}
    for a in doc.xpath("//a[@href] | //area[@href]"):
        href = str(a.get("href", "")).strip()
        if not href or href.startswith(("javascript:", "mailto:", "#")):
            continue
        try:
            url = urlunsplit(urlsplit(urljoin(base, href))._replace(fragment=""))
        except ValueError:  # a malformed link (``http://[x``) is no link
            continue
        if not is_web(url):  # file:, ftp:, data: ... never leave the web
            continue
        title = _title(a)
        if pages_re is not None and pages_re.search(url):
            if identity(url) != identity(base_url):
                more.setdefault(url)
            continue
        if link_re is not None:
            if not link_re.search(url):
                continue
        elif len(title) < min_title or not looks_like_article(url, base_url):
            continue
        key = identity(url)
        date = date_in_row(_row_text(a)) if a.tag == "a" else None
        previous = found.get(key)
        if previous is None:
            found[key] = Listed(url, title, date)
        elif len(title) > len(previous.title) or (date and not previous.date):
            found[key] = Listed(
                url,
                title if len(title) > len(previous.title) else previous.title,
                previous.date or date,
            )
    feeds = []
    for link in doc.xpath("//link[@rel='alternate'][@href]"):
        if str(link.get("type", "")).lower() not in _FEED_TYPES:
            continue
        try:
            feed_url = urljoin(base, str(link.get("href")).strip())
        except ValueError:
            continue
        if is_web(feed_url):
            feeds.append(feed_url)
    titles = doc.xpath("//title/text()")
    return ListPage(
        title=" ".join(str(titles[0]).split()) if titles else "",
        articles=tuple(found.values()),
        pages=tuple(more),
        feeds=tuple(feeds),
    )


def _title(a: lxml.html.HtmlElement) -> str:
    text = " ".join(a.text_content().split()) if a.tag == "a" else ""
    attr = " ".join(str(a.get("title") or a.get("alt") or "").split())
    best = attr if len(_ELLIPSIS.sub("", attr)) > len(_ELLIPSIS.sub("", text)) else text
    return best


def _row_text(a: lxml.html.HtmlElement) -> str:
    """The text beside ``a`` in its list row: the nearest ancestor with text of its own.

    An ancestor whose extra text is long is a whole list, not a row: its dates belong to
    other links, so none is taken.
    """
    own = a.text_content()
    node = a.getparent()
    while node is not None and node.tag != "body":
        extra = node.text_content().replace(own, " ")
        if extra.strip():
            return extra if len(extra.strip()) <= 80 else ""
        node = node.getparent()
    return ""

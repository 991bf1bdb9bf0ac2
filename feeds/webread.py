"""Reading a web source: its list pages, then article pages, into ordinary entries.

A web source (``[[sources.pages]]``, ``ingest --source``, ``/addfeed`` of a page without a
feed) is a list page whose URL may hold ``{date:FORMAT}`` placeholders (e-paper editions),
with optional ``links`` and ``pages`` patterns. ``WebReader`` fetches through a
``PoliteFetcher`` and never touches storage: what was seen before and what to store is
``app.sources``' business.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from dataclasses import asdict, dataclass

from feeds.dates import (
    Day,
    date_from_extractor,
    date_in_text,
    date_in_url,
    fill_date,
    has_placeholder,
    plausible,
)
from feeds.decode import decode_page
from feeds.extract import Extracted, extract_article
from feeds.listpage import Listed, ListPage, identity, parse_list
from feeds.parse import Entry
from feeds.polite import PoliteFetcher

EDITION_SLACK = 7 * 86400  # an e-paper article is not older than its edition by more
BODY_SLACK = 366 * 86400  # an unlabelled body date without an edition: within a year


@dataclass(frozen=True)
class SourceSpec:
    """How to read one web source (the keys of a ``[[sources.pages]]`` table)."""

    url: str
    name: str = ""
    links: str = ""
    pages: str = ""
    encoding: str = ""
    filter: tuple[str, ...] = ("integration",)
    selector: str = ""

    def checked(self) -> SourceSpec:
        """This spec, or ``ValueError`` naming what is wrong (not http(s), a bad regex, no
        filter). The one check of a spec: config, the command line and chat all use it."""
        if not self.url.startswith(("http://", "https://")):
            raise ValueError(f"a web source needs an http(s) URL, got {self.url!r}")
        for name in ("links", "pages"):
            try:
                re.compile(getattr(self, name))
            except re.error as e:
                raise ValueError(f"{name}: invalid regex: {e}") from None
        if not self.filter:
            raise ValueError("filter must be 'integration', 'none' or keywords")
        return self

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str, url: str) -> SourceSpec:
        """The stored spec, or the default (heuristic links, integration filter) for ``url``."""
        if not text:
            return cls(url=url)
        data = json.loads(text)
        data["filter"] = tuple(data.get("filter") or ("integration",))
        data["url"] = url
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class ListRead:
    url: str  # the list page's URL with today's date filled in
    title: str
    articles: tuple[Listed, ...]
    feeds: tuple[str, ...]
    etag: str | None
    last_modified: str | None
    link_hash: str  # of the article links, for servers that send no validators
    edition: Day | None  # the e-paper edition's date (from the list URL)
    errors: tuple[str, ...] = ()  # further list pages that could not be read


@dataclass(frozen=True)
class WebArticle:
    entry: Entry
    text: str
    extracted: Extracted


@dataclass
class WebReader:
    fetcher: PoliteFetcher
    timezone: str = "Asia/Shanghai"
    pages_followed: int = 20  # further list pages per run at most

    def read_list(
        self,
        spec: SourceSpec,
        now: float,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> ListRead:
        """The article links of the source's list page and of the pages it links to.

        Raises ``NotModified`` when the server says the first page has not changed and
        ``FetchError`` when the first page cannot be read; a further page that fails is
        listed in ``errors`` and the others are still read.
        """
        url = fill_date(spec.url, now, self.timezone)
        if has_placeholder(spec.url):
            etag = last_modified = None  # yesterday's validators say nothing about today
        result = self.fetcher.get(url, etag=etag, last_modified=last_modified)
        first = self._parse(result.content, result.headers, result.url, spec)
        pages = [first]
        errors = []
        for extra in first.pages[: self.pages_followed]:
            try:
                more = self.fetcher.get(extra)
            except Exception as e:  # one broken layout page never hides the others
                errors.append(f"{extra}: {e}")
                continue
            pages.append(self._parse(more.content, more.headers, more.url, spec))
        merged: dict[str, Listed] = {}
        for page in pages:
            for listed in page.articles:
                merged.setdefault(identity(listed.url), listed)
        links = "\n".join(sorted(merged))
        return ListRead(
            url=url,
            title=first.title,
            articles=tuple(merged.values()),
            feeds=first.feeds,
            etag=result.etag,
            last_modified=result.last_modified,
            link_hash=hashlib.sha1(links.encode()).hexdigest(),
            edition=date_in_url(url) if has_placeholder(spec.url) else None,
            errors=tuple(errors),
        )

    def read_article(
        self, spec: SourceSpec, listed: Listed, edition: Day | None, now: float | None = None
    ) -> WebArticle:
        """Fetch and extract one article; raises ``FetchError`` when it cannot be read.

        The date: the list row's, the URL's, a labelled one in the page, the edition's,
        the first in the body, the extractor's. Dates from the page are sanity-bound
        (``article_date``).
        """
        result = self.fetcher.get(listed.url)
        html = decode_page(result.content, result.headers.get("content-type"), spec.encoding)
        extracted = extract_article(html, result.url, spec.selector)
        title = listed.title if len(listed.title) >= 6 else extracted.title or listed.title
        day = (
            listed.date
            or date_in_url(listed.url)
            or self.article_date(extracted, edition, time.time() if now is None else now)
        )
        entry = Entry(
            guid=identity(listed.url),
            link=listed.url,
            title=title,
            content=extracted.text,
            published=day.timestamp(self.timezone) if day else None,
            author=spec.name,
        )
        return WebArticle(entry=entry, text=extracted.text, extracted=extracted)

    def article_date(self, extracted: Extracted, edition: Day | None, now: float) -> Day | None:
        """The date an article's page gives, bound to what can be true: never after
        tomorrow, never more than ``EDITION_SLACK`` before the edition, and an unlabelled
        body date never more than ``BODY_SLACK`` before now when there is no edition."""
        tz = self.timezone
        floor = edition.timestamp(tz) - EDITION_SLACK if edition else None
        labelled = date_in_text(extracted.page_text, labelled_only=True)
        body_floor = floor if floor is not None else now - BODY_SLACK
        return (
            plausible(labelled, tz, now=now, earliest=floor)
            or edition
            or plausible(date_in_text(extracted.text), tz, now=now, earliest=body_floor)
            or plausible(date_from_extractor(extracted.date), tz, now=now, earliest=floor)
        )

    def _parse(
        self, content: bytes, headers: dict[str, str], url: str, spec: SourceSpec
    ) -> ListPage:
        text = decode_page(content, headers.get("content-type"), spec.encoding)
        return parse_list(text, url, links=spec.links, pages=spec.pages)

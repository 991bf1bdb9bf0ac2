"""The application core: settings, storage and analyser wired together once.

Channels (CLI, console, Telegram, WeCom) receive a ``Core`` and never build their own.
"""

from __future__ import annotations

import functools
import logging
import re
import time
from collections.abc import Callable, Iterable
from functools import cached_property
from typing import Any, TextIO

from analysis.pipeline import Analyzer
from analysis.taxonomy import Tagger, Taxonomy
from analysis.text import fold
from app.config import Settings, load_taxonomy
from app.ingest import Ingestor, PollPolicy
from app.replay import ReplayGuard
from app.sources import SourceIngestor
from domain.errors import FeedError, ParseError
from domain.models import SearchPage
from domain.urls import redact_userinfo
from feeds.fetch import FetchOptions, fetch
from feeds.netpolicy import AddressPolicy
from feeds.parse import ParsedFeed, parse_feed
from feeds.polite import PoliteFetcher
from feeds.webread import ListRead, SourceSpec, WebReader
from storage import Storage, fts
from storage.ranking import Weights
from storage.search import Search


class Core:
    """Settings, taxonomy, storage and the (lazily loaded) analyser of one process."""

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Callable[[], float] = time.time,
        taxonomy: Taxonomy | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.taxonomy: Taxonomy = taxonomy or load_taxonomy(settings.analysis.taxonomy)
        self.storage = Storage.open(
            settings.database.path,
            threshold=settings.analysis.merge_threshold,
            clock=clock,
            weights=Weights(half_life_days=settings.analysis.search_half_life_days),
        )
        self.storage.articles.city_order = self.taxonomy.city_names
        self.storage.articles.topic_order = self.taxonomy.topic_names
        if taxonomy is None:
            self.storage.feeds.sync_config(settings.feeds.urls, self.now())
            self.storage.sources.sync_config(
                ((p.url, p.name, p.spec().to_json()) for p in settings.sources.pages),
                self.now(),
            )

    def query_words(self, text: str) -> list[str]:
        return query_words(text, self.analyzer)

    def search(self, text: str, **options: Any) -> SearchPage:
        """``Search.search`` of ``text`` (``options``: cities, topics, limit, offset, sort),
        a run-together query retried as its words (``search_or_words``)."""
        return search_or_words(
            self.storage.search, text, self.query_words, self.query_names, **options
        )

    def story_ids(self, text: str, since: int, until: int) -> set[int]:
        """The stories first seen in [since, until) that a watched keyword finds, as
        :meth:`search` matches it: as its words only when it finds nothing as written in
        any period (a run-together keyword), not in a week it merely has no story."""
        search = self.storage.search
        found = search.story_ids(text, since, until)
        if found or search.finds_any(text):
            return found
        joined = as_words(text, self.query_words)
        return search.story_ids(joined, since, until) if joined else found

    def query_names(self, text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """``query_names`` of ``text`` with this core's taxonomy."""
        return query_names(text, self.taxonomy)

    def now(self) -> int:
        return int(self.clock())

    @cached_property
    def analyzer(self) -> Analyzer:
        return Analyzer(self.taxonomy, self.settings.analysis.keywords)

    @cached_property
    def tagger(self) -> Tagger:
        return Tagger(self.taxonomy)

    @cached_property
    def locate(self) -> Callable[[str], tuple[str, ...]]:
        """The cities a folded sentence names (cached: the same sentences come back in
        every digest of a period)."""
        tagger = self.tagger
        return functools.lru_cache(maxsize=65536)(lambda sentence: tagger.cities("", sentence))

    def fetch_options(self) -> FetchOptions:
        feeds = self.settings.feeds
        return FetchOptions(
            timeout=feeds.timeout_seconds,
            max_bytes=feeds.max_bytes,
            max_redirects=feeds.max_redirects,
            user_agent=feeds.user_agent,
            policy=AddressPolicy(
                allow=feeds.allow_private, dns_timeout=min(10.0, feeds.timeout_seconds)
            ),
        )

    def probe_feed(self, url: str) -> ParsedFeed:
        """Fetch and parse ``url`` now; raises ``FeedError`` when it is not a usable feed."""
        result = fetch(url, options=self.fetch_options())
        return parse_feed(result.content, url=url, content_type=result.headers.get("content-type"))

    def probe_page(self, url: str) -> tuple[str, ParsedFeed | None, ListRead]:
        """What a web page offers: ``(feed_url, feed, listing)`` for a feed it advertises
        (``<link rel="alternate">``) that parses, else ``("", None, listing)``.

        Raises ``FeedError`` when the page cannot be read or lists no article links.
        """
        listing = self.web_reader().read_list(SourceSpec(url=url), self.now())
        for feed_url in listing.feeds:
            try:
                return feed_url, self.probe_feed(feed_url), listing
            except FeedError:
                continue
        if not listing.articles:
            raise ParseError("no article links found on this page", kind="no_links")
        return "", None, listing

    def web_reader(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> WebReader:
        """A reader of web sources with its own politeness state (robots.txt, delays)."""
        fetcher = PoliteFetcher(
            self.fetch_options(),
            delay=self.settings.sources.delay_seconds,
            clock=clock,
            sleep=sleep,
            robots=self.settings.sources.robots,
        )
        return WebReader(fetcher, timezone=self.settings.digest.timezone)

    def source_ingestor(self, reader: WebReader | None = None) -> SourceIngestor:
        return SourceIngestor(
            storage=self.storage,
            analyzer=self.analyzer,
            tagger=self.tagger,
            reader=reader or self.web_reader(),
            max_new=self.settings.sources.max_new,
            clock=self.clock,
        )

    def ingestor(self, reader: WebReader | None = None) -> Ingestor:
        feeds = self.settings.feeds
        return Ingestor(
            storage=self.storage,
            analyzer=self.analyzer,
            options=self.fetch_options(),
            clock=self.clock,
            policy=PollPolicy(
                interval=feeds.poll_minutes * 60,
                jitter=feeds.jitter_seconds,
                max_failures=feeds.max_failures,
            ),
            sources=self.source_ingestor(reader),
            source_policy=PollPolicy(
                interval=self.settings.sources.poll_minutes * 60,
                jitter=feeds.jitter_seconds,
                max_failures=feeds.max_failures,
            ),
        )

    def replay_guard(self, channel: str, clock: Callable[[], float] | None = None) -> ReplayGuard:
        """The replay guard of a signed callback (WeChat) on this process's storage."""
        return ReplayGuard(
            self.storage.nonces,
            channel=channel,
            window=self.settings.wechat.replay_window,
            clock=clock or self.clock,
        )

    def close(self) -> None:
        self.storage.close()


def query_words(text: str, analyzer: Analyzer) -> list[str]:
    """The words of a search query (folded, then segmented, each once)."""
    return list(dict.fromkeys(analyzer.tokenizer.words(fold(text))))


def query_names(text: str, taxonomy: Taxonomy) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The cities and topics a search query names by name, as one of its terms (湘潭,
    湘潭市, 交通): a filter-like boost in relevance order. A word that only contains a
    name (株洲大道, a road), a district or a landmark (九华, 橘子洲) is what the reader
    looks for, not all of its city's stories: no boost."""
    query = fts.parse_query(text)
    if query is None:
        return (), ()
    named = set(query.terms)
    cities = tuple(c for c in taxonomy.city_names if c in named or f"{c}市" in named)
    return cities, tuple(t for t in taxonomy.topic_names if t in named)


def search_or_words(
    search: Search,
    text: str,
    words: Callable[[str], list[str]],
    names: Callable[[str], tuple[tuple[str, ...], tuple[str, ...]]],
    **options: Any,
) -> SearchPage:
    """``search.search(text, **options)`` with the cities and topics ``text`` ``names``
    (``query_names``); when page one is empty (a run-together query, "湘潭融城干道", finds
    nothing as one phrase), page one of the query's ``words`` as its terms instead, with
    their names (``SearchPage.terms`` says which were searched, and a later page of them
    ranks the same)."""
    page = search.search(text, named=names(text), **options)
    if page.hits or options.get("offset"):
        return page
    joined = as_words(text, words)
    return search.search(joined, named=names(joined), **options) if joined else page


def as_words(text: str, words: Callable[[str], list[str]]) -> str | None:
    """``text`` as its ``words``, space-separated, when that is a different query (a
    run-together "湘潭融城干道" → "湘潭 融城干道"); None when it would search the same."""
    query = fts.parse_query(text)
    split = words(text)[: fts.MAX_TERMS]
    joined = " ".join(split)
    if query is None or not split or tuple(split) == query.terms:
        return None
    return joined if len(joined) <= fts.MAX_QUERY_CHARS else None


class RedactingFilter(logging.Filter):
    """Replaces every secret (any Telegram bot token, any ``user:pass@`` of a URL) in log
    records with ***."""

    _TOKEN = re.compile(r"\b\d{5,}:[A-Za-z0-9_-]{20,}\b")

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = tuple(s for s in secrets if s)

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return redact_userinfo(self._TOKEN.sub("***", text))

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.msg = self.redact(message)
        record.args = ()
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        return True


def setup_logging(settings: Settings, stream: TextIO | None = None) -> None:
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    handler.addFilter(RedactingFilter(settings.secrets()))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    # Telegram request URLs contain the bot token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)

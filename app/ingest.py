"""Ingest: fetch each feed, parse, analyse and store its entries, recording feed health.

One bad feed never stops the others: every failure is caught per feed, recorded in the
feed's state and reported; the next poll of that feed backs off.
"""

from __future__ import annotations

import dataclasses
import logging
import random
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from analysis.pipeline import Analyzer
from app.sources import SourceIngestor
from domain.errors import (
    CorruptDatabaseError,
    FeedError,
    FetchError,
    NotModified,
    ParseError,
    StorageError,
)
from domain.models import FeedState
from domain.urls import redacted
from feeds.dates import has_placeholder
from feeds.fetch import FetchOptions, FetchResult, fetch, is_local
from feeds.parse import ParsedFeed, parse_feed
from storage import Storage
from storage.articles import MERGED, NEW, UNCHANGED, UPDATED

log = logging.getLogger(__name__)

MAX_BACKOFF = 24 * 3600
BATCH = 200
# feedparser's complaints that leave a well-formed feed (encoding labels, content type);
# anything else (SAXParseException: not well-formed XML) is fatal for a local file.
RECOVERABLE_BOZO = ("CharacterEncodingOverride", "CharacterEncodingUnknown", "NonXMLContentType")


def check_local_feed(url: str, options: FetchOptions) -> ParsedFeed | None:
    """Refuse a local file that is not a well-formed feed (``ParseError``); None for URLs.

    feedparser salvages items from almost any text (one ``<item>`` line in a password
    file is "a feed"); that leniency helps with sloppy remote feeds, but a file named
    on the command line must really be one.
    """
    if not is_local(url):
        return None
    result = fetch(url, options=dataclasses.replace(options, allow_local=True))
    parsed = parse_feed(result.content, url=url)
    if parsed.bozo and not parsed.bozo.startswith(RECOVERABLE_BOZO):
        raise ParseError(f"not a well-formed feed ({parsed.bozo})")
    return parsed


@dataclass
class FeedReport:
    url: str
    new: int = 0
    updated: int = 0
    merged: int = 0
    unchanged: int = 0
    error: str = ""
    not_modified: bool = False
    disabled: bool = False
    source: bool = False  # a web source (list page), not a feed
    skipped: int = 0  # web-source articles skipped as unrelated
    failed_pages: int = 0  # web-source article pages that could not be read

    @property
    def ok(self) -> bool:
        return not self.error


@dataclass(frozen=True)
class PollPolicy:
    interval: int = 1800
    jitter: int = 120
    max_failures: int = 10

    def next_success(self, now: int, rng: random.Random) -> int:
        return now + self.interval + rng.randint(0, max(0, self.jitter))

    def next_failure(
        self, now: int, failures: int, retry_after: float | None, rng: random.Random
    ) -> int:
        """Exponential backoff from the poll interval, never sooner than Retry-After."""
        delay = min(self.interval * 2 ** max(0, failures - 1), MAX_BACKOFF)
        if retry_after is not None:
            delay = max(delay, int(retry_after))
        return now + delay + rng.randint(0, max(0, self.jitter))


@dataclass
class Ingestor:
    storage: Storage
    analyzer: Analyzer
    options: FetchOptions = field(default_factory=FetchOptions)
    policy: PollPolicy = field(default_factory=PollPolicy)
    rng: random.Random = field(default_factory=random.Random)
    # Told of a feed disabled by this run; its URL redacted (``domain.urls``), as the
    # callback shows it to people (admin alerts).
    on_disabled: Callable[[FeedState, str], None] | None = None
    clock: Callable[[], float] = time.time
    # Seams: how bytes are fetched and how they become entries (tests pass fakes).
    fetcher: Callable[..., FetchResult] = fetch
    parser: Callable[..., ParsedFeed] = parse_feed
    sources: SourceIngestor | None = None  # reads feeds of kind "source"
    source_policy: PollPolicy = field(default_factory=lambda: PollPolicy(interval=720 * 60))

    def ingest(
        self, feeds: Iterable[FeedState], now: int, progress: Callable[[int], None] | None = None
    ) -> list[FeedReport]:
        reports = []
        for feed in feeds:
            reports.append(self.ingest_feed(feed, now, progress))
        return reports

    def ingest_feed(
        self, feed: FeedState, now: int, progress: Callable[[int], None] | None = None
    ) -> FeedReport:
        report = FeedReport(url=feed.url, source=feed.is_source)
        store = self.storage
        try:
            if feed.is_source and self.sources is not None:
                self._ingest_source(self.sources, feed, report, now)
                return report
            # A stored feed that is a local path was named by the operator (command line,
            # config): chat and discovered links take http(s) only.
            result = self.fetcher(
                feed.url,
                etag=feed.etag,
                last_modified=feed.last_modified,
                options=dataclasses.replace(self.options, allow_local=True),
            )
            parsed = self.parser(
                result.content, url=feed.url, content_type=result.headers.get("content-type")
            )
            entries = parsed.entries
            links = Counter(e.link for e in entries if e.link)
            for start in range(0, len(entries), BATCH):
                batch = entries[start : start + BATCH]
                # Analyse first, outside the transaction: the write lock is held only for
                # the writes. One transaction per batch keeps each entry all-or-nothing;
                # a kill loses at most the batch in flight, which the next poll redoes.
                analyses = [self.analyzer.analyze(e.title, e.content) for e in batch]
                written = int(self.clock())  # first_seen: when it becomes visible
                with store.db.transaction():
                    for entry, analysis in zip(batch, analyses, strict=True):
                        outcome = store.articles.upsert(
                            feed.id,
                            entry,
                            analysis,
                            written,
                            match_link=links[entry.link] == 1,
                        )
                        _count(report, outcome)
                if progress:
                    progress(len(batch))
            store.feeds.record_success(
                feed.id,
                now=now,
                next_poll_at=self.policy.next_success(now, self.rng),
                title=parsed.title or None,
                etag=result.etag,
                last_modified=result.last_modified,
                entries=len(parsed.entries),
            )
            log.info(
                "ingest.feed url=%s new=%d updated=%d merged=%d",
                redacted(feed.url),
                report.new,
                report.updated,
                report.merged,
            )
        except CorruptDatabaseError:
            raise  # no feed can be stored any more: stop the run, report it once
        except NotModified:
            report.not_modified = True
            store.feeds.record_success(
                feed.id,
                now=now,
                not_modified=True,
                next_poll_at=self.policy.next_success(now, self.rng),
            )
        except (FeedError, StorageError) as e:
            self._failed(feed, report, e, now)
        except Exception as e:  # a bug must cost one feed, not the others
            log.exception("ingest.unexpected url=%s", redacted(feed.url))
            self._failed(
                feed,
                report,
                FeedError(f"unexpected error: {type(e).__name__}", kind="unexpected"),
                now,
            )
        return report

    def _ingest_source(
        self, sources: SourceIngestor, feed: FeedState, report: FeedReport, now: int
    ) -> None:
        out = sources.read(feed, now)
        for outcome in out.outcomes:
            _count(report, outcome)
        report.skipped, report.failed_pages = out.skipped, out.failed_pages
        report.not_modified = out.not_modified
        self.storage.feeds.record_success(
            feed.id,
            now=now,
            not_modified=out.not_modified,
            next_poll_at=self.source_policy.next_success(now, self.rng),
            title=None if feed.title else out.title or None,
            etag=out.etag,
            last_modified=out.last_modified,
            entries=len(out.outcomes),
        )
        log.info(
            "ingest.source url=%s new=%d skipped=%d failed_pages=%d",
            redacted(feed.url),
            report.new,
            report.skipped,
            report.failed_pages,
        )

    def _failed(self, feed: FeedState, report: FeedReport, error: Exception, now: int) -> None:
        report.error = str(error) or error.__class__.__name__
        retry_after = error.retry_after if isinstance(error, FetchError) else None
        gone = isinstance(error, FetchError) and error.gone
        if feed.is_source and has_placeholder(feed.url):
            gone = False  # today's e-paper edition may simply not be out yet
        failures = feed.consecutive_failures + 1
        policy = self.source_policy if feed.is_source else self.policy
        disable = gone or failures >= policy.max_failures
        kind = error.kind if isinstance(error, FeedError) else "unexpected"
        try:
            self.storage.feeds.record_failure(
                feed.id,
                now=now,
                error=report.error,
                kind=kind,
                disable=disable,
                next_poll_at=policy.next_failure(now, failures, retry_after, self.rng),
            )
        except StorageError as e:  # keep going: the other feeds still deserve a try
            log.error("ingest.record_failure url=%s error=%s", redacted(feed.url), e)
        report.disabled = disable
        log.warning(
            "ingest.failed url=%s failures=%d error=%s", redacted(feed.url), failures, report.error
        )
        if disable and self.on_disabled is not None:
            # The feed as it now stands (its last error and kind), its URL redacted.
            shown = dataclasses.replace(
                feed, url=redacted(feed.url), last_error=report.error, last_error_kind=kind
            )
            self.on_disabled(shown, report.error)


def _count(report: FeedReport, outcome: str) -> None:
    if outcome == NEW:
        report.new += 1
    elif outcome == MERGED:
        report.merged += 1
    elif outcome == UPDATED:
        report.updated += 1
    elif outcome == UNCHANGED:
        report.unchanged += 1

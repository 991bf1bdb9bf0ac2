"""Ingest of web sources: list page -> relevance by title -> article pages -> entries.

The same guarantees as feed ingest: one broken article page never stops the others,
one broken source never stops the other sources (``Ingestor`` catches per source), and
failures back off through the same ``PollPolicy``. On top of it, for the sites' sake:
an article seen before is never fetched again, at most ``max_new`` article pages per
run, conditional GET on the list page and a hash of its link list for servers that send
no validators, an article page that is gone (404/410) or disallowed by robots.txt is
marked seen and never asked for again, and a stop at the first 403, 429 or 5xx of an
article page or an unreachable robots.txt (the server refuses us or is unwell; the rest
waits for the next poll).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from analysis.pipeline import Analyzer
from analysis.relevance import Relevance
from analysis.taxonomy import Tagger
from domain.errors import FetchError, NotModified
from domain.models import FeedState
from domain.urls import redacted
from feeds.listpage import identity
from feeds.polite import RobotsDisallowed, RobotsUnreachable
from feeds.webread import ListRead, SourceSpec, WebReader
from storage import Storage

log = logging.getLogger(__name__)


@dataclass
class SourceOutcome:
    """What one run of one source did, folded into the ``FeedReport`` by the ingestor."""

    outcomes: list[str] = field(default_factory=list)  # NEW/UPDATED/MERGED/UNCHANGED
    skipped: int = 0  # unrelated: by title before fetching, or by text after
    failed_pages: int = 0  # article or layout pages that could not be read
    not_modified: bool = False
    title: str = ""
    etag: str | None = None
    last_modified: str | None = None
    listed: int = 0
    warnings: list[str] = field(default_factory=list)


@dataclass
class SourceIngestor:
    storage: Storage
    analyzer: Analyzer
    tagger: Tagger
    reader: WebReader
    max_new: int = 50
    clock: Callable[[], float] = time.time

    def read(self, feed: FeedState, now: int) -> SourceOutcome:
        """Read one source and store its new articles. Raises ``FeedError`` for the list page."""
        spec = SourceSpec.from_json(feed.spec, feed.url)
        relevance = Relevance(self.tagger, spec.filter)
        out = SourceOutcome()
        try:
            listing = self.reader.read_list(
                spec, now, etag=feed.etag, last_modified=feed.last_modified
            )
        except NotModified:
            out.not_modified = True
            return out
        out.title, out.etag, out.last_modified = listing.title, listing.etag, listing.last_modified
        out.listed = len(listing.articles)
        out.failed_pages += len(listing.errors)
        out.warnings.extend(listing.errors)
        if listing.link_hash == feed.list_hash and not listing.errors:
            out.not_modified = True  # the same links as the last complete run
            return out
        sources = self.storage.sources
        seen = sources.seen(feed.id, (identity(a.url) for a in listing.articles))
        fetched = 0
        complete = not listing.errors
        for listed in listing.articles:
            key = identity(listed.url)
            if key in seen:
                continue
            seen.add(key)
            if not relevance.title_could_pass(listed.title):
                out.skipped += 1
                sources.mark(feed.id, key, kept=False, now=now)
                continue
            if fetched >= self.max_new:
                complete = False  # the rest waits for the next run
                break
            fetched += 1
            try:
                article = self.reader.read_article(spec, listed, listing.edition, now)
            except FetchError as e:
                out.failed_pages += 1
                out.warnings.append(f"{listed.url}: {e}")
                if e.gone or isinstance(e, RobotsDisallowed):  # it will not come back
                    sources.mark(feed.id, key, kept=False, now=now)
                    continue
                complete = False
                if (
                    e.host_unwell or e.retry_after is not None or isinstance(e, RobotsUnreachable)
                ):  # 403, 429, 5xx: stop asking this server now
                    log.warning("source.slow_down url=%s status=%s", redacted(feed.url), e.status)
                    break
                continue
            except Exception as e:  # a bug in one page costs that page only
                log.exception("source.article url=%s", listed.url)
                out.failed_pages += 1
                out.warnings.append(f"{listed.url}: unexpected {type(e).__name__}")
                continue
            entry = article.entry
            verdict = relevance.judge(entry.title, entry.content)
            if not verdict.kept:
                out.skipped += 1
                sources.mark(feed.id, key, kept=False, now=now)
                continue
            analysis = self.analyzer.analyze(entry.title, entry.content)
            written = int(self.clock())
            with self.storage.db.transaction():
                out.outcomes.append(self.storage.articles.upsert(feed.id, entry, analysis, written))
                sources.mark(feed.id, key, kept=True, now=now)
        sources.set_list_hash(feed.id, listing.link_hash if complete else None)
        log.info(
            "source.read url=%s listed=%d fetched=%d skipped=%d failed=%d",
            redacted(feed.url),
            out.listed,
            fetched,
            out.skipped,
            out.failed_pages,
        )
        return out


def check_lines(listing: ListRead, tagger: Tagger) -> list[str]:
    """What ``sources check`` prints for one list page: each link with the title's verdict."""
    relevance = Relevance(tagger)
    lines = [f"{listing.url}: {listing.title or '(no title)'}"]
    lines += [f"  advertises a feed: {feed_url}" for feed_url in listing.feeds]
    counts = {"pass": 0, "read": 0, "skip": 0}
    for a in listing.articles:
        verdict = relevance.title_verdict(a.title)  # pass / read (the text decides) / skip
        counts[verdict] += 1
        day = f"{a.date.year}-{a.date.month:02d}-{a.date.day:02d}" if a.date else "-" * 10
        lines.append(f"  {verdict:4}  {day}  {a.title or '(no title)'}  {a.url}")
    lines += [f"  error: {error}" for error in listing.errors]
    lines.append(
        f"  {len(listing.articles)} links: {counts['pass']} pass by title, "
        f"{counts['read']} decided by their text, {counts['skip']} skipped as unrelated"
    )
    return lines

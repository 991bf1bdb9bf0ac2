"""Polite fetching for web sources: robots.txt, a per-host delay, one User-Agent.

Every request of a web source (list pages, article pages, robots.txt itself) goes through
one ``PoliteFetcher``, which

- reads each host's robots.txt once (with protego, Google's matching rules) and refuses
  what it disallows for our User-Agent; a missing robots.txt (a 4xx status other than
  429) allows everything, an unreachable one (429, 5xx, network error) disallows the host
  for this run, as RFC 9309 says, and is reported as unreachable (``RobotsUnreachable``);
- waits so that two requests to one host are at least ``delay`` seconds apart (or the
  robots.txt ``Crawl-delay``, when longer), with an injectable clock and sleep;
- sends the configured User-Agent and passes every URL through the fetcher's address
  policy (``feeds.netpolicy``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from protego import Protego

from domain.errors import AddressRefused, FetchError, NotModified
from feeds.fetch import FetchOptions, FetchResult, fetch


class RobotsDisallowed(FetchError):
    """robots.txt does not let us fetch this URL."""

    def __init__(self, message: str) -> None:
        super().__init__(message, kind="robots")


class RobotsUnreachable(FetchError):
    """The host's robots.txt could not be read (429, 5xx, network): not this run.

    Carries the status and Retry-After of the failed robots.txt request.
    """

    def __init__(self, cause: FetchError) -> None:
        super().__init__(
            f"robots.txt unreachable ({cause})",
            kind="robots",
            retry_after=cause.retry_after,
            status=cause.status,
        )


@dataclass
class PoliteFetcher:
    options: FetchOptions
    delay: float = 2.0
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    robots: bool = True  # honour robots.txt (off only for sites of one's own)
    fetcher: Callable[..., FetchResult] = fetch
    _last: dict[str, float] = field(default_factory=dict)
    _robots: dict[str, Protego | RobotsUnreachable] = field(default_factory=dict)
    requests: int = 0

    def get(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> FetchResult:
        """Fetch ``url`` when robots.txt allows it, after the host's delay."""
        host = _origin(url)
        robots = self._robots_for(host)
        agent = self.options.user_agent
        if isinstance(robots, RobotsUnreachable):
            raise robots
        if not robots.can_fetch(url, agent):
            raise RobotsDisallowed(f"disallowed by robots.txt: {urlsplit(url).path or '/'}")
        crawl_delay = robots.crawl_delay(agent) or 0.0
        self._wait(host, max(self.delay, float(crawl_delay)))
        return self.fetcher(url, etag=etag, last_modified=last_modified, options=self.options)

    def _robots_for(self, host: str) -> Protego | RobotsUnreachable:
        if not self.robots:
            return _ALLOW_ALL
        if host not in self._robots:
            self._wait(host, self.delay)
            try:
                result = self.fetcher(host + "/robots.txt", options=self.options)
                text = result.content.decode("utf-8", errors="replace")
                self._robots[host] = Protego.parse(text)
            except AddressRefused:
                raise
            except NotModified:
                self._robots[host] = Protego.parse("")
            except FetchError as e:
                # 4xx: no robots.txt, everything allowed. Anything else: unreachable.
                missing = e.status is not None and 400 <= e.status < 500 and e.status != 429
                self._robots[host] = Protego.parse("") if missing else RobotsUnreachable(e)
        return self._robots[host]

    def _wait(self, host: str, delay: float) -> None:
        last = self._last.get(host)
        if last is not None:
            remaining = last + delay - self.clock()
            if remaining > 0:
                self.sleep(remaining)
        self._last[host] = self.clock()
        self.requests += 1


_ALLOW_ALL = Protego.parse("")


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"

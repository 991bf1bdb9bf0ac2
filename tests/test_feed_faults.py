"""Every feed fault at once, beside a good feed: no crash, the good feed is still read,
each faulty feed's state says what happened, and its next poll backs off."""

from __future__ import annotations

import gzip
import logging
import socket

import pytest

from app.core import Core
from app.ingest import FeedReport
from domain.urls import redact_userinfo, redacted
from tests.conftest import FEEDS, NOW
from tests.feedserver import FeedServer, Route

GOOD = (FEEDS / "rss2.xml").read_bytes()
ITEM = "<item><title>{t}</title>{extra}<description>湘潭九华新闻{t}</description></item>"


def _rss(*items: str) -> bytes:
    return (
        "<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>t</title>"
        + "".join(items)
        + "</channel></rss>"
    ).encode()


def _refused_url() -> str:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}/feed"


FAULTS: dict[str, Route] = {
    "/500": Route(status=500),
    "/502": Route(status=502),
    "/503": Route(status=503),
    "/429": Route(status=429, headers={"Retry-After": "3600"}),
    "/404": Route(status=404),
    "/410": Route(status=410),
    "/loop-a": Route(status=302, headers={"Location": "/loop-b"}),
    "/loop-b": Route(status=302, headers={"Location": "/loop-a"}),
    "/html": Route(body=(FEEDS / "not-a-feed.html").read_bytes()),
    "/truncated": Route(body=GOOD[: len(GOOD) // 2]),
    "/empty": Route(body=b""),
    "/huge": Route(body=b"<rss>" + b"x" * (50 * 1024 * 1024)),
    "/bomb": Route(
        body=gzip.compress(b" " * (60 * 1024 * 1024)), headers={"Content-Encoding": "gzip"}
    ),
    "/slow": Route(body=GOOD, delay=3.0),
    "/trickle": Route(body=GOOD * 3, trickle=0.02),
}


def test_all_faults_beside_a_good_feed(core: Core, server: FeedServer) -> None:
    import dataclasses

    core.settings = dataclasses.replace(
        core.settings, feeds=dataclasses.replace(core.settings.feeds, timeout_seconds=1.0)
    )
    server.routes.update(FAULTS)
    server.routes["/good"] = Route(body=GOOD)
    server.routes["/mislabelled"] = Route(body=(FEEDS / "mislabelled.xml").read_bytes())
    server.routes["/no-link-date-guid"] = Route(
        body=_rss(
            ITEM.format(t="无链接", extra=""),
            ITEM.format(t="有链接", extra="<link>http://x.invalid/a</link>"),
            ITEM.format(
                t="未来",
                extra="<link>http://x.invalid/b</link>"
                "<pubDate>Mon, 01 Jan 2040 00:00:00 GMT</pubDate>",
            ),
        )
    )
    server.routes["/dupe-guids"] = Route(
        body=_rss(
            ITEM.format(t="一", extra="<guid>same</guid>"),
            ITEM.format(t="二", extra="<guid>same</guid>"),
        )
    )
    server.routes["/no-items"] = Route(body=(FEEDS / "no-items.xml").read_bytes())
    urls = [
        server.url(p)
        for p in [
            *FAULTS,
            "/good",
            "/mislabelled",
            "/no-link-date-guid",
            "/dupe-guids",
            "/no-items",
        ]
    ] + [_refused_url()]
    feeds = [core.storage.feeds.ensure(u, NOW) for u in urls]
    reports: dict[str, FeedReport] = {r.url: r for r in core.ingestor().ingest(feeds, NOW)}

    def report(path: str) -> FeedReport:
        return reports[server.url(path)]

    assert report("/good").new + report("/good").merged == 3  # /truncated shares links
    assert report("/mislabelled").new == 2
    assert report("/no-link-date-guid").new == 3  # a title is enough; no date means now
    assert report("/dupe-guids").new == 1
    assert report("/no-items").ok and report("/no-items").new == 0
    expected_errors = {
        "/500": "HTTP 500",
        "/502": "HTTP 502",
        "/503": "HTTP 503",
        "/429": "HTTP 429",
        "/404": "gone",
        "/410": "gone",
        "/loop-a": "redirects",
        "/html": "HTML page",
        "/truncated": "",
        "/empty": "empty",
        "/huge": "too large",
        "/bomb": "too large",
        "/slow": "timed out",
        "/trickle": "timed out",
    }
    for path, needle in expected_errors.items():
        r = report(path)
        if path == "/truncated":
            continue  # feedparser may recover the complete items of a cut document
        assert not r.ok and needle in r.error, (path, r.error)
        state = core.storage.feeds.get(server.url(path))
        assert state is not None and state.last_error and state.consecutive_failures == 1
        assert state.next_poll_at is not None and state.next_poll_at > NOW
    assert not reports[urls[-1]].ok and "network error" in reports[urls[-1]].error
    for path in ("/404", "/410"):
        assert core.storage.feeds.get(server.url(path)).disabled == 1  # type: ignore[union-attr]
    assert core.storage.feeds.get(server.url("/429")).next_poll_at >= NOW + 3600  # type: ignore[operator,union-attr]
    assert core.storage.db.scalar("SELECT MAX(published) FROM articles") <= NOW
    assert core.storage.db.integrity_ok()


def test_backoff_doubles_and_the_feed_is_disabled_after_max_failures(
    core: Core, server: FeedServer
) -> None:
    server.routes["/down"] = Route(status=500)
    feed = core.storage.feeds.ensure(server.url("/down"), NOW)
    alerts: list[str] = []
    ingestor = core.ingestor()
    ingestor.on_disabled = lambda f, error: alerts.append(error)
    delays = []
    now = NOW
    for _ in range(ingestor.policy.max_failures):
        state = core.storage.feeds.get(feed.url)
        assert state is not None
        ingestor.ingest_feed(state, now)
        state = core.storage.feeds.get(feed.url)
        assert state is not None and state.next_poll_at is not None
        delays.append(state.next_poll_at - now)
        now = state.next_poll_at
    jitter = ingestor.policy.jitter
    assert delays[1] >= 2 * delays[0] - 2 * jitter and delays[2] >= 2 * delays[1] - 2 * jitter
    assert core.storage.feeds.get(feed.url).disabled == 1  # type: ignore[union-attr]
    assert alerts == ["HTTP 500"]


def test_a_private_feeds_token_is_not_logged_or_alerted(
    core: Core, server: FeedServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Review #21: userinfo and query of a feed URL stay out of logs and alerts."""
    url = server.url("/gone").replace("://", "://reader:hunter2@") + "?token=s3cret"
    feed = core.storage.feeds.ensure(url, NOW)
    shown: list[str] = []
    ingestor = core.ingestor()
    ingestor.on_disabled = lambda f, error: shown.append(f.url)
    with caplog.at_level(logging.INFO):
        ingestor.ingest_feed(feed, NOW)
    # httpx logs request URLs at INFO; setup_logging keeps it at WARNING.
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("app"))
    assert "ingest.failed" in logged
    assert "s3cret" not in logged and "hunter2" not in logged
    assert shown and "s3cret" not in shown[0] and "hunter2" not in shown[0]
    assert shown[0].endswith("/gone?***") and "://***@127.0.0.1:" in shown[0]


def test_redacted_urls() -> None:
    assert (
        redacted("https://u:p@feeds.example/rss?key=1#x") == "https://***@feeds.example/rss?***#x"
    )
    assert redacted("https://feeds.example/rss.xml") == "https://feeds.example/rss.xml"
    assert redacted("http://[::1]:8080/a?b") == "http://[::1]:8080/a?***"
    assert redacted("https://[::1/x?token=9") == "https://[::1/x?***"
    assert redacted("/srv/feeds/local.xml") == "/srv/feeds/local.xml"
    assert (
        redact_userinfo("see http://a:b@h/x and ftp://c@d") == "see http://***@h/x and ftp://***@d"
    )

from __future__ import annotations

import gzip
import os
import socket
from dataclasses import replace
from pathlib import Path

import pytest

from domain.errors import FetchError, NotModified
from feeds.fetch import FetchOptions, fetch, parse_retry_after
from tests.conftest import LOOPBACK
from tests.feedserver import FeedServer, Route

RSS = b"<?xml version='1.0'?><rss version='2.0'><channel><title>t</title></channel></rss>"


def test_ok_with_conditional_get(server: FeedServer) -> None:
    server.routes["/f"] = Route(
        body=RSS, headers={"ETag": '"v1"', "Last-Modified": "Mon, 02 Nov 2026 00:00:00 GMT"}
    )
    r = fetch(server.url("/f"), options=LOOPBACK)
    assert r.content == RSS and r.etag == '"v1"'
    server.routes["/f"] = Route(status=304)
    with pytest.raises(NotModified):
        fetch(server.url("/f"), etag=r.etag, last_modified=r.last_modified, options=LOOPBACK)
    sent = server.requests[-1][1]
    assert sent["If-None-Match"] == '"v1"'
    assert sent["If-Modified-Since"].startswith("Mon, 02 Nov")
    assert "CZTDigest" in sent["User-Agent"]


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors(server: FeedServer, status: int) -> None:
    server.routes["/f"] = Route(status=status)
    with pytest.raises(FetchError) as err:
        fetch(server.url("/f"), options=LOOPBACK)
    assert str(status) in str(err.value) and not err.value.gone


def test_429_carries_retry_after(server: FeedServer) -> None:
    server.routes["/f"] = Route(status=429, headers={"Retry-After": "120"})
    with pytest.raises(FetchError) as err:
        fetch(server.url("/f"), options=LOOPBACK)
    assert err.value.retry_after == 120


@pytest.mark.parametrize("status", [404, 410])
def test_gone(server: FeedServer, status: int) -> None:
    server.routes["/f"] = Route(status=status)
    with pytest.raises(FetchError) as err:
        fetch(server.url("/f"), options=LOOPBACK)
    assert err.value.gone


def test_timeout(server: FeedServer) -> None:
    server.routes["/slow"] = Route(body=RSS, delay=2.0)
    with pytest.raises(FetchError, match="timed out"):
        fetch(server.url("/slow"), options=replace(LOOPBACK, timeout=0.3))


def test_trickling_server_times_out(server: FeedServer) -> None:
    server.routes["/t"] = Route(body=RSS * 20, trickle=0.05)
    with pytest.raises(FetchError, match="timed out"):
        fetch(server.url("/t"), options=replace(LOOPBACK, timeout=0.2))


def test_oversize_body_is_capped(server: FeedServer) -> None:
    server.routes["/big"] = Route(body=b"x" * 200_000)
    with pytest.raises(FetchError, match="too large"):
        fetch(server.url("/big"), options=replace(LOOPBACK, max_bytes=50_000))


def test_gzip_bomb_is_capped_after_decoding(server: FeedServer) -> None:
    bomb = gzip.compress(b"\0" * 20_000_000)
    assert len(bomb) < 100_000
    server.routes["/bomb"] = Route(body=bomb, headers={"Content-Encoding": "gzip"})
    with pytest.raises(FetchError, match="too large"):
        fetch(server.url("/bomb"), options=replace(LOOPBACK, max_bytes=1_000_000))


def test_redirect_loop(server: FeedServer) -> None:
    server.routes["/a"] = Route(status=302, headers={"Location": "/b"})
    server.routes["/b"] = Route(status=302, headers={"Location": "/a"})
    with pytest.raises(FetchError, match="redirects"):
        fetch(server.url("/a"), options=LOOPBACK)


def test_redirect_followed(server: FeedServer) -> None:
    server.routes["/old"] = Route(status=301, headers={"Location": "/new"})
    server.routes["/new"] = Route(body=RSS)
    assert fetch(server.url("/old"), options=LOOPBACK).url.endswith("/new")


def test_connection_refused() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    with pytest.raises(FetchError, match="network error"):
        fetch(f"http://127.0.0.1:{port}/feed", options=replace(LOOPBACK, timeout=2))


LOCAL = FetchOptions(allow_local=True)


def test_local_paths_and_file_urls(tmp_path: Path) -> None:
    path = tmp_path / "feed.xml"
    path.write_bytes(RSS)
    assert fetch(str(path), options=LOCAL).content == RSS
    assert fetch(path.as_uri(), options=LOCAL).content == RSS
    with pytest.raises(FetchError, match="not found"):
        fetch(str(tmp_path / "missing.xml"), options=LOCAL)


def test_local_files_only_when_the_caller_allows_them(tmp_path: Path) -> None:
    path = tmp_path / "secret.xml"
    path.write_bytes(RSS)
    for url in (str(path), path.as_uri(), "file:///etc/passwd", "feeds/rss.xml"):
        with pytest.raises(FetchError) as refused:
            fetch(url)
        assert refused.value.kind == "scheme"


def test_local_reads_are_capped_by_bytes_read(tmp_path: Path) -> None:
    """``/dev/zero`` has st_size 0 and never ends; a FIFO would block."""
    small = replace(LOCAL, max_bytes=1000)
    with pytest.raises(FetchError) as endless:
        fetch("/dev/zero", options=small)
    assert endless.value.kind in ("too_large", "unreadable")
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(FetchError, match="not a regular file"):
        fetch(str(fifo), options=small)
    big = tmp_path / "big.xml"
    big.write_bytes(b"x" * 1001)
    with pytest.raises(FetchError) as large:
        fetch(str(big), options=small)
    assert large.value.kind == "too_large"


def test_http_errors_carry_their_status(server: FeedServer) -> None:
    for status in (403, 404, 500):
        server.routes["/s"] = Route(status=status)
        with pytest.raises(FetchError) as e:
            fetch(server.url("/s"), options=LOOPBACK)
        assert e.value.status == status
        assert e.value.host_unwell == (status != 404)


def test_unsupported_scheme() -> None:
    with pytest.raises(FetchError, match="scheme"):
        fetch("ftp://example.invalid/feed")


def test_retry_after_forms() -> None:
    assert parse_retry_after("30") == 30
    assert parse_retry_after("Wed, 25 Nov 2026 00:01:00 GMT", now=1795564800) == 60
    assert parse_retry_after("soon") is None

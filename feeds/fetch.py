"""Fetching feed bytes: HTTP with httpx (conditional GET, caps, redirects) or local files.

``fetch`` only moves bytes; parsing is ``feeds.parse``. Every failure is a ``FetchError``
with a short message safe to store and show.
"""

from __future__ import annotations

import email.utils
import os
import stat
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

import httpx

from domain.errors import FetchError, NotModified
from feeds.netpolicy import AddressPolicy, pinned_client


@dataclass(frozen=True)
class FetchResult:
    url: str  # the final URL after redirects
    content: bytes
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True)
class FetchOptions:
    timeout: float = 20.0
    max_bytes: int = 10 * 1024 * 1024
    max_redirects: int = 5
    user_agent: str = "CZTDigest/0.1"
    # Internal addresses are refused unless listed: see feeds.netpolicy.
    policy: AddressPolicy = field(default_factory=AddressPolicy)
    # Local paths and file:// URLs: only for feeds named by the operator (command line,
    # config, the bundled samples), never for a URL from a chat or found inside a page.
    allow_local: bool = False


def is_local(url: str) -> bool:
    return url.startswith("file://") or "://" not in url


def local_path(url: str) -> Path:
    if url.startswith("file://"):
        return Path(unquote(urlparse(url).path))
    return Path(url)


def fetch(
    url: str,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    options: FetchOptions | None = None,
    client: httpx.Client | None = None,
) -> FetchResult:
    """Fetch ``url`` (http, https; file:// or a local path only with
    ``options.allow_local``) and return its bytes.

    Every connection, redirects included, goes through ``options.policy`` (a given
    ``client`` is trusted to do the same: build it with ``feeds.netpolicy.pinned_client``).
    Raises ``NotModified`` on 304, ``AddressRefused`` for an internal host and
    ``FetchError`` on any other failure.
    """
    opts = options or FetchOptions()
    if is_local(url):
        if not opts.allow_local:
            raise FetchError("unsupported URL scheme: local files are not allowed", kind="scheme")
        return _read_local(url, opts)
    try:
        scheme = urlparse(url).scheme
    except ValueError as e:
        raise FetchError(f"invalid URL: {e}", kind="invalid_url") from None
    if scheme not in ("http", "https"):
        raise FetchError(f"unsupported URL scheme: {scheme or '(none)'}", kind="scheme")
    headers = {"User-Agent": opts.user_agent, "Accept-Encoding": "gzip, deflate"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    started = time.monotonic()
    own = client is None
    http = client or pinned_client(
        opts.policy,
        timeout=httpx.Timeout(opts.timeout, connect=min(10.0, opts.timeout)),
        max_redirects=opts.max_redirects,
    )
    try:
        with http.stream("GET", url, headers=headers) as response:
            if response.status_code == 304:
                raise NotModified()
            _check_status(response)
            content = _read_capped(response, opts.max_bytes, started + opts.timeout)
            return FetchResult(
                url=str(response.url),
                content=content,
                headers={k.lower(): v for k, v in response.headers.items()},
                etag=response.headers.get("etag"),
                last_modified=response.headers.get("last-modified"),
            )
    except httpx.InvalidURL as e:
        raise FetchError(f"invalid URL: {e}", kind="invalid_url") from None
    except httpx.TooManyRedirects:
        raise FetchError(
            f"too many redirects (more than {opts.max_redirects})", kind="redirects"
        ) from None
    except httpx.TimeoutException as e:
        raise FetchError(f"timed out ({e.__class__.__name__})", kind="timeout") from None
    except httpx.TransportError as e:
        raise FetchError(f"network error: {e.__class__.__name__}: {e}") from None
    except httpx.HTTPError as e:
        raise FetchError(f"HTTP error: {e.__class__.__name__}", kind="http") from None
    finally:
        if own:
            http.close()


def _check_status(response: httpx.Response) -> None:
    status = response.status_code
    if status < 400:
        return
    if status in (404, 410):
        raise FetchError(f"HTTP {status}: feed is gone", gone=True, status=status)
    retry_after = parse_retry_after(response.headers.get("retry-after"))
    if status in (429, 503) and retry_after is None:
        retry_after = 60.0
    kind = "rate_limited" if status == 429 else "server" if status >= 500 else "http"
    raise FetchError(f"HTTP {status}", kind=kind, retry_after=retry_after, status=status)


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(min(int(value), 86400))
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    delta = when.timestamp() - (time.time() if now is None else now)
    return max(0.0, min(delta, 86400.0))


def _read_capped(response: httpx.Response, max_bytes: int, deadline: float) -> bytes:
    """The body, refusing more than ``max_bytes`` (after decoding) or past ``deadline``.

    httpx's read timeout applies to each read, so a server that trickles a byte at a
    time would never trip it; the overall deadline does.
    """
    declared = response.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise FetchError(
            f"body too large: {int(declared)} bytes (cap {max_bytes})", kind="too_large"
        )
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > max_bytes:
            raise FetchError(f"body too large: over {max_bytes} bytes", kind="too_large")
        chunks.append(chunk)
        if time.monotonic() > deadline:
            raise FetchError("timed out (body too slow)", kind="timeout")
    return b"".join(chunks)


def _read_local(url: str, opts: FetchOptions) -> FetchResult:
    """A regular file's bytes, refusing more than ``max_bytes`` by what is read.

    ``st_size`` is no cap: a device (``/dev/zero``) or a file that grows reports less
    than it yields, and a FIFO would block; only regular files are read.
    """
    path = local_path(url)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                raise FetchError(f"not a regular file: {path}", kind="unreadable")
            content = f.read(opts.max_bytes + 1)
    except FileNotFoundError:
        raise FetchError(f"file not found: {path}", kind="not_found") from None
    except IsADirectoryError:
        raise FetchError(f"not a file: {path}", kind="unreadable") from None
    except OSError as e:
        raise FetchError(
            f"cannot read {path}: {e.strerror or e.__class__.__name__}", kind="unreadable"
        ) from None
    if len(content) > opts.max_bytes:
        raise FetchError(f"file too large: over {opts.max_bytes} bytes", kind="too_large")
    return FetchResult(url=str(path), content=content)

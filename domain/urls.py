"""Showing URLs without their secrets. Pure.

A private feed's URL may carry a token (``?token=…``, ``user:pass@``); logs, alerts and
chat replies show it through ``redacted``, so only the operator's config holds the secret.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@?#]*@")
_QUERY = re.compile(r"\?[^\s#]*")


def redacted(url: str) -> str:
    """``url`` with its user info and query replaced by ``***`` (the rest kept)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:  # malformed: redact by pattern
        return _QUERY.sub("?***", _USERINFO.sub(r"\1***@", url))
    if not parts.scheme or not parts.netloc:
        return _QUERY.sub("?***", url) if "://" in url else url  # a local path
    netloc = host if ":" not in host else f"[{host}]"
    if port is not None:
        netloc += f":{port}"
    if parts.username is not None or parts.password is not None:
        netloc = "***@" + netloc
    query = "***" if parts.query else ""
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def redact_userinfo(text: str) -> str:
    """Any ``scheme://user:pass@`` in free text (a log line) as ``scheme://***@``."""
    return _USERINFO.sub(r"\1***@", text)

"""The project's exception tree.

    CztError                      root: every error we raise on purpose
    ├── ConfigError               bad or missing configuration (names the key or path)
    ├── FeedError                 a feed could not be fetched or parsed
    │   ├── FetchError            network, HTTP status, size cap, redirect loop
    │   │   ├── NotModified       304: nothing new (not a failure; carries no message)
    │   │   └── AddressRefused    the host is internal (SSRF policy): refused before connecting
    │   └── ParseError            the body is not a feed (HTML page, empty, garbage)
    ├── StorageError              a database operation failed
    │   ├── CorruptDatabaseError  the file is damaged: this process writes no more to it
    │   └── InvalidQueryError     a search query that cannot be answered
    ├── UserInputError            a chat or CLI argument we cannot accept (message in Chinese)
    └── DeliveryError             a channel could not deliver a message
        ├── BlockedError          the chat blocked or removed us: deactivate it
        ├── RateLimitedError      slow down; ``retry_after`` seconds
        ├── TransientError        network or 5xx: retry with backoff
        ├── InvalidTargetError    the target does not exist or is misconfigured
        ├── ChatMigratedError     a Telegram group became a supergroup: ``new_address``
        ├── RejectedError         this one message was refused (bad markup): skip it
        └── ChannelDownError      the whole channel refuses us (bot token revoked)

Every error message is safe to log: no secrets are ever put into one. A feed error carries
its ``kind`` (one of ``FEED_ERROR_KINDS``) as a field, stored with the feed's last error,
so what a user reads is chosen by kind and never by matching the English message.
"""

from __future__ import annotations


class CztError(Exception):
    """Root of every error this project raises on purpose."""


class ConfigError(CztError):
    """The configuration file or environment is invalid."""


# What went wrong with a feed, as stored in ``feeds.last_error_kind``.
FEED_ERROR_KINDS = (
    "invalid_url",  # not a URL we can fetch
    "scheme",  # not http(s)
    "refused",  # the address is not allowed (private, loopback, ...)
    "redirects",  # too many redirects
    "timeout",
    "network",  # DNS, connection refused or reset, TLS
    "gone",  # 404/410: the feed should be disabled
    "rate_limited",  # 429
    "server",  # 5xx
    "http",  # another HTTP status
    "too_large",
    "not_found",  # a local file that does not exist
    "unreadable",  # a local file we cannot read
    "empty",  # an empty body
    "html_page",  # a web page, not a feed
    "not_feed",  # a body that does not parse as RSS/Atom
    "no_links",  # a web page with neither a feed nor article links
    "robots",  # robots.txt disallows the URL, or cannot be read
    "unexpected",  # a bug: logged with its traceback
)


class FeedError(CztError):
    """A feed could not be read; ``kind`` says why (see ``FEED_ERROR_KINDS``)."""

    def __init__(self, message: str, *, kind: str = "unexpected") -> None:
        super().__init__(message)
        self.kind = kind


class FetchError(FeedError):
    """Fetching a feed failed: network, status, size or redirects.

    ``retry_after`` is set when the server asked us to wait (429/503), ``gone`` when
    it answered 410 or 404 and the feed should be disabled, ``status`` is the HTTP
    status when there was one (decide by these fields, never by the message).
    """

    def __init__(
        self,
        message: str,
        *,
        kind: str = "network",
        retry_after: float | None = None,
        gone: bool = False,
        status: int | None = None,
    ) -> None:
        super().__init__(message, kind="gone" if gone else kind)
        self.retry_after = retry_after
        self.gone = gone
        self.status = status

    @property
    def host_unwell(self) -> bool:
        """The server refuses or cannot serve us now (403, 429, 5xx): stop asking it."""
        return self.status is not None and (self.status in (403, 429) or self.status >= 500)


class NotModified(FetchError):
    """The server answered 304 Not Modified."""

    def __init__(self) -> None:
        super().__init__("not modified", kind="http", status=304)


class AddressRefused(FetchError):
    """The URL's host resolves to an address the policy refuses (loopback, private, ...)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, kind="refused")


class ParseError(FeedError):
    """The fetched body is not a usable feed."""

    def __init__(self, message: str, *, kind: str = "not_feed") -> None:
        super().__init__(message, kind=kind)


class StorageError(CztError):
    """A database operation failed."""


class CorruptDatabaseError(StorageError):
    """SQLite found the database file damaged; writers stop until it is restored."""


class InvalidQueryError(StorageError):
    """A search query that cannot be answered (empty, too long, nothing searchable)."""


class UserInputError(CztError):
    """A user's argument we cannot accept; shown as is (Chinese in chat, English in the CLI)."""


class DeliveryError(CztError):
    """A channel could not deliver a message; ``code`` is the channel's own error number
    when it gave one (a WeCom errcode), the one detail an operator's alert shows."""

    def __init__(self, message: str, *, retry_after: float | None = None, code: int | None = None):
        super().__init__(message)
        self.retry_after = retry_after
        self.code = code


class BlockedError(DeliveryError):
    """The chat blocked the bot, removed it, or no longer exists."""


class RateLimitedError(DeliveryError):
    """The channel asked us to slow down for ``retry_after`` seconds."""


class TransientError(DeliveryError):
    """A network error or server error: retry later."""


class InvalidTargetError(DeliveryError):
    """The target is misconfigured (bad webhook key, unknown chat)."""


class ChatMigratedError(DeliveryError):
    """The chat moved to ``new_address`` (a Telegram group upgraded to a supergroup)."""

    def __init__(self, message: str, *, new_address: str):
        super().__init__(message)
        self.new_address = new_address


class RejectedError(DeliveryError):
    """The channel refused this one message for good (it would be refused again)."""


class ChannelDownError(DeliveryError):
    """The whole channel refuses us (the bot token was revoked): no chat is at fault."""

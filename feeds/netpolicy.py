"""Address policy for outgoing fetches: no requests to internal addresses (SSRF).

A URL from a chat user or a web page must not make the bot read its own network: every
host is resolved and each of its addresses checked before any connection, on the first
request and on every redirect hop, and the connection then goes to the address that was
checked (``PinnedTransport``), so a DNS answer that changes between check and connect
(rebinding) cannot steer it elsewhere.

Refused unless ``[feeds] allow_private`` lists the network or the host name: loopback,
private, link-local, multicast, reserved, unspecified and any other non-global address,
in IPv4, IPv6 and IPv4-mapped IPv6 form.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from domain.errors import AddressRefused, FetchError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], list[str]]


def system_resolver(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to, as text (the stub point for tests)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as e:
        raise FetchError(f"network error: cannot resolve host ({e.__class__.__name__})") from None
    return [str(info[4][0]) for info in infos]


def resolve_within(resolver: Resolver, host: str, port: int, timeout: float) -> list[str]:
    """``resolver(host, port)``, or ``FetchError`` (timeout) when it takes over ``timeout`` s.

    ``getaddrinfo`` has no timeout of its own and may hang far past the fetch's; the
    lookup runs in a daemon thread, which is left to finish on its own.
    """
    outcome: dict[str, object] = {}

    def lookup() -> None:
        try:
            outcome["addresses"] = resolver(host, port)
        except BaseException as e:  # handed to the caller below
            outcome["error"] = e

    thread = threading.Thread(target=lookup, name="dns", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise FetchError(f"timed out (DNS lookup over {timeout:g} s)", kind="timeout")
    error = outcome.get("error")
    if isinstance(error, BaseException):
        raise error
    addresses = outcome.get("addresses")
    return list(addresses) if isinstance(addresses, list) else []


def refused_kind(ip: IPAddress) -> str | None:
    """Why ``ip`` is not a public address (a short English word), or None when it is."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return refused_kind(ip.ipv4_mapped)
    checks = (
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("reserved", ip.is_reserved),
        ("private", ip.is_private),
    )
    for kind, hit in checks:
        if hit:
            return kind
    if not ip.is_global:  # shared (100.64/10), documentation, 6to4 of private, ...
        return "non-global"
    return None


@dataclass(frozen=True)
class AddressPolicy:
    """Which hosts a fetch may connect to.

    ``allow`` holds networks ("10.0.0.0/8", "127.0.0.1") and host names
    ("feeds.internal"); a listed name may resolve to any address.
    """

    allow: tuple[str, ...] = ()
    resolver: Resolver = field(default=system_resolver, compare=False)
    dns_timeout: float = 10.0  # seconds a host name may take to resolve

    def __post_init__(self) -> None:
        for item in self.allow:
            _parse_allow(item)  # fail at load time, not at the first fetch

    @property
    def networks(self) -> tuple[IPNetwork, ...]:
        return tuple(n for n in (_parse_allow(a) for a in self.allow) if n is not None)

    @property
    def names(self) -> frozenset[str]:
        return frozenset(a.lower().rstrip(".") for a in self.allow if _parse_allow(a) is None)

    def vet(self, host: str, port: int) -> str:
        """The address to connect to for ``host``; raises ``AddressRefused`` before any connection.

        Every address the name resolves to must pass: a name that mixes public and
        internal answers is refused as a whole.
        """
        name = host.strip("[]").lower().rstrip(".")
        if not name:
            raise FetchError("invalid URL: no host", kind="invalid_url")
        literal = _ip(name)
        addresses = (
            [name]
            if literal is not None
            else resolve_within(self.resolver, name, port, self.dns_timeout)
        )
        if not addresses:
            raise FetchError("network error: cannot resolve host")
        if name in self.names:
            return addresses[0]
        networks = self.networks
        for text in addresses:
            ip = _ip(text.split("%", 1)[0])  # drop an IPv6 zone id
            if ip is None:
                raise AddressRefused("refused: unparseable address")
            kind = refused_kind(ip)
            if kind is not None and not any(_within(ip, n) for n in networks):
                raise AddressRefused(f"refused: {kind} address")
        return addresses[0]


def _parse_allow(item: str) -> IPNetwork | None:
    """The network ``item`` names, or None for a host name."""
    text = item.strip()
    if not text:
        raise ValueError("feeds.allow_private: empty entry")
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        if "/" in text or ":" in text:
            raise ValueError(f"feeds.allow_private: not a network or host name: {item!r}") from None
        return None


def _ip(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _within(ip: IPAddress, network: IPNetwork) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.version == network.version and ip in network


class PinnedTransport(httpx.BaseTransport):
    """An httpx transport that vets each request's host and connects to the vetted address.

    The request goes out with the address in the URL while the Host header (set by httpx
    from the original URL) and the TLS server name stay the host's, so virtual hosting and
    certificate checks work as usual. httpx calls the transport once per redirect hop, so
    every hop is vetted.

    Each host name gets an inner transport (a connection pool) of its own: pools key on
    the origin, which here is the address, so two names on one address (a CDN) would
    otherwise share a connection whose TLS session was verified for the first name only.
    ``inner`` (one transport for every name) is for tests that record requests.
    """

    def __init__(
        self,
        policy: AddressPolicy,
        inner: httpx.BaseTransport | None = None,
        *,
        factory: Callable[[], httpx.BaseTransport] = httpx.HTTPTransport,
    ) -> None:
        self.policy = policy
        self._shared = inner
        self._factory = factory
        self._by_name: dict[str, httpx.BaseTransport] = {}

    def transport_for(self, host: str) -> httpx.BaseTransport:
        if self._shared is not None:
            return self._shared
        name = host.lower().rstrip(".")
        inner = self._by_name.get(name)
        if inner is None:
            inner = self._by_name[name] = self._factory()
        return inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        port = url.port or (443 if url.scheme == "https" else 80)
        address = self.policy.vet(url.host, port)
        extensions = dict(request.extensions)
        if url.scheme == "https":
            extensions["sni_hostname"] = url.host
        pinned = httpx.Request(
            request.method,
            url.copy_with(host=address),
            headers=request.headers,
            stream=request.stream,
            extensions=extensions,
        )
        return self.transport_for(url.host).handle_request(pinned)

    def close(self) -> None:
        for inner in (self._shared, *self._by_name.values()):
            if inner is not None:
                inner.close()
        self._by_name.clear()


def pinned_client(
    policy: AddressPolicy, *, timeout: httpx.Timeout, max_redirects: int
) -> httpx.Client:
    """An httpx client whose every connection (redirects included) passes ``policy``.

    An explicit transport also keeps environment proxies out: a proxy would connect to
    the host itself and void the check.
    """
    return httpx.Client(
        timeout=timeout,
        follow_redirects=True,
        max_redirects=max_redirects,
        transport=PinnedTransport(policy),
        trust_env=False,
    )

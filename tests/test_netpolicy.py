"""The SSRF address policy. Refusals are checked by the address check itself (a resolver
stub, a recording inner transport): no test connects anywhere outside 127.0.0.0/8."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
import threading
import time
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from domain.errors import AddressRefused, FetchError
from feeds.fetch import fetch
from feeds.netpolicy import AddressPolicy, PinnedTransport, refused_kind
from tests.conftest import LOOPBACK
from tests.feedserver import FeedServer, Route

RSS = b"<?xml version='1.0'?><rss version='2.0'><channel><title>t</title></channel></rss>"

INTERNAL = {
    "127.0.0.1": "loopback",
    "127.8.9.10": "loopback",
    "0.0.0.0": "unspecified",
    "10.1.2.3": "private",
    "172.16.0.9": "private",
    "192.168.1.1": "private",
    "169.254.169.254": "link-local",  # cloud metadata
    "224.0.0.1": "multicast",
    "240.0.0.1": "reserved",
    "100.64.0.1": "non-global",  # carrier-grade NAT
    "::1": "loopback",
    "::": "unspecified",
    "fe80::1": "link-local",
    "fc00::5": "private",
    "ff02::1": "multicast",
    "::ffff:127.0.0.1": "loopback",  # IPv4-mapped
    "::ffff:169.254.169.254": "link-local",
    "::ffff:10.0.0.1": "private",
}


@pytest.mark.parametrize(("address", "kind"), sorted(INTERNAL.items()))
def test_internal_addresses_are_refused(address: str, kind: str) -> None:
    assert refused_kind(ipaddress.ip_address(address)) == kind
    with pytest.raises(AddressRefused, match="refused"):
        AddressPolicy().vet(address, 80)


@pytest.mark.parametrize("address", ["1.1.1.1", "8.8.4.4", "2606:4700::1111"])
def test_public_addresses_pass_the_check(address: str) -> None:
    assert refused_kind(ipaddress.ip_address(address)) is None
    assert AddressPolicy().vet(address, 443) == address


def stub(table: dict[str, list[str]]) -> AddressPolicy:
    return AddressPolicy(resolver=lambda host, port: table[host])


def test_a_name_is_judged_by_every_address_it_resolves_to() -> None:
    policy = stub(
        {
            "news.example": ["1.1.1.1"],
            "metadata.example": ["169.254.169.254"],
            "mixed.example": ["1.1.1.1", "10.0.0.7"],
            "mapped.example": ["::ffff:127.0.0.1"],
        }
    )
    assert policy.vet("news.example", 80) == "1.1.1.1"
    for host in ("metadata.example", "mixed.example", "mapped.example"):
        with pytest.raises(AddressRefused):
            policy.vet(host, 80)


def test_allow_private_lists_networks_and_names() -> None:
    table = {"feeds.internal": ["10.9.9.9"], "other.internal": ["10.9.9.9"]}
    policy = AddressPolicy(
        allow=("192.168.0.0/16", "Feeds.Internal"), resolver=lambda h, p: table[h]
    )
    assert policy.vet("192.168.3.4", 80) == "192.168.3.4"
    assert policy.vet("feeds.internal", 80) == "10.9.9.9"
    with pytest.raises(AddressRefused):
        policy.vet("other.internal", 80)
    with pytest.raises(AddressRefused):
        policy.vet("10.0.0.1", 80)
    with pytest.raises(ValueError):
        AddressPolicy(allow=("10.0.0.0/33",))


class Recorder(httpx.BaseTransport):
    """An inner transport that records what would have been sent and never connects."""

    def __init__(self) -> None:
        self.sent: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request)
        return httpx.Response(200, content=RSS)


@pytest.mark.parametrize(
    "url", ["http://169.254.169.254/latest/meta-data/", "http://[::1]:8080/", "http://0.0.0.0/"]
)
def test_refused_before_any_connection(url: str) -> None:
    inner = Recorder()
    with (
        httpx.Client(transport=PinnedTransport(AddressPolicy(), inner)) as client,
        pytest.raises(AddressRefused),
    ):
        client.get(url)
    assert inner.sent == []


def test_connection_is_pinned_to_the_checked_address() -> None:
    """The name is resolved once per hop and the request goes to that address, Host kept."""
    calls: list[str] = []

    def rebinding(host: str, port: int) -> list[str]:
        calls.append(host)  # a second answer would be internal: it must never be asked for
        return ["1.1.1.1"] if len(calls) == 1 else ["127.0.0.1"]

    inner = Recorder()
    client = httpx.Client(transport=PinnedTransport(AddressPolicy(resolver=rebinding), inner))
    with client:
        client.get("https://news.example/feed.xml")
    (sent,) = inner.sent
    assert calls == ["news.example"]
    assert sent.url.host == "1.1.1.1" and sent.headers["host"] == "news.example"
    assert sent.extensions["sni_hostname"] == "news.example"


def test_real_fetch_through_a_pinned_name(server: FeedServer) -> None:
    """A name no DNS knows is fetched from the address the resolver vetted."""
    server.routes["/f"] = Route(body=RSS)
    port = int(server.base.rsplit(":", 1)[1])
    policy = AddressPolicy(allow=("127.0.0.0/8",), resolver=lambda h, p: ["127.0.0.1"])
    result = fetch(f"http://stand-in.invalid:{port}/f", options=replace(LOOPBACK, policy=policy))
    assert result.content == RSS
    assert server.requests[-1][1]["Host"] == f"stand-in.invalid:{port}"
    assert result.url.startswith("http://stand-in.invalid:")


@pytest.mark.parametrize(
    "target", ["http://169.254.169.254/latest/", "http://[::1]/x", "http://internal.test/x"]
)
def test_redirect_to_an_internal_address_is_refused(server: FeedServer, target: str) -> None:
    server.routes["/hop"] = Route(status=302, headers={"Location": target})
    table = {"internal.test": ["10.0.0.5"]}

    def resolver(host: str, port: int) -> list[str]:
        return table[host]

    policy = AddressPolicy(allow=("127.0.0.1/32",), resolver=resolver)
    with pytest.raises(AddressRefused):
        fetch(server.url("/hop"), options=replace(LOOPBACK, policy=policy))
    assert [path for path, _ in server.requests] == ["/hop"]


def test_loopback_is_refused_by_default(server: FeedServer) -> None:
    server.routes["/f"] = Route(body=RSS)
    with pytest.raises(AddressRefused):
        fetch(server.url("/f"))
    assert server.requests == []


def test_unresolvable_host_is_a_network_error() -> None:
    def resolver(host: str, port: int) -> list[str]:
        raise FetchError("network error: cannot resolve host")

    with pytest.raises(FetchError, match="network error"):
        AddressPolicy(resolver=resolver).vet("nowhere.invalid", 80)


def _self_signed(tmp_path: Path, name: str) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / f"{name}.pem", tmp_path / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.mark.parametrize(("served", "ok"), [("feeds.test", True), ("other.test", False)])
def test_tls_keeps_the_host_name_while_connecting_to_the_vetted_address(
    tmp_path: Path, served: str, ok: bool
) -> None:
    """HTTPS to a pinned address still sends the host name (SNI) and checks the certificate
    against it: a server with another name's certificate is refused."""
    cert, key = _self_signed(tmp_path, served)
    server = FeedServer()
    server.routes["/f"] = Route(body=RSS)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    server.httpd.socket = tls.wrap_socket(server.httpd.socket, server_side=True)
    trust = ssl.create_default_context(cafile=str(cert))
    policy = AddressPolicy(allow=("127.0.0.0/8",), resolver=lambda h, p: ["127.0.0.1"])
    transport = PinnedTransport(policy, httpx.HTTPTransport(verify=trust))
    port = server.httpd.server_address[1]
    with server, httpx.Client(transport=transport, timeout=5) as client:
        if ok:
            response = client.get(f"https://feeds.test:{port}/f")
            assert response.content == RSS
            assert server.requests[-1][1]["Host"] == f"feeds.test:{port}"
        else:
            with pytest.raises(httpx.ConnectError):
                client.get(f"https://feeds.test:{port}/f")


@pytest.mark.parametrize("host", ["localhost", "0x7f000001", "2130706433", "017700000001"])
def test_other_spellings_of_loopback_are_refused(host: str) -> None:
    """Names and numeric forms the system resolver turns into 127.0.0.1 (no network used)."""
    with pytest.raises(AddressRefused):
        AddressPolicy().vet(host, 80)


def test_each_host_name_gets_its_own_connection_pool(tmp_path: Path) -> None:
    """Review #19: two names on one address never share a TLS connection. The server's
    certificate is for feeds.test only; after a kept-alive connection to feeds.test, a
    request to other.test (same address and port) must make its own handshake and fail."""
    cert, key = _self_signed(tmp_path, "feeds.test")
    server = FeedServer()
    server.httpd.RequestHandlerClass.protocol_version = "HTTP/1.1"  # keep-alive
    server.routes["/f"] = Route(body=RSS)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    server.httpd.socket = tls.wrap_socket(server.httpd.socket, server_side=True)
    trust = ssl.create_default_context(cafile=str(cert))
    policy = AddressPolicy(allow=("127.0.0.0/8",), resolver=lambda h, p: ["127.0.0.1"])
    made: list[httpx.BaseTransport] = []

    def factory() -> httpx.BaseTransport:
        made.append(httpx.HTTPTransport(verify=trust))
        return made[-1]

    transport = PinnedTransport(policy, factory=factory)
    port = server.httpd.server_address[1]
    with server, httpx.Client(transport=transport, timeout=5) as client:
        assert client.get(f"https://feeds.test:{port}/f").content == RSS
        assert client.get(f"https://feeds.test:{port}/f").content == RSS
        with pytest.raises(httpx.ConnectError):
            client.get(f"https://other.test:{port}/f")
    assert len(made) == 2


def test_a_hanging_dns_lookup_has_a_deadline() -> None:
    """Review #20: getaddrinfo has no timeout; the lookup is cut off after dns_timeout."""
    release = threading.Event()

    def hanging(host: str, port: int) -> list[str]:
        release.wait(10)
        return ["93.184.216.34"]

    policy = AddressPolicy(resolver=hanging, dns_timeout=0.2)
    started = time.monotonic()
    try:
        with pytest.raises(FetchError) as e:
            policy.vet("slow.example", 80)
    finally:
        release.set()
    assert e.value.kind == "timeout" and time.monotonic() - started < 2
    assert AddressPolicy(resolver=lambda h, p: ["93.184.216.34"]).vet("x.example", 80)

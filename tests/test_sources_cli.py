"""Web sources through the command line, the config file, /addfeed and the scheduler."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from app.config import load_settings
from app.core import Core
from app.jobs import Jobs
from bot import main
from domain.errors import ConfigError
from handlers.service import ChatService, Request
from tests.conftest import FEEDS, LOOPBACK_CONFIG, NOW, FakeClock, allow_loopback
from tests.feedserver import FeedServer, Route
from tests.websites import CMS, GOV, install


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def config(tmp_path: Path) -> str:
    path = tmp_path / "loopback.toml"
    path.write_text(LOOPBACK_CONFIG + "[sources]\ndelay_seconds = 0\n", encoding="utf-8")
    return str(path)


def test_sources_check_prints_and_stores_nothing(
    capsys: pytest.CaptureFixture[str], server: FeedServer, config: str, tmp_path: Path
) -> None:
    install(server)
    db = str(tmp_path / "check.db")
    code, out, _ = run(capsys, "--config", config, "--db", db, "sources", "check", server.url(CMS))
    assert code == 0, out
    lines = out.splitlines()
    assert any(
        line.split()[:2] == ["pass", "2026-11-24"] and "株洲湘潭签署" in line for line in lines
    )
    assert any(line.split()[0] == "skip" and "气温骤降" in line for line in lines)
    assert any(line.split()[0] == "read" and "株洲法院" in line for line in lines)
    assert "5 links" in out
    assert not [p for p, _ in server.requests if "content_" in p or "show.php" in p]
    code, out, _ = run(capsys, "--db", db, "search", "绿心", "--json")
    assert json.loads(out) == []
    code, out, err = run(capsys, "--db", db, "sources", "check", server.url(CMS))
    assert code == 1 and "refused" in out + err, "loopback needs allow_private"
    code, _, err = run(capsys, "--db", db, "sources", "check", "x", "--links", "(")
    assert code == 2 and err.count("\n") == 1


def test_ingest_source_then_search(
    capsys: pytest.CaptureFixture[str], server: FeedServer, config: str, tmp_path: Path
) -> None:
    install(server)
    db = str(tmp_path / "ingest.db")
    code, out, _ = run(
        capsys, "--config", config, "--db", db, "ingest", "--quiet", "--source", server.url(GOV)
    )
    assert code == 0 and "new 2" in out and "skipped as unrelated 1" in out, out
    assert "pages failed 1" in out  # the robots.txt-disallowed link
    code, out, _ = run(capsys, "--db", db, "search", "跨市通办", "--json")
    hits = json.loads(out)
    assert hits and hits[0]["url"].endswith("t20261124_29001.html")


def test_sources_pages_in_the_config_are_polled_by_the_scheduler(
    server: FeedServer, tmp_path: Path
) -> None:
    install(server)
    path = tmp_path / "sources.toml"
    path.write_text(
        '[feeds]\nurls = []\nallow_private = ["127.0.0.1"]\n'
        "[sources]\ndelay_seconds = 0\n"
        f'[[sources.pages]]\nname = "示范新闻网·时政"\nurl = "{server.url(CMS)}"\n'
        f'[[sources.pages]]\nname = "政务动态"\nurl = "{server.url(GOV)}"\n'
        'filter = ["水环境"]\n',
        encoding="utf-8",
    )
    settings = load_settings(path, environ={}, db_path=str(tmp_path / "s.db"))
    assert settings.sources.pages[0].filter == ("integration",)
    core = Core(settings, clock=FakeClock(NOW))
    try:
        feed = core.storage.feeds.get(server.url(CMS))
        assert feed is not None and feed.is_source and feed.title == "示范新闻网·时政"
        reports = asyncio.run(Jobs(core, {}, clock=FakeClock(NOW)).poll_feeds())
        by_url = {r.url: r for r in reports}
        assert by_url[server.url(CMS)].new == 2
        assert by_url[server.url(GOV)].new == 1, "keyword filter: only the water article"
        feed = core.storage.feeds.get(server.url(CMS))
        assert feed is not None and feed.next_poll_at is not None
        assert feed.next_poll_at >= NOW + 720 * 60, "sources poll on their own interval"
        assert core.storage.search.search("绿心").hits
    finally:
        core.close()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('links = "("', "invalid regex"),
        ('url = "file:///etc/passwd"', "http(s) URL"),
        ("filter = []", "filter"),
        ("colour = 1", "unknown config key"),
    ],
)
def test_bad_source_config(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    url = "" if "url =" in body else 'url = "http://example.invalid/list/"\n'
    path.write_text(f"[[sources.pages]]\n{url}{body}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_settings(path, environ={})


def test_addfeed_takes_a_web_page(core: Core, server: FeedServer) -> None:
    install(server)
    server.routes["/rss.xml"] = Route(body=(FEEDS / "rss2.xml").read_bytes())
    server.routes["/with-feed/"] = Route(
        body=b'<html><head><link rel="alternate" type="application/rss+xml" href="/rss.xml">'
        b"</head><body>x</body></html>"
    )
    server.routes["/empty/"] = Route(body=b"<html><body><a href='/'>home</a></body></html>")
    service = ChatService(core)
    admin = Request("telegram", "1", is_admin=True)
    reply = service.command(admin, "addfeed", server.url("/with-feed/")).text
    assert "订阅源" in reply and core.storage.feeds.get(server.url("/rss.xml")) is not None
    reply = service.command(admin, "addfeed", server.url(CMS)).text
    assert "网页来源" in reply and "5 个文章链接" in reply
    feed = core.storage.feeds.get(server.url(CMS))
    assert feed is not None and feed.is_source and feed.title == "时政要闻 - 示范新闻网"
    assert "已经" in service.command(admin, "addfeed", server.url(CMS)).text
    reply = service.command(admin, "addfeed", server.url("/empty/")).text
    assert "没有找到文章链接" in reply
    report = core.ingestor().ingest([feed], core.now())[0]
    assert report.new == 2


def test_addfeed_of_an_internal_page_is_refused(sample_copy: Core) -> None:
    service = ChatService(sample_copy)
    admin = Request("telegram", "1", is_admin=True)
    reply = service.command(admin, "addfeed", "http://169.254.169.254/latest/").text
    assert "拒绝" in reply and "169.254" not in reply.split("：", 1)[1]


def test_allow_loopback_helper_is_the_only_way_in(tmp_path: Path) -> None:
    settings = load_settings(None, environ={}, db_path=str(tmp_path / "x.db"))
    assert settings.feeds.allow_private == ()
    assert allow_loopback(settings).feeds.allow_private == ("127.0.0.0/8",)


def test_presets_load_and_are_marked_unchecked() -> None:
    path = Path(__file__).resolve().parent.parent / "sources.example.toml"
    settings = load_settings(path, environ={})
    assert len(settings.sources.pages) >= 8
    assert all(p.name and p.url.startswith("https://") for p in settings.sources.pages)
    assert "NOT CHECKED" in path.read_text(encoding="utf-8")


def test_a_source_that_fails_its_first_read_is_not_kept(
    capsys: pytest.CaptureFixture[str], server: FeedServer, config: str, tmp_path: Path
) -> None:
    server.routes["/robots.txt"] = Route(status=404)
    server.routes["/broken/"] = Route(status=500)
    db = str(tmp_path / "broken.db")
    url = server.url("/broken/")
    code, out, _ = run(capsys, "--config", config, "--db", db, "ingest", "--source", url)
    assert code == 1 and "HTTP 500" in out and "(not added)" in out
    code, out, _ = run(capsys, "--db", db, "feeds", "list")
    assert url not in out


def test_config_and_the_command_line_share_one_source_check(tmp_path: Path) -> None:
    """Review #26: the config validates a page with ``SourceSpec.checked``, so both say
    the same thing about the same mistake."""
    from feeds.webread import SourceSpec

    with pytest.raises(ValueError) as direct:
        SourceSpec(url="http://example.invalid/", links="(").checked()
    path = tmp_path / "bad.toml"
    path.write_text('[[sources.pages]]\nurl = "http://example.invalid/"\nlinks = "("\n')
    with pytest.raises(ConfigError) as configured:
        load_settings(path, environ={})
    assert str(configured.value) == f"sources.pages[0]: {direct.value}"


def test_one_source_kind() -> None:
    """Review #27: the kind string of a web source is defined once, in domain.models."""
    import feeds.webread
    import storage.sources
    from domain.models import SOURCE

    for module in (feeds.webread, storage.sources):
        assert getattr(module, "SOURCE", SOURCE) is SOURCE
    assert "'source'" not in Path(storage.sources.__file__).read_text().split('"""', 2)[2]


def test_addfeed_shows_a_private_feeds_url_redacted(core: Core, server: FeedServer) -> None:
    untitled = b"<?xml version='1.0'?><rss version='2.0'><channel><title></title></channel></rss>"
    server.routes["/private.xml?key=s3cret"] = Route(body=untitled)
    server.routes["/feed.xml?key=s3cret"] = Route(body=(FEEDS / "rss2.xml").read_bytes())
    server.routes["/page/"] = Route(
        body=b'<html><head><link rel="alternate" type="application/rss+xml"'
        b' href="/feed.xml?key=s3cret"></head><body>x</body></html>'
    )
    service = ChatService(core)
    admin = Request("telegram", "1", is_admin=True)
    direct = service.command(admin, "addfeed", server.url("/private.xml?key=s3cret")).text
    advertised = service.command(admin, "addfeed", server.url("/page/")).text
    listed = service.command(admin, "feeds", "").text
    for reply in (direct, advertised, listed):
        assert "已" in reply or "订阅源" in reply
        assert "s3cret" not in reply, reply
    assert server.url("/private.xml?***") in direct

"""Web sources end to end over loopback: our own pages in the shapes of an e-paper, a
government list and a CMS column, read into ordinary articles."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from app.core import Core
from app.ingest import FeedReport
from domain.errors import FeedError
from feeds.fetch import fetch
from feeds.polite import PoliteFetcher
from feeds.webread import SourceSpec, WebReader
from tests.feedserver import FeedServer, Route
from tests.websites import CMS, EDITION, EPAPER, GOV, install, requested

TZ = ZoneInfo("Asia/Shanghai")


class Timer:
    """A monotonic clock that moves only when someone sleeps: delays without waiting."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def site(server: FeedServer) -> FeedServer:
    install(server)
    return server


def run(core: Core, url: str, timer: Timer | None = None, **spec: str) -> FeedReport:
    feed = core.storage.feeds.get(url)
    if feed is None:
        feed, _ = core.storage.sources.add(
            url, core.now(), title="", spec=SourceSpec(url=url, **spec).to_json()
        )
    timer = timer or Timer()
    reader = core.web_reader(clock=timer.clock, sleep=timer.sleep)
    return core.ingestor(reader).ingest([feed], core.now())[0]


def articles(core: Core) -> dict[str, dict[str, object]]:
    rows = core.storage.db.query("SELECT url, title, body, published FROM articles")
    return {str(r["url"]).split("/")[-1]: r for r in rows}


def local(ts: object) -> str:
    assert isinstance(ts, int)
    return dt.datetime.fromtimestamp(ts, TZ).strftime("%Y-%m-%d %H:%M")


CHROME = ("数字报首页", "主办", "下一篇", "分享到", "当前位置", "版权所有", "相关新闻")


def test_epaper_in_gbk_with_layout_pages(core: Core, site: FeedServer) -> None:
    report = run(core, site.url(EPAPER), links=r"content_\d+\.htm", pages=r"node_\d+\.htm")
    assert report.ok, report.error
    assert (report.new, report.skipped, report.failed_pages) == (2, 3, 1)
    paths = requested(site)
    assert EDITION + "content_1002.htm" not in paths, "no city, no term: never fetched"
    assert EDITION + "content_1005.htm" not in paths
    assert EDITION + "content_1004.htm" in paths, "a city in the title: the text decides"
    stored = articles(core)
    assert set(stored) == {"content_1001.htm", "content_1003.htm"}
    body = str(stored["content_1001.htm"]["body"])
    assert "周喆远" in body, "GBK read as GB18030 although the page says gb2312"
    assert not [c for c in CHROME if c in body]
    assert local(stored["content_1003.htm"]["published"]) == "2026-11-25 00:00"
    assert stored["content_1003.htm"]["title"] == "株潭两地医保结算实现同城化"
    hits = core.storage.search.search("医保结算").hits
    assert hits and hits[0].story.title == "株潭两地医保结算实现同城化"


def test_rerun_fetches_no_article_twice(core: Core, site: FeedServer) -> None:
    url = site.url(EPAPER)
    run(core, url, links=r"content_\d+\.htm", pages=r"node_\d+\.htm")
    before = [p for p in requested(site) if "content_" in p]
    again = run(core, url)
    after = [p for p in requested(site) if "content_" in p]
    assert again.ok and again.new == 0 and after == before
    assert core.storage.articles.counts()["articles"] == 2


def test_government_list_dates_titles_and_robots(core: Core, site: FeedServer) -> None:
    report = run(core, site.url(GOV))
    assert report.ok and report.new == 2, report
    paths = requested(site)
    assert paths[0] == "/robots.txt"
    assert "/private/t20261120_29004.html" not in paths, "robots.txt disallows /private/"
    assert "/gov/szdt/202611/t20261123_29002.html" not in paths
    stored = articles(core)
    first = stored["t20261124_29001.html"]
    assert first["title"] == "省政府常务会议研究部署长株潭一体化发展重点任务"
    assert local(first["published"]) == "2026-11-24 00:00", "the list's date comes first"
    assert "78项重点任务已完成71项" in str(first["body"])
    assert not [c for c in (*CHROME, "打印", "字号") if c in str(first["body"])]


def test_cms_column_relative_links_and_a_broken_page(core: Core, site: FeedServer) -> None:
    report = run(core, site.url(CMS))
    assert report.ok and (report.new, report.skipped, report.failed_pages) == (2, 2, 1)
    stored = articles(core)
    assert set(stored) == {"content_55501.htm", "show.php?id=55504"}
    assert local(stored["content_55501.htm"]["published"]) == "2026-11-24 16:20"
    # No date on the list or in the URL; the extractor's 1 January guess is ignored.
    assert local(stored["show.php?id=55504"]["published"]) == "2026-11-22 09:15"
    assert "/content/2026-11/24/content_55502.htm" not in requested(site)


def test_delay_between_requests_to_one_host(core: Core, site: FeedServer) -> None:
    timer = Timer()
    times: list[float] = []

    def timed(url: str, **kwargs: object) -> object:
        times.append(timer.now)
        return fetch(url, **kwargs)  # type: ignore[arg-type]

    polite = PoliteFetcher(
        core.fetch_options(), delay=2.0, clock=timer.clock, sleep=timer.sleep, fetcher=timed
    )
    feed, _ = core.storage.sources.add(
        site.url(GOV), core.now(), title="", spec=SourceSpec(url=site.url(GOV)).to_json()
    )
    core.ingestor(WebReader(polite)).ingest([feed], core.now())
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert len(times) == 4 and all(g >= 2.0 for g in gaps), gaps
    site.routes["/robots.txt"] = Route(body=b"User-agent: *\nCrawl-delay: 5\n")
    times.clear()
    slow = dataclasses.replace(polite, _last={}, _robots={})
    slow.get(site.url(GOV))
    slow.get(site.url(GOV))
    assert times[-1] - times[-2] >= 5.0


def test_unreachable_robots_txt_stops_the_source(core: Core, site: FeedServer) -> None:
    site.routes["/robots.txt"] = Route(status=503)
    report = run(core, site.url(GOV))
    assert not report.ok and "robots.txt" in report.error
    assert requested(site) == ["/robots.txt"]


LIST = (
    "<html><body><ul>"
    '<li><a href="/a/content_1.htm">长株潭三市联合发布第一批政策</a></li>'
    '<li><a href="/a/content_2.htm">长株潭三市联合发布第二批政策</a></li>'
    '<li><a href="/a/content_3.htm">长株潭三市联合发布第三批政策</a></li>'
    "</ul></body></html>"
).encode()
TOPICS = ("融城交通和通勤", "产业链协同配套", "医保和社保互认")


def article(n: int) -> bytes:
    sentence = f"长株潭三市今天联合发布第{n}批惠企政策，重点是{TOPICS[n - 1]}。"
    return f"<html><body><h1>政策{n}</h1><div><p>{sentence * 3}</p></div></body></html>".encode()


def small_site(server: FeedServer, headers: dict[str, str] | None = None, at: str = "/a/") -> str:
    server.routes["/robots.txt"] = Route(status=404)
    server.routes[at] = Route(body=LIST, headers=headers or {})
    for n in (1, 2, 3):
        server.routes[f"/a/content_{n}.htm"] = Route(body=article(n))
    return server.url(at)


def test_conditional_get_and_link_list_hash(core: Core, server: FeedServer) -> None:
    url = small_site(server, {"ETag": '"v1"'})
    assert run(core, url).new == 3
    server.routes["/a/"] = Route(status=304)
    report = run(core, url)
    assert report.ok and report.not_modified
    assert server.requests[-1][1].get("If-None-Match") == '"v1"'
    # Without validators, the hash of the link list tells that nothing changed.
    plain = small_site(server, at="/b/")
    first = run(core, plain)
    assert first.ok and not first.not_modified and first.new == 0, "articles already stored"
    count = len(server.requests)
    assert run(core, plain).not_modified
    assert [p for p, _ in server.requests[count:]] == ["/robots.txt", "/b/"]


def test_max_new_per_run(core: Core, server: FeedServer) -> None:
    url = small_site(server)
    feed, _ = core.storage.sources.add(url, core.now(), title="", spec=SourceSpec(url).to_json())
    ingestor = core.ingestor(core.web_reader(clock=Timer().clock, sleep=Timer().sleep))
    assert ingestor.sources is not None
    ingestor.sources.max_new = 2
    assert ingestor.ingest([feed], core.now())[0].new == 2
    fresh = core.storage.feeds.get(url)
    assert fresh is not None and fresh.list_hash is None, "an incomplete run keeps no hash"
    assert ingestor.ingest([fresh], core.now())[0].new == 1


def test_429_on_an_article_stops_the_run(core: Core, server: FeedServer) -> None:
    url = small_site(server)
    server.routes["/a/content_1.htm"] = Route(status=429, headers={"Retry-After": "600"})
    report = run(core, url)
    assert report.ok and report.failed_pages == 1 and report.new == 0
    assert "/a/content_2.htm" not in requested(server)


@pytest.mark.parametrize("status", [403, 429, 503])
def test_list_page_refusal_backs_off(core: Core, server: FeedServer, status: int) -> None:
    url = small_site(server)
    server.routes["/a/"] = Route(status=status)
    report = run(core, url)
    assert not report.ok and str(status) in report.error
    feed = core.storage.feeds.get(url)
    assert feed is not None and feed.consecutive_failures == 1
    assert feed.next_poll_at is not None and feed.next_poll_at >= core.now() + 720 * 60


def test_article_links_to_internal_addresses_are_refused(core: Core, server: FeedServer) -> None:
    server.routes["/robots.txt"] = Route(status=404)
    server.routes["/l/"] = Route(
        body=(
            '<a href="http://169.254.169.254/latest/content_1.htm">长株潭一体化元数据</a>'
            '<a href="http://10.0.0.8/content_2.htm">长株潭一体化内网</a>'
        ).encode()
    )
    report = run(core, server.url("/l/"), links=r"content_\d")
    assert report.ok and report.failed_pages == 2 and report.new == 0
    assert requested(server) == ["/robots.txt", "/l/"]


def test_both_page_shapes_reach_search_and_the_digest(core: Core, site: FeedServer) -> None:
    """E-paper and column articles are ordinary entries: search and digests see them."""
    from handlers.service import ChatService, Request

    assert run(core, site.url(EPAPER), links=r"content_\d+\.htm", pages=r"node_\d+\.htm").new
    assert run(core, site.url(CMS)).new
    service = ChatService(core)
    req = Request("console", "reader")
    assert "株洲" in service.command(req, "subscribe", "株洲").text
    digest = service.command(req, "digest", "").text
    assert "株洲湘潭签署毗邻地区协同发展合作协议" in digest, digest
    assert "株潭两地医保结算实现同城化" in digest
    found = service.command(req, "search", "绿心中央公园").text
    assert "长株潭绿心中央公园首期工程开工" in found


def test_an_undated_e_paper_article_gets_its_edition_date(core: Core, server: FeedServer) -> None:
    server.routes["/robots.txt"] = Route(status=404)
    server.routes["/ep/20261125/index.htm"] = Route(
        body='<a href="/art/a1.htm">长株潭三市联合发布冬季出行指南</a>'.encode()
    )
    server.routes["/art/a1.htm"] = Route(
        body=(
            "<html><body><h1>指南</h1><p>"
            + "长株潭三市交通部门联合发布冬季出行指南，提醒市民注意融城干道的临时管制。" * 3
            + "</p></body></html>"
        ).encode()
    )
    report = run(core, server.url("/ep/{date:%Y%m%d}/index.htm"), links=r"/art/")
    assert report.new == 1, report
    (row,) = core.storage.db.query("SELECT published FROM articles")
    assert local(row["published"]) == "2026-11-25 00:00"


@pytest.mark.parametrize("status", [404, 410])
def test_a_gone_article_is_marked_seen(core: Core, server: FeedServer, status: int) -> None:
    url = small_site(server)
    server.routes["/a/content_1.htm"] = Route(status=status)
    first = run(core, url)
    assert first.ok and first.new == 2 and first.failed_pages == 1
    count = len(server.requests)
    server.routes["/a/"] = Route(body=LIST + b"<!-- changed -->")
    again = run(core, url)
    assert again.ok and again.failed_pages == 0
    assert "/a/content_1.htm" not in [p for p, _ in server.requests[count:]]


def test_a_robots_disallowed_article_is_marked_seen(core: Core, server: FeedServer) -> None:
    url = small_site(server)
    server.routes["/robots.txt"] = Route(body=b"User-agent: *\nDisallow: /a/content_2.htm\n")
    assert run(core, url).new == 2
    feed = core.storage.feeds.get(url)
    assert feed is not None
    seen = core.storage.sources.seen(feed.id, [server.url("/a/content_2.htm")])
    assert seen == {server.url("/a/content_2.htm")}


@pytest.mark.parametrize("status", [403, 500, 502])
def test_an_unwell_host_stops_the_run(core: Core, server: FeedServer, status: int) -> None:
    """Not only 429/503 with Retry-After: 403 and any 5xx stop asking (review #15)."""
    url = small_site(server)
    server.routes["/a/content_1.htm"] = Route(status=status)
    report = run(core, url)
    assert report.ok and report.failed_pages == 1 and report.new == 0
    assert "/a/content_2.htm" not in requested(server)
    feed = core.storage.feeds.get(url)
    assert feed is not None and feed.list_hash is None, "the rest waits for the next run"


@pytest.mark.parametrize("status", [500, 429])
def test_unreachable_robots_txt_is_not_called_disallowed(
    core: Core, server: FeedServer, status: int
) -> None:
    url = small_site(server)
    server.routes["/robots.txt"] = Route(status=status)
    report = run(core, url)
    assert "unreachable" in report.error and "disallowed" not in report.error
    server.routes["/robots.txt"] = Route(status=401)  # a 4xx: no robots.txt, all allowed
    assert run(core, url).new == 3


def body_site(server: FeedServer, body: str, list_url: str = "/d/") -> str:
    server.routes["/robots.txt"] = Route(status=404)
    server.routes[list_url] = Route(
        body='<a href="/art/b1.htm">长株潭三市联合发布冬季出行指南</a>'.encode()
    )
    server.routes["/art/b1.htm"] = Route(
        body=(
            "<html><body><h1>指南</h1><p>"
            + "长株潭三市交通部门联合发布冬季出行指南，提醒市民注意融城干道的临时管制。" * 3
            + body
            + "</p></body></html>"
        ).encode()
    )
    return server.url(list_url)


def published(core: Core) -> str:
    (row,) = core.storage.db.query("SELECT published FROM articles")
    return local(row["published"])


def test_a_future_body_date_is_not_the_publication_date(core: Core, server: FeedServer) -> None:
    """The first date in a body is often a deadline (review #17): it is not the date the
    reader gives the entry, and the next clue (the extractor, else none) is used."""
    from feeds.listpage import Listed

    body_site(server, "报名截止到2027年3月1日。")
    reader = core.web_reader(clock=Timer().clock, sleep=Timer().sleep)
    listed = Listed(server.url("/art/b1.htm"), "长株潭三市联合发布冬季出行指南", None)
    article = reader.read_article(SourceSpec(url=server.url("/d/")), listed, None, core.now())
    assert article.entry.published is None or article.entry.published <= core.now() + 86400


def test_the_edition_date_comes_before_an_unlabelled_body_date(
    core: Core, server: FeedServer
) -> None:
    url = body_site(server, "这条干道于2026年10月3日开工。", "/ep/20261125/index.htm")
    report = run(core, url.replace("20261125", "{date:%Y%m%d}"), links=r"/art/")
    assert report.new == 1
    assert published(core) == "2026-11-25 00:00"


def test_a_labelled_date_long_before_the_edition_is_refused(core: Core, server: FeedServer) -> None:
    url = body_site(server, "发布时间：2019-05-01", "/ep/20261125/index.htm")
    assert run(core, url.replace("20261125", "{date:%Y%m%d}"), links=r"/art/").new == 1
    assert published(core) == "2026-11-25 00:00"


def test_a_page_cannot_offer_a_local_feed(core: Core, server: FeedServer, tmp_path: Path) -> None:
    """``<link rel="alternate" href="file:///…">`` is never read (review #1)."""
    secret = tmp_path / "secret.xml"
    secret.write_bytes(
        b"<?xml version='1.0'?><rss version='2.0'><channel><title>secret</title>"
        b"<item><title>private</title><link>http://x.cn/1</link></item></channel></rss>"
    )
    server.routes["/robots.txt"] = Route(status=404)
    server.routes["/evil/"] = Route(
        body=(
            f'<html><head><link rel="alternate" type="application/rss+xml" '
            f'href="{secret.as_uri()}"></head><body>'
            f'<a href="{tmp_path.as_uri()}/content_1.htm">长株潭一体化本地文件</a></body></html>'
        ).encode()
    )
    with pytest.raises(FeedError) as refused:
        core.probe_page(server.url("/evil/"))
    assert refused.value.kind == "no_links"
    with pytest.raises(FeedError) as direct:
        core.probe_feed(secret.as_uri())
    assert direct.value.kind == "scheme"

"""Ingest end to end on real files, a real HTTP server and a real SQLite file."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from analysis import dedup
from app.core import Core
from domain.errors import FetchError
from feeds.fetch import FetchResult
from tests.conftest import FEEDS, NOW
from tests.feedserver import FeedServer, Route


def _ingest(core: Core, *urls: str) -> list:
    feeds = [core.storage.feeds.ensure(u, core.now()) for u in urls]
    return core.ingestor().ingest(feeds, core.now())


def test_samples_ingest_and_reposts_merge(sample_core: Core) -> None:
    counts = sample_core.storage.articles.counts()
    assert counts["articles"] == 21
    # 010 is reposted by the GBK outlet and 005 by the Atom outlet: 21 articles, 19 stories.
    assert counts["stories"] == 19
    merged = sample_core.storage.db.query(
        "SELECT story_id, COUNT(*) AS n FROM articles GROUP BY story_id HAVING n > 1"
    )
    assert len(merged) == 2
    for row in merged:
        story = sample_core.storage.articles.stories([row["story_id"]])[row["story_id"]]
        assert story.source_count == 2 and len(story.sources) == 2


def test_city_tags_follow_aliases_and_ignore_generic_words(sample_core: Core) -> None:
    rows = sample_core.storage.db.query("SELECT url, cities FROM articles")
    by_url = {r["url"].rsplit("/", 1)[-1]: json.loads(r["cities"]) for r in rows}
    assert by_url["002.html"] == ["长沙"]  # only 岳麓, 雨花, 湘江新区, 湘江科学城
    assert by_url["003.html"] == ["株洲"]  # only 醴陵, 荷塘, 芦淞, 渌口
    assert by_url["006.html"] == ["湘潭"]  # only 韶山, 湘乡, 雨湖, 岳塘
    assert by_url["004.html"] == []  # 长株潭, 三市 and a 湘潭日报 byline only


def test_same_entry_twice_is_one_article(core: Core) -> None:
    path = str(FEEDS / "rss2.xml")
    first = _ingest(core, path)[0]
    second = _ingest(core, path)[0]
    assert (first.new, second.new, second.unchanged) == (3, 0, 3)
    assert core.storage.articles.counts()["articles"] == 3


def test_changed_entry_is_updated_not_duplicated(core: Core, tmp_path: Path) -> None:
    path = tmp_path / "feed.xml"
    text = (FEEDS / "rss2.xml").read_text(encoding="utf-8")
    path.write_text(text, encoding="utf-8")
    _ingest(core, str(path))
    path.write_text(
        text.replace("长沙地铁新线开通试运营", "长沙地铁新线正式开通"), encoding="utf-8"
    )
    report = _ingest(core, str(path))[0]
    assert (report.updated, report.new) == (1, 0)
    assert core.storage.articles.counts()["articles"] == 3
    hits = core.storage.search.search("正式开通").hits
    assert len(hits) == 1 and hits[0].story.title == "长沙地铁新线正式开通"
    stale = core.storage.db.scalar(
        "SELECT COUNT(*) FROM articles_fts WHERE articles_fts MATCH ?", ('"新 线 开 通"',)
    )
    assert stale == 0  # the old version's index row is gone


def test_one_bad_feed_never_stops_the_others(core: Core, server: FeedServer) -> None:
    server.routes["/broken"] = Route(status=500)
    server.routes["/html"] = Route(body=(FEEDS / "not-a-feed.html").read_bytes())
    server.routes["/ok"] = Route(body=(FEEDS / "atom.xml").read_bytes())
    reports = _ingest(
        core,
        server.url("/broken"),
        server.url("/html"),
        str(FEEDS / "missing.xml"),
        server.url("/ok"),
    )
    assert [r.ok for r in reports] == [False, False, False, True]
    assert "HTML page" in reports[1].error
    assert reports[3].new == 2
    state = core.storage.feeds.get(server.url("/broken"))
    assert state is not None
    assert state.consecutive_failures == 1 and state.last_error == "HTTP 500"
    assert state.next_poll_at is not None and state.next_poll_at > NOW


def test_backoff_grows_and_gone_feeds_are_disabled(core: Core, server: FeedServer) -> None:
    server.routes["/flaky"] = Route(status=503, headers={"Retry-After": "7200"})
    server.routes["/gone"] = Route(status=410)
    _ingest(core, server.url("/flaky"), server.url("/gone"))
    flaky = core.storage.feeds.get(server.url("/flaky"))
    gone = core.storage.feeds.get(server.url("/gone"))
    assert flaky is not None and gone is not None
    assert flaky.next_poll_at is not None and flaky.next_poll_at >= NOW + 7200
    assert gone.disabled == 1 and not gone.active


def test_conditional_get_uses_stored_validators(core: Core, server: FeedServer) -> None:
    body = (FEEDS / "rss2.xml").read_bytes()
    server.routes["/f"] = Route(body=body, headers={"ETag": '"abc"'})
    _ingest(core, server.url("/f"))
    server.routes["/f"] = Route(status=304)
    report = _ingest(core, server.url("/f"))[0]
    assert report.ok and report.not_modified
    assert server.requests[-1][1].get("If-None-Match") == '"abc"'


def test_future_dates_are_clamped_to_now(core: Core, tmp_path: Path) -> None:
    path = tmp_path / "future.xml"
    path.write_text(
        "<rss version='2.0'><channel><title>t</title><item><title>湘潭未来新闻</title>"
        "<link>http://x.invalid/f</link><pubDate>Mon, 01 Jan 2040 00:00:00 GMT</pubDate>"
        "<description>九华片区新闻</description></item></channel></rss>",
        encoding="utf-8",
    )
    _ingest(core, str(path))
    assert core.storage.db.scalar("SELECT MAX(published) FROM articles") == NOW


def test_items_sharing_one_link_are_separate_articles(core: Core, tmp_path: Path) -> None:
    items = "".join(
        f"<item><title>湘潭新闻{i}</title><guid>n{i}</guid><link>http://x.invalid/</link>"
        f"<description>九华片区第{i}条消息，内容各不相同{i * 7}。</description></item>"
        for i in range(3)
    )
    path = tmp_path / "home.xml"
    path.write_text(
        f"<rss version='2.0'><channel><title>t</title>{items}</channel></rss>", encoding="utf-8"
    )
    first = _ingest(core, str(path))[0]
    second = _ingest(core, str(path))[0]
    assert first.new == 3 and second.unchanged == 3
    assert core.storage.articles.counts() == {"articles": 3, "stories": 3}


def test_invalid_url_is_a_feed_error_not_a_crash(core: Core) -> None:
    report = _ingest(core, "https://[::1", str(FEEDS / "rss2.xml"))
    assert not report[0].ok and "invalid URL" in report[0].error
    assert report[1].new == 3


def test_the_ingestor_takes_its_fetcher(core: Core) -> None:
    """The fetch seam: an ingestor given another fetcher reads through it, and the
    error kind it raises is what the feed records."""
    rss = (FEEDS / "rss2.xml").read_bytes()
    asked: list[str] = []

    def fetcher(url: str, **_: object) -> FetchResult:
        asked.append(url)
        if url.endswith("broken.xml"):
            raise FetchError("HTTP 503", kind="server")
        return FetchResult(url=url, content=rss, headers={"content-type": "application/rss+xml"})

    core.storage.feeds.add("https://one.example/feed.xml", NOW)
    core.storage.feeds.add("https://two.example/broken.xml", NOW)
    ingestor = replace(core.ingestor(), fetcher=fetcher)
    ours = [f for f in core.storage.feeds.active() if ".example/" in f.url]
    reports = ingestor.ingest(ours, NOW)
    assert sorted(asked) == ["https://one.example/feed.xml", "https://two.example/broken.xml"]
    assert [r.ok for r in reports] == [True, False] and reports[0].new > 0
    broken = next(f for f in core.storage.feeds.list() if f.url.endswith("broken.xml"))
    assert broken.last_error_kind == "server" and broken.consecutive_failures == 1


def test_the_merge_decision_is_pure() -> None:
    a = dedup.signature(list("湘潭融城干道今日全线贯通三市通勤时间大幅缩短"))
    b = dedup.signature(list("湘潭融城干道今日全线贯通三市通勤时间明显缩短"))
    other = dedup.signature(list("株洲举办轨道交通装备博览会吸引众多企业参展"))
    assert dedup.choose_story(a, {7: [other], 9: [b]}, 0.5) == 9
    assert dedup.choose_story(a, {7: [other]}, 0.5) is None
    assert dedup.choose_story(a, {}, 0.5) is None

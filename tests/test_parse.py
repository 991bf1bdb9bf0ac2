"""Golden feed fixtures: each document beside the entries it must give (tests/data/feeds)."""

from __future__ import annotations

import calendar

import pytest

from domain.errors import ParseError
from feeds.parse import parse_feed
from tests.conftest import FEEDS, SAMPLES

GOLDEN = {
    "rss2.xml": [
        ("长沙地铁新线开通试运营", "http://test.czt.invalid/rss/0001.html", "rss2-0001"),
        (
            "株洲陶瓷企业拓展海外市场 & 新品发布",
            "http://test.czt.invalid/rss/0002.html",
            "http://test.czt.invalid/rss/0002.html",
        ),
        ("湘潭：跨市通办事项新增20项", "http://test.czt.invalid/rss/0003.html", "rss2-0003"),
    ],
    "atom.xml": [
        (
            "昭山绿道二期完工",
            "http://test.czt.invalid/atom/zhaoshan.html",
            "tag:test.czt.invalid,2026:atom-1",
        ),
        (
            "三市医保电子凭证互认",
            "http://test.czt.invalid/atom/yibao.html",
            "tag:test.czt.invalid,2026:atom-2",
        ),
    ],
    "gbk.xml": [
        ("醴陵电瓷产业园新增三家企业", "http://test.czt.invalid/gbk/1.html", "gbk-0001"),
        ("芦淞服饰市场启用直播基地", "http://test.czt.invalid/gbk/2.html", "gbk-0002"),
    ],
    "mislabelled.xml": [
        ("韶山景区推出夜游项目", "http://test.czt.invalid/mis/1.html", "mis-0001"),
        ("雨湖区老街改造完工", "http://test.czt.invalid/mis/2.html", "mis-0002"),
    ],
    "rdf.xml": [
        (
            "九华片区新添两所学校",
            "http://test.czt.invalid/rdf/1.html",
            "http://test.czt.invalid/rdf/1.html",
        ),
        (
            "浏阳河绿道全线贯通",
            "http://test.czt.invalid/rdf/2.html",
            "http://test.czt.invalid/rdf/2.html",
        ),
    ],
}


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_golden_fixture(name: str) -> None:
    feed = parse_feed((FEEDS / name).read_bytes())
    assert [(e.title, e.link, e.guid) for e in feed.entries] == GOLDEN[name]
    assert all(e.content.strip() for e in feed.entries)
    assert all(e.published for e in feed.entries)


def test_dates_are_utc_epochs() -> None:
    feed = parse_feed((FEEDS / "rss2.xml").read_bytes())
    assert feed.entries[0].published == calendar.timegm((2026, 11, 2, 0, 0, 0))


def test_atom_without_published_uses_updated() -> None:
    entry = parse_feed((FEEDS / "atom.xml").read_bytes()).entries[1]
    assert entry.published == calendar.timegm((2026, 11, 6, 2, 0, 0))


def test_gbk_and_mislabelled_report_their_state() -> None:
    assert parse_feed((FEEDS / "gbk.xml").read_bytes()).encoding == "gbk"
    mis = parse_feed((FEEDS / "mislabelled.xml").read_bytes())
    assert mis.bozo and mis.encoding == "utf-8"


def test_malformed_keeps_the_intact_entry_only() -> None:
    feed = parse_feed((FEEDS / "malformed.xml").read_bytes())
    assert feed.bozo
    assert [(e.title, e.guid) for e in feed.entries] == [
        ("完整的第一条：岳塘区新建社区食堂", "bad-0001")
    ]


@pytest.mark.parametrize(
    ("name", "message"), [("not-a-feed.html", "HTML page"), ("empty.xml", "empty")]
)
def test_not_a_feed(name: str, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse_feed((FEEDS / name).read_bytes())


def test_no_items_is_not_an_error() -> None:
    feed = parse_feed((FEEDS / "no-items.xml").read_bytes())
    assert feed.entries == () and feed.title == "暂无内容的测试频道"


def test_duplicate_guids_inside_one_feed_are_dropped() -> None:
    item = "<item><title>{t}</title><guid>same</guid><link>http://x.invalid/1</link></item>"
    doc = (
        "<rss version='2.0'><channel><title>t</title>"
        + item.format(t="一")
        + item.format(t="二")
        + "</channel></rss>"
    ).encode()
    assert [e.title for e in parse_feed(doc).entries] == ["一"]


@pytest.mark.parametrize("name", ["czt-sample.xml", "czt-gbk.xml", "czt-atom.xml"])
def test_samples_parse_cleanly(name: str) -> None:
    feed = parse_feed((SAMPLES / name).read_bytes())
    assert not feed.bozo and len(feed.entries) >= 3

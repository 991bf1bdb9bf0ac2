"""Pure parts of web sources: decoding, dates, list pages, extraction (no network)."""

from __future__ import annotations

import codecs

import pytest
from hypothesis import given
from hypothesis import strategies as st

from feeds.dates import (
    Day,
    date_from_extractor,
    date_in_row,
    date_in_text,
    date_in_url,
    fill_date,
)
from feeds.decode import choose_encoding, decode_page
from feeds.extract import extract_article
from feeds.listpage import identity, looks_like_article, parse_list, site
from tests.conftest import NOW
from tests.websites import WEB

GBK_TEXT = "株潭融城，周喆远报道"  # 喆 is in GBK but not in GB2312


def html(body: str, head: str = "") -> str:
    return f"<html><head>{head}</head><body>{body}</body></html>"


def test_encoding_order() -> None:
    page = html(GBK_TEXT, '<meta charset="gb2312">').encode("gbk")
    assert choose_encoding(page) == "gb18030"  # meta, widened
    assert decode_page(page).count("喆") == 1
    assert choose_encoding(page, "text/html; charset=GBK") == "gb18030"  # HTTP
    utf8 = html(GBK_TEXT, '<meta charset="utf-8">').encode("utf-8")
    assert choose_encoding(utf8, "text/html; charset=iso-8859-1") == "utf-8", "weak label"
    # An HTTP label the bytes contradict is skipped: the meta charset decides.
    assert choose_encoding(page, "text/html; charset=utf-8") == "gb18030"
    assert choose_encoding(page, "text/html; charset=utf-8", override="big5") == "big5"
    bom = codecs.BOM_UTF8 + html(GBK_TEXT, '<meta charset="gbk">').encode("utf-8")
    assert choose_encoding(bom, "text/html; charset=gbk") == "utf-8-sig"
    undeclared = html("长株潭三市联合开展水环境治理专项行动。" * 20).encode("gb18030")
    assert decode_page(undeclared).count("水环境") == 20, "detection"


def test_dates_in_rows_urls_and_text() -> None:
    assert date_in_row(" 2026-11-24 ") == Day(2026, 11, 24)
    assert date_in_row("[2026/11/03 09:15]") == Day(2026, 11, 3, 9, 15)
    assert date_in_row("2026年11月3日") == Day(2026, 11, 3)
    assert date_in_row("第2026期 13-45") is None
    assert date_in_url("/gov/202611/t20261124_29001.html") == Day(2026, 11, 24)
    assert date_in_url("/html/2026-11/25/content_1.htm") == Day(2026, 11, 25)
    assert date_in_url("/content/202611/05/c123.html") == Day(2026, 11, 5)
    assert date_in_url("/2026/11/05/abc.shtml") == Day(2026, 11, 5)
    assert date_in_url("/news/show.php?id=20261399") is None
    page = "今天是2026年12月1日 星期二 ... 发布时间：2026-11-21 10:30 来源：省厅"
    assert date_in_text(page) == Day(2026, 11, 21, 10, 30)
    assert date_in_text("今天是2026年12月1日", labelled_only=True) is None
    assert date_in_text("2026年11月3日上午，会议召开") == Day(2026, 11, 3)
    assert date_from_extractor("2026-01-01") is None, "a year-only guess is unknown"
    assert date_from_extractor("2026-11-03") == Day(2026, 11, 3)


def test_date_placeholders_use_the_digest_time_zone() -> None:
    late = NOW - 30 * 60  # 24 Nov 23:30 UTC is already 25 Nov in Shanghai
    assert fill_date("/html/{date:%Y-%m/%d}/node_1.htm", late, "Asia/Shanghai") == (
        "/html/2026-11/25/node_1.htm"
    )
    assert fill_date("/{date:%Y%m%d}/", late, "UTC") == "/20261124/"
    assert Day(2026, 11, 25).timestamp("Asia/Shanghai") == NOW - 8 * 3600


def test_identity_and_site() -> None:
    assert identity("HTTP://Example.CN/a/content_1.htm?from=rss#top") == (
        "http://example.cn/a/content_1.htm"
    )
    assert identity("http://x.cn/news/show.php?id=7") == "http://x.cn/news/show.php?id=7"
    assert site("www.zznews.gov.cn") == site("epaper.zznews.gov.cn") == "zznews.gov.cn"
    assert site("news.example.com") == "example.com"
    base = "http://www.example.cn/news/szyw/"
    assert looks_like_article("http://www.example.cn/c/2026-11/24/content_9.htm", base)
    assert looks_like_article("http://m.example.cn/show.php?id=88", base)
    assert not looks_like_article("http://www.example.cn/news/szyw/index_2.htm", base)
    assert not looks_like_article("http://www.example.cn/news/", base)
    assert not looks_like_article("http://www.other.cn/c/content_9.htm", base)


def test_identity_keeps_the_query_but_not_tracking() -> None:
    """``show.php?id=77`` and ``?id=78`` are two articles (review #2)."""
    a, b = "http://x.cn/news2/show.php?id=77", "http://x.cn/news2/show.php?id=78"
    assert identity(a) != identity(b)
    assert identity(a + "&utm_source=wx&spm=1.2&from=timeline&share=1") == a
    assert identity("http://x.cn/c/content_9.htm?utm_medium=x") == "http://x.cn/c/content_9.htm"
    page = parse_list(
        f'<a href="{a}">长株潭三市联合发布第一批政策</a>'
        f'<a href="{b}">长株潭三市联合发布第二批政策</a>',
        "http://x.cn/news2/list.php",
    )
    assert [x.url for x in page.articles] == [a, b]


def test_list_pages_give_only_web_links() -> None:
    """A page cannot point the bot at local files (review #1)."""
    html = (
        '<html><head><link rel="alternate" type="application/rss+xml" href="file:///tmp/s.xml">'
        '<link rel="alternate" type="application/rss+xml" href="/rss.xml"></head><body>'
        '<a href="file:///tmp/content_1.htm">长株潭一体化本地文件一</a>'
        '<a href="ftp://x.cn/content_2.htm">长株潭一体化文件传输二</a>'
        '<a href="http://[x/content_3.htm">长株潭一体化坏网址三</a>'
        '<a href="file:///tmp/node_2.htm">下一版</a>'
        '<a href="/c/content_4.htm">长株潭一体化网页文章四</a></body></html>'
    )
    page = parse_list(html, "http://x.cn/l/", links=r"content_", pages=r"node_")
    assert page.feeds == ("http://x.cn/rss.xml",)
    assert [a.url for a in page.articles] == ["http://x.cn/c/content_4.htm"]
    assert page.pages == ()


def test_heuristic_skips_site_chrome_and_keeps_full_titles() -> None:
    text = (WEB / "gov-list.html").read_text(encoding="utf-8")
    page = parse_list(text, "http://h.cn/gov/szdt/index.html")
    titles = [a.title for a in page.articles]
    assert titles[0] == "省政府常务会议研究部署长株潭一体化发展重点任务", "title attribute"
    assert len(titles) == 4 and not any("首页" in t or "下一页" in t for t in titles)
    assert [a.date for a in page.articles][2] == Day(2026, 11, 21)


def test_relative_links_and_layout_pages() -> None:
    text = decode_page((WEB / "epaper-node2.htm").read_bytes())
    base = "http://h.cn/epaper/html/2026-11/25/node_2.htm"
    page = parse_list(text, base, links=r"content_\d+\.htm", pages=r"node_\d+\.htm")
    assert page.articles[0].url == "http://h.cn/epaper/html/2026-11/25/content_1003.htm"
    assert page.pages == ("http://h.cn/epaper/html/2026-11/25/node_1.htm",)
    feed_page = html("", '<link rel="alternate" type="application/rss+xml" href="/rss.xml">')
    assert parse_list(feed_page, base).feeds == ("http://h.cn/rss.xml",)
    assert parse_list("", base).articles == ()


CHROME = ("首页", "版权所有", "当前位置", "分享到", "相关新闻", "备案号", "打印", "主办")


@pytest.mark.parametrize(
    ("name", "must"),
    [
        ("gov-article-29001.html", "跨市通办事项增加到256项"),
        ("cms-article-55501.htm", "新开2条跨市公交线路"),
        ("cms-article-55504.htm", "首期工程计划2028年建成"),
        ("epaper-content-1003.htm", "首批纳入直接结算的定点医疗机构共有168家"),
    ],
)
def test_extraction_keeps_the_text_and_drops_the_chrome(name: str, must: str) -> None:
    page = decode_page((WEB / name).read_bytes())
    article = extract_article(page, "http://h.cn/x/" + name)
    assert must in article.text
    assert not [c for c in CHROME if c in article.text], article.text


def test_selector_fallback_when_the_extractor_finds_too_little() -> None:
    page = html(
        '<div class="nav"><a href="/">首页</a></div>'
        '<div id="ozoom"><span>株潭两地医保结算同城化。</span><span>首批168家。</span></div>'
    )
    plain = extract_article(page, "http://h.cn/a.htm")
    chosen = extract_article(page, "http://h.cn/a.htm", selector="#ozoom")
    assert chosen.method == "selector" and "首批168家" in chosen.text
    assert "首页" not in chosen.text
    assert plain.method != "selector"
    assert extract_article("<html>", "http://h.cn/b.htm").text == ""


@given(st.text(max_size=400), st.sampled_from(["", r"content_\d+", r"\d"]))
def test_list_pages_never_raise(text: str, links: str) -> None:
    page = parse_list(text, "http://h.cn/l/", links=links)
    assert all(a.url.startswith("http") for a in page.articles)


@given(
    st.binary(max_size=400), st.sampled_from([None, "text/html; charset=gbk", "x; charset=nope"])
)
def test_decoding_never_raises(content: bytes, content_type: str | None) -> None:
    assert isinstance(decode_page(content, content_type), str)

"""Rendering a digest for Telegram HTML, WeCom markdown and the console."""

from __future__ import annotations

import html
from dataclasses import replace
from html.parser import HTMLParser

import pytest

from digests.compose import Digest
from digests.render import render_empty, render_html, render_markdown, render_text
from domain.models import Subscription
from tests.test_digest_compose import ALL, MONEY, SINCE, TASKS, UNTIL, compose, story

HOSTILE = '<script>&"x"'


def digest(**kwargs: object) -> Digest:
    stories = [
        story(1, title=HOSTILE, figures=(TASKS, MONEY), sources=3),
        story(2, cities=("湘潭",), topics=("交通",), title="湘潭至长沙城际[快线](试运行)开通"),
        story(3, cities=("株洲",), topics=("科创",)),
    ]
    return compose(stories, ALL, since=SINCE, until=UNTIL, **kwargs)  # type: ignore[arg-type]


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.hrefs: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.hrefs.extend(v or "" for k, v in attrs if k == "href")

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(markup: str) -> _Tags:
    parser = _Tags()
    parser.feed(markup)
    parser.close()
    return parser


def test_html_escapes_article_text() -> None:
    blocks = render_html(digest())
    joined = "\n\n".join(blocks)
    assert HOSTILE not in joined
    assert "&lt;script&gt;&amp;&quot;x&quot;" in joined
    parsed = parse(joined)
    assert "script" not in parsed.tags
    assert HOSTILE in "".join(parsed.text)
    assert set(parsed.tags) <= {"b", "i", "a"}


def test_html_links_escaped_urls_and_skips_unsafe_schemes() -> None:
    evil = replace(story(5, title="链接测试"), url='https://x.cn/a?b=1&c="2"')
    bad = replace(evil, id=6, url="javascript:alert(1)")
    d = compose([evil, bad], ALL, since=SINCE, until=UNTIL)
    joined = "\n\n".join(render_html(d))
    assert '<a href="https://x.cn/a?b=1&amp;c=&quot;2&quot;">' in joined
    assert parse(joined).hrefs == ['https://x.cn/a?b=1&c="2"']
    assert "javascript" not in joined


def test_html_blocks_key_figures_first_then_one_block_per_story() -> None:
    blocks = render_html(digest())
    assert "长株潭一体化周报（11月16日—11月23日）" in blocks[0]
    assert "<b>本期涉及金额 120 亿元</b>" in blocks[1]  # the headline
    assert "长沙 · 重点合作事项 52/60 已完成" in blocks[1]
    assert "【关键数据】" in blocks[2]
    assert "长沙 · 重点合作事项 52/60 已完成" in blocks[2]
    assert '<a href="https://news.example.cn/czt/1.html"><i>[1]</i></a>' in blocks[2]
    assert len(blocks) == 3 + 3
    first = blocks[3]
    assert first.startswith("<b>▍长沙·产业</b>\n")
    assert '<a href="https://news.example.cn/czt/1.html">' in first
    assert "来源 3 家" in first and "11月17日" in first
    assert "三市签署合作协议，推动产业链协同发展。" in first
    assert "各方表示" not in first  # one sentence only
    assert "来源" not in blocks[4]  # a single source is not worth saying
    for block in blocks:
        assert parse(block).tags.count("b") == block.count("</b>")


@pytest.mark.parametrize("render", [render_html, render_text, render_markdown])
def test_figures_come_before_stories(render: object) -> None:
    blocks = render(digest())  # type: ignore[operator]
    joined = "\n".join(blocks)
    assert joined.index("【关键数据】") < joined.index(
        "长沙·产业", joined.index("【关键数据】") + 8
    )
    assert joined.index("【关键数据】") < joined.index("三市签署合作协议")


def test_story_shows_at_most_two_figures() -> None:
    extra = [TASKS, MONEY, replace(MONEY, subject="新增投资", value=5e8)]
    d = compose([story(1, figures=tuple(extra))], ALL, since=SINCE, until=UNTIL)
    text = render_text(d)[-1]
    assert "重点合作事项：完成 52/60 项；总投资 120 亿元" in text
    assert "新增投资" not in text


def test_text_is_plain() -> None:
    blocks = render_text(digest())
    joined = "\n".join(blocks)
    assert HOSTILE in joined  # the console shows the title as it is
    assert "https://news.example.cn/czt/1.html" in joined
    assert "<b>" not in joined and "**" not in joined


def test_markdown_escapes_link_breaking_characters() -> None:
    blocks = render_markdown(digest())
    assert blocks[0].startswith("# 长株潭一体化周报")
    joined = "\n".join(blocks)
    assert "[湘潭至长沙城际［快线］（试运行）开通](https://news.example.cn/czt/2.html)" in joined
    assert "<script>" not in joined and "＜script＞" in joined
    assert '<font color="info">' in joined


def test_markdown_url_parentheses_encoded() -> None:
    s = replace(story(1), url="https://x.cn/a (1).html")
    joined = "\n".join(render_markdown(compose([s], ALL, since=SINCE, until=UNTIL)))
    assert "(https://x.cn/a%20%281%29.html)" in joined


def test_omitted_stories_are_counted() -> None:
    d = digest(max_stories=2)
    assert d.omitted == 1
    hint = "发送 /latest 查看最新动态，或直接发送关键词搜索"
    assert render_html(d)[-1] == f"<i>另有 1 条未列出：{hint}</i>"
    assert render_text(d)[-1] == f"另有 1 条未列出：{hint}"
    assert "另有 1 条未列出" in render_markdown(d)[-1]


def test_empty_digest_renders_the_empty_message() -> None:
    empty = compose([], [Subscription(city="长沙")], since=SINCE, until=UNTIL)
    assert render_html(empty) == [render_empty("html")]
    assert render_text(empty) == [render_empty("text")]
    assert render_markdown(empty) == [render_empty("markdown")]
    for kind in ("html", "text", "markdown"):
        line = render_empty(kind)
        assert "本周暂无新动态" in line and "\n" not in line
    assert html.unescape(render_empty("html")) == render_empty("html")
    with pytest.raises(ValueError):
        render_empty("pdf")

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from digests import present
from digests.markup import TEXT, render_line
from storage import fts


def mark(text: str, spans: tuple[tuple[int, int], ...]) -> str:
    return render_line(present.marked(text, spans), TEXT)


def test_index_doc_is_one_token_per_character_with_boundaries() -> None:
    assert fts.index_doc("融城干道，湘潭5g") == "融 城 干 道 | 湘 潭 5 g"
    assert fts.index_doc("  ,a") == "a"


def test_query_terms_are_folded_and_deduplicated() -> None:
    q = fts.parse_query("融城幹道  融城干道 ＡＢ")
    assert q is not None
    assert q.terms == ("融城干道", "ab")
    assert q.match() == '"融 城 干 道" AND "a b"'


def test_fts_syntax_is_inert() -> None:
    q = fts.parse_query('"湘潭" OR NOT (株洲*) ^NEAR')
    assert q is not None
    assert q.terms == ("湘潭", "or", "not", "株洲", "near")
    assert all(ch.isalnum() or ch in ' "' for ch in q.match().replace(" AND ", " "))


def test_nothing_searchable() -> None:
    assert fts.parse_query("  ，。!! ") is None


@given(st.text())
def test_match_expression_only_quotes_alphanumerics(text: str) -> None:
    q = fts.parse_query(text)
    if q is not None:
        inner = q.match().replace(" AND ", "")
        assert inner.startswith('"') and inner.endswith('"')
        assert all(ch.isalnum() or ch in ' "' for ch in inner)


def test_snippet_is_the_sentence_shown_in_simplified_script() -> None:
    folded = "标题\n" + "前言。" * 30 + "湘潭融城干道今天通车。" + "结尾" * 30
    display = folded.replace("干", "幹").replace("标题", "標題")
    text, spans = fts.snippet(folded, ("融城干道",), display=display)
    assert mark(text, spans) == "…湘潭【融城幹道】今天通车。…"  # as written
    shown = present.shown_snippet(text, "simplified")
    assert render_line(present.marked(shown, spans), TEXT) == "…湘潭【融城干道】今天通车。…"


def test_snippet_prefers_running_text_over_site_chrome() -> None:
    folded = (
        "示范区动态\n首页 | 示范区 | 湘潭 | 新闻\n"
        "湘潭市今年新开工示范区项目二十个,覆盖产业和民生两个方面。\n"
        "版权所有 示范区 湘潭 网站 备案号"
    )
    text, spans = fts.snippet(folded, ("示范区",))
    assert text.startswith("…湘潭市今年新开工示范区项目")
    assert mark(text, spans).count("【示范区】") == 1


def test_snippet_prefers_the_sentence_with_every_term() -> None:
    folded = "题目\n株洲新建一座桥。湘潭也有计划。株洲和湘潭共建一条干道。结束。"
    text, spans = fts.snippet(folded, ("株洲", "湘潭"))
    assert text == "…株洲和湘潭共建一条干道。…"
    assert len(spans) == 2


def test_snippet_cuts_a_long_sentence_around_the_hit() -> None:
    folded = "题目\n" + "甲" * 200 + "融城干道" + "乙" * 200 + "。"
    text, spans = fts.snippet(folded, ("融城干道",), width=40)
    assert text.startswith("…") and text.endswith("…")
    assert len(text) == 42
    assert mark(text, spans).count("【融城干道】") == 1


def test_lead_skips_chrome_lines() -> None:
    body = "首页 | 新闻中心 | 正文\n浏览次数：123\n湘潭九华新区今天签约五个项目,总投资十亿元。"
    assert fts.lead(body) == "湘潭九华新区今天签约五个项目,总投资十亿元。"
    title, lead = fts.heads("九华签约\n" + body)
    assert title == "九 华 签 约"
    assert lead.startswith("湘 潭 九 华")

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from digests import present
from digests.markup import TEXT, render_line
from storage import fts


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


def test_snippet_marks_hits_and_uses_display_text() -> None:
    folded = "前言。" * 30 + "湘潭融城干道通车" + "结尾" * 30
    display = folded.replace("干", "幹")
    text, spans = fts.snippet(folded, ("融城干道",), display=display)
    marked = render_line(present.marked(text, spans), TEXT)
    assert "【融城幹道】" in marked
    assert marked.startswith("…") and marked.endswith("…")

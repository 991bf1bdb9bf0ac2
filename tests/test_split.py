"""Splitting text and packing rendered blocks into messages within a channel's limit."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from html.parser import HTMLParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from digests.render import render_html, render_markdown
from digests.split import (
    TELEGRAM_LIMIT,
    WECOM_LIMIT,
    pack,
    split_text,
    utf8_len,
    utf16_len,
)
from tests.test_digest_compose import ALL, SINCE, UNTIL, compose, story

MEASURES: dict[str, Callable[[str], int]] = {"utf16": utf16_len, "utf8": utf8_len}
SENTENCE_ENDS = "。！？；!?;…\n"

# Chinese text with punctuation, ASCII, emoji (surrogate pairs in UTF-16) and newlines.
ALPHABET = st.sampled_from(
    list("长株潭一体化融城发展湘江新区产业科创交通生态文旅公共服务改革")
    + list("，、。！？；…“”（）,.;!? \n")
    + list("abcXYZ0123456789")
    + ["😀", "🚄", "𠀀", "é"]
)
TEXT = st.text(ALPHABET, max_size=600)


def test_measures() -> None:
    assert utf16_len("长株潭") == 3 and utf8_len("长株潭") == 9
    assert utf16_len("😀") == 2 and utf8_len("😀") == 4
    assert utf16_len("") == utf8_len("") == 0
    assert TELEGRAM_LIMIT == WECOM_LIMIT == 4096


@settings(max_examples=300, deadline=None)
@given(text=TEXT, limit=st.integers(4, 120), kind=st.sampled_from(sorted(MEASURES)))
def test_split_text_chunks_fit_and_join_back(text: str, limit: int, kind: str) -> None:
    measure = MEASURES[kind]
    chunks = split_text(text, limit, measure)
    assert "".join(chunks) == text
    assert all(chunk and measure(chunk) <= limit for chunk in chunks)
    for chunk in chunks:
        # No chunk starts with the second half of a surrogate pair (emoji count 2 in UTF-16).
        assert not ("\udc00" <= chunk[0] <= "\udfff")


@settings(max_examples=200, deadline=None)
@given(
    # Closing quotes and spaces after an end mark stay with the sentence: leave them out.
    sentences=st.lists(
        st.text(ALPHABET.filter(lambda c: c not in SENTENCE_ENDS + "”）) "), max_size=30)
    ),
    limit=st.integers(40, 200),
)
def test_split_text_breaks_after_sentence_punctuation(sentences: list[str], limit: int) -> None:
    # Every sentence fits, so every cut must fall right after an end mark.
    text = "".join(f"{s}。" for s in sentences)
    chunks = split_text(text, limit)
    assert "".join(chunks) == text
    assert all(chunk.endswith("。") for chunk in chunks)


def test_split_text_prefers_sentences_then_commas_then_hard() -> None:
    text = "长株潭三市签署协议。三市将共建产业链，推动协同发展，实现融城目标"
    chunks = split_text(text, 14)
    assert chunks[0] == "长株潭三市签署协议。"
    assert chunks[1] == "三市将共建产业链，"
    assert chunks[2] == "推动协同发展，实现融城目标"
    assert "".join(chunks) == text
    assert split_text("一二三四五六七八九十", 4) == ["一二三四", "五六七八", "九十"]
    assert split_text("", 10) == []
    with pytest.raises(ValueError):
        split_text("😀", 1)


def test_split_text_keeps_closing_quote_with_its_sentence() -> None:
    chunks = split_text("他说：“三市同心。”随后签约仪式举行", 10)
    assert chunks[0] == "他说：“三市同心。”"


def test_split_text_never_splits_a_surrogate_pair() -> None:
    text = "😀" * 10
    chunks = split_text(text, 5)  # 5 code units: two emoji per chunk, never two and a half
    assert chunks == ["😀😀"] * 5
    lone = "ab\ud83d\ude00cd"  # a pair kept as two code points (surrogatepass input)
    chunks = split_text(lone, 3)
    assert "".join(chunks) == lone
    assert all(not c.startswith("\ude00") for c in chunks)


def test_pack_joins_blocks_and_keeps_them_whole() -> None:
    blocks = ["甲" * 10, "乙" * 10, "丙" * 10, "", "丁" * 25]
    messages = pack(blocks, 25)
    assert messages == ["甲" * 10 + "\n\n" + "乙" * 10, "丙" * 10, "丁" * 25]
    assert pack([], 100) == []
    long = "长株潭融城。" * 20  # 120 characters
    messages = pack(["开头", long, "结尾"], 50)
    assert all(utf16_len(m) <= 50 for m in messages)
    assert "".join(messages).replace("\n\n", "") == "开头" + long + "结尾"


def test_pack_utf8_for_wecom() -> None:
    blocks = render_markdown(
        compose([story(i) for i in range(1, 80)], ALL, since=SINCE, until=UNTIL, max_stories=80)
    )
    messages = pack(blocks, WECOM_LIMIT, utf8_len)
    assert len(messages) > 1
    assert all(utf8_len(m) <= WECOM_LIMIT for m in messages)
    assert "\n\n".join(messages) == "\n\n".join(blocks)  # only whole blocks were moved


# ---------------------------------------------------------------- HTML

_TAGGED = ("b", "i", "a")
_ENTITY = re.compile(r"&(?:lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);")


class Balance(HTMLParser):
    """Counts open and close tags; fails on a close without an open."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.text: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _TAGGED:
            self.errors.append(f"unexpected <{tag}>")
        if tag == "a" and not any(k == "href" and v for k, v in attrs):
            self.errors.append("<a> without href")
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unbalanced </{tag}>")
        else:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def check_html(message: str) -> str:
    """Asserts ``message`` is balanced Telegram HTML; returns its text."""
    parser = Balance()
    parser.feed(message)
    parser.close()
    assert not parser.errors, (parser.errors, message)
    assert not parser.stack, (parser.stack, message)
    bare = re.sub(r"<[^<>]*>", "", message)
    assert "<" not in bare and ">" not in bare, message  # no tag was cut
    assert "&" not in _ENTITY.sub("", bare), message  # no entity was cut
    return "".join(parser.text)


SEGMENT = st.tuples(
    st.sampled_from(["", "b", "i", "a", "ab", "bi"]),
    st.text(ALPHABET | st.sampled_from(["<", ">", "&", '"']), min_size=1, max_size=120),
)


def markup(segments: list[tuple[str, str]]) -> str:
    out = []
    for style, text in segments:
        piece = html.escape(text, quote=True)
        for tag in reversed(style):
            if tag == "a":
                piece = f'<a href="https://news.example.cn/x?a=1&amp;b=&quot;2&quot;">{piece}</a>'
            else:
                piece = f"<{tag}>{piece}</{tag}>"
        out.append(piece)
    return "".join(out)


@settings(max_examples=200, deadline=None)
@given(
    blocks=st.lists(st.lists(SEGMENT, min_size=1, max_size=12), min_size=1, max_size=6),
    limit=st.integers(130, 700),
    kind=st.sampled_from(sorted(MEASURES)),
)
def test_pack_html_balanced_within_limit(
    blocks: list[list[tuple[str, str]]], limit: int, kind: str
) -> None:
    measure = MEASURES[kind]
    rendered = [markup(block) for block in blocks]
    messages = pack(rendered, limit, measure, html=True)
    assert all(measure(m) <= limit for m in messages)
    texts = [check_html(m) for m in messages]
    expected = "".join(html.unescape(re.sub(r"<[^<>]*>", "", b)) for b in rendered)
    assert re.sub(r"\s", "", "".join(texts)) == re.sub(r"\s", "", expected)


def test_pack_html_cuts_after_sentences_and_reopens_tags() -> None:
    body = "长株潭城际铁路将加密班次。" * 30  # 390 characters in one link
    block = f'<b>▍交通</b>\n<a href="https://x.cn/?a=1&amp;b=2"><b>{body}</b></a>'
    messages = pack([block], 100, html=True)
    assert len(messages) > 4
    for message in messages:
        assert utf16_len(message) <= 100
        check_html(message)
        assert message.endswith("。</b></a>")
    assert messages[1].startswith('<a href="https://x.cn/?a=1&amp;b=2"><b>长株潭')


def test_pack_html_long_digest_for_telegram() -> None:
    stories = [story(i, title=f"<第{i}则>&长株潭融城新闻" * 20) for i in range(1, 60)]
    blocks = render_html(compose(stories, ALL, since=SINCE, until=UNTIL, max_stories=60))
    messages = pack(blocks, TELEGRAM_LIMIT, html=True)
    assert len(messages) > 1
    for message in messages:
        assert utf16_len(message) <= TELEGRAM_LIMIT
        check_html(message)

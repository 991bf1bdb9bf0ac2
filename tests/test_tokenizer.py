"""The fast segmenter must cut our texts like jieba, the reference."""

from __future__ import annotations

import pytest

from analysis.text import clean, fold
from analysis.tokenizer import Tokenizer, available_engines
from app.config import DEFAULT_TAXONOMY, load_taxonomy
from feeds.parse import parse_feed
from tests.conftest import FEEDS, SAMPLES

HAN = ("\u4e00", "\u9fff")


def _han_words(words: list[str]) -> list[str]:
    return [w for w in words if all(HAN[0] <= ch <= HAN[1] for ch in w)]


def _texts() -> list[str]:
    texts = []
    for path in [*SAMPLES.glob("*.xml"), FEEDS / "rss2.xml", FEEDS / "atom.xml"]:
        for entry in parse_feed(path.read_bytes()).entries:
            texts.append(fold(clean(entry.title + "\n" + entry.content)))
    return texts


@pytest.mark.skipif("rjieba" not in available_engines(), reason="rjieba not installed")
def test_rjieba_agrees_with_jieba_on_our_texts() -> None:
    words = load_taxonomy(DEFAULT_TAXONOMY).words
    fast, reference = Tokenizer(words, "rjieba"), Tokenizer(words, "jieba")
    texts = _texts()
    assert len(texts) >= 20
    for text in texts:
        assert _han_words(fast.words(text)) == _han_words(reference.words(text))


def test_domain_words_stay_whole_in_both_engines() -> None:
    words = load_taxonomy(DEFAULT_TAXONOMY).words
    for engine in available_engines():
        cut = Tokenizer(words, engine).words("长株潭融城干道建设提速，跨市通办事项再扩容")
        assert "融城干道" in cut and "跨市通办" in cut and "长株潭" in cut


def test_keywords_from_words_match_keywords_from_text() -> None:
    tok = Tokenizer(load_taxonomy(DEFAULT_TAXONOMY).words)
    text = _texts()[0]
    assert tok.keywords(text, 5) == tok.keywords("", 5, words=tok.words(text))
    assert all(len(k) >= 2 for k in tok.keywords(text, 8))
    with pytest.raises(ValueError):
        Tokenizer((), "nosuch")

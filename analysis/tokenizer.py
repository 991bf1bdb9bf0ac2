"""The analyser's own segmenter, with the domain dictionary, loaded once.

Two engines behind one interface: jieba (the reference) and rjieba, the Rust port,
which gives the same words on our texts at many times the speed (a test checks that
they agree). Each is a private instance, so the domain words never leak into (or
depend on) other users of jieba in the process. Keywords are TF-IDF over the words
already cut, with jieba's IDF table, so a text is segmented once.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import jieba

jieba.setLogLevel(logging.WARNING)

_WORDISH = re.compile(r"\w", re.UNICODE)
_IDF: tuple[dict[str, float], float, frozenset[str]] | None = None
_IDF_LOCK = threading.Lock()


# jieba's keyword stop words (its TF-IDF extractor's list).
STOP_WORDS = frozenset(
    (
        "the",
        "of",
        "is",
        "and",
        "to",
        "in",
        "that",
        "we",
        "for",
        "an",
        "are",
        "by",
        "be",
        "as",
        "on",
        "with",
        "can",
        "if",
        "from",
        "which",
        "you",
        "it",
        "this",
        "then",
        "at",
        "have",
        "all",
        "not",
        "one",
        "has",
        "or",
    )
)


def _idf() -> tuple[dict[str, float], float, frozenset[str]]:
    """jieba's IDF table, its median (for unknown words) and the stop words, loaded once.

    Read from jieba's own file rather than through ``jieba.analyse``, whose import builds
    a second copy of the table (about 100 MB) that we would never use.
    """
    global _IDF
    with _IDF_LOCK:
        if _IDF is None:
            path = Path(jieba.__file__).parent / "analyse" / "idf.txt"
            table: dict[str, float] = {}
            for line in path.read_text(encoding="utf-8").splitlines():
                word, _, value = line.strip().partition(" ")
                if value:
                    table[word] = float(value)
            values = sorted(table.values())
            _IDF = (table, values[len(values) // 2], STOP_WORDS)
        return _IDF


def available_engines() -> tuple[str, ...]:
    try:
        import rjieba  # noqa: F401
    except ImportError:
        return ("jieba",)
    return ("rjieba", "jieba")


class Tokenizer:
    """Segments folded Chinese text into words and extracts keywords."""

    def __init__(self, user_words: Iterable[str] = (), engine: str = "auto") -> None:
        if engine == "auto":
            engine = available_engines()[0]
        if engine not in ("jieba", "rjieba"):
            raise ValueError(f"unknown segmenter: {engine}")
        self.engine = engine
        self._user_words = tuple(user_words)
        self._lock = threading.Lock()
        self._impl: Any = None
        self._pos: Any = None

    def _init(self) -> Any:
        with self._lock:
            if self._impl is not None:
                return self._impl
            if self.engine == "rjieba":
                import rjieba

                impl = rjieba.Jieba()
                for word in self._user_words:
                    impl.add_word(word, _freq(word), None)
            else:
                impl = jieba.Tokenizer()
                impl.initialize()
                for word in self._user_words:
                    impl.add_word(word, freq=_freq(word))
            self._impl = impl
            return impl

    def cut(self, text: str) -> list[str]:
        """Every token of ``text`` in order (accurate mode with HMM), punctuation included."""
        impl = self._impl or self._init()
        if self.engine == "rjieba":
            return list(impl.cut(text, True))
        return list(impl.lcut(text, HMM=True))

    def tag(self, text: str) -> list[tuple[str, str]]:
        """``(word, part of speech)`` pairs of ``text`` (jieba's ICTCLAS-style tags)."""
        impl = self._impl or self._init()
        if self.engine == "rjieba":
            return [(word, flag) for word, flag in impl.tag(text, True)]
        with self._lock:
            if self._pos is None:
                import jieba.posseg

                self._pos = jieba.posseg.POSTokenizer(impl)
        return [(pair.word, pair.flag) for pair in self._pos.lcut(text)]

    def words(self, text: str) -> list[str]:
        """Words of ``text`` in order, without punctuation or spaces."""
        return [w for w in self.cut(text) if _WORDISH.search(w)]

    def keywords(self, text: str, k: int = 8, words: list[str] | None = None) -> list[str]:
        """The ``k`` most characteristic words (TF-IDF), two characters or longer.

        Pass ``words`` when the text was already segmented, to skip cutting it again.
        """
        idf, median, stop = _idf()
        counts = Counter(
            w
            for w in (words if words is not None else self.words(text))
            if len(w) >= 2 and not w.isdigit() and w not in stop
        )
        total = sum(counts.values()) or 1
        scored = sorted(counts, key=lambda w: (-counts[w] * idf.get(w, median) / total, w))
        return scored[:k]


def _freq(word: str) -> int:
    # A high frequency keeps domain words whole against the general dictionary.
    return max(2000, 500 * len(word))

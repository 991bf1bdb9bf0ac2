"""The analyser's own jieba tokenizer, with the domain dictionary, loaded once.

A private ``jieba.Tokenizer`` instance rather than jieba's global one, so the domain
words never leak into (or depend on) other users of jieba in the process.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable

import jieba
import jieba.analyse

jieba.setLogLevel(logging.WARNING)

_WORDISH = re.compile(r"\w", re.UNICODE)


class Tokenizer:
    """Segments folded Chinese text into words and extracts keywords."""

    def __init__(self, user_words: Iterable[str] = ()) -> None:
        self._jieba = jieba.Tokenizer()
        self._lock = threading.Lock()
        self._ready = False
        self._user_words = tuple(user_words)
        self._tfidf = jieba.analyse.TFIDF()
        self._tfidf.tokenizer = self._jieba

    def _init(self) -> None:
        with self._lock:
            if self._ready:
                return
            self._jieba.initialize()
            for word in self._user_words:
                # A high frequency keeps domain words whole against the general dictionary.
                self._jieba.add_word(word, freq=max(2000, 500 * len(word)))
            self._ready = True

    def words(self, text: str) -> list[str]:
        """Words of ``text`` in order (accurate mode), without punctuation or spaces."""
        if not self._ready:
            self._init()
        return [w for w in self._jieba.lcut(text, HMM=True) if _WORDISH.search(w)]

    def keywords(self, text: str, k: int = 8) -> list[str]:
        """The ``k`` most characteristic words (TF-IDF), two characters or longer."""
        if not self._ready:
            self._init()
        tags = self._tfidf.extract_tags(text, topK=k * 2)
        return [t for t in tags if len(t) >= 2 and not t.isdigit()][:k]

"""Clean noun-phrase subjects for figures, bounded by part-of-speech tags.

:mod:`analysis.subjects` cuts a subject out of the text with stop words and a length
cap; that can leave a measure word or half a word at the front (``个项目集中开工总投资``,
``点项目…``), a verb or adverb at the end (``重点任务发布``, ``项目集中``) or a demonstrative
(``该项目总投资``). Here the subject is tagged (jieba's tag set, through
:meth:`analysis.tokenizer.Tokenizer.tag`) and trimmed to the noun phrase a reader sees:

- leading numerals, measure words, pronouns and demonstratives, conjunctions,
  prepositions, particles, adverbs, time and place-of-direction words, and one-character
  verbs (是 有 能 将) are dropped;
- trailing verbs, adverbs, adjectives, particles and direction words (中 后) are dropped;
- after a run of two verbs (集中开工, 集中签约) only what follows is kept: the clause
  before it is the event, the noun after it is the subject (``总投资``);
- what is left must hold a noun (or verbal noun) and two characters, else there is no
  subject and the figure shows without one (``项目 12 个``);
- domain dictionary words (untagged) count as nouns; a size band (``亿元以上项目``) stays.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

__all__ = ["noun_phrase"]

Tagged = Sequence[tuple[str, str]]

_LEAD_DROP = frozenset(
    {"m", "mq", "q", "r", "c", "p", "u", "uj", "ul", "uz", "ug", "ud", "d", "x", "w", "t"}
    | {"f", "y", "e", "o", "zg"}
)
_TRAIL_DROP = frozenset(
    {"v", "vd", "d", "a", "ad", "u", "uj", "ul", "uz", "ug", "ud", "f", "p", "c", "y", "m"}
    | {"mq", "q", "r", "x", "w", "t", "e", "o", "zg"}
)
_VERBS = frozenset({"v", "vd"})
_NOUNISH = ("n", "vn", "j", "l", "b", "s", "an")
_HAN = re.compile("[\u3400-\u9fff]")
# A size band before the head noun is part of the subject: 亿元以上项目, 5000万元以上项目.
_SIZE_BAND = re.compile(r"[\d.]*[千百万亿]*元及?以[上下]")


def _flag(word: str, flag: str) -> str:
    # Domain dictionary words carry no tag of their own ("" or x): they are names, nouns.
    return "nz" if flag in ("x", "") and len(word) > 1 and _HAN.match(word) else flag


def noun_phrase(subject: str, tag: Callable[[str], Tagged]) -> str:
    """``subject`` trimmed to a clean noun phrase, or ``""`` when none is left."""
    if not subject or _SIZE_BAND.match(subject):
        return subject
    words = [(word, _flag(word, flag)) for word, flag in tag(subject)]
    for i in range(len(words) - 2, -1, -1):
        if words[i][1] in _VERBS and words[i + 1][1] in _VERBS:
            words = words[i + 2 :]
            break
    while words and (
        words[0][1] in _LEAD_DROP or (words[0][1] in _VERBS and len(words[0][0]) == 1)
    ):
        words.pop(0)
    while words and words[-1][1] in _TRAIL_DROP:
        words.pop()
    phrase = "".join(word for word, _ in words)
    if len(phrase) < 2 or not any(flag.startswith(_NOUNISH) for _, flag in words):
        return ""
    return phrase

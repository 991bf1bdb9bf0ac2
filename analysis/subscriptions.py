"""Reading what a user (or the config) wants to follow: "湘潭 交通, 长沙" → subscriptions."""

from __future__ import annotations

import re

from analysis.taxonomy import Tagger
from analysis.text import fold
from domain.models import Subscription

_GROUP_SEPARATORS = "，,、；;"
MAX_KEYWORD_CHARS = 20
_SEARCHABLE = re.compile(r"[^\W_]")  # a letter, digit or Han character: what search indexes


def as_keyword(word: str) -> str | None:
    """``word`` as a keyword to watch (融城干道), or ``None`` when it cannot be one: too
    long, or nothing in it that search could find (punctuation only)."""
    word = word.strip()
    if not word or len(word) > MAX_KEYWORD_CHARS or not _SEARCHABLE.search(fold(word)):
        return None
    return word


def split_keywords(words: list[str]) -> tuple[list[str], list[str]]:
    """Words that name neither a city nor a topic: (keywords to watch, words refused)."""
    keywords: list[str] = []
    refused: list[str] = []
    for word in words:
        keyword = as_keyword(word)
        if keyword is None:
            refused.append(word)
        elif keyword not in keywords:
            keywords.append(keyword)
    return keywords, refused


def parse_subscriptions(tagger: Tagger, text: str) -> tuple[list[Subscription], list[str]]:
    """The subscriptions named in ``text`` and the words that name nothing.

    Groups are split at ，、,；; inside a group, cities and topics together make pairs
    ("湘潭 交通" → 湘潭·交通), cities or topics alone are each their own subscription
    ("长沙 株洲" → 长沙, 株洲). Districts and landmarks name their city.
    """
    for sep in _GROUP_SEPARATORS:
        text = text.replace(sep, "|")
    subs: list[Subscription] = []
    unknown: list[str] = []
    for group in (g.strip() for g in text.split("|")):
        if not group:
            continue
        cities, topics, bad = tagger.resolve(group.replace("·", " ").split())
        unknown += bad
        if cities and topics:
            subs += [Subscription(c, t) for c in cities for t in topics]
        else:
            subs += [Subscription(city=c) for c in cities]
            subs += [Subscription(topic=t) for t in topics]
    return list(dict.fromkeys(subs)), unknown

"""The region's taxonomy (cities, topics, domain words) and tagging by it.

The taxonomy is data (``domain/data/taxonomy.toml``); this module turns it into a
``Taxonomy`` value and tags folded text with it. Pure: ``app.config.load_taxonomy`` reads
the file.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from analysis.context import Places
from analysis.text import SENTENCE_ENDS, fold
from domain.errors import ConfigError


@dataclass(frozen=True)
class Taxonomy:
    region: str
    cities: tuple[tuple[str, tuple[str, ...]], ...]  # (name, aliases)
    topics: tuple[tuple[str, tuple[str, ...]], ...]  # (name, keywords)
    generic: tuple[str, ...]
    ignore: tuple[str, ...]
    datelines: tuple[str, ...]
    words: tuple[str, ...]
    digest_title: str = ""  # the digest's headline before its period: 长株潭一体化周报
    # Latin labels of cities and topics, for a chart drawn without a CJK font.
    latin: Mapping[str, str] = field(default_factory=dict)
    outside: tuple[str, ...] = ()
    # Words that say an article is about the region's integration (web-source filter).
    integration_strong: tuple[str, ...] = ()
    integration_weak: tuple[str, ...] = ()

    @property
    def city_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.cities)

    @property
    def topic_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.topics)

    def places(self) -> Places:
        """Where figures belong: the region's names (cities, aliases, generic) and others."""
        inside = (*self.generic, *(a for name, aliases in self.cities for a in (name, *aliases)))
        return Places(inside=inside, outside=self.outside)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "taxonomy") -> Taxonomy:
        try:
            cities = tuple(
                (fold(c["name"]), tuple(fold(a) for a in c["aliases"])) for c in data["cities"]
            )
            topics = tuple(
                (fold(t["name"]), tuple(fold(k) for k in t["keywords"])) for t in data["topics"]
            )
            integration = data.get("integration", {})
            taxonomy = cls(
                region=str(data.get("region", "")),
                cities=cities,
                topics=topics,
                generic=tuple(fold(g) for g in data.get("generic", ())),
                ignore=tuple(fold(g) for g in data.get("ignore", ())),
                datelines=tuple(data.get("datelines", ())),
                words=tuple(data.get("dictionary", {}).get("words", ())),
                digest_title=str(data.get("digest_title") or f"{data.get('region', '')}一体化周报"),
                latin={
                    fold(item["name"]): str(item["latin"])
                    for item in (*data["cities"], *data["topics"])
                    if item.get("latin")
                },
                outside=tuple(fold(o) for o in data.get("outside", ())),
                integration_strong=tuple(fold(t) for t in integration.get("strong", ())),
                integration_weak=tuple(fold(t) for t in integration.get("weak", ())),
            )
            for pattern in taxonomy.datelines:
                re.compile(pattern)
        except (KeyError, TypeError, re.error) as e:
            raise ConfigError(f"invalid taxonomy {source}: {e.__class__.__name__}: {e}") from e
        if not cities or not topics:
            raise ConfigError(f"invalid taxonomy {source}: needs cities and topics")
        return taxonomy


_SENTENCE = re.compile(rf"[{SENTENCE_ENDS}\n]+")
_MIN_SENTENCE = 6  # shorter pieces are headings, bylines and menu items
_LEAD_SENTENCES = 2
_TITLE_WEIGHT = 2.0
_LEAD_WEIGHT = 1.0
_SHARE_WEIGHT = 10.0
_MIN_TOPIC_SCORE = 1.0
_RELATIVE_TOPIC_SCORE = 0.65


class Tagger:
    """Tags folded text with cities and topics."""

    def __init__(self, taxonomy: Taxonomy) -> None:
        self.taxonomy = taxonomy
        self._datelines = [re.compile(p, re.MULTILINE) for p in taxonomy.datelines]
        # Longest first so "长沙晚报" is removed before "长沙" could be seen inside it.
        masks = sorted({*taxonomy.ignore, *taxonomy.generic}, key=len, reverse=True)
        self._mask = re.compile("|".join(re.escape(m) for m in masks)) if masks else None
        # Topic keywords, longest first: 轨道交通装备 (产业) is read whole and does not
        # also count as 轨道 (交通).
        self._topic_of: dict[str, set[str]] = {}
        for name, keywords in taxonomy.topics:
            for keyword in keywords:
                self._topic_of.setdefault(keyword, set()).add(name)
        ordered = sorted(self._topic_of, key=len, reverse=True)
        self._keywords = re.compile("|".join(re.escape(k) for k in ordered)) if ordered else None

    def _topics_in(self, text: str) -> set[str]:
        if self._keywords is None:
            return set()
        return {name for k in self._keywords.findall(text) for name in self._topic_of[k]}

    def _strip(self, text: str) -> str:
        for pattern in self._datelines:
            text = pattern.sub(" ", text)
        if self._mask is not None:
            text = self._mask.sub(" ", text)
        return text

    def cities(self, title: str, body: str) -> tuple[str, ...]:
        """Cities the text is about, in taxonomy order."""
        text = self._strip(title + "\n" + body)
        return tuple(
            name for name, aliases in self.taxonomy.cities if any(a in text for a in aliases)
        )

    def topics(self, title: str, body: str) -> tuple[str, ...]:
        """The main themes, in taxonomy order: topics scoring near the best one.

        A topic's score weights where its keywords occur: the title (2), the lead, its
        first two sentences (1), and the share of sentences naming it (10 × share). A
        topic is tagged when it scores at least 1 and at least 0.65 of the best topic, so
        a passing mention of 交通 in an article about investment does not tag it.
        """
        sentences = [s for s in _SENTENCE.split(body) if len(s) >= _MIN_SENTENCE] or [title]
        in_title = self._topics_in(title)
        in_lead = self._topics_in(" ".join(sentences[:_LEAD_SENTENCES]))
        per_sentence = [self._topics_in(s) for s in sentences]
        scores: list[tuple[str, float]] = []
        for name, _ in self.taxonomy.topics:
            share = sum(1 for found in per_sentence if name in found) / len(sentences)
            score = (
                _TITLE_WEIGHT * (name in in_title)
                + _LEAD_WEIGHT * (name in in_lead)
                + _SHARE_WEIGHT * share
            )
            scores.append((name, score))
        best = max((score for _, score in scores), default=0.0)
        floor = max(_MIN_TOPIC_SCORE, _RELATIVE_TOPIC_SCORE * best)
        return tuple(name for name, score in scores if score >= floor)

    def resolve(self, words: Iterable[str]) -> tuple[list[str], list[str], list[str]]:
        """Split user words into (cities, topics, unknown), accepting aliases of cities."""
        cities: list[str] = []
        topics: list[str] = []
        unknown: list[str] = []
        for raw in words:
            w = fold(raw.strip())
            if not w:
                continue
            city = next(
                (n for n, aliases in self.taxonomy.cities if w in (n, n + "市") or w in aliases),
                None,
            )
            topic = next((n for n in self.taxonomy.topic_names if w == n), None)
            if city:
                cities.append(city)
            elif topic:
                topics.append(topic)
            else:
                unknown.append(raw)
        return cities, topics, unknown

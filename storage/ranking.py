"""Relevance blended with recency: how a search orders the stories it found.

Pure: values in, a score out, ``now`` passed in. ``storage.search`` gathers the
candidates (every article whose title or lead holds the query, newest ``HEAD_CANDIDATES``
first, plus the newest ``BODY_CANDIDATES`` body matches) and this module scores them.

An article's relevance sums, for each query term,

- ``title`` when the term is in the title, ``lead`` when it is in the lead (the opening of
  the running text, ``fts.lead``), and
- ``body`` times a saturating count of the term in the text, ``tf / (tf + K1 * norm)``
  (BM25's term-frequency curve, with ``norm`` growing with the text's length, so a long
  report that names the term once does not beat a short one about it),

divided by the number of terms, plus

- ``proximity`` for several terms, scaled by how close together they occur (the smallest
  window of the text that holds them all: full within ``NEAR_CHARS``, falling off after),
- ``city`` / ``topic`` when the query names a city or topic (``Tagger``'s reading of the
  query text) that the story is tagged with: a filter-like boost, not only text,
- ``sources`` times the log of the number of outlets carrying the story (a static,
  per-story weight).

The blend multiplies relevance by ``1 + recency * 2 ** (-age / half_life)``: a story
published now counts ``1 + recency`` times (1.25), one a half-life old ``1 + recency / 2``, an
old one 1. Among equally relevant stories the newer comes first; a story about the query
beats a newer one that mentions it in passing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from storage import fts

HEAD_CANDIDATES = 600
BODY_CANDIDATES = 150
K1 = 1.2
B = 0.5
AVERAGE_CHARS = 1000
NEAR_CHARS = 12
SUBJECT_BIGRAMS = 6  # a hit sentence sharing this many of the title's bigrams is on subject
DAY = 86400


@dataclass(frozen=True)
class Weights:
    title: float = 3.0
    lead: float = 1.5
    body: float = 3.0
    subject: float = 2.0
    proximity: float = 2.0
    city: float = 1.5
    topic: float = 1.0
    sources: float = 0.3
    recency: float = 0.25
    half_life_days: float = 90.0


@dataclass(frozen=True)
class Candidate:
    """One matching article with what the score reads of its story."""

    article_id: int
    story_id: int
    published: int
    folded: str  # title line, then the body
    cities: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    source_count: int = 1


def relevance(
    terms: Sequence[str],
    cand: Candidate,
    weights: Weights,
    query_cities: Sequence[str] = (),
    query_topics: Sequence[str] = (),
) -> float:
    """How much ``cand`` is about ``terms`` (higher is more), recency left out."""
    title, _, body = cand.folded.partition("\n")
    opening = fts.lead(body)
    norm = 1 - B + B * len(body) / AVERAGE_CHARS
    parts = [body[s:e] for s, e in fts.sentences(body)]
    subject = _bigrams(title)
    text = 0.0
    for term in terms:
        holding = [p for p in parts if term in p]
        sf = len(holding)  # sentences, not occurrences: one sentence saying it twice is one
        text += weights.title * (term in title) + weights.lead * (term in opening)
        text += weights.body * sf / (sf + K1 * norm) if sf else 0.0
        if subject and holding and term not in title:
            own = _bigrams(term)
            overlap = max(len((_bigrams(p) - own) & subject) for p in holding)
            text += weights.subject * min(1.0, overlap / min(len(subject), SUBJECT_BIGRAMS))
    score = text / max(1, len(terms))
    if len(terms) > 1:
        window = nearest_window(cand.folded, terms)
        if window is not None:
            score += weights.proximity * min(1.0, NEAR_CHARS / max(1, window))
    if set(query_cities) & set(cand.cities):
        score += weights.city
    if set(query_topics) & set(cand.topics):
        score += weights.topic
    return score + weights.sources * math.log(max(1, cand.source_count))


def _bigrams(text: str) -> set[str]:
    return {text[i : i + 2] for i in range(len(text) - 1) if text[i : i + 2].isalnum()}


def blend(relevance_score: float, published: int, now: int, weights: Weights) -> float:
    """Relevance times the recency factor (see the module docstring)."""
    age_days = max(0, now - published) / DAY
    decay = 2.0 ** (-age_days / weights.half_life_days) if weights.half_life_days > 0 else 0.0
    return relevance_score * (1 + weights.recency * decay)


def nearest_window(text: str, terms: Sequence[str]) -> int | None:
    """Length of the shortest stretch of ``text`` holding every term, or None."""
    hits: list[tuple[int, int, int]] = []  # (start, end, term index)
    for i, term in enumerate(terms):
        pos = text.find(term)
        while pos >= 0:
            hits.append((pos, pos + len(term), i))
            pos = text.find(term, pos + 1)
    if len({h[2] for h in hits}) < len(terms):
        return None
    hits.sort()
    need = len(terms)
    count: dict[int, int] = {}
    best: int | None = None
    left = 0
    for _, end, index in hits:
        count[index] = count.get(index, 0) + 1
        while len(count) == need:
            span = max(end, hits[left][1]) - hits[left][0]
            best = span if best is None else min(best, span)
            lt = hits[left][2]
            count[lt] -= 1
            if not count[lt]:
                del count[lt]
            left += 1
    return best


def order(
    terms: Sequence[str],
    candidates: Sequence[Candidate],
    now: int,
    weights: Weights,
    query_cities: Sequence[str] = (),
    query_topics: Sequence[str] = (),
) -> list[tuple[int, int]]:
    """(story id, best article id) of every candidate's story, best blended score first;
    ties go to the newer story."""
    best: dict[int, tuple[float, int, int]] = {}  # story -> (score, published, article)
    for cand in candidates:
        score = blend(
            relevance(terms, cand, weights, query_cities, query_topics),
            cand.published,
            now,
            weights,
        )
        held = best.get(cand.story_id)
        if held is None or score > held[0]:
            best[cand.story_id] = (score, cand.published, cand.article_id)
    ranked = sorted(best.items(), key=lambda kv: (-kv[1][0], -kv[1][1], -kv[0]))
    return [(story, article) for story, (_, _, article) in ranked]

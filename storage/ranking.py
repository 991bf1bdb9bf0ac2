"""Relevance blended with recency: how a search orders the stories it found.

Pure: values in, a score out, ``now`` passed in. ``storage.search`` gathers the
candidates (the articles about the query: its words in their title, their lead or the
words they repeat, ``fts.about``, newest ``HEAD_CANDIDATES`` first; plus the newest
``BODY_CANDIDATES`` body matches) and this module scores them.

An article's relevance sums, for each query term,

- ``title`` when the term is in the title, ``lead`` when it is in the lead (the opening of
  the running text, ``fts.lead``), and
- ``body`` times a saturating count of the term in the text, ``tf / (tf + K1 * norm)``
  (BM25's term-frequency curve, with ``norm`` growing with the text's length, so a long
  report that names the term once does not beat a short one about it),

divided by the number of terms, plus

- ``context`` times the thread of the sentence that holds a term (the best of the first
  ``CONTEXT_SENTENCES``): the share of its character pairs that occur in other sentences
  of the article, read at ingest (``fts.profile``): a sentence in the thread of the
  article scores up to 1, one dropped into an article on something else (a passing
  mention) near 0,
- ``proximity`` for several terms, scaled by how close together they occur (the smallest
  window of the text that holds them all: full within ``NEAR_CHARS``, falling off after),
- ``city`` / ``topic`` when the query names a city or topic (``Tagger``'s reading of the
  query text) that the story is tagged with: a filter-like boost, not only text,
- ``sources`` times the log of the number of outlets carrying the story (a static,
  per-story weight).

Each part is weighted by ``Weights``. The blend multiplies relevance by
``1 + recency * 2 ** (-age / half_life)``: a story published now counts ``1 + recency``
times (1.25), one a half-life old ``1 + recency / 2``, an old one 1. Among equally
relevant stories the newer comes first; a story about the query beats a newer one that
mentions it in passing.
"""

from __future__ import annotations

import bisect
import heapq
import json
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from storage import fts

HEAD_CANDIDATES = 200
BODY_CANDIDATES = 100
EXACT_BUDGET = 64  # candidates scored in full per query, at most
K1 = 1.2
B = 0.25  # how much a longer text's count is discounted: little, a report is long
AVERAGE_CHARS = 1000
NEAR_CHARS = 12
CONTEXT_SENTENCES = 3  # hit sentences read for ``context``
SUBJECT_BIGRAMS = 6  # a hit sentence sharing this many of the title's bigrams is on subject
DAY = 86400
_ENDS = "。！？!?；;\n"  # what ends a sentence (as ``fts.sentences`` splits)
_SENTENCE_END = re.compile(f"[{_ENDS}]+")


@dataclass(frozen=True)
class Weights:
    title: float = 3.0
    lead: float = 1.5
    body: float = 3.0
    subject: float = 1.5
    context: float = 3.0
    proximity: float = 2.0
    city: float = 1.5
    topic: float = 1.0
    sources: float = 0.3
    recency: float = 0.25
    half_life_days: float = 90.0


@dataclass(frozen=True)
class Candidate:
    """One matching article with what the score reads of its story (tags as stored JSON,
    decoded only for the few candidates scored in full)."""

    article_id: int
    story_id: int
    published: int
    folded: str  # title line, then the body
    cities_json: str = "[]"
    topics_json: str = "[]"
    source_count: int = 1
    threads_json: str = ""  # ``fts.Profile.threads_json``; empty: computed from the text


@dataclass(frozen=True)
class Query:
    """The query as the score reads it: folded terms and the cities and topics it names."""

    terms: tuple[str, ...]
    cities: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()


Common = tuple[str, str, str, float, float]


def _common(q: Query, cand: Candidate, weights: Weights) -> Common:
    """(title, body, lead, length norm, the score's static part: sources and context)."""
    title, _, body = cand.folded.partition("\n")
    norm = 1 - B + B * len(body) / AVERAGE_CHARS
    static = weights.sources * math.log(max(1, cand.source_count))
    static += weights.context * context(cand, q.terms, len(title) + 1)
    return title, body, fts.lead(body), norm, static


def context(cand: Candidate, terms: Sequence[str], start: int) -> float:
    """The best thread (0 to 1) of the first ``CONTEXT_SENTENCES`` sentences from
    ``start`` on that hold a term."""
    if cand.threads_json:
        flat = json.loads(cand.threads_json)
    else:
        flat = [v for pair in fts.profile(cand.folded).threads for v in pair]
    ends, threads = flat[0::2], flat[1::2]
    best = 0
    for term in terms:
        pos = cand.folded.find(term, start)
        for _ in range(CONTEXT_SENTENCES):
            k = bisect.bisect_right(ends, pos)
            if pos < 0 or k >= len(ends):
                break
            best = max(best, threads[k])
            pos = cand.folded.find(term, ends[k])
    return best / 100


def upper_bound(q: Query, cand: Candidate, weights: Weights, common: Common | None = None) -> float:
    """A cheap bound that ``relevance`` never exceeds: occurrences for sentences, every
    optional part (subject, proximity, tags) at its maximum."""
    title, body, opening, norm, static = common or _common(q, cand, weights)
    text = 0.0
    for term in q.terms:
        tf = body.count(term)
        text += weights.title * (term in title) + weights.lead * (term in opening)
        text += weights.body * tf / (tf + K1 * norm) if tf else 0.0
        text += weights.subject if tf and term not in title else 0.0
    score = text / max(1, len(q.terms)) + static
    score += weights.proximity if len(q.terms) > 1 else 0.0
    score += weights.city if q.cities else 0.0
    return score + (weights.topic if q.topics else 0.0)


def relevance(q: Query, cand: Candidate, weights: Weights, common: Common | None = None) -> float:
    """How much ``cand`` is about the query (higher is more), recency left out."""
    title, body, opening, norm, static = common or _common(q, cand, weights)
    subject = _bigrams(title)
    text = 0.0
    for term in q.terms:
        holding = _holding(body, term)
        sf = len(holding)  # sentences, not occurrences: one sentence saying it twice is one
        text += weights.title * (term in title) + weights.lead * (term in opening)
        text += weights.body * sf / (sf + K1 * norm) if sf else 0.0
        if subject and holding and term not in title:
            others = [b for b in subject if b not in term]
            overlap = max(sum(b in p for b in others) for p in holding)
            text += weights.subject * min(1.0, overlap / min(len(subject), SUBJECT_BIGRAMS))
    score = text / max(1, len(q.terms)) + static
    if len(q.terms) > 1:
        window = nearest_window(cand.folded, q.terms)
        if window is not None:
            score += weights.proximity * min(1.0, NEAR_CHARS / max(1, window))
    if q.cities and set(q.cities) & set(json.loads(cand.cities_json)):
        score += weights.city
    if q.topics and set(q.topics) & set(json.loads(cand.topics_json)):
        score += weights.topic
    return score


def _holding(text: str, term: str) -> list[str]:
    """The sentences of ``text`` that hold ``term``, each once."""
    out: list[str] = []
    end = -1
    pos = text.find(term)
    while pos >= 0:
        if pos >= end:
            start = max(text.rfind(mark, 0, pos) for mark in _ENDS) + 1
            found = _SENTENCE_END.search(text, pos + len(term))
            end = found.end() if found else len(text)
            out.append(text[start:end])
        pos = text.find(term, pos + len(term))
    return out


def _bigrams(text: str) -> list[str]:
    return list(
        dict.fromkeys(text[i : i + 2] for i in range(len(text) - 1) if text[i : i + 2].isalnum())
    )


def recency(published: int, now: int, weights: Weights) -> float:
    """The factor relevance is multiplied by (see the module docstring)."""
    age_days = max(0, now - published) / DAY
    decay = 2.0 ** (-age_days / weights.half_life_days) if weights.half_life_days > 0 else 0.0
    return 1 + weights.recency * decay


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
    q: Query,
    candidates: Sequence[Candidate],
    now: int,
    weights: Weights,
    budget: int | None = None,
) -> Iterator[tuple[int, int]]:
    """(story id, best article id) of the candidates' stories, best blended score first
    (ties: the newer story first), lazily.

    The threshold algorithm: candidates are taken in order of their upper bound and
    scored in full only while the bound could still beat the best scored one, so a page
    of ten usually scores a few dozen of several hundred candidates; the order is exactly
    the order of the full scores. At most ``budget`` (default ``EXACT_BUDGET``) are
    scored in full, which bounds the cost of any query: the rest then follow in the
    order of their bounds, after every scored one.
    """
    budget = EXACT_BUDGET if budget is None else budget
    commons = [_common(q, c, weights) for c in candidates]  # read once, used twice
    bounds = sorted(
        ((upper_bound(q, c, weights, commons[i]) * recency(c.published, now, weights), i)
         for i, c in enumerate(candidates)),
        reverse=True,
    )  # fmt: skip
    heap: list[tuple[float, int, int, int]] = []  # (-score, -published, -story, article)
    shown: set[int] = set()
    scored = 0
    while scored < len(bounds) or heap:
        while scored < min(budget, len(bounds)) and (not heap or bounds[scored][0] >= -heap[0][0]):
            i = bounds[scored][1]
            cand = candidates[i]
            score = relevance(q, cand, weights, commons[i]) * recency(cand.published, now, weights)
            heapq.heappush(heap, (-score, -cand.published, -cand.story_id, cand.article_id))
            scored += 1
        if not heap:  # the budget is spent: the rest in the order of their bounds
            for _, i in bounds[scored:]:
                story = candidates[i].story_id
                if story not in shown:
                    shown.add(story)
                    yield story, candidates[i].article_id
            return
        _, _, story, article = heapq.heappop(heap)
        if -story not in shown:  # a story's first appearance is its best article
            shown.add(-story)
            yield -story, article

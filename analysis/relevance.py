"""Is a web-source article about the integration? A documented score. Pure.

A column page lists all of a city's news; only integration news is kept. The score uses
the taxonomy's integration terms (``[integration] strong`` and ``weak``) and the city tags:

    title   a strong term                          +3
            a weak term (no strong one)            +1
            two or more cities                     +2
            one city                               +1
    body    (at most +2 in all; +3 under a headline shorter than ``INFORMATIVE``)
            a strong term                          +1
            three strong mentions, or two strong   +1
            two or more cities and a weak term     +1

An article is kept at ``THRESHOLD`` (3). Under a headline of ``INFORMATIVE`` (8) or more
characters the body can add at most 2, so such a title that scores 0 (no term, no city)
can never pass: it is skipped before its page is fetched. A news headline that long names
its subject; a short one (features: "答卷", "芙蓉花开") or none says nothing about it, so
there the body alone can carry the article and the page is always read.
A keyword filter (``filter = ["融城", ...]``) keeps an article whose title or text holds
one of the keywords; ``filter = "none"`` keeps everything.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from analysis.taxonomy import Tagger
from analysis.text import fold

THRESHOLD = 3
BODY_MAX = 2  # under an informative headline
INFORMATIVE = 8  # characters of headline from which it is taken to name its subject
INTEGRATION = "integration"
NONE = "none"


@dataclass(frozen=True)
class Verdict:
    kept: bool
    score: int
    reason: str  # the terms and cities that counted, for `sources check`


class Relevance:
    """Scores titles and texts for one filter: integration, none, or a keyword list."""

    def __init__(self, tagger: Tagger, filter_: Sequence[str] = (INTEGRATION,)) -> None:
        self.tagger = tagger
        self.filter = tuple(filter_) or (INTEGRATION,)
        taxonomy = tagger.taxonomy
        self.strong = taxonomy.integration_strong
        self.weak = taxonomy.integration_weak
        self.keywords = tuple(fold(k) for k in self.filter)

    @property
    def mode(self) -> str:
        if self.filter in ((INTEGRATION,), (NONE,)):
            return self.filter[0]
        return "keywords"

    def title_could_pass(self, title: str) -> bool:
        """False only when no text could make the article pass: it need not be fetched."""
        if self.mode != INTEGRATION:
            return True
        return self._title_score(fold(title))[0] + _body_max(title) >= THRESHOLD

    def title_verdict(self, title: str) -> str:
        """pass: the title alone keeps it; skip: nothing could; read: the text decides."""
        if self.judge(title, "").kept:
            return "pass"
        return "read" if self.title_could_pass(title) else "skip"

    def judge(self, title: str, text: str) -> Verdict:
        if self.mode == NONE:
            return Verdict(True, 0, "filter none")
        t, b = fold(title), fold(text)
        if self.mode == "keywords":
            hits = [k for k in self.keywords if k in t or k in b]
            return Verdict(bool(hits), len(hits), "、".join(hits) or "no keyword")
        title_score, title_why = self._title_score(t)
        body_score, body_why = self._body_score(b, _body_max(title))
        score = title_score + body_score
        return Verdict(score >= THRESHOLD, score, "; ".join(x for x in (title_why, body_why) if x))

    def _title_score(self, title: str) -> tuple[int, str]:
        score = 0
        strong = [w for w in self.strong if w in title]
        weak = [w for w in self.weak if w in title]
        if strong:
            score += 3
        elif weak:
            score += 1
        cities = self.tagger.cities(title, "")
        score += 2 if len(cities) >= 2 else len(cities)
        why = "title " + "、".join([*strong, *weak, *cities]) if score else ""
        return score, why

    def _body_score(self, body: str, cap: int) -> tuple[int, str]:
        strong = [w for w in self.strong if w in body]
        mentions = sum(body.count(w) for w in strong)
        weak = any(w in body for w in self.weak)
        cities = self.tagger.cities("", body)
        score = (1 if strong else 0) + (1 if mentions >= 3 or len(strong) >= 2 else 0)
        score += 1 if len(cities) >= 2 and weak else 0
        score = min(score, cap)
        why = f"body {'、'.join(strong[:4])} ×{mentions} cities {len(cities)}" if score else ""
        return score, why


def _body_max(title: str) -> int:
    return BODY_MAX if len("".join(title.split())) >= INFORMATIVE else BODY_MAX + 1

"""A seeded generator of Chinese integration news, with planted reposts as ground truth.

Articles are about 1 KB of UTF-8 text: a title and five or six paragraphs built from our
own sentence templates, filled with the taxonomy's cities, aliases and topic keywords,
organisations, project names, dates and key figures (任务 done of planned, 签约金额, counts,
rates). One article in ten (by default) is a repost of a recent story by another outlet:
a new title with a new dateline and lead sentence, a copy with two sentences dropped, or
the story in traditional script (half the header and script reposts also lose a sentence).
One in fifty is a follow-up: a new article on the same project (same places, organisation
and names, new sentences), a near miss that must not merge.

The same seed and size always give the same articles. ``write_rss`` writes them as RSS 2.0
feeds of 1,000 items for the ingest bench; ``fill_database`` stores them through the real
``Articles.upsert`` for the search and dedup benches.
"""

from __future__ import annotations

import email.utils
import functools
import html
import random
import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

from analysis.pipeline import Analysis, Analyzer
from analysis.taxonomy import Taxonomy
from app.config import DEFAULT_TAXONOMY, load_taxonomy
from bench.vocabulary import (
    ADVERBS,
    CLOSINGS,
    FIGURES,
    GENERAL,
    GOALS,
    LEADS,
    MEETINGS,
    OBJECTS,
    ORGS,
    PROJECT_HEADS,
    RARE_PHRASE,
    RARE_SENTENCE,
    REPORTERS,
    REPOST_LEADS,
    TITLE_VERBS,
    TITLES,
    TOPIC_SENTENCES,
    VERBS,
)
from feeds.parse import Entry
from storage import Storage

BASE_TIME = 1640995200  # 2022-01-01 00:00 UTC
REPOST_SHARE = 0.10
FOLLOW_UP_SHARE = 0.02
RECENT_POOL = 400  # reposts pick among the last few hundred originals (a few days)
REPOST_KINDS = ("header", "dropped", "traditional")
RARE_SHARE = 0.004
ABSENT_WORD = "潭州大桥"  # common characters, never generated together: no hits

OUTLETS: tuple[tuple[str, str], ...] = (
    ("湘江观察网", "xjgc"),
    ("星城融媒", "xcrm"),
    ("株洲在线新闻", "zzzx"),
    ("莲城资讯", "lczx"),
    ("都市圈快讯", "dsqk"),
    ("三湘政务", "sxzw"),
    ("湘中经济报道", "xzjj"),
    ("长株潭发布", "cztfb"),
    ("湖湘科创周刊", "hxkc"),
    ("潇湘交通", "xxjt"),
)


@dataclass(frozen=True)
class Article:
    """One generated article; ``story`` is the index of the original it reports."""

    index: int
    guid: str
    link: str
    outlet: int
    title: str
    body: str  # plain text, paragraphs separated by "\n"
    published: int
    story: int
    kind: str  # "original", "follow-up", or one of REPOST_KINDS

    def html(self) -> str:
        """The body as feed HTML: one ``<p>`` per paragraph."""
        return "".join(f"<p>{html.escape(p, quote=False)}</p>" for p in self.body.split("\n"))


@dataclass
class Corpus:
    articles: list[Article]
    reposts: list[tuple[int, int]] = field(default_factory=list)  # (original, repost)
    follow_ups: list[tuple[int, int]] = field(default_factory=list)  # (original, follow-up)


# ---------------------------------------------------------------- vocabulary


_SLOT = re.compile(r"\{(\w+)\}")


@dataclass
class _Context:
    """What stays the same within one story: its places, organisation, project, topic."""

    topic: str
    city: str
    city2: str
    place: str
    place2: str
    org: str
    project: str
    keywords: tuple[str, ...]
    year: int
    month: int
    day: int


def _number_slots() -> dict[str, Callable[[random.Random, _Context], str]]:
    return {
        "total": lambda r, c: str(r.randint(40, 120)),
        "done": lambda r, c: str(r.randint(20, 39)),
        "n": lambda r, c: str(r.randint(3, 60)),
        "n2": lambda r, c: str(r.randint(2, 30)),
        "count": lambda r, c: str(r.choice((r.randint(100, 9999), r.randint(1, 9) * 10000))),
        "money": lambda r, c: f"{r.randint(2, 800)}.{r.randint(0, 9)}",
        "pct": lambda r, c: f"{r.randint(50, 99)}.{r.randint(0, 9)}",
        "small": lambda r, c: str(r.randint(2, 9)),
        "km": lambda r, c: f"{r.randint(3, 80)}.{r.randint(1, 9)}",
        "year": lambda r, c: str(c.year + r.randint(1, 3)),
        "month": lambda r, c: str(c.month),
        "day": lambda r, c: str(c.day),
        "date": lambda r, c: f"{c.month}月{c.day}日",
    }


def _word_slots() -> dict[str, Callable[[random.Random, _Context], str]]:
    return {
        "city": lambda r, c: c.city,
        "city2": lambda r, c: c.city2,
        "place": lambda r, c: c.place,
        "place2": lambda r, c: c.place2,
        "org": lambda r, c: c.org,
        "project": lambda r, c: c.project,
        "kw": lambda r, c: r.choice(c.keywords),
        "kw2": lambda r, c: r.choice(c.keywords),
        "adv": lambda r, c: r.choice(ADVERBS),
        "verb": lambda r, c: r.choice(VERBS),
        "obj": lambda r, c: r.choice(OBJECTS),
        "goal": lambda r, c: r.choice(GOALS),
        "meeting": lambda r, c: r.choice(MEETINGS),
        "title_verb": lambda r, c: r.choice(TITLE_VERBS),
        "reporter": lambda r, c: r.choice(REPORTERS),
        "reporter2": lambda r, c: r.choice(REPORTERS),
        "outlet": lambda r, c: r.choice(OUTLETS)[0][:4],
    }


_SLOTS = {**_number_slots(), **_word_slots()}


def _fill(template: str, rng: random.Random, ctx: _Context) -> str:
    return _SLOT.sub(lambda m: _SLOTS[m.group(1)](rng, ctx), template)


@functools.cache
def _s2t() -> Callable[[str], str]:
    from opencc import OpenCC

    return OpenCC("s2t").convert


# ---------------------------------------------------------------- the generator


class Generator:
    """Deterministic per seed: ``articles(n)`` yields the same articles every time."""

    def __init__(self, seed: int = 1, taxonomy: Taxonomy | None = None) -> None:
        self.seed = seed
        tax = taxonomy or load_taxonomy(DEFAULT_TAXONOMY)
        self.cities = tax.cities
        self.topics = tuple(
            (name, tuple(k for k in keywords if k != RARE_PHRASE and len(k) >= 2))
            for name, keywords in tax.topics
        )
        self.reposts: list[tuple[int, int]] = []
        self.follow_ups: list[tuple[int, int]] = []

    def _context(self, rng: random.Random, published: int) -> _Context:
        (city, aliases), (city2, aliases2) = rng.sample(self.cities, 2)
        # 湘潭 in a large share of articles: it is the searched-for common word.
        if rng.random() < 0.25 and city != "湘潭":
            city2, aliases2 = next(c for c in self.cities if c[0] == "湘潭")
            if city2 == city:
                city2, aliases2 = rng.choice([c for c in self.cities if c[0] != city])
        topic, keywords = rng.choice(self.topics)
        places = [a for a in aliases if a != city] or [city]
        month, day = _month_day(published)
        return _Context(
            topic=topic,
            city=city,
            city2=city2,
            place=rng.choice(places),
            place2=rng.choice([a for a in aliases2 if a != city2] or [city2]),
            org=city + rng.choice(ORGS).removeprefix("市"),
            project=rng.choice(PROJECT_HEADS),
            keywords=keywords,
            year=2022 + (published - BASE_TIME) // (365 * 86400),
            month=month,
            day=day,
        )

    def _paragraphs(self, rng: random.Random, ctx: _Context) -> list[list[str]]:
        sentences = [_fill(rng.choice(LEADS), rng, ctx)]
        pool = (
            rng.sample(FIGURES, 3)
            + rng.sample(TOPIC_SENTENCES[ctx.topic], 3)
            + rng.sample(GENERAL, 3)
        )
        rng.shuffle(pool)
        sentences += [_fill(t, rng, ctx) for t in pool]
        if rng.random() < RARE_SHARE:
            sentences.append(_fill(RARE_SENTENCE, rng, ctx))
        sentences.append(_fill(rng.choice(CLOSINGS), rng, ctx))
        paragraphs: list[list[str]] = []
        i = 0
        while i < len(sentences):
            size = rng.randint(1, 3)
            paragraphs.append(sentences[i : i + size])
            i += size
        return paragraphs

    def _title(self, rng: random.Random, ctx: _Context, avoid: str = "") -> str:
        for _ in range(8):
            title = _fill(rng.choice(TITLES), rng, ctx)
            if title != avoid:
                return title
        return "转载｜" + avoid

    def articles(self, n: int) -> Iterator[Article]:
        """The first ``n`` articles of this seed's stream, oldest first."""
        rng = random.Random(self.seed)
        self.reposts, self.follow_ups = [], []
        recent: deque[tuple[int, _Context, str, list[list[str]], int]] = deque(maxlen=RECENT_POOL)
        published = BASE_TIME
        for index in range(n):
            published += rng.randint(60, 900)
            outlet = rng.randrange(len(OUTLETS))
            roll = rng.random()
            if recent and roll < REPOST_SHARE:
                origin, ctx, title, paragraphs, src_outlet = rng.choice(recent)
                kind = rng.choice(REPOST_KINDS)
                outlet = rng.choice([o for o in range(len(OUTLETS)) if o != src_outlet])
                title, body = self._repost(rng, ctx, kind, title, paragraphs)
                self.reposts.append((origin, index))
            elif recent and roll < REPOST_SHARE + FOLLOW_UP_SHARE:
                origin, ctx, old_title, _, _ = rng.choice(recent)
                kind = "follow-up"
                title = self._title(rng, ctx, avoid=old_title)
                body = _join(self._paragraphs(rng, ctx))
                self.follow_ups.append((origin, index))
            else:
                ctx = self._context(rng, published)
                kind = "original"
                title = self._title(rng, ctx)
                paragraphs = self._paragraphs(rng, ctx)
                body = _join(paragraphs)
                recent.append((index, ctx, title, paragraphs, outlet))
            story = origin if kind in REPOST_KINDS else index
            code = OUTLETS[outlet][1]
            yield Article(
                index=index,
                guid=f"{code}-{index:07d}",
                link=f"https://{code}.example.cn/news/{published // 86400}/{index:07d}.html",
                outlet=outlet,
                title=title,
                body=body,
                published=published,
                story=story,
                kind=kind,
            )

    def _repost(
        self,
        rng: random.Random,
        ctx: _Context,
        kind: str,
        title: str,
        paragraphs: list[list[str]],
    ) -> tuple[str, str]:
        new_title = self._title(rng, ctx, avoid=title)
        if kind != "dropped" and rng.random() < 0.5:
            # Half the header and script reposts also lose a sentence (the text is cut).
            flat = [(i, j) for i, p in enumerate(paragraphs) for j in range(len(p))]
            i, j = rng.choice(flat[1:])
            paragraphs = [p[:j] + p[j + 1 :] if k == i else p for k, p in enumerate(paragraphs)]
            paragraphs = [p for p in paragraphs if p]
        if kind == "header":
            # A new dateline and lead sentence in place of the original lead.
            lead = _fill(rng.choice(REPOST_LEADS), rng, ctx)
            body = [[lead, *paragraphs[0][1:]], *paragraphs[1:]]
            return new_title, _join([p for p in body if p])
        if kind == "dropped":
            flat = [(i, j) for i, p in enumerate(paragraphs) for j in range(len(p))]
            drop = set(rng.sample(flat[1:], min(2, len(flat) - 1)))
            kept = [
                [s for j, s in enumerate(p) if (i, j) not in drop] for i, p in enumerate(paragraphs)
            ]
            return new_title, _join([p for p in kept if p])
        convert = _s2t()
        return convert(title), convert(_join(paragraphs))

    def corpus(self, n: int) -> Corpus:
        """All ``n`` articles in memory, with the ground truth."""
        articles = list(self.articles(n))
        return Corpus(articles, list(self.reposts), list(self.follow_ups))


def generate(n: int, seed: int = 1) -> Corpus:
    """``n`` articles of seed ``seed`` and their planted reposts."""
    return Generator(seed).corpus(n)


def _join(paragraphs: Sequence[Sequence[str]]) -> str:
    return "\n".join("".join(p) for p in paragraphs)


def _month_day(ts: int) -> tuple[int, int]:
    import time

    t = time.gmtime(ts)
    return t.tm_mon, t.tm_mday


# ---------------------------------------------------------------- outputs


def write_rss(articles: Sequence[Article], directory: Path, per_feed: int = 1000) -> list[Path]:
    """RSS 2.0 files of at most ``per_feed`` items each, in order; returns their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for number, start in enumerate(range(0, len(articles), per_feed)):
        chunk = articles[start : start + per_feed]
        items = "".join(
            "<item>"
            f"<title>{escape(a.title)}</title>"
            f"<link>{escape(a.link)}</link>"
            f'<guid isPermaLink="false">{a.guid}</guid>'
            f"<pubDate>{email.utils.formatdate(a.published, usegmt=True)}</pubDate>"
            f"<description>{escape(a.html())}</description>"
            "</item>\n"
            for a in chunk
        )
        doc = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
            f"<title>长株潭基准测试 {number}</title><link>https://bench.example.cn/</link>"
            f"<description>generated</description>\n{items}</channel></rss>\n"
        )
        path = directory / f"feed-{number:03d}.xml"
        path.write_text(doc, encoding="utf-8")
        paths.append(path)
    return paths


def light_analysis(analyzer: Analyzer, title: str, body: str) -> Analysis:
    """``Analyzer.analyze(light=True)``: search and story merging behave as in production."""
    return analyzer.analyze(title, body, light=True)


def fill_database(
    store: Storage,
    analyzer: Analyzer,
    articles: Iterable[Article],
    *,
    now: int,
    light: bool = True,
    batch: int = 500,
    progress: Callable[[int], None] | None = None,
) -> dict[str, int]:
    """Store ``articles`` through the real ``Articles.upsert``; returns outcome counts.

    Upserts are grouped ``batch`` to a transaction (nested transactions join the outer
    one), which only saves commits: what is stored is the same as one by one.
    """
    feed_ids = {
        number: store.feeds.ensure(f"https://{code}.example.cn/rss.xml", now).id
        for number, (_, code) in enumerate(OUTLETS)
    }
    outcomes: dict[str, int] = {}
    done = 0
    for chunk in _batches(articles, batch):
        with store.db.transaction():
            for article in chunk:
                entry = Entry(
                    guid=article.guid,
                    link=article.link,
                    title=article.title,
                    content=article.body,
                    published=article.published,
                )
                if light:
                    analysis = light_analysis(analyzer, article.title, article.body)
                else:
                    analysis = analyzer.analyze(article.title, article.html())
                outcome = store.articles.upsert(feed_ids[article.outlet], entry, analysis, now)
                outcomes[outcome] = outcomes.get(outcome, 0) + 1
        done += len(chunk)
        if progress:
            progress(done)
    return outcomes


def _batches(items: Iterable[Article], size: int) -> Iterator[list[Article]]:
    chunk: list[Article] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk

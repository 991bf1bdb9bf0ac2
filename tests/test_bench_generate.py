"""The benchmark corpus generator: deterministic per seed, and its ground truth is true."""

from __future__ import annotations

from pathlib import Path

from analysis.text import fold
from bench.generate import ABSENT_WORD, REPOST_KINDS, generate, write_rss
from feeds.parse import parse_feed


def test_same_seed_same_articles() -> None:
    assert generate(300, seed=7).articles == generate(300, seed=7).articles
    assert generate(300, seed=7).articles != generate(300, seed=8).articles


def test_reports_the_reposts_it_plants() -> None:
    corpus = generate(600, seed=3)
    arts = corpus.articles
    assert corpus.reposts, "a 10% share of 600 articles plants reposts"
    planted = {repost for _, repost in corpus.reposts}
    assert planted == {a.index for a in arts if a.kind in REPOST_KINDS}
    for origin, repost in corpus.reposts:
        original, copy = arts[origin], arts[repost]
        assert original.kind == "original" and origin < repost
        assert copy.story == origin and copy.outlet != original.outlet
        assert copy.guid != original.guid and copy.link != original.link
        assert copy.title != original.title
        if copy.kind == "traditional":
            assert copy.body != original.body and fold(copy.body) != copy.body
        # Most sentences of the original survive in the repost (compared folded).
        sentences = [s for s in fold(original.body).replace("\n", "").split("。") if s]
        kept = sum(s in fold(copy.body) for s in sentences)
        assert kept >= len(sentences) - 3
    for a in arts:
        if a.kind not in REPOST_KINDS:
            assert a.story == a.index
    assert all(ABSENT_WORD not in a.title + a.body for a in arts)


def test_articles_are_about_one_kilobyte() -> None:
    sizes = [len((a.title + a.body).encode()) for a in generate(200, seed=1).articles]
    assert 700 <= sum(sizes) / len(sizes) <= 1400


def test_rss_round_trips_through_the_parser(tmp_path: Path) -> None:
    corpus = generate(120, seed=5)
    paths = write_rss(corpus.articles, tmp_path, per_feed=50)
    assert len(paths) == 3
    entries = [e for p in paths for e in parse_feed(p.read_bytes()).entries]
    assert [e.guid for e in entries] == [a.guid for a in corpus.articles]
    assert [e.published for e in entries] == [a.published for a in corpus.articles]
    assert entries[0].title == corpus.articles[0].title

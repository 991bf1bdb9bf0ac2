"""The relevance-and-recency score, and the lazy order that must equal a full sort."""

from __future__ import annotations

import itertools
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from storage import ranking
from storage.ranking import Candidate, Query, Weights

NOW = 1_800_000_000
DAY = 86400
W = Weights()

ABOUT = (
    "融城干道全线贯通\n"
    "连接两市的融城干道今天全线贯通,沿线居民出行更方便。\n"
    "据介绍,融城干道全长二十公里,设计时速六十公里。\n"
    "融城干道通车后,两地通勤时间缩短一半,融城干道沿线还将新建公园。"
)
PASSING = (
    "湘潭新建三所学校\n"
    "湘潭今年新建三所学校,新增学位四千个,秋季开学投入使用。\n"
    "其中一所位于融城干道旁,交通便利。\n"
    "教育部门表示,还将继续扩大优质教育资源供给。"
)


def cand(folded: str, *, story: int = 1, age_days: float = 0, **kw: object) -> Candidate:
    return Candidate(
        article_id=story * 10,
        story_id=story,
        published=int(NOW - age_days * DAY),
        folded=folded,
        **kw,  # type: ignore[arg-type]
    )


def test_a_story_about_the_word_beats_a_newer_passing_mention() -> None:
    q = Query(("融城干道",))
    about = cand(ABOUT, story=1, age_days=200)
    passing = cand(PASSING, story=2, age_days=0)
    assert ranking.relevance(q, about, W) > 2 * ranking.relevance(q, passing, W)
    assert [s for s, _ in ranking.order(q, [passing, about], NOW, W)] == [1, 2]


def test_equally_relevant_the_newer_first() -> None:
    q = Query(("融城干道",))
    old, new = cand(ABOUT, story=1, age_days=300), cand(ABOUT, story=2, age_days=3)
    assert [s for s, _ in ranking.order(q, [old, new], NOW, W)] == [2, 1]


def test_recency_factor_halves_its_bonus_every_half_life() -> None:
    weights = Weights(recency=0.4, half_life_days=30)
    assert ranking.recency(NOW, NOW, weights) == 1.4
    assert abs(ranking.recency(NOW - 30 * DAY, NOW, weights) - 1.2) < 1e-9
    assert abs(ranking.recency(NOW - 60 * DAY, NOW, weights) - 1.1) < 1e-9
    assert ranking.recency(NOW + DAY, NOW, weights) == 1.4  # a future date counts as now


def test_words_near_each_other_rank_higher() -> None:
    q = Query(("株洲", "清水塘"))
    near = cand("报道\n株洲清水塘老工业区完成搬迁改造,面貌一新。" + "其他内容。" * 20)
    far = cand("报道\n株洲今年经济平稳增长。" + "其他内容。" * 20 + "清水塘公园开放。", story=2)
    assert ranking.relevance(q, near, W) > ranking.relevance(q, far, W)
    assert ranking.nearest_window("株洲清水塘", ("株洲", "清水塘")) == 5
    assert ranking.nearest_window("株洲。。清水塘", ("清水塘", "株洲")) == 7
    assert ranking.nearest_window("株洲", ("株洲", "清水塘")) is None


def test_a_city_the_query_names_boosts_stories_tagged_with_it() -> None:
    text = "动态\n九华片区新建一条道路,方便市民出行。"
    tagged = cand(text, cities_json=json.dumps(["湘潭"], ensure_ascii=False))
    untagged = cand(text, story=2)
    q = Query(("九华",), cities=("湘潭",))
    assert ranking.relevance(q, tagged, W) - ranking.relevance(q, untagged, W) == W.city
    assert [s for s, _ in ranking.order(q, [untagged, tagged], NOW, W)] == [1, 2]


def test_several_sentences_count_more_than_one_sentence_repeating_a_word() -> None:
    q = Query(("绿心",))
    spread = cand("题\n绿心保护有新规。\n绿心内禁止开发。\n绿心将建步道。")
    stutter = cand("题\n绿心绿心绿心保护有新规。\n其他内容。\n其他内容。", story=2)
    assert ranking.relevance(q, spread, W) > ranking.relevance(q, stutter, W)


WORDS = ["融城", "干道", "湘潭", "九华", "绿心", "项目", "签约"]
FILLER = ["今天", "。", ",", "\n", "市民", "建设", "。\n"]


@st.composite
def candidates(draw: st.DrawFn) -> list[Candidate]:
    out = []
    for i in range(draw(st.integers(1, 25))):
        parts = draw(st.lists(st.sampled_from(WORDS + FILLER), min_size=2, max_size=60))
        title = "".join(draw(st.lists(st.sampled_from(WORDS), max_size=3)))
        cities = draw(st.sampled_from(['["湘潭"]', "[]"]))
        out.append(
            Candidate(
                article_id=i,
                story_id=draw(st.integers(1, 8)),
                published=NOW - draw(st.integers(0, 400)) * DAY,
                folded=title + "\n" + "".join(parts),
                cities_json=cities,
                source_count=draw(st.integers(1, 3)),
            )
        )
    return out


QUERIES = st.lists(st.sampled_from(WORDS), min_size=1, max_size=3, unique=True)


@settings(max_examples=100, deadline=None)
@given(candidates(), QUERIES, st.booleans())
def test_lazy_order_equals_the_full_sort(
    cands: list[Candidate], terms: list[str], city: bool
) -> None:
    q = Query(tuple(terms), cities=("湘潭",) if city else ())
    best: dict[int, tuple[float, int]] = {}
    for c in cands:
        score = ranking.relevance(q, c, W) * ranking.recency(c.published, NOW, W)
        assert ranking.upper_bound(q, c, W) >= ranking.relevance(q, c, W) - 1e-9
        if c.story_id not in best or score > best[c.story_id][0]:
            best[c.story_id] = (score, c.published)
    lazy = [s for s, _ in ranking.order(q, cands, NOW, W)]
    assert sorted(lazy) == sorted(best)
    scores = [best[s][0] for s in lazy]
    assert all(a >= b - 1e-9 for a, b in itertools.pairwise(scores))

"""Search: recall against a substring scan, filters, order, and hostile queries."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.core import Core
from domain.errors import InvalidQueryError

QUERIES = [
    "株洲",
    "绿心",
    "湘潭",
    "融城干道",
    "跨市通办",
    "融城干道 湘潭",
    "项目",
    "韶山",
    "长株潭",
    "研发",
    "5",
    "亿元",
]


@pytest.mark.parametrize("query", QUERIES)
def test_recall_equals_substring_scan(sample_core: Core, query: str) -> None:
    search = sample_core.storage.search
    expected = search.substring_scan(query)
    found = {h.story.id for h in search.search(query, limit=50).hits}
    assert found == expected


def test_simplified_query_finds_traditional_article(sample_core: Core) -> None:
    hits = sample_core.storage.search.search("长株潭一体化工作推进").hits
    assert hits and any("長株潭" in h.story.title for h in hits)
    assert sample_core.storage.search.search("跨市通辦").hits


def test_newest_first_and_relevance(sample_core: Core) -> None:
    search = sample_core.storage.search
    newest = search.search("湘潭", limit=50).hits
    dates = [h.story.published for h in newest]
    assert len(dates) > 5
    relevance = search.search("湘潭", limit=50, sort="relevance").hits
    assert {h.story.id for h in relevance} == {h.story.id for h in newest}


def test_paging_has_no_overlap(sample_core: Core) -> None:
    search = sample_core.storage.search
    first = search.search("湘潭", limit=3)
    second = search.search("湘潭", limit=3, offset=3)
    assert first.has_more
    assert not {h.story.id for h in first.hits} & {h.story.id for h in second.hits}


def test_filters(sample_core: Core) -> None:
    hits = sample_core.storage.search.search("项目", cities=["株洲"], limit=50).hits
    assert hits and all("株洲" in h.story.cities for h in hits)
    hits = sample_core.storage.search.search("项目", topics=["交通"], limit=50).hits
    assert hits and all("交通" in h.story.topics for h in hits)


def test_merged_story_shows_once_with_all_sources(sample_core: Core) -> None:
    hits = sample_core.storage.search.search("融城干道", limit=50).hits
    ids = [h.story.id for h in hits]
    assert len(ids) == len(set(ids))
    assert any(h.story.source_count == 2 and len(h.story.sources) == 2 for h in hits)


def test_run_together_words_fall_back_to_jieba(sample_core: Core) -> None:
    # Storage searches the terms it is given; splitting into words is the core's.
    assert not sample_core.storage.search.search("湘潭融城干道").hits
    page = sample_core.search("湘潭融城干道")
    assert page.hits and page.terms == ("湘潭", "融城干道")
    assert not sample_core.search("湘潭融城干道", offset=5).hits  # page one only


def test_watched_run_together_word_finds_what_search_finds(sample_core: Core) -> None:
    assert not sample_core.storage.search.story_ids("湘潭融城干道", 0, 2**40)
    found = sample_core.story_ids("湘潭融城干道", 0, 2**40)
    assert found == {h.story.id for h in sample_core.search("湘潭融城干道", limit=50).hits}


@pytest.mark.parametrize("query", ["", "   ", "，。！", "x" * 101])
def test_empty_or_long_queries_are_refused_in_chinese(sample_core: Core, query: str) -> None:
    with pytest.raises(InvalidQueryError) as err:
        sample_core.storage.search.search(query)
    assert any("\u4e00" <= ch <= "\u9fff" for ch in str(err.value))


@pytest.mark.parametrize(
    "query",
    [
        '"',
        "AND",
        "OR NOT",
        "株洲*",
        "^湘潭",
        "(绿心",
        "NEAR(a b)",
        "'; DROP TABLE articles; --",
        "a:b",
        "{x}",
    ],
)
def test_fts_syntax_and_sql_fragments_are_answered(sample_core: Core, query: str) -> None:
    try:
        sample_core.storage.search.search(query)
    except InvalidQueryError as e:  # refused cleanly, in Chinese
        assert "关键词" in str(e)
    assert sample_core.storage.articles.counts()["articles"] == 21


@settings(
    max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None
)
@given(st.text(max_size=120))
def test_search_never_raises_on_arbitrary_text(sample_core: Core, text: str) -> None:
    try:
        page = sample_core.storage.search.search(text)
    except InvalidQueryError:
        return
    assert len(page.hits) <= 10


ALPHABET = "湘潭株洲长沙融城干道绿心跨市通办，。、 5Gg幹"


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(st.text(alphabet=ALPHABET, min_size=5, max_size=60), min_size=5, max_size=25),
    st.lists(st.text(alphabet=ALPHABET, min_size=1, max_size=4), min_size=1, max_size=6),
)
def test_recall_on_random_documents(core: Core, docs: list[str], queries: list[str]) -> None:
    from feeds.parse import Entry

    store = core.storage
    base = store.db.scalar("SELECT COUNT(*) FROM articles")
    feed = store.feeds.ensure("random-feed", 0)
    for i, doc in enumerate(docs):
        entry = Entry(
            guid=f"r{base + i}",
            link="",
            title=f"t{base + i}",
            content=doc,
            published=1_700_000_000 + base + i,
        )
        store.articles.upsert(
            feed.id, entry, core.analyzer.analyze(entry.title, doc), 1_800_000_000
        )
    for q in queries + [d[2:5] for d in docs[:3]]:
        try:
            found = {h.story.id for h in store.search.search(q, limit=50).hits}
        except InvalidQueryError:
            continue
        expected = store.search.substring_scan(q)
        if len(expected) <= 50:
            assert expected <= found  # recall 1.0 (the jieba fallback may add more)
            if expected:
                assert found == expected


def _store_texts(core: Core, texts: list[tuple[str, str, int]]) -> dict[str, int]:
    """Store (title, body, published) articles; returns story ids by title."""
    from feeds.parse import Entry

    store = core.storage
    feed = store.feeds.ensure("own-feed", 0)
    for i, (title, body, published) in enumerate(texts):
        entry = Entry(guid=f"o{i}", link=f"https://o.example.cn/{i}", title=title,
                      content=body, published=published)  # fmt: skip
        store.articles.upsert(feed.id, entry, core.analyzer.analyze(title, body), published)
    rows = store.db.execute("SELECT title, story_id FROM articles").fetchall()
    return {title: story for title, story in rows}


DAY = 86400
ABOUT_BODY = (
    "连接两市的融城干道今天全线贯通,沿线居民出行更加方便。\n"
    "据介绍,融城干道全长二十公里,双向六车道,设计时速六十公里。\n"
    "融城干道通车后,两地通勤时间缩短一半,沿线还将新建三座公园。"
)
PASSING_TOPICS = ["学校", "医院", "公园", "图书馆", "体育馆", "菜市场"]


def test_default_order_puts_the_story_about_the_query_first(core: Core, clock) -> None:
    now = int(clock())
    texts = [("融城干道全线贯通", ABOUT_BODY, now - 200 * DAY)]
    for i, place in enumerate(PASSING_TOPICS):
        body = (
            f"湘潭今年新建{i + 2}座{place},总面积{i + 3}万平方米,年底前投入使用。\n"
            f"其中一座{place}位于融城干道旁,交通便利。\n"
            f"有关部门表示,将继续完善{place}布局,满足群众需要。"
        )
        texts.append((f"湘潭新建{i + 2}座{place}", body, now - i * DAY))
    ids = _store_texts(core, texts)
    search = core.storage.search
    default = [h.story.id for h in search.search("融城干道").hits]
    assert default[0] == ids["融城干道全线贯通"]
    newest = [h.story.id for h in search.search("融城干道", sort="newest").hits]
    assert newest[0] == ids["湘潭新建2座学校"] and newest[-1] == ids["融城干道全线贯通"]
    assert set(default) == set(newest)
    snippet = search.search("融城干道").hits[0].snippet
    assert "融城干道" in snippet and "\n" not in snippet


def test_relevance_pages_reach_every_match_once(core: Core, clock, monkeypatch) -> None:
    from storage import ranking

    monkeypatch.setattr(ranking, "HEAD_CANDIDATES", 2)
    monkeypatch.setattr(ranking, "BODY_CANDIDATES", 3)
    now = int(clock())
    texts = [
        (f"绿心第{i}号公告", f"第{i}期绿心保护工作会议召开,部署第{i + 7}批任务。", now - i * DAY)
        for i in range(13)
    ]
    _store_texts(core, texts)
    search = core.storage.search
    seen: list[int] = []
    offset = 0
    while True:
        page = search.search("绿心", limit=4, offset=offset)
        seen += [h.story.id for h in page.hits]
        if not page.has_more:
            break
        offset += 4
    assert len(seen) == len(set(seen)) == 13
    assert set(seen) == search.substring_scan("绿心")


def test_unknown_sort_is_refused_in_chinese(sample_core: Core) -> None:
    with pytest.raises(InvalidQueryError) as err:
        sample_core.storage.search.search("湘潭", sort="oldest")
    assert "排序" in str(err.value)


def test_the_core_names_the_cities_and_topics_a_query_mentions(sample_core: Core) -> None:
    assert sample_core.query_names("湘潭 交通 融城幹道") == (("湘潭",), ("交通",))
    assert sample_core.query_names("株洲大道")[0] == ()  # a road, not the city
    assert sample_core.query_names("株洲市 项目")[0] == ("株洲",)
    # A district is what the reader looks for, not all of its city's stories.
    assert sample_core.query_names("九华 项目") == ((), ())
    assert sample_core.query_names("！？") == ((), ())
    # The core's search passes them on: the boost sees what the query names.
    page = sample_core.search("湘潭 融城干道")
    plain = sample_core.storage.search.search("湘潭 融城干道")
    assert [h.story.id for h in page.hits] and {h.story.id for h in page.hits} == {
        h.story.id for h in plain.hits
    }


def test_a_run_together_query_is_retried_with_the_names_of_its_words(sample_core: Core) -> None:
    from app.core import search_or_words

    asked: list[tuple[str, object]] = []

    class Watching:  # the real search, each call's text and names noted
        def search(self, text: str, **options: object):  # type: ignore[no-untyped-def]
            asked.append((text, options["named"]))
            return sample_core.storage.search.search(text, **options)  # type: ignore[arg-type]

    page = search_or_words(
        Watching(),  # type: ignore[arg-type]
        "湘潭融城干道",
        sample_core.query_words,
        sample_core.query_names,
    )
    assert page.hits and page.terms == ("湘潭", "融城干道")
    assert asked == [("湘潭融城干道", ((), ())), ("湘潭 融城干道", (("湘潭",), ()))]
    # A later page of the words ranks as page one did: the same names.
    assert sample_core.query_names(" ".join(page.terms)) == (("湘潭",), ())


def test_a_watched_phrase_is_not_split_in_a_week_without_it(core: Core) -> None:
    from feeds.parse import Entry

    feed = core.storage.feeds.ensure("watch-feed", 1000)

    def store(guid: str, text: str, seen: int) -> int:
        link = f"http://x.invalid/{guid}"
        entry = Entry(guid=guid, link=link, title=text, content=text, published=seen)
        analysis = core.analyzer.analyze(text, text)
        core.storage.articles.upsert(feed.id, entry, analysis, seen)
        return int(core.storage.db.scalar("SELECT story_id FROM articles WHERE guid = ?", (guid,)))

    with_it = store("a", "株洲至湘潭的城际快线今年年底前全线贯通运营", 1000)
    apart = store("b", "湘潭今年新开城际公交，株洲同步开通三条快线", 5000)
    assert core.story_ids("城际快线", 0, 2000) == {with_it}
    # A later week has the words only apart: a keyword that exists as written stays whole.
    assert core.story_ids("城际快线", 4000, 6000) == set()
    # A keyword found nowhere as written is read as its words.
    assert core.story_ids("湘潭城际", 4000, 6000) == {apart}

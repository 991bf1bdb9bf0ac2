"""What an article is about: the words it repeats (``fts.profile``), the candidates they
make (``heads_fts``) and the thread of the sentence a word is in (``ranking.context``)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from app.core import Core
from storage import fts, ranking
from storage.ranking import Candidate, Query, Weights
from tests.test_search import DAY, _store_texts

# Our own texts: an article that keeps returning to a bridge, and one that names it once,
# in a sentence dropped into a report on something else.
REPEATING = (
    "湘潭新建文化中心开放\n"
    "湘潭文化中心今天开放,馆内设有剧场、展厅和儿童阅读区。\n"
    "文化中心东侧的杨梅洲大桥今年完成主体工程,大桥通车后市民过江只需五分钟。\n"
    "据介绍,杨梅洲大桥与文化中心之间将修建滨江步道,文化中心周末延长开放时间。"
)
DROPPED = (
    "株洲职业院校扩大招生\n"
    "株洲八所职业院校今年扩大招生,新增汽车维修和护理专业。\n"
    "杨梅洲大桥由桥梁建设集团承建,全长一千七百米。\n"
    "院校负责人表示,新增专业将与本地企业合作开设实训课程。"
)


def test_a_word_said_in_two_sentences_is_repeated_and_one_said_once_is_not() -> None:
    words = fts.profile(REPEATING).repeats
    assert any("杨梅洲大桥" in w for w in words)
    assert any("文化中心" in w for w in words)
    assert not any("剧场" in w for w in words)  # named once
    assert not any("杨梅洲" in w for w in fts.profile(DROPPED).repeats)


def test_a_dropped_in_sentence_has_a_thin_thread() -> None:
    def thread_of(text: str) -> int:
        spans = fts.sentences(text)
        k = next(k for k, (s, e) in enumerate(spans) if "杨梅洲" in text[s:e])
        return fts.profile(text).threads[k][1]

    assert thread_of(DROPPED) == 0  # not one of its character pairs recurs
    assert thread_of(REPEATING) >= 20


@given(st.text(alphabet="湘潭株洲大桥干道融城,。\n ab12", max_size=200))
def test_profile_holds_substrings_and_one_thread_per_sentence(text: str) -> None:
    found = fts.profile(text)
    assert all(len(w) >= 2 and w in text for w in found.repeats)
    assert [end for end, _ in found.threads] == [e for _, e in fts.sentences(text)]
    assert all(0 <= t <= 100 for _, t in found.threads)


def test_the_sentence_in_the_thread_of_its_article_scores_higher() -> None:
    q = Query(("杨梅洲大桥",))
    w = Weights()
    now = 1_800_000_000
    repeating = Candidate(1, 1, now, REPEATING)
    dropped = Candidate(2, 2, now, DROPPED)
    assert ranking.context(repeating, q.terms, 0) > ranking.context(dropped, q.terms, 0) + 0.2
    assert ranking.relevance(q, repeating, w) > ranking.relevance(q, dropped, w)
    stored = Candidate(1, 1, now, REPEATING, threads_json=fts.profile(REPEATING).threads_json())
    assert ranking.relevance(q, stored, w) == ranking.relevance(q, repeating, w)


def test_an_older_story_repeating_the_word_is_found_past_the_newest_matches(
    core: Core, clock, monkeypatch
) -> None:
    """Candidates are the newest title/lead/repeated-word matches and the newest body
    matches: a story that repeats the word is one however many newer stories name it."""
    monkeypatch.setattr(ranking, "HEAD_CANDIDATES", 3)
    monkeypatch.setattr(ranking, "BODY_CANDIDATES", 3)
    now = int(clock())
    title, _, body = REPEATING.partition("\n")
    texts = [(title, body, now - 300 * DAY)]
    places = ["医院", "学校", "公园", "体育馆", "菜市场", "养老院", "图书馆", "污水厂"]
    for i, place in enumerate(places):
        texts.append(
            (
                f"株洲新建{place}进入收尾阶段",
                f"株洲第{i + 3}座{place}进入收尾阶段,预计{i + 2}月投用,新增座位{i + 5}百个。\n"
                f"项目由{place}管理方负责运营,周边道路同步改造。\n"
                f"杨梅洲大桥由桥梁建设集团承建。\n"
                f"有关部门表示,{place}投用后将方便周边{i + 4}万居民。",
                now - i * DAY,
            )
        )
    ids = _store_texts(core, texts)
    assert len(set(ids.values())) == len(texts)  # no two merged into one story
    hits = core.storage.search.search("杨梅洲大桥").hits
    assert hits[0].story.id == ids[title]
    newest = core.storage.search.search("杨梅洲大桥", sort="newest").hits
    assert newest[-1].story.id == ids[title]

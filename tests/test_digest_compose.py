"""Composing a digest: matching, the period window, grouping, order and key figures."""

from __future__ import annotations

import ast
from dataclasses import replace
from datetime import datetime
from functools import partial
from pathlib import Path
from zoneinfo import ZoneInfo

from analysis.figures import Figure
from app.config import DEFAULT_TAXONOMY, load_taxonomy
from digests import compose as composing
from digests.compose import Digest, DigestSection, story_figures
from domain.models import Story, Subscription

REGION = load_taxonomy(DEFAULT_TAXONOMY)
# Digests as the application composes them: in the region's orders, under its title.
compose = partial(
    composing.compose,
    city_order=REGION.city_names,
    topic_order=REGION.topic_names,
    title=REGION.digest_title,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
SINCE = int(datetime(2026, 11, 16, 9, 0, tzinfo=SHANGHAI).timestamp())
UNTIL = int(datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI).timestamp())
DAY = 86400

TASKS = Figure(
    kind="tasks",
    value=60.0,
    unit="项",
    subject="重点合作事项",
    text="重点合作事项60项",
    sentence="今年确定的重点合作事项60项，已完成52项。",
    done=52,
    total=60,
)
MONEY = Figure(
    kind="money",
    value=1.2e10,
    unit="亿元",
    subject="总投资",
    text="总投资120亿元",
    sentence="项目总投资120亿元。",
)


def story(
    id: int,
    *,
    cities: tuple[str, ...] = ("长沙",),
    topics: tuple[str, ...] = ("产业",),
    seen: int = SINCE + DAY,
    title: str | None = None,
    figures: tuple[Figure, ...] = (),
    sources: int = 1,
) -> Story:
    return Story(
        id=id,
        title=title or f"长株潭融城动态第{id}则",
        url=f"https://news.example.cn/czt/{id}.html",
        published=seen - 3600,
        first_seen=seen,
        cities=cities,
        topics=topics,
        summary="三市签署合作协议，推动产业链协同发展。各方表示将加快落实。",
        source_count=sources,
        figures=tuple(f.to_json() for f in figures),
    )


ALL = (Subscription(city="长沙"), Subscription(city="株洲"), Subscription(city="湘潭"))


def ids(digest: Digest) -> list[int]:
    return [s.id for section in digest.sections for s in section.stories]


def test_city_topic_pair_matches_only_both() -> None:
    stories = [
        story(1, cities=("湘潭",), topics=("交通",)),
        story(2, cities=("湘潭",), topics=("产业",)),
        story(3, cities=("长沙",), topics=("交通",)),
        story(4, cities=("长沙", "湘潭"), topics=("生态", "交通")),
    ]
    digest = compose(stories, [Subscription(city="湘潭", topic="交通")], since=SINCE, until=UNTIL)
    assert sorted(digest.story_ids) == [1, 4]
    # The pair the subscriber asked for is the section, not 长沙·交通 or 湘潭·生态.
    assert [section.label for section in digest.sections] == ["湘潭·交通"]


def test_topic_subscription_and_city_subscription() -> None:
    stories = [
        story(1, cities=(), topics=("文旅",)),
        story(2, cities=("株洲",), topics=("文旅",)),
        story(3, cities=("株洲",), topics=("科创",)),
    ]
    digest = compose(stories, [Subscription(topic="文旅")], since=SINCE, until=UNTIL)
    assert sorted(digest.story_ids) == [1, 2]
    assert [s.label for s in digest.sections] == ["株洲·文旅", "文旅"]


def test_each_story_once_even_when_several_subscriptions_match() -> None:
    s = story(7, cities=("长沙", "株洲"), topics=("产业", "科创"), sources=3)
    subs = [Subscription(city="长沙"), Subscription(topic="科创"), Subscription("株洲", "产业")]
    digest = compose([s, s], subs, since=SINCE, until=UNTIL)
    assert digest.story_ids == (7,)
    assert [sec.label for sec in digest.sections] == ["长沙·产业"]


def test_window_includes_since_excludes_until() -> None:
    stories = [
        story(1, seen=SINCE - 1),
        story(2, seen=SINCE),
        story(3, seen=UNTIL - 1),
        story(4, seen=UNTIL),
    ]
    digest = compose(stories, ALL, since=SINCE, until=UNTIL)
    assert sorted(digest.story_ids) == [2, 3]


def test_sections_ordered_by_city_then_topic_newest_first() -> None:
    stories = [
        story(1, cities=("湘潭",), topics=("交通",), seen=SINCE + 1 * DAY),
        story(2, cities=("长沙",), topics=("文旅",), seen=SINCE + 2 * DAY),
        story(3, cities=("长沙",), topics=("产业",), seen=SINCE + 1 * DAY),
        story(4, cities=("长沙",), topics=("产业",), seen=SINCE + 3 * DAY),
        story(5, cities=(), topics=("生态",), seen=SINCE + 1 * DAY),
        story(6, cities=("株洲",), topics=(), seen=SINCE + 1 * DAY),
        story(7, cities=("湘潭", "株洲"), topics=("改革", "科创"), seen=SINCE + 4 * DAY),
    ]
    subs = [*ALL, Subscription(topic="生态")]
    digest = compose(stories, subs, since=SINCE, until=UNTIL)
    labels = [s.label for s in digest.sections]
    assert labels == ["长沙·产业", "长沙·文旅", "株洲·科创", "株洲", "湘潭·交通", "生态"]
    assert [s.id for s in digest.sections[0].stories] == [4, 3]
    assert digest.sections[2] == DigestSection("株洲·科创", (stories[6],), "株洲", "科创")
    assert sorted(digest.story_ids) == sorted(set(digest.story_ids)) == list(range(1, 8))
    assert list(digest.story_ids) == ids(digest)


def test_custom_orders() -> None:
    stories = [story(1, cities=("长沙",)), story(2, cities=("湘潭",))]
    digest = compose(stories, ALL, since=SINCE, until=UNTIL, city_order=("湘潭", "株洲", "长沙"))
    assert [s.label for s in digest.sections] == ["湘潭·产业", "长沙·产业"]


def test_empty_week() -> None:
    digest = compose([story(1, seen=SINCE - DAY)], ALL, since=SINCE, until=UNTIL)
    assert digest.empty
    assert digest.sections == () and digest.story_ids == () and digest.key_figures == ()
    assert digest.headline == "" and digest.more_figures == 0
    assert digest.title == "长株潭一体化周报（11月16日—11月23日）"
    assert compose([story(1)], [], since=SINCE, until=UNTIL).empty


def test_title_in_timezone_and_across_years() -> None:
    # 2026-11-15 20:00 UTC is already 11月16日 in Shanghai.
    since = int(datetime(2026, 11, 16, 4, 0, tzinfo=SHANGHAI).timestamp())
    digest = compose([], ALL, since=since, until=since + 7 * DAY)
    assert digest.title == "长株潭一体化周报（11月16日—11月23日）"
    utc = compose([], ALL, since=since, until=since + 7 * DAY, timezone="UTC")
    assert utc.title == "长株潭一体化周报（11月15日—11月22日）"
    midnight = int(datetime(2026, 12, 28, tzinfo=SHANGHAI).timestamp())
    new_year = compose([], ALL, since=midnight, until=midnight + 7 * DAY)
    assert new_year.title == "长株潭一体化周报（2026年12月28日—2027年1月3日）"


def test_cap_keeps_most_carried_and_counts_the_rest() -> None:
    stories = [story(i, seen=SINCE + i * 60) for i in range(1, 11)]
    stories.append(story(99, seen=SINCE + 1, sources=4))
    digest = compose(stories, ALL, since=SINCE, until=UNTIL, max_stories=3)
    assert digest.omitted == 8
    assert sorted(digest.story_ids) == [9, 10, 99]


def test_figures_dedup_same_figure_from_two_stories() -> None:
    echo = replace(TASKS, done=None, text="重点合作事项60项")
    stories = [
        story(1, figures=(TASKS, MONEY)),
        story(2, figures=(echo,)),
        story(3, cities=("湘潭",), topics=("交通",), figures=(TASKS,)),
    ]
    digest = compose(stories, ALL, since=SINCE, until=UNTIL)
    # The total alone (story 2) is the same list as story 1's: one figure, both links.
    # The same list in 湘潭 is another place, so another figure.
    found = [(k.place, k.kind, k.sources) for k in digest.key_figures]
    assert found == [
        ("长沙", "tasks", (story(1).url, story(2).url)),
        ("湘潭", "tasks", (story(3).url,)),
        ("长沙", "money", (story(1).url,)),
    ]


def test_story_figures_tolerates_unknown_keys_and_junk() -> None:
    data = {**MONEY.to_json(), "confidence": 0.9}
    s = Story(
        id=1,
        title="t",
        url="https://example.cn",
        published=SINCE,
        first_seen=SINCE,
        cities=("长沙",),
        topics=(),
        summary="",
        source_count=1,
        figures=(data, {"kind": "money"}, {**MONEY.to_json(), "value": "很多"}),
    )
    assert story_figures(s) == [MONEY]
    digest = compose([s], ALL, since=SINCE, until=UNTIL)
    assert [k.figure for k in digest.key_figures] == [MONEY]


def test_digests_package_is_pure() -> None:
    forbidden = {"sqlite3", "sqlite_utils", "httpx", "telegram", "aiohttp", "requests", "storage"}
    root = Path(__file__).resolve().parent.parent / "digests"
    for path in root.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            for name in names:
                assert name.split(".")[0] not in forbidden, (path.name, name)

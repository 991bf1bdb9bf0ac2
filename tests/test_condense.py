"""The condensed block on texts of our own: each key figure once, with every source,
and task lists followed over time (ingested, stored, composed and printed)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from analysis.figures import Figure
from analysis.progress import Report, same_subject, track
from app.core import Core
from app.previews import preview
from bot import main
from digests.condense import key_figures
from domain.models import Subscription
from tests.conftest import DATA, FakeClock
from tests.test_digest_compose import ALL, SINCE, UNTIL, compose, story

CONDENSE = DATA / "condense"
SHANGHAI = ZoneInfo("Asia/Shanghai")
OCTOBER = datetime(2026, 10, 21, 9, tzinfo=SHANGHAI).timestamp()
NOVEMBER = datetime(2026, 11, 21, 9, tzinfo=SHANGHAI).timestamp()


def road(subject: str, sentence: str) -> Figure:
    return Figure("money", 4.8e9, "亿元", subject, f"{subject}48亿元", sentence)


def test_two_outlets_reporting_one_project_give_one_figure_with_two_sources() -> None:
    first = story(1, cities=("株洲",), figures=(road("总投资", "项目总投资48亿元。"),))
    second = story(2, cities=("株洲",), figures=(road("该项目总投资", "该项目总投资48亿元。"),))
    other = story(3, cities=("长沙",), figures=(road("总投资", "项目总投资48亿元。"),))
    digest = compose([first, second, other], ALL, since=SINCE, until=UNTIL)
    money = [(k.place, k.subject, k.sources) for k in digest.key_figures]
    # Same kind, value, place and subject: one figure. The same sum in 长沙 is another.
    assert money == [
        ("株洲", "总投资", (first.url, second.url)),
        ("长沙", "总投资", (other.url,)),
    ]
    # Counted once each in the headline: 96, not 144.
    assert digest.headline == "本期涉及金额 96 亿元"


def test_a_sentence_naming_a_city_gives_the_place() -> None:
    named = road("总投资", "湘潭段总投资48亿元。")
    other = Figure("money", 3e9, "亿元", "总投资", "总投资30亿元", "另一项目总投资30亿元。")
    s = story(1, cities=("长沙", "湘潭"), figures=(named, other))
    copy = story(2, cities=("长沙", "湘潭"), figures=(road("总投资", "总投资48亿元。"),))
    found = key_figures([s, copy], locate=lambda text: ("湘潭",) if "湘潭" in text else ())
    # 30亿 names no city and its story has two: no place. The copy of 48亿 that names
    # none is the same figure as the one in 湘潭.
    assert [(k.place, k.figure.value, len(k.sources)) for k in found] == [
        ("湘潭", 4.8e9, 2),
        ("", 3e9, 1),
    ]


def test_cap_and_weight_order() -> None:
    tasks = Figure("tasks", 60.0, "项", "重点合作事项", "t", "s", done=52, total=60)
    projects = Figure("projects", 12.0, "个", "重大项目", "p", "s")
    monies = [Figure("money", (i + 1) * 1e8, "亿元", f"投资{i}", "m", "s") for i in range(9)]
    s = story(1, figures=(*monies, projects, tasks))
    digest = compose([s], ALL, since=SINCE, until=UNTIL, max_figures=4)
    assert [k.kind for k in digest.key_figures] == ["tasks", "projects", "money", "money"]
    assert digest.key_figures[2].figure.value == 9e8  # the larger sums first
    assert digest.more_figures == 7
    assert digest.headline.startswith("本期项目 12 个，涉及金额 45 亿元")


def report(day: int, done: int, *, month: int = 11, place: str = "湘潭", total: int = 60) -> Report:
    when = int(datetime(2026, month, day, 8, tzinfo=SHANGHAI).timestamp())
    url = f"https://news.example.cn/{month}/{day}/{done}.html"
    return Report(when, url, place, "重点合作事项", total, done)


def test_series_are_one_list_in_published_order() -> None:
    reports = [
        report(20, 52),
        report(20, 35, month=10),
        report(20, 52),  # another outlet, the same day and numbers: the same point
        report(21, 20, place="株洲"),
        report(22, 10, total=12),
    ]
    found = track(reports)
    lists = {(s.place, s.total): [(p.published, p.done) for p in s.points] for s in found}
    assert list(lists[("湘潭", 60)]) == [(reports[1].published, 35), (reports[0].published, 52)]
    assert len(found) == 3
    assert same_subject("重点合作事项", "年度重点合作事项")
    assert not same_subject("重点合作事项", "民生实事")


@pytest.fixture
def ingested(tmp_path: Path) -> Core:
    """October's report at the end of October, November's a month later."""
    from app.config import load_settings

    clock = FakeClock(OCTOBER)
    core = Core(load_settings(None, environ={}, db_path=str(tmp_path / "c.db")), clock=clock)

    def ingest(*names: str) -> None:
        feeds = [core.storage.feeds.ensure(str(CONDENSE / n), core.now()) for n in names]
        core.ingestor().ingest(feeds, core.now())

    ingest("october.xml")
    clock.now = NOVEMBER
    ingest("november-a.xml", "november-b.xml")
    return core


def test_two_reports_a_month_apart_show_the_change(ingested: Core) -> None:
    digest = preview(ingested, [Subscription(city="湘潭")], [], ingested.now() + 1)
    assert [s.title for s in digest.stories] == ["湘潭一体化合作事项进展过半"]
    (tasks,) = digest.key_figures
    assert (tasks.figure.done, tasks.figure.total, tasks.place) == (52, 60, "湘潭")
    assert tasks.previous is not None and tasks.previous.done == 35
    assert "52/60 已完成，8 项推进中（上次 35/60，10月20日）" in digest.headline
    ingested.close()


def test_a_watched_keyword_brings_its_stories(ingested: Core) -> None:
    digest = preview(ingested, [Subscription(city="湘潭")], ["融城干道"], ingested.now() + 1)
    labels = [section.label for section in digest.sections]
    assert labels == ["湘潭", "关键词：融城干道"]
    assert len(digest.sections[1].stories) == 2
    money = digest.key_figures[1]
    assert money.place == "株洲" and len(money.sources) == 2
    ingested.close()


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_preview_and_progress_json(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    db = str(tmp_path / "cli.db")
    feeds = [
        a
        for n in ("october", "november-a", "november-b")
        for a in ("--feed", str(CONDENSE / f"{n}.xml"))
    ]
    assert run(capsys, "--db", db, "ingest", *feeds)[0] == 0
    code, out, _ = run(
        capsys, "--db", db, "digest", "preview", "--subscriptions", "湘潭 交通, 融城干道", "--json"
    )
    assert code == 0
    data = json.loads(out)
    assert set(data) == {"since", "until", "headline", "key_figures", "stories", "more"}
    assert data["more"] == 0
    assert [s["title"] for s in data["stories"]] == ["株洲又一条融城通道动工", "融城干道株洲段开工"]
    (money,) = data["key_figures"]
    assert money["kind"] == "money" and money["value"] == 4_800_000_000
    assert money["place"] == "株洲" and money["previous"] is None
    assert sorted(money["sources"]) == [
        "http://a.czt.invalid/2026/11/road.html",
        "http://b.czt.invalid/news/8812.html",
    ]

    code, out, _ = run(capsys, "--db", db, "progress", "--city", "湘潭", "--json")
    assert code == 0
    (series,) = json.loads(out)
    assert (series["place"], series["total"]) == ("湘潭", 60)
    assert [(p["date"], p["done"], p["in_progress"]) for p in series["points"]] == [
        ("2026-10-20", 35, 18),
        ("2026-11-20", 52, 8),
    ]
    assert series["points"][1]["url"] == "http://a.czt.invalid/2026/11/tasks.html"

    code, out, _ = run(capsys, "--db", db, "progress")
    assert code == 0 and "历次进展：10月20日 35 → 11月20日 52" in out
    code, _, err = run(capsys, "--db", db, "digest", "preview", "--subscriptions", "，！")
    assert code != 0 and err.startswith("error:") and err.count("\n") == 1


def test_chat_watches_lists_and_progress(ingested: Core) -> None:
    from handlers.service import ChatService, Request

    service = ChatService(ingested)
    user = Request("console", "reader")
    reply = service.command(user, "subscribe", "湘潭 融城干道")
    assert (
        "已订阅：湘潭" in reply.text and "“融城干道”不是城市或主题，已作为关键词关注" in reply.text
    )
    assert "当前订阅：湘潭；关注关键词：融城干道" in service.command(user, "list", "").text
    digest = service.command(user, "digest", "").text
    assert "52/60 已完成，8 项推进中（上次 35/60，10月20日）" in digest
    assert "▍关键词：融城干道" in digest and "• 株洲 · 总投资 48 亿元" in digest
    # The digest's 更多 button pages its key figures; a forged page number is refused.
    assert service.callback(user, "k:0").text.startswith("• 湘潭 · ")
    assert "没有更多" in service.callback(user, "k:9").text
    assert "已失效" in service.callback(user, "k:²").text
    progress = service.command(user, "progress", "湘潭").text
    assert "52/60 已完成" in progress and "历次进展：10月20日 35 → 11月20日 52" in progress
    assert "还没有跟踪到" in service.command(user, "progress", "株洲").text
    assert "已退订：融城干道" in service.command(user, "unsubscribe", "融城干道").text
    ingested.close()

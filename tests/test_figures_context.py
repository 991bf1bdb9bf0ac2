"""Figure shapes of real reporting, in texts written for these tests.

Each test stands for a class of real text (approximate amounts, N大 groupings, task nouns,
look-alikes that are not key figures, places outside the region, inline pinyin), not for
one sentence of the development corpus.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.context import Places
from analysis.figures import Figure, extract_figures
from analysis.noise import strip_annotations
from analysis.text import clean, fold
from app.config import DEFAULT_TAXONOMY, load_taxonomy

PLACES = load_taxonomy(DEFAULT_TAXONOMY).places()


def kinds(text: str, places: Places | None = PLACES) -> list[tuple[str, float]]:
    return [(f.kind, f.value) for f in extract_figures(text, places)]


def only(text: str, kind: str) -> Figure:
    found = [f for f in extract_figures(text, PLACES) if f.kind == kind]
    assert len(found) == 1, found
    return found[0]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("园区去年引进资金4000余万元。", 4e7),
        ("两地合作基金规模达80多亿元。", 8e9),
        ("全年签约总额超千亿元，创历史新高。", 1e11),
        ("装备制造集群营收突破百亿元。", 1e10),
        ("示范区总收入稳定在千亿元以上，居全省前列。", 1e11),
        ("三市生产总值合计约2.6万亿元。", 2.6e12),
        ("三市地區生產總值合計約兩萬億元。", 2e12),
        ("新能源基地总投资高达25亿！", 2.5e9),
        ("产业园吸引外资3.5亿美元。", 3.5e8),
    ],
)
def test_approximate_and_round_amounts(text: str, value: float) -> None:
    assert kinds(text) == [("money", value)]


@pytest.mark.parametrize(
    "text",
    [
        "地铁单程票价4元，城际公交起步价2元。",
        "市民每次往返可节省约15元。",
        "新区单个项目总投资不低于5亿元。",
        "入园企业平均研发投入为3.2亿元。",
        "意向投资额在20亿元至60亿元之间。",
        "培育千亿级产业集群，打造千亿园区。",
        "投资过百亿元的项目有4个。",
    ],
)
def test_money_look_alikes_are_not_money(text: str) -> None:
    assert [k for k in kinds(text) if k[0] == "money"] == []


def test_threshold_belongs_to_the_project_count() -> None:
    assert kinds("全市新开工10亿元以上项目9个。") == [("projects", 9.0)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("三市联合实施五大融城示范项目。", ("projects", 5.0)),
        ("株洲谋划10大先进制造工程。", ("projects", 10.0)),
        ("今年办好十大重点民生实事。", ("tasks", 10.0)),
        ("湘潭两大文旅招商项目集中签约。", ("projects", 2.0)),
    ],
)
def test_chinese_numerals_with_da(text: str, expected: tuple[str, float]) -> None:
    assert kinds(text) == [expected]


@pytest.mark.parametrize(
    "text",
    [
        "全力推进四大领域协同发展。",  # an abstract grouping
        "落实三个十大工程部署。",  # a slogan
        "围绕6大项30项具体任务推进。",  # categories of a task list (the 30 is the figure)
    ],
)
def test_groupings_that_are_not_figures(text: str) -> None:
    assert [k for k in kinds(text) if k[1] != 30.0] == []


def test_long_coordinated_modifiers_reach_the_head_noun() -> None:
    f = only("双方签署4个高校、研究院、企业联合攻关项目。", "projects")
    assert (f.value, f.subject) == (4.0, "企业联合攻关项目")
    g = only("会上发布26个总投资约300亿元的数字经济招商项目。", "projects")
    assert g.value == 26.0 and g.subject == "数字经济招商项目"
    assert only("会上发布26个总投资约300亿元的数字经济招商项目。", "money").value == 3e10


@pytest.mark.parametrize(
    ("text", "value", "subject"),
    [
        ("省里出台了18条措施，支持园区发展。", 18, "措施"),
        ("三市联合发布12条政策清单。", 12, "政策清单"),
        ("今年将完成9件民生实事。", 9, "民生实事"),
        ("新区推出7项改革，涉及用地审批。", 7, "改革"),
        ("出台实施产业扶持“15条”，成效初显。", 15, "产业扶持"),
        ("三地签订6项协作协议。", 6, "协作协议"),
    ],
)
def test_task_nouns_beyond_tasks(text: str, value: int, subject: str) -> None:
    f = only(text, "tasks")
    assert (f.value, f.total) == (value, value)
    assert f.subject == subject


def test_indicators_of_a_task_list_with_done() -> None:
    f = only("市级民生实事中，24个指标达到序时进度，其中11个指标已提前完成。", "tasks")
    assert (f.total, f.done) == (24, 11)


def test_sections_of_a_task_list_are_tasks() -> None:
    text = "方案明确40项任务。其中，交通互联互通15项，产业协同共兴20项，生态共治5项。"
    tasks = [(f.subject, f.total) for f in extract_figures(text, PLACES) if f.kind == "tasks"]
    assert tasks == [("任务", 40), ("交通互联互通", 15), ("产业协同共兴", 20), ("生态共治", 5)]


def test_service_matters_are_counts_not_tasks() -> None:
    assert kinds("实现520项“一件事一次办”事项跨域通办。") == [("count", 520.0)]


@pytest.mark.parametrize(
    "text",
    [
        "续建项目：\n12个。",
        "上半年集中签约35个，总体进展顺利。",
        "项目数量较上年增加17个。",
        "雨湖区：9个，其中产业项目7个，配套项目2个。",
    ],
)
def test_bare_counts_of_projects(text: str) -> None:
    assert kinds(text)[0][0] == "projects"


def test_figures_of_places_outside_the_region_are_dropped() -> None:
    text = "衡阳市签约项目20个，总投资45亿元；湘潭市签约项目16个，总投资38亿元。"
    assert kinds(text) == [("projects", 16.0), ("money", 3.8e9)]
    assert len(kinds(text, places=None)) == 4  # without places, nothing is dropped


def test_a_venue_outside_the_region_keeps_the_figure() -> None:
    text = "株洲市在上海举办推介会，签约项目8个，总投资约60亿元。"
    assert kinds(text) == [("projects", 8.0), ("money", 6e9)]


def test_inline_pinyin_is_removed_for_analysis_and_display() -> None:
    raw = "長(zhǎng)沙市新開工項(xiàng)目25個(gè)，合作協(xié)議(1)已簽署。"
    assert strip_annotations(raw) == "長沙市新開工項目25個，合作協議(1)已簽署。"
    assert clean(raw) == "長沙市新開工項目25個，合作協議(1)已簽署。"
    assert kinds(clean(raw)) == [("projects", 25.0)]
    assert (
        strip_annotations("发行债务融资工具(中期票据)10亿元") == "发行债务融资工具(中期票据)10亿元"
    )


SHAPES = (
    "0123456789.,，、。；:：%余多超近千百万亿元美个项条大件"
    "项目任务实事措施改革签约至-《》“”衡阳长沙在"
)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list(SHAPES)), max_size=60))
def test_never_raises_with_places_and_spans_are_substrings(text: str) -> None:
    folded = fold(text)
    for figure in extract_figures(text, PLACES):
        assert figure.text and figure.text in folded
        assert figure.kind != "tasks" or figure.total is not None or figure.done is not None

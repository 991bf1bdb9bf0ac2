"""Key-figure extraction: shapes, non-figures, script folding, the evaluation set."""

from __future__ import annotations

import ast
import json
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.figures import KINDS, Figure, extract_figures
from analysis.text import fold

# Characters that build number, unit and clause shapes, for the property tests.
SHAPES = "0123456789１２.,，、。；%％ \n项个家亿万元任务项目完成推进已十两三《》（）“”第年"
EVAL_SET = Path(__file__).parent / "data" / "figures" / "eval.jsonl"
GATED = ("tasks", "projects", "money")
Key = tuple[object, ...]


def one(text: str, kind: str) -> Figure:
    found = [f for f in extract_figures(text) if f.kind == kind]
    assert len(found) == 1, found
    return found[0]


def test_total_done_and_in_progress_across_clauses() -> None:
    f = one("三市确定40项重点合作事项。截至目前，其中33项已完成年度目标，7项正在推进。", "tasks")
    assert (f.total, f.done, f.in_progress, f.value) == (40, 33, 7, 40.0)
    assert f.subject == "重点合作事项"
    assert f.describe() == "重点合作事项：完成 33/40 项，7 项推进中"


def test_nested_totals() -> None:
    tasks = [
        f for f in extract_figures("方案分解任务85个，明确7大项42项具体任务。") if f.kind == "tasks"
    ]
    assert [(f.total, f.unit) for f in tasks] == [(85, "个"), (42, "项")]


def test_hundred_percent_done_is_a_rate_not_a_done_count() -> None:
    # the corpus convention: "100%完成" is a separate percent figure, not done
    figures = extract_figures("长沙承担的18项任务100%完成。")
    assert [(f.kind, f.value, f.done, f.total) for f in figures] == [
        ("tasks", 18.0, None, 18),
        ("percent", 100.0, None, None),
    ]


def test_projects_and_money() -> None:
    figures = extract_figures("招商引进亿元以上项目 23 个，签约金额 86.4 亿元。")
    assert [(f.kind, f.value, f.unit) for f in figures] == [
        ("projects", 23.0, "个"),
        ("money", 8.64e9, "亿元"),
    ]
    assert figures[0].describe() == "亿元以上项目 23 个"
    assert figures[1].describe() == "签约金额 86.4 亿元"


def test_new_and_continuing_projects() -> None:
    figures = extract_figures("新开工项目15个、续建项目27个，总投资约312亿元。")
    assert [(f.kind, f.subject) for f in figures] == [
        ("projects", "新开工项目"),
        ("projects", "续建项目"),
        ("money", "总投资"),
    ]


def test_counts_and_rates() -> None:
    figures = extract_figures(
        "新增研发机构14家，36项政务服务事项实现跨市通办，建成绿道31.5公里，优良率为88.6%。"
    )
    assert [(f.kind, f.value, f.unit) for f in figures] == [
        ("count", 14.0, "家"),
        ("count", 36.0, "项"),
        ("count", 31.5, "公里"),
        ("percent", 88.6, "%"),
    ]


def test_hard_line_breaks_and_spaces() -> None:
    text = "全市印发融城行动计划，确定60项重点合作事\n\n项，目前已完成48项。签约金额 103.5\n亿元。"
    figures = extract_figures(text)
    assert [(f.kind, f.value) for f in figures] == [("tasks", 60.0), ("money", 1.035e10)]
    assert figures[0].subject == "重点合作事项"
    assert figures[0].done == 48
    assert "\n" in figures[0].text  # the exact span, break included


def test_traditional_and_full_width_give_the_same_figures() -> None:
    simplified = (
        "长株潭三市确定30项重点协同任务，目前已完成22项。双方合作项目11个，总投资约85亿元。"
    )
    traditional = (
        "長株潭三市確定３０項重點協同任務，目前已完成２２項。"
        "雙方合作項目十一個，總投資約八十五億元。"
    )

    def keys(text: str) -> list[Key]:
        return [
            (f.kind, f.value, f.unit, f.subject, f.done, f.total) for f in extract_figures(text)
        ]

    assert keys(traditional) == keys(simplified)
    assert len(keys(simplified)) == 3


@pytest.mark.parametrize(
    "text",
    [
        "2022年9月21日，第六届论坛在湘潭举行，湘潭排名第3位。",
        "印发《长株潭都市圈建设实施方案（2022—2026年）》。",
        "一是推进规划共编；二是推进设施共建。1. 设施共建。咨询电话0731-12345678。",
        "隔膜耐热温度超过200℃，钻机下钻231米。",
        "把长株潭作为一个城市来打造，三市园区两两结对。",
        "每万人高价值发明专利数居全省前列，S3线和G60扩容工程加快建设。",
    ],
)
def test_not_figures(text: str) -> None:
    assert extract_figures(text) == []


def test_to_json_is_serialisable() -> None:
    (figure,) = extract_figures("明确42项具体任务。")
    data = figure.to_json()
    assert json.loads(json.dumps(data, ensure_ascii=False)) == data
    assert set(data) == {f for f in Figure.__dataclass_fields__}


@settings(max_examples=300, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from(list(SHAPES)),
        max_size=80,
    )
)
def test_never_raises_and_spans_are_substrings(text: str) -> None:
    folded = fold(text)
    for figure in extract_figures(text):
        assert figure.kind in KINDS
        assert figure.text and figure.text in folded


@settings(deadline=None)
@given(st.text(max_size=60))
def test_arbitrary_text(text: str) -> None:
    folded = fold(text)
    assert all(f.text in folded for f in extract_figures(text))


# ------------------------------------------------------------ the evaluation set


def key(figure: dict[str, object]) -> Key:
    value = round(float(str(figure["value"])), 2)
    if figure["kind"] == "tasks":
        return (figure["kind"], value, figure.get("done"), figure.get("total"))
    return (figure["kind"], value)


def evaluate() -> dict[str, tuple[float, float, int]]:
    """Precision, recall and gold count per kind over the annotated evaluation set."""
    true_pos: Counter[str] = Counter()
    false_pos: Counter[str] = Counter()
    false_neg: Counter[str] = Counter()
    for line in EVAL_SET.read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        gold = Counter(key(f) for f in item["figures"])
        found = Counter(key(f.to_json()) for f in extract_figures(item["text"]))
        for k, n in (gold & found).items():
            true_pos[str(k[0])] += n
        for k, n in (found - gold).items():
            false_pos[str(k[0])] += n
        for k, n in (gold - found).items():
            false_neg[str(k[0])] += n
    scores: dict[str, tuple[float, float, int]] = {}
    for kind in KINDS:
        tp, fp, fn = true_pos[kind], false_pos[kind], false_neg[kind]
        precision = tp / (tp + fp) if tp + fp else 1.0
        recall = tp / (tp + fn) if tp + fn else 1.0
        scores[kind] = (precision, recall, tp + fn)
    return scores


def test_evaluation_set_is_large_enough() -> None:
    items = [json.loads(line) for line in EVAL_SET.read_text(encoding="utf-8").splitlines()]
    assert len(items) >= 40
    assert all(item["text"] and isinstance(item["figures"], list) for item in items)


def test_precision_and_recall() -> None:
    scores = evaluate()
    print()  # shown with `pytest -s -k precision`
    for kind, (precision, recall, gold) in scores.items():
        print(f"{kind:9} precision {precision:.3f} recall {recall:.3f} ({gold} labelled)")
    for kind in GATED:
        precision, recall, gold = scores[kind]
        assert gold >= 10, kind
        assert precision >= 0.9, (kind, precision)
        assert recall >= 0.9, (kind, recall)


def test_analysis_is_pure() -> None:
    forbidden = {"sqlite3", "sqlite_utils", "telegram", "httpx", "aiohttp", "requests", "socket"}
    root = Path(__file__).parent.parent / "analysis"
    for name in (
        "numerals.py",
        "candidates.py",
        "context.py",
        "subjects.py",
        "sentences.py",
        "briefs.py",
        "noise.py",
        "figures.py",
        "summary.py",
    ):
        tree = ast.parse((root / name).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                modules = [node.module or ""]
            else:
                continue
            assert not {m.split(".")[0] for m in modules} & forbidden, (name, modules)

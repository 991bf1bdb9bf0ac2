"""Sentence splitting and extractive summaries."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.figures import extract_figures
from analysis.summary import split_sentences, summarize

ARTICLE = """\
★抓协同发展
(本报记者 李明 摄)
2023年9月，长株潭一体化发展联席会议在湘潭召开。会议回顾了一年来三市协作的进展，
气氛热烈。
三市确定40项重点合作事项，目前33项已完成年度目标，7项正在推进。
●全市产业链招商引进亿元以上项目 23 个，签约金额 86.4 亿元；
记者 王芳 通讯员 张强
下一步，三市将继续深化合作，共同打造全国重要增长极。
"""


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_split_at_end_marks_and_line_ends() -> None:
    text = "第一句。第二句！第三句？第四句；\n没有句号的一行\n最后一句。"
    assert split_sentences(text) == [
        "第一句。",
        "第二句！",
        "第三句？",
        "第四句；",
        "没有句号的一行",
        "最后一句。",
    ]


def test_closing_quotes_stay_and_quotes_do_not_split() -> None:
    text = "他说：“我们一定能做到。别人也行！”随后离开。（注：“六融”即理念融；“三抓”指抓产业）"
    assert split_sentences(text) == [
        "他说：“我们一定能做到。别人也行！”",
        "随后离开。",
        "（注：“六融”即理念融；“三抓”指抓产业）",
    ]


def test_e_paper_breaks_do_not_cut_sentences() -> None:
    text = "市里印发融城行动计划，确定60项重点合作事\n\n项，目前已完成48项。\n下一句。"
    assert split_sentences(text) == [
        "市里印发融城行动计划，确定60项重点合作事项，目前已完成48项。",
        "下一句。",
    ]


@settings(deadline=None)
@given(
    st.text(alphabet=st.sampled_from(list("长株潭一体化。！？；;!?“”（）\n 　ab1")), max_size=120)
)
def test_chunks_join_back(text: str) -> None:
    chunks = split_sentences(text)
    assert all(chunk and chunk == chunk.strip() for chunk in chunks)
    assert squash("".join(chunks)) == squash(text.strip())


@given(st.text(max_size=80))
def test_chunks_join_back_any_text(text: str) -> None:
    assert squash("".join(split_sentences(text))) == squash(text)


def test_summary_prefers_figure_sentences_and_skips_bylines() -> None:
    summary = summarize(ARTICLE)
    assert summary.startswith("三市确定40项重点合作事项")
    assert "签约金额 86.4 亿元" in summary
    assert "●" not in summary and "记者" not in summary and "★" not in summary
    assert len(summary) <= 160


def test_summary_is_whole_sentences_in_order() -> None:
    sentences = split_sentences(ARTICLE)
    summary = summarize(ARTICLE, max_sentences=2)
    first = summary.index("三市确定")
    second = summary.index("全市产业链")
    assert first < second
    assert any(s.endswith("7项正在推进。") for s in sentences)


def test_summary_without_figures_uses_the_lead() -> None:
    text = (
        "长株潭三市联合举办文化旅游推介活动。活动现场气氛热烈，吸引了众多游客。各地代表交流了经验。"
    )
    assert summarize(text, max_sentences=1) == "长株潭三市联合举办文化旅游推介活动。"


def test_summary_respects_the_limits() -> None:
    assert summarize("") == ""
    long = "长株潭" * 80 + "，" + "一体化" * 30 + "。"
    short = summarize(long, max_chars=60)
    assert short.endswith("…") and len(short) <= 60
    # One sentence: the one whose figures weigh most (projects and money here).
    summary = summarize(ARTICLE, figures=extract_figures(ARTICLE), max_sentences=1)
    assert summary == "全市产业链招商引进亿元以上项目 23 个，签约金额 86.4 亿元；"

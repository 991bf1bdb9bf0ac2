"""Unrelated briefs printed on the same page: court cases, weather, prices, notices.

An e-paper page carries the integration story and, under it, short items of another
kind (【简讯】, 【法院公告】, 天气, 便民信息). Their numbers are not the story's figures. The
page is cut into items at line breaks; an item is an unrelated brief when it reads like
one of those genres (a court ruling, a forecast, a market-price report, a traffic or
utility notice) or sits in a section under a 【…】 heading, and names nothing of the
integration (长株潭, 一体化, 三市, 项目, 签约, 合作, 投资, 产业 …). Pure and cheap: two
regex searches per line.
"""

from __future__ import annotations

import bisect
import re

__all__ = ["inside", "unrelated_spans"]

# A section heading of briefs: a bracketed label alone on its line (not 【资料图】).
_HEADING = re.compile(r"【[^】\n]{0,8}(?:简讯|公告|提示|天气|便民|法治|启事|声明|信息)】")
_GENRE = re.compile(
    # court and prosecution
    r"法院|审结|判决|判令|判处|原告|被告|纠纷案|诉讼|有期徒刑|检察院|公诉"
    # weather
    r"|天气预报|气温|多云|阵雨|小雨转|偏[东南西北]风|风力"
    # market prices
    r"|价格周报|农副产品|菜价|猪肉|鸡蛋|汽油|柴油|油价|菜篮子"
    # traffic, utility and other notices
    r"|交通管制|绕行|停水|停电|停气|便民信息|酒驾|醉驾|寻人|遗失|声明作废|彩票|开奖"
)
_RELEVANT = re.compile(
    r"长株潭|一体化|都市圈|三市|跨市|同城|融城|项目|签约|合作|协同|协作|投资|产业|园区|招商"
    r"|引资|开工|建设|改革|创新|科技|企业|旅游|文旅|游客|民生"
)


# A line that opens another story on the page: a dateline or a bracketed heading.
_OPENER = re.compile(r"\s*(?:本报讯|本报[^\s,，。]{0,8}讯|新华社|【[^】\n]{1,12}】)")


def unrelated_spans(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of the parts of ``text`` that are unrelated briefs, in order.

    Two cuts: lines (a court, weather, price or notice line, or any line under a brief
    heading, that names nothing of the integration), and stories (after the first story
    on the page, one opened by a dateline or heading whose lines name nothing of it).
    """
    spans: list[tuple[int, int]] = []
    in_briefs = False
    pos = 0
    story: list[tuple[int, int]] = []  # lines of the current story
    story_relevant = True
    story_no = 0  # 0: before any opener, 1: the page's first story (always kept)
    for line in text.split("\n"):
        start, pos = pos, pos + len(line) + 1
        stripped = line.strip()
        if not stripped:
            continue
        if _OPENER.match(line):
            if story_no >= 2 and not story_relevant:
                spans.extend(story)
            story, story_relevant = [], False
            story_no += 1
        relevant = _RELEVANT.search(line) is not None
        story_relevant = story_relevant or relevant
        story.append((start, start + len(line)))
        heading = _HEADING.match(stripped)
        if heading is not None and heading.end() == len(stripped):
            in_briefs = True
            continue
        if (in_briefs or _GENRE.search(line)) and not relevant:
            spans.append((start, start + len(line)))
    if story_no >= 2 and not story_relevant:
        spans.extend(story)
    return sorted(set(spans))


def inside(spans: list[tuple[int, int]], pos: int) -> bool:
    """True when ``pos`` falls in one of the sorted, disjoint ``spans``."""
    i = bisect.bisect_right(spans, (pos, 1 << 62)) - 1
    return i >= 0 and spans[i][0] <= pos < spans[i][1]

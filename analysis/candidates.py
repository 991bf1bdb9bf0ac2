"""Step 1 of figure extraction: every number-with-unit candidate and its value.

One compiled regex finds numbers (Arabic with thousands commas, Chinese numerals, a
magnitude 万/亿/万亿, approximations 余/多 around it) followed by a measure word or
currency; bare magnitudes of yuan (超千亿元) and 亿 amounts without a unit are candidates
too. What a candidate counts, and whether it is a figure at all, is decided from its
context by :mod:`analysis.figures` with :mod:`analysis.context`.
"""

from __future__ import annotations

import bisect
import re

from analysis.numerals import parse_number

__all__ = ["CANDIDATE", "DIGIT_HINT", "MONEY_BEFORE", "TITLE", "in_title", "value_of"]

_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"

_AR = r"\d+(?:,\d{3})*(?:\.\d+)?"
_CN = (
    r"[零〇一二两三四五六七八九十][零〇一二两三四五六七八九十百千]*(?:点[零〇一二三四五六七八九]+)?"
)
_MAG = r"(?:万亿|千万|百万|亿|万|千(?![米瓦克]))"
_NUM = rf"(?:{_AR}|{_CN}){_MAG}?"
_COUNT_UNITS = (
    r"平方公里|公里|千米|公顷|亩|千瓦|兆瓦|吨|人次|个(?!月|工作日|小时|季度|百分点)|项(?!目)"
    r"|家(?![庭乡门])|条|所(?![有在属以谓])|座|名(?![单称义片录])|户|场(?![所景馆地])|次"
    r"|种(?![植子苗类])|笔|处(?![理于置罚室长])|辆|趟|台(?![湾阶])|套|册|件|人(?![民才口大员])"
)
_NOT_AFTER_NUMBER = r"(?<![\d.a-z零〇一二两三四五六七八九十百千])"
CANDIDATE = re.compile(
    rf"百分之(?P<pnum>{_NUM})"
    # 超千亿元, 突破百亿元: a bare magnitude of yuan (千亿级 is a class label and
    # 百亿元以上项目 a size band)
    rf"|{_NOT_AFTER_NUMBER}(?P<bare>千亿|百亿|万亿|千万|百万)(?P<bunit>美?元)(?!级|及?以[上下][{_HAN}])"
    # 6000余万元, 60多亿元, 130余亿元: approximations around the magnitude
    rf"|{_NOT_AFTER_NUMBER}(?P<num>{_AR}|{_CN})(?:余|多)?(?P<mag>{_MAG})?(?:余|多)?"
    rf"(?P<unit>个百分点|%|美?元(?!及?以[上下][{_HAN}]|级|/)|大|{_COUNT_UNITS})"
    # 总投资高达15亿!: a magnitude with no unit, money only when money is named before it
    rf"|{_NOT_AFTER_NUMBER}(?P<mnum>{_AR})(?P<mmag>万亿|亿)(?=[!！,，。;；\s]|\Z)"
)
_BARE_MAGNITUDES = {"千亿": 1e11, "百亿": 1e10, "万亿": 1e12, "千万": 1e7, "百万": 1e6}
MONEY_BEFORE = re.compile(
    r"(?:投资|资金|引资|金额|融资|收入|产值|营收|贷款|授信)[^，。；\d]{0,4}\Z"
)
TITLE = re.compile(r"《[^《》\n。;]*》?")
DIGIT_HINT = re.compile(r"[\d零〇一二两三四五六七八九十百千万亿]")


def in_title(titles: list[tuple[int, int]], pos: int) -> bool:
    i = bisect.bisect_right(titles, (pos, len(titles) + 1 << 40)) - 1
    return i >= 0 and titles[i][0] < pos < titles[i][1]


def value_of(m: re.Match[str]) -> tuple[float | None, str, str, int]:
    """``(value, kind, unit, start)`` of a candidate, before its context is read."""
    if m.group("pnum") is not None:
        return parse_number(m.group("pnum")), "percent", "%", m.start()
    if m.group("bare") is not None:
        return (
            _BARE_MAGNITUDES[m.group("bare")],
            "money",
            m.group("bare")[-1] + m.group("bunit"),
            m.start(),
        )
    if m.group("mnum") is not None:
        mag = m.group("mmag")
        return parse_number(m.group("mnum") + mag), "money", mag, m.start()
    mag = m.group("mag") or ""
    value: float | None = parse_number(m.group("num") + mag)
    unit = m.group("unit")
    if unit.endswith("元"):
        return value, "money", mag + unit, m.start()
    if unit in ("%", "个百分点"):
        return value, "percent", unit, m.start()
    return value, "count", unit, m.start()

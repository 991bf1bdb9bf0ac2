"""Step 2 of figure extraction: what the context of one number-with-unit says.

:mod:`analysis.figures` finds every number-with-unit candidate (step 1) and asks these
functions about the text around it (step 2): the head noun of the phrase it counts, a
verb that says what was counted, words that rule it out (thresholds, averages, prices,
ranges) and the place it belongs to. Each function looks at a few characters of repaired,
folded text around a span; all are pure and cheap (compiled regexes, short windows).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "Places",
    "head_kind",
    "implied_projects",
    "outside_region",
    "ruled_out",
]

_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"

# Head nouns: the noun a counted phrase ends in decides its kind. Task heads cover task
# lists and their items, reforms, measure packages, 民生实事 and their indicators.
_PROJECT_HEAD = re.compile(r"项目|工程")
_TASK_HEAD = re.compile(
    r"任务|事项|实事|举措|措施|清单|改革|重点工作|协作协议|合作协议|政策|指标(?=[^。；]*(?:达到|完成))"
)
# ... unless the phrase is about services and powers (36项政务服务事项跨市通办): counts.
_NOT_TASK = re.compile(
    r"政务|服务事项|审批|通办|跨域|跨市|跨省|权限|许可|证照|资金|高频|跑一次|一件事|办理|办事"
)
# A counted phrase runs to a clause end; 、 joins coordinated modifiers
# (3个高校、医院、科研院所合作项目). Another counted number starts a new phrase.
_PHRASE_END = re.compile(
    r"[，。；：！？,;:!?\n()（）]|[\d零〇一二两三四五六七八九十百千]+[个项条件大家]"
)
_MAX_PHRASE = 30
_MAX_SHORT_PHRASE = 14  # N大 + head: 十大重点民生实事, not a noun forty characters on


def head_kind(t: str, end: int, *, short: bool = False) -> tuple[str | None, int]:
    """``("projects" | "tasks" | None, end of the head)`` of the phrase starting at ``end``."""
    if t.startswith(("、", "和", "及"), end):  # 新开工项目15个、续建项目27个: no phrase
        return None, end
    limit = end + (_MAX_SHORT_PHRASE if short else _MAX_PHRASE)
    stop = _PHRASE_END.search(t, end, limit)
    phrase_end = stop.start() if stop else min(limit, len(t))
    phrase = t[end:phrase_end]
    project = _PROJECT_HEAD.search(phrase)
    task = _TASK_HEAD.search(phrase)
    if task and (project is None or task.start() < project.start()):
        if not _NOT_TASK.search(t, end, max(phrase_end, end + task.end())):
            return "tasks", end + task.end()
        return None, end
    if project:
        return "projects", end + project.end()
    return None, end


# Verbs that, right before a bare "N个", say projects were counted (一季度集中签约28个).
_PROJECT_VERB = re.compile(r"(?:集中|现场|新|累计|共|分别)?(?:签约|开工|竣工|投产|落地|入库)了?\Z")
_CLAUSE_BACK = re.compile(r"[，。；！？,;!?]|(?<![:：])\n")
_PARTS_AFTER = re.compile(r"[,，\s]*其中[^，。；\n]{0,12}?项目")


def implied_projects(t: str, start: int, end: int) -> bool:
    """A bare ``N个`` (no noun after it) that counts projects, read from its clause.

    The clause before it names 项目 (续建项目: 16个; 项目数量较上年增加79个), a signing or
    start verb precedes it (集中签约28个), or its parts follow (14个，其中产业项目11个).
    """
    if _PROJECT_VERB.search(t, max(0, start - 6), start):
        return True
    lo = max(0, start - 40)
    clause_start = lo
    for match in _CLAUSE_BACK.finditer(t, lo, start):
        clause_start = match.end()
    if "项目" in t[clause_start:start]:
        return True
    return _PARTS_AFTER.match(t, end) is not None


# Words right before a number that make it a threshold, an average, a price or a saving.
_RULED_OUT_BACK = re.compile(
    r"(?:不低于|不少于|不超过|不高于|低于|高于|平均|均值|人均|户均|单个|单笔|每个|每张|每次|每趟"
    r"|票价|起步价|单价|价格|售价|收费|费用|话费|资费|票|节省|节约|省下|减免|优惠)"
    r"[^，。；\d]{0,6}\Z"
    r"|(?<![通经超])过\Z"  # 投资过百亿元的项目: a threshold
)
_RANGE_BACK = re.compile(r"\d(?:\.\d+)?[万亿千百]*[^\d，。；]{0,3}[至到~～—\-]\Z")
_RANGE_AFTER = re.compile(r"[至到~～—\-]\d")


def ruled_out(t: str, start: int, end: int, *, money: bool) -> bool:
    """True when the words around the span make it no figure (range, threshold, price)."""
    if _RANGE_BACK.search(t, max(0, start - 12), start) or _RANGE_AFTER.match(t, end):
        return True
    return money and _RULED_OUT_BACK.search(t, max(0, start - 8), start) is not None


_VENUE = frozenset("在赴于到(（")


@dataclass(frozen=True)
class Places:
    """Place names that say whose figure a number is: the region's and other places'.

    ``inside`` holds the region's cities, districts and landmarks (and the region and the
    province as a whole); ``outside`` other prefectures, provinces and cities.
    """

    inside: tuple[str, ...] = ()
    outside: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        names = sorted({*self.inside, *self.outside}, key=len, reverse=True)
        pattern = re.compile("|".join(re.escape(n) for n in names)) if names else None
        object.__setattr__(self, "_pattern", pattern)
        object.__setattr__(self, "_outside", frozenset(self.outside))

    def last(self, text: str) -> str | None:
        """The last place named in ``text``."""
        pattern: re.Pattern[str] | None = self.__dict__["_pattern"]
        if pattern is None:
            return None
        last = None
        for found in pattern.finditer(text):
            # 湘潭市在佛山举办推介会, 赴深招商, 投资环境(上海)推介会: a venue, not the owner
            if not (found.start() and text[found.start() - 1] in _VENUE):
                last = found.group()
        return last

    def is_outside(self, name: str) -> bool:
        return name in self.__dict__["_outside"]


_SENTENCE_BACK = re.compile(r"[。！？!?\n]")


def outside_region(t: str, start: int, places: Places | None) -> bool:
    """True when the nearest place named before ``start`` in its sentence is outside."""
    if places is None or not places.outside:
        return False
    lo = max(0, start - 60)
    begin = lo
    for match in _SENTENCE_BACK.finditer(t, lo, start):
        begin = match.end()
    name = places.last(t[begin:start])
    return name is not None and places.is_outside(name)

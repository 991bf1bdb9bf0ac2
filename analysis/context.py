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
    r"任务|事项|实事|举措|措施|清单|改革|重点工作|协议|工作要求|要求|政策"
    r"|指标(?=[^。；]*(?:达到|完成))"
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
_PLACE_UNIT = re.compile(r"市州|县市区|县市|区县|市县|乡镇|街道|省份|城市|地市")
_MAX_PHRASE = 30
_MAX_SHORT_PHRASE = 14  # N大 + head: 十大重点民生实事, not a noun forty characters on


def head_kind(t: str, end: int, *, short: bool = False) -> tuple[str | None, int]:
    """``("projects" | "tasks" | None, end of the head)`` of the phrase starting at ``end``."""
    if t.startswith(("、", "和", "及"), end):  # 新开工项目15个、续建项目27个: no phrase
        return None, end
    if _PLACE_UNIT.match(t, end):  # 14个市州项目建设比拼: the places are counted
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
    r"|票价|起步价|单价|价格|售价|收费|话费|资费|票|节省|节约|省下|减免|优惠"
    r"|运费|运价|租金|房价|油价|菜价|起付线|封顶线|上限|下限|补助标准|补贴标准|收费标准"
    r"|最高|最低|最多|至多|至少|一次性|罚款|罚没|罚金|赔偿|违约金|受理费|诉讼费)"
    r"[^，。；\d]{0,6}\Z"
    r"|(?<![通经超])过\Z"  # 投资过百亿元的项目: a threshold
)
# 费用 is a fee (服务费用30元) unless the clause sums it up (结算医疗费用19.8亿元).
_FEE_BACK = re.compile(r"费用[^,，。;；\d]{0,4}\Z")
_AGGREGATE = re.compile(r"结算|累计|共计|合计|总")
# A per-unit amount or award: 每公斤28.6元, 每家企业每年最高200万元, 按每公里5万元给予补贴,
# 对新认定企业给予一次性奖励100万元. 每年 alone is a period (每年可实现税收3500万元): kept.
# 人均可支配收入分别为6.8万元: a per-head ratio, however long its noun
_PER_HEAD_BACK = re.compile(r"(?:人均|户均|亩均|每人)[^,，。;；\d]{0,10}\Z")
_PER_UNIT_BACK = re.compile(
    r"每(?!年)[^,，。;；：:\d]{0,10}\Z"
    # 对符合条件的企业给予50万元补贴: a policy's award per recipient (省里给予株洲3亿元: a grant)
    r"|(?:对|按)[^。;；!?]{1,24}给予[^,，。;；\d]{0,8}\Z"
)
_FROM_AFTER = re.compile(r"起(?![步草飞航])")  # 运费80元起: a starting price
# 5亿元至10亿元, 3元至15元, 12℃至19℃: a range (the middle is a unit, not 月底达 of 达到)
_RANGE_BACK = re.compile(
    r"\d(?:\.\d+)?[万亿千百]*[元个项家亩公里米℃°c%人岁名座条件户次倍吨平方美分秒天年]{0,3}"
    r"[至到~～—\-]\Z"
)
_RANGE_AFTER = re.compile(r"[至到~～—\-]\d")


# 投资超10亿元的项目有5个, 营收100亿元以上的企业4家: a threshold sizing the things
# counted next (总投资约1200亿元的重大项目200个 is their sum: no threshold word)
_BAND_AFTER = re.compile(
    r"(?P<above>及?以[上下])?的[\u4e00-\u9fff]{1,8}?(?:有|共|达|为)?"
    r"[\d零〇一二两三四五六七八九十]+[个家项座所]"
)
_ABOVE_BACK = re.compile(r"(?:超过|超|逾|不低于|不少于)\Z")
# 每万人拥有发明专利36件: a per-capita ratio
_PER_CAPITA_BACK = re.compile(r"每[十百千万]+(?:人|户|平方公里)[^,，。;；\d]{0,10}\Z")


# 最高额度为70万元,株洲为60万元: an elliptic clause repeating the last one's measure
_ELLIPTIC_BACK = re.compile(r"[,，;；、][\u4e00-\u9fff]{1,6}?(?:为|是|约)\Z|[、和及]\Z")
_CLAUSE_AMOUNT = re.compile(r"\d+(?:\.\d+)?(?:万亿|亿|万)?美?元")


def _parallel_ruled_out(t: str, start: int, depth: int) -> bool:
    """The clause is ``X为N元`` and the previous clause's amount was ruled out."""
    elliptic = _ELLIPTIC_BACK.search(t, max(0, start - 9), start)
    if elliptic is None:
        return False
    lo = max(0, elliptic.start() - 30)
    amounts = list(_CLAUSE_AMOUNT.finditer(t, lo, elliptic.start()))
    if not amounts:
        return False
    last = amounts[-1]
    return ruled_out(t, last.start(), last.end(), money=True, parallel=depth - 1)


def ruled_out(t: str, start: int, end: int, *, money: bool, parallel: int = 3) -> bool:
    """True when the words around the span make it no figure (range, threshold, price).

    Money is also ruled out when it is per unit or a cap: a price (每公斤28.6元), a
    per-unit subsidy (每公里5万元), an award per recipient (给予最高2000万元), a fine, and
    an elliptic clause or list item after such an amount (``parallel`` levels back).
    """
    if _RANGE_BACK.search(t, max(0, start - 12), start) or _RANGE_AFTER.match(t, end):
        return True
    if not money:
        return _PER_CAPITA_BACK.search(t, max(0, start - 16), start) is not None
    band = _BAND_AFTER.match(t, end)
    if band and (band.group("above") or _ABOVE_BACK.search(t, max(0, start - 3), start)):
        return True
    back = t[max(0, start - 40) : start]
    if _RULED_OUT_BACK.search(t, max(0, start - 8), start) is not None:
        return True
    fee = _FEE_BACK.search(back)
    if fee is not None and not _AGGREGATE.search(back, max(0, fee.start() - 8), fee.start()):
        return True
    if _PER_UNIT_BACK.search(back) or _PER_HEAD_BACK.search(back):
        return True
    if _FROM_AFTER.match(t, end) is not None:
        return True
    return parallel > 0 and _parallel_ruled_out(t, start, parallel)


_VENUE = frozenset("赴(（")
# 在佛山举办推介会: a place where an event is held, not the figure's owner.
_EVENT_VENUE = re.compile(r"[^,，。;；]{0,8}?(?:举办|举行|召开|开展|推介|招商|参展|参加)")
_AT = frozenset("在于到")
_PARTNER = frozenset("与和同")
_PARTNER_VERB = re.compile(r"[市省区县]?(?:签约|签订|签署|合作|共建|联合|携手)")
# 一家深圳企业, 来自成都的企业, 深圳客商: where a firm comes from, not whose figure it is.
_ORIGIN_AFTER = re.compile(r"籍|客商|资本|商会|[^,，。;；、]{0,8}?(?:集团|股份|有限公司)")
_EVENT_NAME = re.compile(r"[^,，。;；]{0,4}?(?:对接|推介会|洽谈|恳谈|招商会|博览会|经贸)")
_ORIGIN_BEFORE = ("来自", "一家", "多家", "家")


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
        venue_end = -1
        for found in pattern.finditer(text):
            before = text[found.start() - 1] if found.start() else ""
            # 赴深招商, 投资环境(上海)推介会, 在广东佛山举办推介会, 大湾区产业对接会:
            # a venue or an event's name, not the owner
            event = _EVENT_VENUE.match(text, found.end()) is not None
            if (
                before in _VENUE
                or (event and (before in _AT or found.start() == venue_end))
                or _EVENT_NAME.match(text, found.end()) is not None
            ):
                venue_end = found.end()
                continue
            # 湘潭市与深圳市签约: a partner of the region's city, not the owner
            if (
                before in _PARTNER
                and last is not None
                and not self.is_outside(last)
                and _PARTNER_VERB.match(text, found.end()) is not None
            ):
                continue
            # 一家深圳企业在湘潭投资, 来自成都的企业: the firm's origin
            if text.endswith(_ORIGIN_BEFORE, 0, found.start()) or (
                _ORIGIN_AFTER.match(text, found.end()) is not None
            ):
                continue
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

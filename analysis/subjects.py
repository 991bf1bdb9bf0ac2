"""Subjects of figures: the noun phrase a number counts or describes.

The subject is the noun run right after the unit (``60项重点合作事项``) or, failing that,
before the number (``签约金额160.6亿元``), cut at verbs and connectors and kept short;
for a phrase with a head noun further on (``31个总投资约500亿元的产业招商项目``) it is the
noun run that ends in the head.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Subject", "backward", "forward", "head_subject", "unquote"]

_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"

_RUN = f"[{_HAN}“”]"
_FWD_RUN = re.compile(f"{_RUN}{{1,24}}")
_BACK_RUN = re.compile(f"{_RUN}*\\Z")
_FWD_STOP = re.compile(
    r"实现|获得|获批|获评|获|进行|全部|均已|均|已经|已|正在|与|和|以及|及|的|完成|通过|入选"
    r"|建立|达到|为|在(?!建)|参与|开展|对|挂牌|纳入|落地|开工|投产|签约|总投资|投资|累计"
    r"|共|涉及|覆盖|分布|位于|提供|参加|被|将|得到|超|约|同比|占|退出|建成|开通|运营|投入"
    r"|陆续|相继|顺利|加快|有序|稳步|持续|全面|基本|率先|成功|首次|等(?![级医])|其中|以上|以下|左右"
    r"|互认|通办|正|是|都|也|还|又|就|由|招商|引进|完工|竣工|投用|投运|提前"
)
_TRAIL = re.compile(
    r"(?:约为|约|超过|超|近|逾|达到了|达到|已达|达|为|共计|共有|共|计|累计|总计|合计|突破|高达"
    r"|提高到|提高至|提升到|提升至|提高|提升|增至|增长到|增长至|增长了|增长|下降到|下降至|下降了|下降"
    r"|同比|占|是|已有|拥有|另有|还有|尚有|剩余|其余|分别为|分别|其中|了|左右)\Z"
)
_BACK_STOP = re.compile(
    r"出台|实施|印发|制定|招商引进|引进|引入|完成(?!率)|办结|实现|拥有|已有|建成|分解|明确|确定|梳理|部署|发布|获得|获批"
    r"|获|投入|拨付|争取|安排|下达|落实|签订|形成|开展|组织|谋划|吸引|带动|撬动|列入|纳入"
    r"|涉及|包括|推进|对|将|已|和|与|以及|及|的|了|其中|并|累计|为|是|达|全市|全省|三市"
    r"|今年|去年|目前|截至|年度|年|月|日|至|到|在(?!建)|另有|还有|其余|其|等"
    r"|上旬|中旬|下旬|月底|年底|以来|季度"
)
_CHANGE_WORDS = frozenset({"增长", "下降", "提高", "提升", "增长了", "下降了"})
_THRESHOLD = re.compile(r"(?:万|亿)?元(?:及)?以上")
_DONE_LEAD = re.compile(r"(?<![将要拟争划])(?:完成|办结)了?\Z")  # 将完成: a plan
_PROGRESS_LEAD = re.compile(r"(?:正在|正|仍在|还在)推进中?的?\Z")
_LEAD_FILLER = re.compile(r"(?:已经|均已|已|正在|正|仍在)\Z")
_MAX_BACK = 10
_MAX_FWD = 12


@dataclass(frozen=True)
class Subject:
    text: str
    start: int
    end: int
    verb: str | None = None  # "done" or "progress" when a verb just before it says so


def forward(t: str, pos: int) -> Subject:
    match = _FWD_RUN.match(t, pos)
    if not match:
        return Subject("", pos, pos)
    run = match.group()
    if run.startswith("“"):  # 12个“飞地园区”: the quoted term is the subject
        close = run.find("”")
        run = run[: close + 1] if close > 0 else run
    else:  # 200项政务服务事项“跨市通办”: a later quote starts a new element
        quote = run.find("“")
        run = run[:quote] if quote > 0 else run
    stop = _FWD_STOP.search(run)
    if stop:
        run = run[: stop.start()]
    run = run[:_MAX_FWD]
    if len(unquote(run)) < 2:
        return Subject("", pos, pos)
    return Subject(unquote(run), pos, pos + len(run))


def unquote(subject: str) -> str:
    return subject.replace("“", "").replace("”", "")


def backward(t: str, pos: int) -> Subject:
    lo = max(0, pos - 40)
    match = _BACK_RUN.search(t, lo, pos)
    run_start = match.start() if match else pos
    if run_start == pos and pos and t[pos - 1] in ")）":
        # 债务融资工具(中期票据)10亿元: the noun is before the aside.
        opening = max(t.rfind("(", lo, pos), t.rfind("（", lo, pos))
        if opening > lo:
            match = _BACK_RUN.search(t, lo, opening)
            run_start = match.start() if match else opening
            pos = opening
    run = t[run_start:pos]
    if _THRESHOLD.match(run):  # 5000万元以上项目: the number belongs to the subject
        digits = re.search(r"[\d.]+\Z", t[lo:run_start])
        if digits:
            run_start -= len(digits.group())
            run = t[run_start:pos]
    change = ""
    while trail := _TRAIL.search(run):
        change = change or trail.group()
        run = run[: trail.start()]
    stops = list(_BACK_STOP.finditer(run))
    cut = stops[-1].end() if stops else 0
    lead, subject = run[:cut], run[cut:]
    verb: str | None = None
    if _DONE_LEAD.search(lead):
        verb = "done"
    elif _PROGRESS_LEAD.search(lead):
        verb = "progress"
    if not subject and stops:
        # 重点合作事项已完成52项, 完成年度投资计划的92%: the noun sits before the last stop.
        before = run[: stops[-1].start()]
        if verb:
            before = _LEAD_FILLER.sub("", before)
        inner = list(_BACK_STOP.finditer(before))
        subject = before[inner[-1].end() :] if inner else before
        cut = len(before) - len(subject)
    if len(subject) < 2:  # 率, 底: a single character is a fragment, not a subject
        subject, cut = "", len(run)
    if not subject and change in _CHANGE_WORDS:
        subject = change  # 较去年增长15%: at least say what the rate is
    if len(subject) > _MAX_BACK:
        cut += len(subject) - _MAX_BACK
        subject = subject[-_MAX_BACK:]
    return Subject(unquote(subject), run_start + cut, pos, verb)


_TRAILING_NOUN = re.compile(f"[{_HAN}“”]+\\Z")
_MAX_SUBJECT = 12


def head_subject(t: str, end: int, head_end: int) -> str:
    """The noun phrase ending at the head noun, without numbers, 的 or leading modifiers."""
    match = _TRAILING_NOUN.search(t, end, head_end)
    subject = unquote(match.group() if match else t[end:head_end])
    subject = subject.rsplit("的", 1)[-1]
    return subject[-_MAX_SUBJECT:]

"""Key figures of integration news: task counts, projects, money, counts and rates.

A careful pattern-based extractor (libraries such as jionlp and cn2an misread our
numbers). The text is folded with :func:`analysis.text.fold`, so traditional script and
full-width digits give the same figures; e-paper hard line breaks and stray spaces are
repaired on a copy that keeps a map back to the folded text, so every ``Figure.text`` is an
exact substring of ``fold(text)``.

What is *not* a figure: dates and durations (年, 月, 日 are not units), ordinals
(第六届), per-unit ratios (每万人), numbers inside 《document titles》, list numbering,
codes (S3线, G60), the article 一 (一个城市), and physical measurements in 米, ℃ or 度
(depths and temperatures are technical records, not integration progress). Lengths in
公里 and areas in 亩/公顷 are counts.
"""

from __future__ import annotations

import bisect
import dataclasses
import re
from dataclasses import dataclass

from analysis.context import Places, head_kind, implied_projects, outside_region, ruled_out
from analysis.numerals import parse_number
from analysis.sentences import repair_breaks, sentence_bounds
from analysis.text import HAN, fold

__all__ = ["KINDS", "Figure", "extract_figures", "repair_breaks", "sentence_bounds"]

KINDS: tuple[str, ...] = ("tasks", "projects", "money", "count", "percent")

_HAN = HAN
_HAN_RE = re.compile(f"[{_HAN}]")

# ---------------------------------------------------------------- the figure value


_DEFAULT_SUBJECT = {"tasks": "任务", "projects": "项目", "money": "金额", "count": "数量"}
_MONEY_DIVISORS = (("万亿", 1e12), ("千万", 1e7), ("百万", 1e6), ("亿", 1e8), ("万", 1e4))


# Display and ranking order of figure kinds: key kinds first.
KIND_ORDER = {"tasks": 0, "projects": 1, "money": 2, "count": 3, "percent": 4}


@dataclass(frozen=True)
class Figure:
    """One key figure found in a text.

    ``value`` is normalised (万=1e4, 亿=1e8, 万亿=1e12; money in yuan; for tasks the
    total, else the done count, else the in-progress count). ``text`` is the exact span
    in ``fold(input)``; ``sentence`` is the folded sentence with line breaks repaired.
    """

    kind: str
    value: float
    unit: str
    subject: str
    text: str
    sentence: str
    done: int | None = None
    total: int | None = None
    in_progress: int | None = None

    def to_json(self) -> dict[str, object]:
        """All fields as a JSON-serialisable dict (flat values: no deep copy needed)."""
        return {f.name: getattr(self, f.name) for f in _FIELDS}

    def describe(self) -> str:
        """Short Chinese rendering: ``重点合作事项：完成 52/60 项，8 项推进中``."""
        subject = self.subject or _DEFAULT_SUBJECT.get(self.kind, "")
        if self.kind == "tasks":
            unit = self.unit
            if self.done is not None and self.total is not None:
                line = f"{subject}：完成 {self.done}/{self.total} {unit}"
            elif self.done is not None:
                line = f"{subject}：完成 {self.done} {unit}"
            else:
                line = f"{subject} {_number(self.value)} {unit}"
            if self.in_progress is not None and (self.done is not None or self.total is not None):
                line += f"，{self.in_progress} {unit}推进中"
            elif self.in_progress is not None:
                line = f"{subject}：{self.in_progress} {unit}推进中"
            return line
        if self.kind == "money":
            divisor = next((d for p, d in _MONEY_DIVISORS if self.unit.startswith(p)), 1.0)
            return f"{subject} {_number(self.value / divisor)} {self.unit}"
        if self.kind == "percent":
            gap = "" if self.unit == "%" else " "
            return f"{subject} {_number(self.value)}{gap}{self.unit}"
        return f"{subject} {_magnitude(self.value)} {self.unit}"


_FIELDS = dataclasses.fields(Figure)


def _number(value: float) -> str:
    if abs(value - round(value)) < 1e-9:
        return str(round(value))
    return f"{value:.4f}".rstrip("0").rstrip(".")


def _magnitude(value: float) -> str:
    for suffix, factor in (("亿", 1e8), ("万", 1e4)):
        if value >= factor and round(value / factor, 4) * factor == value:
            return _number(value / factor) + suffix
    return _number(value)


# ---------------------------------------------------------------- patterns

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
_CANDIDATE = re.compile(
    rf"百分之(?P<pnum>{_NUM})"
    # 超千亿元, 突破百亿元, 千亿元以上: a bare magnitude of yuan (千亿级 is a class label)
    rf"|{_NOT_AFTER_NUMBER}(?P<bare>千亿|百亿|万亿|千万|百万)(?P<bunit>美?元)(?!级)"
    # 6000余万元, 60多亿元, 130余亿元: approximations around the magnitude
    rf"|{_NOT_AFTER_NUMBER}(?P<num>{_AR}|{_CN})(?:余|多)?(?P<mag>{_MAG})?(?:余|多)?"
    rf"(?P<unit>个百分点|%|美?元(?!及?以[上下][{_HAN}]|级|/)|大|{_COUNT_UNITS})"
    # 总投资高达15亿!: a magnitude with no unit, money only when money is named before it
    rf"|{_NOT_AFTER_NUMBER}(?P<mnum>{_AR})(?P<mmag>万亿|亿)(?=[!！,，。;；\s]|\Z)"
)
_BARE_MAGNITUDES = {"千亿": 1e11, "百亿": 1e10, "万亿": 1e12, "千万": 1e7, "百万": 1e6}
_MONEY_BEFORE = re.compile(
    r"(?:投资|资金|引资|金额|融资|收入|产值|营收|贷款|授信)[^，。；\d]{0,4}\Z"
)
_MAG_SUFFIX = re.compile(rf"{_MAG}\Z")
_TITLE = re.compile(r"《[^《》\n。;]*》?")
_DIGIT_HINT = re.compile(r"[\d零〇一二两三四五六七八九十]")

_RUN = f"[{_HAN}“”]"
_FWD_RUN = re.compile(f"{_RUN}{{1,24}}")
_BACK_RUN = re.compile(f"{_RUN}*\\Z")
_FWD_STOP = re.compile(
    r"实现|获得|获批|获评|获|进行|全部|均已|均|已经|已|正在|与|和|以及|及|的|完成|通过|入选"
    r"|建立|达到|为|在(?!建)|参与|开展|对|挂牌|纳入|落地|开工|投产|签约|总投资|投资|累计"
    r"|共|涉及|覆盖|分布|位于|提供|参加|被|将|得到|超|约|同比|占|退出|建成|开通|运营|投入"
    r"|陆续|相继|顺利|加快|有序|稳步|持续|全面|基本|率先|成功|首次|等(?![级医])|其中|以上|以下|左右"
    r"|互认|通办|正|是|都|也|还|又|就|由|招商|引进"
)
_TRAIL = re.compile(
    r"(?:约为|约|超过|超|近|逾|达到了|达到|已达|达|为|共计|共有|共|计|累计|总计|合计|突破|高达"
    r"|提高到|提高至|提升到|提升至|提高|提升|增至|增长到|增长至|增长了|增长|下降到|下降至|下降了|下降"
    r"|同比|占|是|已有|拥有|另有|还有|尚有|剩余|其余|分别为|分别|其中|了|左右)\Z"
)
_BACK_STOP = re.compile(
    r"招商引进|引进|引入|完成(?!率)|办结|实现|拥有|已有|建成|分解|明确|确定|梳理|部署|发布|获得|获批"
    r"|获|投入|拨付|争取|安排|下达|落实|签订|形成|开展|组织|谋划|吸引|带动|撬动|列入|纳入"
    r"|涉及|包括|推进|对|将|已|和|与|以及|及|的|了|其中|并|共|累计|为|是|达|全市|全省|三市"
    r"|今年|去年|目前|截至|年度|年|月|日|至|到|在(?!建)|另有|还有|其余|其|等"
)
_CHANGE_WORDS = frozenset({"增长", "下降", "提高", "提升", "增长了", "下降了"})
_THRESHOLD = re.compile(r"(?:万|亿)?元(?:及)?以上")
_TASK = re.compile(r"任务|事项|举措|重点工作|改革措施")
_NOT_TASK = re.compile(r"政务|服务事项|审批|通办|权限|许可|证照|资金")
_ALL_DONE = re.compile(
    r"[,，]?(?:目前|现)?(?:已经|均已|已)?(?:100%|百分之百|全部|全面|均)(?:已经|已)?(?:完成|办结|落实到位|销号)"
)
_DONE_AFTER = re.compile(
    r"(?:已经|均已|现已|已全部|已提前|已|全部|基本|提前)?(?:完成|办结|落实到位|销号)"
)
_DONE_LEAD = re.compile(r"(?:完成|办结)了?\Z")
_PROGRESS_AFTER = re.compile(r"(?:正在|正|仍在|还在|有序|稳步|加快|持续)?推进")
_PROGRESS_LEAD = re.compile(r"(?:正在|正|仍在|还在)推进中?的?\Z")
_LEAD_FILLER = re.compile(r"(?:已经|均已|已|正在|正|仍在)\Z")
_TASK_UNITS = frozenset("项个条件")
_PROJECT_UNITS = frozenset("项个")
_MAX_BACK = 10
_MAX_FWD = 12
_LINK_SENTENCES = 2
_LINK_CHARS = 200


# ---------------------------------------------------------------- extraction


@dataclass
class _Draft:
    kind: str
    value: float
    unit: str
    subject: str
    start: int
    end: int
    role: str = "plain"  # "plain" | "total" | "done" | "progress"
    done: int | None = None
    total: int | None = None
    in_progress: int | None = None
    bare: bool = False  # no noun after the unit: 规划编制3项


@dataclass(frozen=True)
class _Subject:
    text: str
    start: int
    end: int
    verb: str | None = None  # "done" or "progress" when a verb just before it says so


def _forward(t: str, pos: int) -> _Subject:
    match = _FWD_RUN.match(t, pos)
    if not match:
        return _Subject("", pos, pos)
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
    if len(_unquote(run)) < 2:
        return _Subject("", pos, pos)
    return _Subject(_unquote(run), pos, pos + len(run))


def _unquote(subject: str) -> str:
    return subject.replace("“", "").replace("”", "")


def _backward(t: str, pos: int) -> _Subject:
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
    return _Subject(_unquote(subject), run_start + cut, pos, verb)


def _in_title(titles: list[tuple[int, int]], pos: int) -> bool:
    i = bisect.bisect_right(titles, (pos, len(titles) + 1 << 40)) - 1
    return i >= 0 and titles[i][0] < pos < titles[i][1]


def _value_of(m: re.Match[str]) -> tuple[float | None, str, str, int]:
    """``(value, kind, unit, start)`` of a candidate, before its context is read."""
    if m.group("pnum") is not None:
        return parse_number(m.group("pnum")), "percent", "%", m.start()
    if m.group("bare") is not None:
        value = _BARE_MAGNITUDES[m.group("bare")]
        return value, "money", m.group("bare")[-1] + m.group("bunit"), m.start()
    if m.group("mnum") is not None:
        mag = m.group("mmag")
        return parse_number(m.group("mnum") + mag), "money", mag, m.start()
    mag = m.group("mag") or ""
    value = parse_number(m.group("num") + mag)
    unit = m.group("unit")
    if unit.endswith("元"):
        return value, "money", mag + unit, m.start()
    if unit in ("%", "个百分点"):
        return value, "percent", unit, m.start()
    return value, "count", unit, m.start()


def _read(
    t: str, m: re.Match[str], titles: list[tuple[int, int]], places: Places | None
) -> tuple[_Draft | None, int]:
    """Decide one candidate from its context; return the draft and the end of what it used."""
    value, kind, unit, start = _value_of(m)
    end = m.end()
    before = t[start - 1] if start else " "
    if before in "第每" or value is None or _in_title(titles, start):
        return None, end
    if kind == "money" and m.group("mnum") is not None:
        if not _MONEY_BEFORE.search(t, max(0, start - 12), start):
            return None, end
    if ruled_out(t, start, end, money=kind == "money") or outside_region(t, start, places):
        return None, end
    back = _backward(t, start)
    if kind in ("money", "percent"):
        fwd = _forward(t, end)
        subj = back if back.text else fwd
        return _Draft(kind, value, unit, subj.text, min(start, subj.start), max(end, subj.end)), end
    if m.group("num") == "一":  # the article: 一个城市, 一项改革
        return None, end
    if unit == "大":
        return _grouped(t, start, end, value), end
    return _counted(t, start, end, value, unit, back)


def _grouped(t: str, start: int, end: int, value: float) -> _Draft | None:
    """N大 + head noun: 十大项目 (projects), 十大民生实事 (tasks); other groupings are not figures."""
    categories = t.startswith("项", end) and not t.startswith("项目", end)
    if categories or (start and t[start - 1] in "个项"):
        return None  # 7大项42项具体任务 (the categories), 五个十大 (a slogan)
    kind, head_end = head_kind(t, end, short=True)
    if kind is None:
        return None
    subject = _head_subject(t, end, head_end)
    draft = _Draft(kind, value, "项" if kind == "tasks" else "个", subject, start, head_end)
    if kind == "tasks":
        draft.role, draft.total = "total", round(value)
    return draft


_TRAILING_NOUN = re.compile(f"[{_HAN}“”]+\\Z")
_MAX_SUBJECT = 12


def _head_subject(t: str, end: int, head_end: int) -> str:
    """The noun phrase ending at the head noun, without numbers, 的 or leading modifiers."""
    match = _TRAILING_NOUN.search(t, end, head_end)
    subject = _unquote(match.group() if match else t[end:head_end])
    subject = subject.rsplit("的", 1)[-1]
    return subject[-_MAX_SUBJECT:]


def _counted(
    t: str, start: int, end: int, value: float, unit: str, back: _Subject
) -> tuple[_Draft | None, int]:
    """A count: tasks, projects or another counted thing, from its head noun and verbs."""
    fwd = _forward(t, end)
    head, head_end = head_kind(t, end) if unit in _TASK_UNITS else (None, end)
    if head is None and unit == "条" and t.startswith("”", end):
        head, head_end = "tasks", end  # a named measure package: 稳增长“43条”
    if head is not None and head_end > fwd.end and not _TASK.search(fwd.text or "-"):
        subject = _head_subject(t, end, head_end)
        fwd = _Subject(subject, end, head_end) if subject else fwd
    subj = fwd if fwd.text else back
    after = [t[end : end + 12]]
    if subj is fwd:
        after.append(t[fwd.end : fwd.end + 12])
    all_done = next((a for a in (_ALL_DONE.match(x) for x in after) if a), None)
    done = all_done is not None or any(_DONE_AFTER.match(x) for x in after)
    progress = any(_PROGRESS_AFTER.match(x) for x in after)
    if back.verb:
        done, progress = done or back.verb == "done", progress or back.verb == "progress"
    span = (min(start, subj.start), max(end, subj.end))
    used = end if all_done is None else end + (all_done.end() - all_done.start())
    if subj is fwd and all_done is not None:
        used = fwd.end + all_done.end()
    task_like = head == "tasks" or (
        subj is back and bool(_TASK.search(subj.text)) and not _NOT_TASK.search(subj.text)
    )
    if unit in _TASK_UNITS and (task_like or (not subj.text and (done or progress))):
        draft = _Draft("tasks", value, unit, subj.text, *span)
        count = round(value)
        if all_done is not None and subj.text:
            draft.role, draft.total, draft.done = "total", count, count
        elif done:
            draft.role, draft.done = "done", count
        elif progress:
            draft.role, draft.in_progress = "progress", count
        else:
            draft.role, draft.total = "total", count
        return draft, max(used, span[1] if all_done is not None else end)
    draft = _Draft("count", value, unit, subj.text, *span, bare=not fwd.text)
    if unit in _PROJECT_UNITS and (
        head == "projects"
        or (subj is back and "项目" in subj.text)
        or (unit == "个" and not fwd.text and implied_projects(t, start, end))
    ):
        draft.kind = "projects"
        draft.subject = draft.subject or "项目"
    return draft, end


def _link(drafts: list[_Draft], sentence_of: list[int]) -> list[_Draft]:
    """Attach done and in-progress clauses to the task total they report on."""
    out: list[_Draft] = []
    target: _Draft | None = None
    for draft in drafts:
        if draft.role == "total":
            out.append(draft)
            target = draft
            continue
        if draft.role not in ("done", "progress"):
            out.append(draft)
            continue
        count = round(draft.value)
        attached = False
        if (
            target is not None
            and target.total is not None
            and sentence_of[draft.start] - sentence_of[target.end - 1] <= _LINK_SENTENCES
            and draft.start - target.end <= _LINK_CHARS
        ):
            total = target.total
            if draft.role == "done" and target.done is None:
                attached = count + (target.in_progress or 0) <= total
                if attached:
                    target.done = count
            elif draft.role == "progress" and target.in_progress is None:
                attached = count + (target.done or 0) <= total
                if attached:
                    target.in_progress = count
            if attached and sentence_of[draft.start] == sentence_of[target.start]:
                target.end = max(target.end, draft.end)
        if not attached and draft.subject:
            out.append(draft)
    return out


_SECTION_REACH = 300


def _is_section(draft: _Draft, drafts: list[_Draft]) -> bool:
    """A bare ``N项`` after its own label, in reach of a larger task total or its sections."""
    if draft.kind != "count" or not draft.bare or draft.unit != "项" or not draft.subject:
        return False
    if _NOT_TASK.search(draft.subject):
        return False
    tasks = [d for d in drafts if d.kind == "tasks"]
    # the list's own total (sections are bare too), and the last section read so far
    total = next((d for d in reversed(tasks) if not d.bare), None)
    return (
        total is not None
        and total.total is not None
        and draft.value < total.total
        and draft.start - tasks[-1].end <= _SECTION_REACH
    )


def extract_figures(text: str, places: Places | None = None) -> list[Figure]:
    """Figures in document order.

    Input is display text; it is folded here with :func:`analysis.text.fold` (so
    traditional script and full-width digits give the same figures) and every
    ``Figure.text`` is a substring of ``fold(text)``.
    """
    folded = fold(text) if text else ""
    t, index = repair_breaks(folded)
    if not _DIGIT_HINT.search(t):
        return []
    bounds = sentence_bounds(t)
    sentence_of = [0] * (len(t) + 1)
    for number, (start, _) in enumerate(bounds):
        stop = bounds[number + 1][0] if number + 1 < len(bounds) else len(t) + 1
        sentence_of[start:stop] = [number] * (stop - start)
    titles = [m.span() for m in _TITLE.finditer(t)]
    drafts: list[_Draft] = []
    consumed = 0
    for match in _CANDIDATE.finditer(t):
        if match.start() < consumed:
            continue
        draft, consumed = _read(t, match, titles, places)
        if draft is None:
            continue
        if _is_section(draft, drafts):
            # 50项任务 … 规划编制3项、产业协同14项: the parts of a task list are tasks
            draft.kind, draft.role, draft.total = "tasks", "total", round(draft.value)
        if not draft.subject and draft.role == "plain" and draft.kind != "money":
            # 新增12项，累计达到218项: the second number counts the same thing.
            prev = drafts[-1] if drafts else None
            if (
                prev is None
                or not prev.subject
                or prev.unit != draft.unit
                or sentence_of[prev.start] != sentence_of[draft.start]
            ):
                continue
            draft.subject, draft.kind = prev.subject, prev.kind
        drafts.append(draft)
    figures: list[Figure] = []
    for d in _link(drafts, sentence_of):
        s, e = bounds[sentence_of[d.start]] if bounds else (0, len(t))
        value = float(d.total or d.done or d.in_progress or 0) if d.kind == "tasks" else d.value
        figures.append(
            Figure(
                kind=d.kind,
                value=value,
                unit=d.unit,
                subject=d.subject,
                text=folded[index[d.start] : index[d.end - 1] + 1],
                sentence=t[s:e],
                done=d.done,
                total=d.total,
                in_progress=d.in_progress,
            )
        )
    return figures

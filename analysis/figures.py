"""Key figures of integration news: task counts, projects, money, counts and rates.

Two steps: :mod:`analysis.candidates` finds every number-with-unit (step 1); each
candidate is then decided here from its context (step 2, helpers in
:mod:`analysis.context`): kind from the head noun and the verb, exclusions (ranges,
thresholds, prices, places outside the region), the subject (:mod:`analysis.subjects`)
and the done/total links of task lists. Rules, not a model: see docs/figures.md. The
text is folded with :func:`analysis.text.fold`, so traditional script and
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

import dataclasses
import re
from dataclasses import dataclass

from analysis.briefs import inside, unrelated_spans
from analysis.candidates import CANDIDATE, DIGIT_HINT, MONEY_BEFORE, TITLE, in_title, value_of
from analysis.context import Places, head_kind, implied_projects, outside_region, ruled_out
from analysis.sentences import repair_breaks, sentence_bounds
from analysis.subjects import Subject, backward, forward, head_subject
from analysis.text import HAN, fold

__all__ = ["KEY_KINDS", "KINDS", "Figure", "extract_figures", "repair_breaks", "sentence_bounds"]

KINDS: tuple[str, ...] = ("tasks", "projects", "money", "count", "percent")
KEY_KINDS: tuple[str, ...] = ("tasks", "projects", "money")  # the digest's headline block

_HAN = HAN

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

_TASK = re.compile(r"任务|事项|举措|措施|重点工作|实事|清单|工作要求")
_NOT_TASK = re.compile(r"政务|服务事项|审批|通办|权限|许可|证照|资金")
_ALL_DONE = re.compile(
    r"[,，]?(?:目前|现)?(?:已经|均已|已)?(?:100%|百分之百|全部|全面|均)(?:已经|已)?(?:完成|办结|落实到位|销号)"
)
# 已完成15项 after a total reports another number: the verb is that number's, not this one's.
_NOT_NUMBER = r"(?![^,，。;；、]{0,2}[\d零〇一二两三四五六七八九十])"
_RATE_DONE = re.compile(r"100%|百分之百")
_DONE_AFTER = re.compile(
    r"(?:已经|均已|现已|已全部|已提前|已|全部|基本|提前)?(?:完成|办结|落实到位|销号)" + _NOT_NUMBER
)
_PROGRESS_AFTER = re.compile(r"(?:正在|正|仍在|还在)?(?:有序|稳步|加快|持续)?推进" + _NOT_NUMBER)
# 其余3项, 剩余5件: the rest of a list already counted, a part and never a new list
_REST_BACK = re.compile(r"(?:其余|剩余|其他|另外|余下)\Z")
# 前三项 of a list, 前5个工作日: the first N of something, not a count
# Amounts in plain yuan below this are prices, fares, fees and per-head sums.
_PLAIN_YUAN_FLOOR = 1e5
_FIRST_N = re.compile(r"(?<![目提之此以])前\Z")
_TASK_UNITS = frozenset("项个条件")
_PROJECT_UNITS = frozenset("项个")
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


def _read(
    t: str, m: re.Match[str], titles: list[tuple[int, int]], places: Places | None
) -> tuple[_Draft | None, int]:
    """Decide one candidate from its context; return the draft and the end of what it used."""
    value, kind, unit, start = value_of(m)
    end = m.end()
    before = t[start - 1] if start else " "
    if before in "第每" or value is None or in_title(titles, start):
        return None, end
    if kind == "count" and _FIRST_N.search(t, max(0, start - 2), start):
        return None, end
    if kind == "money" and unit in ("元", "美元") and value < _PLAIN_YUAN_FLOOR:
        return None, end  # 多为2元, 二等座32元: a price, fare or fee, not an amount
    unnamed = kind == "money" and m.group("mnum") is not None
    if unnamed and not MONEY_BEFORE.search(t, max(0, start - 12), start):
        return None, end
    if ruled_out(t, start, end, money=kind == "money") or outside_region(t, start, places):
        return None, end
    back = backward(t, start)
    if kind in ("money", "percent"):
        fwd = forward(t, end)
        subj = back if back.text else fwd
        return _Draft(kind, value, unit, subj.text, min(start, subj.start), max(end, subj.end)), end
    if m.group("num") == "一":  # the article: 一个城市, 一项改革
        return None, end
    if unit == "大":
        return _grouped(t, start, end, value), end
    return _counted(t, start, end, value, unit, back)


def _grouped(t: str, start: int, end: int, value: float) -> _Draft | None:
    """N大 + head noun: 十大项目 (projects), 十大民生实事 (tasks); other groupings are none."""
    categories = t.startswith("项", end) and not t.startswith("项目", end)
    if categories or (start and t[start - 1] in "个项"):
        return None  # 7大项42项具体任务 (the categories), 五个十大 (a slogan)
    kind, head_end = head_kind(t, end, short=True)
    if kind is None:
        return None
    subject = head_subject(t, end, head_end)
    draft = _Draft(kind, value, "项" if kind == "tasks" else "个", subject, start, head_end)
    if kind == "tasks":
        draft.role, draft.total = "total", round(value)
    return draft


def _counted(
    t: str, start: int, end: int, value: float, unit: str, back: Subject
) -> tuple[_Draft | None, int]:
    """A count: tasks, projects or another counted thing, from its head noun and verbs."""
    if _SLOGAN.match(t, end):
        return None, end  # 五个十大: a slogan counting groupings
    fwd = forward(t, end)
    head, head_end = head_kind(t, end) if unit in _TASK_UNITS else (None, end)
    if head is None and unit == "条" and t.startswith("”", end):
        head, head_end = "tasks", end  # a named measure package: 稳增长“43条”
    if head is not None and head_end > fwd.end and not _TASK.search(fwd.text or "-"):
        subject = head_subject(t, end, head_end)
        fwd = Subject(subject, end, head_end) if subject else fwd
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
    if all_done is not None and _RATE_DONE.search(all_done.group()):
        used = end  # 100%完成: the rate is a percent figure of its own
    # 项目清单共收录项目35个: the head is the last noun, 项目, not the 清单 before it
    # (实事项目12件 counts 实事: 件 is no measure word of projects)
    last_task = max((m.end() for m in _TASK.finditer(subj.text)), default=-1)
    task_like = head == "tasks" or (
        subj is back
        and last_task >= 0
        and not (unit in _PROJECT_UNITS and "项目" in subj.text[last_task:])
        and not _NOT_TASK.search(subj.text)
    )
    rest = _REST_BACK.search(t, max(0, start - 3), start) is not None
    if unit in _TASK_UNITS and (task_like or (not subj.text and (done or progress or rest))):
        draft = _Draft("tasks", value, unit, subj.text, *span)
        count = round(value)
        if all_done is not None and subj.text:
            # 全部完成 states no done count (the corpus convention): a total, done unset
            draft.role, draft.total = "total", count
        elif rest:  # 其余3项取得阶段性进展: the rest of a list, still in progress
            draft.role, draft.in_progress, draft.subject = "rest", count, ""
        elif done:
            draft.role, draft.done = "done", count
        elif progress:
            draft.role, draft.in_progress = "progress", count
        else:
            draft.role, draft.total = "total", count
        if draft.role in ("done", "progress") and not draft.subject:
            draft.subject = _list_named_before(t, start)
        return draft, max(used, span[1] if all_done is not None else end)
    draft = _Draft("count", value, unit, subj.text, *span, bare=not fwd.text)
    if _ITEMS.search(subj.text):
        return draft, end  # 互认项目180项: test items, not investment projects
    if unit in _PROJECT_UNITS and (
        head == "projects"
        or (subj is back and "项目" in subj.text)
        or (unit == "个" and not fwd.text and implied_projects(t, start, end))
    ):
        draft.kind = "projects"
        draft.subject = draft.subject or "项目"
    return draft, end


# 项目 that are items of a service or a test (检查检验互认项目, 体检项目), not investments
_ITEMS = re.compile(r"(?:互认|检查|检验|检测|体检|诊疗|医保|收费|考核|评价|比赛|培训)项目")
_TASK_CLAUSE_BACK = re.compile(
    r"([\u4e00-\u9fff]{0,8}?(?:任务|事项|实事|举措|措施))(?:中|里)?[，,：:]?"
    r"(?:截至[^,，。;；]{0,8})?(?:已经|已|均已|现已)?(?:完成|办结|正在推进|推进)了?\Z"
)


def _list_named_before(t: str, start: int) -> str:
    """The list a bare done count reports on: ``重点改革任务中，已完成19项`` → 重点改革任务."""
    found = _TASK_CLAUSE_BACK.search(t, max(0, start - 30), start)
    if found is None or _NOT_TASK.search(found.group(1)):
        return ""
    return found.group(1).rsplit("的", 1)[-1]


def _link(drafts: list[_Draft], sentence_of: list[int]) -> list[_Draft]:
    """Attach done and in-progress clauses to the task total they report on."""
    out: list[_Draft] = []
    target: _Draft | None = None
    for draft in drafts:
        if draft.role == "total":
            out.append(draft)
            target = draft
            continue
        if draft.role not in ("done", "progress", "rest"):
            out.append(draft)
            continue
        count = round(draft.value)
        attached = False
        if (
            target is not None
            and (target.total is not None or draft.role != "done")
            and sentence_of[draft.start] - sentence_of[target.end - 1] <= _LINK_SENTENCES
            and draft.start - target.end <= _LINK_CHARS
        ):
            # a list without a stated total (已完成19项、正在推进23项) takes progress only
            total = target.total if target.total is not None else 1 << 30
            if draft.role == "done" and target.done is None:
                attached = count + (target.in_progress or 0) <= total
                if attached:
                    target.done = count
            elif draft.role in ("progress", "rest") and target.in_progress is None:
                attached = count + (target.done or 0) <= total
                if attached:
                    target.in_progress = count
            if attached and sentence_of[draft.start] == sentence_of[target.start]:
                target.end = max(target.end, draft.end)
        if not attached and draft.subject:
            out.append(draft)
            if draft.role == "done":
                target = draft
    return out


_SECTION_REACH = 300
_SLOGAN = re.compile(r"[\d零〇一二两三四五六七八九十百]+大")
_HAN_CHAR = re.compile(f"[{_HAN}]")


def _is_section(t: str, draft: _Draft, drafts: list[_Draft]) -> bool:
    """A bare ``N项`` after its own label, in reach of a larger task total or its sections."""
    if draft.kind != "count" or not draft.bare or draft.unit != "项":
        return False
    labelled = draft.subject or (draft.start and _HAN_CHAR.match(t, draft.start - 1))
    if not labelled or _NOT_TASK.search(draft.subject):
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
    if not DIGIT_HINT.search(t):
        return []
    bounds = sentence_bounds(t)
    sentence_of = [0] * (len(t) + 1)
    for number, (start, _) in enumerate(bounds):
        stop = bounds[number + 1][0] if number + 1 < len(bounds) else len(t) + 1
        sentence_of[start:stop] = [number] * (stop - start)
    titles = [m.span() for m in TITLE.finditer(t)]
    briefs = unrelated_spans(t)
    drafts: list[_Draft] = []
    consumed = 0
    for match in CANDIDATE.finditer(t):
        if match.start() < consumed or (briefs and inside(briefs, match.start())):
            continue
        draft, consumed = _read(t, match, titles, places)
        if draft is None:
            continue
        if _is_section(t, draft, drafts):
            # 50项任务 … 规划编制3项、产业协同14项: the parts of a task list are tasks
            draft.kind, draft.role, draft.total = "tasks", "total", round(draft.value)
        prev = drafts[-1] if drafts else None
        if (
            draft.kind == "projects"
            and draft.bare
            and (draft.subject == "项目" or "项目" not in draft.subject)
            and prev is not None
            and prev.kind == "count"
            and prev.unit == draft.unit
            and prev.subject
            and sentence_of[prev.start] == sentence_of[draft.start]
        ):
            # 计划改造小区186个，已开工186个: the second number counts the same 小区
            draft.kind, draft.subject = "count", prev.subject
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
    linked = _link(drafts, sentence_of)
    # A headline restating a list's total without its progress: the body's entry counts.
    progressed = {d.total for d in linked if d.kind == "tasks" and d.done is not None}
    for d in linked:
        if d.kind == "tasks" and d.done is None and d.in_progress is None and d.total in progressed:
            continue
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

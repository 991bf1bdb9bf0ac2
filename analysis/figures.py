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

from analysis.numerals import parse_number
from analysis.text import CLOSERS, HAN, SENTENCE_ENDS, fold

__all__ = ["KINDS", "Figure", "extract_figures", "repair_breaks", "sentence_bounds"]

KINDS: tuple[str, ...] = ("tasks", "projects", "money", "count", "percent")

_HAN = HAN
_HAN_RE = re.compile(f"[{_HAN}]")

# ---------------------------------------------------------------- text repair

_WS = re.compile(r"\s+")
_JOIN_PREV = re.compile(rf"[{_HAN}0-9a-zA-Z,，、(（《“<\-—·]")
_JOIN_NEXT = re.compile(rf"[{_HAN}0-9a-zA-Z,，、)）》”>%\-—·]")
_SQUEEZE_NEIGHBOUR = re.compile(rf"[{_HAN}，。、；：！？“”（）《》,;:()%]")
_MIN_BROKEN_LINE = 8  # shorter lines without end punctuation are headings and bylines


def repair_breaks(text: str, *, squeeze: bool = True) -> tuple[str, list[int]]:
    """Join e-paper column breaks and return ``(repaired, index)``.

    ``index[k]`` is the position in ``text`` of ``repaired[k]``. A whitespace run with a
    newline between two word characters, after a line of at least eight characters, is
    a column break and is dropped; other newline runs become one ``"\\n"`` (a sentence
    end). With ``squeeze``, spaces next to Han characters or Chinese punctuation are
    dropped (``项目 48 个`` → ``项目48个``); other space runs become one space.
    """
    out: list[str] = []
    index: list[int] = []
    pos = 0
    line_start = 0
    for match in _WS.finditer(text):
        start, end = match.span()
        out.extend(text[pos:start])
        index.extend(range(pos, start))
        pos = end
        if start == 0 or end == len(text):
            continue
        prev, nxt = text[start - 1], text[end]
        run = match.group()
        if "\n" in run:
            line = text[line_start:start].strip()
            line_start = start + run.rindex("\n") + 1
            soft = (
                len(line) >= _MIN_BROKEN_LINE
                and not line.startswith("#")
                and _JOIN_PREV.match(prev) is not None
                and _JOIN_NEXT.match(nxt) is not None
            )
            if not soft:
                out.append("\n")
                index.append(start + run.index("\n"))
        elif not (squeeze and (_SQUEEZE_NEIGHBOUR.match(prev) or _SQUEEZE_NEIGHBOUR.match(nxt))):
            out.append(" ")
            index.append(start)
    out.extend(text[pos:])
    index.extend(range(pos, len(text)))
    return "".join(out), index


_TERMINAL = re.compile(rf"[{SENTENCE_ENDS}]+[{CLOSERS}]*|\n")
_PAIRS = {"“": "”", "（": "）", "(": ")", "「": "」", "『": "』", "《": "》"}
_MAX_PROTECTED = 300


def _protected(text: str) -> list[tuple[int, int]]:
    """Spans inside matched quotes and brackets on one line; no sentence ends there."""
    spans: list[tuple[int, int]] = []
    stack: list[tuple[str, int]] = []
    for i, char in enumerate(text):
        if char == "\n":
            stack.clear()
        elif char in _PAIRS:
            stack.append((_PAIRS[char], i))
        elif stack and char == stack[-1][0]:
            _, start = stack.pop()
            if i - start <= _MAX_PROTECTED:
                spans.append((start, i))
    return spans


def sentence_bounds(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of each sentence of repaired text, whitespace excluded.

    Sentences end at 。！？；(and ASCII !?;) with any closing quotes or brackets, and at
    newlines; end marks inside a matched pair of quotes or brackets do not split.
    """
    inside = bytearray(len(text))
    for start, end in _protected(text):
        inside[start + 1 : end] = b"\x01" * (end - start - 1)
    bounds: list[tuple[int, int]] = []
    begin = 0
    for match in _TERMINAL.finditer(text):
        # An end mark is inside a quote unless its closing quote belongs to the match.
        if match.group() != "\n" and inside[match.end() - 1]:
            continue
        bounds.append((begin, match.end()))
        begin = match.end()
    bounds.append((begin, len(text)))
    result: list[tuple[int, int]] = []
    for start, end in bounds:
        chunk = text[start:end]
        stripped = chunk.strip()
        if stripped:
            lead = len(chunk) - len(chunk.lstrip())
            result.append((start + lead, start + lead + len(stripped)))
    return result


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
_CANDIDATE = re.compile(
    rf"百分之(?P<pnum>{_NUM})"
    rf"|(?<![\d.a-z零〇一二两三四五六七八九十百千])(?P<num>{_NUM})(?:余|多)?"
    rf"(?P<unit>个百分点|%|元(?!以上|以下|级|/)|{_COUNT_UNITS})"
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
_DONE_AFTER = re.compile(r"(?:已经|均已|现已|已全部|已|全部|基本)?(?:完成|办结|落实到位|销号)")
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


def _read(t: str, m: re.Match[str], titles: list[tuple[int, int]]) -> tuple[_Draft | None, int]:
    """Classify one number-and-unit match; return the draft and the end of what it used."""
    if m.group("pnum") is not None:
        value = parse_number(m.group("pnum"))
        start, end, unit = m.start(), m.end(), "%"
        num = m.group("pnum")
    else:
        num, unit = m.group("num"), m.group("unit")
        start, end = m.start("num"), m.end()
        value = parse_number(num)
        before = t[start - 1] if start else " "
        if before in "第每" or (before in "-~～—" and start > 1 and t[start - 2].isdigit()):
            return None, end
    if value is None or _in_title(titles, start):
        return None, end
    if unit == "元":
        mag = _MAG_SUFFIX.search(num)
        kind, unit = "money", (mag.group() if mag else "") + "元"
    elif unit in ("%", "个百分点"):
        kind = "percent"
    else:
        if num == "一":  # the article: 一个城市, 一项改革
            return None, end
        kind = "count"
    back = _backward(t, start)
    fwd = _forward(t, end)
    if kind in ("money", "percent"):
        subj = back if back.text else fwd
        return _Draft(kind, value, unit, subj.text, min(start, subj.start), max(end, subj.end)), end
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
    task_like = bool(_TASK.search(subj.text)) and not _NOT_TASK.search(subj.text)
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
    if unit in _PROJECT_UNITS and "项目" in subj.text:
        kind = "projects"
    return _Draft(kind, value, unit, subj.text, *span), end


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


def extract_figures(text: str) -> list[Figure]:
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
        draft, consumed = _read(t, match, titles)
        if draft is None:
            continue
        if not draft.subject and draft.role == "plain":
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

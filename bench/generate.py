"""A seeded generator of Chinese integration news, with planted reposts as ground truth.

Articles are about 1 KB of UTF-8 text: a title and five or six paragraphs built from our
own sentence templates, filled with the taxonomy's cities, aliases and topic keywords,
organisations, project names, dates and key figures (任务 done of planned, 签约金额, counts,
rates). One article in ten (by default) is a repost of a recent story by another outlet:
a new title with a new dateline and lead sentence, a copy with two sentences dropped, or
the story in traditional script (half the header and script reposts also lose a sentence).
One in fifty is a follow-up: a new article on the same project (same places, organisation
and names, new sentences), a near miss that must not merge.

The same seed and size always give the same articles. ``write_rss`` writes them as RSS 2.0
feeds of 1,000 items for the ingest bench; ``fill_database`` stores them through the real
``Articles.upsert`` for the search and dedup benches.
"""

from __future__ import annotations

import email.utils
import functools
import html
import random
import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

from analysis.pipeline import Analysis, Analyzer
from analysis.taxonomy import Taxonomy
from app.config import DEFAULT_TAXONOMY, load_taxonomy
from feeds.parse import Entry
from storage import Storage

BASE_TIME = 1640995200  # 2022-01-01 00:00 UTC
REPOST_SHARE = 0.10
FOLLOW_UP_SHARE = 0.02
RECENT_POOL = 400  # reposts pick among the last few hundred originals (a few days)
REPOST_KINDS = ("header", "dropped", "traditional")
RARE_PHRASE = "跨市通办"  # planted in a small share of articles only
RARE_SHARE = 0.004
ABSENT_WORD = "潭州大桥"  # common characters, never generated together: no hits

OUTLETS: tuple[tuple[str, str], ...] = (
    ("湘江观察网", "xjgc"),
    ("星城融媒", "xcrm"),
    ("株洲在线新闻", "zzzx"),
    ("莲城资讯", "lczx"),
    ("都市圈快讯", "dsqk"),
    ("三湘政务", "sxzw"),
    ("湘中经济报道", "xzjj"),
    ("长株潭发布", "cztfb"),
    ("湖湘科创周刊", "hxkc"),
    ("潇湘交通", "xxjt"),
)


@dataclass(frozen=True)
class Article:
    """One generated article; ``story`` is the index of the original it reports."""

    index: int
    guid: str
    link: str
    outlet: int
    title: str
    body: str  # plain text, paragraphs separated by "\n"
    published: int
    story: int
    kind: str  # "original", "follow-up", or one of REPOST_KINDS

    def html(self) -> str:
        """The body as feed HTML: one ``<p>`` per paragraph."""
        return "".join(f"<p>{html.escape(p, quote=False)}</p>" for p in self.body.split("\n"))


@dataclass
class Corpus:
    articles: list[Article]
    reposts: list[tuple[int, int]] = field(default_factory=list)  # (original, repost)
    follow_ups: list[tuple[int, int]] = field(default_factory=list)  # (original, follow-up)


# ---------------------------------------------------------------- vocabulary

_ORGS = (
    "市发展改革委",
    "市交通运输局",
    "市工业和信息化局",
    "市科技局",
    "市生态环境局",
    "市人社局",
    "市医保局",
    "市政务服务中心",
    "市文化旅游广电局",
    "市住建局",
    "长株潭一体化发展事务中心",
    "省发展改革委",
    "市商务局",
    "市自然资源和规划局",
    "市教育局",
    "市卫生健康委",
)
_PROJECT_HEADS = (
    "智能制造产业园",
    "新材料产业基地",
    "融城大道二期",
    "科创走廊示范段",
    "城际公交枢纽",
    "数字经济产业园",
    "湘江风光带",
    "生态绿道",
    "人才公寓",
    "区域医疗中心",
    "物流园",
    "研发中试基地",
    "文旅综合体",
    "污水处理厂提质工程",
    "快速路互通",
    "跨江大桥",
)
_ADVERBS = ("加快", "持续", "扎实", "稳步", "全面", "着力", "协同", "统筹", "深入", "大力")
_VERBS = ("推进", "推动", "完善", "落实", "建设", "优化", "提升", "打造", "深化", "拓展")
_OBJECTS = (
    "基础设施互联互通",
    "产业链协同配套",
    "公共服务共建共享",
    "生态环境联防联治",
    "要素市场一体化",
    "科技创新协同攻关",
    "营商环境标准互认",
    "文化旅游资源整合",
    "人才双向流动",
    "政务数据共享",
    "应急管理联动",
    "园区合作共建",
    "交通路网加密",
    "医疗资源下沉",
    "重大项目联合招商",
)
_GOALS = (
    "为都市圈高质量发展注入新动能",
    "让群众办事少跑腿",
    "切实增强市民的获得感",
    "助力强省会战略落地见效",
    "推动三市从物理相连走向深度融合",
    "形成一批可复制可推广的经验",
    "为全省发展大局贡献力量",
    "打通融城发展的堵点难点",
    "持续释放一体化发展红利",
    "夯实同城化发展基础",
)
_MEETINGS = ("联席会议", "推进大会", "工作调度会", "专题协调会", "现场观摩会", "签约仪式")
_REPORTERS = ("李晓", "王睿", "陈静", "刘洋", "周敏", "张弛", "彭云", "谭林", "罗丹", "胡悦")
_TITLE_VERBS = ("按下快进键", "取得新进展", "跑出加速度", "迈出新步伐", "再添新动能", "交出成绩单")

# ---------------------------------------------------------------- templates

# {slot} names are filled by _SLOTS below; ctx slots stay the same within one article.
_LEADS = (
    "{date}，{org}召开{meeting}，{adv}{verb}长株潭一体化各项重点工作。",
    "{date}，记者从{org}获悉，{place}{project}建设{title_verb}。",
    "{date}，{city}与{city2}在{place}举行{meeting}，双方就{obj}深入交换意见。",
    "近日，{org}发布消息，{city}围绕{obj}推出一揽子举措。",
    "{date}上午，{place}{project}现场机器轰鸣，工人们正抓紧施工。",
)
_FIGURES = (
    "今年以来，三市共确定{total}项重点合作事项，目前{done}项已完成，其余正在有序推进。",
    "确定{total}项重点合作事项……目前{done}项已完成，完成率居全省前列。",
    "本次活动共签约项目{n}个，签约金额{money}亿元，涵盖{kw}、{kw2}等领域。",
    "{place}{project}总投资{money}亿元，预计{year}年建成投用。",
    "截至{month}月底，{city}累计完成投资{money}亿元，同比增长{pct}%。",
    "{city}新增{kw}企业{n}家，带动就业{count}人。",
    "全年计划实施重点项目{n}个，已开工{n2}个，开工率达到{pct}%。",
    "空气质量优良率达到{pct}%，较去年同期提高{small}个百分点。",
    "{org}梳理出第一批{total}项改革任务，已完成{done}项。",
    "{place}片区已建成道路{km}公里，新增停车泊位{count}个。",
)
_TOPIC_SENTENCES: dict[str, tuple[str, ...]] = {
    "产业": (
        "{place}{project}引进配套企业{n}家，{kw}集群初具规模。",
        "{city}聚焦{kw}，与{city2}共建产业链上下游协作机制。",
        "园区内一批{kw}项目陆续投产，形成了从研发到制造的完整链条。",
        "{org}负责人表示，将以{kw}为抓手，{adv}{verb}强链补链工作。",
        "多家龙头企业把新的生产线放在{place}，看中的正是这里完善的配套。",
    ),
    "科创": (
        "{place}建成{kw}平台{n}个，联合攻关关键核心技术{n2}项。",
        "{city}与{city2}的高校院所共享大型科研仪器，降低了企业研发成本。",
        "湘江科学城{adv}{verb}{kw}布局，吸引了一批青年人才落户。",
        "一批科技成果在{place}实现转化，{kw}企业数量稳步增长。",
        "{org}将设立专项资金，支持{kw}和成果转化。",
    ),
    "交通": (
        "融城干道{place}段全线贯通后，{city}到{city2}的车程缩短至{small}十分钟以内。",
        "{city}{adv}{verb}{kw}建设，{place}至{place2}的断头路全部打通。",
        "长株潭城际铁路日均客流已超过{count}人次，公交化运营效果明显。",
        "新开通的城际公交线路途经{place}，市民刷一卡通即可乘车。",
        "{org}介绍，下一步将加密{kw}网络，推动三市半小时通勤圈建设。",
    ),
    "公共服务": (
        "{city}与{city2}实现{n}项政务服务事项线上办理，企业和群众少跑腿。",
        "异地就医直接结算覆盖{place}所有定点医院，参保群众看病更方便。",
        "{city}推动优质{kw}资源向{place}延伸，新增学位{count}个。",
        "公积金、社保等高频事项已实现三市互认，办理时限大幅压缩。",
        "{place}新建的{kw}服务中心投入使用，辐射周边{n}个社区。",
    ),
    "生态": (
        "生态绿心地区{adv}{verb}{kw}，{place}一带的湿地重现白鹭翩飞。",
        "三市建立湘江流域联防联治机制，{kw}数据实时共享。",
        "{place}完成退耕还林{count}亩，森林覆盖率进一步提高。",
        "{org}对{place}周边的污染点位开展联合执法，整改问题{n}个。",
        "沿江绿道串联起{place}与{place2}，成为市民休闲的新去处。",
    ),
    "改革": (
        "{city}在{place}开展{kw}试点，探索可复制的制度经验。",
        "三市营商环境评价标准实现互认，企业跨市迁移不再重复审批。",
        "{org}推出{n}条改革举措，聚焦{kw}中的痛点堵点。",
        "要素市场一体化改革持续深化，{place}的土地、人才等要素加快流动。",
        "{city}与{city2}联合出台{kw}政策，统一市场准入标准。",
    ),
    "文旅": (
        "{place}推出{n}条精品{kw}线路，吸引游客{count}人次。",
        "韶山、{place}等地联合打造红色旅游精品线路，研学团队络绎不绝。",
        "{city}{kw}节会期间，{place}的民宿入住率接近饱和。",
        "三市博物馆推出通票，市民凭一张卡可游览{n}个场馆。",
        "{org}表示，将深挖{place}的非遗资源，推动文创产品走向全国。",
    ),
}
_GENERAL = (
    "{city}将{adv}{verb}{obj}，{goal}。",
    "{org}相关负责人表示，下一步将{adv}{verb}{obj}，{goal}。",
    "围绕{obj}，{city}与{city2}建立了常态化沟通机制。",
    "在{place}，{obj}的成效已经看得见、摸得着。",
    "{adv}{verb}{obj}，是{city}今年的一项重点工作。",
    "业内人士认为，{obj}将{goal}。",
    "{place}的一位市民告诉记者，这几年身边的变化越来越多。",
    "会议要求，各级各部门要{adv}{verb}{obj}，确保各项任务按期完成。",
)
_CLOSINGS = (
    "{city}将以更大力度{verb}{obj}，{goal}。",
    "据悉，{org}将定期通报进展情况，接受社会监督。",
    "下一步，三市将继续{adv}{verb}{obj}，{goal}。",
)
_TITLES = (
    "{city}{project}{title_verb}",
    "{city}与{city2}：{obj}{title_verb}",
    "{place}：{adv}{verb}{obj}",
    "长株潭一体化｜{city}{obj}{title_verb}",
    "{org}：{city}{kw}工作{title_verb}",
)
_REPOST_LEADS = (
    "本报讯（记者 {reporter}）{date}，{city}{obj}再传好消息。",
    "{outlet}{month}月{day}日讯 近日，{place}{project}建设情况引起广泛关注。",
    "（记者 {reporter} 通讯员 {reporter2}）记者{date}从{org}了解到相关情况。",
)

_RARE_SENTENCE = "{city}与{city2}已有{n}项政务服务事项实现" + RARE_PHRASE + "，企业和群众少跑腿。"

_SLOT = re.compile(r"\{(\w+)\}")


@dataclass
class _Context:
    """What stays the same within one story: its places, organisation, project, topic."""

    topic: str
    city: str
    city2: str
    place: str
    place2: str
    org: str
    project: str
    keywords: tuple[str, ...]
    year: int
    month: int
    day: int


def _number_slots() -> dict[str, Callable[[random.Random, _Context], str]]:
    return {
        "total": lambda r, c: str(r.randint(40, 120)),
        "done": lambda r, c: str(r.randint(20, 39)),
        "n": lambda r, c: str(r.randint(3, 60)),
        "n2": lambda r, c: str(r.randint(2, 30)),
        "count": lambda r, c: str(r.choice((r.randint(100, 9999), r.randint(1, 9) * 10000))),
        "money": lambda r, c: f"{r.randint(2, 800)}.{r.randint(0, 9)}",
        "pct": lambda r, c: f"{r.randint(50, 99)}.{r.randint(0, 9)}",
        "small": lambda r, c: str(r.randint(2, 9)),
        "km": lambda r, c: f"{r.randint(3, 80)}.{r.randint(1, 9)}",
        "year": lambda r, c: str(c.year + r.randint(1, 3)),
        "month": lambda r, c: str(c.month),
        "day": lambda r, c: str(c.day),
        "date": lambda r, c: f"{c.month}月{c.day}日",
    }


def _word_slots() -> dict[str, Callable[[random.Random, _Context], str]]:
    return {
        "city": lambda r, c: c.city,
        "city2": lambda r, c: c.city2,
        "place": lambda r, c: c.place,
        "place2": lambda r, c: c.place2,
        "org": lambda r, c: c.org,
        "project": lambda r, c: c.project,
        "kw": lambda r, c: r.choice(c.keywords),
        "kw2": lambda r, c: r.choice(c.keywords),
        "adv": lambda r, c: r.choice(_ADVERBS),
        "verb": lambda r, c: r.choice(_VERBS),
        "obj": lambda r, c: r.choice(_OBJECTS),
        "goal": lambda r, c: r.choice(_GOALS),
        "meeting": lambda r, c: r.choice(_MEETINGS),
        "title_verb": lambda r, c: r.choice(_TITLE_VERBS),
        "reporter": lambda r, c: r.choice(_REPORTERS),
        "reporter2": lambda r, c: r.choice(_REPORTERS),
        "outlet": lambda r, c: r.choice(OUTLETS)[0][:4],
    }


_SLOTS = {**_number_slots(), **_word_slots()}


def _fill(template: str, rng: random.Random, ctx: _Context) -> str:
    return _SLOT.sub(lambda m: _SLOTS[m.group(1)](rng, ctx), template)


@functools.cache
def _s2t() -> Callable[[str], str]:
    from opencc import OpenCC

    return OpenCC("s2t").convert


# ---------------------------------------------------------------- the generator


class Generator:
    """Deterministic per seed: ``articles(n)`` yields the same articles every time."""

    def __init__(self, seed: int = 1, taxonomy: Taxonomy | None = None) -> None:
        self.seed = seed
        tax = taxonomy or load_taxonomy(DEFAULT_TAXONOMY)
        self.cities = tax.cities
        self.topics = tuple(
            (name, tuple(k for k in keywords if k != RARE_PHRASE and len(k) >= 2))
            for name, keywords in tax.topics
        )
        self.reposts: list[tuple[int, int]] = []
        self.follow_ups: list[tuple[int, int]] = []

    def _context(self, rng: random.Random, published: int) -> _Context:
        (city, aliases), (city2, aliases2) = rng.sample(self.cities, 2)
        # 湘潭 in a large share of articles: it is the searched-for common word.
        if rng.random() < 0.25 and city != "湘潭":
            city2, aliases2 = next(c for c in self.cities if c[0] == "湘潭")
            if city2 == city:
                city2, aliases2 = rng.choice([c for c in self.cities if c[0] != city])
        topic, keywords = rng.choice(self.topics)
        places = [a for a in aliases if a != city] or [city]
        month, day = _month_day(published)
        return _Context(
            topic=topic,
            city=city,
            city2=city2,
            place=rng.choice(places),
            place2=rng.choice([a for a in aliases2 if a != city2] or [city2]),
            org=city + rng.choice(_ORGS).removeprefix("市"),
            project=rng.choice(_PROJECT_HEADS),
            keywords=keywords,
            year=2022 + (published - BASE_TIME) // (365 * 86400),
            month=month,
            day=day,
        )

    def _paragraphs(self, rng: random.Random, ctx: _Context) -> list[list[str]]:
        sentences = [_fill(rng.choice(_LEADS), rng, ctx)]
        pool = (
            rng.sample(_FIGURES, 3)
            + rng.sample(_TOPIC_SENTENCES[ctx.topic], 3)
            + rng.sample(_GENERAL, 3)
        )
        rng.shuffle(pool)
        sentences += [_fill(t, rng, ctx) for t in pool]
        if rng.random() < RARE_SHARE:
            sentences.append(_fill(_RARE_SENTENCE, rng, ctx))
        sentences.append(_fill(rng.choice(_CLOSINGS), rng, ctx))
        paragraphs: list[list[str]] = []
        i = 0
        while i < len(sentences):
            size = rng.randint(1, 3)
            paragraphs.append(sentences[i : i + size])
            i += size
        return paragraphs

    def _title(self, rng: random.Random, ctx: _Context, avoid: str = "") -> str:
        for _ in range(8):
            title = _fill(rng.choice(_TITLES), rng, ctx)
            if title != avoid:
                return title
        return "转载｜" + avoid

    def articles(self, n: int) -> Iterator[Article]:
        """The first ``n`` articles of this seed's stream, oldest first."""
        rng = random.Random(self.seed)
        self.reposts, self.follow_ups = [], []
        recent: deque[tuple[int, _Context, str, list[list[str]], int]] = deque(maxlen=RECENT_POOL)
        published = BASE_TIME
        for index in range(n):
            published += rng.randint(60, 900)
            outlet = rng.randrange(len(OUTLETS))
            roll = rng.random()
            if recent and roll < REPOST_SHARE:
                origin, ctx, title, paragraphs, src_outlet = rng.choice(recent)
                kind = rng.choice(REPOST_KINDS)
                outlet = rng.choice([o for o in range(len(OUTLETS)) if o != src_outlet])
                title, body = self._repost(rng, ctx, kind, title, paragraphs)
                self.reposts.append((origin, index))
            elif recent and roll < REPOST_SHARE + FOLLOW_UP_SHARE:
                origin, ctx, old_title, _, _ = rng.choice(recent)
                kind = "follow-up"
                title = self._title(rng, ctx, avoid=old_title)
                body = _join(self._paragraphs(rng, ctx))
                self.follow_ups.append((origin, index))
            else:
                ctx = self._context(rng, published)
                kind = "original"
                title = self._title(rng, ctx)
                paragraphs = self._paragraphs(rng, ctx)
                body = _join(paragraphs)
                recent.append((index, ctx, title, paragraphs, outlet))
            story = origin if kind in REPOST_KINDS else index
            code = OUTLETS[outlet][1]
            yield Article(
                index=index,
                guid=f"{code}-{index:07d}",
                link=f"https://{code}.example.cn/news/{published // 86400}/{index:07d}.html",
                outlet=outlet,
                title=title,
                body=body,
                published=published,
                story=story,
                kind=kind,
            )

    def _repost(
        self,
        rng: random.Random,
        ctx: _Context,
        kind: str,
        title: str,
        paragraphs: list[list[str]],
    ) -> tuple[str, str]:
        new_title = self._title(rng, ctx, avoid=title)
        if kind != "dropped" and rng.random() < 0.5:
            # Half the header and script reposts also lose a sentence (the text is cut).
            flat = [(i, j) for i, p in enumerate(paragraphs) for j in range(len(p))]
            i, j = rng.choice(flat[1:])
            paragraphs = [p[:j] + p[j + 1 :] if k == i else p for k, p in enumerate(paragraphs)]
            paragraphs = [p for p in paragraphs if p]
        if kind == "header":
            # A new dateline and lead sentence in place of the original lead.
            lead = _fill(rng.choice(_REPOST_LEADS), rng, ctx)
            body = [[lead, *paragraphs[0][1:]], *paragraphs[1:]]
            return new_title, _join([p for p in body if p])
        if kind == "dropped":
            flat = [(i, j) for i, p in enumerate(paragraphs) for j in range(len(p))]
            drop = set(rng.sample(flat[1:], min(2, len(flat) - 1)))
            kept = [
                [s for j, s in enumerate(p) if (i, j) not in drop] for i, p in enumerate(paragraphs)
            ]
            return new_title, _join([p for p in kept if p])
        convert = _s2t()
        return convert(title), convert(_join(paragraphs))

    def corpus(self, n: int) -> Corpus:
        """All ``n`` articles in memory, with the ground truth."""
        articles = list(self.articles(n))
        return Corpus(articles, list(self.reposts), list(self.follow_ups))


def generate(n: int, seed: int = 1) -> Corpus:
    """``n`` articles of seed ``seed`` and their planted reposts."""
    return Generator(seed).corpus(n)


def _join(paragraphs: Sequence[Sequence[str]]) -> str:
    return "\n".join("".join(p) for p in paragraphs)


def _month_day(ts: int) -> tuple[int, int]:
    import time

    t = time.gmtime(ts)
    return t.tm_mon, t.tm_mday


# ---------------------------------------------------------------- outputs


def write_rss(articles: Sequence[Article], directory: Path, per_feed: int = 1000) -> list[Path]:
    """RSS 2.0 files of at most ``per_feed`` items each, in order; returns their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for number, start in enumerate(range(0, len(articles), per_feed)):
        chunk = articles[start : start + per_feed]
        items = "".join(
            "<item>"
            f"<title>{escape(a.title)}</title>"
            f"<link>{escape(a.link)}</link>"
            f'<guid isPermaLink="false">{a.guid}</guid>'
            f"<pubDate>{email.utils.formatdate(a.published, usegmt=True)}</pubDate>"
            f"<description>{escape(a.html())}</description>"
            "</item>\n"
            for a in chunk
        )
        doc = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
            f"<title>长株潭基准测试 {number}</title><link>https://bench.example.cn/</link>"
            f"<description>generated</description>\n{items}</channel></rss>\n"
        )
        path = directory / f"feed-{number:03d}.xml"
        path.write_text(doc, encoding="utf-8")
        paths.append(path)
    return paths


def light_analysis(analyzer: Analyzer, title: str, body: str) -> Analysis:
    """``Analyzer.analyze(light=True)``: search and story merging behave as in production."""
    return analyzer.analyze(title, body, light=True)


def fill_database(
    store: Storage,
    analyzer: Analyzer,
    articles: Iterable[Article],
    *,
    now: int,
    light: bool = True,
    batch: int = 500,
    progress: Callable[[int], None] | None = None,
) -> dict[str, int]:
    """Store ``articles`` through the real ``Articles.upsert``; returns outcome counts.

    Upserts are grouped ``batch`` to a transaction (nested transactions join the outer
    one), which only saves commits: what is stored is the same as one by one.
    """
    feed_ids = {
        number: store.feeds.ensure(f"https://{code}.example.cn/rss.xml", now).id
        for number, (_, code) in enumerate(OUTLETS)
    }
    outcomes: dict[str, int] = {}
    done = 0
    for chunk in _batches(articles, batch):
        with store.db.transaction():
            for article in chunk:
                entry = Entry(
                    guid=article.guid,
                    link=article.link,
                    title=article.title,
                    content=article.body,
                    published=article.published,
                )
                if light:
                    analysis = light_analysis(analyzer, article.title, article.body)
                else:
                    analysis = analyzer.analyze(article.title, article.html())
                outcome = store.articles.upsert(feed_ids[article.outlet], entry, analysis, now)
                outcomes[outcome] = outcomes.get(outcome, 0) + 1
        done += len(chunk)
        if progress:
            progress(done)
    return outcomes


def _batches(items: Iterable[Article], size: int) -> Iterator[list[Article]]:
    chunk: list[Article] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk

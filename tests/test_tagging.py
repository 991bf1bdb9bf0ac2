"""City and topic tags on our own texts, and another region configured by data alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis.pipeline import Analyzer
from analysis.taxonomy import Taxonomy
from app.config import DEFAULT_TAXONOMY, load_taxonomy
from domain.errors import ConfigError


@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    return Analyzer(load_taxonomy(DEFAULT_TAXONOMY))


@pytest.mark.parametrize(
    ("title", "body", "cities"),
    [
        ("岳麓山下新添科创园", "位于湘江新区的园区昨日开园，首批入驻企业二十家。", ("长沙",)),
        ("陶瓷小镇迎客", "醴陵的窑火节吸引了周边游客，炎陵的民宿也订满了。", ("株洲",)),
        ("红色研学线路上新", "韶山、湘乡两地联合推出三条线路。", ("湘潭",)),
        ("昭山片区规划公示", "九华与昭山之间将新建一条融城干道。", ("湘潭",)),
        ("三市联席会议召开", "长株潭三市就一体化工作进行会商。", ()),
        ("本报讯", "本报湘潭11月3日讯 三市签署合作协议。（湘潭日报记者 李明）", ()),
        ("通勤更方便", "长沙讯 株洲至浏阳的城际公交今天开通。", ("长沙", "株洲")),
        ("長株潭融城", "湘潭市與株洲市簽署協議，共建跨市通辦專窗。", ("株洲", "湘潭")),
    ],
)
def test_city_tags(analyzer: Analyzer, title: str, body: str, cities: tuple[str, ...]) -> None:
    assert analyzer.analyze(title, body).cities == cities


@pytest.mark.parametrize(
    ("body", "topic"),
    [
        ("新增研发机构十家，建成两个重点实验室，专利授权量增长。", "科创"),
        ("融城干道和城际铁路加快建设，公交线路再增两条。", "交通"),
        ("医保异地就医直接结算，政务服务事项实现跨市通办。", "公共服务"),
        ("绿心地区空气质量优良率提升，新建绿道三十公里。", "生态"),
        ("优化营商环境，推进要素市场化配置改革试点。", "改革"),
        ("红色旅游线路吸引游客，非遗展演走进景区。", "文旅"),
        ("工程机械产业链招商签约，亿元以上项目落地园区。", "产业"),
    ],
)
def test_topic_tags(analyzer: Analyzer, body: str, topic: str) -> None:
    assert topic in analyzer.analyze("", body).topics


def test_traditional_and_simplified_agree(analyzer: Analyzer) -> None:
    a = analyzer.analyze("湘潭融城幹道通車", "湘潭市確定重點合作事項60項，已完成52項。")
    b = analyzer.analyze("湘潭融城干道通车", "湘潭市确定重点合作事项60项，已完成52项。")
    assert a.traditional and not b.traditional
    assert (a.cities, a.topics, a.folded) == (b.cities, b.topics, b.folded)
    assert [f.to_json()["value"] for f in a.figures] == [f.to_json()["value"] for f in b.figures]
    assert a.title == "湘潭融城幹道通車"  # the original kept for display


def test_another_region_is_only_data(tmp_path: Path) -> None:
    path = tmp_path / "region.toml"
    path.write_text(
        'region = "成渝"\ngeneric = ["成渝", "双城"]\nignore = ["成都日报"]\n'
        '[[cities]]\nname = "成都"\naliases = ["成都", "天府新区", "锦江"]\n'
        '[[cities]]\nname = "重庆"\naliases = ["重庆", "渝中", "两江新区"]\n'
        '[[topics]]\nname = "交通"\nkeywords = ["高铁", "轨道"]\n'
        '[dictionary]\nwords = ["天府新区"]\n',
        encoding="utf-8",
    )
    analyzer = Analyzer(load_taxonomy(path))
    result = analyzer.analyze("双城高铁提速", "天府新区到两江新区的高铁班次增加。（成都日报）")
    assert result.cities == ("成都", "重庆") and result.topics == ("交通",)
    assert analyzer.analyze("成渝双城", "成渝双城经济圈建设推进。").cities == ()
    region = load_taxonomy(path)
    assert region.digest_title == "成渝一体化周报"  # no digest_title: from the region's name
    assert region.latin == {}


def test_broken_taxonomy_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[[cities]]\nname = "x"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="taxonomy"):
        load_taxonomy(path)
    with pytest.raises(ConfigError):
        Taxonomy.from_dict({"cities": [], "topics": []})


def test_a_passing_mention_does_not_tag_a_topic(analyzer: Analyzer) -> None:
    title = "湘潭新开工一批重大产业项目"
    body = (
        "湘潭市今天集中开工重大产业项目20个，涵盖先进制造、新材料等领域。"
        "这批项目投产后将完善产业链配套，带动上下游企业集聚。"
        "园区负责人介绍，将做好项目服务，推动企业早日投产达效。"
        "项目所在园区紧邻高速出口。"
    )
    topics = analyzer.analyze(title, body).topics
    assert topics == ("产业",)  # 高速 is named once, in passing: not a theme


def test_two_main_themes_are_both_tagged(analyzer: Analyzer) -> None:
    title = "城际轨道与产业园区同步推进"
    body = (
        "长株潭城际轨道西延线加快建设，沿线站点同步规划。"
        "轨道沿线布局三个产业园区，已签约制造企业十家。"
        "城际公交也将加密班次，方便园区员工通勤。"
        "园区招商签约额稳步增长。"
    )
    assert set(analyzer.analyze(title, body).topics) == {"交通", "产业"}

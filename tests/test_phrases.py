"""Figure subjects trimmed to clean noun phrases with part-of-speech tags."""

from __future__ import annotations

import pytest

from analysis.phrases import noun_phrase
from analysis.pipeline import Analyzer
from analysis.tokenizer import Tokenizer, available_engines
from app.config import DEFAULT_TAXONOMY, load_taxonomy

TAXONOMY = load_taxonomy(DEFAULT_TAXONOMY)


@pytest.fixture(scope="module", params=available_engines())
def tokenizer(request: pytest.FixtureRequest) -> Tokenizer:
    return Tokenizer(TAXONOMY.words, engine=request.param)


@pytest.mark.parametrize(
    ("subject", "phrase"),
    [
        ("个项目集中开工总投资", "总投资"),  # a measure word left over, an event clause
        ("该项目总投资", "项目总投资"),  # a demonstrative
        ("这一项目", "项目"),
        ("重点任务发布", "重点任务"),  # a trailing verb
        ("集群产值稳定", "集群产值"),  # a trailing adjective
        ("是新材料产业项目", "新材料产业项目"),  # a leading copula
        ("而且总投资", "总投资"),  # a leading conjunction
        ("项目中", "项目"),  # a direction word
        ("有望", ""),  # nothing nominal left: no subject
        ("一季度集中签", ""),
        ("新开工项目", "新开工项目"),  # a clean phrase stays
        ("签约金额", "签约金额"),
        ("重点合作事项", "重点合作事项"),  # a domain dictionary word
        ("亿元以上项目", "亿元以上项目"),  # a size band stays with its noun
        ("", ""),
    ],
)
def test_noun_phrase(tokenizer: Tokenizer, subject: str, phrase: str) -> None:
    assert noun_phrase(subject, tokenizer.tag) == phrase


def test_the_pipeline_shows_clean_subjects() -> None:
    analysis = Analyzer(TAXONOMY).analyze(
        "湘潭项目开工", "湘潭今天有16个项目集中开工，总投资120亿元。该园区总投资35亿元。"
    )
    subjects = [(f.kind, f.subject) for f in analysis.figures]
    assert subjects == [("projects", "项目"), ("money", "总投资"), ("money", "园区总投资")]

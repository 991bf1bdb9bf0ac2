"""The haystack eval: the development corpus's stories among 10,000 background articles.

Skipped without the corpus (``../shared/figures-dev``); the database is built once per
session in a temporary directory and nothing of the corpus is kept.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bench import haystack
from storage import Storage

CORPUS = haystack.load_corpus()
needs_corpus = pytest.mark.skipif(CORPUS is None, reason="no corpus at ../shared/figures-dev")


@pytest.fixture(scope="session")
def haystack_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Storage]:
    from bench.dedup import analyzer

    assert CORPUS is not None
    path = tmp_path_factory.mktemp("haystack") / "haystack.db"
    store = haystack.build(CORPUS, 10_000, path, analyzer())
    yield store
    store.close()


@needs_corpus
def test_default_order_has_the_story_on_page_one_for_nine_queries_in_ten(
    haystack_store: Storage,
) -> None:
    assert CORPUS is not None
    result = haystack.evaluate(haystack_store, CORPUS, orders=("relevance",), baseline=False)
    assert result["recall_at_10"]["relevance"] >= 0.9, result["missed"]


def test_section_is_written_between_the_markers_only(tmp_path: Path) -> None:
    doc = tmp_path / "quality.md"
    doc.write_text("# Quality\n\nother tool's text\n", encoding="utf-8")
    first = f"{haystack.BEGIN}\nfirst\n{haystack.END}"
    haystack.write_section(first, doc)
    assert doc.read_text(encoding="utf-8") == f"# Quality\n\nother tool's text\n{first}\n"
    doc.write_text(doc.read_text(encoding="utf-8") + "more text after\n", encoding="utf-8")
    second = f"{haystack.BEGIN}\nsecond\n{haystack.END}"
    haystack.write_section(second, doc)
    text = doc.read_text(encoding="utf-8")
    assert text == f"# Quality\n\nother tool's text\n{second}\nmore text after\n"


def test_absent_corpus_is_reported_and_exits_zero(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert haystack.main(["--corpus", str(tmp_path), "--no-write"]) == 0
    assert "no corpus" in capsys.readouterr().out


def test_background_names_the_queries_only_in_passing() -> None:
    import random

    pool = ["融城干道今天通车。", "绿心保护条例施行。", "市民出行更方便了。"]
    made = list(
        haystack.background(pool, 200, random.Random(1), "passing", avoid=["融城干道", "绿心"])
    )
    assert len(made) == 200
    for title, body in made:
        assert haystack._in_passing(title, body, ["融城干道", "绿心"])

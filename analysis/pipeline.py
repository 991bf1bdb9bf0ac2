"""The pure analysis pipeline: raw title and body in, an ``Analysis`` value out."""

from __future__ import annotations

from dataclasses import dataclass, replace

from analysis import dedup
from analysis.briefs import unrelated_spans
from analysis.figures import Figure, extract_figures
from analysis.phrases import noun_phrase
from analysis.summary import summarize
from analysis.taxonomy import Tagger, Taxonomy
from analysis.text import clean, fold, is_traditional
from analysis.tokenizer import Tokenizer


@dataclass(frozen=True)
class Analysis:
    title: str  # display title, script as written
    text: str  # display body, script as written
    folded: str  # fold(title + body): the form search and analysis use
    traditional: bool
    cities: tuple[str, ...]
    topics: tuple[str, ...]
    keywords: tuple[str, ...]
    figures: tuple[Figure, ...]
    summary: str
    signature: bytes

    def to_json(self) -> dict[str, object]:
        return {
            "title": self.title,
            "cities": list(self.cities),
            "topics": list(self.topics),
            "keywords": list(self.keywords),
            "summary": self.summary,
            "figures": [f.to_json() for f in self.figures],
        }


class Analyzer:
    """Owns the tokenizer and tagger; ``analyze`` is safe to call from one thread at a time."""

    def __init__(self, taxonomy: Taxonomy, keyword_count: int = 8) -> None:
        self.taxonomy = taxonomy
        self.tagger = Tagger(taxonomy)
        self.tokenizer = Tokenizer(taxonomy.words)
        self.keyword_count = keyword_count
        self.places = taxonomy.places()

    def figures(self, text: str) -> tuple[Figure, ...]:
        """The text's figures, subjects trimmed to clean noun phrases (POS tags)."""
        figures = extract_figures(text, self.places)
        phrases: dict[str, str] = {}
        for subject in {f.subject for f in figures}:
            phrases[subject] = noun_phrase(subject, self.tokenizer.tag)
        return tuple(
            f if phrases[f.subject] == f.subject else replace(f, subject=phrases[f.subject])
            for f in figures
        )

    def analyze(self, title: str, body: str, *, light: bool = False) -> Analysis:
        """The analysis of one article. ``light`` skips keywords, figures and the summary
        (the first sentence stands in): the same text, tags and signature for about half
        the cost, for filling benchmark databases."""
        display_title = clean(title).replace("\n", " ")
        display_text = clean(body)
        folded_title = fold(display_title)
        folded_body = fold(display_text)
        words = self.tokenizer.words(folded_body or folded_title)
        summary_source = display_text if display_text else display_title
        base = Analysis(
            title=display_title,
            text=display_text,
            folded=folded_title + "\n" + folded_body,
            traditional=is_traditional(
                display_title + "\n" + display_text, folded_title + "\n" + folded_body
            ),
            cities=self.tagger.cities(folded_title, folded_body),
            topics=self.tagger.topics(folded_title, _without_briefs(folded_body)),
            keywords=(),
            figures=(),
            summary=summary_source.split("。", 1)[0] + "。",
            signature=dedup.signature(words),
        )
        if light:
            return base
        title_words = self.tokenizer.words(folded_title) if folded_body else []
        figures = self.figures(summary_source)
        return replace(
            base,
            keywords=tuple(
                self.tokenizer.keywords("", self.keyword_count, words=title_words + words)
            ),
            figures=figures,
            summary=summarize(summary_source, figures),
        )


def _without_briefs(text: str) -> str:
    """``text`` without the unrelated briefs printed on its page (they carry no topic)."""
    spans = unrelated_spans(text)
    if not spans:
        return text
    parts, pos = [], 0
    for start, end in spans:
        parts.append(text[pos:start])
        pos = end
    parts.append(text[pos:])
    return "".join(parts)

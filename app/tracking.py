"""Task lists over time and keyword watches, read from storage for the digests.

The pure parts live below: :func:`analysis.progress.track` builds the series and
:func:`digests.compose.compose` uses them with the watched keywords' story ids. Here
the stored task reports are turned into :class:`~analysis.progress.Report` values (each
with its place: the city its sentence names, else its article's only city) and the
keywords are matched with the search index, so a watch finds what search finds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from analysis.progress import Report, Series, track
from app.core import Core
from digests.compose import StoryPool
from digests.condense import figure_from
from domain.models import Story


def place_of(core: Core, sentence: str, cities: Sequence[str]) -> str:
    """The city a figure is about: the one its sentence names, else its article's only
    city; "" when it names several or none is known."""
    named = core.locate(sentence) if sentence else ()
    if named:
        return named[0] if len(named) == 1 else ""
    return cities[0] if len(cities) == 1 else ""


def task_reports(
    core: Core,
    *,
    until: int | None = None,
    cities: Sequence[str] = (),
    topics: Sequence[str] = (),
) -> list[Report]:
    """Every stored report of a task list, optionally of some cities or topics."""
    out: list[Report] = []
    for row in core.storage.articles.task_reports(until):
        if topics and not set(topics) & set(row["topics"]):
            continue
        for data in row["figures"]:
            figure = figure_from(data)
            if figure is None or figure.kind != "tasks" or figure.total is None:
                continue
            place = place_of(core, figure.sentence, row["cities"])
            if cities and place not in cities:
                continue
            out.append(
                Report(
                    published=row["published"],
                    url=row["url"],
                    place=place,
                    subject=figure.subject,
                    total=figure.total,
                    done=figure.done,
                    in_progress=figure.in_progress,
                )
            )
    return out


def tracked(
    core: Core,
    *,
    until: int | None = None,
    cities: Sequence[str] = (),
    topics: Sequence[str] = (),
) -> list[Series]:
    """The tracked task lists (see :func:`analysis.progress.track`), newest first."""
    reports = task_reports(core, until=until, cities=cities, topics=topics)
    return track(reports, timezone=core.settings.digest.timezone)


@dataclass
class Period:
    """One period's stories, task series and keyword matches, loaded once for every
    digest of that period."""

    core: Core
    since: int
    until: int
    stories: list[Story]
    pool: StoryPool
    series: list[Series]
    _watched: dict[str, frozenset[int]] = field(default_factory=dict)

    @classmethod
    def load(cls, core: Core, since: int, until: int) -> Period:
        stories = core.storage.articles.recent_stories(since, until)
        return cls(core, since, until, stories, StoryPool(stories), tracked(core, until=until))

    def watched(self, keywords: Sequence[str]) -> dict[str, frozenset[int]]:
        """Story ids of the period that each keyword finds, as search finds them."""
        for word in keywords:
            if word not in self._watched:
                self._watched[word] = frozenset(self.core.story_ids(word, self.since, self.until))
        return {w: self._watched[w] for w in keywords}

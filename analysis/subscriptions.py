"""Reading what a user (or the config) wants to follow: "湘潭 交通, 长沙" → subscriptions."""

from __future__ import annotations

from analysis.taxonomy import Tagger
from domain.models import Subscription

_GROUP_SEPARATORS = "，,、；;"


def parse_subscriptions(tagger: Tagger, text: str) -> tuple[list[Subscription], list[str]]:
    """The subscriptions named in ``text`` and the words that name nothing.

    Groups are split at ，、,；; inside a group, cities and topics together make pairs
    ("湘潭 交通" → 湘潭·交通), cities or topics alone are each their own subscription
    ("长沙 株洲" → 长沙, 株洲). Districts and landmarks name their city.
    """
    for sep in _GROUP_SEPARATORS:
        text = text.replace(sep, "|")
    subs: list[Subscription] = []
    unknown: list[str] = []
    for group in (g.strip() for g in text.split("|")):
        if not group:
            continue
        cities, topics, bad = tagger.resolve(group.replace("·", " ").split())
        unknown += bad
        if cities and topics:
            subs += [Subscription(c, t) for c in cities for t in topics]
        else:
            subs += [Subscription(city=c) for c in cities]
            subs += [Subscription(topic=t) for t in topics]
    return list(dict.fromkeys(subs)), unknown

"""The words a chat user adds to a search to change its order."""

from __future__ import annotations

NEWEST_WORDS = ("最新", "最新动态", "按时间")  # a search word that asks for newest first


def split_sort(args: str) -> tuple[str, str]:
    """(query, sort): ``融城干道 最新`` is ``("融城干道", "newest")``; without such a word
    the order is the default, relevance blended with recency."""
    words = args.split()
    kept = [w for w in words if w not in NEWEST_WORDS]
    return " ".join(kept), "newest" if len(kept) < len(words) else "relevance"

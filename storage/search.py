"""Keyword search over stories: newest first (fast at any hit count) or by relevance."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence

from domain.errors import InvalidQueryError, StorageError
from domain.models import SearchHit, SearchPage, Story
from storage import fts
from storage.articles import Articles
from storage.db import Database

_BATCH = 256
RELEVANCE_WINDOW = 2000


class Search:
    def __init__(
        self, db: Database, articles: Articles, splitter: Callable[[str], list[str]] | None = None
    ) -> None:
        self.db = db
        self.articles = articles
        self.splitter = splitter

    def search(
        self,
        text: str,
        *,
        cities: Sequence[str] = (),
        topics: Sequence[str] = (),
        limit: int = 10,
        offset: int = 0,
        sort: str = "newest",
    ) -> SearchPage:
        """Stories whose articles contain every word of ``text``.

        Raises ``InvalidQueryError`` (message in Chinese) for an empty or over-long query.
        """
        if len(text) > fts.MAX_QUERY_CHARS:
            raise InvalidQueryError(f"关键词太长了：请控制在 {fts.MAX_QUERY_CHARS} 个字以内。")
        query = fts.parse_query(text)
        if query is None:
            raise InvalidQueryError("请输入要搜索的关键词，例如：融城干道")
        if sort not in ("newest", "relevance"):
            raise InvalidQueryError("排序方式只能是 newest 或 relevance。")
        limit = max(1, min(limit, 50))
        offset = max(0, offset)
        page = self._run(query, cities, topics, limit, offset, sort)
        if not page.hits and offset == 0 and self.splitter is not None:
            # A run-together query ("湘潭融城干道") finds nothing as one phrase: try its words.
            words = [w for t in query.terms for w in self.splitter(t)]
            split = fts.Query(tuple(dict.fromkeys(words))[: fts.MAX_TERMS])
            if split.terms and split.terms != query.terms:
                page = self._run(split, cities, topics, limit, offset, sort)
        return page

    def _run(
        self,
        query: fts.Query,
        cities: Sequence[str],
        topics: Sequence[str],
        limit: int,
        offset: int,
        sort: str,
    ) -> SearchPage:
        match = query.match()
        if sort == "newest":
            sql = "SELECT rowid FROM articles_fts WHERE articles_fts MATCH ? ORDER BY rowid DESC"
            params: tuple[str, ...] = (match,)
        else:
            # bm25 costs time in proportion to the hits; rank the newest RELEVANCE_WINDOW
            # matches, which is what a news reader wants anyway, at a bounded cost.
            sql = (
                "SELECT rowid FROM (SELECT rowid, bm25(articles_fts) AS score"
                " FROM articles_fts WHERE articles_fts MATCH ?"
                f" ORDER BY rowid DESC LIMIT {RELEVANCE_WINDOW}) ORDER BY score, rowid DESC"
            )
            params = (match,)
        try:
            cursor = self.db.conn.execute(sql, params)
        except sqlite3.Error as e:
            raise InvalidQueryError("无法处理这个关键词，请换一种说法。") from e
        wanted = offset + limit + 1  # one more tells whether there is a next page
        seen: set[int] = set()
        loaded: dict[int, Story] = {}
        picked: list[tuple[int, int]] = []  # (story id, best article id)
        while len(picked) < wanted:
            try:
                batch = [row[0] for row in cursor.fetchmany(_BATCH)]
            except sqlite3.Error as e:
                raise StorageError(f"search failed: {e}") from e
            if not batch:
                break
            marks = ",".join("?" * len(batch))
            owners = dict(
                self.db.execute(
                    f"SELECT id, story_id FROM articles WHERE id IN ({marks})", batch
                ).fetchall()
            )
            fresh = [owners[a] for a in batch if a in owners and owners[a] not in seen]
            loaded.update(self.articles.stories(list(dict.fromkeys(fresh))))
            for article_id in batch:
                story_id = owners.get(article_id)
                if story_id is None or story_id in seen:
                    continue
                seen.add(story_id)
                story = loaded.get(story_id)
                if story and story.tagged(cities, topics):
                    picked.append((story_id, article_id))
                    if len(picked) >= wanted:
                        break
        cursor.close()
        window = picked[offset : offset + limit]
        if not window:
            return SearchPage(hits=(), has_more=False, terms=query.terms)
        texts = self._texts([a for _, a in window])
        hits = []
        for story_id, article_id in window:
            folded, display = texts[article_id]
            snip, spans = fts.snippet(folded, query.terms, display=display)
            hits.append(SearchHit(story=loaded[story_id], snippet=snip, highlights=spans))
        return SearchPage(
            hits=tuple(hits), has_more=len(picked) > offset + limit, terms=query.terms
        )

    def _texts(self, article_ids: list[int]) -> dict[int, tuple[str, str]]:
        marks = ",".join("?" * len(article_ids))
        rows = self.db.query(
            f"SELECT id, folded, title, body FROM articles WHERE id IN ({marks})", article_ids
        )
        return {r["id"]: (r["folded"], r["title"] + "\n" + r["body"]) for r in rows}

    def story_ids(self, text: str, since: int, until: int) -> set[int]:
        """Ids of the stories first seen in [since, until) that ``text`` finds: the same
        matching as :meth:`search` (a run-together word retried as its words), for the
        keywords a chat watches. Nothing for a query that has nothing searchable."""
        query = fts.parse_query(text)
        if query is None:
            return set()
        found = self._story_ids(query, since, until)
        if not found and self.splitter is not None:
            words = [w for t in query.terms for w in self.splitter(t)]
            split = fts.Query(tuple(dict.fromkeys(words))[: fts.MAX_TERMS])
            if split.terms and split.terms != query.terms:
                found = self._story_ids(split, since, until)
        return found

    def _story_ids(self, query: fts.Query, since: int, until: int) -> set[int]:
        sql = (
            "SELECT DISTINCT a.story_id FROM articles_fts f JOIN articles a ON a.id = f.rowid"
            " JOIN stories s ON s.id = a.story_id WHERE articles_fts MATCH ?"
            " AND s.first_seen >= ? AND s.first_seen < ?"
        )
        try:
            rows = self.db.conn.execute(sql, (query.match(), since, until)).fetchall()
        except sqlite3.Error as e:
            raise StorageError(f"watch search failed: {e}") from e
        return {row[0] for row in rows}

    def substring_scan(self, text: str) -> set[int]:
        """Reference answer for tests and benchmarks: story ids by plain substring scan."""
        query = fts.parse_query(text)
        if query is None:
            return set()
        where = " AND ".join("instr(folded, ?) > 0" for _ in query.terms)
        rows = self.db.execute(
            f"SELECT DISTINCT story_id FROM articles WHERE {where}", query.terms
        ).fetchall()
        return {r[0] for r in rows}

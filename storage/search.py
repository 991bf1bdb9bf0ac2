"""Keyword search over stories: relevance blended with recency (default) or newest first."""

from __future__ import annotations

import itertools
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence

from domain.errors import InvalidQueryError, StorageError
from domain.models import SearchHit, SearchPage, Story
from storage import fts, ranking
from storage.articles import Articles
from storage.db import Database

_BATCH = 256
SORTS = ("relevance", "newest")


class Search:
    """Keyword search; ``clock`` gives the time recency is measured from.

    Storage does not read language: retrying a run-together query ("湘潭融城干道") as its
    words, and naming the cities and topics a query mentions (a boost in relevance
    order), are the caller's (``app.core.Core.search``), which passes words and names.
    """

    def __init__(
        self,
        db: Database,
        articles: Articles,
        *,
        clock: Callable[[], float] = time.time,
        weights: ranking.Weights | None = None,
    ) -> None:
        self.db = db
        self.articles = articles
        self.clock = clock
        self.weights = weights or ranking.Weights()

    def search(
        self,
        text: str,
        *,
        cities: Sequence[str] = (),
        topics: Sequence[str] = (),
        limit: int = 10,
        offset: int = 0,
        sort: str = "relevance",
        named: tuple[Sequence[str], Sequence[str]] = ((), ()),
    ) -> SearchPage:
        """Stories whose articles contain every word of ``text``: by relevance blended with
        recency (``storage.ranking``), or ``sort="newest"`` newest first. ``cities`` and
        ``topics`` filter; ``named`` (cities, topics) are those the query mentions, a boost.

        Every match is returned (recall equals a substring scan): in relevance order the
        ranked candidates come first, then any other match newest first.
        Raises ``InvalidQueryError`` (message in Chinese) for an empty or over-long query.
        """
        if len(text) > fts.MAX_QUERY_CHARS:
            raise InvalidQueryError(f"关键词太长了：请控制在 {fts.MAX_QUERY_CHARS} 个字以内。")
        query = fts.parse_query(text)
        if query is None:
            raise InvalidQueryError("请输入要搜索的关键词，例如：融城干道")
        if sort not in SORTS:
            raise InvalidQueryError("排序方式只能是 relevance（相关度）或 newest（最新）。")
        limit = max(1, min(limit, 50))
        offset = max(0, offset)
        return self._run(query, cities, topics, limit, offset, sort, named)

    def _run(
        self,
        query: fts.Query,
        cities: Sequence[str],
        topics: Sequence[str],
        limit: int,
        offset: int,
        sort: str,
        named: tuple[Sequence[str], Sequence[str]] = ((), ()),
    ) -> SearchPage:
        wanted = offset + limit + 1  # one more tells whether there is a next page
        picked: list[tuple[int, int]] = []  # (story id, best article id)
        seen: set[int] = set()
        loaded: dict[int, Story] = {}
        if sort == "relevance":
            ranked, candidates = self._ranked(query, named)
            while len(picked) < wanted:
                # Load stories for about as many as the page still needs: each costs a read.
                chunk = list(itertools.islice(ranked, wanted - len(picked)))
                if not chunk:
                    break
                self._pick(chunk, cities, topics, wanted, picked, seen, loaded)
            seen.update(candidates)
        if len(picked) < wanted:
            self._newest(query, cities, topics, wanted, picked, seen, loaded)
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

    def _ranked(
        self, query: fts.Query, named: tuple[Sequence[str], Sequence[str]]
    ) -> tuple[Iterator[tuple[int, int]], set[int]]:
        """Candidates by blended score: the newest ``BODY_CANDIDATES`` matches of the full
        index and the newest ``HEAD_CANDIDATES`` articles about the query (its words in
        their title, lead or the words they repeat: the small heads index). Both reads stop
        at their limit, so the cost is bounded whatever share of the stories a word is in;
        when the body matches are fewer than the limit they are every match, which the
        heads' are among, and the heads are not read. Returns the lazy order and the
        candidates' story ids."""
        match = query.match()
        ids: dict[int, None] = {}
        for table, cap in (
            ("articles_fts", ranking.BODY_CANDIDATES),
            ("heads_fts", ranking.HEAD_CANDIDATES),
        ):
            if table == "heads_fts" and len(ids) < ranking.BODY_CANDIDATES:
                break  # every match is in hand (a heads match is a body match)
            sql = f"SELECT rowid FROM {table} WHERE {table} MATCH ? ORDER BY rowid DESC LIMIT ?"
            try:
                ids.update(dict.fromkeys(r[0] for r in self.db.conn.execute(sql, (match, cap))))
            except sqlite3.Error as e:
                raise self._failed(e) from e
        if not ids:
            return iter(()), set()
        marks = ",".join("?" * len(ids))
        rows = self.db.execute(
            "SELECT a.id, a.story_id, a.folded, s.published, s.cities, s.topics, s.source_count,"
            " a.threads FROM articles a JOIN stories s ON s.id = a.story_id"
            f" WHERE a.id IN ({marks})",
            tuple(ids),
        ).fetchall()
        candidates = [
            ranking.Candidate(
                article_id=r[0],
                story_id=r[1],
                folded=r[2],
                published=r[3],
                cities_json=r[4],
                topics_json=r[5],
                source_count=r[6],
                threads_json=r[7],
            )
            for r in rows
        ]
        q = ranking.Query(query.terms, tuple(named[0]), tuple(named[1]))
        order = ranking.order(q, candidates, int(self.clock()), self.weights)
        return order, {c.story_id for c in candidates}

    def _failed(self, e: sqlite3.Error) -> StorageError:
        """A query FTS5 cannot parse is the user's; anything else (locked, damaged) is the
        database's and goes through ``Database.error``, which stops writers on damage."""
        if "fts5" in str(e) or "syntax error" in str(e):
            return InvalidQueryError("无法处理这个关键词，请换一种说法。")
        return self.db.error(e, "search failed: ")

    def _newest(
        self,
        query: fts.Query,
        cities: Sequence[str],
        topics: Sequence[str],
        wanted: int,
        picked: list[tuple[int, int]],
        seen: set[int],
        loaded: dict[int, Story],
    ) -> None:
        """Append matches newest first (each story once, skipping ``seen``) up to ``wanted``."""
        sql = "SELECT rowid FROM articles_fts WHERE articles_fts MATCH ? ORDER BY rowid DESC"
        try:
            cursor = self.db.conn.execute(sql, (query.match(),))
        except sqlite3.Error as e:
            raise self._failed(e) from e
        size = 0
        while len(picked) < wanted:
            # Read about what the page still needs, then twice as much each round (filters
            # may drop many): each read costs index work and each story a load.
            size = min(_BATCH, max(2 * size, wanted - len(picked) + 4))
            try:
                batch = [row[0] for row in cursor.fetchmany(size)]
            except sqlite3.Error as e:
                raise self._failed(e) from e
            if not batch:
                break
            marks = ",".join("?" * len(batch))
            owners = dict(
                self.db.execute(
                    f"SELECT id, story_id FROM articles WHERE id IN ({marks})", batch
                ).fetchall()
            )
            pairs = [(owners[a], a) for a in batch if a in owners]
            self._pick(pairs, cities, topics, wanted, picked, seen, loaded)
        cursor.close()

    def _pick(
        self,
        pairs: Sequence[tuple[int, int]],
        cities: Sequence[str],
        topics: Sequence[str],
        wanted: int,
        picked: list[tuple[int, int]],
        seen: set[int],
        loaded: dict[int, Story],
    ) -> None:
        """Append the (story, article) pairs whose story passes the filters, in order."""
        fresh = [story for story, _ in pairs if story not in seen and story not in loaded]
        loaded.update(self.articles.stories(list(dict.fromkeys(fresh))))
        for story_id, article_id in pairs:
            if story_id in seen:
                continue
            seen.add(story_id)
            story = loaded.get(story_id)
            if story and story.tagged(cities, topics):
                picked.append((story_id, article_id))
                if len(picked) >= wanted:
                    break

    def _texts(self, article_ids: list[int]) -> dict[int, tuple[str, str]]:
        marks = ",".join("?" * len(article_ids))
        rows = self.db.query(
            f"SELECT id, folded, title, body FROM articles WHERE id IN ({marks})", article_ids
        )
        return {r["id"]: (r["folded"], r["title"] + "\n" + r["body"]) for r in rows}

    def story_ids(self, text: str, since: int, until: int) -> set[int]:
        """Ids of the stories first seen in [since, until) that ``text`` finds: the same
        matching as :meth:`search`, for the keywords a chat watches. Nothing for a query
        that has nothing searchable."""
        query = fts.parse_query(text)
        if query is None:
            return set()
        sql = (
            "SELECT DISTINCT a.story_id FROM articles_fts f JOIN articles a ON a.id = f.rowid"
            " JOIN stories s ON s.id = a.story_id WHERE articles_fts MATCH ?"
            " AND s.first_seen >= ? AND s.first_seen < ?"
        )
        try:
            rows = self.db.conn.execute(sql, (query.match(), since, until)).fetchall()
        except sqlite3.Error as e:
            raise self._failed(e) from e
        return {row[0] for row in rows}

    def finds_any(self, text: str) -> bool:
        """Whether ``text`` finds any stored article at all (one index probe)."""
        query = fts.parse_query(text)
        if query is None:
            return False
        sql = "SELECT 1 FROM articles_fts WHERE articles_fts MATCH ? LIMIT 1"
        try:
            return self.db.conn.execute(sql, (query.match(),)).fetchone() is not None
        except sqlite3.Error as e:
            raise self._failed(e) from e

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

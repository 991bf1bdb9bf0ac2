"""Articles and the stories they are merged into, kept in step with the FTS index."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from typing import Any

from analysis import dedup
from analysis.pipeline import Analysis
from domain.models import Story
from feeds.parse import Entry
from storage import fts
from storage.db import Database

NEW, UPDATED, MERGED, UNCHANGED = "new", "updated", "merged", "unchanged"
MERGE_WINDOW = 30 * 86400  # reposts appear within days; a year-on-year report is news
_ID_SLOTS = 1024  # article ids are published * 1024 + n: id order is time order


def content_hash(analysis: Analysis) -> str:
    return hashlib.sha1((analysis.title + "\x1f" + analysis.text).encode()).hexdigest()


def story_from_row(row: dict[str, Any], sources: Sequence[str] = ()) -> Story:
    return Story(
        id=row["id"],
        title=row["title"],
        url=row["url"],
        published=row["published"],
        first_seen=row["first_seen"],
        cities=tuple(json.loads(row["cities"])),
        topics=tuple(json.loads(row["topics"])),
        summary=row["summary"],
        source_count=row["source_count"],
        sources=tuple(sources),
        figures=tuple(json.loads(row.get("figures") or "[]")),
    )


def _union(lists: Iterable[str], order: Sequence[str]) -> list[str]:
    found = set()
    for value in lists:
        found.update(json.loads(value))
    known = [x for x in order if x in found]
    return known + sorted(found - set(known))


class Articles:
    def __init__(self, db: Database, threshold: float = 0.5) -> None:
        self.db = db
        self.threshold = threshold
        self.city_order: Sequence[str] = ()
        self.topic_order: Sequence[str] = ()

    def upsert(
        self, feed_id: int, entry: Entry, analysis: Analysis, now: int, *, match_link: bool = True
    ) -> str:
        """Store one entry atomically; returns NEW, MERGED, UPDATED or UNCHANGED.

        An entry is the stored one with its guid, or else (``match_link``, when its link
        is unique in the feed) the one with its link: some feeds change guids, others
        point every item at one page.
        """
        digest = content_hash(analysis)
        published = min(entry.published or now, now)  # a date in the future is not news yet
        with self.db.transaction():
            # Two indexed lookups: an OR across guid and url would scan the feed's history.
            existing = self.db.query(
                "SELECT id, story_id, content_hash FROM articles WHERE feed_id = ? AND guid = ?",
                (feed_id, entry.guid),
            )
            if not existing and entry.link and match_link:
                existing = self.db.query(
                    "SELECT id, story_id, content_hash FROM articles"
                    " WHERE url = ? AND feed_id = ? LIMIT 1",
                    (entry.link, feed_id),
                )
            if existing:
                row = existing[0]
                if row["content_hash"] == digest:
                    return UNCHANGED
                self._write_article(
                    row["id"],
                    row["story_id"],
                    feed_id,
                    entry,
                    analysis,
                    now,
                    published,
                    digest,
                    update=True,
                )
                self._refresh_story(row["story_id"], now)
                return UPDATED
            story_id = self._find_story(
                entry.link if match_link else "", analysis.signature, published
            )
            article_id = self._new_id(published)
            if story_id is None:
                story_id = self._new_story(entry, analysis, published, now)
                outcome = NEW
            else:
                outcome = MERGED
            self._write_article(
                article_id, story_id, feed_id, entry, analysis, now, published, digest, update=False
            )
            self._add_bands(story_id, analysis.signature)
            self._refresh_story(story_id, now)
            return outcome

    def _new_id(self, published: int) -> int:
        base = published * _ID_SLOTS
        top = self.db.scalar(
            "SELECT MAX(id) FROM articles WHERE id >= ? AND id < ?", (base, base + _ID_SLOTS)
        )
        candidate = base if top is None else top + 1
        while self.db.scalar("SELECT 1 FROM articles WHERE id = ?", (candidate,)):
            candidate += 1
        return int(candidate)

    def _find_story(self, link: str, signature: bytes, published: int) -> int | None:
        if link:
            same = self.db.scalar("SELECT story_id FROM articles WHERE url = ? LIMIT 1", (link,))
            if same is not None:
                return int(same)
        keys = dedup.band_keys(signature)
        marks = ",".join("?" * len(keys))
        candidates = self.db.query(
            f"SELECT DISTINCT b.story_id AS story_id FROM story_bands b"
            f" JOIN stories s ON s.id = b.story_id"
            f" WHERE b.key IN ({marks}) AND s.published BETWEEN ? AND ?",
            (*keys, published - MERGE_WINDOW, published + MERGE_WINDOW),
        )
        signatures = {
            cand["story_id"]: [
                r["signature"]
                for r in self.db.query(
                    "SELECT signature FROM articles WHERE story_id = ? AND signature IS NOT NULL",
                    (cand["story_id"],),
                )
            ]
            for cand in candidates
        }
        return dedup.choose_story(signature, signatures, self.threshold)

    def _new_story(self, entry: Entry, analysis: Analysis, published: int, now: int) -> int:
        cur = self.db.execute(
            "INSERT INTO stories (title, url, published, first_seen, updated_at, summary,"
            " source_count, signature) VALUES (?, ?, ?, ?, ?, ?, 0, ?)",
            (analysis.title, entry.link, published, now, now, analysis.summary, analysis.signature),
        )
        return int(cur.lastrowid or 0)

    def _add_bands(self, story_id: int, signature: bytes) -> None:
        rows = [(key, story_id) for key in dedup.band_keys(signature)]
        self.db.executemany("INSERT INTO story_bands (key, story_id) VALUES (?, ?)", rows)

    def _write_article(
        self,
        article_id: int,
        story_id: int,
        feed_id: int,
        entry: Entry,
        analysis: Analysis,
        now: int,
        published: int,
        digest: str,
        *,
        update: bool,
    ) -> None:
        known = fts.profile(analysis.folded)
        values = {
            "id": article_id,
            "story_id": story_id,
            "feed_id": feed_id,
            "guid": entry.guid,
            "url": entry.link,
            "title": analysis.title,
            "body": analysis.text,
            "folded": analysis.folded,
            "published": published,
            "fetched_at": now,
            "traditional": int(analysis.traditional),
            "cities": json.dumps(analysis.cities, ensure_ascii=False),
            "topics": json.dumps(analysis.topics, ensure_ascii=False),
            "keywords": json.dumps(analysis.keywords, ensure_ascii=False),
            "figures": json.dumps([f.to_json() for f in analysis.figures], ensure_ascii=False),
            "summary": analysis.summary,
            "content_hash": digest,
            "signature": analysis.signature,
            "threads": known.threads_json(),
        }
        if update:
            values.pop("published")  # the id encodes the first published time; keep both
            self.db.update("articles", article_id, {k: v for k, v in values.items() if k != "id"})
            self.db.execute("DELETE FROM articles_fts WHERE rowid = ?", (article_id,))
            self.db.execute("DELETE FROM heads_fts WHERE rowid = ?", (article_id,))
        else:
            cols = ", ".join(values)
            self.db.execute(
                f"INSERT INTO articles ({cols}) VALUES ({', '.join(':' + k for k in values)})",
                values,
            )
        self.db.execute(
            "INSERT INTO articles_fts (rowid, doc) VALUES (?, ?)",
            (article_id, fts.index_doc(analysis.folded)),
        )
        self.db.execute(
            "INSERT INTO heads_fts (rowid, title, lead, repeats) VALUES (?, ?, ?, ?)",
            (article_id, *fts.about(analysis.folded, known)),
        )

    def _refresh_story(self, story_id: int, now: int) -> None:
        rows = self.db.query(
            "SELECT url, title, summary, published, cities, topics FROM articles"
            " WHERE story_id = ? ORDER BY published, id",
            (story_id,),
        )
        first = rows[0]
        cities = _union((r["cities"] for r in rows), self.city_order)
        topics = _union((r["topics"] for r in rows), self.topic_order)
        self.db.execute(
            "UPDATE stories SET title = ?, url = ?, summary = ?, published = ?, updated_at = ?,"
            " cities = ?, topics = ?, source_count = ? WHERE id = ?",
            (
                first["title"],
                first["url"],
                first["summary"],
                first["published"],
                now,
                json.dumps(cities, ensure_ascii=False),
                json.dumps(topics, ensure_ascii=False),
                len({r["url"] or r["title"] for r in rows}),
                story_id,
            ),
        )

    def stories(self, ids: Sequence[int]) -> dict[int, Story]:
        """Stories by id, with their sources' URLs and their articles' figures."""
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = self.db.query(f"SELECT * FROM stories WHERE id IN ({marks})", tuple(ids))
        arts = self.db.query(
            f"SELECT story_id, url, published, figures FROM articles"
            f" WHERE story_id IN ({marks}) ORDER BY published, id",
            tuple(ids),
        )
        sources: dict[int, list[str]] = {}
        figures: dict[int, list[dict[str, object]]] = {}
        for a in arts:
            urls = sources.setdefault(a["story_id"], [])
            if a["url"] and a["url"] not in urls:
                urls.append(a["url"])
            # Each figure says which article reported it, and when: merged key figures
            # keep every source link, progress points their dates.
            figures.setdefault(a["story_id"], []).extend(
                {**f, "url": a["url"], "published": a["published"]}
                for f in json.loads(a["figures"])
                if isinstance(f, dict)
            )
        out = {}
        for r in rows:
            r["figures"] = json.dumps(figures.get(r["id"], []), ensure_ascii=False)
            out[r["id"]] = story_from_row(r, sources.get(r["id"], ()))
        return out

    def recent_stories(
        self, since: int, until: int | None = None, limit: int | None = None
    ) -> list[Story]:
        """Stories first seen in [since, until), newest first."""
        sql = "SELECT id FROM stories WHERE first_seen >= ?"
        params: list[Any] = [since]
        if until is not None:
            sql += " AND first_seen < ?"
            params.append(until)
        sql += " ORDER BY published DESC, id DESC"
        if limit:
            sql += f" LIMIT {int(limit)}"
        ids = [r["id"] for r in self.db.query(sql, params)]
        by_id = self.stories(ids)
        return [by_id[i] for i in ids if i in by_id]

    def stories_committed(self, after: int, upto: int, *, since: int = 0) -> list[Story]:
        """Stories with ``after < id <= upto`` (committed in that order), first seen at or
        after ``since``, newest first: one digest period by commit order."""
        ids = [
            r["id"]
            for r in self.db.query(
                "SELECT id FROM stories WHERE id > ? AND id <= ? AND first_seen >= ?"
                " ORDER BY published DESC, id DESC",
                (after, upto, since),
            )
        ]
        by_id = self.stories(ids)
        return [by_id[i] for i in ids if i in by_id]

    def latest(self, limit: int = 10) -> list[Story]:
        ids = [
            r["id"]
            for r in self.db.query(
                "SELECT id FROM stories ORDER BY published DESC, id DESC LIMIT ?", (limit,)
            )
        ]
        by_id = self.stories(ids)
        return [by_id[i] for i in ids]

    def task_reports(self, until: int | None = None) -> list[dict[str, Any]]:
        """Every stored article that reported a task list (published before ``until``):
        ``{"published", "url", "cities", "topics", "figures"}`` rows, oldest first."""
        sql = (
            "SELECT published, url, cities, topics, figures FROM articles"
            " WHERE figures LIKE '%\"tasks\"%'"
        )
        params: list[Any] = []
        if until is not None:
            sql += " AND published < ?"
            params.append(until)
        rows = self.db.query(sql + " ORDER BY published, id", params)
        return [
            {
                "published": r["published"],
                "url": r["url"],
                "cities": json.loads(r["cities"]),
                "topics": json.loads(r["topics"]),
                "figures": [f for f in json.loads(r["figures"]) if isinstance(f, dict)],
            }
            for r in rows
        ]

    def counts(self) -> dict[str, int]:
        return {
            "articles": int(self.db.scalar("SELECT COUNT(*) FROM articles")),
            "stories": int(self.db.scalar("SELECT COUNT(*) FROM stories")),
        }

"""The article catalogue: one SQLite row per indexed article (its metadata, the version its chunks were made
from, how many of them are stored), kept by the index as it writes and deletes chunks.

Why: the manifest (what is indexed, and is it complete) and the article list (for "latest", "how many",
the page's article list, a story's copies) used to be read by paging every chunk's metadata out of Chroma:
52 s at 300k chunks on a Chroma server, at every ingest and at the first question after every start or
ingest. Read from here it is one query. The store stays the truth: when the catalogue's chunk total is not
the store's chunk count (a run killed between the two writes, an index made before this file), the index
rebuilds it from the store (Index._check_catalogue).

Only rag/index.py uses this module.
"""
from __future__ import annotations

import errno
import sqlite3
import threading
from pathlib import Path
from typing import Iterable

from . import files

SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS article (
    article_id TEXT PRIMARY KEY, title TEXT NOT NULL, date TEXT NOT NULL, source TEXT NOT NULL,
    author TEXT NOT NULL, url TEXT NOT NULL, content_hash TEXT NOT NULL, chunker TEXT NOT NULL,
    n_chunks INTEGER NOT NULL, n_sentences INTEGER NOT NULL, present INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS article_date ON article(date);
"""
FIELDS = ("article_id", "title", "date", "source", "author", "url")
MIXED = ("", "", -1, -1)  # the version of an article whose stored chunks come from two versions (a killed update)


class ArticleCatalogue:
    def __init__(self, path: Path):
        self.path = Path(path)
        self._local = threading.local()  # one connection per thread, as for the BM25 table

    @property
    def db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = files.connect(self.path)  # a damaged file starts anew: refilled from the store
            if db.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
                # another layout: start empty; the index refills it from the store (Index._check_catalogue)
                db.executescript("DROP TABLE IF EXISTS article;" + _SCHEMA + f"PRAGMA user_version = {SCHEMA_VERSION};")
            self._local.db = db
        return db

    # ---------------------------------------------------------------- writes (under the index's lock)
    def add_chunks(self, metas: Iterable[dict]) -> None:
        """Count stored chunks in, from their metadata (as the index writes them). A chunk of another
        version than the article's row marks the article MIXED: it is then never complete."""
        with self._transaction():
            for meta in metas:
                self._add(meta)

    def _add(self, meta: dict) -> None:
        version = _version(meta)
        row = self.db.execute("SELECT content_hash, chunker, n_chunks, n_sentences FROM article "
                              "WHERE article_id = ?", (meta["article_id"],)).fetchone()
        if row is None:
            self.db.execute("INSERT INTO article VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)",
                            (*(str(meta.get(f, "")) for f in FIELDS), *version))
        elif tuple(row) == version:
            self.db.execute("UPDATE article SET present = present + 1 WHERE article_id = ?", (meta["article_id"],))
        else:
            self.db.execute("UPDATE article SET present = present + 1, content_hash = ?, chunker = ?, "
                            "n_chunks = ?, n_sentences = ? WHERE article_id = ?", (*MIXED, meta["article_id"]))

    def delete(self, article_ids: list[str]) -> None:
        with self._transaction():
            self.db.executemany("DELETE FROM article WHERE article_id = ?", [(a,) for a in article_ids])

    def replace(self, metas: Iterable[dict]) -> None:
        """Rebuild from every stored chunk's metadata (the repair), in one transaction: readers see the
        old catalogue until the new one is whole."""
        with self._transaction():
            self.db.execute("DELETE FROM article")
            for meta in metas:
                self._add(meta)

    # ---------------------------------------------------------------- reads
    def chunk_total(self) -> int:
        return self.db.execute("SELECT coalesce(sum(present), 0) FROM article").fetchone()[0]

    def versions(self) -> dict[str, tuple[str, str, int, int, int]]:
        """article id -> (content hash, chunker, chunk count, sentence count, chunks present)."""
        return {row[0]: tuple(row[1:]) for row in self.db.execute(
            "SELECT article_id, content_hash, chunker, n_chunks, n_sentences, present FROM article")}

    def rows(self) -> list[dict]:
        """One dict per article (FIELDS and `chunks`), by date, then id."""
        return [dict(zip(FIELDS + ("chunks",), row)) for row in self.db.execute(
            f"SELECT {', '.join(FIELDS)}, present FROM article ORDER BY date, article_id")]

    def newest_date(self) -> str:
        return self.db.execute("SELECT coalesce(max(date), '') FROM article").fetchone()[0]

    def _transaction(self):
        return _Transaction(self.db)


def _version(meta: dict) -> tuple[str, str, int, int]:
    return (str(meta.get("content_hash", "")), str(meta.get("chunker", "")), int(meta.get("n_chunks", -1)),
            int(meta.get("n_sentences", -1)))


class _Transaction:
    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def __enter__(self):
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind, value, tb):
        if kind is None:
            self.db.execute("COMMIT")
        elif self.db.in_transaction:  # SQLite has already rolled back after some errors (SQLITE_FULL)
            self.db.execute("ROLLBACK")
        if isinstance(value, sqlite3.OperationalError) and "full" in str(value):
            raise OSError(errno.ENOSPC, f"No space left on device (article catalogue: {value})") from value

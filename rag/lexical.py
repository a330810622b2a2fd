"""BM25 over the chunks, on disk: an SQLite FTS5 table of each chunk's BM25 terms (title + text, lower-cased,
BM25 stop words removed, Snowball-stemmed: the same terms bm25s made). FTS5 finds the candidates and its
bm25() picks the best RESCORED; those are then scored with the Lucene BM25 that bm25s used (k1 1.5, b 0.75,
IDF ln(1 + (N - df + 0.5) / (df + 0.5))). Why: FTS5's IDF drops to zero for a term in half the
chunks or more, so in a small corpus ("Twitter" in every chunk of the seed articles) its ranking is unlike
bm25s', and answers changed with it; with the rescoring the ranking is bm25s' whenever a question matches at
most RESCORED chunks, and close to it beyond.

Why not bm25s (used before): it has no incremental add or delete, so every ingest that changed anything
re-indexed the whole corpus (18 s at 100k chunks, 123 s at 1M: docs/SCALING.md), and it held every chunk's text and
metadata in Python memory. Here adding or removing an article writes only its rows, nothing of the corpus
is held in memory, and a commit is seen at once by every process that opens the file (WAL).

Only rag/index.py uses this module: it keeps the table in step with the Chroma chunks.
"""
from __future__ import annotations

import errno
import math
import sqlite3
import threading
from functools import lru_cache
from pathlib import Path

from .text import bm25_terms
from .types import Filters, date_int

RESCORED = 120  # candidates rescored per question: 3x the retrieval pool of 40 (400 cost 5 ms more at 10k)
# Off (None): measured and not adopted. FTS5's bm25() costs about 1 us per matching chunk (counting the
# matches is 15x cheaper); taking the candidates from a question's rarest terms while their chunk counts sum
# to at most a budget (every term still scores them) cut the p50 at 1M chunks from ~270 to ~36 ms with 20,000,
# but kept only 84% of the exact top 10's BM25 score (docs/SCALING.md; `python -m bench.lexical --budget`).
POSTINGS_BUDGET: int | None = None
K1, B = 1.5, 0.75  # bm25s' defaults (method "lucene")

SCHEMA_VERSION = 2
_SCHEMA = """
CREATE TABLE IF NOT EXISTS chunk (
    id INTEGER PRIMARY KEY, chunk_id TEXT UNIQUE NOT NULL, article_id TEXT NOT NULL,
    date_int INTEGER NOT NULL, source TEXT NOT NULL, length INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS chunk_article ON chunk(article_id);
CREATE VIRTUAL TABLE IF NOT EXISTS chunk_terms USING fts5(terms, tokenize="unicode61 remove_diacritics 0 tokenchars '_'");
CREATE VIRTUAL TABLE IF NOT EXISTS chunk_vocab USING fts5vocab(chunk_terms, 'row');
"""


class LexicalIndex:
    def __init__(self, path: Path):
        self.path = Path(path)
        self._local = threading.local()  # one connection per thread: the page answers several at once

    @property
    def db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            if db.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
                # another layout: start empty; the index refills it from the store's chunks (Index._sync_lexical)
                db.executescript("DROP TABLE IF EXISTS chunk_vocab; DROP TABLE IF EXISTS chunk_terms; "
                                 "DROP TABLE IF EXISTS chunk;")
                db.executescript(_SCHEMA + f"PRAGMA user_version = {SCHEMA_VERSION};")
            self._local.db = db
        return db

    # ---------------------------------------------------------------- writes (under the index's lock)
    def add(self, rows: list[tuple[str, str, str, str, str]]) -> None:
        """(chunk id, article id, date, source, title + text) rows, written in one transaction."""
        db = self.db
        with _transaction(self):
            for chunk_id, article_id, date, source, text in rows:
                self._delete(db, "chunk_id = ?", (chunk_id,))
                stems = bm25_terms(text)
                cur = db.execute("INSERT INTO chunk (chunk_id, article_id, date_int, source, length) "
                                 "VALUES (?, ?, ?, ?, ?)", (chunk_id, article_id, date_int(date), source, len(stems)))
                db.execute("INSERT INTO chunk_terms (rowid, terms) VALUES (?, ?)", (cur.lastrowid, " ".join(stems)))

    def delete_articles(self, article_ids: list[str]) -> None:
        db = self.db
        with _transaction(self):
            for article_id in article_ids:
                self._delete(db, "article_id = ?", (article_id,))

    def clear(self) -> None:
        with _transaction(self):
            self.db.execute("DELETE FROM chunk_terms")
            self.db.execute("DELETE FROM chunk")

    def delete_chunks(self, chunk_ids: list[str]) -> None:
        db = self.db
        with _transaction(self):
            for chunk_id in chunk_ids:
                self._delete(db, "chunk_id = ?", (chunk_id,))

    @staticmethod
    def _delete(db: sqlite3.Connection, where: str, args: tuple) -> None:
        db.execute(f"DELETE FROM chunk_terms WHERE rowid IN (SELECT id FROM chunk WHERE {where})", args)
        db.execute(f"DELETE FROM chunk WHERE {where}", args)

    # ---------------------------------------------------------------- reads
    def chunk_ids(self) -> set[str]:
        return {row[0] for row in self.db.execute("SELECT chunk_id FROM chunk")}

    def count(self) -> int:
        return self.db.execute("SELECT count(*) FROM chunk").fetchone()[0]

    def search(self, text: str, k: int, filters: Filters) -> list[str]:
        """Chunk ids ranked by BM25, best first; only chunks that share a term with `text`."""
        stems = list(dict.fromkeys(bm25_terms(text)))
        if not stems or k <= 0:
            return []
        n, total = self._stats()
        dfs = {stem: df for stem in stems if (df := self._df(stem))}
        if not dfs:
            return []
        match = " OR ".join('"' + stem.replace('"', '""') + '"' for stem in _rarest(dfs, POSTINGS_BUDGET))
        where, args = _filter_sql(filters)
        rows = self.db.execute(
            "SELECT chunk.chunk_id, chunk_terms.terms, chunk.length FROM chunk_terms JOIN chunk ON chunk.id = "
            f"chunk_terms.rowid WHERE chunk_terms MATCH ? {where} ORDER BY bm25(chunk_terms) LIMIT ?",
            (match, *args, max(k, RESCORED))).fetchall()
        if not rows:
            return []
        avgdl = max(1.0, (total or 0) / max(1, n))
        idf = {stem: lucene_idf(n, df) for stem, df in dfs.items()}
        scored = [(-lucene_score(text.split(), length, avgdl, idf), position, chunk_id)
                  for position, (chunk_id, text, length) in enumerate(rows)]
        return [chunk_id for _, _, chunk_id in sorted(scored)[:k]]

    def _stats(self) -> tuple[int, int]:
        """(chunks, their total length), read again only after a commit by any connection (SQLite's
        data_version moves on others' commits; this connection's own writes reset the cache)."""
        version = self.db.execute("PRAGMA data_version").fetchone()[0]
        cached = getattr(self._local, "stats", None)
        if cached is None or cached[0] != version:
            n, total = self.db.execute("SELECT count(*), sum(length) FROM chunk").fetchone()
            cached = self._local.stats = (version, (n, total or 0))
        return cached[1]

    def _df(self, stem: str) -> int:
        row = self.db.execute("SELECT doc FROM chunk_vocab WHERE term = ?", (stem,)).fetchone()
        return int(row[0]) if row else 0

    def doc_freqs(self) -> "DocFreqs":
        return DocFreqs(self)


class DocFreqs:
    """Document frequency of a stem, read from FTS5's vocabulary on first use (never the whole vocabulary)."""

    def __init__(self, lexical: LexicalIndex):
        self._lexical = lexical
        self.n_docs = lexical._stats()[0]
        self.get = lru_cache(maxsize=50_000)(self._lookup)

    def _lookup(self, term: str, default=None):
        return self._lexical._df(term) or default  # a stem in the vocabulary is in at least one chunk

    def __contains__(self, term: str) -> bool:
        return self.get(term) is not None


def lucene_idf(n_chunks: int, df: int) -> float:
    return math.log(1 + (n_chunks - df + 0.5) / (df + 0.5))


def lucene_score(words: list[str], length: int, avgdl: float, idf: dict[str, float]) -> float:
    """The Lucene BM25 of one chunk (its terms `words`, `length` of them) for a question's stems' IDFs."""
    norm = K1 * (1 - B + B * length / avgdl)
    score = 0.0
    for stem, weight in idf.items():
        if tf := words.count(stem):  # list.count: C speed, only the question's few stems
            score += weight * tf / (tf + norm)
    return score


def _rarest(dfs: dict[str, int], budget: int | None) -> list[str]:
    """The rarest terms whose chunk counts sum to at most `budget` (always at least the rarest one)."""
    if budget is None:
        return list(dfs)
    kept, spent = [], 0
    for stem, df in sorted(dfs.items(), key=lambda item: item[1]):
        if kept and spent + df > budget:
            break
        kept.append(stem)
        spent += df
    return kept


def _filter_sql(filters: Filters) -> tuple[str, list]:
    """The SQL of `Filters.admits` (an undated article, date_int 0, is outside any date range)."""
    clauses, args = [], []
    if filters.article_ids:
        clauses.append(f"chunk.article_id IN ({','.join('?' * len(filters.article_ids))})")
        args += list(filters.article_ids)
    if filters.date_from:
        clauses.append("chunk.date_int >= ?")
        args.append(date_int(filters.date_from))
    if filters.date_to:
        clauses.append("chunk.date_int <= ?")
        args.append(date_int(filters.date_to))
    if filters.sources:
        clauses.append(f"chunk.source IN ({','.join('?' * len(filters.sources))})")
        args += list(filters.sources)
    return "".join(" AND " + c for c in clauses), args


class _transaction:
    def __init__(self, lexical: LexicalIndex):
        self.lexical, self.db = lexical, lexical.db

    def __enter__(self):
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind, value, tb):
        self.lexical._local.stats = None  # this connection's own commit does not move data_version
        if kind is None:
            self.db.execute("COMMIT")
        elif self.db.in_transaction:  # SQLite has already rolled back after some errors (SQLITE_FULL)
            self.db.execute("ROLLBACK")  # a failed write leaves no part of itself
        if isinstance(value, sqlite3.OperationalError) and "full" in str(value):  # SQLITE_FULL: a full disk
            raise OSError(errno.ENOSPC, f"No space left on device (BM25 index: {value})") from value

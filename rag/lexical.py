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

At 20,000 chunks and more (BASE_MIN_CHUNKS), questions without filters are ranked on a memory-mapped copy of the
postings instead (rag/lexical_base.py: the same scores, computed in numpy over every match; at 1M chunks a
p50 of 11-20 ms against ~270 ms) plus FTS5 for the rows added since that copy was made; `compact` remakes the copy when those rows
and the deletions pass REBUILD_SHARE of the table (the index does it on a thread, after the ingest returns). Filtered questions keep the exact FTS5 path.

Only rag/index.py uses this module: it keeps the table in step with the Chroma chunks.
"""
from __future__ import annotations

import errno
import logging
import math
import sqlite3
import threading
from functools import lru_cache
from pathlib import Path

import numpy as np

from . import files, lexical_base
from .text import bm25_terms
from .types import Filters, date_int

log = logging.getLogger(__name__)

RESCORED = 120  # candidates rescored per question: 3x the retrieval pool of 40 (400 cost 5 ms more at 10k)
# Off (None): measured and not adopted. FTS5's bm25() costs about 1 us per matching chunk (counting the
# matches is 15x cheaper); taking the candidates from a question's rarest terms while their chunk counts sum
# to at most a budget (every term still scores them) cut the p50 at 1M chunks from ~270 to ~36 ms with 20,000,
# but kept only 84% of the exact top 10's BM25 score (docs/SCALING.md; `python -m bench.lexical --budget`).
POSTINGS_BUDGET: int | None = None
K1, B = 1.5, 0.75  # bm25s' defaults (method "lucene")
# The memory-mapped base (lexical_base): below 20k chunks FTS5 alone answers in ~5-10 ms (docs/lexical.json);
# with more than 5% of the table outside the base the FTS5 part of a question grows towards that of a table
# without one, so the base is remade (40 s for a million chunks, after an ingest: bench.lexical).
BASE_MIN_CHUNKS = 20_000
REBUILD_SHARE = 0.05
DELTA_SCORED = 2_000  # rows added since the base that match a question, up to which each is scored in Python

SCHEMA_VERSION = 2
_SCHEMA = """
CREATE TABLE IF NOT EXISTS chunk (
    id INTEGER PRIMARY KEY, chunk_id TEXT UNIQUE NOT NULL, article_id TEXT NOT NULL,
    date_int INTEGER NOT NULL, source TEXT NOT NULL, length INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS chunk_article ON chunk(article_id);
CREATE VIRTUAL TABLE IF NOT EXISTS chunk_terms USING fts5(terms, tokenize="unicode61 remove_diacritics 0 tokenchars '_'");
CREATE VIRTUAL TABLE IF NOT EXISTS chunk_vocab USING fts5vocab(chunk_terms, 'row');
"""
# The next chunk id, never lowered by a delete: a base (lexical_base) tells its rows from later ones by id, so
# an id must never come back. Created on every open: tables of SCHEMA_VERSION 2 made before it gain it as is.
# (One row; two processes opening a new table at once may each write one, so it is read as max(next_id).)
_HIGH_WATER = "CREATE TABLE IF NOT EXISTS high_water (next_id INTEGER NOT NULL);"


class LexicalIndex:
    def __init__(self, path: Path):
        self.path = Path(path)
        self._local = threading.local()  # one connection per thread: the page answers several at once
        self.base_root = self.path.with_suffix(".base")
        self._base: tuple[tuple, lexical_base.BaseSegment | None] = ((), None)
        self._builder: threading.Thread | None = None  # a background base build (compact_in_background)
        self._builder_guard = threading.Lock()

    @property
    def db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            # A damaged file starts anew (the index refills it from the store's chunks) and its base goes
            # with it: a new table restarts its ids, and the base tells its rows from later ones by id.
            db = files.connect(self.path, on_damaged=lambda: lexical_base.remove(self.base_root))
            if db.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
                # another layout: start empty; the index refills it from the store's chunks (Index._sync_lexical)
                db.executescript("DROP TABLE IF EXISTS chunk_vocab; DROP TABLE IF EXISTS chunk_terms; "
                                 "DROP TABLE IF EXISTS chunk;")
                db.executescript(_SCHEMA + f"PRAGMA user_version = {SCHEMA_VERSION};")
                lexical_base.remove(self.base_root)
            db.execute(_HIGH_WATER)
            if db.execute("SELECT count(*) FROM high_water").fetchone()[0] == 0:
                # a new table (or one of before this mark): no base can belong to it
                db.execute("INSERT INTO high_water SELECT coalesce(max(id), 0) + 1 FROM chunk")
                lexical_base.remove(self.base_root)
            self._local.db = db
        return db

    # ---------------------------------------------------------------- writes (under the index's lock)
    def add(self, rows: list[tuple[str, str, str, str, str]]) -> None:
        """(chunk id, article id, date, source, title + text) rows, written in one transaction."""
        db = self.db
        with _transaction(self):
            next_id = db.execute("SELECT max(next_id) FROM high_water").fetchone()[0]
            for chunk_id, article_id, date, source, text in rows:
                self._delete(db, "chunk_id = ?", (chunk_id,))
                stems = bm25_terms(text)
                db.execute("INSERT INTO chunk (id, chunk_id, article_id, date_int, source, length) VALUES "
                           "(?, ?, ?, ?, ?, ?)", (next_id, chunk_id, article_id, date_int(date), source, len(stems)))
                db.execute("INSERT INTO chunk_terms (rowid, terms) VALUES (?, ?)", (next_id, " ".join(stems)))
                next_id += 1
            db.execute("DELETE FROM high_water")
            db.execute("INSERT INTO high_water VALUES (?)", (next_id,))

    def delete_articles(self, article_ids: list[str]) -> None:
        db = self.db
        with _transaction(self):
            for article_id in article_ids:
                self._delete(db, "article_id = ?", (article_id,))

    def clear(self) -> None:
        with _transaction(self):
            self.db.execute("DELETE FROM chunk_terms")
            self.db.execute("DELETE FROM chunk")
        lexical_base.remove(self.base_root)

    def compact(self) -> dict | None:
        """Remake the memory-mapped base when the table has outgrown it (see REBUILD_SHARE); remove it from
        a table below BASE_MIN_CHUNKS. Returns the new base's figures, or None when nothing was built."""
        if not self._base_outgrown():
            return None
        with self._build_lock(wait=True):
            return lexical_base.build(self.db, self.base_root) if self._base_outgrown() else None

    def compact_in_background(self) -> threading.Thread | None:
        """compact() on a thread of its own, so the ingest that crosses the mark does not wait for it (37 s
        at 1M chunks): until the new base is live, questions rank through the old one plus a larger delta,
        with the same scores. One build at a time across processes; the thread is not a daemon, so a CLI
        run finishes the build before it exits. Returns the thread, or None when there is nothing to build."""
        if not self._base_outgrown():
            return None
        with self._builder_guard:
            if self._builder is not None and self._builder.is_alive():
                return self._builder  # it reads the table when it starts: the next ingest checks again
            self._builder = threading.Thread(target=self._build_quietly, name="bm25-base", daemon=False)
            self._builder.start()
            return self._builder

    @property
    def building(self) -> bool:
        return self._builder is not None and self._builder.is_alive()

    def wait_for_base(self, timeout: float | None = None) -> None:
        """Until a background build of this process has finished (tests, benchmarks, a clean exit)."""
        builder = self._builder
        if builder is not None:
            builder.join(timeout)

    def _build_quietly(self) -> None:
        try:
            with self._build_lock(wait=False) as locked:
                if locked and self._base_outgrown():
                    built = lexical_base.build(self.db, self.base_root)
                    log.info("BM25 base remade: %s chunks in %s s", built["chunks"], built["seconds"])
        except (OSError, sqlite3.Error) as error:  # a full disk, a removed folder: the table ranks alone
            log.warning("the BM25 base was not remade (%s); questions rank on the table and the last base", error)
        finally:
            db = getattr(self._local, "db", None)  # this thread's connection, if it got one
            if db is not None:
                db.close()
                self._local.db = None

    def _build_lock(self, wait: bool):
        """One base build at a time across processes: a build removes every other folder under base_root."""
        return files.file_lock(self.path.with_suffix(".build.lock"), wait)

    def _base_outgrown(self) -> bool:
        """Whether a base must be made (none, or rows added and deleted since pass REBUILD_SHARE); a table
        below BASE_MIN_CHUNKS loses its base here (cheap) and needs none."""
        n = self.count()
        if n < BASE_MIN_CHUNKS:
            if self.base_root.exists():
                lexical_base.remove(self.base_root)
            return False
        base = self._current_base()
        if base is None:
            return True
        in_base = self.db.execute("SELECT count(*) FROM chunk WHERE id <= ?", (base.max_rowid,)).fetchone()[0]
        return (n - in_base) + (base.n - in_base) > REBUILD_SHARE * n  # rows added since + rows deleted since

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
        view = None if filters else self._base_view()
        # With a base, a term's chunk count is the base's, less its chunks deleted since, plus its matches among
        # the rows added since: fts5vocab counts a term by reading all of its postings (8 ms a question at 1M).
        df_of = self._df if view is None else view.df
        dfs = {stem: df for stem in stems if (df := df_of(stem))}
        if not dfs:
            return []
        match = " OR ".join('"' + stem.replace('"', '""') + '"' for stem in _rarest(dfs, POSTINGS_BUDGET))
        avgdl = max(1.0, (total or 0) / max(1, n))
        idf = {stem: lucene_idf(n, df) for stem, df in dfs.items()}
        if view is None:
            where, args = _filter_sql(filters)
            scored = self._fts_scored(match, where, args, max(k, RESCORED), avgdl, idf)
        else:  # the base's rows scored in numpy, the rows added since it was made (if any) in FTS5
            scored = self._base_scored(view, idf, avgdl, k)
            if view.delta:
                scored += self._delta_scored(view.base.max_rowid, match, k, avgdl, idf)
        return [chunk_id for _, _, chunk_id in sorted(scored)[:k]]

    def _fts_scored(self, match: str, where: str, args: list, limit: int | None, avgdl: float,
                    idf: dict[str, float]) -> list[tuple[float, int, str]]:
        """(-score, id, chunk id) of FTS5's best `limit` matches by its bm25() (every match for None),
        rescored with Lucene's."""
        order = "ORDER BY bm25(chunk_terms) LIMIT ?" if limit else ""
        rows = self.db.execute(
            "SELECT chunk.id, chunk.chunk_id, chunk_terms.terms, chunk.length FROM chunk_terms JOIN chunk ON "
            f"chunk.id = chunk_terms.rowid WHERE chunk_terms MATCH ? {where} {order}",
            (match, *args, *([limit] if limit else []))).fetchall()
        return [(-lucene_score(text.split(), length, avgdl, idf), rowid, chunk_id)
                for rowid, chunk_id, text, length in rows]

    def _delta_scored(self, max_rowid: int, match: str, k: int, avgdl: float,
                      idf: dict[str, float]) -> list[tuple[float, int, str]]:
        """The rows added since the base: every match scored when they are few (exact, and cheaper than
        FTS5's bm25(), which first counts each term over the whole table), else FTS5's best RESCORED."""
        where = " AND chunk_terms.rowid > ?"
        matches = self.db.execute(f"SELECT count(*) FROM chunk_terms WHERE chunk_terms MATCH ?{where}",
                                  (match, max_rowid)).fetchone()[0]
        if not matches:
            return []
        return self._fts_scored(match, where, [max_rowid], None if matches <= DELTA_SCORED else max(k, RESCORED),
                                avgdl, idf)

    def _base_scored(self, view: "_BaseView", idf: dict[str, float], avgdl: float,
                     k: int) -> list[tuple[float, int, str]]:
        rowids, scores = view.base.top(idf, avgdl, k, view.deleted)
        ids = [int(r) for r in rowids]
        chunk_ids = dict(self.db.execute(f"SELECT id, chunk_id FROM chunk WHERE id IN ({','.join('?' * len(ids))})",
                                         ids)) if ids else {}
        return [(-float(s), r, chunk_ids[r]) for r, s in zip(ids, scores)]

    def _base_view(self) -> "_BaseView | None":
        """The live base with what changed in the table since it was made, read again after each commit
        (SQLite's data_version) or a new base."""
        base = self._current_base()
        if base is None:
            return None
        n = self._stats()[0]  # first: it brings the data_version of the cache up to date
        key = (self._local.stats[0], base.folder)
        cached = getattr(self._local, "view", None)
        if cached is None or cached[0] != key:
            added = self.db.execute("SELECT count(*) FROM chunk WHERE id > ?", (base.max_rowid,)).fetchone()[0]
            deleted = np.zeros(0, dtype=np.int64)
            if n - added != base.n:  # some of the base's rows are gone: which (one read of the ids, ~0.2 s at 1M)
                kept = np.fromiter((r for (r,) in self.db.execute("SELECT id FROM chunk WHERE id <= ?",
                                                                  (base.max_rowid,))), dtype=np.int64)
                deleted = np.flatnonzero(~np.isin(np.asarray(base.rowids), kept))
            cached = self._local.view = (key, _BaseView(self, base, added, deleted))
        return cached[1]

    def _current_base(self) -> lexical_base.BaseSegment | None:
        """The live base, opened again when another build replaced it (one stat of its pointer a question)."""
        try:
            st = (self.base_root / lexical_base.POINTER).stat()
            key = (st.st_ino, st.st_mtime_ns, st.st_size)
        except OSError:
            key = ()
        if key != self._base[0]:
            self._base = (key, lexical_base.BaseSegment.open(self.base_root) if key else None)
        return self._base[1]

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


class _BaseView:
    """A base and the table's changes since: `delta` rows added (ids above its last), `deleted` base positions."""

    def __init__(self, lexical: LexicalIndex, base: lexical_base.BaseSegment, delta: int, deleted):
        self.lexical, self.base, self.delta, self.deleted = lexical, base, delta, deleted

    def df(self, stem: str) -> int:
        df = self.base.df(stem, self.deleted)
        if self.delta:
            df += self.lexical.db.execute("SELECT count(*) FROM chunk_terms WHERE chunk_terms MATCH ? AND rowid > ?",
                                          ('"' + stem.replace('"', '""') + '"', self.base.max_rowid)).fetchone()[0]
        return df


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
        self.lexical._local.stats = self.lexical._local.view = None  # own commits do not move data_version
        if kind is None:
            self.db.execute("COMMIT")
        elif self.db.in_transaction:  # SQLite has already rolled back after some errors (SQLITE_FULL)
            self.db.execute("ROLLBACK")  # a failed write leaves no part of itself
        if isinstance(value, sqlite3.OperationalError) and "full" in str(value):  # SQLITE_FULL: a full disk
            raise OSError(errno.ENOSPC, f"No space left on device (BM25 index: {value})") from value

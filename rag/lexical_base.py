"""A read-only, memory-mapped copy of the BM25 table's postings, for questions over a large archive.

Why: FTS5 ranks every chunk that shares a term with the question through its bm25() callback, about 1 us a
match: 250-380 ms at a million chunks (docs/SCALING.md). Here each term's postings are two arrays (chunk
positions, term counts); a question's score is a few vectorised gathers and adds over them, and only the
best few chunks go back to SQLite. The score is the table's own Lucene BM25 (lexical.lucene_score), computed
with the table's current chunk count, average length and document frequencies, so a base built from the
whole table ranks exactly as scoring every match in the table would.

The table stays the source of truth. A base is built from it (`build`) and covers its rows up to
`max_rowid`; rows added since (higher ids: the table never reuses one) are the delta, searched in FTS5;
rows deleted since are dropped when their ids are looked up. `LexicalIndex.compact` rebuilds the base when
the delta and the deletions pass a share of the table.

On disk: a folder per build (positions, counts, lengths, row ids as .npy; the vocabulary as JSON) and
`current.json` naming the live one, replaced atomically, so a reader never sees half a build.
"""
from __future__ import annotations

import json
import os
import shutil
import sqlite3
import time
from pathlib import Path

import numpy as np

POINTER = "current.json"
BATCH = 50_000  # chunks tokenised per step of a build (bounds its memory: ~5M postings a step)


class BaseSegment:
    def __init__(self, folder: Path, meta: dict):
        self.folder, self.max_rowid, self.n = folder, int(meta["max_rowid"]), int(meta["chunks"])
        load = lambda name: np.load(folder / f"{name}.npy", mmap_mode="r")  # noqa: E731
        self.rowids, self.lengths = load("rowids"), load("lengths")
        self.indptr, self.positions, self.counts = load("indptr"), load("positions"), load("counts")
        self.vocab: dict[str, int] = json.loads((folder / "vocab.json").read_text())
        self._norm: tuple[float, np.ndarray] | None = None

    @classmethod
    def open(cls, root: Path) -> "BaseSegment | None":
        """The live base under `root`, or None (none built, or one removed while we looked)."""
        try:
            meta = json.loads((root / POINTER).read_text())
            return cls(root / meta["folder"], meta)
        except (OSError, ValueError, KeyError):
            return None

    def top(self, idf: dict[str, float], avgdl: float, m: int,
            deleted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Row ids and scores of the best `m` base chunks that match a term, best first (ties: lower id),
        leaving out the positions `deleted` (rows deleted from the table since the base was made)."""
        scores = np.zeros(self.n)
        norm = self._norms(avgdl)
        for stem, weight in idf.items():  # the order lucene_score adds them in: the same float sums
            column = self.vocab.get(stem)
            if column is None:
                continue
            lo, hi = int(self.indptr[column]), int(self.indptr[column + 1])
            positions = np.asarray(self.positions[lo:hi])
            tf = np.asarray(self.counts[lo:hi], dtype=np.float64)
            scores[positions] += weight * tf / (tf + norm[positions])
        scores[deleted] = 0.0
        best = np.flatnonzero(scores)  # the matches (a score is > 0 exactly when a term matched)
        if len(best) > m:  # a partition of the matches only: over all 1M scores it cost 12 ms a question
            best = best[np.argpartition(-scores[best], m - 1)[:m]]
        best = best[np.lexsort((best, -scores[best]))]  # positions follow row ids, so ties go to the lower id
        return np.asarray(self.rowids[best]), scores[best]

    def df(self, stem: str, deleted: np.ndarray) -> int:
        """Chunks of the base with `stem`, less those at the positions `deleted` (sorted)."""
        column = self.vocab.get(stem)
        if column is None:
            return 0
        lo, hi = int(self.indptr[column]), int(self.indptr[column + 1])
        if len(deleted):  # a column's positions are sorted: count the deleted ones in it by bisection
            positions = self.positions[lo:hi]
            at = np.searchsorted(positions, deleted).clip(max=max(hi - lo - 1, 0))
            return hi - lo - int(np.count_nonzero(np.asarray(positions)[at] == deleted)) if hi > lo else 0
        return hi - lo

    def _norms(self, avgdl: float) -> np.ndarray:
        """lucene_score's length norm of every base chunk, for the table's current average length."""
        if self._norm is None or self._norm[0] != avgdl:
            from .lexical import B, K1
            self._norm = (avgdl, K1 * (1 - B + B * np.asarray(self.lengths, dtype=np.float64) / avgdl))
        return self._norm[1]


def build(db: sqlite3.Connection, root: Path) -> dict:
    """Write a base of every row of the table now (one read transaction) and make it the live one."""
    started = time.perf_counter()
    root.mkdir(parents=True, exist_ok=True)
    name = f"base-{time.time_ns()}"
    folder = root / f".{name}.tmp"
    folder.mkdir()
    vocab: dict[str, int] = {}
    term_parts, position_parts, count_parts, rowids, lengths = [], [], [], [], []
    db.execute("BEGIN")  # one snapshot: rows committed meanwhile have higher ids and stay in the delta
    try:
        rows = db.execute("SELECT chunk.id, chunk.length, chunk_terms.terms FROM chunk "
                          "JOIN chunk_terms ON chunk_terms.rowid = chunk.id ORDER BY chunk.id")
        position = 0
        while batch := rows.fetchmany(BATCH):
            terms, sizes = [], []
            for rowid, length, text in batch:
                words = text.split()
                terms += [vocab.setdefault(w, len(vocab)) for w in words]
                sizes.append(len(words))
                rowids.append(rowid)
                lengths.append(length)
            owners = np.repeat(np.arange(position, position + len(batch), dtype=np.int64), sizes)
            position += len(batch)
            if not terms:
                continue
            # (term, chunk) pairs with their counts, sorted by term then chunk
            keys, tf = np.unique((np.asarray(terms, dtype=np.int64) << 32) | owners, return_counts=True)
            term_parts.append((keys >> 32).astype(np.int32))
            position_parts.append((keys & 0xFFFFFFFF).astype(np.int32))
            count_parts.append(np.minimum(tf, 65535).astype(np.uint16))
    finally:
        db.execute("COMMIT")
    terms = np.concatenate(term_parts) if term_parts else np.zeros(0, dtype=np.int32)
    order = np.argsort(terms, kind="stable")  # term-major; within a term the chunks stay in id order
    np.save(folder / "positions.npy", (np.concatenate(position_parts)[order] if term_parts
                                       else np.zeros(0, dtype=np.int32)))
    np.save(folder / "counts.npy", (np.concatenate(count_parts)[order] if term_parts
                                    else np.zeros(0, dtype=np.uint16)))
    np.save(folder / "indptr.npy", np.concatenate([[0], np.cumsum(np.bincount(terms, minlength=len(vocab)))]))
    np.save(folder / "rowids.npy", np.asarray(rowids, dtype=np.int64))
    np.save(folder / "lengths.npy", np.asarray(lengths, dtype=np.int32))
    (folder / "vocab.json").write_text(json.dumps(vocab))
    meta = {"folder": name, "chunks": len(rowids), "max_rowid": max(rowids, default=0),
            "postings": int(len(terms)), "terms": len(vocab), "seconds": round(time.perf_counter() - started, 2)}
    folder.rename(root / name)
    pointer = root / f".{POINTER}.tmp"
    pointer.write_text(json.dumps(meta))
    os.replace(pointer, root / POINTER)  # readers see the old base or the new one, never a mix
    for old in root.iterdir():  # earlier builds; a reader still mapping one keeps its files until it lets go
        if old.name not in (name, POINTER):
            shutil.rmtree(old, ignore_errors=True) if old.is_dir() else old.unlink(missing_ok=True)
    return meta


def remove(root: Path) -> None:
    shutil.rmtree(root, ignore_errors=True)

"""Syndicated copies folded into one story: near-duplicate articles by MinHash + LSH over word shingles.

An article's text is lower-cased and cut into words (`\\w+`); its shingles are the overlapping runs of
`shingle` words. A MinHash signature (datasketch, `num_perm` values) of that set estimates the Jaccard
similarity of any two articles. LSH bands over the signatures find candidate pairs without comparing
all pairs; a candidate is a *verified pair* when the whole signatures' estimate is >= `threshold`.
A story is a connected component of verified pairs (so two copies that each dropped a different
paragraph are grouped through the original even when they are less alike than the threshold), and its
canonical copy is `choose_canonical`'s.

Every number in `Params` was chosen by `python -m bench.dedup` on the tune half of BBC News plus
generated copies (headline changed, a paragraph dropped, a sentence reworded, a byline added, and
every pair of those) and reported on the held-out half: see docs/DEDUP.md. On tune, 4-word shingles,
128 permutations and 0.52 made no error at any threshold from 0.46 to 0.56 (no two different stories
grouped, every copy grouped with its original); the closest different stories there, a follow-up
that repeats two thirds of the first report, score 0.45. Held out: pair recall 0.998, precision 1.000;
copies keeping less than about half of their original's shingles (a story cut to half) are missed.

Persistent and incremental: signatures, LSH band keys and verified pairs live in one SQLite file
(WAL: one writer at a time, readers in other threads or processes see the last committed update).
An article is signed only when it is new or its content hash changed; removed ones are dropped with
their pairs, and an update costs what changed plus index lookups, not the corpus size. Each update
is one transaction, so a killed update leaves the previous state.
"""
from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import threading
import zlib
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
from datasketch import MinHash

from .types import Article

_WORD = re.compile(r"\w+")
_FORMAT = 1  # bump when the stored layout changes
_BATCH = 500  # ids per SQL "IN (...)" list


@dataclass(frozen=True)
class Params:
    """How articles are compared. Stored with the index: other values discard the stored signatures."""

    shingle: int = 4  # words per shingle (3-7 measured; 4 had the widest error-free range)
    num_perm: int = 128  # signature length (64: too noisy, error-free range narrow or none; 256: no better)
    threshold: float = 0.52  # a verified pair: estimated Jaccard >= this (error-free on tune: 0.46-0.56)

    @property
    def lsh(self) -> tuple[int, int]:
        """(bands, rows): the most rows per band (fewest chance candidates) whose num_perm // rows bands
        still make a pair at exactly the threshold a candidate with probability >= 0.99
        (1 - (1 - t^rows)^bands); pairs above it are safer still. 128 permutations at 0.52: 42 x 3."""
        for rows in range(self.num_perm, 0, -1):
            bands = self.num_perm // rows
            if 1 - (1 - self.threshold ** rows) ** bands >= 0.99:
                return bands, rows
        return self.num_perm, 1


@dataclass(frozen=True)
class Group:
    canonical: str  # the article id that stands for the story
    members: tuple[str, ...]  # every copy's id, canonical first, then by id


def canonical_key(date: str, length: int, article_id: str) -> tuple:
    """Sort key of `choose_canonical`."""
    return (0 if date else 1, date, -length, article_id)


def choose_canonical(articles: list[Article]) -> Article:
    """The copy that stands for a story: the first published (a dated copy before an undated one), then
    the longest text (the fullest version), then the smallest id (so the choice is deterministic)."""
    return min(articles, key=lambda a: canonical_key(a.date, len(a.text), a.id))


def shingles(text: str, k: int) -> list[int]:
    """32-bit hashes (CRC-32) of the text's word k-grams; a text shorter than k words is one shingle."""
    words = _WORD.findall(text.lower())
    return [zlib.crc32(" ".join(words[i:i + k]).encode("utf-8")) for i in range(max(1, len(words) - k + 1))]


def content_hash(article: Article) -> str:
    return article.content_hash or hashlib.sha256(article.text.encode("utf-8")).hexdigest()


class Signer:
    """MinHash signatures and LSH band keys for one `Params` (permutations made once, shared)."""

    def __init__(self, params: Params):
        self.params = params
        self._permutations = MinHash(num_perm=params.num_perm, seed=1).permutations
        self._bands, self._rows = params.lsh
        # a band's key: a random linear hash of its values (a collision only adds a candidate,
        # which verification then rejects)
        self._mix = np.random.default_rng(2).integers(1, 2 ** 63, size=self._rows, dtype=np.uint64) | np.uint64(1)

    def signature(self, text: str) -> np.ndarray:
        minhash = MinHash(num_perm=self.params.num_perm, hashfunc=_identity, permutations=self._permutations,
                          scheme="affine32")
        minhash.update_batch(set(shingles(text, self.params.shingle)))
        return minhash.hashvalues.astype(np.uint32)

    def band_keys(self, signature: np.ndarray) -> list[int]:
        """One signed 64-bit key per band (SQLite integers are signed)."""
        values = signature[:self._bands * self._rows].astype(np.uint64).reshape(self._bands, self._rows)
        with np.errstate(over="ignore"):
            keys = (values * self._mix).sum(axis=1, dtype=np.uint64)
        return keys.view(np.int64).tolist()

    @staticmethod
    def jaccard(a: np.ndarray, b: np.ndarray) -> float:
        """The signatures' estimate of the Jaccard similarity of the two shingle sets."""
        return float(np.count_nonzero(a == b)) / len(a)


def _identity(value: int) -> int:
    return value


_SCHEMA = [
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS articles (doc INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, "
    "content_hash TEXT NOT NULL, date TEXT NOT NULL, length INTEGER NOT NULL, signature BLOB NOT NULL)",
    "CREATE TABLE IF NOT EXISTS bands (band INTEGER NOT NULL, key INTEGER NOT NULL, doc INTEGER NOT NULL, "
    "PRIMARY KEY (band, key, doc)) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS pairs (a INTEGER NOT NULL, b INTEGER NOT NULL, jaccard REAL NOT NULL, "
    "PRIMARY KEY (a, b)) WITHOUT ROWID",  # a < b
    "CREATE INDEX IF NOT EXISTS pairs_b ON pairs (b, a)",
]


class DuplicateIndex:
    """Near-duplicate groups over a corpus, kept up to date incrementally.

    `path` is the SQLite file (e.g. <index dir>/dedup.sqlite); None keeps everything in memory.
    One writer at a time (the caller holds its ingest lock); readers anywhere. Thread-safe.
    """

    def __init__(self, path: Path | None, params: Params = Params()):
        self.params = params
        self.signer = Signer(params)
        self._lock = threading.Lock()
        if path is not None:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(":memory:" if path is None else str(path), isolation_level=None,
                                   check_same_thread=False, timeout=60)
        if path is not None:
            self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        wanted = json.dumps({"format": _FORMAT, **asdict(params)}, sort_keys=True)
        if self._stored_params() != wanted:  # a new file, or signatures made otherwise: start afresh
            with self._write():  # (only then: opening an existing index never waits for a writer)
                for statement in _SCHEMA:
                    self._db.execute(statement)
                if self._stored_params() != wanted:
                    for table in ("articles", "bands", "pairs"):
                        self._db.execute(f"DELETE FROM {table}")
                    self._db.execute("INSERT OR REPLACE INTO meta VALUES ('params', ?)", (wanted,))

    def _stored_params(self) -> str | None:
        try:
            row = self._db.execute("SELECT value FROM meta WHERE key = 'params'").fetchone()
        except sqlite3.OperationalError:  # no such table: a new file
            return None
        return row[0] if row else None

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> DuplicateIndex:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __len__(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM articles").fetchone()[0]

    # ------------------------------------------------------------------ writing
    def update(self, articles: Iterable[Article], removed: Iterable[str] = ()) -> set[str]:
        """Sign new articles, re-sign changed ones (same id, other content hash), drop the `removed` ids.
        Unchanged articles cost one lookup, so passing the whole corpus each time is fine. Returns the
        ids whose group may have changed (every member of each group touched, before and after), so
        the caller refreshes only what it stores for those."""
        articles = list({a.id: a for a in articles}.values())
        with self._write():
            stored = self._stored_hashes([a.id for a in articles])
            todo = [a for a in articles if stored.get(a.id) != content_hash(a)]
            gone = sorted({*removed, *(a.id for a in todo if a.id in stored)})
            touched = self._members_of(gone)
            self._delete(gone)
            self._link(self._insert(todo))
            return touched | self._members_of([a.id for a in todo])

    @contextmanager
    def _write(self) -> Iterator[None]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _stored_hashes(self, ids: list[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        for part in _batches(ids):
            out.update(self._db.execute(
                f"SELECT id, content_hash FROM articles WHERE id IN ({_marks(part)})", part))
        return out

    def _delete(self, ids: list[str]) -> None:
        for article_id in ids:
            row = self._db.execute("SELECT doc, signature FROM articles WHERE id = ?", (article_id,)).fetchone()
            if row is None:
                continue
            doc, blob = row
            self._db.executemany("DELETE FROM bands WHERE band = ? AND key = ? AND doc = ?",
                                 [(band, key, doc) for band, key in
                                  enumerate(self.signer.band_keys(np.frombuffer(blob, dtype=np.uint32)))])
            self._db.execute("DELETE FROM pairs WHERE a = ? OR b = ?", (doc, doc))
            self._db.execute("DELETE FROM articles WHERE doc = ?", (doc,))

    def _insert(self, articles: list[Article]) -> list[tuple[int, int, int]]:
        """Sign and store `articles`; returns their (band, key, doc) rows."""
        rows = []
        for article in articles:
            signature = self.signer.signature(article.text)
            doc = self._db.execute(
                "INSERT INTO articles (id, content_hash, date, length, signature) VALUES (?, ?, ?, ?, ?)",
                (article.id, content_hash(article), article.date, len(article.text), signature.tobytes())).lastrowid
            rows += [(band, key, doc) for band, key in enumerate(self.signer.band_keys(signature))]
        self._db.executemany("INSERT OR IGNORE INTO bands VALUES (?, ?, ?)", rows)
        return rows

    def _link(self, bands: list[tuple[int, int, int]]) -> None:
        """Verify every LSH candidate pair of the new documents (`bands`: their rows) and store the
        verified ones. Lookups go through the (band, key) primary key, so the cost follows the new
        documents and their candidates, not the corpus size."""
        if not bands:
            return
        self._db.execute("CREATE TEMP TABLE IF NOT EXISTS fresh (band INTEGER, key INTEGER, doc INTEGER)")
        self._db.execute("DELETE FROM fresh")
        self._db.executemany("INSERT INTO fresh VALUES (?, ?, ?)", bands)
        candidates = {(min(a, b), max(a, b)) for a, b in self._db.execute(
            "SELECT fresh.doc, other.doc FROM fresh "
            "JOIN bands AS other ON other.band = fresh.band AND other.key = fresh.key AND other.doc != fresh.doc")}
        signatures = {}
        for part in _batches(sorted({d for pair in candidates for d in pair})):
            for doc, blob in self._db.execute(f"SELECT doc, signature FROM articles WHERE doc IN ({_marks(part)})",
                                              part):
                signatures[doc] = np.frombuffer(blob, dtype=np.uint32)
        verified = [(a, b, j) for a, b in candidates
                    if (j := self.signer.jaccard(signatures[a], signatures[b])) >= self.params.threshold]
        self._db.executemany("INSERT OR REPLACE INTO pairs VALUES (?, ?, ?)", verified)

    # ------------------------------------------------------------------ reading
    @contextmanager
    def _read(self) -> Iterator[None]:
        """One consistent snapshot across several queries."""
        with self._lock:
            self._db.execute("BEGIN")
            try:
                yield
            finally:
                self._db.execute("COMMIT")

    def groups(self) -> list[Group]:
        """Every story with two or more copies, ordered by canonical id."""
        parent: dict[int, int] = {}

        def find(x: int) -> int:
            while parent.setdefault(x, x) != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        with self._read():
            for a, b in self._db.execute("SELECT a, b FROM pairs"):
                parent[find(a)] = find(b)
            components: dict[int, list[int]] = {}
            for doc in list(parent):
                components.setdefault(find(doc), []).append(doc)
            groups = [self._group(docs) for docs in components.values()]
        return sorted(groups, key=lambda g: g.canonical)

    def group_of(self, article_id: str) -> Group | None:
        """The story an article belongs to, or None when it has no copy (or is unknown)."""
        with self._read():
            row = self._db.execute("SELECT doc FROM articles WHERE id = ?", (article_id,)).fetchone()
            docs = self._component(row[0]) if row else []
            return self._group(docs) if len(docs) > 1 else None

    def _members_of(self, ids: list[str]) -> set[str]:
        """The stored articles among `ids` and every member of their groups."""
        docs: set[int] = set()
        for article_id in ids:
            row = self._db.execute("SELECT doc FROM articles WHERE id = ?", (article_id,)).fetchone()
            if row and row[0] not in docs:
                docs.update(self._component(row[0]))
        return {article_id for article_id, _, _ in self._rows(sorted(docs))}

    def _component(self, doc: int) -> list[int]:
        seen, frontier = {doc}, [doc]
        while frontier:
            x = frontier.pop()
            for (y,) in self._db.execute("SELECT b FROM pairs WHERE a = ? UNION ALL SELECT a FROM pairs WHERE b = ?",
                                         (x, x)):
                if y not in seen:
                    seen.add(y)
                    frontier.append(y)
        return sorted(seen)

    def _rows(self, docs: list[int]) -> list[tuple[str, str, int]]:
        rows = []
        for part in _batches(docs):
            rows += self._db.execute(f"SELECT id, date, length FROM articles WHERE doc IN ({_marks(part)})",
                                     part).fetchall()
        return rows

    def _group(self, docs: list[int]) -> Group:
        rows = sorted(self._rows(docs), key=lambda r: canonical_key(r[1], r[2], r[0]))
        return Group(rows[0][0], (rows[0][0], *sorted(r[0] for r in rows[1:])))


def _batches(items: list) -> Iterator[list]:
    for i in range(0, len(items), _BATCH):
        yield items[i:i + _BATCH]


def _marks(items: list) -> str:
    return ",".join("?" * len(items))

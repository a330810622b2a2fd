"""The index: a Chroma collection (embedded or server) plus a BM25 index over the same passages
(rag/lexical.py: SQLite FTS5 on disk, updated article by article).

Two Chroma collections: `articles-<model>` holds the passages (chunks), `sentences-<model>` one vector
per sentence of each passage. Dense retrieval ranks a passage by its best sentence (measured on the SQuAD
slice: MRR@10 0.861 for sentence max-sim against 0.810 for whole-passage vectors, at the same embedding
cost, since the sentences are the same text), and the extractive answerer reuses the stored sentence
vectors instead of embedding at query time. A passage's own vector is the mean of its sentence vectors.

Incremental ingestion is driven by a manifest that lives *in the store itself*: every chunk carries
its article's content hash, the chunker version and the article's chunk and sentence counts. An
article is up to date only if exactly that set of chunks is present; its sentences are written before
its chunks, so complete chunks imply complete sentences. A run killed part-way is completed by the
next run (ids are deterministic, an incomplete article is deleted and re-added). The manifest is read
from the article catalogue (rag/catalogue.py), a per-article summary of those chunk metadata written
with them; when its chunk total is not the store's, it is rebuilt from the store, so it cannot
disagree with what is actually stored.
"""
from __future__ import annotations

import contextlib
import os
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import chromadb
import chromadb.errors
import numpy as np
from llama_index.core.schema import TextNode
from llama_index.vector_stores.chroma import ChromaVectorStore
from tqdm import tqdm

from .catalogue import ArticleCatalogue
from .chunking import Chunker
from .corpus import CorpusScan
from .files import file_lock
from .lexical import LexicalIndex
from .text import Idf, sentence_spans
from .dedup import DuplicateIndex, Group
from .types import Article, Filters, IngestReport, Passage, date_int

PAGE = 5000
SENTENCES_PER_PASSAGE = 4  # sentence hits fetched per passage wanted: several hits often share a passage


class StoreUnavailable(RuntimeError):
    """The Chroma server cannot be reached (or the embedded store cannot be opened)."""


class IndexDamaged(RuntimeError):
    """The stored index cannot be read (a missing or corrupt file); the message says how to rebuild."""


REBUILD_HINT = "run `python -m rag ingest --rebuild` to index the corpus again"


def chroma_where(filters: Filters) -> dict | None:
    """The filters as a Chroma `where` clause (None: no filter)."""
    parts = []
    if filters.article_ids:
        parts.append({"article_id": {"$in": list(filters.article_ids)}})
    if filters.sources:
        parts.append({"source": {"$in": list(filters.sources)}})
    if filters.date_from:
        parts.append({"date_int": {"$gte": date_int(filters.date_from)}})
    if filters.date_to:
        parts.append({"date_int": {"$lte": date_int(filters.date_to)}})
    return parts[0] if len(parts) == 1 else ({"$and": parts} if parts else None)


COLLECTIONS = ("articles", "sentences")


def open_collections(settings, slug: str, fresh: bool = False, reload: bool = False):
    """The chunk and sentence collections (created when missing; dropped first when `fresh`). With
    `reload`, an embedded store is opened anew: Chroma caches one client per path per process, and that
    client keeps its vector index in memory, blind to what another process has since written."""
    chroma_settings = chromadb.Settings(anonymized_telemetry=False)
    try:
        if settings.chroma_host:
            client = chromadb.HttpClient(host=settings.chroma_host, port=settings.chroma_port,
                                         settings=chroma_settings)
            client.heartbeat()
        else:
            path = Path(settings.index_dir) / "chroma"
            path.mkdir(parents=True, exist_ok=True)
            if reload:
                from chromadb.api.shared_system_client import SharedSystemClient

                SharedSystemClient._identifier_to_system.pop(str(path), None)
            client = chromadb.PersistentClient(path=str(path), settings=chroma_settings)
        names = [f"{settings.collection}-{kind}-{slug}" if settings.collection else f"{kind}-{slug}"
                 for kind in COLLECTIONS]
        if fresh:
            for name in names:
                with contextlib.suppress(Exception):  # absent already
                    client.delete_collection(name)
        return tuple(client.get_or_create_collection(name, embedding_function=None, metadata={"hnsw:space": "cosine"})
                     for name in names)
    except Exception as err:  # chromadb raises many types for "cannot connect" or "cannot open"
        if settings.chroma_host:
            raise StoreUnavailable(f"Chroma server at {settings.chroma_host}:{settings.chroma_port} is not "
                                   f"available ({type(err).__name__}: {err})") from err
        raise StoreUnavailable(f"the index in {Path(settings.index_dir).name}/ cannot be opened "
                               f"({type(err).__name__}: {err}); if it is damaged, {REBUILD_HINT}") from err


@dataclass(frozen=True)
class StoredArticle:
    content_hash: str
    chunker: str
    n_chunks: int
    n_sentences: int
    present: int

    def complete_for(self, article: Article, chunker: str) -> bool:
        return (self.content_hash, self.chunker) == (article.content_hash, chunker) \
            and self.present == self.n_chunks


class Index:
    def __init__(self, settings, embed_model, slug: str):
        self.settings = settings
        self.embed_model = embed_model
        self.slug = slug
        self.collection, self.sentences = open_collections(settings, slug)
        self.vector_store = ChromaVectorStore(chroma_collection=self.collection)
        self.dir = Path(settings.index_dir)
        self.lexical = LexicalIndex(self.dir / f"lexical-{self.collection.name}.sqlite")
        self._lexical_checked = False  # in step with the store (checked once, then kept so by ingest)
        self._idf: tuple[int, Idf] | None = None
        self.catalogue = ArticleCatalogue(self.dir / f"catalogue-{self.collection.name}.sqlite")
        self._catalogue_checked = False  # in step with the store (checked once, then kept so by ingest)
        self._catalogue: tuple[int, list[dict]] | None = None
        # Syndicated copies and re-published versions: every copy is indexed (counts, lists and sources stay
        # exact, and a copy's own edits are searchable); retrieval folds each story to one copy.
        self.duplicates = DuplicateIndex(self.dir / f"dedup-{self.collection.name}.sqlite")
        self._stories: tuple[int, dict[str, Group]] | None = None
        # Bumped by every change of the store, by this process or (see refresh) another; the caches below
        # are keyed on it alone: collection.count() on a Chroma server costs ~30 ms at 300k chunks.
        self._written = 0
        self._generation = self.dir / "generation"  # rewritten by every ingest that changed the store
        self._seen = self._read_generation()

    # ---------------------------------------------------------------- freshness across processes
    def _read_generation(self) -> str:
        try:
            return self._generation.read_text()
        except OSError:
            return ""

    def _publish(self) -> None:
        """After an ingest that changed the store, under the lock: tell other processes (atomic rename)."""
        token = f"{time.time_ns()} {os.getpid()}"
        tmp = self._generation.with_name("generation.tmp")
        with contextlib.suppress(OSError):  # a full disk: other processes see the change at their restart
            tmp.write_text(token)
            os.replace(tmp, self._generation)
            self._seen = token

    def refresh(self) -> bool:
        """Pick up what another process (the CLI, another page) ingested into this index since: called
        before each question, it costs one small file read. The marker changes only when a writer's ingest
        has completed, so a reader moves from one whole state to the next."""
        current = self._read_generation()
        if current == self._seen:
            return False
        self._seen = current
        if not self.settings.chroma_host:  # a Chroma server is always current
            self.collection, self.sentences = open_collections(self.settings, self.slug, reload=True)
            self.vector_store = ChromaVectorStore(chroma_collection=self.collection)
        self._written += 1  # drops the catalogue, story and IDF caches
        return True

    # ---------------------------------------------------------------- manifest (read from the store)
    def _pages(self, include: list[str], collection=None) -> Iterator[dict]:
        collection = collection or self.collection
        offset = 0
        while True:
            page = collection.get(include=include, limit=PAGE, offset=offset)
            if not page["ids"]:
                return
            yield page
            offset += len(page["ids"])

    def manifest(self) -> dict[str, StoredArticle]:
        """What is stored of each article (which version, how many of its chunks), from the catalogue.
        Ingest checks the catalogue against the store under its lock first; other callers (the upload
        form's duplicate check) read it as a reader does."""
        self._check_catalogue()
        return {aid: StoredArticle(*version) for aid, version in self.catalogue.versions().items()}

    def articles(self) -> list[dict]:
        """One row per indexed article: id, title, date, source, author, url, chunks; by date, then id.
        Read from the catalogue and kept until the index changes."""
        if self._catalogue is None or self._catalogue[0] != self._written:
            self._check_catalogue()
            self._catalogue = (self._written, self.catalogue.rows())
        return self._catalogue[1]

    def stories(self, fresh: bool = False) -> dict[str, Group]:
        """Article id -> its story (the group of near-duplicate copies), for articles that have a copy.
        Kept until the index changes, like the catalogue."""
        key = self._written
        if fresh or self._stories is None or self._stories[0] != key:
            self._stories = (key, {member: group for group in self.duplicates.groups() for member in group.members})
        return self._stories[1]

    def copies_of(self, article_id: str) -> list[dict]:
        """The other indexed copies of an article's story (article_id, title, date, source, url), the
        first published first."""
        group = self.stories().get(article_id)
        if group is None:
            return []
        rows = {row["article_id"]: row for row in self.articles()}
        others = sorted((rows[m] for m in group.members if m != article_id and m in rows),
                        key=lambda r: (not r["date"], r["date"], r["article_id"]))
        return [{k: row[k] for k in ("article_id", "title", "date", "source", "url")} for row in others]

    def newest_date(self) -> str:
        """The latest publication date in the index ("" when no article has one)."""
        self._check_catalogue()
        return self.catalogue.newest_date()

    def has_articles(self, filters: Filters) -> bool:
        where = chroma_where(filters)
        got = self._reading("articles", self.collection.get, limit=1, include=[], **({"where": where} if where else {}))
        return bool(got["ids"])

    def chunks_of(self, article_ids: list[str]) -> list[Passage]:
        """Every passage of the given articles, in article order then text order."""
        if not article_ids:
            return []
        got = self._reading("passages", self.collection.get, where={"article_id": {"$in": list(article_ids)}},
                            include=["documents", "metadatas"])
        passages = [_passage(cid, text, meta) for cid, text, meta in zip(got["ids"], got["documents"], got["metadatas"])]
        order = {aid: i for i, aid in enumerate(article_ids)}
        return sorted(passages, key=lambda p: (order[p.article_id], p.start))

    def containing(self, phrase: str, filters: Filters) -> list[tuple[str, str]]:
        """(chunk id, article id) of every chunk whose title or text holds `phrase` as whole words, any case.
        Candidates come from the store's substring search (case-sensitive, so the usual casings are
        asked for), then each is checked with a whole-word, case-insensitive match."""
        words = phrase.split()
        if not words:
            return []
        pattern = re.compile(r"(?<!\w)" + r"\s+".join(map(re.escape, words)) + r"(?!\w)", re.I)
        casings = {phrase, phrase.lower(), phrase.upper(), phrase.title(), phrase[:1].upper() + phrase[1:]}
        where = chroma_where(filters)
        found: dict[str, str] = {}
        for casing in casings:
            got = self._reading("passages", self.collection.get, where_document={"$contains": casing},
                                include=["documents", "metadatas"], **({"where": where} if where else {}))
            for cid, text, meta in zip(got["ids"], got["documents"], got["metadatas"]):
                if pattern.search(text):
                    found[cid] = meta["article_id"]
        for row in self.articles():  # a title holding the phrase counts for its article's first chunk
            if pattern.search(row["title"]) and filters.admits(row["article_id"], date_int(row["date"]), row["source"]) \
                    and row["article_id"] not in found.values():
                first = self.chunks_of([row["article_id"]])[:1]
                found.update({p.id: p.article_id for p in first})
        return list(found.items())

    def article(self, article_id: str) -> dict | None:
        """An article's metadata and text, rebuilt from its chunks' character spans (chunks overlap
        and together cover the text; gaps between them are whitespace the splitter dropped)."""
        got = self.collection.get(where={"article_id": article_id}, include=["documents", "metadatas"])
        if not got["ids"]:
            return None
        parts = sorted(zip(got["metadatas"], got["documents"]), key=lambda item: int(item[0]["start"]))
        text, end = "", 0
        for meta, chunk in parts:
            start = int(meta["start"])
            if start > end:
                text += " " * (start - end)  # stand-in for dropped whitespace: offsets stay true
            text += chunk[max(0, end - start):]
            end = max(end, start + len(chunk))
        meta = parts[0][0]
        return {"article_id": article_id, "title": meta.get("title", ""), "date": meta.get("date", ""),
                "author": meta.get("author", ""), "source": meta.get("source", ""), "url": meta.get("url", ""),
                "text": text}

    # ---------------------------------------------------------------- health
    def damage(self) -> str:
        """'' when the stored vectors can be read; else what is wrong. A cheap probe (one vector of each
        collection, looked up in its own HNSW index): a deleted or truncated segment file shows here,
        while the manifest, which lives in the metadata, would still say every article is indexed."""
        for collection in (self.collection, self.sentences):
            try:
                if not collection.count():
                    continue
                got = collection.get(limit=1, include=["embeddings"])
                collection.query(query_embeddings=[got["embeddings"][0]], n_results=1, include=["distances"])
            except Exception as err:  # chromadb raises InternalError, ValueError, ... for damaged files
                return f"{collection.name}: {type(err).__name__}: {err}"
        return ""

    def _repair(self) -> str:
        """Drop both collections when the probe fails, so the ingest that follows rebuilds them."""
        damage = self.damage()
        if damage:
            self.collection, self.sentences = open_collections(self.settings, self.slug, fresh=True)
            self.vector_store = ChromaVectorStore(chroma_collection=self.collection)
            self.lexical.clear()
            self.catalogue.replace([])
            self._written += 1
        return damage

    def _reading(self, what: str, call, *args, **kwargs):
        """A store read; a damaged store becomes IndexDamaged with the way out."""
        try:
            return call(*args, **kwargs)
        except chromadb.errors.ChromaError as err:
            raise IndexDamaged(f"the index could not be read ({what}: {err}); {REBUILD_HINT}") from err

    # ---------------------------------------------------------------- reads for retrieval and answers
    def count(self) -> int:
        return self.collection.count()

    def dense(self, vector: list[float], k: int, filters: Filters) -> list[str]:
        """Chunk ids ranked by their best-matching sentence (max-sim over the sentence collection)."""
        where = chroma_where(filters)
        hits = self._reading("sentence vectors", self.sentences.query, query_embeddings=[vector],
                             n_results=SENTENCES_PER_PASSAGE * k, include=["distances"],
                             **({"where": where} if where else {}))
        # a sentence id is "<chunk id>|<j>": no metadata needs to come back (measured: 1.0 vs 3.6 ms)
        ranked = dict.fromkeys(split_sentence_id(sentence)[0] for sentence in hits["ids"][0])
        return list(ranked)[:k]

    def lexical_ranking(self, text: str, k: int, filters: Filters) -> list[str]:
        """Chunk ids ranked by BM25 (title + chunk text), best first; only chunks that match a word."""
        self._check_lexical()
        return self.lexical.search(text, k, filters)

    def passages(self, chunk_ids: list[str]) -> list[Passage]:
        """Passages by chunk id, in the given order (ids no longer stored are dropped)."""
        if not chunk_ids:
            return []
        got = self._reading("passages", self.collection.get, ids=chunk_ids, include=["documents", "metadatas"])
        by_id = {cid: (text, meta) for cid, text, meta in zip(got["ids"], got["documents"], got["metadatas"])}
        return [_passage(cid, *by_id[cid]) for cid in chunk_ids if cid in by_id]

    def sentence_vectors(self, ids: list[str]) -> dict[str, np.ndarray]:
        """Stored sentence vectors by id (ids not stored are absent from the result)."""
        if not ids:
            return {}
        got = self._reading("sentence vectors", self.sentences.get, ids=ids, include=["embeddings"])
        return dict(zip(got["ids"], np.asarray(got["embeddings"], dtype=np.float32)))

    def idf(self) -> Idf:
        """Inverse document frequencies of stems over the indexed chunks (for the extractive answerer),
        read term by term from the BM25 table's vocabulary."""
        self._check_lexical()
        key = self._written
        if self._idf is None or self._idf[0] != key:
            freqs = self.lexical.doc_freqs()
            self._idf = (key, Idf(freqs, freqs.n_docs))
        return self._idf[1]

    # ---------------------------------------------------------------- ingestion
    def _lock(self, wait: bool = True):
        """One writer at a time (CLI, page upload, tests); readers are never blocked. With `wait` False,
        yields whether the lock was free (and is now held) instead of waiting for it."""
        return file_lock(self.dir / "ingest.lock", wait)

    def ingest(self, scan: CorpusScan, chunker: Chunker, progress: bool = True, prune: bool = False) -> IngestReport:
        """Bring the index in step with `scan`. Articles whose files are gone are removed, unless that looks
        like a corpus folder that is not there (see `_looks_unmounted`): then they are kept and reported in
        `held`, until an ingest with `prune`."""
        started = time.perf_counter()
        report = IngestReport(skipped=list(scan.skipped), notes=list(scan.notes))
        with self._lock():
            damage = self._repair()
            if damage:
                report.notes.append(("(index)", f"the stored index was damaged ({damage[:200]}); rebuilt"))
            self._check_catalogue(writing=True)  # under the lock: a rebuild cannot race another writer
            stored = self.manifest()
            todo: list[Article] = []
            for article in scan.articles:
                state = stored.get(article.id)
                if state and state.complete_for(article, chunker.version):
                    report.unchanged.append(article.id)
                else:
                    (report.updated if state else report.added).append(article.id)
                    todo.append(article)
            # A file that still exists but could not be read this time keeps its previous version
            # (bad input loses nothing); duplicates and vanished files are removed.
            unreadable = {path for path, reason in scan.skipped if not reason.startswith("duplicate of")}
            kept = {aid for aid in stored if _in_files(aid, unreadable)}
            current = {a.id for a in scan.articles}
            report.removed = sorted(set(stored) - current - kept)
            for path in sorted(kept):
                report.notes.append((path, "could not be read; the previously indexed version is kept"))
            if report.removed and not prune and _looks_unmounted(len(report.removed), len(stored), len(current)):
                report.held, report.removed = report.removed, []
                report.notes.append(("(corpus folder)", f"{len(report.held):,} of the {len(stored):,} indexed articles "
                                     "are not in the corpus folder and were kept, not removed: is it the right folder, "
                                     "and mounted? If they were deleted on purpose, ingest again with --prune "
                                     "(Python: ingest(prune=True)). Two corpus folders indexing into one Chroma "
                                     "server need a collection each (RAG_COLLECTION)."))
            try:
                self._delete_articles(report.removed)
                self.duplicates.update(scan.articles, report.removed)
                self._sweep_orphan_sentences(stored)
                report.chunks_embedded = self._index_articles(todo, chunker, progress)
                self._sync_lexical()  # only repairs: the articles above were written to it as they were added
            finally:  # also when an ingest fails half-way: what it did write must not be hidden by a cache
                if todo or report.removed:
                    self._written += 1
            if todo or report.removed:
                # remakes BM25's memory-mapped base when the table outgrew it, after this ingest returns
                self.lexical.compact_in_background()
                self._publish()
        report.chunks_total = self.collection.count()
        report.copies = sum(len(g.members) - 1 for g in {g.canonical: g for g in self.stories(fresh=True).values()}.values())
        report.seconds = time.perf_counter() - started
        return report

    def _delete_articles(self, article_ids: list[str]) -> None:
        for lo in range(0, len(article_ids), 500):
            where = {"article_id": {"$in": article_ids[lo:lo + 500]}}
            self.catalogue.delete(article_ids[lo:lo + 500])  # first: a run killed here is seen by the totals
            self.collection.delete(where=where)
            self.sentences.delete(where=where)
            self.lexical.delete_articles(article_ids[lo:lo + 500])

    def _sweep_orphan_sentences(self, stored: dict[str, StoredArticle]) -> None:
        """A run killed between writing an article's sentences and its chunks leaves sentences that no
        chunk owns. Counting is cheap; only when the counts disagree are the sentences read and swept."""
        complete = {aid: s.content_hash for aid, s in stored.items() if s.present == s.n_chunks}
        if self.sentences.count() == sum(s.n_sentences for aid, s in stored.items() if aid in complete):
            return
        orphans = [sid for page in self._pages(["metadatas"], self.sentences)
                   for sid, meta in zip(page["ids"], page["metadatas"])
                   if complete.get(meta.get("article_id")) != meta.get("content_hash")]
        for lo in range(0, len(orphans), 5000):
            self.sentences.delete(ids=orphans[lo:lo + 5000])

    def _index_articles(self, articles: list[Article], chunker: Chunker, progress: bool) -> int:
        groups: list[list[tuple[Article, list[Passage]]]] = [[]]
        size = 0
        for article in articles:
            passages = chunker.split(article)
            if size >= self.settings.ingest_batch:
                groups.append([])
                size = 0
            groups[-1].append((article, passages))
            size += len(passages)
        total = sum(len(p) for group in groups for _, p in group)
        bar = tqdm(total=total, unit="chunk", desc="embedding", disable=not progress or total < 200)
        for group in groups:
            nodes, sentence_ids, sentence_meta, sentence_texts = [], [], [], []
            for article, passages in group:
                spans = [sentence_spans(p.text) or [(0, len(p.text))] for p in passages]
                n_sentences = sum(len(s) for s in spans)
                for passage, passage_spans in zip(passages, spans):
                    nodes.append(self._node(article, passage, len(passages), n_sentences, chunker.version))
                    for j, (lo, hi) in enumerate(passage_spans):
                        sentence_ids.append(sentence_id(passage.id, j))
                        sentence_texts.append(passage.text[lo:hi])
                        sentence_meta.append({"article_id": article.id, "chunk_id": passage.id,
                                              "date_int": date_int(article.date), "source": article.source,
                                              "content_hash": article.content_hash})
            if not nodes:
                continue
            # Overlapping chunks share sentences: embed each distinct text once.
            distinct = list(dict.fromkeys(sentence_texts))
            vectors = dict(zip(distinct, np.asarray(self.embed_model.get_text_embedding_batch(distinct),
                                                    dtype=np.float32)))
            sentence_vectors = [vectors[t] for t in sentence_texts]
            self._delete_articles([article.id for article, _ in group])
            for lo in range(0, len(sentence_ids), 5000):
                self.sentences.add(ids=sentence_ids[lo:lo + 5000],
                                   embeddings=[v.tolist() for v in sentence_vectors[lo:lo + 5000]],
                                   metadatas=sentence_meta[lo:lo + 5000])
            by_chunk: dict[str, list[np.ndarray]] = {}
            for meta, vector in zip(sentence_meta, sentence_vectors):
                by_chunk.setdefault(meta["chunk_id"], []).append(vector)
            for node in nodes:
                mean = np.mean(by_chunk[node.id_], axis=0)
                node.embedding = (mean / max(float(np.linalg.norm(mean)), 1e-12)).tolist()
            self.vector_store.add(nodes)  # complete chunks mean the sentences are there
            self.lexical.add([lexical_row(n.id_, n.text, n.metadata) for n in nodes])
            self.catalogue.add_chunks(n.metadata for n in nodes)
            bar.update(len(nodes))
        bar.close()
        return total

    @staticmethod
    def _node(article: Article, passage: Passage, n_chunks: int, n_sentences: int, chunker: str) -> TextNode:
        metadata = {
            "article_id": article.id, "title": article.title, "date": article.date,
            "date_int": date_int(article.date), "author": article.author, "source": article.source,
            "url": article.url, "page": passage.page,
            "start": passage.start, "end": passage.end, "content_hash": article.content_hash,
            "chunker": chunker, "n_chunks": n_chunks, "n_sentences": n_sentences,
        }
        return TextNode(id_=passage.id, text=passage.text, metadata=metadata,
                        start_char_idx=passage.start, end_char_idx=passage.end)

    # ---------------------------------------------------------------- BM25, kept in step with the store
    def lexical_current(self) -> bool:
        """The BM25 table holds exactly the store's chunks (cheap when the counts already disagree)."""
        if self.lexical.count() != self.collection.count():
            return False
        return self.lexical.chunk_ids() == self._stored_ids()

    def _stored_ids(self) -> set[str]:
        return {i for page in self._pages([]) for i in page["ids"]}

    def _sync_lexical(self) -> None:
        """Repair the BM25 table from the store: a run killed between writing an article's chunks and its
        BM25 rows, or an index made before the table existed. Touches only the chunks that differ."""
        if self.lexical.count() == self.collection.count():  # a run killed part-way leaves them unequal
            self._lexical_checked = True
            return
        stored = self._stored_ids()
        have = self.lexical.chunk_ids()
        self.lexical.delete_chunks(sorted(have - stored))
        missing = sorted(stored - have)
        for lo in range(0, len(missing), PAGE):
            got = self.collection.get(ids=missing[lo:lo + PAGE], include=["documents", "metadatas"])
            self.lexical.add([lexical_row(cid, text, meta)
                              for cid, text, meta in zip(got["ids"], got["documents"], got["metadatas"])])
        shutil.rmtree(self.dir / f"bm25-{self.collection.name}", ignore_errors=True)  # the bm25s index it replaces
        if missing or have - stored:
            self.lexical.compact_in_background()  # a refill may be the whole table (a damaged file)
        self._lexical_checked = True

    def _check_lexical(self) -> None:
        """Once per process, before the first BM25 read: repair the table if it is out of step."""
        if not self._lexical_checked:
            if self.lexical.count() != self.collection.count():
                with self._lock(), contextlib.suppress(OSError):  # a full disk: rank with what is there
                    self._sync_lexical()
            self._lexical_checked = True


    # ---------------------------------------------------------------- the catalogue, kept in step too
    def _check_catalogue(self, writing: bool = False) -> None:
        """Rebuild the catalogue from the store's chunk metadata when its chunk total is not the store's
        count: an index made before it existed, or a run killed between a store write and its catalogue
        write. A writer (under the lock) checks every time; a reader once, and only when no ingest is
        running (that ingest keeps the catalogue in step itself)."""
        if self._catalogue_checked and not writing:
            return
        if self.catalogue.chunk_total() == self.collection.count():
            self._catalogue_checked = True
            return
        if writing:
            self._rebuild_catalogue()
            return
        with self._lock(wait=False) as locked, contextlib.suppress(OSError):  # a full disk: read what is there
            if locked and self.catalogue.chunk_total() != self.collection.count():
                self._rebuild_catalogue()
            elif locked:  # an ingest finished between the two checks and left it in step
                self._catalogue_checked = True

    def _rebuild_catalogue(self) -> None:
        self.catalogue.replace(meta for page in self._pages(["metadatas"]) for meta in page["metadatas"])
        self._catalogue_checked = True


def _passage(chunk_id: str, text: str, meta: dict) -> Passage:
    return Passage(id=chunk_id, article_id=meta["article_id"], title=meta.get("title", ""), text=text,
                   start=int(meta["start"]), end=int(meta["end"]), date=meta.get("date", ""),
                   source=meta.get("source", ""), author=meta.get("author", ""), url=meta.get("url", ""),
                   page=str(meta.get("page", "")))


MASS_REMOVAL = 20  # articles: removing more than half of the index, and at least this many, is held


def _looks_unmounted(removing: int, stored: int, read: int) -> bool:
    """An ingest that would empty the index, or take more than half of it, is more often a corpus folder
    that is unmounted, emptied by a failed sync or mistyped (or a second corpus folder indexing into the
    same Chroma collection) than a deletion: re-embedding a large archive costs hours, keeping costs nothing."""
    return read == 0 or (removing >= MASS_REMOVAL and removing * 2 > stored)


def _in_files(article_id: str, files: set[str]) -> bool:
    """Whether an article comes from one of `files`: its id is the path, or "<path>#<record key>"."""
    return article_id in files or any(article_id[:i] in files for i, ch in enumerate(article_id) if ch == "#")


def sentence_id(passage_id: str, j: int) -> str:
    """The id of the j-th sentence (in `sentence_spans(passage.text)` order) of a passage."""
    return f"{passage_id}|{j}"


def split_sentence_id(sentence: str) -> tuple[str, int]:
    """(passage id, j) of a sentence id: the inverse of `sentence_id`."""
    passage_id, _, j = sentence.rpartition("|")
    return passage_id, int(j)


def lexical_row(chunk_id: str, text: str, meta: dict) -> tuple[str, str, str, str, str]:
    """A stored chunk's row of the BM25 table (LexicalIndex.add), from its text and its Chroma metadata."""
    return (chunk_id, meta["article_id"], meta.get("date", ""), meta.get("source", ""),
            embed_text(meta.get("title", ""), text))


def embed_text(title: str, text: str) -> str:
    """What is BM25-indexed for a passage: its article title gives it context."""
    return f"{title}\n{text}" if title else text

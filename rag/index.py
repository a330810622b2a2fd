"""The index: a Chroma collection (embedded or server) plus a BM25 index over the same passages.

Incremental ingestion is driven by a manifest that lives *in the store itself*: every chunk carries
its article's content hash, the chunker version and the article's chunk count. An article is up to
date only if exactly that set of chunks is present, so a run killed part-way is completed by the
next run (chunk ids are deterministic, an incomplete article is deleted and re-added), and the
manifest can never disagree with what is actually stored.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import shutil
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import chromadb
from llama_index.core.schema import TextNode
from llama_index.retrievers.bm25 import BM25Retriever
from llama_index.vector_stores.chroma import ChromaVectorStore
from tqdm import tqdm

from .chunking import Chunker
from .corpus import CorpusScan
from .types import Article, IngestReport, Passage

PAGE = 5000


class StoreUnavailable(RuntimeError):
    """The Chroma server cannot be reached (or the embedded store cannot be opened)."""


def date_int(date: str) -> int:
    return int(date.replace("-", "")) if date else 0


def open_collection(settings, slug: str):
    chroma_settings = chromadb.Settings(anonymized_telemetry=False)
    try:
        if settings.chroma_host:
            client = chromadb.HttpClient(host=settings.chroma_host, port=settings.chroma_port,
                                         settings=chroma_settings)
            client.heartbeat()
        else:
            path = Path(settings.index_dir) / "chroma"
            path.mkdir(parents=True, exist_ok=True)
            client = chromadb.PersistentClient(path=str(path), settings=chroma_settings)
        return client.get_or_create_collection(
            f"articles-{slug}", embedding_function=None, metadata={"hnsw:space": "cosine"})
    except Exception as err:  # chromadb raises many types for "cannot connect"
        where = (f"Chroma server at {settings.chroma_host}:{settings.chroma_port}" if settings.chroma_host
                 else f"embedded Chroma store in {settings.index_dir}")
        raise StoreUnavailable(f"{where} is not available: {err}") from err


@dataclass(frozen=True)
class StoredArticle:
    content_hash: str
    chunker: str
    n_chunks: int
    present: int

    def complete_for(self, article: Article, chunker: str) -> bool:
        return (self.content_hash, self.chunker) == (article.content_hash, chunker) \
            and self.present == self.n_chunks


class Index:
    def __init__(self, settings, embed_model, slug: str):
        self.settings = settings
        self.embed_model = embed_model
        self.collection = open_collection(settings, slug)
        self.vector_store = ChromaVectorStore(chroma_collection=self.collection)
        self.dir = Path(settings.index_dir)
        self.bm25_dir = self.dir / f"bm25-{self.collection.name}"
        self.bm25: BM25Retriever | None = None

    # ---------------------------------------------------------------- manifest (read from the store)
    def _pages(self, include: list[str]) -> Iterator[dict]:
        offset = 0
        while True:
            page = self.collection.get(include=include, limit=PAGE, offset=offset)
            if not page["ids"]:
                return
            yield page
            offset += len(page["ids"])

    def manifest(self) -> dict[str, StoredArticle]:
        counts: dict[str, Counter] = {}
        for page in self._pages(["metadatas"]):
            for meta in page["metadatas"]:
                key = (meta.get("content_hash", ""), meta.get("chunker", ""), int(meta.get("n_chunks", -1)))
                counts.setdefault(meta.get("article_id", ""), Counter())[key] += 1
        manifest = {}
        for article_id, counter in counts.items():
            if len(counter) == 1:
                (content_hash, chunker, n_chunks), present = next(iter(counter.items()))
                manifest[article_id] = StoredArticle(content_hash, chunker, n_chunks, present)
            else:  # chunks of two versions: a killed update. Never "complete".
                manifest[article_id] = StoredArticle("", "", -1, sum(counter.values()))
        return manifest

    def articles(self) -> list[dict]:
        """One row per indexed article: id, title, date, source, chunks (for the page's corpus panel)."""
        rows: dict[str, dict] = {}
        for page in self._pages(["metadatas"]):
            for meta in page["metadatas"]:
                row = rows.setdefault(meta["article_id"], {
                    "article_id": meta["article_id"], "title": meta.get("title", ""),
                    "date": meta.get("date", ""), "source": meta.get("source", ""), "chunks": 0})
                row["chunks"] += 1
        return sorted(rows.values(), key=lambda r: (r["date"], r["article_id"]))

    # ---------------------------------------------------------------- ingestion
    @contextlib.contextmanager
    def _lock(self):
        """One writer at a time (CLI, page upload, tests); readers are never blocked."""
        self.dir.mkdir(parents=True, exist_ok=True)
        with open(self.dir / "ingest.lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def ingest(self, scan: CorpusScan, chunker: Chunker, progress: bool = True) -> IngestReport:
        started = time.perf_counter()
        report = IngestReport(skipped=list(scan.skipped), notes=list(scan.notes))
        with self._lock():
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
            kept = {path for path, reason in scan.skipped if not reason.startswith("duplicate of")}
            current = {a.id for a in scan.articles}
            report.removed = sorted(set(stored) - current - kept)
            for path in sorted(set(stored) & kept):
                report.notes.append((path, "could not be read; the previously indexed version is kept"))
            self._delete_articles(report.removed)
            report.chunks_embedded = self._index_articles(todo, chunker, progress)
            if report.removed or todo or not self._bm25_current():
                self._rebuild_bm25()
        report.chunks_total = self.collection.count()
        report.seconds = time.perf_counter() - started
        return report

    def _delete_articles(self, article_ids: list[str]) -> None:
        for lo in range(0, len(article_ids), 500):
            self.collection.delete(where={"article_id": {"$in": article_ids[lo:lo + 500]}})

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
            nodes = [self._node(article, passage, len(passages), chunker.version)
                     for article, passages in group for passage in passages]
            if not nodes:
                continue
            vectors = self.embed_model.get_text_embedding_batch([embed_text(n.metadata["title"], n.text)
                                                                 for n in nodes])
            for node, vector in zip(nodes, vectors):
                node.embedding = vector
            self._delete_articles([article.id for article, _ in group])
            self.vector_store.add(nodes)
            bar.update(len(nodes))
        bar.close()
        return total

    @staticmethod
    def _node(article: Article, passage: Passage, n_chunks: int, chunker: str) -> TextNode:
        metadata = {
            "article_id": article.id, "title": article.title, "date": article.date,
            "date_int": date_int(article.date), "author": article.author, "source": article.source,
            "start": passage.start, "end": passage.end, "content_hash": article.content_hash,
            "chunker": chunker, "n_chunks": n_chunks,
        }
        return TextNode(id_=passage.id, text=passage.text, metadata=metadata,
                        start_char_idx=passage.start, end_char_idx=passage.end)

    # ---------------------------------------------------------------- BM25, kept in step with the store
    def _fingerprint(self, ids: list[str]) -> str:
        return hashlib.sha256("\n".join(sorted(ids)).encode()).hexdigest()

    def _stored_fingerprint(self) -> str:
        try:
            return json.loads((self.bm25_dir / "state.json").read_text())["fingerprint"]
        except (OSError, ValueError, KeyError):
            return ""

    def _bm25_current(self) -> bool:
        ids = [i for page in self._pages([]) for i in page["ids"]]
        return self._stored_fingerprint() == self._fingerprint(ids)

    def _rebuild_bm25(self) -> None:
        nodes, ids = [], []
        for page in self._pages(["documents", "metadatas"]):
            for chunk_id, text, meta in zip(page["ids"], page["documents"], page["metadatas"]):
                ids.append(chunk_id)
                nodes.append(TextNode(
                    id_=chunk_id, text=embed_text(meta.get("title", ""), text),
                    metadata={"article_id": meta["article_id"], "date_int": meta.get("date_int", 0)},
                    excluded_embed_metadata_keys=["article_id", "date_int"]))
        if not nodes:
            shutil.rmtree(self.bm25_dir, ignore_errors=True)
            self.bm25 = None
            return
        retriever = BM25Retriever.from_defaults(nodes=nodes, similarity_top_k=min(50, len(nodes)))
        self.bm25 = retriever  # usable in memory even if persisting it fails below (disk full)
        # Write beside, then swap: a crash or a full disk leaves no half-written index in place.
        tmp, old = (self.bm25_dir.with_name(self.bm25_dir.name + suffix) for suffix in (".tmp", ".old"))
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            tmp.mkdir(parents=True)
            retriever.persist(str(tmp), show_progress=False)
            (tmp / "state.json").write_text(json.dumps({"fingerprint": self._fingerprint(ids)}))
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        shutil.rmtree(old, ignore_errors=True)
        if self.bm25_dir.exists():
            self.bm25_dir.rename(old)
        tmp.rename(self.bm25_dir)
        shutil.rmtree(old, ignore_errors=True)

    def load_bm25(self) -> BM25Retriever | None:
        """The BM25 index for the current store, rebuilt if it is missing or out of step."""
        if self.bm25 is None:
            if self._bm25_current() and (self.bm25_dir / "state.json").exists():
                self.bm25 = BM25Retriever.from_persist_dir(str(self.bm25_dir), show_progress=False)
            elif self.collection.count():
                with self._lock():
                    try:
                        self._rebuild_bm25()
                    except OSError:  # cannot persist (disk full): answer from the in-memory index
                        pass
        return self.bm25


def embed_text(title: str, text: str) -> str:
    """What is embedded and BM25-indexed for a passage: its article title gives it context."""
    return f"{title}\n{text}" if title else text

"""Parts 1 and 2: ingestion throughput (ours vs the embedding model alone vs plain LlamaIndex) and
re-ingestion (unchanged corpus, 1% of articles edited, 1% only touched)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from .common import ROOT, Clock, log


def copy_corpus(src: Path, dst: Path, per_category: int | None) -> int:
    """Copy the BBC folders (or the first `per_category` files of each) to a scratch folder."""
    n = 0
    for folder in sorted(p for p in src.iterdir() if p.is_dir()):
        files = sorted(folder.glob("*.txt"))[:per_category]
        (dst / folder.name).mkdir(parents=True, exist_ok=True)
        for f in files:
            shutil.copy2(f, dst / folder.name / f.name)
            n += 1
    return n


def chunk_texts(assistant) -> list[str]:
    """Exactly the texts our ingestion embedded (title + passage), read back from the store."""
    from rag.index import embed_text

    texts = []
    for page in assistant.index._pages(["documents", "metadatas"]):
        texts += [embed_text(m.get("title", ""), d) for d, m in zip(page["documents"], page["metadatas"])]
    return texts


def build_peer(corpus: Path, path: Path):
    """The LlamaIndex docs' plain path: SimpleDirectoryReader -> VectorStoreIndex.from_documents over a
    ChromaVectorStore, default node parser (SentenceSplitter 1024/200), same embedding model class."""
    import chromadb
    from llama_index.core import SimpleDirectoryReader, StorageContext, VectorStoreIndex
    from llama_index.vector_stores.chroma import ChromaVectorStore
    from rag.embedding import MiniLMEmbedding

    embed_model = MiniLMEmbedding()
    embed_model.embed(["warm up"] * 8)
    with Clock() as clock:
        documents = SimpleDirectoryReader(str(corpus), recursive=True).load_data()
        client = chromadb.PersistentClient(path=str(path), settings=chromadb.Settings(anonymized_telemetry=False))
        # embedding_function=None only stops Chroma from instantiating its downloading default; LlamaIndex
        # always passes the vectors it computed, so nothing else changes.
        collection = client.get_or_create_collection("peer", embedding_function=None)
        storage = StorageContext.from_defaults(vector_store=ChromaVectorStore(chroma_collection=collection))
        index = VectorStoreIndex.from_documents(documents, storage_context=storage, embed_model=embed_model)
    return index, {"seconds": clock.wall, "cpu_s": clock.cpu, "chunks": collection.count(),
                   "documents": len(documents), "texts_embedded": embed_model.texts_embedded - 8}


def run_ingestion(bbc: Path, work: Path, quick: bool, per_category: int | None = None) -> tuple[dict, object, object]:
    from rag import Assistant
    from rag.embedding import MiniLMEmbedding

    corpus = work / "bbc"
    n_files = copy_corpus(bbc, corpus, per_category or (60 if quick else None))
    log(f"[ingest] {n_files} BBC files copied to {corpus}")
    assistant = Assistant(corpus_dir=corpus, index_dir=work / "index-bbc", answer_mode="extractive")
    assistant.embed_model.embed(["warm up"] * 8)  # every contender gets the same warm-up
    before = assistant.embed_model.texts_embedded
    with Clock() as ours:
        report = assistant.ingest(progress=False)
    ours_embedded = assistant.embed_model.texts_embedded - before
    log(f"[ingest] ours: {report.chunks_embedded} chunks in {ours.wall:.1f} s")

    texts = chunk_texts(assistant)
    limit_model = MiniLMEmbedding()
    limit_model.embed(["warm up"] * 8)
    with Clock() as limit:
        limit_model.embed(texts)
    log(f"[ingest] limit: {len(texts)} chunks in {limit.wall:.1f} s")

    peer_index, peer = build_peer(corpus, work / "peer-chroma")
    log(f"[ingest] peer: {peer['chunks']} chunks in {peer['seconds']:.1f} s")

    chunks = report.chunks_embedded
    result = {
        "articles": n_files, "articles_indexed": len(report.added), "skipped": report.skipped,
        "notes": report.notes,
        "ours": {"seconds": ours.wall, "cpu_s": ours.cpu, "chunks": chunks, "texts_embedded": ours_embedded,
                 "chunks_per_s": chunks / ours.wall, "articles_per_s": n_files / ours.wall},
        "limit": {"seconds": limit.wall, "cpu_s": limit.cpu, "chunks": len(texts),
                  "chunks_per_s": len(texts) / limit.wall, "articles_per_s": n_files / limit.wall},
        "peer": {**peer, "chunks_per_s": peer["chunks"] / peer["seconds"],
                 "articles_per_s": n_files / peer["seconds"]},
    }
    result["ratio_ours_limit"] = result["ours"]["chunks_per_s"] / result["limit"]["chunks_per_s"]
    result["ratio_ours_peer"] = result["ours"]["chunks_per_s"] / result["peer"]["chunks_per_s"]
    result["ratio_ours_peer_corpus_time"] = peer["seconds"] / ours.wall
    return result, assistant, peer_index


def run_reingest(assistant, work: Path) -> dict:
    """Re-ingest through a new Assistant (what a second `rag ingest` does), then through the CLI."""
    from rag import Assistant

    corpus, index_dir = assistant.settings.corpus_dir, assistant.settings.index_dir
    rows = {}

    def again(label: str) -> None:
        fresh = Assistant(corpus_dir=corpus, index_dir=index_dir, answer_mode="extractive")
        before = fresh.embed_model.texts_embedded
        with Clock() as clock:
            report = fresh.ingest(progress=False)
        rows[label] = {"seconds": clock.wall, "cpu_s": clock.cpu,
                       "texts_embedded": fresh.embed_model.texts_embedded - before,
                       "chunks_embedded": report.chunks_embedded, "updated": len(report.updated),
                       "unchanged": len(report.unchanged), "added": len(report.added)}
        log(f"[reingest] {label}: {rows[label]}")

    again("unchanged")
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "rag", "ingest", "--corpus", str(corpus), "--index",
                           str(index_dir), "--json"], cwd=ROOT, capture_output=True, text=True,
                          env=os.environ.copy())
    cli = json.loads(proc.stdout) if proc.returncode == 0 else {}
    rows["unchanged_cli"] = {"seconds": time.perf_counter() - t0, "chunks_embedded": cli.get("chunks_embedded"),
                             "reported_seconds": cli.get("seconds")}
    files = sorted(Path(corpus).rglob("*.txt"))
    picked = files[::100]  # 1% of the articles
    for f in picked:
        os.utime(f)  # new mtime, same bytes
    again("touched_mtime_1pct")
    for f in picked:
        with open(f, "a", encoding="utf-8") as handle:
            handle.write("\nThis article was updated for the benchmark.\n")
    again("edited_1pct")
    rows["edited_files"] = len(picked)
    return rows

"""Part 4: retrieval latency and memory at ~1k, 10k and 100k chunks, embedded Chroma and a Chroma server.

Embedding 100k chunks would take about an hour, so the large collections are made from the BBC chunks
already embedded in part 1: copy r of an original chunk becomes a synthetic article
`<article>~r<r>` whose text is the original's sentences shuffled, every number replaced by another of
the same length and every capitalised name swapped through a fixed random permutation of the corpus's
names; its vector and each of its sentence vectors are the original's plus Gaussian noise (sigma 0.01 per
dimension, cosine ~0.98 to the original) renormalised. Copies are written straight through the engine's own
formats (sentence records into `index.sentences`, then `Index._node` + `vector_store.add`, then the
chunks' BM25 rows into `index.lexical`, as an ingest writes them).
Collections grow in place (1k -> 10k -> 100k); the first ~1k are original chunks in random order.
"""
from __future__ import annotations

import hashlib
import random
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from rag.index import date_int, lexical_row, sentence_id, split_sentence_id

from .common import Clock, log, rss_of, run_child

_NUMBER = re.compile(r"\d")
_NAME = re.compile(r"\b[A-Z][a-z]{2,}\b")
NOISE = 0.01


def base_chunks(assistant) -> list[dict]:
    index = assistant.index
    sentences: dict[str, list[tuple[int, np.ndarray]]] = {}
    for page in index._pages(["metadatas", "embeddings"], index.sentences):
        for sid, meta, vec in zip(page["ids"], page["metadatas"], page["embeddings"]):
            sentences.setdefault(meta["chunk_id"], []).append((split_sentence_id(sid)[1],
                                                               np.asarray(vec, dtype=np.float32)))
    rows = []
    for page in index._pages(["documents", "metadatas", "embeddings"]):
        for cid, doc, meta, vec in zip(page["ids"], page["documents"], page["metadatas"], page["embeddings"]):
            rows.append({"id": cid, "text": doc, "meta": meta, "vec": np.asarray(vec, dtype=np.float32),
                         "sentences": [v for _, v in sorted(sentences.get(cid, []), key=lambda p: p[0])]})
    random.Random(1).shuffle(rows)
    return rows


class Replicator:
    def __init__(self, base: list[dict]):
        self.base = base
        names = sorted({m for row in base for m in _NAME.findall(row["text"])})
        shuffled = names[:]
        random.Random(2).shuffle(shuffled)
        self.swap = dict(zip(names, shuffled))

    def variant(self, i: int):
        """(Article, Passage, n_chunks, vector) of synthetic chunk number i (deterministic)."""
        from rag.types import Article, Passage

        row = self.base[i % len(self.base)]
        copy = i // len(self.base)
        meta = row["meta"]
        if copy == 0:
            text, title, article_id, chunk_id = row["text"], meta.get("title", ""), meta["article_id"], row["id"]
            vec, sentence_vecs = row["vec"], row["sentences"]
        else:
            rng = random.Random(i)
            sentences = re.split(r"(?<=[.!?])\s+", row["text"])
            rng.shuffle(sentences)
            text = " ".join(sentences)
            text = _NUMBER.sub(lambda m: str(rng.randrange(10)), text)
            text = _NAME.sub(lambda m: self.swap.get(m.group(0), m.group(0)), text)
            title = _NAME.sub(lambda m: self.swap.get(m.group(0), m.group(0)), meta.get("title", ""))
            article_id = f"{meta['article_id']}~r{copy}"
            digest = hashlib.sha256(text.encode()).hexdigest()
            chunk_id = f"{article_id}#{digest[:12]}:{row['id'].rsplit(':', 1)[-1]}"
            noisy = np.random.default_rng(i)
            vec, *sentence_vecs = [_jitter(v, noisy) for v in [row["vec"], *row["sentences"]]]
        article = Article(id=article_id, title=title, text=text, date=meta.get("date", ""),
                          source=meta.get("source", ""), content_hash=meta.get("content_hash", ""))
        passage = Passage(id=chunk_id, article_id=article_id, title=title, text=text, start=0, end=len(text))
        return (article, passage, int(meta.get("n_chunks", 1)), int(meta.get("n_sentences", 1)),
                meta.get("chunker", ""), vec, sentence_vecs)


def _jitter(vec: np.ndarray, rng) -> np.ndarray:
    out = vec + rng.normal(0, NOISE, vec.shape).astype(np.float32)
    return out / np.linalg.norm(out)


def grow(index, replicator: Replicator, target: int, write_bm25: bool) -> dict:
    """Add synthetic chunks until the collection holds `target`; with `write_bm25`, their BM25 rows and
    article catalogue rows too (both files live in the index_dir the two stores share)."""
    start = index.collection.count()
    bm25_s = catalogue_s = 0.0
    with Clock() as add:
        for lo in range(start, target, 2000):
            nodes, sentence_ids, sentence_vecs, sentence_meta = [], [], [], []
            for i in range(lo, min(target, lo + 2000)):
                article, passage, n_chunks, n_sentences, chunker, vec, vecs = replicator.variant(i)
                node = index._node(article, passage, n_chunks, n_sentences, chunker)
                node.embedding = vec.tolist()
                nodes.append(node)
                for j, v in enumerate(vecs):
                    sentence_ids.append(sentence_id(passage.id, j))
                    sentence_vecs.append(v.tolist())
                    sentence_meta.append({"article_id": article.id, "chunk_id": passage.id,
                                          "date_int": date_int(article.date), "content_hash": article.content_hash})
            for s in range(0, len(sentence_ids), 5000):  # sentences first, as the engine writes them
                index.sentences.add(ids=sentence_ids[s:s + 5000], embeddings=sentence_vecs[s:s + 5000],
                                    metadatas=sentence_meta[s:s + 5000])
            index.vector_store.add(nodes)
            if write_bm25:  # both stores share one index_dir, so one BM25 table: written once
                with Clock() as clock:
                    index.lexical.add([lexical_row(n.id_, n.text, n.metadata) for n in nodes])
                bm25_s += clock.wall
                with Clock() as clock:
                    index.catalogue.add_chunks(n.metadata for n in nodes)
                catalogue_s += clock.wall
    out = {"added": target - start, "add_s": round(add.wall, 1)}
    if write_bm25:
        out["bm25_s"] = round(bm25_s, 1)
        out["catalogue_s"] = round(catalogue_s, 1)
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_chroma(path: Path) -> tuple[subprocess.Popen, int]:
    import chromadb

    port = _free_port()
    exe = Path(sys.executable).with_name("chroma")
    proc = subprocess.Popen([str(exe), "run", "--host", "127.0.0.1", "--port", str(port), "--path", str(path)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            chromadb.HttpClient(host="127.0.0.1", port=port,
                                settings=chromadb.Settings(anonymized_telemetry=False)).heartbeat()
            return proc, port
        except Exception:
            if proc.poll() is not None:
                raise RuntimeError("chroma run exited")
            time.sleep(0.3)
    proc.terminate()
    raise RuntimeError("chroma server did not answer its heartbeat in 60 s")


def run_scale(bbc_assistant, work: Path, questions_file: Path, sizes: list[int], n_questions: int,
              embedded_up_to: int | None = None, add_from: Path | None = None) -> dict:
    """Both stores share one index_dir: the BM25 table is keyed by the chunk ids, which are identical, so
    the server-mode process reads the BM25 rows the embedded build wrote. Sizes above `embedded_up_to`
    are built on the server only (the embedded process would hold every sentence vector). After each
    build the BM25 base is remade as an ingest would; with `add_from` (a folder of articles), adding
    and then removing those articles through the engine's write path is timed at each size."""
    from rag import Assistant

    base = base_chunks(bbc_assistant)
    replicator = Replicator(base)
    index_dir = work / "scale"
    embedded = Assistant(index_dir=index_dir, answer_mode="extractive")
    server, port = start_chroma(work / "chroma-server")
    results = []
    try:
        remote = Assistant(index_dir=index_dir, answer_mode="extractive", chroma_host="127.0.0.1",
                           chroma_port=port)
        for size in sizes:
            both = embedded_up_to is None or size <= embedded_up_to
            built = {}
            if both:
                built["embedded"] = grow(embedded.index, replicator, size, write_bm25=True)
            built["server"] = grow(remote.index, replicator, size, write_bm25=not both)
            with Clock() as compact:
                remote.index.lexical.compact()  # what an ingest starts on a thread once it has written
            built["bm25_base_s"] = round(compact.wall, 1)
            with Clock() as check, remote.index._lock():
                remote.index._check_catalogue(writing=True)  # rebuilds it only for an index grown before it
            built["catalogue_check_s"] = round(check.wall, 1)
            log(f"[scale] {size}: built {built}")
            common = ["--index", str(index_dir), "--questions", str(questions_file), "--n", str(n_questions)]
            row = {"target": size, "build": built}
            if both:
                row["embedded"] = run_child(common)
                log(f"[scale] {size} embedded: {row['embedded']}")
            remote_args = common + ["--chroma-host", "127.0.0.1", "--chroma-port", str(port)]
            row["server"] = run_child(remote_args)
            row["server"]["server_rss_mb"] = round(rss_of(server.pid).get("VmRSS", float("nan")), 1)
            log(f"[scale] {size} server: {row['server']}")
            row["server_ask"] = run_child(remote_args + ["--mode", "ask", "--n", str(max(20, n_questions // 4))])
            log(f"[scale] {size} server answers: {row['server_ask']}")
            if add_from is not None:
                row["add_articles"] = time_add_remove(remote, add_from)
                log(f"[scale] {size} add/remove: {row['add_articles']}")
            results.append(row)
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
    return {"base_chunks": len(base), "noise_sigma": NOISE, "sizes": results}


def time_add_remove(assistant, folder: Path) -> dict:
    """The engine's write path for the articles of `folder` (chunk, embed, write sentences, chunks and
    BM25 rows, catalogue rows, BM25 base check, publish), then their removal, with the embedding time
    measured apart. `ingest` itself is not called: it would remove every synthetic article, since none is
    in the folder; its first step, reading the manifest, is timed inside `add_s` and also on its own."""
    from rag.corpus import scan

    index = assistant.index
    articles = scan(folder, 10_000_000).articles
    model = index.embed_model
    spent = [0.0]
    embed = model.embed

    def timed_embed(texts):
        t0 = time.perf_counter()
        try:
            return embed(texts)
        finally:
            spent[0] += time.perf_counter() - t0

    object.__setattr__(model, "embed", timed_embed)  # a pydantic model: bypass its field check
    try:
        with Clock() as add, index._lock():
            with Clock() as manifest:
                index._check_catalogue(writing=True)  # as ingest does, under the lock
                index.manifest()
            chunks = index._index_articles(articles, assistant.chunker, progress=False)
            index.duplicates.update(articles)
            index.lexical.compact()
            index._written += 1
            index._publish()
    finally:
        object.__delattr__(model, "embed")
    with Clock() as remove, index._lock():
        index._delete_articles([a.id for a in articles])
        index.duplicates.update([], [a.id for a in articles])
        index.lexical.compact()
        index._written += 1
        index._publish()
    return {"articles": len(articles), "chunks": chunks, "add_s": round(add.wall, 1),
            "embedding_s": round(spent[0], 1), "add_beyond_embedding_s": round(add.wall - spent[0], 1),
            "remove_s": round(remove.wall, 1), "manifest_s": round(manifest.wall, 1)}


def main(argv: list[str] | None = None) -> int:
    """`python -m bench.scale --sizes 1000000 --embedded-up-to 100000 --work DIR --out FILE`: the engine-wide
    sweep alone (BBC index built once in DIR and kept, so a rerun skips the embedding)."""
    import argparse
    import json
    import shutil

    from .common import DATASETS
    from .ingest import copy_corpus
    from .latency import make_questions

    p = argparse.ArgumentParser(prog="python -m bench.scale", description=main.__doc__)
    p.add_argument("--bbc", type=Path, default=DATASETS / "bbc-news")
    p.add_argument("--sizes", default="1000,10000,100000")
    p.add_argument("--embedded-up-to", type=int, default=100_000)
    p.add_argument("--n", type=int, default=200)
    p.add_argument("--work", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--keep", action="store_true",
                   help="grow the index left in --work by an earlier run instead of starting empty")
    args = p.parse_args(argv)

    import rag  # noqa: F401  (offline settings first)
    from rag import Assistant

    corpus = args.work / "bbc"
    if not corpus.is_dir():
        copy_corpus(args.bbc, corpus, None)
    bbc = Assistant(corpus_dir=corpus, index_dir=args.work / "index-bbc", answer_mode="extractive")
    bbc.ingest()
    questions_file = args.work / "questions.json"
    questions_file.write_text(json.dumps([q["q"] for q in make_questions(corpus, 240)]))
    adds = args.work / "add-100"
    if not adds.is_dir():  # 100 distinct BBC articles under new names: new to the index, copies of stories in it
        texts = set()
        for f in sorted(corpus.rglob("*.txt"))[::11]:
            if len(texts) == 100 or f.read_bytes() in texts:
                continue
            texts.add(f.read_bytes())
            (adds / f.parent.name).mkdir(parents=True, exist_ok=True)
            shutil.copy2(f, adds / f.parent.name / f"added-{len(texts):03d}.txt")
    if not args.keep:
        for stale in ("scale", "chroma-server"):
            shutil.rmtree(args.work / stale, ignore_errors=True)
    sizes = [int(s) for s in args.sizes.split(",")]
    out = run_scale(bbc, args.work, questions_file, sizes, args.n, args.embedded_up_to, adds)
    args.out.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    log(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

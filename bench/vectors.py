"""Vectors at scale: one vector per chunk in a `chroma run` server, to 1M chunks, and its HNSW search setting.

`python -m bench.vectors [--sizes 100000,1000000] [--work DIR] [--out docs/vectors.json]` prints a table.
The engine keeps ~6 sentence vectors per chunk (docs/SCALING.md: ~19 KB of RAM a chunk), too many for 1M
chunks on this machine; this measures the collection a chunk-vector archive would hold instead, so its
figures are those of 1M vectors (and of ~170k chunks with sentence vectors).

Vectors: the BBC News chunks (~180 words, bench.lexical) embedded with the packaged MiniLM, then copies of
them with Gaussian noise (sigma 0.01 per dimension, renormalised: cosine ~0.98), as bench.scale makes its
copies; questions are 5 words of a random chunk, embedded the same way. For each size: the time to add the
vectors (batches of 5,000 over HTTP), the server's RSS and disk, and for each HNSW `ef_search` the query
p50/p95 (40 results, as the engine asks) and recall@10 against an exact numpy search of the same vectors.
Copies of one chunk sit close together (each original has ~160 copies at 1M), so recall of the exact ids is a
hard case for HNSW, not a typical one; recall of the chunks' texts (a copy counted as its original) is what a
question's answer depends on, and is reported beside it.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from .common import DATASETS, log, pct, rss_of, table
from .lexical import bbc_chunks, questions
from .scale import start_chroma

NOISE = 0.01
EF_SEARCH = (20, 50, 100, 200)  # 100 is Chroma's default


def base_vectors(work: Path, bbc: Path) -> tuple[np.ndarray, np.ndarray]:
    """MiniLM vectors of the BBC chunks and of the questions (cached in `work`: 6k chunks take ~2 min)."""
    cache = work / "bbc-minilm.npz"
    if cache.exists():
        got = np.load(cache)
        return got["chunks"], got["questions"]
    from rag.embedding import MiniLMEmbedding

    model, texts = MiniLMEmbedding(), bbc_chunks(bbc)
    chunks, asked = model.embed(texts).astype(np.float32), model.embed(questions(texts)).astype(np.float32)
    np.savez(cache, chunks=chunks, questions=asked)
    return chunks, asked


def copies(base: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """Vectors lo..hi: the originals, then noisy copies (each batch seeded by its start: deterministic)."""
    picked = base[np.arange(lo, hi) % len(base)]
    noisy = picked + np.random.default_rng(lo).normal(0, NOISE, picked.shape).astype(np.float32)
    noisy[: max(0, len(base) - lo)] = picked[: max(0, len(base) - lo)]
    return noisy / np.linalg.norm(noisy, axis=1, keepdims=True)


def stop(server) -> None:
    server.terminate()
    server.wait(timeout=60)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="100000,1000000")
    p.add_argument("--bbc", type=Path, default=DATASETS / "bbc-news")
    p.add_argument("--work", type=Path, default=None, help="a folder for the server's files (default: temporary)")
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args(argv)
    if not args.bbc.is_dir():
        print(f"skipped: BBC News not found at {args.bbc}")
        return 0
    import chromadb

    work = args.work or Path(tempfile.mkdtemp())
    work.mkdir(parents=True, exist_ok=True)
    base, asked = base_vectors(work, args.bbc)
    shutil.rmtree(work / "chroma", ignore_errors=True)
    server, port = start_chroma(work / "chroma")
    rows, have = [], 0
    try:
        client = chromadb.HttpClient(host="127.0.0.1", port=port,
                                     settings=chromadb.Settings(anonymized_telemetry=False))
        collection = client.create_collection("chunks", metadata={"hnsw:space": "cosine"})
        everything = []
        for size in [int(s) for s in args.sizes.split(",")]:
            started = time.perf_counter()
            for lo in range(have, size, 5000):
                vectors = copies(base, lo, min(size, lo + 5000))
                everything.append(vectors)
                collection.add(ids=[f"c{i}" for i in range(lo, lo + len(vectors))], embeddings=vectors)
            add_s = time.perf_counter() - started
            have = size
            while collection.count() < size:
                time.sleep(1)
            matrix = np.concatenate(everything)
            exact = [set(np.argpartition(-(matrix @ q), 10)[:10].tolist()) for q in asked[5:]]
            row = {"chunks": size, "add_s": round(add_s, 1), "adds_per_s": round((size - sum(
                r["chunks"] for r in rows[-1:])) / add_s), "server_rss_mb": round(rss_of(server.pid)["VmRSS"]),
                   "disk_mb": round(sum(f.stat().st_size for f in (work / "chroma").rglob("*") if f.is_file()) / 1e6)}
            for ef in EF_SEARCH:
                # a running server keeps the index it loaded with the old setting: restart it to apply one
                collection.modify(configuration={"hnsw": {"ef_search": ef}})
                stop(server)
                started = time.perf_counter()
                server, port = start_chroma(work / "chroma")
                client = chromadb.HttpClient(host="127.0.0.1", port=port,
                                             settings=chromadb.Settings(anonymized_telemetry=False))
                collection = client.get_collection("chunks")
                collection.query(query_embeddings=[asked[0]], n_results=40, include=[])
                row[f"ef{ef}_first_query_s"] = round(time.perf_counter() - started, 2)
                assert collection.configuration_json["hnsw"]["ef_search"] == ef
                for q in asked[:5]:
                    collection.query(query_embeddings=[q], n_results=40, include=[])
                times, recall, found = [], [], []
                for q, truth in zip(asked[5:], exact):
                    t0 = time.perf_counter()
                    got = collection.query(query_embeddings=[q], n_results=40, include=[])["ids"][0]
                    times.append((time.perf_counter() - t0) * 1000)
                    top = {int(i[1:]) for i in got[:10]}
                    recall.append(len(truth & top) / 10)
                    # the same chunk's text: a copy stands for its original (copies differ only by noise)
                    sources = {i % len(base) for i in truth}
                    found.append(len(sources & {i % len(base) for i in top}) / len(sources))
                row[f"ef{ef}"] = {"p50_ms": round(pct(times, 50), 1), "p95_ms": round(pct(times, 95), 1),
                                  "recall10": round(sum(recall) / len(recall), 3),
                                  "source_recall10": round(sum(found) / len(found), 3)}
            row["server_rss_after_mb"] = round(rss_of(server.pid)["VmRSS"])
            log(f"[vectors] {row}")
            rows.append(row)
    finally:
        stop(server)
    print(table(["chunks", "add s", "adds/s", "server RSS MB", "disk MB"] +
                [f"ef_search {ef}: p50 ms / p95 ms / recall@10 (of texts)" for ef in EF_SEARCH],
                [[f"{r['chunks']:,}", r["add_s"], r["adds_per_s"], r["server_rss_after_mb"], r["disk_mb"]] +
                 [f"{r[f'ef{ef}']['p50_ms']} / {r[f'ef{ef}']['p95_ms']} / {r[f'ef{ef}']['recall10']}"
                  f" ({r[f'ef{ef}']['source_recall10']})"
                  for ef in EF_SEARCH] for r in rows]))
    if args.out:
        args.out.write_text(json.dumps({"noise_sigma": NOISE, "rows": rows}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

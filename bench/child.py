"""A fresh process that loads an existing index and answers questions, so that its peak RSS and its
latencies belong to the engine alone: `python -m bench.child --index DIR --questions FILE ...`."""
from __future__ import annotations

import argparse
import json
import time

import os

from .common import peak_rss_mb, rss_of, summary


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--index", required=True)
    p.add_argument("--questions", required=True, help="JSON list of questions")
    p.add_argument("--mode", choices=["search", "ask"], default="search")
    p.add_argument("--n", type=int, default=200)
    p.add_argument("--chroma-host", default=None)
    p.add_argument("--chroma-port", type=int, default=8000)
    args = p.parse_args()

    started = time.perf_counter()
    from rag import Assistant

    overrides = {"index_dir": args.index, "answer_mode": "extractive"}
    if args.chroma_host:
        overrides.update(chroma_host=args.chroma_host, chroma_port=args.chroma_port)
    assistant = Assistant(**overrides)
    assistant.index.idf()  # opens the BM25 table (and checks it is in step with the store)
    chunks = assistant.index.collection.count()
    load_s = time.perf_counter() - started
    rss_loaded = rss_of(os.getpid()).get("VmRSS", float("nan"))
    questions = json.load(open(args.questions))[: args.n]
    for q in questions[:5]:  # warm-up: first HNSW and BM25 touches, lazy imports
        assistant.ask(q) if args.mode == "ask" else assistant.retriever.search(q)
    times = []
    for q in questions:
        t0 = time.perf_counter()
        assistant.ask(q) if args.mode == "ask" else assistant.retriever.search(q)
        times.append((time.perf_counter() - t0) * 1000)
    after = rss_of(os.getpid())
    print(json.dumps({"chunks": chunks, "load_s": round(load_s, 2), "rss_loaded_mb": round(rss_loaded, 1),
                      # VmHWM: this process's own peak. ru_maxrss is kept across fork+exec on Linux, so in a
                      # child it can report the parent's (much larger) footprint instead.
                      "peak_rss_mb": round(rss_of(os.getpid()).get("VmHWM", float("nan")), 1),
                      # mapped files (the BM25 base) count in RSS but are page cache the kernel can drop
                      "rss_after_mb": round(after.get("VmRSS", float("nan")), 1),
                      "rss_file_after_mb": round(after.get("RssFile", float("nan")), 1),
                      "ru_maxrss_mb": round(peak_rss_mb(), 1), **summary(times)}))


if __name__ == "__main__":
    main()

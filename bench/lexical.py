"""BM25 at scale: the on-disk FTS5 table (rag/lexical.py) against the bm25s index it replaced, side by side.

`python -m bench.lexical [--sizes 10000,100000] [--out docs/lexical.json]` prints a table. Chunks are BBC
News articles cut into ~180-word pieces; beyond the 2,225 articles, copy r of a chunk has its words in a
fixed random order (r-seeded), so vocabulary and lengths stay news-like. Each cell is a fresh process:

- build: every chunk indexed from nothing (FTS5: rows in batches of 2,000, as ingest writes them; bm25s:
  tokenize + index, what the old engine redid on *every* ingest that changed anything; its reading of every
  chunk back from Chroma and writing to disk are not counted, so its figures are a lower bound);
- add 100 articles (300 chunks) to the built index and remove them again: FTS5 writes and deletes only their
  rows; bm25s has no incremental add, so it is one more whole build at size + 300;
- query p50/p95 over 200 questions of 5 words of a random chunk, after 5 warm-up ones; RSS after opening.

- FTS5 + base: the memory-mapped base of rag/lexical_base.py made from the built table (its build time is
  reported apart), the same questions; then again with 5% of the table added since the base (the most a
  delta holds before ingest remakes it).

`--budget N` instead measures a postings budget (rag.lexical.POSTINGS_BUDGET, off in the engine) on the
FTS5 tables of `--sizes`: its query p50/p95 and the BM25 score of its top 10 as a share of the exact top 10's
(copies tie with their original, so shared ids would understate agreement).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rag.text import bm25_terms

from .common import DATASETS, ROOT, log, pct, rss_of, table

WORDS_PER_CHUNK = 180


def bbc_chunks(folder: Path) -> list[str]:
    chunks = []
    for path in sorted(folder.glob("*/*.txt")):
        words = path.read_bytes().decode("latin-1").split()
        chunks += [" ".join(words[i:i + WORDS_PER_CHUNK]) for i in range(0, len(words), WORDS_PER_CHUNK)]
    return chunks


def chunk_texts(base: list[str], n: int, offset: int = 0):
    """n news-like chunk texts: the originals, then copies with their words reordered (deterministic)."""
    for i in range(offset, offset + n):
        text = base[i % len(base)]
        if i >= len(base):
            words = text.split()
            random.Random(i).shuffle(words)
            text = " ".join(words)
        yield i, text


def questions(base: list[str], n: int = 205) -> list[str]:
    rng = random.Random(7)
    return [" ".join(rng.sample(words, min(5, len(words)))) for words in
            (base[rng.randrange(len(base))].split() for _ in range(n))]


def child_fts(size: int, work: Path, base: list[str], with_base: bool = False) -> dict:
    """FTS5 alone, or (with_base) with the memory-mapped base of rag/lexical_base.py made from the table."""
    import rag.lexical as lexical_module
    from rag.lexical import LexicalIndex
    from rag.types import Filters

    path = work / f"fts-{size}.sqlite"
    out = {}
    if not path.exists():
        lexical, started, batch = LexicalIndex(path), time.perf_counter(), []
        for i, text in chunk_texts(base, size):
            batch.append((f"a{i // 3}#h:{i % 3}", f"a{i // 3}", "2024-01-01", "bbc", text))
            if len(batch) == 2000:
                lexical.add(batch)
                batch = []
        lexical.add(batch)
        out["build_s"] = round(time.perf_counter() - started, 1)
        out["disk_mb"] = round(sum(f.stat().st_size for f in work.glob(f"fts-{size}.sqlite*")) / 1e6, 1)
        return out
    lexical = LexicalIndex(path)
    if with_base:
        lexical_module.BASE_MIN_CHUNKS = 0  # measured at every size
        built = lexical.compact() or lexical_base_meta(lexical)
        out |= {"base_build_s": built["seconds"], "base_postings": built["postings"],
                "base_disk_mb": round(sum(f.stat().st_size for f in lexical.base_root.rglob("*")) / 1e6, 1)}
    else:
        lexical._current_base = lambda: None  # the FTS5 path alone, even if a base was made beside it
    lexical.count()
    out["rss_mb"] = round(rss_of(os.getpid())["VmRSS"], 1)
    qs = questions(base)

    def timed() -> tuple[float, float]:
        for q in qs[:5]:
            lexical.search(q, 40, Filters())
        times = []
        for q in qs[5:]:
            t0 = time.perf_counter()
            lexical.search(q, 40, Filters())
            times.append((time.perf_counter() - t0) * 1000)
        return round(pct(times, 50), 2), round(pct(times, 95), 2)

    out["query_p50_ms"], out["query_p95_ms"] = timed()
    out["rss_after_queries_mb"] = round(rss_of(os.getpid())["VmRSS"], 1)
    if with_base:  # the worst case before a rebuild: REBUILD_SHARE of the table added since the base
        extra = int(lexical_module.REBUILD_SHARE * size) // 3 * 3
        rows = [(f"delta{i // 3}#h:{i % 3}", f"delta{i // 3}", "2024-03-01", "bbc", text)
                for i, text in chunk_texts(base, extra, offset=size + 300)]
        for lo in range(0, len(rows), 2000):
            lexical.add(rows[lo:lo + 2000])
        out["delta_chunks"] = extra
        out["query_p50_delta_ms"], out["query_p95_delta_ms"] = timed()
        lexical.delete_articles(sorted({r[1] for r in rows}))
    new = [(f"new{i // 3}#h:{i % 3}", f"new{i // 3}", "2024-02-01", "bbc", text)
           for i, text in chunk_texts(base, 300, offset=size)]
    t0 = time.perf_counter()
    for lo in range(0, 300, 3):  # one article at a time, as an ingest of 100 new files writes them
        lexical.add(new[lo:lo + 3])
    out["add_100_articles_s"] = round(time.perf_counter() - t0, 2)
    t0 = time.perf_counter()
    lexical.delete_articles(sorted({row[1] for row in new}))  # (new0..new99 before: not these ids, so it timed nothing)
    out["remove_100_articles_s"] = round(time.perf_counter() - t0, 2)
    return out


def lexical_base_meta(lexical) -> dict:
    import json as json_module
    return json_module.loads((lexical.base_root / "current.json").read_text())


def child_bm25s(size: int, work: Path, base: list[str]) -> dict:
    import bm25s
    import Stemmer

    stemmer = Stemmer.Stemmer("english")

    def build(n: int):
        texts = [text for _, text in chunk_texts(base, n)]
        t0 = time.perf_counter()
        retriever = bm25s.BM25()
        retriever.index(bm25s.tokenize(texts, stopwords="en", stemmer=stemmer, show_progress=False),
                        show_progress=False)
        return retriever, texts, time.perf_counter() - t0

    retriever, texts, seconds = build(size)
    out = {"build_s": round(seconds, 1), "rss_mb": round(rss_of(os.getpid())["VmRSS"], 1)}
    qs = questions(base)
    times = []
    for j, q in enumerate(qs):
        t0 = time.perf_counter()
        retriever.retrieve(bm25s.tokenize(q, stopwords="en", stemmer=stemmer, show_progress=False),
                           k=40, show_progress=False)
        if j >= 5:
            times.append((time.perf_counter() - t0) * 1000)
    out |= {"query_p50_ms": round(pct(times, 50), 2), "query_p95_ms": round(pct(times, 95), 2)}
    del retriever, texts
    out["add_100_articles_s"] = round(build(size + 300)[2], 1)  # no incremental add: all over again
    out["remove_100_articles_s"] = out["build_s"]
    return out


def child_budget(size: int, work: Path, base: list[str], budget: int) -> dict:
    import rag.lexical as lexical_module
    from rag.types import Filters

    lexical = lexical_module.LexicalIndex(work / f"fts-{size}.sqlite")
    n, total = lexical._stats()
    qs = questions(base)

    def score(question: str, chunk_ids: list[str]) -> float:
        idf = {s: lexical_module.lucene_idf(n, df)
               for s in dict.fromkeys(bm25_terms(question)) if (df := lexical._df(s))}
        out = 0.0
        for chunk_id in chunk_ids:
            terms, length = lexical.db.execute(
                "SELECT terms, length FROM chunk_terms JOIN chunk ON chunk.id = chunk_terms.rowid WHERE chunk_id = ?",
                (chunk_id,)).fetchone()
            out += lexical_module.lucene_score(terms.split(), length, total / n, idf)
        return out

    def ranked(limit):
        lexical_module.POSTINGS_BUDGET = limit
        for q in qs[:5]:
            lexical.search(q, 10, Filters())
        times, out = [], []
        for q in qs[5:]:
            t0 = time.perf_counter()
            out.append(lexical.search(q, 10, Filters()))
            times.append((time.perf_counter() - t0) * 1000)
        return out, times

    exact, exact_times = ranked(None)
    pruned, times = ranked(budget)
    shares = [score(q, a) / s if (s := score(q, b)) else 1.0 for q, a, b in zip(qs[5:], pruned, exact)]
    return {"chunks": size, "budget": budget, "exact_p50_ms": round(pct(exact_times, 50), 1),
            "query_p50_ms": round(pct(times, 50), 1), "query_p95_ms": round(pct(times, 95), 1),
            "top10_score_share_mean": round(sum(shares) / len(shares), 3), "worst": round(min(shares), 3)}


def run_child(*args: str) -> dict:
    child, extra = args[:3], args[3:]
    proc = subprocess.run([sys.executable, "-m", "bench.lexical", *extra, "--child", *child], cwd=ROOT,
                          capture_output=True, text=True, timeout=7200)
    if proc.returncode:
        raise RuntimeError(proc.stderr[-2000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="10000,100000")
    p.add_argument("--bbc", type=Path, default=DATASETS / "bbc-news")
    p.add_argument("--out", type=Path, default=None, help="also write the rows as JSON here")
    p.add_argument("--budget", type=int, default=None, help="measure this postings budget on built tables")
    p.add_argument("--work", type=Path, default=None, help="keep the built tables here (default: a temporary folder)")
    p.add_argument("--child", nargs=3, metavar=("ENGINE", "SIZE", "WORK"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if not args.bbc.is_dir():
        print(f"skipped: BBC News not found at {args.bbc}")
        return 0
    base = bbc_chunks(args.bbc)
    if args.child:
        engine, size, work = args.child
        if args.budget is not None:
            print(json.dumps(child_budget(int(size), Path(work), base, args.budget)))
            return 0
        if engine.startswith("fts5"):
            print(json.dumps(child_fts(int(size), Path(work), base, with_base=engine == "fts5+base")))
        else:
            print(json.dumps(child_bm25s(int(size), Path(work), base)))
        return 0
    if args.budget is not None:
        work = args.work or Path(tempfile.mkdtemp())
        for size in [int(s) for s in args.sizes.split(",")]:
            if not (work / f"fts-{size}.sqlite").exists():
                run_child("fts5", str(size), str(work))
            print(json.dumps(run_child("fts5", str(size), str(work), "--budget", str(args.budget))))
        return 0
    rows = []
    with tempfile.TemporaryDirectory() as work:
        for size in [int(s) for s in args.sizes.split(",")]:
            fts = run_child("fts5", str(size), work) | run_child("fts5", str(size), work)  # build, then use
            log(f"[lexical] {size} fts5: {fts}")
            based = run_child("fts5+base", str(size), work)  # the base made from that table, then used
            log(f"[lexical] {size} fts5+base: {based}")
            old = run_child("bm25s", str(size), work)
            log(f"[lexical] {size} bm25s: {old}")
            rows.append({"chunks": size, "fts5": fts, "fts5+base": based | {"build_s": fts["build_s"]}, "bm25s": old})
    header = ["chunks", "BM25", "build s", "add 100 articles s", "remove 100 s", "query p50 ms", "p95 ms", "RSS MB"]
    names = (("fts5", "FTS5 alone"), ("fts5+base", "FTS5 + memory-mapped base (now, from 20k chunks)"),
             ("bm25s", "bm25s in memory (before)"))
    body = [[f"{r['chunks']:,}", name, r[key]["build_s"], r[key]["add_100_articles_s"],
             r[key]["remove_100_articles_s"], r[key]["query_p50_ms"], r[key]["query_p95_ms"],
             r[key].get("rss_after_queries_mb", r[key]["rss_mb"])] for r in rows for key, name in names]
    print(table(header, body))
    print(table(["chunks", "base build s", "base disk MB", "p50 ms with 5% added since", "p95 ms"],
                [[f"{r['chunks']:,}", r["fts5+base"]["base_build_s"], r["fts5+base"]["base_disk_mb"],
                  r["fts5+base"]["query_p50_delta_ms"], r["fts5+base"]["query_p95_delta_ms"]] for r in rows]))
    if args.out:
        args.out.write_text(json.dumps(rows, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""How many sentence vectors does dense retrieval need? (`python -m bench.sentence_budget`)

The sentence collection (~6 vectors a chunk) is what makes a large index expensive in a Chroma server
(docs/SCALING.md: ~17 KB of server RAM a chunk against ~2 KB for one vector a chunk). This measures, on real
articles with distractors, what dense retrieval loses if the approximate search runs over one vector a chunk
(the mean of its sentences, already stored) and sentence max-sim only re-ranks the top N chunks it returns:

- corpus: the two seed articles and every BBC News file (2,225 articles, ~7k chunks); the 300 BBC articles
  the real_news questions were written from are among them, under the same ids, so the rest are distractors;
- questions: the answerable real_news rows of one split (`--split tune` to choose N, then `--split test`);
- a hit is a retrieved chunk of a reference article; rankings are deduplicated to articles.

Each dense ranking is scored alone and inside the engine's hybrid search (BM25 fused with it).
"""
from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

import numpy as np

from evals.cases import load_cases
from evals.measure import dedupe, rank_metrics

from .common import DATASETS, ROOT, Clock, log, summary

SEEDS = ROOT.parent / "shared" / "seeds"
POOL = 40  # what search() asks each side for at top_k=10
NOW = "sentence vectors, all (now)"


def reciprocal_ranks(rankings: list[list[str]], golds: list[set[str]]) -> list[float]:
    return [next((1 / (i + 1) for i, x in enumerate(r[:10]) if x in g), 0.0) for r, g in zip(rankings, golds)]


def paired_ci(a: list[float], b: list[float], rounds: int = 10_000) -> list[float]:
    """95% interval of mean(a - b) over questions, by a paired bootstrap (fixed seed: reproducible)."""
    diff = np.asarray(a) - np.asarray(b)
    rng = np.random.default_rng(0)
    means = diff[rng.integers(0, len(diff), size=(rounds, len(diff)))].mean(axis=1)
    return [round(float(np.percentile(means, 2.5)), 3), round(float(np.percentile(means, 97.5)), 3)]


def build_corpus(target: Path) -> Path:
    """Seeds under seeds/, every BBC file under bbc/<category>/ (the ids real_news uses)."""
    if target.is_dir():
        return target
    for path in sorted(SEEDS.iterdir()):
        if path.is_file():
            (target / "seeds").mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target / "seeds" / path.name)
    for path in sorted((DATASETS / "bbc-news").glob("*/*.txt")):
        copy = target / "bbc" / path.parent.name / path.name
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, copy)
    return target


def run(work: Path, split: str, pools: list[int]) -> dict:
    from rag import Assistant, Filters

    corpus = build_corpus(work / "corpus")
    assistant = Assistant(corpus_dir=corpus, index_dir=work / "index", answer_mode="extractive")
    report = assistant.ingest(progress=False)
    index, retriever = assistant.index, assistant.retriever
    rows = [r for c in load_cases(ROOT / "evals" / "datasets" / "real_news.jsonl") for r in c.rows
            if r.answerable and r.split == split]
    log(f"[sentence budget] {index.count()} chunks, {len(rows)} {split} questions")

    def chunk_vectors(vector, k, filters):
        return index.collection.query(query_embeddings=[vector], n_results=k, include=[])["ids"][0]

    def reranked(n):
        def dense(vector, k, filters):
            ids = chunk_vectors(vector, n, filters)
            got = index.sentences.get(where={"chunk_id": {"$in": ids}}, include=["embeddings", "metadatas"])
            q = np.asarray(vector, dtype=np.float32)
            sims = np.asarray(got["embeddings"], dtype=np.float32) @ q
            best: dict[str, float] = {}
            for meta, sim in zip(got["metadatas"], sims):
                best[meta["chunk_id"]] = max(best.get(meta["chunk_id"], -2.0), float(sim))
            return sorted(best, key=lambda cid: -best[cid])[:k]
        return dense

    variants = {NOW: index.dense, "chunk vectors only": chunk_vectors}
    variants.update({f"chunk vectors top {n}, sentence re-rank": reranked(n) for n in pools})
    golds = [set(r.reference_article_ids) for r in rows]
    vectors = [index.embed_model.get_query_embedding(r.question) for r in rows]
    original, rr = index.dense, {}
    out = {"chunks": index.count(), "articles": len(report.added) + len(report.unchanged),
           "questions": len(rows), "split": split, "variants": {}}
    try:
        for name, dense in variants.items():
            alone, hybrid, times = [], [], []
            for row, vector in zip(rows, vectors):
                started = time.perf_counter()
                ids = dense(vector, POOL, Filters())
                times.append((time.perf_counter() - started) * 1000)
                alone.append(dedupe([cid.rsplit("#", 1)[0] for cid in ids]))
                index.dense = dense
                hybrid.append(dedupe([p.article_id for p in retriever.search(row.question, 10, vector=vector)]))
                index.dense = original
            rr[name] = reciprocal_ranks(hybrid, golds)
            out["variants"][name] = {"dense alone": rank_metrics(alone, golds),
                                     "hybrid search": rank_metrics(hybrid, golds),
                                     "hybrid MRR@10 minus now, 95% CI": paired_ci(rr[name], rr[NOW]),
                                     "dense latency": summary(times)}
            got = out["variants"][name]
            log(f"  {name}: dense MRR@10 {got['dense alone']['MRR@10']:.3f}, hybrid MRR@10 "
                f"{got['hybrid search']['MRR@10']:.3f} (minus now: {got['hybrid MRR@10 minus now, 95% CI']})")
    finally:
        index.dense = original
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=["tune", "test"], default="tune")
    parser.add_argument("--pools", default="40,80,160,320", help="N values: chunk-vector candidates re-ranked")
    parser.add_argument("--work", type=Path, default=Path("/tmp/rag-bench-sentence-budget"))
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    with Clock() as clock:
        result = run(args.work, args.split, [int(n) for n in args.pools.split(",")])
    result["seconds"] = round(clock.wall, 1)
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()

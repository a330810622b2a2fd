"""Part 5: retrieval quality on the SQuAD 2.0 dev subset (126 paragraphs, 473 answerable questions).

The corpus and questions come from `evals.squad.load_squad` (one article per paragraph, the same loader as
the evals) and are scored by `evals.measure.rank_metrics`; a hit is any retrieved passage whose article is
the gold paragraph, rankings deduplicated to paragraphs before scoring.
"""
from __future__ import annotations

from pathlib import Path

from evals.measure import dedupe, rank_metrics
from evals.squad import load_squad

from .common import Clock, log

BASELINES = {  # from ../shared/datasets/README.md (same paragraphs, same 473 questions)
    "dense, MiniLM int8, cosine (README)": (0.727, 0.877, 0.918, 0.964, 0.810),
    "BM25, bm25s stemmer+stopwords (README)": (0.776, 0.930, 0.958, 0.981, 0.857),
    "RRF k=60 of both (README)": (0.791, 0.945, 0.975, 0.985, 0.868),
}


def run_squad(squad_file: Path, work: Path) -> dict:
    from rag import Assistant, Filters

    corpus = work / "squad"
    rows = [row for case in load_squad(squad_file, corpus) for row in case.rows if row.answerable]
    assistant = Assistant(corpus_dir=corpus, index_dir=work / "index-squad", answer_mode="extractive")
    report = assistant.ingest(progress=False)
    log(f"[squad] {len(report.added)} paragraphs, {report.chunks_total} chunks, {len(rows)} questions")
    index, retriever = assistant.index, assistant.retriever

    def articles(chunk_ids: list[str]) -> list[str]:
        return dedupe([p.article_id for p in index.passages(chunk_ids)])

    golds = [row.reference_article_ids[0] for row in rows]
    ranks = {"dense": [], "bm25": [], "hybrid_k5": [], "hybrid_k10": []}
    with Clock() as clock:
        for row in rows:
            q = row.question
            # The pools search() fuses for top_k=10 (max(20, 4*top_k) = 40 per side), here ranked alone.
            vector = index.embed_model.get_query_embedding(q)
            ranks["dense"].append(articles(index.dense(vector, 40, Filters())))
            ranks["bm25"].append(articles(index.lexical_ranking(q, 40, Filters())))
            ranks["hybrid_k5"].append(dedupe([p.article_id for p in retriever.search(q, 5, vector=vector)]))
            ranks["hybrid_k10"].append(dedupe([p.article_id for p in retriever.search(q, 10, vector=vector)]))
    k5, k10 = rank_metrics(ranks["hybrid_k5"], golds), rank_metrics(ranks["hybrid_k10"], golds)
    hybrid = {"R@1": k5["R@1"], "R@3": k5["R@3"], "R@5": k5["R@5"], "R@10": k10["R@10"], "MRR@10": k10["MRR@10"]}
    return {
        "paragraphs": len(report.added), "chunks": report.chunks_total, "questions": len(rows),
        "seconds": round(clock.wall, 1),
        "ours": {"dense only (Index.dense)": rank_metrics(ranks["dense"], golds),
                 "BM25 only (Index.lexical_ranking)": rank_metrics(ranks["bm25"], golds),
                 "hybrid (search)": hybrid,
                 "hybrid, top_k=10 for all k": k10},
        "baselines": {name: dict(zip(["R@1", "R@3", "R@5", "R@10", "MRR@10"], vals)) for name, vals in BASELINES.items()},
    }

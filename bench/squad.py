"""Part 5: retrieval quality on the SQuAD 2.0 dev subset (126 paragraphs, 473 answerable questions).

Each paragraph becomes one Markdown file `<article title>/p<NNN>.md` whose front matter title is the
SQuAD article title (Normans, Computational_complexity_theory, Southern_California) and whose body is
the paragraph; it is ingested by the engine like any corpus. A hit is any retrieved passage whose
article_id is the gold paragraph's file; rankings are deduplicated to paragraphs before scoring.
"""
from __future__ import annotations

import json
from pathlib import Path

from .common import Clock, log

KS = (1, 3, 5, 10)
BASELINES = {  # from ../shared/datasets/README.md (same paragraphs, same 473 questions)
    "dense, MiniLM int8, cosine (README)": (0.727, 0.877, 0.918, 0.964, 0.810),
    "BM25, bm25s stemmer+stopwords (README)": (0.776, 0.930, 0.958, 0.981, 0.857),
    "RRF k=60 of both (README)": (0.791, 0.945, 0.975, 0.985, 0.868),
}


def write_corpus(squad_file: Path, corpus: Path) -> list[tuple[str, str]]:
    """Write the paragraphs; return (question, gold article id) for every answerable question."""
    data = json.loads(squad_file.read_text(encoding="utf-8"))["data"]
    questions = []
    for article in data:
        title = article["title"]
        (corpus / title).mkdir(parents=True, exist_ok=True)
        for j, para in enumerate(article["paragraphs"]):
            rel = f"{title}/p{j:03d}.md"
            (corpus / rel).write_text(f"---\ntitle: {json.dumps(title.replace('_', ' '))}\n---\n{para['context']}\n",
                                      encoding="utf-8")
            questions += [(qa["question"], rel) for qa in para["qas"] if not qa.get("is_impossible")]
    return questions


def _dedupe(article_ids: list[str]) -> list[str]:
    seen, out = set(), []
    for a in article_ids:
        if a not in seen:
            seen.add(a)
            out.append(a)
    return out


def score(rankings: list[list[str]], golds: list[str]) -> dict:
    n = len(golds)
    out = {f"R@{k}": round(sum(g in r[:k] for r, g in zip(rankings, golds)) / n, 3) for k in KS}
    out["MRR@10"] = round(sum(1 / (r[:10].index(g) + 1) for r, g in zip(rankings, golds) if g in r[:10]) / n, 3)
    return out


def run_squad(squad_file: Path, work: Path) -> dict:
    from rag import Assistant, Filters

    corpus = work / "squad"
    questions = write_corpus(squad_file, corpus)
    assistant = Assistant(corpus_dir=corpus, index_dir=work / "index-squad", answer_mode="extractive")
    report = assistant.ingest(progress=False)
    log(f"[squad] {len(report.added)} paragraphs, {report.chunks_total} chunks, {len(questions)} questions")
    retriever = assistant.retriever
    owner = {}
    for page in assistant.index._pages(["metadatas"]):
        owner.update({cid: m["article_id"] for cid, m in zip(page["ids"], page["metadatas"])})
    golds = [g for _, g in questions]
    ranks = {"dense": [], "bm25": [], "hybrid_k5": [], "hybrid_k10": []}
    with Clock() as clock:
        for q, _ in questions:
            # The pools search() fuses for top_k=10 (max(20, 4*top_k) = 40 per side), here ranked alone.
            vector = retriever.index.embed_model.get_query_embedding(q)
            ranks["dense"].append(_dedupe([owner[c] for c in retriever._dense(vector, 40, Filters())]))
            ranks["bm25"].append(_dedupe([owner[c] for c in retriever._bm25(q, 40, Filters())]))
            ranks["hybrid_k5"].append(_dedupe([p.article_id for p in retriever.search(q, top_k=5)]))
            ranks["hybrid_k10"].append(_dedupe([p.article_id for p in retriever.search(q, top_k=10)]))
    k5, k10 = score(ranks["hybrid_k5"], golds), score(ranks["hybrid_k10"], golds)
    hybrid = {"R@1": k5["R@1"], "R@3": k5["R@3"], "R@5": k5["R@5"], "R@10": k10["R@10"], "MRR@10": k10["MRR@10"]}
    return {
        "paragraphs": len(report.added), "chunks": report.chunks_total, "questions": len(questions),
        "seconds": round(clock.wall, 1),
        "ours": {"dense only (_dense)": score(ranks["dense"], golds),
                 "BM25 only (_bm25)": score(ranks["bm25"], golds),
                 "hybrid (search)": hybrid,
                 "hybrid, top_k=10 for all k": k10},
        "baselines": {name: dict(zip([f"R@{k}" for k in KS] + ["MRR@10"], vals)) for name, vals in BASELINES.items()},
    }

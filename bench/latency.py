"""Part 3: query latency at BBC scale (ours and plain LlamaIndex, interleaved question by question),
cold start of `python -m rag ask`, and peak RSS of a process answering from the BBC index."""
from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
import time
from pathlib import Path

from .common import ROOT, log, run_child, summary

_NUMBER = re.compile(r"\b\d[\d,.]*\b")


def make_questions(corpus: Path, n: int, seed: int = 7) -> list[dict]:
    """Questions written from the BBC articles themselves, two kinds, alternating:
    headline   "What happened in the story "<headline>"?"
    sentence   a body sentence of 8-30 words with its first number (or, failing that, its last
               capitalised name) replaced by a question word: "Sales rose by how much in 2004?" style
               cloze, so the question shares some but not all words with its source.
    Each question keeps the article it came from (used for a hit@5 sanity check, not as a quality claim)."""
    from rag.corpus import read_article
    from rag.text import sentence_spans

    rng = random.Random(seed)
    files = sorted(corpus.rglob("*.txt"))
    rng.shuffle(files)
    out = []
    for i, path in enumerate(files):
        if len(out) >= n:
            break
        try:
            article, _ = read_article(path, path.relative_to(corpus).as_posix(), 10_000_000)
        except Exception:
            continue
        if i % 2 == 0:
            out.append({"q": f'What happened in the story "{article.title}"?', "article_id": article.id,
                        "kind": "headline"})
            continue
        body = article.text[len(article.title):]
        sentences = [body[a:b] for a, b in sentence_spans(body) if 8 <= len(body[a:b].split()) <= 30]
        if not sentences:
            continue
        s = rng.choice(sentences).strip(".\"' ")
        if _NUMBER.search(s):
            q = _NUMBER.sub("how many", s, count=1)
        else:
            names = [m for m in re.finditer(r"(?<!^)\b[A-Z][a-z]+\b", s)]
            q = (s[:names[-1].start()] + "whom" + s[names[-1].end():]) if names else "Is it true that " + s
        out.append({"q": q + "?", "article_id": article.id, "kind": "sentence"})
    return out


def run_latency(assistant, peer_index, questions: list[dict]) -> dict:
    from llama_index.core import Settings as LlamaSettings
    from llama_index.core.llms import MockLLM

    LlamaSettings.llm = MockLLM()  # no_text never calls it; without one LlamaIndex insists on an OpenAI key
    peer_retriever = peer_index.as_retriever(similarity_top_k=5)
    peer_engine = peer_index.as_query_engine(response_mode="no_text", similarity_top_k=5)
    contenders = {
        "ours_retrieve": lambda q: [p.article_id for p in assistant.retriever.search(q)],
        "ours_answer": lambda q: [p.article_id for p in assistant.ask(q).retrieved],
        "peer_retrieve": lambda q: [_peer_article(n) for n in peer_retriever.retrieve(q)],
        "peer_query_no_text": lambda q: [_peer_article(n) for n in peer_engine.query(q).source_nodes],
    }
    for item in questions[:5]:
        for fn in contenders.values():
            fn(item["q"])
    times = {name: [] for name in contenders}
    hits = {name: 0 for name in contenders}
    for item in questions:  # interleaved, so load from other processes hits every contender alike
        for name, fn in contenders.items():
            t0 = time.perf_counter()
            got = fn(item["q"])
            times[name].append((time.perf_counter() - t0) * 1000)
            hits[name] += item["article_id"] in got
    return {name: {**summary(times[name]), "hit_at_5": round(hits[name] / len(questions), 3)}
            for name in contenders}


def _peer_article(node_with_score) -> str:
    path = node_with_score.node.metadata.get("file_path", "")
    parts = Path(path).parts
    return "/".join(parts[-2:]) if len(parts) >= 2 else path


def run_cold_start(index_dir: Path, questions: list[dict], repeats: int) -> dict:
    """Wall time of `python -m rag ask "..."` against the existing index, process start to exit."""
    walls = []
    for item in questions[:repeats]:
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "rag", "ask", item["q"], "--index", str(index_dir), "--json"],
                              cwd=ROOT, capture_output=True, text=True, env=os.environ.copy())
        walls.append(time.perf_counter() - t0)
        if proc.returncode != 0:
            raise RuntimeError(f"rag ask failed: {proc.stderr[-2000:]}")
        json.loads(proc.stdout)
        log(f"[cold] {walls[-1]:.2f} s")
    walls.sort()
    return {"runs_s": [round(w, 2) for w in walls], "median_s": walls[len(walls) // 2]}


def run_rss(index_dir: Path, questions_file: Path, n: int) -> dict:
    return run_child(["--index", str(index_dir), "--questions", str(questions_file), "--mode", "ask",
                      "--n", str(n)])

"""SQuAD 2.0 JSON -> a corpus of one .txt article per paragraph, and eval rows.

Each paragraph is written as `<title>/p<k>.txt` (first line: the article title, then the paragraph), so
its article id in the index is exactly that path. Answerable questions carry their gold answer strings
and gold article id; `is_impossible` questions expect the assistant to abstain. Questions follow their
paragraph into the tune or test part (split key `<title>/p<k>`).
The data lives outside the product (../shared by default): callers skip cleanly when it is absent.
"""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from .cases import Case, Row
from .splits import split_of

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SQUAD = ROOT.parent / "shared" / "datasets" / "squad2-dev-subset" / "squad2_dev_3articles.json"


def _safe(title: str) -> str:
    return re.sub(r"[^\w.-]+", "_", title).strip("_") or "untitled"


def load_squad(path: Path, corpus_dir: Path, limit: int | None = None) -> list[Case]:
    """Write the paragraphs into `corpus_dir` (unchanged files are left alone, so re-runs re-use the
    index) and return one Case per question, in file order. `limit` keeps the first N questions but
    always writes the whole corpus (retrieval must search all paragraphs)."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    corpus_dir.mkdir(parents=True, exist_ok=True)
    cases: list[Case] = []
    for article in data["data"]:
        folder = _safe(article["title"])
        for k, paragraph in enumerate(article["paragraphs"]):
            article_id = f"{folder}/p{k}.txt"
            split = split_of(f"{article['title']}/p{k}")
            target = corpus_dir / article_id
            body = f"{article['title'].replace('_', ' ')}\n\n{paragraph['context'].strip()}\n"
            if not target.is_file() or target.read_text(encoding="utf-8") != body:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(body, encoding="utf-8")
            for qa in paragraph["qas"]:
                impossible = bool(qa.get("is_impossible"))
                golds = sorted({a["text"].strip() for a in qa.get("answers", []) if a["text"].strip()})
                row = Row(id=qa["id"], case_id=qa["id"], question=qa["question"],
                          reference=golds[0] if golds else "", gold_answers=golds,
                          reference_article_ids=[] if impossible else [article_id],
                          expect_abstain=impossible, abstain_kind="squad_impossible" if impossible else "",
                          question_class="near_miss" if impossible else "factual", split=split)
                cases.append(Case(qa["id"], [row]))
    return cases[:limit] if limit else cases


def fingerprint(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]

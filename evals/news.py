"""`python -m evals.news`: the news-question suite (dates, latest, timelines, counts, lists, sources,
summaries) over the dated news corpus, scored per kind and per split, gated on the test part.

The corpus is built from the shared BBC files (evals/news_corpus.py) into a cache folder and indexed
there; without the shared folder the suite says so and exits 0. Each kind has its own check:
  fact / month   every key fact in the answer; every cited article inside the question's date range
  latest/earliest  the answer cites an expected article; its key facts
  timeline       cites >= 3 of the story's articles (syndicated copies count as their original), in date
                 order, and nothing outside the story
  count          the number given (`answer.short`) equals the number of articles holding the term
  list           recall and precision of the cited articles against the expected ones
  sources        every expected outlet is named
  summary        cites an expected article; its key facts
  no_articles    the answer says "No articles from <range>"
Every answer's citations must also be valid (rag.citations.problems).
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from rag.citations import problems as citation_problems

from .cases import Row, load_cases
from .metrics import contains
from .news_corpus import SHARED_ROOT, build_corpus, load_corpus, original_of

DATASET = Path(__file__).resolve().parent / "datasets" / "news_questions.jsonl"
CACHE = Path(tempfile.gettempdir()) / "rag-evals" / "news"
GATES = Path(__file__).resolve().parent / "gates.json"


def check(row: Row, answer, originals: dict[str, str]) -> dict:
    """{"passed": bool, "why": [...], plus per-kind scores} for one answered question."""
    why = [f"citations: {p}" for p in citation_problems(answer)]
    cited = [c.article_id for c in answer.citations]
    story = {originals.get(a, a) for a in row.expected_article_ids}
    out: dict = {}
    missing = [f for f in row.key_facts if not contains(answer.text, f)]
    if row.kind in ("fact", "month", "latest", "earliest", "summary", "no_articles") and missing:
        why.append(f"missing key facts {missing}")
    if row.kind in ("fact", "month") and (row.date_from or row.date_to):
        dates = [c.date for c in answer.citations]
        outside = [d for d in dates if not d or (row.date_from and d < row.date_from) or (row.date_to and d > row.date_to)]
        if outside:
            why.append(f"cites articles outside {row.date_from}..{row.date_to}: {outside}")
    if row.kind in ("latest", "earliest", "summary") and not set(cited) & set(row.expected_article_ids):
        why.append(f"cites none of {row.expected_article_ids[:3]}")
    if row.kind == "timeline":
        hits = [originals.get(a, a) for a in cited if originals.get(a, a) in story]
        distinct = list(dict.fromkeys(hits))
        dates = [c.date for c in answer.citations]
        out["timeline_distinct"] = len(distinct)
        if len(distinct) < 3:
            why.append(f"cites {len(distinct)} of the story's articles (want >= 3)")
        if dates != sorted(dates):
            why.append("not in date order")
        strays = [a for a in cited if originals.get(a, a) not in story]
        if strays:
            why.append(f"cites articles outside the story: {strays[:3]}")
    if row.kind == "count":
        out["count_exact"] = float(answer.short == str(row.expected_count))
        if not out["count_exact"]:
            why.append(f"counted {answer.short or '?'}, expected {row.expected_count}")
    if row.kind == "list":
        got, want = set(cited), set(row.expected_article_ids)
        out["list_recall"] = len(got & want) / len(want) if want else 1.0
        out["list_precision"] = len(got & want) / len(got) if got else 0.0
        if out["list_recall"] < 1 or out["list_precision"] < 1:
            why.append(f"list recall {out['list_recall']:.2f}, precision {out['list_precision']:.2f}")
    if row.kind == "sources":
        named = [s for s in row.key_facts if contains(answer.text, s)]
        out["sources_named"] = len(named) / len(row.key_facts) if row.key_facts else 1.0
        if len(named) < len(row.key_facts):
            why.append(f"outlets not named: {sorted(set(row.key_facts) - set(named))}")
    out.update(passed=not why, why=why)
    return out


def run(split: str = "test", index_dir: Path | None = None, assistant=None, limit: int | None = None) -> dict:
    corpus = build_corpus(SHARED_ROOT, CACHE / "corpus")
    if assistant is None:
        from rag import Assistant

        assistant = Assistant(corpus_dir=corpus, index_dir=index_dir or CACHE / "index", answer_mode="extractive",
                              chroma_host=None)
        assistant.ingest()
    originals = original_of(load_corpus())
    rows = [row for case in load_cases(DATASET) for row in case.rows if split == "all" or row.split == split]
    results = []
    for row in rows[:limit]:
        started = time.perf_counter()
        answer = assistant.ask(row.question)
        record = check(row, answer, originals)
        results.append({"id": row.id, "kind": row.kind, "split": row.split, "question": row.question,
                        "answer": answer.text, "answer_kind": answer.kind, "short": answer.short,
                        "filters": answer.filters.to_dict() if answer.filters else {},
                        "cited": [c.article_id for c in answer.citations],
                        "latency_ms": round((time.perf_counter() - started) * 1000, 1), **record})
    by_kind: dict[str, dict] = {}
    for r in results:
        k = by_kind.setdefault(r["kind"], {"questions": 0, "passed": 0, "kind_detected": 0})
        k["questions"] += 1
        k["passed"] += r["passed"]
        k["kind_detected"] += r["answer_kind"] == r["kind"] or (r["kind"] in ("fact", "month") and
                                                                r["answer_kind"] in ("fact", "summary"))
    for k in by_kind.values():
        k["pass_rate"] = round(k["passed"] / k["questions"], 3)
    total = len(results)
    return {"dataset": "news_questions", "split": split, "questions": total,
            "pass_rate": round(sum(r["passed"] for r in results) / total, 3) if total else None,
            "by_kind": dict(sorted(by_kind.items())), "results": results}


def gate(run_: dict) -> list[str]:
    """Failures against the news gates in evals/gates.json (applied to the test part only)."""
    config = json.loads(GATES.read_text(encoding="utf-8")).get("datasets", {}).get("news_questions")
    if not config or run_["split"] != "test":
        return []
    failures = []
    if run_["pass_rate"] < config["min"]["pass_rate"]:
        failures.append(f"FAIL pass_rate = {run_['pass_rate']} (limit {config['min']['pass_rate']})")
    for kind, limit in config["min"].get("by_kind", {}).items():
        got = run_["by_kind"].get(kind, {}).get("pass_rate")
        if got is not None and got < limit:
            failures.append(f"FAIL {kind} pass_rate = {got} (limit {limit})")
    return failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.news", description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=["tune", "test", "all"], default="test")
    parser.add_argument("--index", type=Path, default=None, help="index folder (default: a cache folder)")
    parser.add_argument("--json", type=Path, default=None, help="also write the run to this file")
    parser.add_argument("--show", action="store_true", help="print every question that did not pass")
    args = parser.parse_args(argv)
    try:
        result = run(args.split, args.index)
    except FileNotFoundError as err:
        print(f"skipped: {err}")
        return 0
    print(f"news_questions ({args.split}): {result['questions']} questions, pass rate {result['pass_rate']}")
    print("| kind | questions | passed | pass rate | kind detected |\n|---|---|---|---|---|")
    for kind, k in result["by_kind"].items():
        print(f"| {kind} | {k['questions']} | {k['passed']} | {k['pass_rate']:.3f} | {k['kind_detected']} |")
    if args.show:
        for r in result["results"]:
            if not r["passed"]:
                print(f"  {r['id']} [{r['kind']} -> {r['answer_kind']}]: {'; '.join(r['why'])}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1), encoding="utf-8")
    failures = gate(result)
    for line in failures:
        print(line)
    print("GATE: " + ("FAIL" if failures else "PASS") if args.split == "test" else "GATE: only the test part is gated")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

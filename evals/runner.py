"""`python -m evals`: ask a dataset's questions through the real `rag.Assistant`, score, gate, report.

`run_suite()` is what the CLI and the tests call. The dataset's corpus is copied into a cache folder and
indexed there (never into the repo's .rag_index); re-runs re-use the cached index.
"""
from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from . import gates as gating
from .cases import BadDataset, Case, check_against_corpus, load_cases, resolve_dataset
from .metrics import (abstained_ok, citation_problems, contains, contains_gold, key_fact_recall,
                      ragas_offline, summarize)
from .report import write_reports

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(tempfile.gettempdir()) / "rag-evals"
RANK_DEPTH = 10  # retrieval depth for recall@k / MRR on SQuAD


def seed_corpus_copy(source: Path, target: Path) -> Path:
    """Mirror the top-level article files of `source` (not corpus/uploads/, which holds users' files)."""
    target.mkdir(parents=True, exist_ok=True)
    wanted = {p.name: p for p in sorted(Path(source).iterdir()) if p.is_file() and not p.name.startswith(".")}
    for stale in target.iterdir():
        if stale.name not in wanted:
            shutil.rmtree(stale) if stale.is_dir() else stale.unlink()
    for name, path in wanted.items():
        copy = target / name
        if not copy.is_file() or copy.read_bytes() != path.read_bytes():
            shutil.copy2(path, copy)
    return target


def _key(path: Path) -> str:
    return hashlib.sha256(str(Path(path).resolve()).encode()).hexdigest()[:10]


def prepare(dataset: str, corpus: Path | None = None, squad_path: Path | None = None,
            limit: int | None = None) -> tuple[str, list[Case], Path]:
    """(dataset name, cases, corpus folder to index). Raises FileNotFoundError when SQuAD is absent."""
    if dataset == "squad":
        from .squad import DEFAULT_SQUAD, fingerprint, load_squad

        path = Path(squad_path or DEFAULT_SQUAD)
        if not path.is_file():
            raise FileNotFoundError(f"SQuAD file not found: {path}")
        corpus_dir = CACHE / f"squad-{fingerprint(path)}" / "corpus"
        return "squad", load_squad(path, corpus_dir, limit), corpus_dir
    path = resolve_dataset(dataset)
    source = Path(corpus or ROOT / "corpus")
    corpus_dir = seed_corpus_copy(source, CACHE / f"{path.stem}-{_key(source)}" / "corpus")
    cases = load_cases(path)
    return path.stem, (cases[:limit] if limit else cases), corpus_dir


def build_assistant(corpus_dir: Path, index_dir: Path | None = None, **overrides):
    from rag import Assistant

    index_dir = Path(index_dir or corpus_dir.parent / "index")
    settings = dict(corpus_dir=corpus_dir, index_dir=index_dir, answer_mode="extractive", chroma_host=None)
    assistant = Assistant(**(settings | overrides))
    assistant.ingest()
    return assistant


def _record(row, answer, latency_ms: float) -> dict:
    problems = citation_problems(answer)
    scores: dict = {"citation_valid": float(not problems)}
    why = [f"citations: {p}" for p in problems]
    ok_abstain = abstained_ok(row, answer)
    if row.answerable:
        recall = key_fact_recall(row, answer.text)
        if recall is not None:
            scores["key_fact_recall"] = round(recall, 4)
            if recall < 1:
                missing = [f for f in row.key_facts if not contains(answer.text, f)]
                why.append(f"missing key facts {missing}")
        if row.gold_answers:
            scores["contains_gold"] = float(contains_gold(row, answer.text))
            if not scores["contains_gold"]:
                why.append("no gold answer in the answer")
        if answer.abstained:
            why.append("abstained on an answerable question")
    elif not ok_abstain:
        why.append("answered a question the articles do not answer")
    seen: list[str] = []
    for p in answer.retrieved:
        if p.article_id not in seen:
            seen.append(p.article_id)
    return {
        "id": row.id, "case_id": row.case_id, "turn": row.turn, "question": row.question,
        "standalone": answer.trace.standalone or row.question, "expect_abstain": row.expect_abstain,
        "answer": answer.text, "abstained": answer.abstained, "abstain_ok": ok_abstain,
        "citations": [{"n": c.n, "article_id": c.article_id, "passage_id": c.passage_id, "quote": c.quote}
                      for c in answer.citations],
        "retrieved_ids": [p.id for p in answer.retrieved], "retrieved_article_ids": seen,
        "support": answer.trace.support, "threshold": answer.trace.threshold,
        "latency_ms": round(latency_ms, 1), "scores": scores, "passed": not why, "why": why,
        "_row": row, "_answer": answer,
    }


def ask_cases(assistant, cases: list[Case], rank_depth: int = 0, **ask_options) -> list[dict]:
    """Ask every question (conversations through `assistant.chat()`); one result dict per question."""
    results = []
    for case in cases:
        chat = assistant.chat() if case.multi_turn else None
        for row in case.rows:
            started = time.perf_counter()
            answer = chat.ask(row.question, **ask_options) if chat else assistant.ask(row.question, **ask_options)
            record = _record(row, answer, (time.perf_counter() - started) * 1000)
            if rank_depth and row.reference_article_ids:
                ranked: list[str] = []
                for p in assistant.retriever.search(record["standalone"], rank_depth):
                    if p.article_id not in ranked:
                        ranked.append(p.article_id)
                gold = set(row.reference_article_ids)
                record["gold_rank"] = next((i + 1 for i, a in enumerate(ranked) if a in gold), None)
            results.append(record)
    return results


def retrieval_summary(results: list[dict]) -> dict:
    ranked = [r for r in results if "gold_rank" in r]
    if not ranked:
        return {}
    out = {f"recall@{k}": round(sum(1 for r in ranked if r["gold_rank"] and r["gold_rank"] <= k) / len(ranked), 4)
           for k in (1, 3, 5, 10)}
    out["mrr@10"] = round(sum(1 / r["gold_rank"] for r in ranked if r["gold_rank"]) / len(ranked), 4)
    out["questions"] = len(ranked)
    return out


def run_suite(dataset: str = "seed_facts", *, judge: bool = False, runs: int | None = None,
              index_dir: Path | None = None, out_dir: Path | None = None, corpus: Path | None = None,
              squad_path: Path | None = None, limit: int | None = None, assistant=None,
              judge_model: str | None = None, write: bool = True, gates: dict | None = None,
              settings_overrides: dict | None = None, judge_options: dict | None = None) -> dict:
    """Run one dataset end to end and return the run (means, per-question results, gate failures,
    report paths). Pass `assistant` to evaluate an already built engine (the tests inject broken ones)."""
    name, cases, corpus_dir = prepare(dataset, corpus, squad_path, limit)
    if assistant is None:
        assistant = build_assistant(corpus_dir, index_dir, **(settings_overrides or {}))
    if name != "squad":
        from rag.corpus import scan

        articles = {a.id: a.text for a in scan(Path(assistant.settings.corpus_dir), 10**8).articles}
        check_against_corpus(cases, articles)
    started = dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()
    results = ask_cases(assistant, cases, rank_depth=RANK_DEPTH if name == "squad" else 0, mode="extractive")
    if name != "squad":
        ragas_offline(results)
    judge_summary = None
    if judge:
        from .judge import judge as run_judge

        runs = runs or int(os.environ.get("RAG_EVAL_RUNS", "1"))
        judge_summary = run_judge(results, assistant.settings, runs=runs, model=judge_model,
                                  embed_model=assistant.embed_model, **(judge_options or {}))
    means = summarize(results)
    if judge_summary:
        means["judge_failure_rate"] = judge_summary["failure_rate"]
    gate_config = gates if gates is not None else gating.load_gates()
    baseline = gating.load_baseline(name)
    # a partial run (--limit) is not comparable with thresholds measured on the whole dataset
    failures = [] if limit else gating.check(name, means, results, gate_config, baseline)
    run = {
        "dataset": name, "started": started,
        "engine": f"rag.Assistant extractive, top_k={assistant.settings.top_k}, "
                  f"abstain_threshold={assistant.settings.abstain_threshold}",
        "index_dir": str(assistant.settings.index_dir), "corpus_dir": str(assistant.settings.corpus_dir),
        "thresholds": gate_config.get("datasets", {}).get(name, {}).get("min", {}),
        "baseline": {"created": baseline.get("created"), "means": baseline.get("means", {})} if baseline else None,
        "means": means, "retrieval": retrieval_summary(results), "judge": judge_summary,
        "gate_failures": [f.line() for f in failures], "failed_questions": sorted({q for f in failures for q in f.questions}),
        "gated": not limit, "passed": not failures,
        "results": [{k: v for k, v in r.items() if not k.startswith("_")} for r in results],
    }
    if write:
        run["reports"] = {k: str(v) for k, v in write_reports(run, out_dir).items()}
    return run


def print_summary(run: dict, out=sys.stdout) -> None:
    means = run["means"]
    print(f"\n{run['dataset']}: {means['questions']} questions ({means['answerable']} answerable, "
          f"{means['unanswerable']} expected to abstain); {run['engine']}", file=out)
    width = max(len(k) for k in means)
    print(f"{'metric':<{width}}  {'mean':>9}  {'threshold':>9}  {'baseline':>9}", file=out)
    base = (run.get("baseline") or {}).get("means", {})
    for name, value in means.items():
        if name in ("questions", "answerable", "unanswerable"):
            continue
        limit, old = run["thresholds"].get(name), base.get(name)
        print(f"{name:<{width}}  {value:>9.4f}  {'' if limit is None else f'{limit:.4f}':>9}  "
              f"{'' if old is None else f'{old:.4f}':>9}", file=out)
    if run.get("retrieval"):
        print("retrieval: " + ", ".join(f"{k} {v}" for k, v in run["retrieval"].items()), file=out)
    if run.get("judge"):
        j = run["judge"]
        print(f"judge: {j['judge']}; runs {j['runs']}; failures {j['failures']}/{j['attempts']}", file=out)
    for line in run["gate_failures"]:
        print(line, file=out)
    failed = [r for r in run["results"] if not r["passed"]]
    if failed:
        print(f"{len(failed)} question(s) did not pass:", file=out)
        for r in failed[:40]:
            print(f"  {r['id']}: {'; '.join(r['why'])}", file=out)
    for kind, path in (run.get("reports") or {}).items():
        print(f"report ({kind}): {path}", file=out)
    print("GATE: " + ("PASS" if run["passed"] else "FAIL") if run["gated"] else
          "GATE: not applied (--limit: a partial run)", file=out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals", description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="seed_facts", help="seed_facts, squad, or a path to a .jsonl file")
    parser.add_argument("--judge", action="store_true", help="also run the LLM-judged RAGAS metrics "
                        "(needs OPENAI_API_KEY or OPENAI_BASE_URL)")
    parser.add_argument("--runs", type=int, default=None, help="judge runs to average (default RAG_EVAL_RUNS or 1)")
    parser.add_argument("--judge-model", default=None, help="judge model name (default RAG_LLM_MODEL)")
    parser.add_argument("--judge-contexts", type=int, default=None,
                        help="give the judge only the top N passages (small-context models)")
    parser.add_argument("--judge-timeout", type=float, default=120.0, help="seconds per metric and question")
    parser.add_argument("--index", type=Path, default=None, help="index folder (default: a cache folder in /tmp)")
    parser.add_argument("--out", type=Path, default=None, help="report folder (default evals/reports)")
    parser.add_argument("--corpus", type=Path, default=None, help="corpus for a .jsonl dataset (default corpus/)")
    parser.add_argument("--squad", type=Path, default=None, help="SQuAD 2.0 JSON (default ../shared/...)")
    parser.add_argument("--limit", type=int, default=None, help="only the first N cases")
    parser.add_argument("--update-baseline", action="store_true", help="store this run as the baseline")
    parser.add_argument("--propose-gates", action="store_true",
                        help="print thresholds for this run by the margin rule (docs/EVALS.md)")
    args = parser.parse_args(argv)
    from rag.settings import Settings

    if args.judge and not Settings().llm_configured:
        print("--judge needs OPENAI_API_KEY or OPENAI_BASE_URL; running the offline metrics only.", file=sys.stderr)
        args.judge = False
    try:
        run = run_suite(args.dataset, judge=args.judge, runs=args.runs, index_dir=args.index, out_dir=args.out,
                        corpus=args.corpus, squad_path=args.squad, limit=args.limit, judge_model=args.judge_model,
                        judge_options={"max_contexts": args.judge_contexts, "timeout": args.judge_timeout})
    except FileNotFoundError as err:
        if args.dataset == "squad":
            print(f"skipped: {err} (the SQuAD slice lives outside the product; pass --squad PATH)")
            return 0
        print(f"error: {err}", file=sys.stderr)
        return 2
    except BadDataset as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print_summary(run)
    if args.propose_gates:
        import json

        print(json.dumps({"min": gating.propose(run["means"], run["results"])}, indent=1))
    if args.update_baseline:
        print(f"baseline written: {gating.write_baseline(run['dataset'], run)}")
    return 0 if run["passed"] else 1

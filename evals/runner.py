"""`python -m evals`: ask a dataset's questions through the real `rag.Assistant`, score, gate, report.

`run_suite()` is what the CLI and the tests call. The dataset's corpus is copied into a cache folder and
indexed there (never into the repo's .rag_index); re-runs re-use the cached index. A dataset with a
`<name>.corpus.json` beside it (real_news) gets its corpus from the shared folder (ROOT.parent / "shared"):
each listed file is copied to `<cache corpus>/<id>`; without that folder the run is skipped.
`--split tune|test|all` keeps the questions of one part (evals/splits.py); the means are reported for
every part and every question class and answer type (`evals.metrics.breakdown`), and the gates of a
dataset apply to the part they name (`"split"` in evals/gates.json, the test part for real_news and squad).
"""
from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from . import gates as gating
from .cases import BadDataset, Case, check_against_corpus, load_cases, resolve_dataset
from .metrics import (abstained_ok, breakdown, citation_problems, contains, contains_gold, group_table,
                      key_fact_recall, ragas_offline, short_match, summarize)
from .report import write_reports

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
CACHE = Path(tempfile.gettempdir()) / "rag-evals"
RANK_DEPTH = 10  # retrieval depth for recall@k / MRR on SQuAD
SPLITS = ("tune", "test", "all")


class CorpusAbsent(FileNotFoundError):
    """The articles a dataset is written from live outside the repository and are not here: skip."""


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


def manifest_corpus_copy(manifest: Path, shared: Path, target: Path) -> Path:
    """Copy every file a `<dataset>.corpus.json` lists from `shared` to `target/<id>` (unchanged copies are
    left alone, so the cached index is re-used; files the manifest does not list are removed). Raises
    CorpusAbsent when the shared folder or one of its files is missing."""
    files = json.loads(Path(manifest).read_text(encoding="utf-8"))["files"]
    if not Path(shared).is_dir():
        raise CorpusAbsent(f"the shared article folder {shared} is absent ({Path(manifest).name} copies its "
                           "articles from there)")
    target.mkdir(parents=True, exist_ok=True)
    wanted = set()
    for entry in files:
        source, copy = Path(shared) / entry["path"], target / entry["id"]
        if not source.is_file():
            raise CorpusAbsent(f"{source} (listed in {Path(manifest).name}) is absent")
        wanted.add(copy)
        if not copy.is_file() or copy.read_bytes() != source.read_bytes():
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, copy)
    for stale in [p for p in target.rglob("*") if p.is_file() and p not in wanted]:
        stale.unlink()
    return target


def _key(path: Path) -> str:
    return hashlib.sha256(str(Path(path).resolve()).encode()).hexdigest()[:10]


def in_split(case: Case, split: str) -> bool:
    """A conversation stays whole: its part is the part of its first turn."""
    return split == "all" or case.rows[0].split == split


def prepare(dataset: str, corpus: Path | None = None, squad_path: Path | None = None,
            limit: int | None = None, split: str = "all") -> tuple[str, list[Case], Path]:
    """(dataset name, cases of `split`, corpus folder to index). Raises FileNotFoundError when SQuAD is
    absent, CorpusAbsent when a manifest's shared folder is."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, not {split!r}")
    if dataset == "squad":
        from .squad import DEFAULT_SQUAD, fingerprint, load_squad

        path = Path(squad_path or DEFAULT_SQUAD)
        if not path.is_file():
            raise FileNotFoundError(f"SQuAD file not found: {path}")
        corpus_dir = CACHE / f"squad-{fingerprint(path)}" / "corpus"
        cases = [c for c in load_squad(path, corpus_dir) if in_split(c, split)]
        return "squad", (cases[:limit] if limit else cases), corpus_dir
    path = resolve_dataset(dataset)
    manifest = path.with_suffix(".corpus.json")
    if manifest.is_file() and corpus is None:
        corpus_dir = manifest_corpus_copy(manifest, SHARED, CACHE / f"{path.stem}-{_key(SHARED)}" / "corpus")
    else:
        source = Path(corpus or ROOT / "corpus")
        corpus_dir = seed_corpus_copy(source, CACHE / f"{path.stem}-{_key(source)}" / "corpus")
    cases = [c for c in load_cases(path) if in_split(c, split)]
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
        if row.key_facts or row.gold_answers:
            scores["correct"] = float(not answer.abstained and scores.get("key_fact_recall", 1.0) == 1.0
                                      and scores.get("contains_gold", 1.0) == 1.0)
        golds = [row.short] if row.short else row.gold_answers
        if golds:
            scores["short_exact"], scores["short_f1"] = short_match(golds, "" if answer.abstained else answer.short)
    elif not ok_abstain:
        why.append("answered a question the articles do not answer")
    seen: list[str] = []
    for p in answer.retrieved:
        if p.article_id not in seen:
            seen.append(p.article_id)
    return {
        "id": row.id, "case_id": row.case_id, "turn": row.turn, "question": row.question,
        "split": row.split, "question_class": row.question_class, "answer_type": row.answer_type,
        "short": answer.short,
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
            record["split"] = case.rows[0].split  # a conversation's turns stay in one part
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
              settings_overrides: dict | None = None, judge_options: dict | None = None,
              split: str = "all") -> dict:
    """Run one dataset end to end and return the run (means, per-part and per-class figures, per-question
    results, gate failures, report paths). Pass `assistant` to evaluate an already built engine (the
    tests inject broken ones)."""
    name, cases, corpus_dir = prepare(dataset, corpus, squad_path, limit, split)
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
    parts = {}
    for part in ("tune", "test"):
        part_results = [r for r in results if r["split"] == part]
        if part_results:
            parts[part] = {"means": summarize(part_results), "groups": breakdown(part_results)}
    gate_config = gates if gates is not None else gating.load_gates()
    suite = gate_config.get("datasets", {}).get(name)
    gate_split = (suite or {}).get("split", "all")
    # the gates were set on one part (or the whole set); a partial run (--limit) or a run without that
    # part is reported but not gated
    gated = suite is not None and not limit and (gate_split in parts if gate_split != "all" else split == "all")
    gate_results = [r for r in results if gate_split == "all" or r["split"] == gate_split] if gated else []
    gate_means = (summarize(gate_results) | gating.flatten(breakdown(gate_results))) if gated else {}
    gate_note = "" if gated else f"evals/gates.json has no gates for {name}" if suite is None else \
        "--limit: a partial run" if limit else \
        f"the gates of {name} are on the {gate_split} part; this run has the {split} part"
    if judge_summary and gated:
        gate_means["judge_failure_rate"] = judge_summary["failure_rate"]
    baseline = gating.load_baseline(name)
    failures = gating.check(name, gate_means, gate_results, gate_config, baseline) if gated else []
    run = {
        "dataset": name, "started": started, "split": split,
        "engine": f"rag.Assistant extractive, top_k={assistant.settings.top_k}, "
                  f"abstain_threshold={assistant.settings.abstain_threshold}",
        "index_dir": str(assistant.settings.index_dir), "corpus_dir": str(assistant.settings.corpus_dir),
        "thresholds": gate_config.get("datasets", {}).get(name, {}).get("min", {}),
        "baseline": {"created": baseline.get("created"), "means": baseline.get("means", {})} if baseline else None,
        "means": means, "parts": parts, "retrieval": retrieval_summary(results), "judge": judge_summary,
        "gate_split": gate_split, "gate_means": gate_means, "gate_note": gate_note,
        "gate_failures": [f.line() for f in failures], "failed_questions": sorted({q for f in failures for q in f.questions}),
        "gated": gated, "passed": not failures,
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
    if run.get("parts"):
        print("\nper part, class and answer type (correct = answered with every key fact / a gold answer):",
              file=out)
        print(group_table({part: data["groups"] for part, data in run["parts"].items()}), file=out)
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
    if run["gated"]:
        print(("GATE: " if run["gate_split"] == "all" else f"GATE ({run['gate_split']} part): ") + ("PASS" if run["passed"] else "FAIL"), file=out)
    else:
        print(f"GATE: not applied ({run['gate_note']})", file=out)


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
    parser.add_argument("--split", choices=SPLITS, default="all",
                        help="the part of the dataset to ask (evals/splits.py; default all, reported per part)")
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
                        split=args.split,
                        judge_options={"max_contexts": args.judge_contexts, "timeout": args.judge_timeout})
    except CorpusAbsent as err:
        print(f"skipped: {err}")
        return 0
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
        if run["gated"]:
            gated = [r for r in run["results"] if run["gate_split"] == "all" or r["split"] == run["gate_split"]]
            print(json.dumps({"split": run["gate_split"], "min": gating.propose(run["gate_means"], gated)}, indent=1))
        else:
            print(f"no gates proposed: {run['gate_note']}")
    if args.update_baseline:
        if run["gated"]:
            print(f"baseline written: {gating.write_baseline(run['dataset'], run)}")
        else:
            print(f"baseline not written: {run['gate_note']}")
    return 0 if run["passed"] else 1

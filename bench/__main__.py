"""`python -m bench [--bbc PATH] [--squad PATH] [--quick] [--out DIR]`: run every benchmark part in one
process tree, print the tables, write docs/BENCHMARKS.md and docs/benchmarks.json (full runs only,
unless --out is given)."""
from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

from .common import DATASETS, ROOT, log


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("--bbc", type=Path, default=DATASETS / "bbc-news")
    p.add_argument("--squad", type=Path, default=DATASETS / "squad2-dev-subset")
    p.add_argument("--quick", action="store_true", help="300 BBC articles, sweep to 5k chunks, fewer questions")
    p.add_argument("--out", type=Path, default=None, help="where to write BENCHMARKS.md and benchmarks.json "
                                                          "(default docs/ for a full run; a quick run writes nothing)")
    p.add_argument("--per-category", type=int, default=None, help=argparse.SUPPRESS)  # development only
    p.add_argument("--render", type=Path, default=None,
                   help="only re-render BENCHMARKS.md from a benchmarks.json written by an earlier run")
    args = p.parse_args(argv)
    out_dir = args.out or (None if args.quick else ROOT / "docs")

    import rag  # noqa: F401  (offline settings before any heavy import)
    from . import report

    if args.render:
        results = json.loads(args.render.read_text(encoding="utf-8"))
        results.pop("targets", None)
        text = report.render(results)
        (out_dir or args.render.parent).joinpath("BENCHMARKS.md").write_text(text, encoding="utf-8")
        print(text)
        return 0

    started = time.perf_counter()
    results: dict = {"meta": {
        "date": dt.date.today().isoformat(), "python": platform.python_version(), "cpus": _cpus(),
        "machine": platform.machine(), "quick": args.quick,
        "command": "python -m bench" + (" --quick" if args.quick else "")}}
    work = Path(tempfile.mkdtemp(prefix="rag-bench-"))
    try:
        _run(args, work, results, out_dir)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    results["meta"]["total_s"] = round(time.perf_counter() - started, 1)
    text = report.render(results)
    print(text)
    if out_dir:
        (out_dir / "benchmarks.partial.json").unlink(missing_ok=True)
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "BENCHMARKS.md").write_text(text, encoding="utf-8")
        (out_dir / "benchmarks.json").write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")
        log(f"wrote {out_dir / 'BENCHMARKS.md'} and {out_dir / 'benchmarks.json'}")
    return 0


def _part(results: dict, name: str, out_dir: Path | None, fn, *a):
    """Run one part; a failure is recorded (and shown in the report) instead of losing the whole run."""
    try:
        results[name] = fn(*a)
    except Exception as err:  # noqa: BLE001  (a benchmark part failing must not lose the others)
        import traceback

        results.setdefault("errors", {})[name] = f"{type(err).__name__}: {err}"
        log(traceback.format_exc())
    if out_dir:  # so that a killed run still leaves its numbers
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "benchmarks.partial.json").write_text(json.dumps(results, indent=2, default=str))
    return results.get(name)


def _run(args, work: Path, results: dict, out_dir: Path | None) -> None:
    from .ingest import run_ingestion, run_reingest
    from .latency import make_questions, run_cold_start, run_latency, run_rss
    from .scale import run_scale
    from .squad import run_squad

    if not (args.bbc / "business").is_dir():
        results["skipped_bbc"] = f"BBC dataset not found at {args.bbc}: ingestion, latency and scale parts skipped"
        log(results["skipped_bbc"])
    else:
        ingestion, assistant, peer_index = run_ingestion(args.bbc, work, args.quick, args.per_category)
        results["ingestion"] = ingestion
        _part(results, "reingest", out_dir, run_reingest, assistant, work)
        n_questions = 60 if args.quick else 240
        questions = make_questions(assistant.settings.corpus_dir, n_questions)
        questions_file = work / "questions.json"
        questions_file.write_text(json.dumps([q["q"] for q in questions]))
        results["questions"] = {"n": len(questions), "examples": [q["q"] for q in questions[:6]]}
        if _part(results, "latency", out_dir, run_latency, assistant, peer_index, questions):
            results["latency"]["index_chunks"] = assistant.index.collection.count()
            results["latency"]["peer_chunks"] = ingestion["peer"]["chunks"]
            log(f"[latency] {results['latency']}")
        _part(results, "cold_start", out_dir, run_cold_start, assistant.settings.index_dir, questions,
              3 if args.quick else 5)
        _part(results, "rss", out_dir, run_rss, assistant.settings.index_dir, questions_file, 50 if args.quick else 100)
        log(f"[rss] {results.get('rss')}")
        sizes = [1000, 5000] if args.quick else [1000, 10000, 100000]
        _part(results, "scale", out_dir, run_scale, assistant, work, questions_file, sizes, 60 if args.quick else 200)
    squad_file = args.squad / "squad2_dev_3articles.json"
    if not squad_file.is_file():
        results["skipped_squad"] = f"SQuAD subset not found at {squad_file}: retrieval quality part skipped"
        log(results["skipped_squad"])
    else:
        if _part(results, "squad", out_dir, run_squad, squad_file, work):
            log(f"[squad] {results['squad']['ours']}")


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


if __name__ == "__main__":
    sys.exit(main())

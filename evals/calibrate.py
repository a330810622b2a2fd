"""Calibrate `abstain_threshold`: `python -m evals.calibrate [--squad PATH] [--limit N] [--json FILE]`.

Every question is asked once with abstain_threshold=0, so the extractive answerer answers everything
and `answer.trace["support"]` is recorded; thresholds are then swept offline (abstain <=> support < t).
For each threshold and dataset it prints: the share of answerable questions wrongly abstained, the
abstention precision and recall on the questions the articles do not answer, and the share of
answerable questions whose answer is correct (key facts / a gold answer present) and not abstained.

Rule (docs/CALIBRATION.md): a threshold is feasible when (1) no seed_facts answerable question that is
answered correctly at t=0 is abstained, and (2) on SQuAD at most MAX_SQUAD_CORRECT_LOST of the correct
answers at t=0 are lost to abstention. The chosen threshold is the highest feasible one (abstention
recall only grows with t) minus MARGIN, so a question whose support sits at the edge survives small
engine changes.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .metrics import contains
from .runner import ask_cases, build_assistant, prepare

GRID = [round(0.20 + 0.01 * i, 2) for i in range(61)]  # 0.20 .. 0.80
MAX_SQUAD_CORRECT_LOST = 0.10
MARGIN = 0.02


def collect(dataset: str, squad_path: Path | None = None, limit: int | None = None,
            index_dir: Path | None = None) -> list[dict]:
    """One point per question: support, whether it is answerable, whether the answer is correct, and
    (for near misses) whether the answer itself says the articles leave it open."""
    name, cases, corpus_dir = prepare(dataset, squad_path=squad_path, limit=limit)
    assistant = build_assistant(corpus_dir, index_dir, abstain_threshold=0.0)
    points = []
    for r in ask_cases(assistant, cases, mode="extractive"):
        row = r["_row"]
        if row.answerable:
            correct = (r["scores"].get("key_fact_recall", 1.0) == 1.0 and
                       r["scores"].get("contains_gold", 1.0) == 1.0)
        else:
            correct = any(contains(r["answer"], p) for p in row.accept_if_contains)
        points.append({"id": r["id"], "answerable": row.answerable, "support": r["support"] or 0.0,
                       "correct": bool(correct) and not r["abstained"]})
    return points


def sweep(points: list[dict], t: float) -> dict:
    answerable = [p for p in points if p["answerable"]]
    unanswerable = [p for p in points if not p["answerable"]]
    abstain = [p for p in points if p["support"] < t]
    handled = [p for p in unanswerable if p["support"] < t or p["correct"]]
    return {
        "t": t,
        "wrong_abstain": sum(p["support"] < t for p in answerable) / max(1, len(answerable)),
        "wrong_abstain_correct": sum(p["support"] < t and p["correct"] for p in answerable),
        "abst_precision": (sum(not p["answerable"] for p in abstain) / len(abstain)) if abstain else None,
        "abst_recall": len(handled) / max(1, len(unanswerable)),
        "correct_rate": sum(p["support"] >= t and p["correct"] for p in answerable) / max(1, len(answerable)),
    }


def choose(seed: list[dict], squad: list[dict] | None) -> tuple[float, list[float]]:
    squad_correct0 = sum(p["correct"] for p in squad or [] if p["answerable"])
    feasible = []
    for t in GRID:
        s = sweep(seed, t)
        ok = s["wrong_abstain_correct"] == 0
        if ok and squad:
            lost = sum(p["support"] < t and p["correct"] for p in squad if p["answerable"])
            ok = lost <= MAX_SQUAD_CORRECT_LOST * squad_correct0
        if ok:
            feasible.append(t)
    if not feasible:
        return GRID[0], []
    return round(max(GRID[0], max(feasible) - MARGIN), 2), feasible


def table(seed: list[dict], squad: list[dict] | None, chosen: float, every: float = 0.02) -> str:
    head = ("| t | seed wrongly abstained | seed abst. precision | seed abst. recall | seed correct |"
            + (" SQuAD wrongly abstained | SQuAD abst. precision | SQuAD abst. recall | SQuAD contains gold |"
               if squad else ""))
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for t in GRID:
        if round((t - GRID[0]) / every, 6) % 1 and t != chosen:
            continue
        cells = [f"**{t:.2f}**" if t == chosen else f"{t:.2f}"]
        for points in ([seed] + ([squad] if squad else [])):
            s = sweep(points, t)
            cells += [f"{s['wrong_abstain']:.3f}",
                      "-" if s["abst_precision"] is None else f"{s['abst_precision']:.3f}",
                      f"{s['abst_recall']:.3f}", f"{s['correct_rate']:.3f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.calibrate", description=__doc__.splitlines()[0])
    parser.add_argument("--squad", type=Path, default=None)
    parser.add_argument("--limit", type=int, default=None, help="only the first N SQuAD questions")
    parser.add_argument("--json", type=Path, default=None, help="write the support of every question here")
    args = parser.parse_args(argv)
    seed = collect("seed_facts")
    try:
        squad = collect("squad", args.squad, args.limit)
    except FileNotFoundError as err:
        print(f"SQuAD skipped: {err}", file=sys.stderr)
        squad = None
    chosen, feasible = choose(seed, squad)
    if args.json:
        args.json.write_text(json.dumps({"seed_facts": seed, "squad": squad}, indent=1), encoding="utf-8")
    print(table(seed, squad, chosen))
    span = f"{feasible[0]:.2f}..{feasible[-1]:.2f}" if feasible else "none"
    print(f"\nfeasible thresholds: {span}; chosen (highest feasible - {MARGIN}): {chosen:.2f}")
    for name, points in (("seed_facts", seed), ("squad", squad)):
        if points:
            s = sweep(points, chosen)
            print(f"{name} at {chosen:.2f}: " + ", ".join(f"{k} {v:.3f}" for k, v in s.items()
                                                           if isinstance(v, float) and k != "t"))
    return 0


if __name__ == "__main__":
    sys.exit(main())

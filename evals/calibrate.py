"""Fit the extractive answerer's two small models and choose its abstention threshold, on tune parts only.

`python -m evals.calibrate [--fit] [--squad PATH] [--json FILE]`

1. Collect: every question of the TUNE parts (real_news tune, SQuAD 2.0 tune, and seed_facts, which earlier
   versions were tuned on as a whole) is asked once with abstain_threshold=0 through the real engine; every
   candidate sentence's RANK features and the question's SUPPORT features are recorded, with labels: a
   sentence is right when it holds every key fact (a gold answer for SQuAD); a question is answerable or not.
2. Fit (`--fit`): RANK is a logistic regression over the candidates of the answerable questions (right
   sentence or not); SUPPORT a logistic regression over questions (1: answerable and its best sentence, under
   the fitted RANK, is right; 0: the articles do not answer it; answerable questions whose best sentence is
   wrong are left out: abstaining on them costs no correct answer). Features and L2 penalty as in
   rag/extractive.py; weights rounded to 2 decimals and printed as Python to paste there. Leave-one-group-out
   figures (5 folds by split key: all questions about one article in one fold) are printed beside the
   in-sample ones, as the honest estimate.
3. Threshold (rule stated before looking at which value it gives, docs/CALIBRATION.md): the highest t on a
   0.01 grid such that, on the tune parts,
     (a) at most MAX_SQUAD_WRONG_ABSTAIN of SQuAD's answerable questions are abstained on,
     (b) at most MAX_REAL_WRONG_ABSTAIN of real_news' answerable questions are abstained on,
     (c) seed_facts loses at most one correctly answered question to abstention.
Nothing here reads a test part.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np

from rag import extractive as ex

from .metrics import contains
from .runner import ask_cases, build_assistant, prepare

GRID = [round(0.01 * i, 2) for i in range(1, 100)]
MAX_SQUAD_WRONG_ABSTAIN = 0.08  # the goal is <= 10% on held-out data: 2 points of margin
MAX_REAL_WRONG_ABSTAIN = 0.10
L2 = 1.0  # penalty on the weights (not the bias), in units of the summed log-loss
TUNE_PARTS = (("real_news", "tune"), ("squad", "tune"), ("seed_facts", "all"))


def _right(row, text: str) -> bool:
    if row.key_facts:
        return all(contains(text, f) for f in row.key_facts)
    return any(contains(text, g) for g in row.gold_answers)


def collect(dataset: str, split: str, squad_path: Path | None = None) -> list[dict]:
    """One record per question: its candidates' RANK features and rightness, and enough context to
    compute SUPPORT features for whichever candidate a RANK model puts first."""
    name, cases, corpus_dir = prepare(dataset, squad_path=squad_path, split=split)
    assistant = build_assistant(corpus_dir, None, abstain_threshold=0.0)
    seen: dict[str, list] = {}
    original = assistant.extractive.extract

    def recording(question, passages, idf, vector):
        result = original(question, passages, idf, vector)
        seen.setdefault(question, []).append(result)
        return result

    assistant.extractive.extract = recording
    points = []
    for r in ask_cases(assistant, cases, mode="extractive"):
        row = r["_row"]
        # By the question extract() was given (the standalone form of a follow-up), not by call order: a
        # question may be answered without extract() (a count, a timeline) or call it more than once.
        calls = seen.pop(r["standalone"], [])
        extract = calls[-1] if calls and r["retrieved_ids"] else None
        cands = extract.candidates if extract else []
        points.append({
            "dataset": name, "id": r["id"], "group": row.split_key(), "answerable": row.answerable,
            "scorable": bool(row.key_facts or row.gold_answers), "question_class": row.question_class,
            "accept": [p for p in row.accept_if_contains],
            "rank_x": [[c.features[f] for f in ex.RANK_FEATURES] for c in cands],
            "right": [bool(row.answerable and _right(row, c.text)) for c in cands],
            "support_x": [[ex.support_features(extract.context, c)[f] for f in ex.SUPPORT_FEATURES]
                          for c in cands] if extract else [],
            "accepted": [any(contains(c.text, p) for p in row.accept_if_contains) for c in cands],
            "answer": r["answer"], "texts": [c.text for c in cands],
        })
    return points


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = L2, steps: int = 3000) -> tuple[np.ndarray, float]:
    """Logistic regression by Newton's method (a handful of features: exact and fast)."""
    n, d = x.shape
    xb = np.hstack([x, np.ones((n, 1))])
    w = np.zeros(d + 1)
    reg = np.eye(d + 1) * l2
    reg[d, d] = 0.0
    for _ in range(50):
        p = 1 / (1 + np.exp(-np.clip(xb @ w, -30, 30)))
        grad = xb.T @ (p - y) + reg @ w
        hess = (xb * (p * (1 - p))[:, None]).T @ xb + reg + 1e-9 * np.eye(d + 1)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w[:d], float(w[d])


def best_index(point: dict, w: np.ndarray, b: float) -> int | None:
    if not point["rank_x"]:
        return None
    return int(np.argmax(np.asarray(point["rank_x"]) @ w + b))


def fit_rank(points: list[dict], l2: float = L2) -> tuple[np.ndarray, float]:
    """A conditional logit (softmax over each question's candidates): maximises the probability of the
    right sentences among the question's sentences, which is what picking one needs. The bias cancels
    out of a softmax; it is set so that the scores of right sentences centre on 0.5 (it only scales the
    second-sentence rule)."""
    rows = [p for p in points if p["answerable"] and p["scorable"] and any(p["right"]) and not all(p["right"])]
    xs = [np.asarray(p["rank_x"], dtype=float) for p in rows]
    rs = [np.asarray(p["right"], dtype=float) for p in rows]
    w = np.zeros(xs[0].shape[1])
    for _ in range(200):
        grad, hess = l2 * w, l2 * np.eye(len(w))
        for x, r in zip(xs, rs):
            s = x @ w
            p = np.exp(s - s.max()); p /= p.sum()
            q = p * r; q /= q.sum()
            grad += x.T @ (p - q)
            hess += (x * p[:, None]).T @ x - np.outer(p @ x, p @ x)  # the softmax part: positive definite
        step = np.linalg.solve(hess + 1e-6 * np.eye(len(w)), grad)
        w -= step
        if np.abs(step).max() < 1e-7:
            break
    right = np.concatenate([x[r > 0] @ w for x, r in zip(xs, rs)])
    return w, float(-np.median(right))


def support_rows(points: list[dict], w: np.ndarray, b: float, wrong_as_negative: bool = False):
    x, y = [], []
    for p in points:
        i = best_index(p, w, b)
        if i is None:
            continue
        if p["answerable"]:
            if not p["scorable"]:
                continue
            if p["right"][i]:
                x.append(p["support_x"][i]); y.append(1.0)
            elif wrong_as_negative:
                x.append(p["support_x"][i]); y.append(0.0)
        else:
            x.append(p["support_x"][i]); y.append(0.0)
    return np.asarray(x, dtype=float), np.asarray(y)


def fit(points: list[dict]) -> dict:
    rw, rb = fit_rank(points)
    x, y = support_rows(points, rw, rb)
    sw, sb = fit_logistic(x, y)
    return {"rank": (rw, rb), "support": (sw, sb)}


def evaluate(points: list[dict], model: dict) -> list[dict]:
    """Per question, under `model`: support of its best sentence, and whether that sentence is right."""
    (rw, rb), (sw, sb) = model["rank"], model["support"]
    out = []
    for p in points:
        i = best_index(p, rw, rb)
        if i is None:
            out.append({**_meta(p), "support": 0.0, "correct": False, "accepted": False})
            continue
        z = float(np.asarray(p["support_x"][i]) @ sw + sb)
        out.append({**_meta(p), "support": 1 / (1 + math.exp(-max(-30, min(30, z)))),
                    "correct": bool(p["answerable"] and p["right"][i]), "accepted": bool(p["accepted"][i])})
    return out


def _meta(p: dict) -> dict:
    return {k: p[k] for k in ("dataset", "id", "group", "answerable", "scorable", "question_class")}


def cross_validated(points: list[dict], folds: int = 5) -> list[dict]:
    """Each question scored by a model fitted without its fold (folds by split key, so an article's
    questions are never on both sides)."""
    import hashlib

    fold = {p["id"]: int(hashlib.sha256(p["group"].encode()).hexdigest(), 16) % folds for p in points}
    out = []
    for k in range(folds):
        model = fit([p for p in points if fold[p["id"]] != k])
        out += evaluate([p for p in points if fold[p["id"]] == k], model)
    return out


def sweep(scored: list[dict], t: float) -> dict:
    answerable = [p for p in scored if p["answerable"]]
    unanswerable = [p for p in scored if not p["answerable"]]
    abstain = [p for p in scored if p["support"] < t]
    return {
        "t": t,
        "wrong_abstain": sum(p["support"] < t for p in answerable) / max(1, len(answerable)),
        "correct_lost": sum(p["support"] < t and p["correct"] for p in answerable),
        "abst_precision": (sum(not p["answerable"] for p in abstain) / len(abstain)) if abstain else None,
        "abst_recall": sum(p["support"] < t or p["accepted"] for p in unanswerable) / max(1, len(unanswerable)),
        "correct_rate": sum(p["support"] >= t and p["correct"] for p in answerable) / max(1, len(answerable)),
    }


def choose(scored: list[dict]) -> tuple[float, list[float]]:
    by = {name: [p for p in scored if p["dataset"] == name] for name in ("real_news", "squad", "seed_facts")}
    feasible = []
    for t in GRID:
        ok = True
        if by["squad"]:
            ok &= sweep(by["squad"], t)["wrong_abstain"] <= MAX_SQUAD_WRONG_ABSTAIN
        if by["real_news"]:
            ok &= sweep(by["real_news"], t)["wrong_abstain"] <= MAX_REAL_WRONG_ABSTAIN
        if by["seed_facts"]:
            ok &= sweep(by["seed_facts"], t)["correct_lost"] <= 1
        if ok:
            feasible.append(t)
    return (max(feasible) if feasible else GRID[0]), feasible


def table(scored: list[dict], chosen: float, every: float = 0.05) -> str:
    names = [n for n in ("real_news", "squad", "seed_facts") if any(p["dataset"] == n for p in scored)]
    head = "| t | " + " | ".join(f"{n} wrongly abstained | {n} abst. recall | {n} correct" for n in names) + " |"
    lines = [head, "|" + "---|" * (1 + 3 * len(names))]
    for t in GRID:
        if round(t / every, 6) % 1 and t != chosen:
            continue
        cells = [f"**{t:.2f}**" if t == chosen else f"{t:.2f}"]
        for n in names:
            s = sweep([p for p in scored if p["dataset"] == n], t)
            cells += [f"{s['wrong_abstain']:.3f}", f"{s['abst_recall']:.3f}", f"{s['correct_rate']:.3f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def as_python(model: dict) -> str:
    (rw, rb), (sw, sb) = model["rank"], model["support"]
    rank = ", ".join(f'"{f}": {w:.2f}' for f, w in zip(ex.RANK_FEATURES, rw))
    support = ", ".join(f'"{f}": {w:.2f}' for f, w in zip(ex.SUPPORT_FEATURES, sw))
    return (f"RANK_WEIGHTS = {{{rank}}}\nRANK_BIAS = {rb:.2f}\n"
            f"SUPPORT_WEIGHTS = {{{support}}}\nSUPPORT_BIAS = {sb:.2f}")


def current_model() -> dict:
    return {"rank": (np.asarray([ex.RANK_WEIGHTS[f] for f in ex.RANK_FEATURES]), ex.RANK_BIAS),
            "support": (np.asarray([ex.SUPPORT_WEIGHTS[f] for f in ex.SUPPORT_FEATURES]), ex.SUPPORT_BIAS)}


def rank_accuracy(points: list[dict], model: dict) -> dict:
    """Share of answerable questions whose best sentence is right, per dataset (retrieval permitting)."""
    out = {}
    for name in sorted({p["dataset"] for p in points}):
        rows = [p for p in points if p["dataset"] == name and p["answerable"] and p["scorable"]]
        hits = [bool(p["rank_x"]) and p["right"][best_index(p, *model["rank"])] for p in rows]
        out[name] = round(sum(hits) / max(1, len(hits)), 3)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.calibrate", description=__doc__.splitlines()[0])
    parser.add_argument("--fit", action="store_true", help="fit RANK and SUPPORT weights (else: the current ones)")
    parser.add_argument("--squad", type=Path, default=None)
    parser.add_argument("--points", type=Path, default=None,
                        help="re-use collected points from this JSON file (written when absent)")
    args = parser.parse_args(argv)
    if args.points and args.points.is_file():
        points = json.loads(args.points.read_text(encoding="utf-8"))
    else:
        points = []
        for dataset, split in TUNE_PARTS:
            try:
                points += collect(dataset, split, args.squad)
            except FileNotFoundError as err:
                print(f"{dataset} skipped: {err}", file=sys.stderr)
        if args.points:
            args.points.write_text(json.dumps(points), encoding="utf-8")
    model = fit(points) if args.fit else current_model()
    scored = evaluate(points, model)
    chosen, feasible = choose(scored)
    print(as_python(model) + f"\nthreshold = {chosen:.2f}")
    print(f"\nbest sentence right (in-sample): {rank_accuracy(points, model)}")
    print("\nin-sample:\n" + table(scored, chosen))
    if args.fit:
        held = cross_validated(points)
        print("\nheld-out folds of the tune parts (5 folds by article):\n" + table(held, chosen))
    return 0


if __name__ == "__main__":
    sys.exit(main())

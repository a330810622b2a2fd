"""Offline metrics (no LLM, no network): RAGAS' non-LLM metrics plus our own checks.

RAGAS (`ragas.evaluate` with `ragas.metrics` classes that need no judge, raise_exceptions=True):
  id_based_context_recall / id_based_context_precision   retrieved article ids vs reference article ids
  non_llm_context_recall / non_llm_context_precision_with_reference
      reference passages (verbatim sentences) vs the retrieved text, by Levenshtein similarity >= 0.5.
      The retrieved passages are given to RAGAS sentence by sentence, in rank order: a ~250-token
      passage compared with a one-sentence reference never reaches 0.5 similarity, so passage-level
      strings would always score 0.
  rouge_score (ROUGE-L F1) / chrf_score   answer text vs reference answer; only meaningful as means.
Ours:
  key_fact_recall   share of a question's key facts found in the answer (case- and space-insensitive)
  citation_valid    every [n] resolves to a citation, each citation is a retrieved passage whose text
                    contains every sentence of its quote, every citation is referenced, and a
                    non-abstaining answer cites something
  correct           an answerable question answered (not abstained) with every key fact, or with a
                    gold answer (SQuAD): what "key-fact accuracy" means in the per-class tables
  short_exact / short_f1
                    `answer.short` against the dataset's `short` (SQuAD: the gold answers), SQuAD-style:
                    lower case, punctuation and a/an/the dropped; exact match, and token F1 (best gold)
  abstention precision/recall, answered rate on answerable questions, latency.
`breakdown()` gives the same figures per question class and per answer type.
"""
from __future__ import annotations

import math
import re
import string
from collections import Counter
from statistics import mean

from rag.citations import MARKER
from rag.text import sentence_spans

from .cases import Row

RAGAS_METRICS = ("id_based_context_recall", "id_based_context_precision", "non_llm_context_recall",
                 "non_llm_context_precision_with_reference", "rouge_score", "chrf_score")


def norm(text: str) -> str:
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("\u201c", '"').replace("\u201d", '"')
    return " ".join(text.lower().split())


def contains(haystack: str, needle: str) -> bool:
    return norm(needle) in norm(haystack)


def key_fact_recall(row: Row, answer_text: str) -> float | None:
    if not row.key_facts:
        return None
    return sum(contains(answer_text, fact) for fact in row.key_facts) / len(row.key_facts)


def contains_gold(row: Row, answer_text: str) -> bool:
    return any(contains(answer_text, gold) for gold in row.gold_answers)


def squad_norm(text: str) -> list[str]:
    """SQuAD's answer normalisation, as tokens: lower case, no punctuation, no articles."""
    text = norm(text)
    text = "".join(" " if ch in string.punctuation or ch in "\u2013\u2014" else ch for ch in text)
    return [w for w in text.split() if w not in ("a", "an", "the")]


def short_match(golds: list[str], predicted: str) -> tuple[float, float]:
    """(exact match, token F1) of a predicted short answer against the best of the gold ones."""
    pred = squad_norm(predicted)
    best_em, best_f1 = 0.0, 0.0
    for gold in golds:
        ref = squad_norm(gold)
        best_em = max(best_em, float(pred == ref and bool(ref)))
        common = sum((Counter(pred) & Counter(ref)).values())
        if common:
            precision, recall = common / len(pred), common / len(ref)
            best_f1 = max(best_f1, 2 * precision * recall / (precision + recall))
    return best_em, round(best_f1, 4)


def citation_problems(answer) -> list[str]:
    """Why the answer's citations are not valid (empty list: valid)."""
    problems = []
    by_n = {c.n: c for c in answer.citations}
    shown = {p.id: p for p in answer.retrieved}
    used = {int(n) for group in MARKER.findall(answer.text) for n in group.split(",")}
    for n in sorted(used - set(by_n)):
        problems.append(f"[{n}] has no citation")
    for c in answer.citations:
        passage = shown.get(c.passage_id)
        if passage is None or passage.text != c.text:
            problems.append(f"citation {c.n} is not a retrieved passage")
        # quote = "the sentence(s) relied on": each of its sentences must be verbatim in the passage
        if c.quote and not all(norm(c.quote[lo:hi]) in norm(c.text) for lo, hi in sentence_spans(c.quote)):
            problems.append(f"citation {c.n}: quote not in its passage")
        if c.n not in used:
            problems.append(f"citation {c.n} is never referenced in the text")
    if not answer.abstained and not answer.citations:
        problems.append("answer cites nothing")
    return problems


def abstained_ok(row: Row, answer) -> bool:
    """For a question the articles do not answer: did the assistant say so? An answer that says
    the articles leave it open (accept_if_contains) counts, for near misses that allow it."""
    if answer.abstained:
        return True
    return any(contains(answer.text, phrase) for phrase in row.accept_if_contains)


def context_sentences(retrieved) -> list[str]:
    return [p.text[lo:hi] for p in retrieved for lo, hi in sentence_spans(p.text)]


def ragas_offline(results: list[dict], timeout: int = 60) -> None:
    """Add the six RAGAS scores to each answerable result with references, in place."""
    from ragas import EvaluationDataset, SingleTurnSample, evaluate
    from ragas.metrics import (ChrfScore, IDBasedContextPrecision, IDBasedContextRecall,
                               NonLLMContextPrecisionWithReference, NonLLMContextRecall, RougeScore)
    from ragas.run_config import RunConfig

    scored = [r for r in results if r["_row"].answerable and r["_row"].reference_article_ids
              and r["_row"].reference_contexts and r["_row"].reference]
    if not scored:
        return
    samples = [SingleTurnSample(
        user_input=r["question"], response=r["answer"], reference=r["_row"].reference,
        retrieved_contexts=context_sentences(r["_answer"].retrieved) or [""],
        reference_contexts=r["_row"].reference_contexts,
        retrieved_context_ids=r["retrieved_article_ids"] or [""],
        reference_context_ids=r["_row"].reference_article_ids) for r in scored]
    metrics = [IDBasedContextRecall(), IDBasedContextPrecision(), NonLLMContextRecall(),
               NonLLMContextPrecisionWithReference(), RougeScore(), ChrfScore()]
    # None of these metrics has an LLM or embeddings slot, so evaluate() cannot build its default
    # OpenAI judge; llm/embeddings stay None on purpose.
    result = evaluate(EvaluationDataset(samples=samples), metrics=metrics, raise_exceptions=True,
                      run_config=RunConfig(timeout=timeout, max_retries=2, max_workers=4),
                      show_progress=False)
    names = {m.name: m.name for m in metrics}
    names["rouge_score"] = next(k for k in result.scores[0] if k.startswith("rouge_score"))  # "rouge_score(mode=fmeasure)"
    for r, scores in zip(scored, result.scores):
        for name in RAGAS_METRICS:
            value = float(scores[names[name]])
            r["scores"][name] = None if math.isnan(value) else round(value, 4)


def latency_stats(values: list[float]) -> dict:
    if not values:
        return {}
    ordered = sorted(values)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, math.ceil(p * len(ordered)) - 1))]

    return {"latency_mean_ms": round(mean(ordered), 1), "latency_p50_ms": round(pct(0.5), 1),
            "latency_p95_ms": round(pct(0.95), 1), "latency_max_ms": round(ordered[-1], 1)}


def summarize(results: list[dict]) -> dict:
    """Means over the questions where each score is defined, plus abstention and latency figures."""
    means: dict = {}
    names = sorted({k for r in results for k, v in r["scores"].items() if isinstance(v, (int, float))})
    for name in names:
        values = [r["scores"][name] for r in results if isinstance(r["scores"].get(name), (int, float))]
        if values:
            means[name] = round(mean(values), 4)
    answerable = [r for r in results if not r["expect_abstain"]]
    unanswerable = [r for r in results if r["expect_abstain"]]
    # "said no": abstained, or (for a near miss that allows it) said the articles leave it open
    said_no = [r for r in results if (r["abstain_ok"] if r["expect_abstain"] else r["abstained"])]
    if unanswerable:
        means["abstention_recall"] = round(sum(r["abstain_ok"] for r in unanswerable) / len(unanswerable), 4)
    if said_no:  # precision of "the articles don't say": how often it was right to say it
        means["abstention_precision"] = round(sum(r["expect_abstain"] for r in said_no) / len(said_no), 4)
    if answerable:
        means["answered_rate"] = round(sum(not r["abstained"] for r in answerable) / len(answerable), 4)
    means["pass_rate"] = round(sum(r["passed"] for r in results) / len(results), 4)
    means.update(latency_stats([r["latency_ms"] for r in results]))
    means["questions"] = len(results)
    means["answerable"] = len(answerable)
    means["unanswerable"] = len(unanswerable)
    return means



def group_stats(results: list[dict]) -> dict:
    """The per-class / per-answer-type figures of a group of results (None where undefined)."""
    answerable = [r for r in results if not r["expect_abstain"]]
    unanswerable = [r for r in results if r["expect_abstain"]]

    def avg(name: str, rows: list[dict]) -> float | None:
        values = [r["scores"][name] for r in rows if isinstance(r["scores"].get(name), (int, float))]
        return round(mean(values), 4) if values else None

    said_no = [r for r in results if (r["abstain_ok"] if r["expect_abstain"] else r["abstained"])]
    return {
        "n": len(results),
        "correct": avg("correct", answerable),
        "wrongly_abstained": round(mean(r["abstained"] for r in answerable), 4) if answerable else None,
        "abstention_recall": round(mean(r["abstain_ok"] for r in unanswerable), 4) if unanswerable else None,
        "abstention_precision": round(mean(r["expect_abstain"] for r in said_no), 4) if said_no else None,
        "citation_valid": avg("citation_valid", results),
        "short_exact": avg("short_exact", answerable),
        "short_f1": avg("short_f1", answerable),
    }


GROUP_METRICS = ("correct", "wrongly_abstained", "abstention_recall", "abstention_precision", "citation_valid",
                 "short_exact", "short_f1")


def breakdown(results: list[dict]) -> dict:
    """{"all": stats, "<class>": stats, ..., "type:<answer type>": stats, ...} (see group_stats)."""
    out = {"all": group_stats(results)}
    for key, prefix in (("question_class", ""), ("answer_type", "type:")):
        for value in sorted({r.get(key) or "" for r in results} - {""}):
            out[prefix + value] = group_stats([r for r in results if r.get(key) == value])
    return out


def group_table(parts: dict[str, dict]) -> str:
    """A Markdown table: one row per (part, group), the GROUP_METRICS as columns."""
    lines = ["| part | group | n | " + " | ".join(GROUP_METRICS) + " |", "|" + "---|" * (len(GROUP_METRICS) + 3)]
    for part, groups in parts.items():
        for name, stats in groups.items():
            cells = ["-" if stats[m] is None else f"{stats[m]:.3f}" for m in GROUP_METRICS]
            lines.append(f"| {part} | {name} | {stats['n']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)

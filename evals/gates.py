"""Quality gates: per-metric thresholds (evals/gates.json, versioned) and a stored baseline.

A run fails when a gated mean is below its threshold, or below the baseline mean by more than the
tolerance. Each failure names the questions that caused it: those scoring lower than in the baseline,
else those scoring below 1 (or, for abstention, the questions answered or abstained wrongly).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

EVALS = Path(__file__).resolve().parent
GATES_FILE = EVALS / "gates.json"


def baseline_file(dataset: str) -> Path:
    return EVALS / f"baseline_{dataset}.json"


@dataclass
class GateFailure:
    metric: str
    value: float | None
    limit: float
    why: str  # "below threshold" | "regressed from baseline" | "undefined"
    questions: list[str]

    def line(self) -> str:
        shown = "n/a" if self.value is None else f"{self.value:.4f}"
        who = ", ".join(self.questions[:15]) + (" ..." if len(self.questions) > 15 else "")
        return f"FAIL {self.metric} = {shown} ({self.why}, limit {self.limit:.4f}); questions: {who or '-'}"


def load_gates(path: Path = GATES_FILE) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def load_baseline(dataset: str) -> dict | None:
    path = baseline_file(dataset)
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def write_baseline(dataset: str, run: dict) -> Path:
    path = baseline_file(dataset)
    data = {"dataset": dataset, "created": run["started"], "engine": run["engine"], "means": run["means"],
            "questions": {r["id"]: {k: v for k, v in r["scores"].items() if isinstance(v, (int, float))}
                          | {"passed": r["passed"]} for r in run["results"]}}
    path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return path


def _culprits(metric: str, results: list[dict], baseline: dict | None) -> list[str]:
    if metric in ("abstention_recall",):
        return [r["id"] for r in results if r["expect_abstain"] and not r["abstain_ok"]]
    if metric in ("abstention_precision", "answered_rate"):
        return [r["id"] for r in results if not r["expect_abstain"] and r["abstained"]]
    if metric == "pass_rate":
        return [r["id"] for r in results if not r["passed"]]
    old = (baseline or {}).get("questions", {})
    worse = [r["id"] for r in results if metric in r["scores"] and r["scores"][metric] is not None
             and r["id"] in old and metric in old[r["id"]] and r["scores"][metric] < old[r["id"]][metric] - 1e-9]
    if worse:
        return worse
    return [r["id"] for r in results if isinstance(r["scores"].get(metric), (int, float)) and r["scores"][metric] < 1]


def check(dataset: str, means: dict, results: list[dict], gates: dict | None = None,
          baseline: dict | None = None) -> list[GateFailure]:
    gates = gates if gates is not None else load_gates()
    suite = gates.get("datasets", {}).get(dataset)
    if suite is None:
        return []
    tolerance = float(suite.get("tolerance", gates.get("tolerance", 0.05)))
    failures = []
    for metric, limit in suite["min"].items():
        value = means.get(metric)
        if value is None:
            failures.append(GateFailure(metric, None, limit, "undefined", _culprits(metric, results, baseline)))
            continue
        if value < limit:
            failures.append(GateFailure(metric, value, limit, "below threshold",
                                        _culprits(metric, results, baseline)))
            continue
        old = (baseline or {}).get("means", {}).get(metric)
        if isinstance(old, (int, float)) and value < old - tolerance:
            failures.append(GateFailure(metric, value, old - tolerance, "regressed from baseline",
                                        _culprits(metric, results, baseline)))
    return failures


GATED = ("key_fact_recall", "citation_valid", "id_based_context_recall", "id_based_context_precision",
         "non_llm_context_recall", "non_llm_context_precision_with_reference", "rouge_score", "chrf_score",
         "abstention_recall", "abstention_precision", "answered_rate", "pass_rate")


def _count(metric: str, results: list[dict]) -> int:
    """How many questions a mean is taken over (one question's weight is 1/n)."""
    if metric == "abstention_recall":
        return sum(r["expect_abstain"] for r in results)
    if metric == "abstention_precision":
        return sum((r["abstain_ok"] if r["expect_abstain"] else r["abstained"]) for r in results)
    if metric == "answered_rate":
        return sum(not r["expect_abstain"] for r in results)
    if metric == "pass_rate":
        return len(results)
    return sum(isinstance(r["scores"].get(metric), (int, float)) for r in results)


def propose(means: dict, results: list[dict]) -> dict:
    """Thresholds from a measured run by the margin rule: min = measured - 1.5/n, rounded down to 0.01,
    where n is the number of questions the mean is taken over. The gate then tolerates one more
    failing question (or the same loss spread over several) but not two."""
    import math

    out = {}
    for metric in GATED:
        n = _count(metric, results)
        if metric in means and n:
            out[metric] = max(0.0, math.floor((means[metric] - 1.5 / n) * 100 + 1e-9) / 100)
    return out

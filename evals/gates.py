"""Quality gates: per-metric thresholds (evals/gates.json, versioned) and a stored baseline.

A run fails when a gated mean is below its threshold, or below the baseline mean by more than the
tolerance. Each failure names the questions that caused it: those scoring lower than in the baseline,
else those scoring below 1 (or, for abstention, the questions answered or abstained wrongly).
A dataset's gates may name the part they apply to (`"split": "test"`); a gate may be on one question class
or answer type, written `<group>/<metric>` (e.g. `near_miss/abstention_recall`, `type:money/correct`),
from `evals.metrics.breakdown`.
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


def flatten(groups: dict) -> dict:
    """breakdown() -> {"<group>/<metric>": value} for every group but "all" (whose figures are the means)."""
    return {f"{group}/{metric}": value for group, stats in groups.items() if group != "all"
            for metric, value in stats.items() if metric != "n" and value is not None}


def _in_group(result: dict, group: str) -> bool:
    if group.startswith("type:"):
        return result.get("answer_type") == group[5:]
    return result.get("question_class") == group


def write_baseline(dataset: str, run: dict) -> Path:
    """The gated part of a run (its means, per-class figures and per-question scores) as the baseline."""
    path = baseline_file(dataset)
    split = run.get("gate_split", "all")
    results = [r for r in run["results"] if split == "all" or r.get("split") == split]
    data = {"dataset": dataset, "created": run["started"], "engine": run["engine"], "split": split,
            "means": run.get("gate_means") or run["means"],
            "questions": {r["id"]: {k: v for k, v in r["scores"].items() if isinstance(v, (int, float))}
                          | {"passed": r["passed"]} for r in results}}
    path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return path


def _culprits(metric: str, results: list[dict], baseline: dict | None) -> list[str]:
    if "/" in metric:
        group, metric = metric.split("/", 1)
        results = [r for r in results if _in_group(r, group)]
        if metric == "wrongly_abstained":
            return [r["id"] for r in results if not r["expect_abstain"] and r["abstained"]]
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
        # over a small group one question weighs more than the tolerance: allow one question's worth
        allowed = max(tolerance, 1.5 / max(1, _count(metric, results))) if "/" in metric else tolerance
        if isinstance(old, (int, float)) and value < old - allowed:
            failures.append(GateFailure(metric, value, old - allowed, "regressed from baseline",
                                        _culprits(metric, results, baseline)))
    return failures


GATED = ("key_fact_recall", "correct", "short_exact", "citation_valid", "id_based_context_recall",
         "id_based_context_precision", "non_llm_context_recall", "non_llm_context_precision_with_reference", "rouge_score", "chrf_score",
         "abstention_recall", "abstention_precision", "answered_rate", "pass_rate")


def _count(metric: str, results: list[dict]) -> int:
    """How many questions a mean is taken over (one question's weight is 1/n)."""
    if "/" in metric:
        group, metric = metric.split("/", 1)
        results = [r for r in results if _in_group(r, group)]
        if metric in ("correct", "short_exact", "short_f1"):
            return sum(isinstance(r["scores"].get(metric), (int, float)) for r in results)
    if metric == "abstention_recall":
        return sum(r["expect_abstain"] for r in results)
    if metric == "abstention_precision":
        return sum((r["abstain_ok"] if r["expect_abstain"] else r["abstained"]) for r in results)
    if metric == "answered_rate":
        return sum(not r["expect_abstain"] for r in results)
    if metric == "pass_rate":
        return len(results)
    return sum(isinstance(r["scores"].get(metric), (int, float)) for r in results)


GATED_PER_GROUP = ("correct", "abstention_recall", "citation_valid")  # per class and answer type


def propose(means: dict, results: list[dict]) -> dict:
    """Thresholds from a measured run by the margin rule: min = measured - 1.5/n, rounded down to 0.01,
    where n is the number of questions the mean is taken over. The gate then tolerates one more
    failing question (or the same loss spread over several) but not two. Per-group metrics are proposed
    for question classes only (answer types are reported, not gated: most have fewer than 10 questions)."""
    import math

    out = {}
    grouped = sorted(k for k in means if "/" in k and not k.startswith("type:")
                     and k.split("/", 1)[1] in GATED_PER_GROUP)
    for metric in list(GATED) + grouped:
        n = _count(metric, results)
        if metric in means and n:
            out[metric] = max(0.0, math.floor((means[metric] - 1.5 / n) * 100 + 1e-9) / 100)
    return out

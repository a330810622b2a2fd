"""The small measuring tools every eval and benchmark shares: one percentile, one retrieval scorer."""
from __future__ import annotations

import math

KS = (1, 3, 5, 10)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile, q in 0..100 (nan for no values)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered), max(1, math.ceil(q / 100 * len(ordered)))) - 1]


def dedupe(ids: list[str]) -> list[str]:
    """First occurrence of each id, in order (passages -> the articles they come from)."""
    return list(dict.fromkeys(ids))


def rank_metrics(rankings: list[list[str]], golds: list[str | set[str]], ks=KS) -> dict:
    """Recall@k for each k and MRR@10 of ranked ids against each question's gold id (or set of ids)."""
    sets = [{g} if isinstance(g, str) else set(g) for g in golds]
    n = len(sets) or 1

    def rank(ranking: list[str], gold: set[str]) -> int | None:
        return next((i + 1 for i, x in enumerate(ranking) if x in gold), None)

    ranks = [rank(r, g) for r, g in zip(rankings, sets)]
    out = {f"R@{k}": round(sum(1 for r in ranks if r and r <= k) / n, 3) for k in ks}
    out["MRR@10"] = round(sum(1 / r for r in ranks if r and r <= 10) / n, 3)
    return out

"""Citation checking shared by both answer modes: [n] markers -> verified, renumbered Citations.

A marker survives only if it names a passage that was shown; survivors are renumbered 1, 2, ... in order
of first use, so [n] in the text and citation n in the list always point at the same passage.
"""
from __future__ import annotations

import re

from .text import sentence_spans, terms
from .types import Citation, Passage

MARKER = re.compile(r"\s*\[(\d+(?:\s*,\s*\d+)*)\]")
SUPPORT_MIN = 0.5  # share of a sentence's content words that its cited passage must contain


def resolve(text: str, shown: list[Passage], quotes: dict[int, str] | None = None
            ) -> tuple[str, list[Citation], list[int]]:
    """Return (text with valid, renumbered markers; citations; invalid marker numbers dropped)."""
    order: dict[int, int] = {}  # shown index (1-based) -> new number
    dropped: list[int] = []

    def renumber(match: re.Match) -> str:
        kept = []
        for raw in match.group(1).split(","):
            old = int(raw)
            if 1 <= old <= len(shown):
                new = order.setdefault(old, len(order) + 1)
                if new not in kept:
                    kept.append(new)
            else:
                dropped.append(old)
        return " " + "".join(f"[{n}]" for n in kept) if kept else ""

    clean = MARKER.sub(renumber, text).strip()
    clean = re.sub(r"\s+([.,;:!?])", r"\1", clean)  # "claim [9]." with [9] dropped -> "claim."
    citations = []
    for old, new in order.items():
        passage = shown[old - 1]
        citations.append(Citation(
            n=new, article_id=passage.article_id, title=passage.title, date=passage.date, text=passage.text,
            start=passage.start, end=passage.end, score=passage.score, passage_id=passage.id,
            quote=(quotes or {}).get(old, "")))
    citations.sort(key=lambda c: c.n)
    return clean, citations, dropped


def claims(text: str) -> list[tuple[str, list[int]]]:
    """Each sentence of an answer with the citation numbers attached to it."""
    out = []
    for lo, hi in sentence_spans(text):
        sentence = text[lo:hi]
        numbers = [int(n) for group in MARKER.findall(sentence) for n in group.split(",")]
        out.append((MARKER.sub("", sentence).strip(), numbers))
    return out


def support(claim: str, passage_text: str) -> float:
    """Share of the claim's content words found in the passage (a cheap lexical entailment check)."""
    claim_terms = set(terms(claim))
    if not claim_terms:
        return 1.0
    return len(claim_terms & set(terms(passage_text))) / len(claim_terms)


def check(text: str, citations: list[Citation]) -> list[dict]:
    """Sentences of an answer that are not supported by the passages they cite (or cite nothing)."""
    by_n = {c.n: c for c in citations}
    problems = []
    for claim, numbers in claims(text):
        if not terms(claim):
            continue
        cited = [by_n[n].text for n in numbers if n in by_n]
        if not cited:
            problems.append({"sentence": claim, "problem": "no citation"})
            continue
        score = max(support(claim, passage) for passage in cited)
        if score < SUPPORT_MIN:
            problems.append({"sentence": claim, "problem": "not supported by its cited passage",
                             "support": round(score, 3), "cites": numbers})
    return problems


def best_quote(claim: str, passage: Passage) -> str:
    """The sentence of the passage that shares the most content words with the claim."""
    claim_terms = set(terms(claim))
    best, best_overlap = "", -1
    for lo, hi in sentence_spans(passage.text):
        overlap = len(claim_terms & set(terms(passage.text[lo:hi])))
        if overlap > best_overlap:
            best, best_overlap = passage.text[lo:hi], overlap
    return best


def attach_missing(text: str, shown: list[Passage]) -> tuple[str, list[str]]:
    """Give each uncited sentence of a model's answer the shown passage that supports it best, if one
    supports it well enough; small models often state a fact from passage 1 without writing [1].
    Returns the new text (markers still numbered by position in `shown`) and the sentences so cited."""
    pieces, attached, last = [], [], 0
    for lo, hi in sentence_spans(text):
        sentence = text[lo:hi]
        pieces.append(text[last:hi])
        last = hi
        if MARKER.search(sentence) or not terms(sentence) or not shown:
            continue
        scores = [support(sentence, p.text) for p in shown]
        best = max(range(len(shown)), key=scores.__getitem__)
        if scores[best] >= SUPPORT_MIN:
            pieces.append(f" [{best + 1}]")
            attached.append(sentence)
    pieces.append(text[last:])
    return "".join(pieces), attached

"""Citation checking shared by every answerer: [n] markers -> verified, renumbered Citations.

A marker survives only if it names a passage that was shown; survivors are renumbered 1, 2, ... in order
of first use, so [n] in the text and citation n in the list always point at the same passage. Markers
that come from article text ("... [1] [2] ...") are neutralised before an answer is built from that text
or a model sees it, so an article can never forge a citation.
"""
from __future__ import annotations

import re

from .text import sentence_spans, terms
from .types import Citation, Passage

MARKER = re.compile(r"\s*\[(\d+(?:\s*,\s*\d+)*)\]")
SUPPORT_MIN = 0.5  # share of a sentence's content words that its cited passage must contain
_SOURCE_MARKER = re.compile(r"\[(\s*\d+(?:\s*,\s*\d+)*\s*)\]")


def neutralise(text: str) -> str:
    """Source text with its "[n]" written "［n］" (full-width brackets): readable, never a marker."""
    return _SOURCE_MARKER.sub(lambda m: f"\uff3b{m.group(1)}\uff3d", text)


def resolve(text: str, shown: list[Passage]) -> tuple[str, list[Citation], list[int]]:
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
    citations = sorted((Citation(n=new, passage=shown[old - 1]) for old, new in order.items()), key=lambda c: c.n)
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


def quote_span(claim: str, passage: Passage) -> list[tuple[int, int]]:
    """The span of the passage sentence that shares the most content words with the claim (none if
    no sentence shares any)."""
    claim_terms = set(terms(claim))
    best, best_overlap = [], 0
    for lo, hi in sentence_spans(passage.text):
        overlap = len(claim_terms & set(terms(passage.text[lo:hi])))
        if overlap > best_overlap:
            best, best_overlap = [(lo, hi)], overlap
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


def problems(answer) -> list[str]:
    """Why an answer's citations are not valid (empty: valid). The one validity check, used by the
    evals and the tests: every [n] has a citation and every citation is referenced; each cites a
    retrieved passage; each quote span lies inside its passage; an answer that is not an abstention
    cites something."""
    out = []
    by_n = {c.n: c for c in answer.citations}
    shown = {p.id: p for p in answer.retrieved}
    used = {int(n) for group in MARKER.findall(answer.text) for n in group.split(",")}
    for n in sorted(used - set(by_n)):
        out.append(f"[{n}] has no citation")
    for c in answer.citations:
        passage = shown.get(c.passage_id)
        if passage is None or passage.text != c.text:
            out.append(f"citation {c.n} is not a retrieved passage")
        if any(not (0 <= lo < hi <= len(c.text)) for lo, hi in c.quote_spans):
            out.append(f"citation {c.n}: quote span outside its passage")
        if c.n not in used:
            out.append(f"citation {c.n} is never referenced in the text")
    if not answer.abstained and not answer.citations:
        out.append("answer cites nothing")
    return out

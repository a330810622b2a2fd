"""The offline answerer: pick the sentences of the retrieved passages that answer the question.

Each candidate sentence is scored on four signals:
  dense  cosine between question and sentence (MiniLM), from the sentence vectors stored at ingest
  lex    IDF-weighted share of the question's content words that the sentence contains
  kind   whether the sentence has what the question asks for (a number for "how many", a name for "who")
  prior  the fused retrieval rank of its passage
The answer is the best sentence, plus a second one when it is nearly as good and adds question words.
`support` (dense of the best sentence and word coverage of its passage, discounted for question words the
corpus never uses) decides abstention.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from .index import sentence_id
from .text import Idf, sentence_spans, terms
from .types import Passage

MIN_WORDS = 4
W_DENSE, W_LEX, W_KIND, W_PRIOR = 0.5, 0.35, 0.1, 0.05
UNKNOWN_TERM_DISCOUNT = 0.75

_MONTHS = "january|february|march|april|may|june|july|august|september|october|november|december"
_KINDS = [
    (re.compile(r"^(how (many|much|large|big|long|old|often|far)|what (number|percentage|share|amount))\b"),
     re.compile(r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|hundred|thousand|million|billion)\b",
                re.I)),
    (re.compile(r"^(when|what (year|date|day|month|time)|which (year|date|day|month))\b"),
     re.compile(rf"\b(1[5-9]\d\d|20\d\d|{_MONTHS}|monday|tuesday|wednesday|thursday|friday|saturday|sunday"
                r"|yesterday|today|last (week|month|year)|earlier|later)\b", re.I)),
    (re.compile(r"^(who|whom|whose|which (company|person|firm|lab|people|engineers|organi[sz]ation))\b"),
     re.compile(r"(?<!^)(?<![.!?]\s)\b[A-Z][a-z]+")),
    (re.compile(r"^(where|which (city|country|state|place|data cent(er|re)|facility))\b"),
     re.compile(r"\b(in|at|from|near) [A-Z][a-z]+|\b[A-Z][a-z]+, [A-Z][a-z]+")),
]


@dataclass
class Candidate:
    passage: int  # index into the retrieved passages
    start: int  # offsets within the passage text
    end: int
    text: str
    terms: frozenset
    lex: float
    kind: float
    prior: float
    vector_id: str = ""
    dense: float = 0.0

    @property
    def score(self) -> float:
        return W_DENSE * self.dense + W_LEX * self.lex + W_KIND * self.kind + W_PRIOR * self.prior


@dataclass
class Extract:
    sentences: list[Candidate]
    support: float
    features: dict


def answer_kind(question: str):
    q = question.strip().lower()
    for asks, has in _KINDS:
        if asks.search(q):
            return has
    return None


class ExtractiveAnswerer:
    def __init__(self, embed_model, sentence_vectors):
        self.embed_model = embed_model
        self.sentence_vectors = sentence_vectors  # ids -> stored vectors (see rag.index.sentence_id)

    def extract(self, question: str, passages: list[Passage], idf: Idf,
                query_embedding: list[float]) -> Extract | None:
        q_terms = set(terms(question))
        weight = {t: idf(t) for t in q_terms}
        total = sum(weight.values()) or 1.0
        kind = answer_kind(question)
        candidates = []
        for i, passage in enumerate(passages):
            for j, (lo, hi) in enumerate(sentence_spans(passage.text)):
                text = passage.text[lo:hi]
                if len(text.split()) < MIN_WORDS or text.strip("# ") == passage.title:
                    continue  # too short to answer anything; or the headline, which the citation shows
                s_terms = frozenset(terms(text))
                candidates.append(Candidate(
                    passage=i, start=lo, end=hi, text=text, terms=s_terms, vector_id=sentence_id(passage.id, j),
                    lex=sum(weight[t] for t in q_terms & s_terms) / total,
                    kind=0.5 if kind is None else float(bool(kind.search(text))),
                    prior=1.0 / (1 + i)))
        if not candidates:
            return None
        self._dense(candidates, np.asarray(query_embedding, dtype=np.float32))
        shortlist = sorted(candidates, key=lambda c: -c.score)
        best = shortlist[0]
        chosen = [best]
        for other in shortlist[1:]:
            adds_words = (other.terms & q_terms) - best.terms
            if other.score >= 0.9 * best.score and adds_words and other.text != best.text:
                chosen.append(other)
                break
        chosen.sort(key=lambda c: (c.passage, c.start))
        covered = set(terms(passages[best.passage].title + " " + passages[best.passage].text)) & q_terms
        coverage = sum(weight[t] for t in covered) / total if q_terms else 0.0
        # A question word the whole corpus never uses ("Tesla", "CEO" in a corpus without them) is the
        # strongest sign that the articles cannot answer: each one discounts the support.
        unknown = sorted(t for t in q_terms if not idf.known(t))
        support = (0.6 * best.dense + 0.4 * coverage) * UNKNOWN_TERM_DISCOUNT ** len(unknown)
        missing = sorted(t for t in q_terms if t not in covered)
        return Extract(chosen, support, {
            "best_dense": round(best.dense, 4), "best_lex": round(best.lex, 4), "coverage": round(coverage, 4),
            "missing_terms": missing, "unknown_terms": unknown, "support": round(support, 4)})

    def _dense(self, candidates: list[Candidate], query: np.ndarray) -> None:
        """Cosine of every candidate with the question, from the vectors stored at ingest; a sentence
        without a stored vector (an index from before a chunker change) is embedded now."""
        stored = self.sentence_vectors([c.vector_id for c in candidates])
        missing = [c for c in candidates if c.vector_id not in stored]
        if missing:
            fresh = np.asarray(self.embed_model.get_text_embedding_batch([c.text for c in missing]))
            stored |= {c.vector_id: v for c, v in zip(missing, fresh)}
        for candidate in candidates:
            candidate.dense = float(stored[candidate.vector_id] @ query)

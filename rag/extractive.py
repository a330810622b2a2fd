"""The offline answerer: pick the sentences of the retrieved passages that answer the question.

Each candidate sentence is scored on four signals:
  dense  cosine between question and sentence (MiniLM), from the sentence vectors stored at ingest
  lex    IDF-weighted share of the question's content words that the sentence contains
  kind   whether the sentence has what the question asks for (a number for "how many", a name for "who")
  prior  the fused retrieval rank of its passage
The answer is the best sentence, plus a second one when it is nearly as good, of the right kind too, and
adds question words.
`support` (dense of the best sentence and word coverage of its passage, discounted for question words the
corpus never uses) decides abstention.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from .answering import AnswerGen, abstention, quoted
from .index import sentence_id
from .text import Idf, sentence_spans, terms
from .types import Passage, Query, Trace

MIN_WORDS = 4
W_DENSE, W_LEX, W_KIND, W_PRIOR = 0.5, 0.35, 0.1, 0.05
UNKNOWN_NAME_DISCOUNT = 0.75

_MONTHS = "january|february|march|april|may|june|july|august|september|october|november|december"
_NUMBER = re.compile(r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|dozen|hundred|thousand|million|"
                     r"billion)\b", re.I)
_MONEY = re.compile(r"[$\u00a3\u20ac]\s?\d|\b(dollars?|pounds?|euros?|cents?|million|billion|trillion)\b", re.I)
_DATE = re.compile(rf"\b(1[5-9]\d\d|20\d\d|{_MONTHS}|monday|tuesday|wednesday|thursday|friday|saturday|sunday"
                   r"|last (week|month|year)|this (week|month|year))\b", re.I)
_PLACE = re.compile(r"\b(in|at|from|near|to) [A-Z][a-z]+|\b[A-Z][a-z]+, [A-Z][a-z]+")
_NAME = re.compile(r"(?<=\w[ ,(])[A-Z][\w'\u2019-]+")  # a capitalised word that does not start the sentence
_ASKS = [  # (what the question starts with, what a sentence answering it must contain)
    (r"^how much\b.*\b(cost|pay|paid|price|spend|spent|worth|money|charge|fund|invest)", _MONEY),
    (r"^(how (many|much|large|big|long|old|often|far)|what (number|percentage|share|amount))\b", _NUMBER),
    (r"^(when|what (year|date|day|month|time)|which (year|date|day|month))\b", _DATE),
    (r"^(where|which (city|country|state|place|data cent(er|re)|facility))\b", _PLACE),
    (r"^(who|whom|whose|which (company|person|firm|lab|people|engineers|organi[sz]ation))\b", _NAME),
]


def answer_kind(question: str):
    """A test for sentences that contain the kind of thing the question asks for, or None. A "who"
    question wants a name the question does not already contain."""
    q = question.strip().lower()
    for asks, has in _ASKS:
        if re.search(asks, q):
            if has is _NAME:
                known = set(re.findall(r"[\w'\u2019-]+", question.lower()))
                return lambda text: any(n.lower() not in known for n in _NAME.findall(text))
            return has.search
    return None


def names(question: str) -> list[str]:
    """Capitalised words after the first: the names and acronyms a question is about."""
    return _NAME.findall(question.strip())


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


class ExtractiveAnswerer:
    """The offline answerer: quotes the best sentence(s), or abstains when support is below threshold."""

    def __init__(self, index, threshold: float, abstain_text: str):
        self.index = index  # stored sentence vectors, IDF, the embedding model for sentences not stored
        self.threshold = threshold
        self.abstain_text = abstain_text

    def answer(self, query: Query, passages: list[Passage], trace: Trace) -> AnswerGen:
        extract = self.extract(query.text, passages, self.index.idf(), query.vector) if passages else None
        trace.threshold = self.threshold
        if extract is not None:
            trace.support = extract.support
            trace.features = extract.features
        if extract is None or extract.support < self.threshold:
            answer = abstention(query, passages, trace, self.abstain_text)
        else:
            answer = quoted(query, passages, trace,
                            [(passages[c.passage], c.start, c.end) for c in extract.sentences])
        yield answer.text
        return answer

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
                    kind=0.5 if kind is None else float(bool(kind(text))),
                    prior=1.0 / (1 + i)))
        if not candidates:
            return None
        self._dense(candidates, np.asarray(query_embedding, dtype=np.float32))
        shortlist = sorted(candidates, key=lambda c: -c.score)
        best = shortlist[0]
        chosen = [best]
        for other in shortlist[1:]:
            adds_words = (other.terms & q_terms) - best.terms
            if other.score >= 0.9 * best.score and adds_words and other.kind >= best.kind \
                    and other.text != best.text:
                chosen.append(other)
                break
        chosen.sort(key=lambda c: (c.passage, c.start))
        covered = set(terms(passages[best.passage].title + " " + passages[best.passage].text)) & q_terms
        coverage = sum(weight[t] for t in covered) / total if q_terms else 0.0
        # A name the whole corpus never uses ("Tesla", "CEO" in a corpus without them) is the strongest
        # sign that the articles cannot answer: each one discounts the support. Common words the corpus
        # lacks ("pay") are only paraphrase, and are not discounted.
        unknown = sorted({t for name in names(question) for t in terms(name) if not idf.known(t)})
        support = (0.6 * best.dense + 0.4 * coverage) * UNKNOWN_NAME_DISCOUNT ** len(unknown)
        missing = sorted(t for t in q_terms if t not in covered)
        return Extract(chosen, support, {
            "best_dense": round(best.dense, 4), "best_lex": round(best.lex, 4), "coverage": round(coverage, 4),
            "missing_terms": missing, "unknown_terms": unknown, "support": round(support, 4)})

    def _dense(self, candidates: list[Candidate], query: np.ndarray) -> None:
        """Cosine of every candidate with the question, from the vectors stored at ingest; a sentence
        without a stored vector (an index written by another version of `sentence_spans`) is embedded now."""
        stored = self.index.sentence_vectors([c.vector_id for c in candidates])
        missing = [c for c in candidates if c.vector_id not in stored]
        if missing:
            fresh = np.asarray(self.index.embed_model.get_text_embedding_batch([c.text for c in missing]))
            stored |= {c.vector_id: v for c, v in zip(missing, fresh)}
        for candidate in candidates:
            candidate.dense = float(stored[candidate.vector_id] @ query)

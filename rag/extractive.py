"""The offline answerer: pick the sentence of the retrieved passages that answers the question, or abstain.

Two small logistic models, their weights below, fitted by `python -m evals.calibrate --fit` on the tune parts
only (real_news tune, SQuAD 2.0 tune, seed_facts; evals/splits.py), see docs/CALIBRATION.md:

RANK (which sentence): every sentence of the retrieved passages is scored on
  dense   MiniLM cosine of question and sentence (sentence vectors stored at ingest)
  lex     IDF-weighted share of the question's content words in the sentence
  kind    the sentence holds what the question asks for (rag.answer_types: money, a count, a percentage,
          a date, a place, a person, an organisation) and the question does not already contain it
  name    for who/which/where questions: a capitalised name the question does not contain
  source  for who-said/which-paper-reported questions: an attribution ("according to X", "X said", a byline)
  prior   1 / (1 + fused retrieval rank of its passage)
The answer quotes the best sentence (plus a second when it is nearly as good, of the right kind too, and
adds question words), and its short answer (`Answer.short`) is the span of the asked kind in it.

SUPPORT (answer or abstain): the probability that the best sentence answers the question, from
  dense, lex           of the best sentence
  coverage             IDF-weighted share of the question's words in the best sentence's passage
  no_kind              the question asks for a kind of answer and the best sentence has none
  unknown_names        names of the question (capitalised words after the first) the corpus never uses
  missing_concepts     IDF-weighted share of the question's content words, other than names, generic
                       question words ("name", "year", "people"...) and the noun naming the kind of
                       answer ("which organisation"), that no retrieved passage contains:
                       "How much revenue did X make?" over passages about X that never mention revenue
  concept_in_sentence  share of those concept words the best sentence itself contains (an answer must
                       match what is asked about the entity, not only the entity)
  gap                  the largest IDF (over the corpus maximum) of a concept word missing from the best
                       sentence and its passage: one specific word that the answer's context lacks
  names_elsewhere      names of the question the corpus knows but the best passage lacks (an entity swap:
                       "How many GPUs did Facebook buy?" in a corpus that mentions Facebook elsewhere)
  number_missing       a number or year of the question is not in the best passage
The assistant says the articles don't say when support < `settings.abstain_threshold`.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from .answer_types import Asked, asked, attributions, new_names, short_answer, spans, type_nouns
from .answering import AnswerGen, abstention, quoted
from .index import sentence_id
from .text import Idf, sentence_spans, terms
from .types import Passage, Query, Trace

MIN_WORDS = 4
RANK_FEATURES = ("dense", "lex", "kind", "name", "source", "prior")
SUPPORT_FEATURES = ("dense", "lex", "coverage", "no_kind", "unknown_names", "missing_concepts",
                    "concept_in_sentence", "gap", "names_elsewhere", "number_missing")
# Fitted by `python -m evals.calibrate --fit` (docs/CALIBRATION.md); see the module docstring.
RANK_WEIGHTS = {"dense": 3.34, "lex": 5.02, "kind": 2.39, "name": 0.68, "source": 1.90, "prior": 2.88}
RANK_BIAS = -7.00
SUPPORT_WEIGHTS = {"dense": 1.47, "lex": -0.77, "coverage": 0.96, "no_kind": -0.80, "unknown_names": -1.57,
                   "missing_concepts": 0.91, "concept_in_sentence": 0.32, "gap": -0.68, "names_elsewhere": -0.75,
                   "number_missing": -1.79}
SUPPORT_BIAS = -0.99
SECOND_SENTENCE_RATIO = 0.9  # a second sentence is quoted when its rank score is at least this share of the best

# Words a question uses to say what kind of answer it wants, not what it is about: their absence from the
# passages says nothing ("What is the name of ...", "In what year ...", "How many people ...").
GENERIC = frozenset(terms("""name names called year years time times number numbers amount people person
    thing things way day days date place places percent percentage share much many kind type part total
    figure figures first last new main big large long old mean means happen happened make made get got take
    took give gave go went come came use used want know known think call like also well one two three
    title term role state states become became include including included per each every often called""")
                    )
_NAME = re.compile(r"(?<=\w[ ,(])[A-Z][\w'\u2019-]+")  # a capitalised word that does not start the sentence


def names(question: str) -> list[str]:
    """Capitalised words after the first: the names and acronyms a question is about."""
    return _NAME.findall(question.strip())


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, x))))


def _linear(weights: dict[str, float], bias: float, features: dict[str, float]) -> float:
    return bias + sum(w * features[name] for name, w in weights.items())


@dataclass
class Candidate:
    passage: int  # index into the retrieved passages
    start: int  # offsets within the passage text
    end: int
    text: str
    terms: frozenset
    features: dict
    vector_id: str = ""
    score: float = 0.0  # RANK probability


@dataclass
class Extract:
    sentences: list[Candidate]
    support: float
    features: dict  # the SUPPORT features and what explains them (for the trace)
    short: str = ""
    candidates: list[Candidate] | None = None  # every scored sentence, best first (for calibration)
    context: "Context | None" = None


class Context:
    """What the support features need from one question and its passages, computed once."""

    def __init__(self, question: str, passages: list[Passage], idf: Idf):
        self.want = asked(question)
        self.q_terms = set(terms(question))
        self.weight = {t: idf(t) for t in self.q_terms}
        self.total = sum(self.weight.values()) or 1.0
        self.passage_terms = [set(terms(p.title + " " + p.text)) for p in passages]
        everywhere = set().union(*self.passage_terms)
        name_terms = {t for name in names(question) for t in terms(name)}
        # A name the whole corpus never uses ("Tesla" in a corpus without it) is the strongest sign that
        # the articles cannot answer; common words the corpus lacks ("pay") may only be paraphrase.
        self.unknown = sorted(t for t in name_terms if not idf.known(t))
        kind_words = set(terms(" ".join(type_nouns(question))))
        self.concepts = self.q_terms - name_terms - GENERIC - kind_words
        self.concept_total = sum(self.weight[t] for t in self.concepts)
        self.missing = sorted(self.concepts - everywhere)
        self.name_terms = name_terms - set(self.unknown)
        self.numbers = set(re.findall(r"\d+(?:[.,]\d+)*", question))
        self.idf_max = idf.max or 1.0
        self.passage_numbers = [set(re.findall(r"\d+(?:[.,]\d+)*", p.title + " " + p.text)) for p in passages]


def support_features(ctx: Context, best: Candidate) -> dict[str, float]:
    """The SUPPORT features of `best` as the answer (see the module docstring)."""
    covered = ctx.passage_terms[best.passage] & ctx.q_terms
    has_kind = best.features["kind"] or (ctx.want.names and best.features["name"])
    share = (lambda words: sum(ctx.weight[t] for t in words) / ctx.concept_total) if ctx.concept_total else None
    return {
        "dense": best.features["dense"],
        "lex": best.features["lex"],
        "coverage": sum(ctx.weight[t] for t in covered) / ctx.total if ctx.q_terms else 0.0,
        "no_kind": float(bool(ctx.want.kinds) and not has_kind),
        "unknown_names": float(len(ctx.unknown)),
        "missing_concepts": share(ctx.missing) if share else 0.0,
        "concept_in_sentence": share(ctx.concepts & best.terms) if share else 1.0,
        "gap": max((ctx.weight[t] / ctx.idf_max for t in ctx.concepts - best.terms - ctx.passage_terms[best.passage]),
                   default=0.0),
        "names_elsewhere": float(len(ctx.name_terms - ctx.passage_terms[best.passage])),
        "number_missing": float(bool(ctx.numbers - ctx.passage_numbers[best.passage])),
    }


class ExtractiveAnswerer:
    """The offline answerer: quotes the best sentence(s), or abstains when support is below threshold."""

    def __init__(self, index, threshold: float, abstain_text: str):
        self.index = index  # stored sentence vectors, IDF, the embedding model for sentences not stored
        self.threshold = threshold
        self.abstain_text = abstain_text

    def best(self, query: Query, passages: list[Passage]) -> Extract | None:
        return self.extract(query.text, passages, self.index.idf(), query.vector) if passages else None

    def supported(self, extract: Extract | None) -> bool:
        """The one answer-or-abstain decision (also used to choose which dates a question searches)."""
        return extract is not None and extract.support >= self.threshold

    def answer(self, query: Query, passages: list[Passage], trace: Trace) -> AnswerGen:
        extract = self.best(query, passages)
        trace.threshold = self.threshold
        if extract is not None:
            trace.support = extract.support
            trace.features = extract.features
        if not self.supported(extract):
            answer = abstention(query, passages, trace, self.abstain_text)
        else:
            answer = quoted(query, passages, trace,
                            [(passages[c.passage], c.start, c.end) for c in extract.sentences], extract.short)
        yield answer.text
        return answer

    def extract(self, question: str, passages: list[Passage], idf: Idf,
                query_embedding: list[float]) -> Extract | None:
        ctx = Context(question, passages, idf)
        candidates = [c for i, passage in enumerate(passages) for c in self._candidates(ctx, i, passage, question)]
        if not candidates:
            return None
        self._dense(candidates, np.asarray(query_embedding, dtype=np.float32))
        for c in candidates:
            c.score = _sigmoid(_linear(RANK_WEIGHTS, RANK_BIAS, c.features))
        ranked = sorted(candidates, key=lambda c: -c.score)
        best = ranked[0]
        chosen = [best]
        for other in ranked[1:]:
            adds_words = (other.terms & ctx.q_terms) - best.terms
            if other.score >= SECOND_SENTENCE_RATIO * best.score and adds_words and other.text != best.text \
                    and other.features["kind"] >= best.features["kind"]:
                chosen.append(other)
                break
        chosen.sort(key=lambda c: (c.passage, c.start))
        features = support_features(ctx, best)
        # A passage sharing no word with the question cannot be shown to answer it, whatever the model
        # says (its weights are fitted, not monotone: missing concepts alone once scored 0.46).
        support = _sigmoid(_linear(SUPPORT_WEIGHTS, SUPPORT_BIAS, features)) if features["coverage"] else 0.0
        short = ""
        if best.features["kind"] or best.features["name"] or best.features["source"]:
            span = short_answer(question, best.text, ctx.want)
            short = best.text[span[0]:span[1]] if span else ""
        explained = {k: round(v, 4) for k, v in features.items()} | {
            "asked": list(ctx.want.kinds) + (["attribution"] if ctx.want.attribution else []),
            "unknown_terms": ctx.unknown, "missing_terms": ctx.missing, "support": round(support, 4)}
        return Extract(chosen, support, explained, short, ranked, ctx)

    @staticmethod
    def _candidates(ctx: Context, i: int, passage: Passage, question: str) -> list[Candidate]:
        out = []
        want = ctx.want
        for j, (lo, hi) in enumerate(sentence_spans(passage.text)):
            text = passage.text[lo:hi]
            if len(text.split()) < MIN_WORDS:
                continue  # too short to answer anything
            if text.strip("# ") == passage.title and not attributions(text):
                continue  # the headline, which the citation shows (unless it is a byline: "By X via Y")
            s_terms = frozenset(terms(text))
            features = {
                "dense": 0.0,
                "lex": sum(ctx.weight[t] for t in ctx.q_terms & s_terms) / ctx.total,
                "kind": float(bool(want.kinds) and bool(spans(text, want.kinds, question))),
                "name": float(want.names and bool(new_names(text, question))),
                "source": float(want.attribution and bool(attributions(text, question))),
                "prior": 1.0 / (1 + i),
            }
            out.append(Candidate(i, lo, hi, text, s_terms, features, sentence_id(passage.id, j)))
        return out

    def _dense(self, candidates: list[Candidate], query: np.ndarray) -> None:
        """Cosine of every candidate with the question, from the vectors stored at ingest; a sentence
        without a stored vector (an index written by another version of `sentence_spans`) is embedded now."""
        stored = self.index.sentence_vectors([c.vector_id for c in candidates])
        missing = [c for c in candidates if c.vector_id not in stored]
        if missing:
            fresh = np.asarray(self.index.embed_model.get_text_embedding_batch([c.text for c in missing]))
            stored |= {c.vector_id: v for c, v in zip(missing, fresh)}
        for candidate in candidates:
            candidate.features["dense"] = float(stored[candidate.vector_id] @ query)

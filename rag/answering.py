"""What every answerer shares: the `Answerer` protocol and the two ways an answer ends.

An answerer turns a `Query` and the retrieved passages into a stream of text and then an `Answer`
(the generator's return value), or returns None when it cannot answer, so that the next answerer in the
chain (e.g. extractive after a failed LLM call) takes over. Each answer kind (fact, timeline, count,
list, summary) is one small class with this shape; `Assistant` picks the chain.
"""
from __future__ import annotations

from typing import Generator, Protocol

from .citations import neutralise
from .types import Answer, Citation, Passage, Query, Trace

AnswerGen = Generator[str, None, "Answer | None"]


class Answerer(Protocol):
    def answer(self, query: Query, passages: list[Passage], trace: Trace) -> AnswerGen:
        ...


def abstention(query: Query, passages: list[Passage], trace: Trace, text: str) -> Answer:
    """The articles don't say: no citations; the passages stay as what was searched."""
    return Answer(query.question, text, True, [], passages, trace, kind=query.kind, filters=query.filters)


class NothingAsked:
    """A fact question with no word to look for ("When?", "Who?" alone): whatever sentence ranks first
    would be a guess, so it abstains, in every mode, and says what is missing."""

    def __init__(self, abstain_text: str):
        self.abstain_text = abstain_text

    def answer(self, query: Query, passages: list[Passage], trace: Trace):
        answer = abstention(query, passages, trace, self.abstain_text)
        answer.notice = "The question names nothing to look for: ask about a person, a place, an event or a thing."
        yield answer.text
        return answer


def quoted(query: Query, passages: list[Passage], trace: Trace,
           quotes: list[tuple[Passage, int, int]], short: str = "") -> Answer:
    """An answer made of sentences quoted from passages: each (passage, start, end) becomes
    "<sentence> [n]", where n numbers the passages in order of first use and each citation carries the
    spans of its quoted sentences. Markers inside the quoted text are neutralised first."""
    numbers: dict[str, Citation] = {}
    pieces = []
    for passage, lo, hi in quotes:
        citation = numbers.get(passage.id)
        if citation is None:
            citation = numbers[passage.id] = Citation(n=len(numbers) + 1, passage=passage)
        if (lo, hi) not in citation.quote_spans:
            citation.quote_spans.append((lo, hi))
        pieces.append(f"{neutralise(passage.text[lo:hi])} [{citation.n}]")
    for citation in numbers.values():
        citation.quote_spans.sort()
    return Answer(query.question, " ".join(pieces), False, list(numbers.values()), passages, trace,
                  kind=query.kind, filters=query.filters, short=short)

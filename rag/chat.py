"""Multi-turn chat: follow-up questions are rewritten into standalone ones using the history.

All condensing lives here: with a language model configured (llm mode) the model rewrites the follow-up;
otherwise, or when the model fails, a deterministic rewrite carries the previous question's topic words.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING

from . import prompts
from .citations import MARKER
from .text import STOPWORDS, TOKEN, terms
from .types import Answer, Trace

if TYPE_CHECKING:
    from .assistant import Assistant, AnswerStream

_DEPENDENT = re.compile(r"^\s*(and|but|also|so|then|what about|how about)\b"
                        r"|\b(they|them|their|theirs|it|its|he|him|his|she|her|this|that|these|those|there|"
                        r"the same|the company|the project)\b", re.I)
_LEADING = re.compile(r"^\s*(and|but|also|so|then)\b[\s,]*", re.I)


def looks_dependent(question: str) -> bool:
    return bool(_DEPENDENT.search(question)) or len(terms(question)) < 2


def rewrite(question: str, previous: str) -> str:
    """Deterministic condensing (no LLM): carry the previous question's topic words into a follow-up
    that leans on it. "and where will they be installed?" after "How many GPUs did Twitter buy?"
    becomes "where will they be installed? (GPUs Twitter buy)"."""
    if not previous or not looks_dependent(question):
        return question
    have = set(terms(question))
    carry, seen = [], set()
    for word in TOKEN.findall(previous):
        stem = terms(word)
        if word.lower() in STOPWORDS or not stem or stem[0] in have or stem[0] in seen:
            continue
        seen.add(stem[0])
        carry.append(word)
    core = _LEADING.sub("", question).strip()
    core = core[:1].upper() + core[1:]
    return f"{core} ({' '.join(carry)})" if carry else core


def condense(question: str, history: list[Answer], llm=None, max_chars: int = 2000) -> str:
    """A standalone version of a follow-up question: the model's rewrite when `llm` is given (and
    answers), else the deterministic one."""
    if not history:
        return question
    previous = history[-1].trace.standalone or history[-1].question
    if llm is None:
        return rewrite(question, previous)
    turns = "\n".join(f"User: {a.question}\nAssistant: {MARKER.sub('', a.text)}" for a in history[-3:])
    try:
        reply = llm.complete(prompts.CONDENSE.format(history=turns, question=question)).text
        reply = " ".join(reply.split())[:max_chars]
        return reply or rewrite(question, previous)
    except Exception:  # a dead LLM must not stop the conversation
        return rewrite(question, previous)


class Chat:
    """A conversation with the assistant. `ask` returns an Answer; `stream` an AnswerStream."""

    def __init__(self, assistant: "Assistant", condense: bool | None = None):
        self.assistant = assistant
        self.condense = assistant.settings.condense_followups if condense is None else condense
        self.history: list[Answer] = []

    def add_turn(self, question: str, answer_text: str) -> None:
        """Record an earlier turn without asking it (a conversation replayed from an API client or a
        saved conversation), so that the next follow-up is condensed against it."""
        trace = Trace(question=question, standalone=self.standalone(question))
        self.history.append(Answer(question, answer_text, False, trace=trace))

    def standalone(self, question: str) -> str:
        if not self.condense or not self.history:
            return question
        llm = self.assistant.llm if self.assistant.settings.effective_mode == "llm" else None
        return condense(question, self.history, llm, self.assistant.settings.max_question_chars)

    def stream(self, question: str, **options) -> "AnswerStream":
        self.assistant.query(question, **options)  # a bad question or option fails before any condensing
        query = self.assistant.query(question, standalone=self.standalone(question), **options)
        stream = self.assistant.run(query)
        stream.on_done(self.history.append)
        return stream

    def ask(self, question: str, **options) -> Answer:
        return self.stream(question, **options).result()

    def reset(self) -> None:
        self.history.clear()

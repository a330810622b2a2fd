"""The one engine behind the page, the CLI, the API, the evals and Python callers.

Where a question becomes an answer, in named stages: `stream` = `run(query(...))`, and `run` is
retrieve (hybrid search) -> answer (a chain of answerers, e.g. LLM then extractive as the fallback).
"""
from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import math
import re
import time
import unicodedata
from pathlib import Path
from typing import Callable, Iterator

import httpx

from . import news
from .answering import Answerer, NothingAsked
from .chat import Chat
from .chunking import Chunker
from .corpus import scan
from .dates import parse_dates
from .embedding import make_embedding
from .extractive import ExtractiveAnswerer
from .index import Index, StoreUnavailable
from .llm import LLMAnswerer, make_llm
from .retrieve import HybridRetriever
from .settings import Settings
from .text import terms
from .types import Answer, Filters, IngestReport, Passage, Query, Trace

MAX_TOP_K = 50
MAX_ARTICLE_IDS = 1000


class BadQuestion(ValueError):
    """The question or an option cannot be used (empty, undecodable, out of range); the message says why."""


class CorpusMissing(FileNotFoundError):
    """The corpus folder does not exist."""


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def clean_question(question: object, limit: int) -> tuple[str, str]:
    """(question, notice). Control and bidi characters go, lone surrogates (undecodable input) become
    U+FFFD, whitespace collapses, overlong input is truncated."""
    if not isinstance(question, str):
        raise BadQuestion("The question must be text.")
    text = _SURROGATE.sub("\ufffd", _CONTROL.sub(" ", question))
    text = " ".join(unicodedata.normalize("NFC", text).split())
    if not text.replace("\ufffd", "").strip():
        raise BadQuestion("Please type a question: it is empty." if not text else
                          "The question could not be read (undecodable characters).")
    if len(text) > limit:
        return text[:limit].rstrip(), f"Your question was {len(text):,} characters long; only the first " \
                                      f"{limit:,} were used."
    return text, ""


def check_top_k(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer() and math.isfinite(value):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_TOP_K:
        raise BadQuestion(f"top_k must be a whole number from 1 to {MAX_TOP_K}, not {str(value)[:40]!r}.")
    return value


def check_ids(value: object, what: str = "article_ids") -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str) or not isinstance(value, (list, tuple)) \
            or not all(isinstance(v, str) for v in value):
        raise BadQuestion(f"{what} must be a list of strings.")
    if len(value) > MAX_ARTICLE_IDS:
        raise BadQuestion(f"{what} may hold at most {MAX_ARTICLE_IDS} entries, not {len(value)}.")
    return tuple(value)


def check_date(value: object, name: str) -> str:
    if value in (None, ""):
        return ""
    try:
        if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            raise ValueError
        dt.date.fromisoformat(value)
    except ValueError:
        raise BadQuestion(f"{name} must be a date like 2023-04-11, not {str(value)[:40]!r}.") from None
    return value


class AnswerStream:
    """Iterate to receive the answer text as it is produced; `answer` (or `result()`) is the final,
    citation-checked Answer. In LLM mode the streamed pieces are the model's raw words; the final text
    may differ where invalid [n] markers were removed or renumbered."""

    def __init__(self, pieces: Iterator[str], retrieved: list[Passage], query: Query):
        self._pieces = pieces
        self.retrieved = retrieved
        self.query = query
        self.answer: Answer | None = None
        self._callbacks: list[Callable[[Answer], None]] = []

    def on_done(self, callback: Callable[[Answer], None]) -> None:
        self._callbacks.append(callback)

    def __iter__(self) -> Iterator[str]:
        if self.answer is not None:
            return
        self.answer = yield from self._pieces
        for callback in self._callbacks:
            callback(self.answer)

    def result(self) -> Answer:
        for _ in self:
            pass
        assert self.answer is not None
        return self.answer


class Assistant:
    def __init__(self, settings: Settings | None = None, *, embed_model=None, llm=None, **overrides):
        """Settings come from the environment (and .env); keyword overrides use the lower-case field
        names. `embed_model` (a LlamaIndex embedding with a `slug`) and `llm` (a LlamaIndex LLM) replace
        the configured ones: the tests inject small fakes this way."""
        base = settings or Settings()
        # validated, so a plain-str key becomes a SecretStr and a bad value fails here, not later
        self.settings = type(base).model_validate(base.model_dump() | overrides) if overrides else base
        if embed_model is None:
            embed_model, slug = make_embedding(self.settings)
        else:
            slug = getattr(embed_model, "slug", type(embed_model).__name__.lower())
        self.embed_model = embed_model
        self.index = Index(self.settings, self.embed_model, slug)
        self.chunker = Chunker(self.settings.chunk_size, self.settings.chunk_overlap)
        self.retriever = HybridRetriever(self.index, self.settings.top_k)
        self.llm = llm if llm is not None else make_llm(self.settings) if self.settings.llm_configured else None
        self.extractive = ExtractiveAnswerer(self.index, self.settings.abstain_threshold, self.settings.abstain_text)

    # ------------------------------------------------------------------ corpus
    def ingest(self, corpus_dir: str | Path | None = None, progress: bool = False, prune: bool = False) -> IngestReport:
        folder = Path(corpus_dir or self.settings.corpus_dir)
        if not folder.is_dir():
            raise CorpusMissing(f"corpus folder not found: {folder.name or folder}")
        max_bytes = int(self.settings.max_file_mb * 1_000_000)
        return self.index.ingest(scan(folder, max_bytes), self.chunker, progress=progress, prune=prune)

    def articles(self, query: str = "", offset: int = 0, limit: int | None = None) -> list[dict]:
        """Indexed articles (article_id, title, date, source, author, url, chunks), by date then id;
        `query` keeps those whose title, id or source contains it (case-insensitive)."""
        self._refresh()
        rows = self.index.articles()
        if query:
            needle = query.lower()
            rows = [r for r in rows if needle in f"{r['title']} {r['article_id']} {r['source']}".lower()]
        return rows[offset:offset + limit if limit is not None else None]

    def article(self, article_id: str) -> dict | None:
        """One indexed article with its full text (rebuilt from its stored passages), or None."""
        self._refresh()
        return self.index.article(article_id)

    def search(self, query: str, top_k: int | None = None, *, article_ids=(), date_from: str = "",
               date_to: str = "", sources=()) -> list[Passage]:
        """The passages retrieval ranks highest for `query` (no answer is built)."""
        q = self.query(query, top_k=top_k, article_ids=article_ids, date_from=date_from, date_to=date_to,
                       sources=sources)
        return self._retrieve(q, Trace())

    # ------------------------------------------------------------------ questions
    def ask(self, question: str, **options) -> Answer:
        """Answer one question. Options: top_k, mode ("extractive" | "llm"), article_ids, date_from,
        date_to, sources. Raises BadQuestion for an empty question or a bad option."""
        return self.stream(question, **options).result()

    def stream(self, question: str, **options) -> AnswerStream:
        """Like `ask`, streaming. Retrieval happens now; the answer is produced as you iterate."""
        return self.run(self.query(question, **options))

    @contextlib.contextmanager
    def _store_reachable(self):
        """A Chroma server that went away mid-session (any store read: dates, filters, retrieval) is a
        StoreUnavailable that names it, never a raw transport error."""
        try:
            yield
        except (httpx.TransportError, ConnectionError) as err:
            raise StoreUnavailable(f"the Chroma server at {self.settings.chroma_host}:{self.settings.chroma_port} "
                                   f"stopped answering ({type(err).__name__}); try again when it is back") from err

    def _refresh(self) -> None:
        """See articles another process ingested since the last question (rag/index.py: Index.refresh)."""
        with self._store_reachable():
            self.index.refresh()

    def chat(self, condense: bool | None = None) -> Chat:
        return Chat(self, condense)

    def query(self, question: str, *, standalone: str | None = None, top_k=None, mode: str | None = None,
              article_ids=(), date_from="", date_to="", sources=(), dates: bool = True) -> Query:
        """Stage 1: the checked question and options as a Query (raises BadQuestion). A date expression
        in the question ("in April 2023", "last week") leaves the text that is matched (a date is never a
        topic word) and becomes a date filter unless `dates` is False (the page's chip ×: "ask again without
        the date"); explicit date_from/date_to win over it."""
        text, notice = clean_question(question, self.settings.max_question_chars)
        self._refresh()
        matched = clean_question(standalone, self.settings.max_question_chars)[0] if standalone else text
        mode = mode or self.settings.effective_mode
        if mode not in ("extractive", "llm"):
            raise BadQuestion(f"mode must be 'extractive' or 'llm', not {str(mode)[:40]!r}.")
        if mode == "llm" and self.llm is None:
            notice = _join(notice, "No language model is configured (set OPENAI_API_KEY or OPENAI_BASE_URL); "
                                   "this answer was extracted from the articles.")
            mode = "extractive"
        date_from, date_to = check_date(date_from, "date_from"), check_date(date_to, "date_to")
        if date_from and date_to and date_from > date_to:
            raise BadQuestion(f"date_from ({date_from}) is after date_to ({date_to}).")
        label, dated = "", matched
        parsed = parse_dates(matched, self._anchor())
        if parsed.range is not None:
            matched = parsed.text or matched
            if dates and not (date_from or date_to):  # explicit filters win over the question's dates
                label = parsed.range.label
                date_from, date_to = parsed.range.date_from, parsed.range.date_to
        filters = Filters(check_ids(article_ids), date_from, date_to, check_ids(sources, "sources"))
        kind = news.detect(matched, has_range=bool(label))
        return Query(question=text, text=matched, top_k=check_top_k(top_k) or self.settings.top_k, mode=mode,
                     filters=filters, notice=notice, kind=kind.kind, topic=kind.topic, title=kind.title,
                     literal=kind.literal,
                     date_label=label, dated_text=dated)

    def _anchor(self) -> dt.date:
        """What "last week" is relative to: the newest article's date (RAG_DATE_ANCHOR=corpus), or today."""
        with self._store_reachable():
            newest = self.index.newest_date() if self.settings.date_anchor == "corpus" else ""
        try:
            return dt.date.fromisoformat(newest[:10]) if newest else dt.date.today()
        except ValueError:
            return dt.date.today()

    def run(self, query: Query) -> AnswerStream:
        """Stages 2 to 4: the dates searched, retrieval now, the answer as the stream is read."""
        started = time.perf_counter()
        trace = Trace(mode=query.mode, model=self.settings.llm_model if query.mode == "llm" else "extractive",
                      question=query.question, standalone=query.text, top_k=query.top_k, kind=query.kind,
                      filters=query.filters.to_dict() if query.filters else None)
        scoped = self._scope(query, trace)
        if scoped is None:
            return AnswerStream(self._nothing_from(query, trace, started), [], query)
        query, passages = scoped
        passages = self._retrieve(query, trace) if passages is None else passages
        return AnswerStream(self._answer(query, passages, trace, started), passages, query)

    def _scope(self, query: Query, trace: Trace) -> tuple[Query, list[Passage] | None] | None:
        """Stage 2, for a question with dates: the query to answer (and its passages when deciding needed
        them), or None when no article from those dates exists or answers ("No articles from May 2020")."""
        if not query.date_label:
            return query, None
        with self._store_reachable():
            nothing = not self.index.has_articles(query.filters)
        if not _asks_about_a_thing(query):  # "What was reported in May 2020?": the dates are the articles'
            return None if nothing else (query, None)
        # "Which data center did Twitter shut down in December 2022?": the date may be the event's, not
        # the article's. Kept as a filter when an article from then answers; else every date is searched.
        if not nothing:
            passages = self._retrieve(query, trace)
            if self._answerable(query, passages):
                return query, passages
        wider = _over_every_date(query, nothing)
        passages = self._retrieve(wider, trace)
        if nothing and not self._answerable(wider, passages):  # "How many GPUs did Twitter buy in May 2020?"
            return None
        trace.filters = wider.filters.to_dict() if wider.filters else None
        return wider, passages

    def _answerable(self, query: Query, passages: list[Passage]) -> bool:
        """The extractive answerer would answer from these passages (it abstains otherwise)."""
        with self._store_reachable():
            return self.extractive.supported(self.extractive.best(query, passages))

    def _nothing_from(self, query: Query, trace: Trace, started: float) -> Iterator[str]:
        answer = news.no_articles(query, trace, query.date_label)
        answer.notice = query.notice
        trace.timings_ms["total"] = _ms(started)
        yield answer.text
        return answer

    def _retrieve(self, query: Query, trace: Trace) -> list[Passage]:
        """Stage 3. Called twice for a dated question whose dates are widened: the trace keeps the ranks
        of the passages answered from and the time of both retrievals."""
        t0 = time.perf_counter()
        ranks: dict = {}
        with self._store_reachable():
            if query.vector is None:  # shared by retrieval and the extractive answerer
                query.vector = self.embed_model.get_query_embedding(query.text)
            passages = self.retriever.search(query.text, query.top_k, query.filters, query.vector, ranks)
        trace.ranks = ranks
        trace.timings_ms["retrieve"] = round(trace.timings_ms.get("retrieve", 0.0) + _ms(t0), 2)
        trace.retrieved_ids = [p.id for p in passages]
        return passages

    def _answerers(self, query: Query) -> list[Answerer]:
        """The chain for this kind of question: the first answerer that answers wins."""
        llm = LLMAnswerer(self.llm, self.settings) if query.mode == "llm" else None
        if query.kind in ("count", "list", "sources"):  # computed over the whole index, in every mode
            return [news.CorpusAnswerer(self, query.kind)]
        kinds = {"latest": lambda: news.LatestAnswerer(self), "earliest": lambda: news.LatestAnswerer(self, True),
                 "timeline": lambda: news.TimelineAnswerer(self), "summary": lambda: news.SummaryAnswerer(self)}
        if query.kind in kinds:
            extractive = kinds[query.kind]()
            return [news.WithModel(extractive, llm, query.kind) if llm else extractive]
        if not terms(query.text):
            return [NothingAsked(self.settings.abstain_text)]
        return [llm, self.extractive] if llm else [self.extractive]

    def _answer(self, query: Query, passages: list[Passage], trace: Trace, started: float) -> Iterator[str]:
        t0 = time.perf_counter()
        notice = query.notice
        for answerer in self._answerers(query):
            answer = yield from answerer.answer(query, passages, trace)
            if answer is not None:
                break
            if trace.fallback:
                notice = _join(notice, f"The language model could not answer ({trace.fallback}); "
                                       "this answer was extracted from the articles.")
        answer.notice = _join(notice, answer.notice)
        trace.timings_ms["answer"] = _ms(t0)
        trace.timings_ms["total"] = _ms(started)
        trace.cited_ids = [c.passage_id for c in answer.citations]
        return answer

    # ------------------------------------------------------------------ LlamaIndex
    def as_query_engine(self, streaming: bool = False, **options):
        """A real LlamaIndex query engine over this assistant (see rag.engine)."""
        from .engine import AssistantQueryEngine

        return AssistantQueryEngine(assistant=self, streaming=streaming, options=options)


# Words a question uses about the articles themselves ("What was reported in May 2020?"), not a topic.
_ABOUT_THE_ARTICLES = frozenset(terms("article articles report reported reports news story stories happen "
                                      "happened say said says publish published written wrote cover covered"))


def _asks_about_a_thing(query: Query) -> bool:
    """A fact question with a topic beyond its date: when no article is from that date, the date is
    probably when the thing happened, not when it was reported."""
    return query.kind == "fact" and bool(set(terms(query.text)) - _ABOUT_THE_ARTICLES)


def _over_every_date(query: Query, nothing: bool) -> Query:
    """The question asked again without the date filter it parsed, its date words matched as words."""
    filters = Filters(query.filters.article_ids, "", "", query.filters.sources)
    why = f"No articles are from {query.date_label}" if nothing else \
        f"No article from {query.date_label} answers this"
    notice = _join(query.notice, f"{why}, so articles of every date were searched (the date may be when it "
                                 "happened, not when it was reported).")
    return dataclasses.replace(query, text=query.dated_text or query.text, filters=filters, date_label="",
                               vector=None, notice=notice)


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 2)


def _join(a: str, b: str, sep: str = " ") -> str:
    return sep.join(part for part in (a, b) if part)

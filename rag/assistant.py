"""The one engine behind the page, the CLI, the evals and Python callers.

Where a question becomes an answer: `Assistant._answer` (retrieve -> extractive or LLM -> verified citations).
"""
from __future__ import annotations

import re
import time
import unicodedata
from pathlib import Path
from typing import Callable, Iterator

import httpx

from . import citations as cite
from . import prompts
from .chat import Chat, rewrite
from .chunking import Chunker
from .corpus import scan
from .embedding import make_embedding
from .extractive import ExtractiveAnswerer
from .index import Index, StoreUnavailable
from .llm import describe_error, chat_messages, make_llm
from .retrieve import HybridRetriever
from .settings import Settings
from .text import Idf
from .types import Answer, Filters, IngestReport, Passage


class BadQuestion(ValueError):
    """The question cannot be asked (empty, only whitespace or control characters)."""


class CorpusMissing(FileNotFoundError):
    """The corpus folder does not exist."""


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


def clean_question(question: object, limit: int) -> tuple[str, str]:
    """(question, notice). Control characters go, whitespace collapses, overlong input is truncated."""
    if not isinstance(question, str):
        raise BadQuestion("The question must be text.")
    text = unicodedata.normalize("NFC", _CONTROL.sub(" ", question))
    text = " ".join(text.split())
    if not text:
        raise BadQuestion("Please type a question: it is empty.")
    if len(text) > limit:
        return text[:limit].rstrip(), f"Your question was {len(text):,} characters long; only the first " \
                                      f"{limit:,} were used."
    return text, ""


class AnswerStream:
    """Iterate to receive the answer text as it is produced; `answer` (or `result()`) is the final,
    citation-checked Answer. In LLM mode the streamed pieces are the model's raw words; the final text
    may differ where invalid [n] markers were removed or renumbered."""

    def __init__(self, pieces: Iterator[str], retrieved: list[Passage]):
        self._pieces = pieces
        self.retrieved = retrieved
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
    def __init__(self, settings: Settings | None = None, **overrides):
        base = settings or Settings()
        # validated, so a plain-str key becomes a SecretStr and a bad value fails here, not later
        self.settings = type(base).model_validate(base.model_dump() | overrides) if overrides else base
        self.embed_model, slug = make_embedding(self.settings)
        self.index = Index(self.settings, self.embed_model, slug)
        self.chunker = Chunker(self.settings.chunk_size, self.settings.chunk_overlap)
        self.retriever = HybridRetriever(self.index, self.settings.top_k)
        self.extractive = ExtractiveAnswerer(self.embed_model, self.index.sentence_vectors)
        self.llm = make_llm(self.settings) if self.settings.llm_configured else None
        self._idf: tuple[object, Idf] | None = None

    # ------------------------------------------------------------------ corpus
    def ingest(self, corpus_dir: str | Path | None = None, progress: bool = False) -> IngestReport:
        folder = Path(corpus_dir or self.settings.corpus_dir)
        if not folder.is_dir():
            raise CorpusMissing(f"corpus folder not found: {folder}")
        max_bytes = int(self.settings.max_file_mb * 1_000_000)
        return self.index.ingest(scan(folder, max_bytes), self.chunker, progress=progress)

    def articles(self, query: str = "", offset: int = 0, limit: int | None = None) -> list[dict]:
        """Indexed articles (article_id, title, date, source, author, url, chunks), by date then id;
        `query` keeps those whose title, id or source contains it (case-insensitive)."""
        rows = self.index.articles()
        if query:
            needle = query.lower()
            rows = [r for r in rows if needle in f"{r['title']} {r['article_id']} {r['source']}".lower()]
        return rows[offset:offset + limit if limit is not None else None]

    def article(self, article_id: str) -> dict | None:
        """One indexed article with its full text (rebuilt from its stored passages), or None."""
        return self.index.article(article_id)

    def search(self, query: str, top_k: int | None = None, *, article_ids=(), date_from: str = "",
               date_to: str = "", sources=()) -> list:
        """The passages retrieval ranks highest for `query` (no answer is built)."""
        text, _ = clean_question(query, self.settings.max_question_chars)
        return self.retriever.search(text, top_k, Filters(tuple(article_ids), date_from, date_to, tuple(sources)))

    # ------------------------------------------------------------------ questions
    def ask(self, question: str, **options) -> Answer:
        """Answer one question. Options: top_k, mode ("extractive" | "llm"), article_ids, date_from,
        date_to. Raises BadQuestion for an empty question."""
        return self.stream(question, **options).result()

    def stream(self, question: str, *, top_k: int | None = None, mode: str | None = None,
               article_ids: list[str] | tuple[str, ...] = (), date_from: str = "", date_to: str = "",
               standalone: str | None = None) -> AnswerStream:
        """Like `ask`, streaming. Retrieval happens now; the answer is produced as you iterate."""
        started = time.perf_counter()
        text, notice = clean_question(question, self.settings.max_question_chars)
        query = clean_question(standalone, self.settings.max_question_chars)[0] if standalone else text
        mode = mode or self.settings.effective_mode
        if mode not in ("extractive", "llm"):
            raise ValueError(f"unknown answer mode {mode!r}: use 'extractive' or 'llm'")
        trace: dict = {"mode": mode, "question": text, "standalone": query,
                       "model": self.settings.llm_model if mode == "llm" else "extractive",
                       "top_k": top_k or self.settings.top_k, "timings_ms": {}}
        for day in (date_from, date_to):
            if day and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", day):
                raise BadQuestion(f"Dates must look like 2023-04-11, not {day[:40]!r}.")
        filters = Filters(tuple(article_ids), date_from, date_to)
        if filters:
            trace["filters"] = {"article_ids": list(article_ids), "date_from": date_from, "date_to": date_to}
        t0 = time.perf_counter()
        try:
            query_vector = self.embed_model.get_query_embedding(query)  # shared by retrieval and answering
            retrieved = self.retriever.search(query, top_k, filters, trace=trace, query_embedding=query_vector)
        except (httpx.TransportError, ConnectionError) as err:  # the Chroma server went away mid-session
            raise StoreUnavailable(f"Chroma server at {self.settings.chroma_host}:{self.settings.chroma_port} "
                                   f"stopped answering ({type(err).__name__}: {err}); try again when it is back") from err
        trace["timings_ms"]["retrieve"] = _ms(t0)
        pieces = self._answer(text, query, query_vector, retrieved, mode, trace, notice, started)
        return AnswerStream(pieces, retrieved)

    def chat(self, condense: bool | None = None) -> Chat:
        return Chat(self, condense)

    def condense(self, question: str, history: list[Answer]) -> str:
        """A standalone version of a follow-up question (LLM in llm mode, a deterministic rewrite otherwise)."""
        previous = history[-1].trace.get("standalone", history[-1].question)
        if self.llm is None or self.settings.effective_mode != "llm":
            return rewrite(question, previous)
        turns = "\n".join(f"User: {a.question}\nAssistant: {cite.MARKER.sub('', a.text)}" for a in history[-3:])
        try:
            reply = self.llm.complete(prompts.CONDENSE.format(history=turns, question=question)).text
            reply = " ".join(reply.split())[: self.settings.max_question_chars]
            return reply or rewrite(question, previous)
        except Exception:  # a dead LLM must not stop the conversation
            return rewrite(question, previous)

    # ------------------------------------------------------------------ answering
    def _answer(self, question: str, query: str, query_vector: list[float], retrieved: list[Passage],
                mode: str, trace: dict, notice: str, started: float) -> Iterator[str]:
        t0 = time.perf_counter()
        if mode == "llm" and self.llm is None:
            notice = _join(notice, "No language model is configured (set OPENAI_API_KEY or OPENAI_BASE_URL); "
                                   "this answer was extracted from the articles.")
            mode = trace["mode"] = "extractive"
        answer = None
        if mode == "llm" and retrieved:
            answer = yield from self._llm_answer(question, query, retrieved, trace)
            if answer is None:
                notice = _join(notice, "The language model could not answer "
                                       f"({trace['fallback']}); this answer was extracted from the articles.")
        if answer is None:
            answer = self._extractive_answer(question, query, query_vector, retrieved, trace)
            yield answer.text
        answer.notice = notice
        trace["timings_ms"]["answer"] = _ms(t0)
        trace["timings_ms"]["total"] = _ms(started)
        trace["cited_ids"] = [c.passage_id for c in answer.citations]
        trace["retrieved_ids"] = [p.id for p in retrieved]
        return answer

    def _abstain(self, question: str, retrieved: list[Passage], trace: dict) -> Answer:
        return Answer(question, self.settings.abstain_text, True, [], retrieved, trace)

    def idf(self) -> Idf:
        bm25 = self.index.load_bm25()
        if self._idf is None or self._idf[0] is not bm25:
            self._idf = (bm25, Idf(bm25.bm25 if bm25 else None))
        return self._idf[1]

    def _extractive_answer(self, question: str, query: str, query_vector: list[float], retrieved: list[Passage],
                           trace: dict) -> Answer:
        extract = self.extractive.extract(query, retrieved, self.idf(), query_vector) if retrieved else None
        trace["threshold"] = self.settings.abstain_threshold
        if extract is not None:
            trace["support"] = extract.support
            trace["features"] = extract.features
        if extract is None or extract.support < self.settings.abstain_threshold:
            return self._abstain(question, retrieved, trace)
        # Markers name positions in `retrieved`; `resolve` renumbers them in order of use.
        draft = " ".join(f"{s.text} [{s.passage + 1}]" for s in extract.sentences)
        quotes: dict[int, str] = {}
        for s in extract.sentences:
            quotes[s.passage + 1] = _join(quotes.get(s.passage + 1, ""), s.text, sep=" ")
        text, citations, _ = cite.resolve(draft, retrieved, quotes)
        return Answer(question, text, False, citations, retrieved, trace)

    def _llm_answer(self, question: str, query: str, retrieved: list[Passage], trace: dict):
        """Yield the model's words; return the verified Answer, or None (trace['fallback'] says why)."""
        messages = chat_messages(prompts.ANSWER_SYSTEM.format(abstain=self.settings.abstain_text),
                                 prompts.ANSWER_USER.format(passages=prompts.format_passages(retrieved),
                                                            question=query))
        raw = ""
        try:
            for chunk in self.llm.stream_chat(messages):
                delta = chunk.delta or ""
                raw += delta
                if delta:
                    yield delta
        except Exception as err:  # network, timeout, 4xx/5xx after retries, malformed responses
            trace["fallback"] = describe_error(err, self.settings)
            trace["llm_partial"] = raw
            return None
        if not raw.strip():  # an unparseable or empty reply must not pass as "the articles don't say"
            trace["fallback"] = "the language model sent an empty or unreadable reply"
            return None
        trace["llm_raw"] = raw
        raw, trace["auto_cited"] = cite.attach_missing(raw, retrieved)
        text, citations, dropped = cite.resolve(raw, retrieved)
        trace["dropped_markers"] = dropped
        if _norm(self.settings.abstain_text) in _norm(text) or not citations:
            if not citations and _norm(self.settings.abstain_text) not in _norm(text):
                trace["uncited_answer_withheld"] = True  # we never show claims that cite nothing
            return self._abstain(question, retrieved, trace)
        for c in citations:
            c.quote = cite.best_quote(" ".join(cl for cl, ns in cite.claims(text) if c.n in ns), _passage(c))
        trace["unsupported"] = cite.check(text, citations)
        return Answer(question, text, False, citations, retrieved, trace)

    # ------------------------------------------------------------------ LlamaIndex
    def as_query_engine(self, streaming: bool = False, **options):
        """A real LlamaIndex query engine over this assistant (see rag.engine)."""
        from .engine import AssistantQueryEngine

        return AssistantQueryEngine(assistant=self, streaming=streaming, options=options)


def _passage(citation) -> Passage:
    return Passage(id=citation.passage_id, article_id=citation.article_id, title=citation.title,
                   text=citation.text, start=citation.start, end=citation.end)


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 2)


def _join(a: str, b: str, sep: str = " ") -> str:
    return f"{a}{sep}{b}" if a else b


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", "", text.lower()).split())

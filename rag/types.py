"""The data that flows through the pipeline: Article -> Passage -> Answer with Citations."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Article:
    # path relative to the corpus folder, POSIX style: stable across machines; a file holding many
    # articles (JSON lines, CSV, a feed) gives each record the id "<path>#<key>"
    id: str
    title: str
    text: str  # the body that passages' character offsets point into
    date: str = ""  # ISO date when known
    author: str = ""
    source: str = ""  # the publication ("Reuters", "CoinTelegraph.com")
    url: str = ""
    content_hash: str = ""
    page_starts: tuple[int, ...] = ()  # PDF: offset in `text` where page 1, 2, ... begins

    def page_at(self, offset: int) -> int:
        """The 1-based page holding character `offset` (0 when the article has no pages)."""
        return sum(1 for start in self.page_starts if start <= offset)


@dataclass(frozen=True)
class Filters:
    """Restrict retrieval to chosen articles, sources and/or a publication-date range (ISO, inclusive)."""

    article_ids: tuple[str, ...] = ()
    date_from: str = ""
    date_to: str = ""
    sources: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.article_ids or self.date_from or self.date_to or self.sources)

    def admits(self, article_id: str, day: int, source: str = "") -> bool:
        """`day` is the article's date as an integer (see `date_int`), 0 when unknown."""
        return ((not self.article_ids or article_id in self.article_ids)
                and (not self.date_from or day >= date_int(self.date_from))
                and (not self.date_to or day <= date_int(self.date_to))
                and (not self.sources or source in self.sources))

    def to_dict(self) -> dict[str, Any]:
        return {"article_ids": list(self.article_ids), "date_from": self.date_from, "date_to": self.date_to,
                "sources": list(self.sources)}


def date_int(date: str) -> int:
    """2023-04-12 -> 20230412 (0 for no date): dates compare as integers in store filters."""
    return int(date[:10].replace("-", "")) if date else 0


@dataclass
class Passage:
    """A chunk of one article, located by character offsets into `Article.text`."""

    id: str
    article_id: str
    title: str
    text: str
    start: int
    end: int
    date: str = ""
    source: str = ""
    author: str = ""
    url: str = ""
    page: str = ""  # PDF page(s) the passage is on: "3" or "3-4"
    score: float = 0.0
    copies: list[dict] = field(default_factory=list)  # the story's other copies: article_id, title, date, source, url


@dataclass
class Citation:
    """Citation n of an answer: the passage it points at and where in it the answer's quote lies."""

    n: int
    passage: Passage
    quote_spans: list[tuple[int, int]] = field(default_factory=list)  # offsets into passage.text

    # The passage's fields, read through: a citation never copies them.
    article_id = property(lambda self: self.passage.article_id)
    title = property(lambda self: self.passage.title)
    date = property(lambda self: self.passage.date)
    text = property(lambda self: self.passage.text)
    start = property(lambda self: self.passage.start)
    end = property(lambda self: self.passage.end)
    score = property(lambda self: self.passage.score)
    passage_id = property(lambda self: self.passage.id)

    @property
    def quote(self) -> str:
        """The sentence(s) of the passage the answer relies on ("" when the claim matched no sentence)."""
        return " ".join(self.passage.text[lo:hi] for lo, hi in self.quote_spans)

    def to_dict(self) -> dict[str, Any]:
        p = self.passage
        return {"n": self.n, "article_id": p.article_id, "title": p.title, "date": p.date, "text": p.text,
                "start": p.start, "end": p.end, "score": p.score, "passage_id": p.id, "quote": self.quote,
                "quote_spans": [list(span) for span in self.quote_spans], "source": p.source,
                "author": p.author, "url": p.url, "page": p.page, "copies": p.copies}


@dataclass
class Query:
    """A question on its way to an answer: what was asked, what is matched, and how."""

    question: str  # as asked (cleaned): what the answer is reported against
    text: str  # what retrieval and answerers match: the standalone question, date words removed
    top_k: int
    mode: str  # "extractive" | "llm"
    filters: Filters = field(default_factory=Filters)
    kind: str = "fact"  # fact | latest | earliest | timeline | count | list | sources | summary
    topic: str = ""  # news kinds: what the question is about ("the takeover battle for MCI")
    title: str = ""  # summary of one article: its title as the question quotes it
    literal: bool = False  # count/list: match the topic's words ("mention X"), not its meaning ("about X")
    date_label: str = ""  # a date range taken from the question, for people ("April 2023")
    dated_text: str = ""  # `text` with its date words, for a fact question whose date is the event's
    vector: list[float] | None = None  # the embedding of `text`, computed once and shared
    notice: str = ""  # for the user: truncation, ...


@dataclass
class Trace:
    """How an answer was made, stage by stage; `to_dict()` is the `trace` of the JSON contract."""

    mode: str = ""
    model: str = ""
    question: str = ""
    standalone: str = ""
    top_k: int = 0
    kind: str = "fact"
    timings_ms: dict[str, float] = field(default_factory=dict)
    filters: dict[str, Any] | None = None  # set only when the answer was filtered
    ranks: dict[str, dict[str, int | None]] = field(default_factory=dict)  # passage id -> rank per ranker
    retrieved_ids: list[str] = field(default_factory=list)
    cited_ids: list[str] = field(default_factory=list)
    # extractive
    support: float | None = None
    threshold: float | None = None
    features: dict[str, Any] = field(default_factory=dict)
    # llm
    fallback: str = ""
    llm_raw: str = ""
    llm_partial: str = ""
    dropped_markers: list[int] | None = None
    auto_cited: list[str] | None = None
    unsupported: list[dict] | None = None
    uncited_answer_withheld: bool = False
    details: dict[str, Any] = field(default_factory=dict)  # what a news answerer did (how it counted, ...)

    def to_dict(self) -> dict[str, Any]:
        """Every field that was set (empty and unset ones are left out, as in earlier versions)."""
        out = {}
        for key, value in asdict(self).items():
            if value in (None, "", False) or (value == {} and key not in ("timings_ms", "ranks")) \
                    or (value == [] and key not in ("retrieved_ids", "cited_ids")):
                continue
            out[key] = value
        return out


@dataclass
class Answer:
    question: str
    text: str
    abstained: bool
    citations: list[Citation] = field(default_factory=list)
    retrieved: list[Passage] = field(default_factory=list)
    trace: Trace = field(default_factory=Trace)
    notice: str = ""  # shown to the user: truncation, LLM fallback, ...
    kind: str = "fact"
    filters: Filters = field(default_factory=Filters)
    short: str = ""  # the span of the answer that answers the question (a number, a name, a date), if one does

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON contract of the CLI (`--json`), the page's API and the /v1 endpoint."""
        trace = self.trace.to_dict()
        return {
            "question": self.question,
            "answer": self.text,
            "abstained": self.abstained,
            "notice": self.notice,
            "kind": self.kind,
            "short": self.short,
            "filters": self.filters.to_dict() if self.filters else {},
            "citations": [c.to_dict() for c in self.citations],
            "retrieved": [
                {"rank": i + 1, "passage_id": p.id, "article_id": p.article_id, "title": p.title,
                 "date": p.date, "source": p.source, "author": p.author, "url": p.url, "page": p.page,
                 "text": p.text, "start": p.start, "end": p.end, "score": round(p.score, 6), "copies": p.copies}
                for i, p in enumerate(self.retrieved)
            ],
            "timings_ms": trace.get("timings_ms", {}),
            "trace": trace,
        }


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    held: list[str] = field(default_factory=list)  # gone from the folder, kept: it looked unmounted (prune removes)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    notes: list[tuple[str, str]] = field(default_factory=list)  # (path, note) e.g. encoding fallback
    chunks_embedded: int = 0
    chunks_total: int = 0
    copies: int = 0  # indexed articles that are a near-duplicate copy of another (folded in answers)
    seconds: float = 0.0

    @property
    def articles_read(self) -> int:
        return len(self.added) + len(self.updated) + len(self.unchanged)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"articles_read": self.articles_read}

    def summary(self) -> str:
        lines = [
            f"added {len(self.added)}, updated {len(self.updated)}, removed {len(self.removed)}, "
            f"unchanged {len(self.unchanged)}, skipped {len(self.skipped)}"
            + (f", kept {len(self.held)} whose files are gone" if self.held else ""),
            f"chunks embedded {self.chunks_embedded}, chunks in index {self.chunks_total}, "
            f"{self.seconds:.1f} s",
        ]
        if self.copies:
            lines.append(f"{self.copies} article(s) are near-duplicate copies of another (syndicated or re-published): "
                         "answers show each story once and name its other outlets")
        lines += [f"  skipped {path}: {reason}" for path, reason in self.skipped]
        lines += [f"  note {path}: {note}" for path, note in self.notes]
        return "\n".join(lines)

"""Saved conversations: every answer the page gave, kept as data in SQLite beside the index.

`<RAG_INDEX_DIR>/conversations.sqlite3` holds one row per conversation (owner, title, times) and one per
turn: the Answer's `to_dict()`, the JSON of `rag ask --json`, with its citations, quote spans and retrieved
passages. Nothing rendered is stored: a reopened conversation and an export are made again from that data
(`answer_from_dict`), so they show what was shown and are escaped by the same code as a fresh answer.

Every read and write names its owner. With the login on (RAG_AUTH) the page passes the user's name, so a
user lists, opens, renames, exports and deletes only their own conversations; without a login everyone
is the one owner "". Bounded: the list is read a page at a time, a title is at most TITLE_MAX characters,
a conversation at most MAX_TURNS answers (the page then continues in a new one).
"""
from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
import secrets
import sqlite3
import time
import unicodedata
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Iterator

from .types import Answer, Citation, Filters, Passage, Trace

FILE_NAME = "conversations.sqlite3"
TITLE_MAX = 120  # characters of a title (a title made from a question is cut at TITLE_FROM_QUESTION)
TITLE_FROM_QUESTION = 80
MAX_TURNS = 200
PAGE_SIZE = 10  # conversations listed per page

_SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY, owner TEXT NOT NULL, title TEXT NOT NULL, created REAL NOT NULL, updated REAL NOT NULL);
CREATE INDEX IF NOT EXISTS conversations_by_owner ON conversations (owner, updated DESC);
CREATE TABLE IF NOT EXISTS turns (
    conversation TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    n INTEGER NOT NULL, answer TEXT NOT NULL, created REAL NOT NULL, PRIMARY KEY (conversation, n));
"""
_UNSEEN = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\u061c]")


class BadTitle(ValueError):
    """A title that cannot be used (empty once cleaned); the message says why."""


@dataclass(frozen=True)
class Listed:
    """One line of the conversation list."""

    id: str
    title: str
    updated: float
    turns: int


@dataclass
class Conversation:
    id: str
    title: str
    created: float
    updated: float
    answers: list[Answer]


def clean_title(text: str, limit: int = TITLE_MAX) -> str:
    """One line of readable text: control and bidi characters removed, whitespace collapsed, cut at `limit`."""
    text = " ".join(_UNSEEN.sub(" ", unicodedata.normalize("NFC", str(text))).split())
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


class Conversations:
    """The store. Thread-safe: each call opens its own connection (SQLite serialises the writers)."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._db() as db:
            db.executescript(_SCHEMA)

    @contextlib.contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30)
        try:
            db.execute("PRAGMA foreign_keys = ON")
            db.execute("PRAGMA journal_mode = WAL")  # readers never wait for a writer
            with db:  # one transaction: committed, or rolled back on an error
                yield db
        finally:
            db.close()

    def start(self, owner: str, question: str) -> Listed:
        """A new, empty conversation titled after its first question."""
        conversation_id = secrets.token_hex(8)
        now = time.time()
        title = clean_title(question, TITLE_FROM_QUESTION) or "Untitled conversation"
        with self._db() as db:
            db.execute("INSERT INTO conversations VALUES (?, ?, ?, ?, ?)", (conversation_id, owner, title, now, now))
        return Listed(conversation_id, title, now, 0)

    def append(self, conversation_id: str, owner: str, answer: Answer) -> bool:
        """Add an answer as the next turn. False when the conversation is gone (deleted in another tab),
        is not the owner's, or is full (MAX_TURNS)."""
        now = time.time()
        with self._db() as db:
            row = db.execute("SELECT (SELECT count(*) FROM turns WHERE conversation = c.id) FROM conversations c "
                             "WHERE id = ? AND owner = ?", (conversation_id, owner)).fetchone()
            if row is None or row[0] >= MAX_TURNS:
                return False
            db.execute("INSERT INTO turns VALUES (?, ?, ?, ?)",
                       (conversation_id, row[0] + 1, json.dumps(answer.to_dict(), ensure_ascii=False), now))
            db.execute("UPDATE conversations SET updated = ? WHERE id = ?", (now, conversation_id))
        return True

    def page(self, owner: str, page: int = 1, size: int = PAGE_SIZE) -> tuple[list[Listed], int]:
        """One page of the owner's conversations, most recently used first, and how many there are."""
        with self._db() as db:
            total = db.execute("SELECT count(*) FROM conversations WHERE owner = ?", (owner,)).fetchone()[0]
            rows = db.execute("SELECT id, title, updated, (SELECT count(*) FROM turns WHERE conversation = c.id) "
                              "FROM conversations c WHERE owner = ? ORDER BY updated DESC, created DESC, id "
                              "LIMIT ? OFFSET ?", (owner, size, (max(1, page) - 1) * size)).fetchall()
        return [Listed(*row) for row in rows], total

    def load(self, conversation_id: str, owner: str) -> Conversation | None:
        """The conversation with its answers rebuilt from their JSON, or None (unknown, or not the owner's)."""
        with self._db() as db:
            head = db.execute("SELECT id, title, created, updated FROM conversations WHERE id = ? AND owner = ?",
                              (conversation_id, owner)).fetchone()
            if head is None:
                return None
            turns = db.execute("SELECT answer FROM turns WHERE conversation = ? ORDER BY n",
                               (conversation_id,)).fetchall()
        return Conversation(*head, answers=[answer_from_dict(json.loads(text)) for (text,) in turns])

    def rename(self, conversation_id: str, owner: str, title: str) -> str:
        """Set the title (cleaned; raises BadTitle when nothing is left); returns it, or '' when the
        conversation is not found."""
        title = clean_title(title)
        if not title:
            raise BadTitle("A title cannot be empty.")
        with self._db() as db:
            done = db.execute("UPDATE conversations SET title = ? WHERE id = ? AND owner = ?",
                              (title, conversation_id, owner)).rowcount
        return title if done else ""

    def delete(self, conversation_id: str, owner: str) -> bool:
        with self._db() as db:
            return bool(db.execute("DELETE FROM conversations WHERE id = ? AND owner = ?",
                                   (conversation_id, owner)).rowcount)


# ------------------------------------------------------------------------ answers back from their JSON
def _passage(d: dict[str, Any]) -> Passage:
    return Passage(id=d["passage_id"], article_id=d["article_id"], title=d.get("title", ""), text=d["text"],
                   start=int(d["start"]), end=int(d["end"]), date=d.get("date", ""), source=d.get("source", ""),
                   author=d.get("author", ""), url=d.get("url", ""), page=str(d.get("page", "")),
                   score=float(d.get("score", 0.0)),
                   copies=[c for c in d.get("copies") or [] if isinstance(c, dict)])


_TRACE_FIELDS = {f.name for f in fields(Trace)}


def answer_from_dict(d: dict[str, Any]) -> Answer:
    """The Answer whose `to_dict()` gave `d` (the inverse of Answer.to_dict for everything it keeps)."""
    f = d.get("filters") or {}
    return Answer(
        question=d["question"], text=d["answer"], abstained=bool(d["abstained"]),
        citations=[Citation(int(c["n"]), _passage(c), [(int(lo), int(hi)) for lo, hi in c.get("quote_spans", [])])
                   for c in d.get("citations", [])],
        retrieved=[_passage(r) for r in d.get("retrieved", [])],
        trace=Trace(**{k: v for k, v in (d.get("trace") or {}).items() if k in _TRACE_FIELDS}),
        notice=d.get("notice", ""), kind=d.get("kind", "fact"), short=d.get("short", ""),
        filters=Filters(tuple(f.get("article_ids", ())), f.get("date_from", ""), f.get("date_to", ""),
                        tuple(f.get("sources", ()))))


# ------------------------------------------------------------------------ exports
def _when(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def to_json(conversation: Conversation) -> str:
    """Every answer as `rag ask --json` gives it: text, citations with passages, quotes and quote spans."""
    return json.dumps({"id": conversation.id, "title": conversation.title,
                       "created": _when(conversation.created), "updated": _when(conversation.updated),
                       "turns": [a.to_dict() for a in conversation.answers]}, ensure_ascii=False, indent=2)


_MD_ACTIVE = re.compile(r"([\\`*_\[\]<>&#|!])")


def md(text: object) -> str:
    """Text that Markdown shows as written: no HTML, links, images or emphasis can come from an article."""
    return _MD_ACTIVE.sub(r"\\\1", _UNSEEN.sub(lambda m: "\n" if m.group() == "\n" else " ", str(text)))


def to_markdown(conversation: Conversation) -> str:
    """For people: each question, its answer, and each citation with its article and quoted sentences."""
    out = [f"# {md(conversation.title)}", "",
           f"Saved from Ask your articles: {len(conversation.answers)} answers, started "
           f"{_when(conversation.created)}, last answer {_when(conversation.updated)}."]
    for n, a in enumerate(conversation.answers, 1):
        out += ["", f"## {n}. {md(a.question)}", ""]
        out += [md(line) for line in a.text.splitlines() or [""]]
        if a.filters.date_from or a.filters.date_to:
            out += ["", f"Dates: {a.filters.date_from or '…'} to {a.filters.date_to or '…'}"]
        if a.filters.article_ids:
            out += ["", "Only the articles: " + ", ".join(md(aid) for aid in a.filters.article_ids)]
        if a.notice:
            out += ["", f"Note: {md(a.notice)}"]
        if a.citations:
            out += ["", "Sources:", ""]
        for c in a.citations:
            meta = ", ".join(md(x) for x in (c.date or "no date", c.passage.source, c.article_id) if x)
            out.append(f"- \\[{c.n}\\] {md(c.title)} ({meta}; characters {c.start}-{c.end} of the article)")
            out += [f"  > {md(' '.join(c.passage.text[lo:hi].split()))}" for lo, hi in c.quote_spans]
    return "\n".join(out) + "\n"

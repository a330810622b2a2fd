"""File formats -> Records. One module per format; `read_file` picks the reader by suffix.

A reader gets the raw bytes of one file and returns one Record per article it holds (a saved page or a
plain-text file holds one; JSON lines, CSV and feeds hold many), or raises BadFile with the reason shown
to the user. Readers never touch the file system: the corpus scan reads the bytes, checks size and type,
and turns Records into Articles (ids, content hashes).
"""
from __future__ import annotations

import hashlib
import importlib
from typing import Callable

from ..types import Article
from .common import BadFile, Record, decode
from . import html, text


# Readers whose library is an optional extra of the package (requirements.txt installs them all).
OPTIONAL_EXTRAS = {"pdf": "pdf", "docx": "docx"}

Reader = Callable[[bytes, str], list[Record]]  # (raw bytes, file name) -> records


def _lazy(module: str, function: str) -> Reader:
    """A reader whose module (and its library: pypdf, python-docx, feedparser) is imported on first use:
    together they cost about 0.4 s of start-up (more on a busy machine) that a corpus without such files,
    and every `ask`, would pay for nothing."""
    def read(raw: bytes, name: str) -> list[Record]:
        try:
            reader_module = importlib.import_module(f"{__name__}.{module}")
        except ModuleNotFoundError as missing:  # an installed package without its optional extra
            extra = OPTIONAL_EXTRAS.get(module)
            if extra is None:
                raise
            raise BadFile(f"reading this format needs {missing.name!r}: pip install 'ask-articles[{extra}]'")
        return getattr(reader_module, function)(raw, name)

    read.__qualname__ = f"{module}.{function}"
    return read


READERS: dict[str, Reader] = {
    ".txt": text.read_plain,
    ".md": text.read_markdown,
    ".markdown": text.read_markdown,
    ".html": html.read_html,
    ".htm": html.read_html,
    ".pdf": _lazy("pdf", "read_pdf"),
    ".docx": _lazy("docx", "read_docx"),
    ".jsonl": _lazy("records", "read_jsonl"),
    ".ndjson": _lazy("records", "read_jsonl"),
    ".json": _lazy("records", "read_json"),
    ".csv": _lazy("records", "read_csv"),
    ".rss": _lazy("feeds", "read_feed"),
    ".atom": _lazy("feeds", "read_feed"),
    ".xml": _lazy("feeds", "read_feed"),
}
SUPPORTED_SUFFIXES = frozenset(READERS)


def to_article(record: Record, rel: str) -> Article:
    article_id = f"{rel}#{record.key}" if record.key else rel
    title = " ".join(record.title.split())[:300] or "(untitled)"
    fields = (title, record.date, record.author, record.source, record.url, record.text)
    digest = hashlib.sha256("\x1f".join(fields).encode()).hexdigest()
    return Article(id=article_id, title=title, text=record.text, date=record.date, author=record.author,
                   source=record.source, url=record.url, content_hash=digest, page_starts=record.page_starts)


__all__ = ["BadFile", "Record", "READERS", "SUPPORTED_SUFFIXES", "decode", "to_article"]

"""Files in the corpus folder -> Articles. A bad file becomes a reported skip, never a crash.

The corpus folder is only ever read: nothing here opens a file for writing. Formats are read by
`rag.readers` (one module per format); this module walks the folder, reads bytes within the size limit,
and gives each record its id and content hash.
"""
from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from .readers import READERS, SUPPORTED_SUFFIXES, BadFile, decode, to_article
from .types import Article

__all__ = ["BadFile", "CorpusScan", "SUPPORTED_SUFFIXES", "decode", "read_article", "read_file", "scan"]


@dataclass
class CorpusScan:
    articles: list[Article] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    notes: list[tuple[str, str]] = field(default_factory=list)


def scan(root: Path, max_bytes: int) -> CorpusScan:
    """Read every supported file under `root` (recursively, hidden entries ignored, symlinked
    folders not followed so loops cannot happen). Identical articles under two names are indexed
    once; the second is reported as a duplicate."""
    result = CorpusScan()
    seen: dict[str, str] = {}
    for path in _walk(root):
        rel = path.relative_to(root).as_posix()
        if path.suffix.lower() not in SUPPORTED_SUFFIXES:
            result.skipped.append((rel, f"unsupported file type {path.suffix or '(none)'!r}"))
            continue
        try:
            articles, notes = read_file(path, rel, max_bytes)
        except BadFile as bad:
            result.skipped.append((rel, str(bad)))
            continue
        result.notes.extend((rel, note) for note in notes)
        for article in articles:
            if article.content_hash in seen:
                result.skipped.append((article.id, f"duplicate of {seen[article.content_hash]}"))
                continue
            seen[article.content_hash] = article.id
            result.articles.append(article)
    return result


def _walk(root: Path):
    for folder, dirs, files in os.walk(root, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if not name.startswith("."):
                yield Path(folder) / name


def read_file(path: Path, rel: str, max_bytes: int) -> tuple[list[Article], list[str]]:
    """Every article in one file, and notes (e.g. an encoding fallback). Raises BadFile."""
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise BadFile(f"unsupported file type {path.suffix or '(none)'!r}")
    records = reader(_read_bytes(path, max_bytes), path.name)
    if not records:
        raise BadFile("no article found in the file")
    notes = list(dict.fromkeys(r.note for r in records if r.note))
    return [to_article(record, rel) for record in records], notes


def read_article(path: Path, article_id: str, max_bytes: int) -> tuple[Article, str]:
    """The (first) article of a file and its note: for single-article files. Raises BadFile."""
    articles, notes = read_file(path, article_id, max_bytes)
    return articles[0], "; ".join(notes)


def _read_bytes(path: Path, max_bytes: int) -> bytes:
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise BadFile("not a regular file")
        if info.st_size == 0:
            raise BadFile("empty file")
        if info.st_size > max_bytes:
            raise BadFile(f"too large ({info.st_size / 1e6:.1f} MB > limit {max_bytes / 1e6:.1f} MB)")
        with open(path, "rb") as handle:
            raw = handle.read(max_bytes + 1)
    except OSError as err:
        raise BadFile(f"unreadable ({err.strerror or err})") from None
    if len(raw) > max_bytes:  # grew since stat
        raise BadFile(f"too large (> limit {max_bytes / 1e6:.1f} MB)")
    return raw

"""Files in the corpus folder -> Articles. A bad file becomes a reported skip, never a crash.

The corpus folder is only ever read: nothing here opens a file for writing.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from bs4 import BeautifulSoup

from .types import Article

SUPPORTED_SUFFIXES = {".txt", ".md", ".markdown", ".html", ".htm"}
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*\r?\n", re.S)
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class BadFile(Exception):
    """A file that cannot become an article; the message is the reason shown to the user."""


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
            article, note = read_article(path, rel, max_bytes)
        except BadFile as bad:
            result.skipped.append((rel, str(bad)))
            continue
        if note:
            result.notes.append((rel, note))
        if article.content_hash in seen:
            result.skipped.append((rel, f"duplicate of {seen[article.content_hash]}"))
            continue
        seen[article.content_hash] = rel
        result.articles.append(article)
    return result


def _walk(root: Path):
    for folder, dirs, files in os.walk(root, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if not name.startswith("."):
                yield Path(folder) / name


def read_article(path: Path, article_id: str, max_bytes: int) -> tuple[Article, str]:
    """Return the article and an optional note (e.g. an encoding fallback). Raises BadFile."""
    raw = _read_bytes(path, max_bytes)
    text, note = decode(raw)
    suffix = path.suffix.lower()
    if suffix in (".html", ".htm"):
        meta, body = _parse_html(text)
    elif suffix in (".md", ".markdown"):
        meta, body, fm_note = _parse_front_matter(text)
        note = "; ".join(n for n in (note, fm_note) if n)
    else:
        meta, body = {}, text
    body = body.strip()
    if not body:
        raise BadFile("no text")
    title = str(meta.get("title") or _first_line(body))[:300]
    date = _iso_date(meta.get("date"))
    author = str(meta.get("author") or "")
    source = str(meta.get("source") or "")
    digest = hashlib.sha256("\x1f".join((title, date, author, source, body)).encode()).hexdigest()
    return Article(id=article_id, title=title, text=body, date=date, author=author, source=source,
                   content_hash=digest), note


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


def decode(raw: bytes) -> tuple[str, str]:
    """UTF-8 first; otherwise Windows-1252 (what real-world non-UTF-8 text usually is), else Latin-1."""
    if b"\x00" in raw[:8192]:
        raise BadFile("binary file (contains NUL bytes)")
    try:
        return raw.decode("utf-8-sig"), ""
    except UnicodeDecodeError as err:
        where = err.start
    for encoding in ("cp1252", "latin-1"):
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        if _looks_binary(text):
            raise BadFile("binary file (mostly control characters)")
        return text, f"not valid UTF-8 (first bad byte at offset {where}); decoded as {encoding}"
    raise BadFile("undecodable text")  # unreachable: latin-1 decodes any byte string


def _looks_binary(text: str) -> bool:
    sample = text[:4096]
    controls = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\t\n\r\f")
    return controls > len(sample) * 0.05


def _parse_front_matter(text: str) -> tuple[dict, str, str]:
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, text, ""
    try:
        meta = yaml.safe_load(match.group(1))
    except yaml.YAMLError:
        return {}, text[match.end():], "front matter is not valid YAML; ignored"
    if not isinstance(meta, dict):
        return {}, text[match.end():], "front matter is not a mapping; ignored"
    return meta, text[match.end():], ""


def _parse_html(text: str) -> tuple[dict, str]:
    soup = BeautifulSoup(text, "html.parser")
    for tag in soup(["script", "style", "noscript", "template", "nav", "footer"]):
        tag.decompose()
    meta: dict = {}
    if soup.title and soup.title.string:
        meta["title"] = soup.title.string.strip()
    for key, names in (("date", ("article:published_time", "date", "pubdate", "dc.date")),
                       ("author", ("author", "article:author", "dc.creator"))):
        for tag in soup.find_all("meta"):
            if (tag.get("name") or tag.get("property") or "").lower() in names and tag.get("content"):
                meta[key] = tag["content"]
                break
    if "date" not in meta and (time := soup.find("time")) and time.get("datetime"):
        meta["date"] = time["datetime"]
    if soup.head:
        soup.head.decompose()  # its title and meta are read above; its text is not the article
    body = soup.body or soup
    lines = (line.strip() for line in body.get_text("\n").splitlines())
    return meta, "\n".join(line for line in lines if line)


def _first_line(body: str) -> str:
    line = next((ln for ln in body.splitlines() if ln.strip()), "")
    return line.strip().lstrip("#").strip() or "(untitled)"


def _iso_date(value: object) -> str:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()[:10]
    match = _ISO_DATE.search(str(value or ""))
    return match.group(0) if match else ""

"""Plain text and Markdown (with optional YAML front matter: title, author, date, source; see
`frontmatter.py` for how hostile front matter is refused)."""
from __future__ import annotations

from .common import BadFile, Record, decode
from .dates import iso_date
from .frontmatter import read_front_matter

__all__ = ["first_line", "iso_date", "read_markdown", "read_plain"]


def read_plain(raw: bytes, name: str) -> list[Record]:
    body, note = decode(raw)
    body = body.strip()
    if not body:
        raise BadFile("no text")
    return [Record(title=first_line(body), text=body, note=note)]


def read_markdown(raw: bytes, name: str) -> list[Record]:
    text, note = decode(raw)
    meta, body_start, fm_note = read_front_matter(text)
    body = text[body_start:].strip()
    if not body:
        raise BadFile("no text")
    return [Record(title=meta.get("title") or first_line(body), text=body, date=meta.get("date", ""),
                   author=meta.get("author", ""), source=meta.get("source", ""),
                   note="; ".join(n for n in (note, fm_note) if n))]


def first_line(body: str) -> str:
    """The first line with a letter or digit in it (a Markdown rule `---` is no title), `#` removed."""
    line = next((ln for ln in body.splitlines() if any(ch.isalnum() for ch in ln)), "")
    return line.strip().lstrip("#").strip() or "(untitled)"

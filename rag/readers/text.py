"""Plain text and Markdown. Metadata comes from YAML front matter (Markdown; see `frontmatter.py` for
how hostile front matter is refused) and from header lines at the top of the text (`headers.py`:
`date 2023-04-12`, `By Jane Doe, Reuters`, datelines...). Front matter wins where both give a field."""
from __future__ import annotations

import re

from .common import BadFile, Record, decode
from .dates import iso_date
from .frontmatter import read_front_matter
from .headers import parse_header

__all__ = ["first_line", "iso_date", "read_markdown", "read_plain"]


def read_plain(raw: bytes, name: str) -> list[Record]:
    text, note = decode(raw)
    return [_record(text.strip(), {}, note)]


def read_markdown(raw: bytes, name: str) -> list[Record]:
    text, note = decode(raw)
    meta, body_start, fm_note = read_front_matter(text)
    return [_record(text[body_start:].strip(), meta, "; ".join(n for n in (note, fm_note) if n))]


def _record(body: str, meta: dict[str, str], note: str) -> Record:
    if not body:
        raise BadFile("no text")
    header = parse_header(body)
    return Record(title=meta.get("title") or header.title or "(untitled)", text=body,
                  date=meta.get("date") or header.date, author=meta.get("author") or header.author,
                  source=meta.get("source") or header.source, url=header.url, note=note)


def first_line(body: str) -> str:
    """The first line with a letter or digit in it, `#` removed (kept for readers written against the
    first skeleton; new readers use `headers.parse_header`, which skips header lines)."""
    line = next((ln for ln in body.splitlines() if any(ch.isalnum() for ch in ln)), "")
    return line.strip().lstrip("#").strip() or "(untitled)"


_NOT_A_TITLE = re.compile(r"(?i)^(untitled|title|document|microsoft word - .*|.*\.(pdf|docx?|odt|rtf|html?|txt|"
                          r"indd|qxd|tex|ps))$")


def sensible_title(title: str) -> bool:
    """Whether a document's title property is worth showing: not empty, not a file name, not a placeholder."""
    return 3 <= len(title) <= 300 and any(ch.isalpha() for ch in title) and not _NOT_A_TITLE.match(title)

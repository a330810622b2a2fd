"""What every reader shares: the Record it returns, the BadFile exception, text decoding."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Record:
    """One article as a reader found it, before it gets its id and content hash."""

    title: str
    text: str
    date: str = ""  # ISO date (YYYY-MM-DD) or ""
    author: str = ""
    source: str = ""
    url: str = ""
    key: str = ""  # within a many-article file: the record's id/url/guid, else its position; "" otherwise
    page_starts: tuple[int, ...] = ()
    note: str = ""  # e.g. an encoding fallback, shown with the ingest report


class BadFile(Exception):
    """A file that cannot become an article; the message is the reason shown to the user."""


def decode(raw: bytes) -> tuple[str, str]:
    """(text, note). UTF-8 first; otherwise Windows-1252 (what real-world non-UTF-8 text usually is),
    else Latin-1. The note says when a fallback was used."""
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

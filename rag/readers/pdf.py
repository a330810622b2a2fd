"""PDF files: the text layer of each page, in order, with where each page begins (`Record.page_starts`), so
passages and citations carry their page number.

A PDF breaks lines where the page ends them; our sentence splitter treats a line break as a sentence end,
so lines are joined back into paragraphs: a line that reaches the page's usual right margin continues on
the next line, a shorter one (a heading, a paragraph's last line) ends its paragraph.

Hostile or broken files are refused with a reason, never a crash: no text layer (a scanned image), a
password (the empty one is tried first: many "encrypted" PDFs only restrict printing or copying), a corrupt
or truncated file. pypdf's own resource limits are tightened for the read (a decompression bomb stops at
MAX_STREAM bytes per stream), at most MAX_PAGES pages and MAX_CHARS characters are read, and a page that
fails is skipped with a note while the others are read.
"""
from __future__ import annotations

import io
import logging

import pypdf
from pypdf.errors import DependencyError

from .common import BadFile, Record
from .text import first_line, sensible_title

MAX_PAGES = 2000
MAX_CHARS = 3_000_000  # about 500,000 words, some 1,500 pages of prose
MAX_STREAM = 20_000_000  # decompressed bytes per stream (pypdf's default is 75 MB)
LIMITS = {f"{kind}_maximum_output_length": MAX_STREAM for kind in ("zlib", "lzw", "run_length", "brotli", "jbig2")}
LIMITS |= {"maximum_declared_stream_length": MAX_STREAM, "array_based_stream_maximum_output_length": MAX_STREAM,
           "stream_decoding_work_maximum_length": 4 * MAX_STREAM, "jbig2dec_binary": None}
JOIN_AT = 0.7  # a line at least this share of the page's longest line runs on into the next one

logging.getLogger("pypdf").setLevel(logging.ERROR)  # its warnings about sloppy files would flood the report


def read_pdf(raw: bytes, name: str) -> list[Record]:
    if b"%PDF-" not in raw[:1024]:
        raise BadFile("not a PDF (no %PDF- header)")
    with pypdf.apply_configuration(**LIMITS):
        reader = _open(raw)
        try:
            count = len(reader.pages)
        except Exception as err:
            raise BadFile(f"corrupt PDF: its page list cannot be read ({_brief(err)})") from None
        texts, notes = _page_texts(reader, count)
        meta = _metadata(reader)
    text, starts = _join(texts)
    if not any(ch.isalnum() for ch in text):
        raise BadFile("no text layer (scanned image?)")
    title = meta.get("/Title", "")
    return [Record(title=title if sensible_title(title) else first_line(text), text=text,
                   author=meta.get("/Author", "")[:200], page_starts=starts, note="; ".join(notes))]


def _open(raw: bytes) -> pypdf.PdfReader:
    try:
        reader = pypdf.PdfReader(io.BytesIO(raw))
    except Exception as err:  # pypdf raises many types for broken files
        raise BadFile(f"corrupt or truncated PDF ({_brief(err)})") from None
    if reader.is_encrypted:
        try:
            opened = reader.decrypt("")
        except (DependencyError, NotImplementedError) as err:
            raise BadFile(f"encrypted PDF that cannot be decrypted here ({_brief(err)})") from None
        except Exception as err:
            raise BadFile(f"corrupt encrypted PDF ({_brief(err)})") from None
        if opened == pypdf.PasswordType.NOT_DECRYPTED:
            raise BadFile("encrypted PDF: it needs a password (save an unprotected copy to index it)")
    return reader


def _page_texts(reader: pypdf.PdfReader, count: int) -> tuple[list[str], list[str]]:
    texts, notes, total = [], [], 0
    if count > MAX_PAGES:
        notes.append(f"only the first {MAX_PAGES:,} of {count:,} pages were read")
    for number in range(1, min(count, MAX_PAGES) + 1):
        try:
            page = reflow(reader.pages[number - 1].extract_text() or "")
        except Exception as err:
            notes.append(f"page {number} could not be read ({_brief(err)}); skipped")
            page = ""
        if total + len(page) > MAX_CHARS:
            texts.append(page[:MAX_CHARS - total])
            notes.append(f"text cut at {MAX_CHARS:,} characters, on page {number} of {count:,}")
            break
        texts.append(page)
        total += len(page)
    return texts, notes


def reflow(page: str) -> str:
    """The page's lines joined into paragraphs (one per line). A hyphen at a line's end is kept: joining
    "twenty-" and "six" must not give "twentysix", and a kept hyphen costs a split word at worst."""
    lines = [" ".join(line.split()) for line in page.splitlines()]
    width = max((len(line) for line in lines), default=0)
    paragraphs, current = [], ""
    for line in lines:
        if not line:
            if current:
                paragraphs.append(current)
            current = ""
            continue
        current = f"{current}{'' if current.endswith('-') or not current else ' '}{line}"
        if len(line) < JOIN_AT * width:
            paragraphs.append(current)
            current = ""
    if current:
        paragraphs.append(current)
    return "\n".join(paragraphs)


def _join(texts: list[str]) -> tuple[str, tuple[int, ...]]:
    """The pages' texts separated by a blank line, and the offset where each page begins (an empty page
    begins where the next one does, so `Article.page_at` still names the page that holds the text)."""
    parts, starts, length = [], [], 0
    for page in texts:
        if page and parts:
            parts.append("\n\n")
            length += 2
        starts.append(length)
        if page:
            parts.append(page)
            length += len(page)
    return "".join(parts), tuple(starts)


def _metadata(reader: pypdf.PdfReader) -> dict[str, str]:
    try:
        meta = reader.metadata or {}
        return {key: " ".join(str(meta.get(key) or "").split()) for key in ("/Title", "/Author")}
    except Exception:  # broken metadata is no reason to lose the text
        return {}


def _brief(err: Exception) -> str:
    return " ".join(f"{type(err).__name__}: {err}".split())[:200]

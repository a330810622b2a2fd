"""Word documents (.docx): headings, paragraphs and tables' text in document order; title and author
from the document properties (else the first heading, else the first line).

A .docx is a zip archive. Its table of contents is checked before anything is decompressed: the sizes it
declares (zipfile never inflates an entry past its declared size) must stay under MAX_UNCOMPRESSED in all
and MAX_RATIO times the file's size, or the file is refused as a likely zip bomb.
"""
from __future__ import annotations

import io
import zipfile

import docx
from docx.oxml.ns import qn
from docx.table import Table
from docx.text.paragraph import Paragraph

from .common import BadFile, Record
from .pdf import sensible_title
from .text import first_line

MAX_UNCOMPRESSED = 200_000_000
MAX_RATIO = 100  # Word's own files: 2-10x; a zip bomb: 1,000x and more
PLACEHOLDER_AUTHORS = {"python-docx"}  # the author python-docx's template leaves in every file it makes


def read_docx(raw: bytes, name: str) -> list[Record]:
    check_zip(raw)
    try:
        document = docx.Document(io.BytesIO(raw))
        blocks = list(_blocks(document))
        props = document.core_properties
        title, author = (props.title or "").strip(), (props.author or "").strip()
    except Exception as err:  # python-docx and lxml raise many types for broken files
        raise BadFile(f"corrupt DOCX ({' '.join(f'{type(err).__name__}: {err}'.split())[:200]})") from None
    text = "\n".join(line for line, _ in blocks)
    if not text.strip():
        raise BadFile("no text")
    heading = next((line for line, is_heading in blocks if is_heading), "")
    if not sensible_title(title):
        title = heading or first_line(text)
    return [Record(title=title, text=text, author="" if author in PLACEHOLDER_AUTHORS else author[:200])]


def check_zip(raw: bytes) -> None:
    """Refuse what is not a Word document, or would inflate beyond the limits, before decompressing it."""
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as err:
        raise BadFile(f"corrupt DOCX (not a readable zip archive: {err})") from None
    if not any(e.filename == "word/document.xml" for e in entries):
        raise BadFile("not a Word document (the archive has no word/document.xml)")
    total = sum(e.file_size for e in entries)
    if total > MAX_UNCOMPRESSED:
        raise BadFile(f"refused: it would decompress to {total / 1e6:,.0f} MB (limit {MAX_UNCOMPRESSED / 1e6:,.0f} "
                      "MB); a zip bomb?")
    if total > MAX_RATIO * len(raw):
        raise BadFile(f"refused: it would decompress to {total / len(raw):,.0f} times its size (limit "
                      f"{MAX_RATIO}x); a zip bomb?")


def _blocks(document):
    """(text, is_heading) for each paragraph and table row, in document order; empty ones left out.
    Heading styles are looked up by id in a set made once: python-docx's `paragraph.style` searches the
    styles part on every call (profiled: 75% of the reading time of a 12-paragraph document)."""
    headings = _heading_style_ids(document)
    for block in document.iter_inner_content():
        if isinstance(block, Paragraph):
            line = " ".join(block.text.split())
            if line:
                yield line, block._p.style in headings
        elif isinstance(block, Table):
            yield from ((row, False) for row in _rows(block))


def _heading_style_ids(document) -> set[str]:
    """Ids of the styles named "heading 1", "Heading 2", "Title", ... (ids may be localised; names are not)."""
    ids = set()
    for style in document.styles.element.iterchildren(qn("w:style")):
        name = style.find(qn("w:name"))
        if name is not None and name.get(qn("w:val"), "").lower().startswith(("heading", "title")):
            ids.add(style.get(qn("w:styleId")))
    return ids


def _rows(table: Table):
    """Each row's distinct cell texts joined by " | " (a merged cell is listed once); nested tables too."""
    for row in table.rows:
        cells, seen = [], []
        for cell in row.cells:
            if any(cell._tc is element for element in seen):
                continue
            seen.append(cell._tc)
            text = " ".join(cell.text.split())
            if text:
                cells.append(text)
            for inner in cell.tables:
                yield from _rows(inner)
        if cells:
            yield " | ".join(cells)

"""Word documents (.docx): headings, paragraphs and tables' text in document order (content controls
included); title and author from the document properties (else the first heading, else the first line).

A .docx is a zip archive. Its table of contents is checked before anything is decompressed: the sizes it
declares (zipfile never inflates an entry past its declared size) must stay under MAX_UNCOMPRESSED in all
and MAX_RATIO times the file's size, or the file is refused as a likely zip bomb.

Only the two parts that hold the article are parsed, word/document.xml and docProps/core.xml, with
python-docx's XML layer (its element classes, `Paragraph` and `Table`). `docx.Document()` would parse every
part; a python-docx-made file carries 800 kB of style sheets, and opening it cost 10 of the 13 ms that
reading one BBC article took (measured: 1.1 ms this way; docs/FORMATS.md). Heading styles are recognised
by their built-in ids (Title, Heading1..9) or an outline level; a localised style id only costs the
title fallback, which then takes the first line (usually that same heading).
"""
from __future__ import annotations

import io
import re
import zipfile

from docx.oxml.ns import qn
from docx.oxml.parser import parse_xml
from docx.table import Table
from docx.text.paragraph import Paragraph

from .common import BadFile, Record
from .text import first_line, sensible_title

MAX_UNCOMPRESSED = 200_000_000
MAX_RATIO = 100  # Word's own files: 2-10x; a zip bomb: 1,000x and more
PLACEHOLDER_AUTHORS = {"python-docx"}  # the author python-docx's template leaves in every file it makes
DOCUMENT, CORE = "word/document.xml", "docProps/core.xml"
_HEADING_ID = re.compile(r"(?i)^(title|heading ?\d)$")


def read_docx(raw: bytes, name: str) -> list[Record]:
    check_zip(raw)
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            body = parse_xml(archive.read(DOCUMENT)).body
            core = parse_xml(archive.read(CORE)) if CORE in archive.namelist() else None
            blocks = list(_blocks(body))
        title = (core.title_text or "").strip() if core is not None else ""
        author = (core.author_text or "").strip() if core is not None else ""
    except Exception as err:  # zipfile, lxml and python-docx raise many types for broken files
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
    if not any(e.filename == DOCUMENT for e in entries):
        raise BadFile("not a Word document (the archive has no word/document.xml)")
    total = sum(e.file_size for e in entries)
    if total > MAX_UNCOMPRESSED:
        raise BadFile(f"refused: it would decompress to {total / 1e6:,.0f} MB (limit {MAX_UNCOMPRESSED / 1e6:,.0f} "
                      "MB); a zip bomb?")
    if total > MAX_RATIO * len(raw):
        raise BadFile(f"refused: it would decompress to {total / len(raw):,.0f} times its size (limit "
                      f"{MAX_RATIO}x); a zip bomb?")


def _blocks(container):
    """(text, is_heading) for each paragraph and table row, in document order; empty ones left out."""
    for element in container.iterchildren():
        if element.tag == qn("w:p"):
            line = " ".join(Paragraph(element, None).text.split())
            if line:
                yield line, _is_heading(element)
        elif element.tag == qn("w:tbl"):
            yield from ((row, False) for row in _rows(Table(element, None)))
        elif element.tag == qn("w:sdt"):  # a content control: what it holds is part of the document
            content = element.find(qn("w:sdtContent"))
            if content is not None:
                yield from _blocks(content)


def _is_heading(paragraph) -> bool:
    style = paragraph.style or ""
    return bool(_HEADING_ID.match(style)) or paragraph.find(f"{qn('w:pPr')}/{qn('w:outlineLvl')}") is not None


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

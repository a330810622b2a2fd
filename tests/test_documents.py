"""PDF and DOCX readers on real files: PDFs printed by chromium (tests/fixtures/make_pdfs.py), DOCX files
written by python-docx here. Page numbers reach passages; broken, locked and hostile files are skipped
with their reason while the other files are read."""
from __future__ import annotations

import io
import shutil
import zipfile
from pathlib import Path

import docx
import pypdf
import pytest

from rag import Assistant
from rag.chunking import Chunker
from rag.corpus import read_file, scan
from rag.readers import BadFile, pdf
from rag.readers import docx as docx_reader

FIXTURES = Path(__file__).resolve().parent / "fixtures"
MB = 1_000_000


def corpus_with(tmp_path, *names: str) -> Path:
    corpus = tmp_path / "corpus"
    corpus.mkdir(exist_ok=True)
    for name in names:
        shutil.copy(FIXTURES / name, corpus / name)
    return corpus


# ---------------------------------------------------------------- PDF
def test_three_page_pdf_keeps_its_pages(tmp_path):
    [article], notes = read_file(FIXTURES / "harbour-report.pdf", "harbour-report.pdf", MB)
    assert notes == []
    assert article.title == "Port Arlen harbour report"  # the PDF's title property (chromium's <title>)
    assert len(article.page_starts) == 3 and article.page_starts[0] == 0
    for fact, page in (("eleven ferries", 1), ("Edda Voss", 2), ("4.2 million crowns", 3)):
        assert article.page_at(article.text.index(fact)) == page
    # lines broken by the page width are joined back into paragraphs; headings stay lines of their own
    assert "to the islands of the Mallow chain, according to the harbour office, which counted" in article.text
    assert "\nThe lighthouse\n" in article.text and "twenty-six years" in article.text


def test_pdf_page_numbers_reach_passages_and_search(tmp_path):
    [article], _ = read_file(FIXTURES / "harbour-report.pdf", "harbour-report.pdf", MB)
    passages = Chunker(40, 0).split(article)  # small chunks: a passage may still straddle two pages
    assert [p.page for p in passages] == ["1", "1", "1-2", "2", "3"]
    assert [p.page for p in passages if "twenty-six years" in p.text] == ["2"]
    assistant = Assistant(corpus_dir=corpus_with(tmp_path, "harbour-report.pdf"), index_dir=tmp_path / "index",
                          chunk_size=40, chunk_overlap=0, answer_mode="extractive", openai_api_key=None,
                          openai_base_url=None, chroma_host=None)
    report = assistant.ingest()
    assert report.added == ["harbour-report.pdf"] and report.skipped == []
    top = assistant.search("How long has the lamp at Gull Point been kept burning?", top_k=1)[0]
    assert "twenty-six years" in top.text and top.page == "2"
    top = assistant.search("How much did the new pier cost?", top_k=1)[0]
    assert "4.2 million" in top.text and top.page == "3"


def test_scanned_encrypted_and_broken_pdfs_are_skipped_with_reasons(tmp_path):
    corpus = corpus_with(tmp_path, "harbour-report.pdf", "scanned.pdf", "password.pdf", "restricted.pdf")
    raw = (FIXTURES / "harbour-report.pdf").read_bytes()
    (corpus / "truncated.pdf").write_bytes(raw[: len(raw) // 3])
    (corpus / "garbage.pdf").write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 20)
    (corpus / "not-a-pdf.pdf").write_bytes(b"<html>a web page saved as .pdf</html>")
    result = scan(corpus, MB)
    reasons = dict(result.skipped)
    assert reasons["scanned.pdf"] == "no text layer (scanned image?)"
    assert reasons["password.pdf"].startswith("encrypted PDF: it needs a password")
    assert reasons["truncated.pdf"].startswith(("corrupt", "no text layer"))
    assert reasons["garbage.pdf"].startswith("corrupt")
    assert reasons["not-a-pdf.pdf"] == "not a PDF (no %PDF- header)"
    # the empty user password opens a PDF that only restricts printing/copying: same text as the original,
    # so it is reported as a duplicate of it, not as unreadable
    assert reasons["restricted.pdf"] == "duplicate of harbour-report.pdf"
    assert [a.id for a in result.articles] == ["harbour-report.pdf"]


def test_restricted_pdf_opens_with_the_empty_password():
    [record] = pdf.read_pdf((FIXTURES / "restricted.pdf").read_bytes(), "restricted.pdf")
    assert "Edda Voss" in record.text and len(record.page_starts) == 3


def test_title_property_that_is_a_file_name_is_not_used():
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(FIXTURES / "harbour-report.pdf"))
    writer.add_metadata({"/Title": "Microsoft Word - draft7.docx", "/Author": "Harbour Office"})
    out = io.BytesIO()
    writer.write(out)
    [record] = pdf.read_pdf(out.getvalue(), "x.pdf")
    assert record.title == "Port Arlen harbour report"  # the first line instead
    assert record.author == "Harbour Office"


def test_page_and_character_bounds(monkeypatch):
    raw = (FIXTURES / "harbour-report.pdf").read_bytes()
    monkeypatch.setattr(pdf, "MAX_PAGES", 2)
    [record] = pdf.read_pdf(raw, "x.pdf")
    assert "Edda Voss" in record.text and "4.2 million" not in record.text
    assert record.note == "only the first 2 of 3 pages were read"
    monkeypatch.setattr(pdf, "MAX_PAGES", 2000)
    monkeypatch.setattr(pdf, "MAX_CHARS", 500)
    [record] = pdf.read_pdf(raw, "x.pdf")
    assert len(record.text) <= 500 + 2 and "text cut at 500 characters, on page 2 of 3" in record.note


def test_a_page_that_fails_is_skipped_and_the_rest_read(monkeypatch):
    real = pypdf.PageObject.extract_text

    def flaky(page, *args, **kwargs):
        if "Gull Point" in real(page, *args, **kwargs):
            raise ValueError("broken content stream")
        return real(page, *args, **kwargs)

    monkeypatch.setattr(pypdf.PageObject, "extract_text", flaky)
    [record] = pdf.read_pdf((FIXTURES / "harbour-report.pdf").read_bytes(), "x.pdf")
    assert "Edda Voss" not in record.text and "eleven ferries" in record.text and "4.2 million" in record.text
    assert record.note == "page 2 could not be read (ValueError: broken content stream); skipped"
    assert len(record.page_starts) == 3  # page 3's text still says page 3
    assert sum(1 for s in record.page_starts if s <= record.text.index("4.2 million")) == 3


def pdf_with_pages(contents: list[bytes]) -> bytes:
    """A real PDF with one page per content stream (Flate-compressed by pypdf)."""
    writer = pypdf.PdfWriter()
    font = pypdf.generic.DictionaryObject({
        pypdf.generic.NameObject("/Type"): pypdf.generic.NameObject("/Font"),
        pypdf.generic.NameObject("/Subtype"): pypdf.generic.NameObject("/Type1"),
        pypdf.generic.NameObject("/BaseFont"): pypdf.generic.NameObject("/Helvetica")})
    for content in contents:
        page = writer.add_blank_page(612, 792)
        page[pypdf.generic.NameObject("/Resources")] = pypdf.generic.DictionaryObject({
            pypdf.generic.NameObject("/Font"): pypdf.generic.DictionaryObject({
                pypdf.generic.NameObject("/F1"): writer._add_object(font)})})
        stream = pypdf.generic.DecodedStreamObject()
        stream.set_data(content)
        page[pypdf.generic.NameObject("/Contents")] = writer._add_object(stream.flate_encode())
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


TEXT_PAGE = b"BT /F1 12 Tf 72 720 Td (Ferry timetable for the Mallow islands) Tj ET"


@pytest.mark.timeout(120)
def test_decompression_bomb_page_is_skipped_with_a_note():
    bomb = pdf_with_pages([TEXT_PAGE, b"% " + b" " * 60_000_000 + b"\n"])  # 60 MB of spaces on page 2
    assert len(bomb) < 200_000
    [record] = pdf.read_pdf(bomb, "bomb.pdf")
    assert record.text == "Ferry timetable for the Mallow islands"
    assert record.note.startswith("page 2 could not be read (LimitReachedError")


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_many_pages_are_bounded():
    [record] = pdf.read_pdf(pdf_with_pages([TEXT_PAGE] * 2500), "many.pdf")
    assert len(record.page_starts) == pdf.MAX_PAGES
    assert record.note == f"only the first {pdf.MAX_PAGES:,} of 2,500 pages were read"


# ---------------------------------------------------------------- DOCX
def make_docx(path: Path, title: str = "", author: str = "") -> Path:
    document = docx.Document()
    document.core_properties.title = title
    document.core_properties.author = author
    document.add_heading("Night ferries return to Port Arlen", level=1)
    document.add_paragraph("The night ferry to the Mallow islands runs again from 3 May, the harbour office said.")
    document.add_heading("Timetable", level=2)
    table = document.add_table(rows=2, cols=3)
    for cell, text in zip(table.rows[0].cells, ("Route", "Leaves", "Arrives")):
        cell.text = text
    for cell, text in zip(table.rows[1].cells, ("Arlen to Mallow", "23:10", "00:05")):
        cell.text = text
    document.add_paragraph("Tickets cost 12 crowns, the same as the day boat.")
    document.save(path)
    return path


def test_docx_headings_paragraphs_and_tables_in_order(tmp_path):
    path = make_docx(tmp_path / "ferries.docx", title="Ferry news", author="Lena Brook")
    [article], notes = read_file(path, "ferries.docx", MB)
    assert (article.title, article.author, notes) == ("Ferry news", "Lena Brook", [])
    assert article.text.split("\n") == [
        "Night ferries return to Port Arlen",
        "The night ferry to the Mallow islands runs again from 3 May, the harbour office said.",
        "Timetable",
        "Route | Leaves | Arrives",
        "Arlen to Mallow | 23:10 | 00:05",
        "Tickets cost 12 crowns, the same as the day boat.",
    ]


def test_docx_title_falls_back_to_the_first_heading(tmp_path):
    path = make_docx(tmp_path / "ferries.docx")  # python-docx leaves author "python-docx": not a person
    [article], _ = read_file(path, "ferries.docx", MB)
    assert (article.title, article.author) == ("Night ferries return to Port Arlen", "")


def test_content_controls_and_outline_levels(tmp_path):
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    path = make_docx(tmp_path / "ferries.docx")
    document = docx.Document(path)
    document.paragraphs[0].style = document.styles["Normal"]  # no longer a heading
    timetable = document.paragraphs[2]  # a heading by its outline level only, as some editors write them
    timetable.style = document.styles["Normal"]
    level = OxmlElement("w:outlineLvl")
    level.set(qn("w:val"), "1")
    timetable._p.get_or_add_pPr().append(level)
    sdt, content = OxmlElement("w:sdt"), OxmlElement("w:sdtContent")  # wrap the second paragraph in a
    second = document.paragraphs[1]._p  # content control, as forms and templates do
    second.addprevious(sdt)
    sdt.append(content)
    content.append(second)
    document.save(path)
    [article], _ = read_file(path, "ferries.docx", MB)
    assert article.title == "Timetable"
    assert article.text.split("\n")[:2] == ["Night ferries return to Port Arlen",
                                            "The night ferry to the Mallow islands runs again from 3 May, the "
                                            "harbour office said."]


def _zip(entries: dict[str, bytes], level: int = 9) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return out.getvalue()


def test_corrupt_docx_and_zip_bomb_are_skipped_before_parsing(tmp_path, monkeypatch):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    good = make_docx(corpus / "good.docx").read_bytes()
    (corpus / "truncated.docx").write_bytes(good[: len(good) // 2])
    (corpus / "text.docx").write_bytes(b"plain text renamed to .docx")
    (corpus / "other.docx").write_bytes(_zip({"hello.txt": b"not word"}))
    bomb = _zip({"[Content_Types].xml": b"<Types/>", "word/document.xml": b" " * 50_000_000})
    (corpus / "bomb.docx").write_bytes(bomb)
    parsed, real_parse = [], docx_reader.parse_xml
    monkeypatch.setattr(docx_reader, "parse_xml", lambda xml: parsed.append(len(xml)) or real_parse(xml))
    result = scan(corpus, MB)
    reasons = dict(result.skipped)
    assert reasons["truncated.docx"].startswith("corrupt DOCX (not a readable zip archive")
    assert reasons["text.docx"].startswith("corrupt DOCX (not a readable zip archive")
    assert reasons["other.docx"] == "not a Word document (the archive has no word/document.xml)"
    assert reasons["bomb.docx"].startswith("refused: it would decompress to") and "zip bomb" in reasons["bomb.docx"]
    assert [a.id for a in result.articles] == ["good.docx"]
    assert len(parsed) == 2  # only the good file's document and properties parts were parsed
    monkeypatch.setattr(docx_reader, "MAX_UNCOMPRESSED", 10_000)
    with pytest.raises(BadFile, match=r"^refused: it would decompress to .* MB \(limit 0 MB\)"):
        docx_reader.read_docx(good, "good.docx")


def test_zip_that_lies_about_its_sizes_stops_at_the_declared_size(tmp_path):
    """zipfile never inflates an entry past the size its table of contents declares, so an archive that
    declares small sizes but holds a bomb fails as corrupt instead of filling memory."""
    source = zipfile.ZipFile(make_docx(tmp_path / "a.docx"))
    body = source.read("word/document.xml")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in source.namelist():
            archive.writestr(name, body + b" " * 30_000_000 if name == "word/document.xml" else source.read(name))
        archive.getinfo("word/document.xml").file_size = len(body)  # the lie, in the table of contents
    lying = out.getvalue()
    assert sum(i.file_size for i in zipfile.ZipFile(io.BytesIO(lying)).infolist()) < 100 * len(lying)
    with pytest.raises(BadFile, match="^corrupt DOCX .*CRC"):
        docx_reader.read_docx(lying, "lying.docx")

"""rag.uploads: what a page upload may write, where, and what it refuses (with the reason)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from rag import Assistant, Settings
from rag import uploads

FACT = "---\ntitle: Harbour lights\ndate: 2023-05-02\n---\nThe harbour of Vellmar has 37 lighthouses.\n"


@pytest.fixture()
def settings(tmp_path) -> Settings:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    return Settings(corpus_dir=corpus, index_dir=tmp_path / "index", upload_max_mb=0.01, upload_max_files=3)


@pytest.fixture()
def incoming(tmp_path):
    """Write a file the way Gradio hands it over (a temporary path) and return that path."""
    folder = tmp_path / "incoming"

    def write(data: bytes | str, name: str = "file") -> Path:
        target = folder / str(len(list(folder.glob("*"))) if folder.exists() else 0)
        target.mkdir(parents=True)
        path = target / name
        path.write_bytes(data.encode() if isinstance(data, str) else data)
        return path

    return write


def saved_files(settings: Settings) -> list[str]:
    return sorted(p.relative_to(settings.corpus_dir).as_posix() for p in settings.corpus_dir.rglob("*")
                  if p.is_file())


@pytest.mark.parametrize("name, expected", [
    ("../../x.md", "x.md"),
    ("..\\..\\windows\\evil.md", "evil.md"),
    ("/etc/cron.d/job.txt", "job.txt"),
    (".hidden.md", "hidden.md"),
    ("...md", "md"),  # then refused: no file type
    ("report <final>.HTML", "report _final.html"),
    ("Café crème.md", "Café crème.md"),
    ("", ""),
])
def test_safe_name(name, expected):
    assert uploads.safe_name(name) == expected


def test_traversal_name_is_saved_inside_the_uploads_folder(settings, incoming, tmp_path):
    results = uploads.save([(incoming(FACT), "../../x.md")], settings)
    assert [(r.ok, r.saved_as) for r in results] == [(True, "uploads/x.md")]
    assert saved_files(settings) == ["uploads/x.md"]
    assert not (tmp_path / "x.md").exists() and not (settings.corpus_dir / "x.md").exists()


def test_hidden_name_is_made_visible(settings, incoming):
    results = uploads.save([(incoming(FACT), ".secret.md")], settings)
    assert results[0].ok and results[0].saved_as == "uploads/secret.md"
    assert results[0].title == "Harbour lights"


@pytest.mark.parametrize("name", ["notes.xlsx", "run.exe", "README", "archive.md.zip"])
def test_wrong_type_is_refused(settings, incoming, name):
    [result] = uploads.save([(incoming(FACT), name)], settings)
    assert not result.ok and "unsupported file type" in result.reason
    assert saved_files(settings) == []


def test_too_big_is_refused(settings, incoming):
    big = "Words fill this line of an article. " * 400  # about 14 kB > 0.01 MB
    [result] = uploads.save([(incoming(big), "big.txt")], settings)
    assert not result.ok and "too large" in result.reason and "0.01 MB" in result.reason
    assert saved_files(settings) == []


def test_binary_is_refused(settings, incoming):
    [result] = uploads.save([(incoming(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 10), "photo.md")], settings)
    assert not result.ok and "binary" in result.reason


def test_utf16_is_refused_with_the_encoding_named(settings, incoming):
    [result] = uploads.save([(incoming("Some article text.".encode("utf-16")), "wide.txt")], settings)
    assert not result.ok and "UTF-16" in result.reason


def test_non_utf8_text_is_accepted_with_a_note(settings, incoming):
    [result] = uploads.save([(incoming("Le café a ouvert en 1902.".encode("cp1252")), "cafe.txt")], settings)
    assert result.ok and "not valid UTF-8" in result.note and "cp1252" in result.note


def test_empty_file_is_refused(settings, incoming):
    [result] = uploads.save([(incoming(b""), "empty.md")], settings)
    assert not result.ok and result.reason == "empty file"


def test_too_many_files_refuses_the_whole_upload(settings, incoming):
    files = [(incoming(f"Article number {i} is here."), f"a{i}.txt") for i in range(4)]
    results = uploads.save(files, settings)
    assert len(results) == 4 and not any(r.ok for r in results)
    assert all("too many files in one upload (4 > limit 3)" in r.reason for r in results)
    assert saved_files(settings) == []


def test_existing_files_are_never_overwritten(settings, incoming):
    folder = settings.corpus_dir / "uploads"
    folder.mkdir()
    (folder / "note.md").write_text("The first note stays as it was.")
    first = uploads.save([(incoming("A second note, different text."), "note.md")], settings)
    second = uploads.save([(incoming("A third note, different again."), "note.md")], settings)
    assert [first[0].saved_as, second[0].saved_as] == ["uploads/note_2.md", "uploads/note_3.md"]
    assert (folder / "note.md").read_text() == "The first note stays as it was."
    assert (folder / "note_2.md").read_text() == "A second note, different text."


def test_same_text_twice_in_one_upload_is_saved_once(settings, incoming):
    results = uploads.save([(incoming(FACT), "one.md"), (incoming(FACT), "two.md")], settings)
    assert [r.ok for r in results] == [True, False]
    assert results[1].reason == "same text as uploads/one.md, already in the index"
    assert saved_files(settings) == ["uploads/one.md"]


def test_a_bad_file_does_not_stop_the_good_ones(settings, incoming):
    results = uploads.save([(incoming(b"\x00\x01"), "bad.txt"), (incoming(FACT), "good.md")], settings)
    assert [r.ok for r in results] == [False, True]
    assert saved_files(settings) == ["uploads/good.md"]


def test_add_makes_the_upload_askable_at_once(tmp_path, seed_corpus, incoming):
    corpus = tmp_path / "corpus"
    shutil.copytree(seed_corpus, corpus)
    assistant = Assistant(corpus_dir=corpus, index_dir=tmp_path / "index", answer_mode="extractive",
                          openai_api_key=None, openai_base_url=None, chroma_host=None)
    assistant.ingest()
    steps = []
    results, report = uploads.add(assistant, [(incoming(FACT), "harbour.md")],
                                  progress=lambda fraction, message: steps.append(fraction))
    assert results[0].ok and report.added == ["uploads/harbour.md"]
    assert steps[0] < steps[-1] == 1.0
    assert "uploads/harbour.md" in [a["article_id"] for a in assistant.articles()]
    answer = assistant.ask("How many lighthouses does the harbour of Vellmar have?")
    assert not answer.abstained and "37" in answer.text
    assert answer.citations[0].article_id == "uploads/harbour.md"

    seed = sorted(seed_corpus.glob("*.md"))[0]
    again, report = uploads.add(assistant, [(seed, "copy-of-seed.md"), (incoming(FACT), "again.md")])
    assert report is None and not any(r.ok for r in again)
    assert again[0].reason == f"same text as {seed.name}, already in the index"
    assert again[1].reason == "same text as uploads/harbour.md, already in the index"
    assert sorted(p.name for p in (corpus / "uploads").iterdir()) == ["harbour.md"]


# ---------------------------------------------------------------- formats beyond text (PDF, DOCX, many-article files)
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def test_pdf_and_docx_uploads_are_checked_like_the_corpus(settings, incoming, tmp_path):
    import docx

    settings.upload_max_mb, settings.upload_max_files = 1, 5
    document = docx.Document()
    document.add_heading("Pier opens", level=1)
    document.add_paragraph("The new pier opened on a windy morning.")
    document.save(tmp_path / "pier.docx")
    results = uploads.save([(FIXTURES / "harbour-report.pdf", "report.pdf"),
                            (FIXTURES / "password.pdf", "locked.pdf"),
                            (FIXTURES / "scanned.pdf", "scan.pdf"),
                            (tmp_path / "pier.docx", "pier.docx"),
                            (incoming(b"PK\x03\x04 not really a zip"), "broken.docx")], settings)
    assert [(r.ok, r.title or r.reason) for r in results] == [
        (True, "Port Arlen harbour report"),
        (False, "encrypted PDF: it needs a password (save an unprotected copy to index it)"),
        (False, "no text layer (scanned image?)"),
        (True, "Pier opens"),
        (False, "corrupt DOCX (not a readable zip archive: File is not a zip file)")]
    assert saved_files(settings) == ["uploads/pier.docx", "uploads/report.pdf"]


def test_a_jsonl_upload_of_200_records_is_reported_as_one_file(settings, incoming):
    settings.upload_max_mb = 1
    lines = "".join(json.dumps({"id": f"n{i}", "title": f"Harbour note {i}", "text": f"Berth {i} was painted."}) + "\n"
                    for i in range(200))
    [result] = uploads.save([(incoming(lines + "{oops\n"), "notes.jsonl")], settings)
    assert (result.ok, result.saved_as, result.articles) == (True, "uploads/notes.jsonl", 200)
    assert result.title == "Harbour note 0 (+199 more)"
    assert result.note == "1 record(s) skipped (line 201: not valid JSON: Expecting property name enclosed in " \
                          "double quotes at column 2)"
    [again] = uploads.save([(incoming(lines), "copy.jsonl")], settings, known={})
    assert again.ok  # nothing indexed yet to compare with
    [bad] = uploads.save([(incoming("Ticker,Close\nARL,12.5\n"), "prices.csv")], settings)
    assert not bad.ok and bad.reason.startswith("no text column")


def test_add_refuses_a_many_article_file_whose_articles_are_all_indexed(tmp_path, incoming):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    assistant = Assistant(corpus_dir=corpus, index_dir=tmp_path / "index", answer_mode="extractive",
                          openai_api_key=None, openai_base_url=None, chroma_host=None, upload_max_mb=1)
    lines = "".join(json.dumps({"id": f"n{i}", "text": f"Berth {i} of Port Arlen was painted green."}) + "\n"
                    for i in range(3))
    [first], report = uploads.add(assistant, [(incoming(lines), "berths.jsonl")])
    assert first.ok and first.articles == 3 and len(report.added) == 3
    [second], report = uploads.add(assistant, [(incoming(lines), "berths.jsonl")])
    assert not second.ok and second.reason == "all 3 articles are already in the index (the first: " \
                                              "uploads/berths.jsonl#n0)"
    others = lines.replace("Berth", "Quay")  # a file dropped into the corpus, not yet indexed, and the
    (corpus / "quays.jsonl").write_text(others)  # same records uploaded: the corpus copy wins at ingest
    [third], report = uploads.add(assistant, [(incoming(others), "quays.jsonl")])
    assert not third.ok and third.reason == "none of its articles was indexed (duplicate of quays.jsonl#n0, ...)"
    assert sorted(p.name for p in (corpus / "uploads").iterdir()) == ["berths.jsonl"]


def sentences(n: int, word: str = "harbour") -> str:
    return " ".join(f"The {word} number {i} has a lighthouse." for i in range(n))


def test_an_upload_indexes_at_most_its_sentence_budget(settings, incoming):
    budgeted = settings.model_copy(update={"upload_max_sentences": 5, "upload_max_files": 4})
    results = uploads.save([(incoming(sentences(3, "first")), "a.txt"), (incoming(sentences(3, "second")), "b.txt"),
                            (incoming(sentences(2, "third")), "c.txt"), (incoming(sentences(6, "fourth")), "d.txt")],
                           budgeted)
    assert [r.ok for r in results] == [True, False, True, False]
    assert results[1].reason.startswith("over this upload's indexing budget: 3 sentences to embed (about 0 s), "
                                        "and the files before it already have 3")
    assert "at most 5 (RAG_UPLOAD_MAX_SENTENCES). Upload it again on its own" in results[1].reason
    assert results[3].reason.startswith("too much to index: 6 sentences") and results[3].reason.endswith("Split the file")
    assert saved_files(settings) == ["uploads/a.txt", "uploads/c.txt"]


def test_the_budget_message_says_what_indexing_would_cost():
    seconds = uploads.embedding_seconds(30_000)
    assert f"about {seconds:.0f} s" in uploads.over_budget(30_000, 0, 20_000)


# ------------------------------------------------------------------ the request limit, on a real server
LIMITS = {"RAG_UPLOAD_MAX_FILES": "2", "RAG_UPLOAD_MAX_MB": "0.1"}  # a request may be 268,000 bytes


@pytest.fixture(scope="module")
def guarded(tmp_path_factory):
    from test_app_api import start_app

    from conftest import stop

    tmp = tmp_path_factory.mktemp("guard")
    url, proc, _ = start_app(tmp, GRADIO_TEMP_DIR=str(tmp / "gradio"), **LIMITS)
    yield url.rsplit(":", 1)[1], tmp / "gradio"
    stop(proc)


def disk(folder: Path) -> tuple[int, int]:
    """(files, bytes) under a folder."""
    files = [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []
    return len(files), sum(p.stat().st_size for p in files)


def form(files: list[tuple[str, bytes]], boundary: str = "rag-test-boundary") -> tuple[bytes, str]:
    body = b"".join(f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
                    f"Content-Type: text/plain\r\n\r\n".encode() + data + b"\r\n" for name, data in files)
    return body + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def post(port: str, body, content_type: str, headers: dict | None = None) -> tuple[int, str]:
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", int(port), timeout=60)
    try:
        conn.request("POST", uploads.UPLOAD_ROUTE, body=body, headers={"Content-Type": content_type, **(headers or {})},
                     encode_chunked=not isinstance(body, bytes))
        response = conn.getresponse()
        return response.status, response.read().decode()
    finally:
        conn.close()


def test_a_declared_length_over_the_limit_is_refused_before_the_body_is_read(guarded):
    import http.client

    port, gradio = guarded
    before = disk(gradio)
    conn = http.client.HTTPConnection("127.0.0.1", int(port), timeout=30)
    conn.putrequest("POST", uploads.UPLOAD_ROUTE)
    conn.putheader("Content-Type", "multipart/form-data; boundary=x")
    conn.putheader("Content-Length", str(50_000_000))
    conn.endheaders()  # not one byte of the body is sent
    response = conn.getresponse()
    assert response.status == 413
    assert response.read().decode().startswith("Upload refused, nothing was stored: the request is 50.0 MB. "
                                               "One upload may hold at most 2 files and 0.3 MB in all")
    conn.close()
    assert disk(gradio) == before


def chunks(body: bytes, size: int = 7_000):
    for lo in range(0, len(body), size):
        yield body[lo:lo + size]


@pytest.mark.parametrize("case", ["too large, cut in a file", "too large, cut in a part's headers", "too many files"])
def test_a_streamed_upload_over_a_limit_is_cut_and_leaves_nothing(guarded, case):
    port, gradio = guarded
    before = disk(gradio)
    if case == "too many files":
        body, kind = form([(f"n{i}.txt", b"A small article. " * 50) for i in range(3)])
        status, text = post(port, body, kind)  # with its Content-Length: well within the byte limit
        assert "it holds more than 2 files" in text
    else:
        head = len(form([("a.txt", b"")])[0]) - len("--rag-test-boundary--\r\n")
        # the limit falls 40 bytes into part 2 (inside "Content-Disposition: ...": Gradio's parse fails), or
        # 5,000 bytes into part 1's data (Gradio stores a cut file, which is then deleted)
        first = 268_000 - head - (40 if "headers" in case else -5_000)
        body, kind = form([("a.txt", b"x" * first), ("b.txt", b"y" * 1_000)])
        status, text = post(port, chunks(body), kind)  # chunked: no Content-Length
        assert "the request is larger than 0.3 MB" in text
    assert status == 413 and text.startswith("Upload refused, nothing was stored")
    assert disk(gradio) == before


def test_an_upload_within_the_limits_is_stored_by_gradio(guarded):
    port, gradio = guarded
    body, kind = form([("one.txt", b"First article."), ("two.txt", b"Second article.")])
    status, text = post(port, chunks(body, 5), kind)
    assert status == 200
    paths = [Path(p) for p in json.loads(text)]
    assert [p.read_bytes() for p in paths] == [b"First article.", b"Second article."]
    assert all(p.is_relative_to(gradio.resolve()) for p in paths)
    uploads.discard(paths)

"""Files -> Articles: formats, metadata, stable ids, and every kind of bad file reported with its reason."""
from __future__ import annotations

import os

from rag.corpus import read_article, scan

MB = 1_000_000


def write(path, data, mode="w"):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, mode + ("b" if isinstance(data, bytes) else "")) as handle:
        handle.write(data)
    return path


def test_markdown_front_matter_gives_metadata(tmp_path):
    path = write(tmp_path / "a.md", "---\ntitle: GPUs bought\nauthor: Jane Roe\ndate: 2023-04-11\n"
                                    "source: Example News\n---\n# Heading\n\nBody text here.\n")
    article, note = read_article(path, "a.md", MB)
    assert (article.title, article.author, article.date, article.source) == \
        ("GPUs bought", "Jane Roe", "2023-04-11", "Example News")
    assert article.text == "# Heading\n\nBody text here."
    assert note == ""


def test_txt_title_is_first_line_and_id_is_relative_path(tmp_path):
    write(tmp_path / "tech" / "001.txt", "Headline here\n\nThe body of the story.\n")
    result = scan(tmp_path, MB)
    [article] = result.articles
    assert article.id == "tech/001.txt"
    assert article.title == "Headline here"
    assert article.date == ""


def test_html_text_is_extracted_without_scripts(tmp_path):
    html = ("<html><head><title>Page title</title><meta name='author' content='A. Writer'>"
            "<meta property='article:published_time' content='2023-04-12T10:00:00Z'>"
            "<script>alert('x')</script><style>p{}</style></head>"
            "<body><nav>Menu</nav><h1>Big news</h1><p>First paragraph.</p><p>Second <b>bold</b> one.</p>"
            "</body></html>")
    article, _ = read_article(write(tmp_path / "p.html", html), "p.html", MB)
    assert article.title == "Big news"  # the page's headline (<h1>), as trafilatura reads it
    assert article.author == "A. Writer"
    assert article.date == "2023-04-12"
    # no "Menu" check any more: on a page this small (under trafilatura's 250-character minimum) the whole
    # page text is kept, nav included; real pages lose their menus (tests/test_readers_html.py, docs/EXTRACTION.md)
    assert "alert" not in article.text and "p{}" not in article.text
    assert "First paragraph." in article.text and "bold" in article.text


def test_bad_files_are_skipped_with_reasons(tmp_path):
    write(tmp_path / "good.md", "Good\n\nA readable article.\n")
    write(tmp_path / "empty.txt", "")
    write(tmp_path / "blank.txt", "   \n\n  ")
    write(tmp_path / "binary.txt", b"\x00\x01\x02PNG\x00" * 50)
    write(tmp_path / "big.txt", "x" * 2000)
    write(tmp_path / "image.png", b"\x89PNG")
    write(tmp_path / "copy.md", "Good\n\nA readable article.\n")
    os.symlink(tmp_path / "missing.txt", tmp_path / "dangling.txt")
    os.mkfifo(tmp_path / "pipe.txt")
    os.symlink(tmp_path, tmp_path / "loop")  # a folder symlink loop: never followed
    result = scan(tmp_path, max_bytes=1000)
    reasons = dict(result.skipped)
    assert [a.id for a in result.articles] == ["copy.md"]
    assert reasons["empty.txt"] == "empty file"
    assert reasons["blank.txt"] == "no text"
    assert reasons["binary.txt"].startswith("binary file")
    assert reasons["big.txt"].startswith("too large")
    assert reasons["image.png"].startswith("unsupported file type")
    assert reasons["good.md"] == "duplicate of copy.md"
    assert reasons["dangling.txt"].startswith("unreadable")
    assert reasons["pipe.txt"] == "not a regular file"


def test_not_utf8_falls_back_to_cp1252_and_says_so(tmp_path):
    write(tmp_path / "old.txt", "Caf\u00e9 prices\n\nThe \u201cbest\u201d coffee costs \u00a35.".encode("cp1252"))
    result = scan(tmp_path, MB)
    [article] = result.articles
    assert "\u201cbest\u201d" in article.text and "\u00a35" in article.text
    [(name, note)] = result.notes
    assert name == "old.txt" and "decoded as cp1252" in note


def test_hidden_files_and_folders_are_ignored(tmp_path):
    write(tmp_path / ".git" / "x.txt", "Secret\n\ninternal")
    write(tmp_path / ".DS_Store", b"\x00\x00")
    write(tmp_path / "deep" / ("d/" * 40) / "a.txt", "Deep\n\nnested article")
    result = scan(tmp_path, MB)
    assert [a.title for a in result.articles] == ["Deep"]
    assert result.skipped == []


def test_content_hash_changes_with_text_and_metadata(tmp_path):
    path = write(tmp_path / "a.md", "---\ntitle: One\n---\nBody")
    first, _ = read_article(path, "a.md", MB)
    write(path, "---\ntitle: Two\n---\nBody")
    second, _ = read_article(path, "a.md", MB)
    write(path, "---\ntitle: Two\n---\nBody!")
    third, _ = read_article(path, "a.md", MB)
    assert len({first.content_hash, second.content_hash, third.content_hash}) == 3


def test_seed_corpus_is_two_dated_articles(seed_corpus):
    result = scan(seed_corpus, 10 * MB)
    assert result.skipped == []
    assert [(a.date, a.source != "") for a in result.articles] == [("2023-04-11", True), ("2023-04-12", True)]

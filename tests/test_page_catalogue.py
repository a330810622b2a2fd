"""The page's article catalogue (rag.web.Catalogue): one read of the index's catalogue per index change, however many
page loads, searches and example lists ask for it, also when they arrive together."""
from __future__ import annotations

import threading

import pytest
from fakes import HashEmbedding

from rag import Assistant
from rag.web import ARTICLES_PER_PAGE, EXAMPLES, Catalogue


@pytest.fixture()
def assistant(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i in range(60):
        source = "source: Quayside Gazette\n" if i % 10 == 0 else ""
        (corpus / f"a{i:02d}.md").write_text(f"---\ntitle: Harbour report {i}\ndate: 2023-05-{1 + i % 28:02d}\n"
                                             f"{source}---\nThe harbour of town {i} has {i} boats.\n")
    assistant = Assistant(corpus_dir=corpus, index_dir=tmp_path / "index", answer_mode="extractive",
                          openai_api_key=None, openai_base_url=None, chroma_host=None, embed_model=HashEmbedding())
    assistant.ingest()
    return assistant


def count_store_reads(assistant) -> list[int]:
    """Every read of the whole article list (from the index's article catalogue) is counted, and the
    chunk collection's metadata must not be paged at all: the catalogue is in step after the ingest."""
    reads = [0]
    rows = assistant.index.catalogue.rows

    def counted():
        reads[0] += 1
        return rows()

    def paged(include, collection=None):
        raise AssertionError("the store's chunk metadata was paged")

    assistant.index.catalogue.rows = counted
    assistant.index._pages = paged
    assistant.index._catalogue = None  # as a freshly started server has it
    return reads


def test_a_page_load_reads_the_catalogue_once_and_later_loads_not_at_all(assistant):
    reads = count_store_reads(assistant)
    catalogue = Catalogue(assistant)
    for _ in range(3):  # what the page's load does: the table, then the example questions
        first = catalogue.page("", 1)
        catalogue.examples()
    assert reads == [1]
    catalogue.page("report 1", 1)
    catalogue.page("", 3)
    assert reads == [1]
    assert first["total"] == 60 and first["pages"] == 3 and len(first["rows"]) == ARTICLES_PER_PAGE


def test_page_loads_arriving_together_share_one_read(assistant):
    reads = count_store_reads(assistant)
    catalogue = Catalogue(assistant)
    catalogue.warm()  # the server's start
    threads = [threading.Thread(target=catalogue.page, args=("", 1)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert reads == [1]


def test_search_and_paging(assistant):
    catalogue = Catalogue(assistant)
    found = catalogue.page("REPORT 1", 1)  # case-insensitive, in titles
    assert found["matching"] == 11 and found["total"] == 60 and found["pages"] == 1
    assert catalogue.page("", 99)["page"] == 3 and catalogue.page("", -5)["page"] == 1
    assert catalogue.page("no such words", 1) == {"rows": [], "page": 1, "pages": 1, "matching": 0, "total": 60}
    assert catalogue.page("Gazette", 1)["matching"] == 6


def test_a_search_finds_what_the_engine_finds(assistant):
    catalogue = Catalogue(assistant)
    for query in ("harbour", "REPORT 4", "a07.md", "gazette", "2023", "no such words", "é"):
        assert catalogue.rows(query) == assistant.articles(query)


def test_examples_ask_about_the_newest_articles(assistant):
    examples = Catalogue(assistant).examples()
    newest = sorted(assistant.articles(), key=lambda a: (a["date"], a["article_id"]))[-EXAMPLES:][::-1]
    assert examples == [f"What is “{a['title']}” about?" for a in newest]
    assert examples[0] == "What is “Harbour report 55” about?"  # 2023-05-28, the latest date, a55 after a27

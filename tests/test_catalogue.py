"""The article catalogue (rag/catalogue.py): written with the chunks, read instead of paging the store, and
rebuilt from the store whenever the two disagree (an index made before it, a run killed between the writes)."""
from __future__ import annotations

import fcntl
import threading

import pytest
from fakes import HashEmbedding

from rag import Assistant
from rag.catalogue import ArticleCatalogue

ARTICLE = "---\ntitle: {title}\ndate: 2023-05-{day:02d}\nsource: {source}\n---\n{body}\n"


def make(corpus, index):
    return Assistant(corpus_dir=corpus, index_dir=index, answer_mode="extractive", openai_api_key=None,
                     openai_base_url=None, chroma_host=None, embed_model=HashEmbedding(), ingest_batch=4)


@pytest.fixture()
def corpus(tmp_path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    for i in range(12):
        (folder / f"a{i:02d}.md").write_text(ARTICLE.format(
            title=f"Harbour report {i}", day=1 + i, source="Quayside Gazette" if i % 3 == 0 else "Tidewater News",
            body=f"The harbour of town {i} has {i} boats. " * (1 + i % 4)))
    return folder


def from_store(assistant) -> dict:
    """What the catalogue must say, counted from every stored chunk's metadata."""
    rows: dict[str, dict] = {}
    for meta in assistant.index.collection.get(include=["metadatas"])["metadatas"]:
        row = rows.setdefault(meta["article_id"], {"title": meta["title"], "date": meta["date"],
                                                   "source": meta["source"], "chunks": 0})
        row["chunks"] += 1
    return rows


def listed(assistant) -> dict:
    return {r["article_id"]: {k: r[k] for k in ("title", "date", "source", "chunks")}
            for r in assistant.index.articles()}


def test_the_catalogue_lists_what_the_store_holds_without_paging_it(corpus, tmp_path):
    assistant = make(corpus, tmp_path / "index")
    assistant.ingest()
    fresh = make(corpus, tmp_path / "index")  # another process: reads the catalogue file, not the store
    fresh.index._pages = lambda *a, **k: (_ for _ in ()).throw(AssertionError("the store was paged"))
    assert listed(fresh) == from_store(assistant) and len(listed(fresh)) == 12
    assert fresh.index.newest_date() == "2023-05-12"
    (corpus / "a05.md").unlink()
    (corpus / "a07.md").write_text(ARTICLE.format(title="Harbour report 7, revised", day=28, source="Tidewater News",
                                                  body="Town 7 now has a lighthouse. " * 9))
    report = assistant.ingest()
    assert (report.updated, report.removed) == (["a07.md"], ["a05.md"])
    assert listed(assistant) == from_store(assistant) and assistant.index.newest_date() == "2023-05-28"


def test_an_index_made_before_the_catalogue_gets_one_and_embeds_nothing(corpus, tmp_path):
    assistant = make(corpus, tmp_path / "index")
    assistant.ingest()
    expected = from_store(assistant)
    for path in (tmp_path / "index").glob("catalogue-*"):
        path.unlink()
    again = make(corpus, tmp_path / "index")
    assert listed(again) == expected  # a reader rebuilds it from the store
    for path in (tmp_path / "index").glob("catalogue-*"):
        path.unlink()
    report = make(corpus, tmp_path / "index").ingest()  # and so does a writer
    assert report.chunks_embedded == 0 and len(report.unchanged) == 12


def test_a_run_killed_between_the_store_and_the_catalogue_is_repaired(corpus, tmp_path, monkeypatch):
    assistant = make(corpus, tmp_path / "index")
    writes = [0]
    real = ArticleCatalogue.add_chunks

    def dies_on_the_second_batch(self, metas):
        writes[0] += 1
        if writes[0] == 2:  # the batch's chunks are in the store; the catalogue never hears of them
            raise KeyboardInterrupt
        return real(self, metas)

    monkeypatch.setattr(ArticleCatalogue, "add_chunks", dies_on_the_second_batch)
    with pytest.raises(KeyboardInterrupt):
        assistant.ingest()
    monkeypatch.setattr(ArticleCatalogue, "add_chunks", real)
    stored = from_store(assistant)
    assert assistant.index.catalogue.chunk_total() < sum(r["chunks"] for r in stored.values())
    report = make(corpus, tmp_path / "index").ingest()
    assert 0 < len(report.unchanged) < 12 and len(report.added) + len(report.unchanged) == 12
    assert listed(assistant) == from_store(assistant) and len(listed(assistant)) == 12
    assert make(corpus, tmp_path / "index").ingest().chunks_embedded == 0


def test_chunks_of_two_versions_are_never_complete(tmp_path):
    catalogue = ArticleCatalogue(tmp_path / "catalogue.sqlite")
    meta = {"article_id": "a.md", "title": "A", "date": "2023-05-01", "source": "", "author": "", "url": "",
            "content_hash": "h1", "chunker": "c1", "n_chunks": 2, "n_sentences": 3}
    catalogue.add_chunks([meta, meta])
    assert catalogue.versions() == {"a.md": ("h1", "c1", 2, 3, 2)}
    catalogue.add_chunks([{**meta, "content_hash": "h2"}])  # a killed update left a chunk of the new version
    assert catalogue.versions() == {"a.md": ("", "", -1, -1, 3)} and catalogue.chunk_total() == 3
    catalogue.delete(["a.md"])
    assert catalogue.versions() == {} and catalogue.chunk_total() == 0


def test_a_reader_does_not_wait_for_a_running_ingest(corpus, tmp_path):
    assistant = make(corpus, tmp_path / "index")
    assistant.ingest()
    for path in (tmp_path / "index").glob("catalogue-*"):
        path.unlink()  # out of step, as while another process's ingest is between two writes
    reader = make(corpus, tmp_path / "index")
    with open(tmp_path / "index" / "ingest.lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # an ingest is running (it keeps the catalogue in step itself)
        done = threading.Event()
        # the page's "latest" and the upload form's duplicate check read without the lock
        worker = threading.Thread(target=lambda: (reader.index.newest_date(), reader.index.manifest(), done.set()))
        worker.start()
        assert done.wait(20), "the reader waited for the writer's lock"
        worker.join()
        assert reader.index.catalogue.chunk_total() == 0, "a reader rebuilt the catalogue while a writer held the lock"
        fcntl.flock(held, fcntl.LOCK_UN)
    reader.index._written += 1  # the next index change, as refresh() sees it
    assert listed(reader) == from_store(assistant)  # no ingest running now: the reader rebuilt it


def test_a_damaged_catalogue_file_is_rebuilt_from_the_store(corpus, tmp_path):
    assistant = make(corpus, tmp_path / "index")
    assistant.ingest()
    expected = from_store(assistant)
    (catalogue,) = (tmp_path / "index").glob("catalogue-*.sqlite")
    for path in (tmp_path / "index").glob("catalogue-*"):
        path.unlink()
    catalogue.write_bytes(b"SQLite format 3\x00" + bytes(range(256)) * 8)  # a torn or overwritten file
    reader = make(corpus, tmp_path / "index")
    assert listed(reader) == expected
    report = reader.ingest()  # and the writer trusts it again: nothing re-embedded
    assert report.added == [] and report.updated == [] and report.chunks_embedded == 0

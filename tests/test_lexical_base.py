"""The memory-mapped BM25 base (rag/lexical_base.py) against the FTS5 table it is made from."""
from rag.text import sentence_spans
from rag.types import Filters

from conftest import SEED_CORPUS

QUESTIONS = ("How many GPUs did Twitter buy?", "Where is the Atlanta data center?",
             "Who signed the open letter calling for a pause?", "Musk OpenAI board 2018", "Twitter")


def seed_sentences() -> list[str]:
    return [text[a:b] for path in sorted(SEED_CORPUS.glob("*.md")) for text in [path.read_text()]
            for a, b in sentence_spans(text)]


def seed_copy(seed_assistant, tmp_path):
    """A copy of the seed corpus in tmp_path/corpus."""
    import shutil

    corpus = tmp_path / "corpus"
    shutil.copytree(seed_assistant.settings.corpus_dir, corpus)
    return corpus


def hashed_assistant(corpus, index):
    """An extractive assistant over `corpus` with the fast hashing embedder (no model run)."""
    from rag import Assistant

    from fakes import HashEmbedding

    return Assistant(corpus_dir=corpus, index_dir=index, answer_mode="extractive", chroma_host=None,
                     openai_api_key=None, openai_base_url=None, embed_model=HashEmbedding())


def test_base_plus_delta_ranks_as_the_table_through_adds_and_deletes(tmp_path, monkeypatch):
    """Base + FTS5 for the rows added since give the FTS5 path's own ranking, through adds (the delta),
    deletes (ids gone from the table), a chunk re-added under its old name, and a rebuild."""
    import rag.lexical as lexical_module

    docs = seed_sentences()
    lexical = lexical_module.LexicalIndex(tmp_path / "bm25.sqlite")
    half = len(docs) // 2
    lexical.add([(f"d{i}", f"a{i % 7}", "", "", doc) for i, doc in enumerate(docs[:half])])
    table_path = lexical_module.LexicalIndex._current_base

    def rankings(use_base: bool) -> list[list[str]]:
        monkeypatch.setattr(lexical, "_current_base", table_path.__get__(lexical) if use_base else lambda: None)
        return [lexical.search(q, 8, Filters()) for q in QUESTIONS]

    assert lexical.compact() is None and not lexical.base_root.exists()  # below BASE_MIN_CHUNKS: none
    monkeypatch.setattr(lexical_module, "BASE_MIN_CHUNKS", 1)
    built = lexical.compact()
    assert built["chunks"] == half and lexical._current_base() is not None
    assert lexical.compact() is None  # nothing added or deleted since: kept
    assert rankings(True) == rankings(False) and all(rankings(True))

    lexical.add([(f"d{i}", f"a{i % 7}", "", "", doc) for i, doc in enumerate(docs[half:], start=half)])
    lexical.delete_articles(["a3"])
    assert lexical._current_base().n == half  # a write does not rebuild
    expected = rankings(False)
    assert rankings(True) == expected
    assert not {f"d{i}" for i in range(3, len(docs), 7)} & {c for r in expected for c in r}

    # re-added under an old name it gets a new id: the base never takes it for its old self
    lexical.add([("d3", "a3", "", "", "Atlanta Atlanta Atlanta")])
    assert rankings(True) == rankings(False) and "d3" in rankings(True)[1]

    filtered = lexical.search("Twitter GPUs", 10, Filters(article_ids=("a1",)))  # the table path
    assert filtered and set(filtered) <= {f"d{i}" for i in range(1, len(docs), 7)}

    rebuilt = lexical.compact()  # over REBUILD_SHARE of the table changed since: remade
    assert rebuilt and rebuilt["chunks"] == lexical.count() and rankings(True) == rankings(False)
    other = lexical_module.LexicalIndex(tmp_path / "bm25.sqlite")  # another process's view
    assert [other.search(q, 8, Filters()) for q in QUESTIONS] == rankings(False)
    lexical.clear()
    assert not lexical.base_root.exists() and lexical.search("Atlanta", 5, Filters()) == []


def test_a_new_table_drops_a_base_left_from_an_older_one(tmp_path, monkeypatch):
    """Ids restart in a new table, so a base left beside it (the .sqlite deleted by hand) must go."""
    import rag.lexical as lexical_module

    monkeypatch.setattr(lexical_module, "BASE_MIN_CHUNKS", 1)
    path = tmp_path / "bm25.sqlite"
    lexical = lexical_module.LexicalIndex(path)
    lexical.add([(f"d{i}", "a", "", "", doc) for i, doc in enumerate(seed_sentences())])
    assert lexical.compact()
    del lexical
    for f in tmp_path.glob("bm25.sqlite*"):
        f.unlink()
    fresh = lexical_module.LexicalIndex(path)
    fresh.add([("x", "b", "", "", "Atlanta data center")])
    assert fresh.search("Twitter GPUs", 5, Filters()) == [] and fresh.search("Atlanta", 5, Filters()) == ["x"]


def test_ingest_makes_the_base_and_answers_rank_through_it(seed_assistant, tmp_path, monkeypatch):
    """An ingest over BASE_MIN_CHUNKS leaves a base covering the table; an article added later is found
    (through the delta or a rebuild) and one removed is gone, with the ranking of the table path."""
    import rag.lexical as lexical_module

    from test_freshness import ZEBRAS

    monkeypatch.setattr(lexical_module, "BASE_MIN_CHUNKS", 1)
    monkeypatch.setattr(lexical_module, "REBUILD_SHARE", 0.5)  # an added article stays in the delta
    corpus = seed_copy(seed_assistant, tmp_path)
    assistant = hashed_assistant(corpus, tmp_path / "index")
    assistant.ingest()
    lexical = assistant.index.lexical
    lexical.wait_for_base()
    base = lexical._current_base()
    assert base is not None and base.n == assistant.index.count() and lexical._base_view().delta == 0
    (corpus / "zebras.md").write_text(ZEBRAS)
    assistant.ingest()
    assert lexical._current_base().folder == base.folder and lexical._base_view().delta > 0  # not rebuilt
    filters = assistant.query("x").filters
    via_base = [assistant.index.lexical_ranking(q, 5, filters) for q in QUESTIONS + ("zebras Kenya",)]
    monkeypatch.setattr(lexical, "_current_base", lambda: None)
    assert via_base == [assistant.index.lexical_ranking(q, 5, filters) for q in QUESTIONS + ("zebras Kenya",)]
    assert via_base[-1][0].startswith("zebras.md#")
    without_base = assistant.ask("How many GPUs did Twitter buy?")
    monkeypatch.undo()
    with_base = assistant.ask("How many GPUs did Twitter buy?")
    assert not with_base.abstained and with_base.citations and with_base.text == without_base.text
    monkeypatch.setattr(lexical_module, "BASE_MIN_CHUNKS", 1)
    monkeypatch.setattr(lexical_module, "REBUILD_SHARE", 0.5)
    (corpus / "zebras.md").unlink()
    assistant.ingest()
    lexical.wait_for_base()
    assert lexical._current_base() is not None
    assert not any(c.startswith("zebras.md#") for c in assistant.index.lexical_ranking("zebras Kenya", 5, filters))


def test_a_damaged_bm25_file_is_refilled_from_the_store_and_its_base_dropped(seed_assistant, tmp_path, monkeypatch):
    """A file that is not a database (torn, overwritten) is replaced by a table refilled from the store's
    chunks; the base made from the old table goes with it (the new table restarts its ids); nothing is
    re-embedded and the ranking is the one before."""
    import rag.lexical as lexical_module

    monkeypatch.setattr(lexical_module, "BASE_MIN_CHUNKS", 1)
    corpus = seed_copy(seed_assistant, tmp_path)

    def make():
        return hashed_assistant(corpus, tmp_path / "index")

    assistant = make()
    assistant.ingest()
    assistant.index.lexical.wait_for_base()  # the base is made on a thread after the ingest returns
    filters = assistant.query("x").filters
    before = [assistant.index.lexical_ranking(q, 5, filters) for q in QUESTIONS]
    old_base = assistant.index.lexical._current_base().folder
    path = assistant.index.lexical.path
    assistant.index.lexical.db.close()  # as at a restart: an open connection would still serve the old WAL
    del assistant
    for stale in path.parent.glob(path.name + "-*"):
        stale.unlink()
    path.write_bytes(b"SQLite format 3\x00" + bytes(range(256)) * 8)

    reader = make()
    assert [reader.index.lexical_ranking(q, 5, filters) for q in QUESTIONS] == before and all(before)
    reader.index.lexical.wait_for_base()
    new_base = reader.index.lexical._current_base()  # the refill made a base of the new table
    assert new_base is not None and new_base.folder != old_base and not old_base.exists()
    assert new_base.n == reader.index.lexical.count() == reader.index.count()
    report = reader.ingest()
    assert report.chunks_embedded == 0 and report.added == [] and report.updated == []


def test_the_ingest_that_crosses_the_mark_returns_before_the_base_is_remade(seed_assistant, tmp_path, monkeypatch):
    """The base is remade on a thread after the ingest returns (37 s at 1M chunks, which the ingest used to
    wait for under its lock). Until the new base is live, questions rank through the old base plus the
    delta, as the table would; then the new base covers the whole table."""
    import threading

    import rag.lexical as lexical_module
    import rag.lexical_base as base_module

    from test_freshness import ZEBRAS

    monkeypatch.setattr(lexical_module, "BASE_MIN_CHUNKS", 1)
    corpus = seed_copy(seed_assistant, tmp_path)
    assistant = hashed_assistant(corpus, tmp_path / "index")
    assistant.ingest()
    lexical = assistant.index.lexical
    lexical.wait_for_base()
    first = lexical._current_base()
    assert first is not None and first.n == assistant.index.count()

    release, started = threading.Event(), threading.Event()
    real_build = base_module.build

    def held_build(db, root):
        started.set()
        assert release.wait(60)
        return real_build(db, root)

    monkeypatch.setattr(base_module, "build", held_build)
    (corpus / "zebras.md").write_text(ZEBRAS)  # a new article: far more than 5% of this small table
    ingest = threading.Thread(target=assistant.ingest)
    ingest.start()
    ingest.join(60)
    try:
        assert not ingest.is_alive(), "the ingest waited for the base build"
        assert started.wait(10) and lexical.building
        assert lexical._current_base().folder == first.folder  # the old base is still the live one
        filters = assistant.query("x").filters
        questions = QUESTIONS + ("zebras Kenya",)
        meanwhile = [assistant.index.lexical_ranking(q, 5, filters) for q in questions]
        assert meanwhile[-1][0].startswith("zebras.md#")
        answer = assistant.ask("How many GPUs did Twitter buy?")
        assert not answer.abstained and answer.citations
    finally:
        release.set()
        lexical.wait_for_base(60)
    assert not lexical.building
    remade = lexical._current_base()
    assert remade.folder != first.folder and not first.folder.exists()
    assert remade.n == lexical.count() == assistant.index.count()
    assert [assistant.index.lexical_ranking(q, 5, filters) for q in questions] == meanwhile
    monkeypatch.setattr(lexical, "_current_base", lambda: None)
    assert [assistant.index.lexical_ranking(q, 5, filters) for q in questions] == meanwhile  # the table's own

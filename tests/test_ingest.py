"""Incremental, resumable ingestion into real Chroma (embedded and a `chroma run` server)."""
from __future__ import annotations

import collections
import os
import socket
import subprocess
import time

import pytest

from rag import Assistant, StoreUnavailable
from rag.offline import NetworkBlocked

from conftest import PYTHON, ROOT

ARTICLE = "---\ntitle: {title}\ndate: 2023-05-0{day}\n---\n{body}\n"


def make_assistant(corpus, index, **extra):
    options = dict(answer_mode="extractive", openai_api_key=None, openai_base_url=None, chroma_host=None)
    return Assistant(corpus_dir=corpus, index_dir=index, **(options | extra))


def consistency(assistant) -> dict:
    """What a healthy index looks like: every article's chunks complete, one version, no orphans."""
    got = assistant.index.collection.get(include=["metadatas"])
    per_article = collections.defaultdict(list)
    for meta in got["metadatas"]:
        per_article[meta["article_id"]].append(meta)
    for article_id, metas in per_article.items():
        assert len({m["content_hash"] for m in metas}) == 1, f"two versions of {article_id}"
        assert len(metas) == metas[0]["n_chunks"], f"incomplete {article_id}"
    assert len(got["ids"]) == len(set(got["ids"]))
    sentences = collections.Counter(m["article_id"] for m in assistant.index.sentences.get(include=["metadatas"])["metadatas"])
    assert sentences == {aid: metas[0]["n_sentences"] for aid, metas in per_article.items()}, "orphan sentences"
    assert assistant.index.lexical_current(), "BM25 out of step with Chroma"
    catalogue = assistant.index.catalogue.versions()  # the article catalogue says what the store holds
    assert catalogue == {aid: (m[0]["content_hash"], m[0]["chunker"], m[0]["n_chunks"], m[0]["n_sentences"], len(m))
                         for aid, m in per_article.items()}, "article catalogue out of step with Chroma"
    return per_article


@pytest.mark.slow
def test_second_run_embeds_nothing(seed_corpus, tmp_path):
    assistant = make_assistant(seed_corpus, tmp_path)
    first = assistant.ingest()
    assert len(first.added) == 2 and first.chunks_embedded > 0
    before = assistant.embed_model.texts_embedded
    second = make_assistant(seed_corpus, tmp_path).ingest()  # a new process would see the same
    again = assistant.ingest()
    assert second.unchanged == again.unchanged == sorted(second.unchanged) and len(again.unchanged) == 2
    assert second.chunks_embedded == again.chunks_embedded == 0
    assert assistant.embed_model.texts_embedded == before
    assert again.chunks_total == first.chunks_total


def test_changed_and_deleted_articles(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for day, name in enumerate(["a", "b", "c"], start=1):
        (corpus / f"{name}.md").write_text(ARTICLE.format(
            title=f"Story {name}", day=day, body=f"Story {name} is about the {name}-widget factory."))
    assistant = make_assistant(corpus, tmp_path / "index")
    assistant.ingest()
    (corpus / "a.md").write_text(ARTICLE.format(title="Story a", day=1,
                                                body="Story a now reports a zeppelin hangar in Lisbon."))
    (corpus / "b.md").unlink()
    report = assistant.ingest()
    assert (report.added, report.updated, report.removed, report.unchanged) == ([], ["a.md"], ["b.md"], ["c.md"])
    assert report.chunks_embedded == 1
    per_article = consistency(assistant)
    assert set(per_article) == {"a.md", "c.md"}
    answer = assistant.ask("Where is the zeppelin hangar?")
    assert "Lisbon" in answer.text and answer.citations[0].article_id == "a.md"
    ids = {p.id for p in assistant.retriever.search("b-widget factory", top_k=5)}
    assert not any(i.startswith("b.md") for i in ids)


def test_unreadable_file_keeps_its_previous_version(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.md").write_text(ARTICLE.format(title="A", day=1, body="Alpha text about walruses."))
    assistant = make_assistant(corpus, tmp_path / "index", max_file_mb=0.001)
    assistant.ingest()
    (corpus / "a.md").write_text(ARTICLE.format(title="A", day=1, body="Alpha " * 500))  # now too large
    report = assistant.ingest()
    assert report.removed == [] and report.skipped[0][0] == "a.md"
    assert any("previously indexed version is kept" in note for _, note in report.notes)
    assert consistency(assistant)["a.md"]


@pytest.mark.slow
def test_chunker_change_reindexes(seed_corpus, tmp_path):
    make_assistant(seed_corpus, tmp_path).ingest()
    report = make_assistant(seed_corpus, tmp_path, chunk_size=128).ingest()
    assert len(report.updated) == 2 and report.chunks_embedded > 0
    consistency(make_assistant(seed_corpus, tmp_path, chunk_size=128))


def test_chunks_keep_metadata_and_character_spans(seed_assistant, seed_corpus):
    from rag.corpus import read_article

    got = seed_assistant.index.collection.get(include=["documents", "metadatas"])
    for text, meta in zip(got["documents"], got["metadatas"]):
        article, _ = read_article(seed_corpus / meta["article_id"], meta["article_id"], 10**7)
        assert article.text[meta["start"]:meta["end"]] == text
        assert meta["title"] == article.title and meta["date"] == article.date


def test_collection_name_encodes_the_embedding_model(seed_assistant):
    assert seed_assistant.index.collection.name == "articles-minilm-l6-int8"


def _many_articles(folder, count):
    folder.mkdir()
    words = ("gpu", "data", "center", "model", "training", "chip", "cost", "twitter", "musk", "report")
    for i in range(count):
        body = " ".join(f"{words[(i * 7 + j) % len(words)]}{i % 13}" for j in range(60))
        (folder / f"n{i:04d}.txt").write_text(f"Note {i}\n\nNumber {i} says {body}.\n")


@pytest.mark.slow
def test_killed_ingest_is_completed_by_the_next_run(tmp_path):
    """kill -9 a real `python -m rag ingest` part-way, then check the next run repairs everything."""
    corpus = tmp_path / "corpus"
    _many_articles(corpus, 240)
    env = {**os.environ, "RAG_INGEST_BATCH": "8", "RAG_ANSWER_MODE": "extractive"}
    delay = 4.0  # start-up takes ~3 s on an idle machine; adapt to this machine's load
    for attempt in range(8):
        index = tmp_path / f"index-{attempt}"  # a fresh path: Chroma caches clients per path in a process
        proc = subprocess.Popen([PYTHON, "-m", "rag", "ingest", "--corpus", str(corpus), "--index", str(index)],
                                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        proc.kill()
        proc.wait()
        assistant = make_assistant(corpus, index)
        stored = assistant.index.manifest()
        if 0 < len(stored) < 240:
            break
        delay = delay * 1.5 if not stored else delay * 0.7
    else:
        pytest.fail("could not catch the ingest part-way")
    report = assistant.ingest()
    assert 0 < len(report.unchanged) < 240, "the next run must keep what the killed run completed"
    assert len(report.added) + len(report.updated) + len(report.unchanged) == 240
    per_article = consistency(assistant)
    assert len(per_article) == 240
    assert make_assistant(corpus, index).ingest().chunks_embedded == 0


def test_chroma_server_mode(seed_corpus, tmp_path, chroma_server):
    host, port, _, _ = chroma_server
    assistant = make_assistant(seed_corpus, tmp_path, chroma_host=host, chroma_port=port)
    assert assistant.ingest().chunks_embedded > 0
    assert not (tmp_path / "chroma").exists(), "server mode must not create an embedded store"
    answer = assistant.ask("How many GPUs did Twitter buy?")
    assert "10,000" in answer.text and answer.citations
    again = make_assistant(seed_corpus, tmp_path / "other-index", chroma_host=host, chroma_port=port)
    assert again.ingest().chunks_embedded == 0  # the manifest lives in the server's collection


def test_dead_chroma_server_is_a_clear_error(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(StoreUnavailable, match=f"Chroma server at 127.0.0.1:{port}"):
        make_assistant(tmp_path, tmp_path, chroma_host="127.0.0.1", chroma_port=port)


def test_network_guard_blocks_non_loopback():
    """conftest installs the guard for every test: ingest and queries above ran under it."""
    with pytest.raises(NetworkBlocked):
        socket.create_connection(("192.0.2.1", 80), timeout=1)
    with pytest.raises(NetworkBlocked):
        socket.getaddrinfo("example.com", 443)


def test_cli_ingest_summary_and_exit_codes(seed_corpus, tmp_path, capsys):
    """In-process (rag.cli.main): a subprocess run of the same command is in tests/test_engine.py."""
    from rag import cli

    def run(*args):
        code = cli.main(["ingest", *args])  # an exception here fails the test: the CLI must not raise
        out = capsys.readouterr()
        return code, out.out, out.err

    code, out, err = run("--corpus", str(seed_corpus), "--index", str(tmp_path / "i"))
    assert code == 0, err
    assert "added 2, updated 0, removed 0, unchanged 0, skipped 0" in out
    code, out, err = run("--corpus", str(tmp_path / "nope"), "--index", str(tmp_path / "i"))
    assert code == 2 and "corpus folder not found" in err
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "x.bin").write_bytes(b"\x00")
    code, out, err = run("--corpus", str(tmp_path / "junk"), "--index", str(tmp_path / "j"))
    assert code == 1 and "x.bin" in out


def test_a_corpus_folder_that_looks_unmounted_keeps_the_index_until_prune(tmp_path, capsys):
    """An unmounted share, a failed sync or a mistyped folder looks like a mass deletion, and re-embedding a
    large archive costs hours: an ingest that would empty the index, or remove more than half of it (and at
    least 20 articles), keeps them and says so; an ordinary deletion, or `prune`, removes them."""
    import shutil

    from fakes import HashEmbedding

    from rag import cli

    corpus, away = tmp_path / "corpus", tmp_path / "away"
    _many_articles(corpus, 30)
    away.mkdir()
    assistant = make_assistant(corpus, tmp_path / "index", embed_model=HashEmbedding())
    assistant.ingest()
    for i in range(5):
        (corpus / f"n{i:04d}.txt").unlink()
    report = assistant.ingest()  # 5 of 30: an ordinary deletion
    assert len(report.removed) == 5 and report.held == []

    for i in range(5, 25):
        shutil.move(corpus / f"n{i:04d}.txt", away)
    report = assistant.ingest()  # 20 of 25: held
    assert report.removed == [] and report.held == [f"n{i:04d}.txt" for i in range(5, 25)]
    assert "kept 20 whose files are gone" in report.summary() and "--prune" in report.summary()
    assert len(assistant.articles()) == 25 and consistency(assistant).keys() == {a["article_id"] for a in assistant.articles()}
    assert any(p.article_id == "n0007.txt" for p in assistant.retriever.search("Number 7 says", top_k=5))

    for path in corpus.iterdir():  # emptied: nothing read at all
        shutil.move(path, away)
    report = assistant.ingest()
    assert report.articles_read == 0 and report.removed == [] and len(report.held) == 25
    assert len(assistant.articles()) == 25

    for path in sorted(away.iterdir())[:22]:  # back: the held ones are found unchanged, nothing re-embedded
        shutil.move(path, corpus)
    report = assistant.ingest()
    assert report.chunks_embedded == 0 and len(report.unchanged) == 22 and report.held == []
    assert len(report.removed) == 3  # 3 of 25 missing: an ordinary deletion again

    for path in sorted(corpus.iterdir())[:21]:
        shutil.move(path, away)
    report = assistant.ingest(prune=True)  # 21 of 22, on purpose
    assert len(report.removed) == 21 and report.held == [] and len(assistant.articles()) == 1

    # the CLI: exit code 1 and the reason on stderr; --prune goes ahead
    del assistant
    code = cli.main(["ingest", "--corpus", str(away), "--index", str(tmp_path / "cli")])
    assert code == 0, capsys.readouterr().err
    n = len(list(away.iterdir()))
    for path in sorted(away.iterdir()):
        path.unlink()
    code = cli.main(["ingest", "--corpus", str(away), "--index", str(tmp_path / "cli")])
    out = capsys.readouterr()
    assert code == 1 and "were kept" in out.err and "--prune" in out.err and f"kept {n} whose files are gone" in out.out
    code = cli.main(["ingest", "--corpus", str(away), "--index", str(tmp_path / "cli"), "--prune"])
    out = capsys.readouterr()
    assert code == 1 and f"removed {n}" in out.out and "no article could be read" in out.err


def test_two_corpus_folders_share_a_chroma_server_with_a_collection_each(seed_corpus, tmp_path, chroma_server):
    """RAG_COLLECTION names a corpus's collections on a shared server: the other corpus's ingest does not
    remove its articles (without it, one collection holds one corpus folder)."""
    host, port, _, _ = chroma_server
    other = tmp_path / "desk2"
    other.mkdir()
    (other / "ferries.md").write_text(ARTICLE.format(title="Ferry strike", day=3,
                                                     body="The ferry crews of Oslo walked out on Tuesday."))
    seeds = make_assistant(seed_corpus, tmp_path / "i1", chroma_host=host, chroma_port=port)
    seeds.ingest()
    desk2 = make_assistant(other, tmp_path / "i2", chroma_host=host, chroma_port=port, collection="desk2")
    report = desk2.ingest()
    assert report.added == ["ferries.md"] and report.removed == []
    assert desk2.index.collection.name == "desk2-articles-minilm-l6-int8"
    assert desk2.index.sentences.name == "desk2-sentences-minilm-l6-int8"
    assert {a["article_id"] for a in seeds.articles()} == {p.name for p in seed_corpus.glob("*.md")}
    assert seeds.ingest().removed == [] and [a["article_id"] for a in desk2.articles()] == ["ferries.md"]
    assert "Oslo" in desk2.ask("Where did the ferry crews walk out?").text
    assert "10,000" in seeds.ask("How many GPUs did Twitter buy?").text


def test_a_collection_name_is_checked():
    from pydantic import ValidationError

    from rag.settings import Settings

    for bad in ("-x", "a b", "x/y", "é", "a" * 41):
        with pytest.raises(ValidationError):
            Settings(collection=bad)
    assert Settings(collection="desk_2-b").collection == "desk_2-b"

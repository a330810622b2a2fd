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

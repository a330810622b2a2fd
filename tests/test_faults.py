"""Faults: a misbehaving LLM server, Chroma down (at start and mid-session), a full disk while writing.

Every fault must end in either a fallback answer with a visible notice, or a clear error: never a hang,
never a raw traceback at the CLI, never a lost index.
"""
from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
import time

import pytest

from conftest import ROOT, free_port, stop
from fake_llm_server import FakeLLMServer
from test_llm import assert_citations_valid

QUESTION = "How many GPUs did Twitter buy?"
NEW_ARTICLE = """---
title: Kenya's zebra count
date: 2023-05-02
---
Rangers counted 12,345 zebras in Kenya's national parks in 2023, a rise of eight percent on the previous count.
"""


def clean_env(**extra: str) -> dict:
    """The environment for a CLI subprocess: no inherited RAG/OpenAI/Chroma configuration."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAG_", "OPENAI_", "CHROMA_"))}
    env.update(extra)
    return env


def run_cli(*args: str, env: dict, stdin: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rag", *args], cwd=ROOT, env=env, input=stdin,
                          capture_output=True, text=True, timeout=timeout)


# ---------------------------------------------------------------- a misbehaving LLM server
@pytest.mark.slow
@pytest.mark.parametrize("mode", ["500", "429", "slow", "malformed", "malformed_sse"])
def test_llm_failure_falls_back_to_extractive_with_notice(mode, seed_assistant, seed_corpus):
    from rag import Assistant

    timeout, retries = 2.0, 1
    with FakeLLMServer(mode, delay=30) as server:
        assistant = Assistant(corpus_dir=seed_corpus, index_dir=seed_assistant.settings.index_dir,
                              answer_mode="llm", openai_base_url=server.base_url, llm_model="smollm2",
                              llm_timeout=timeout, llm_retries=retries, chroma_host=None)
        started = time.monotonic()
        answer = assistant.ask(QUESTION)
        elapsed = time.monotonic() - started
        assert server.requests, "the fake server was never asked"
        if mode in ("500", "429", "slow"):  # retried as configured, then given up
            assert len(server.requests) == retries + 1
    assert elapsed < timeout * (retries + 1) + 5, f"{mode}: fallback took {elapsed:.1f} s"
    assert answer.trace.fallback, f"{mode}: no fallback recorded; answer {answer.text!r}"
    assert answer.trace.mode == "llm"
    assert "could not answer" in answer.notice and "extracted from the articles" in answer.notice
    assert not answer.abstained and "10,000" in answer.text, answer.text
    assert_citations_valid(answer)


# ---------------------------------------------------------------- Chroma down at start
def test_chroma_down_at_start_raises_store_unavailable(tmp_path):
    from rag import Assistant, StoreUnavailable

    port = free_port()  # nothing listens here
    started = time.monotonic()
    with pytest.raises(StoreUnavailable) as info:
        Assistant(index_dir=tmp_path / "index", chroma_host="127.0.0.1", chroma_port=port)
    assert time.monotonic() - started < 15
    message = str(info.value)
    assert f"127.0.0.1:{port}" in message and "not available" in message


@pytest.mark.slow
@pytest.mark.parametrize("command", [["ask", QUESTION], ["ingest"]])
def test_cli_with_chroma_down_prints_a_clear_error(command, tmp_path, seed_corpus):
    env = clean_env(CHROMA_HOST="127.0.0.1", CHROMA_PORT=str(free_port()), RAG_INDEX_DIR=str(tmp_path / "i"),
                    RAG_CORPUS_DIR=str(seed_corpus), RAG_ANSWER_MODE="extractive")
    result = run_cli(*command, env=env)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout, result.stderr[-2000:]
    assert result.stderr.startswith("error: Chroma server at 127.0.0.1:"), result.stderr[-500:]


# ---------------------------------------------------------------- Chroma dies mid-session, then comes back
def test_chroma_stops_mid_session_then_recovers(chroma_server, seed_corpus, tmp_path):
    from rag import Assistant, StoreUnavailable
    from rag import cli

    host, port, procs, start = chroma_server
    assistant = Assistant(corpus_dir=seed_corpus, index_dir=tmp_path / "index", answer_mode="extractive",
                          chroma_host=host, chroma_port=port, openai_api_key=None, openai_base_url=None)
    assistant.ingest()
    before = assistant.ask(QUESTION)
    assert "10,000" in before.text
    stop(procs[-1])
    with pytest.raises(StoreUnavailable) as info:
        assistant.ask(QUESTION)
    assert f"{host}:{port}" in str(info.value)
    # the CLI's per-question path turns it into an error object (no traceback in `ask` from stdin)
    args = cli.parser().parse_args(["ask", "--json"])
    result, ok = cli._ask_one(assistant, QUESTION, args)
    assert not ok and "Chroma server" in result["error"]
    start()  # same port, same data path
    after = assistant.ask(QUESTION)
    assert after.text == before.text
    assert_citations_valid(after)


# ---------------------------------------------------------------- disk full while writing the index
def _corpus_with_index(tmp_path, seed_corpus):
    from rag import Assistant

    corpus = tmp_path / "corpus"
    shutil.copytree(seed_corpus, corpus)
    index = tmp_path / "index"
    assistant = Assistant(corpus_dir=corpus, index_dir=index, answer_mode="extractive", chroma_host=None,
                          openai_api_key=None, openai_base_url=None)
    assistant.ingest()
    (corpus / "zebras.md").write_text(NEW_ARTICLE)
    return corpus, index, assistant


def _enospc(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


@pytest.mark.slow
def test_disk_full_while_writing_bm25_keeps_the_old_index_answering(tmp_path, seed_corpus, monkeypatch, capsys):
    import sqlite3

    from rag import Assistant, cli

    corpus, index, assistant = _corpus_with_index(tmp_path, seed_corpus)
    (corpus / "census.md").write_text("Wildlife census\n\n" + " ".join(
        f"Rangers in park number {i} counted {i * 37} animals of species {i * 11} in 2023." for i in range(400)))
    before = assistant.index.lexical.chunk_ids()
    # SQLite's own "disk full" (SQLITE_FULL): the BM25 file may not grow by a single page
    db = assistant.index.lexical.db
    db.execute(f"PRAGMA max_page_count = {db.execute('PRAGMA page_count').fetchone()[0]}")
    with pytest.raises(OSError) as info:
        assistant.ingest()
    assert info.value.errno == errno.ENOSPC
    assert assistant.index.lexical.chunk_ids() == before  # the failed write left no part of itself
    assert "10,000" in assistant.ask(QUESTION).text  # the same session still answers

    from rag.lexical import _transaction

    def full(self, rows):  # what SQLite raises on a full disk, inside the write's transaction
        with _transaction(self):
            raise sqlite3.OperationalError("database or disk is full")

    # a new process on the same index, disk still full: its repair of the BM25 table fails, questions work
    monkeypatch.setattr("rag.lexical.LexicalIndex.add", full)
    fresh = Assistant(corpus_dir=corpus, index_dir=index, answer_mode="extractive", chroma_host=None,
                      openai_api_key=None, openai_base_url=None)
    answer = fresh.ask(QUESTION)
    assert "10,000" in answer.text
    assert_citations_valid(answer)
    # the CLI reports it as a clear error, exit code non-zero, no traceback
    monkeypatch.setattr("rag.lexical._transaction.__enter__", lambda self: _enospc())
    capsys.readouterr()
    code = cli.main(["ingest", "--corpus", str(corpus), "--index", str(index)])
    err = capsys.readouterr().err
    assert code != 0 and err.startswith("error:") and "No space left" in err
    # space again: the next ingest completes, the BM25 table is whole and the new article answers
    monkeypatch.undo()
    again = Assistant(corpus_dir=corpus, index_dir=index, answer_mode="extractive", chroma_host=None,
                      openai_api_key=None, openai_base_url=None)
    report = again.ingest()
    assert report.articles_read == 4 and again.index.lexical_current()


@pytest.mark.slow
def test_disk_full_while_adding_to_chroma_keeps_the_old_index(tmp_path, seed_corpus, monkeypatch):
    from llama_index.vector_stores.chroma import ChromaVectorStore

    from rag import Assistant

    corpus, index, assistant = _corpus_with_index(tmp_path, seed_corpus)
    monkeypatch.setattr(ChromaVectorStore, "add", _enospc)
    with pytest.raises(OSError) as info:
        assistant.ingest()
    assert info.value.errno == errno.ENOSPC
    assert "zebras.md" not in [a["article_id"] for a in assistant.articles()]
    answer = assistant.ask(QUESTION)
    assert "10,000" in answer.text
    assert_citations_valid(answer)
    monkeypatch.undo()
    report = Assistant(corpus_dir=corpus, index_dir=index, answer_mode="extractive", chroma_host=None,
                       openai_api_key=None, openai_base_url=None).ingest()
    assert report.added == ["zebras.md"] and len(report.unchanged) == 2


# ---------------------------------------------------------------- kill -9 during an upload's ingest
UPLOADER = r"""
import sys, time
from pathlib import Path
from rag import Assistant, uploads
corpus, index, source = sys.argv[1:4]
assistant = Assistant(corpus_dir=corpus, index_dir=index, answer_mode="extractive", ingest_batch=8,
                      chroma_host=None, openai_api_key=None, openai_base_url=None)
embed = assistant.embed_model.get_text_embedding_batch
calls = [0]
def counted(texts, **kwargs):  # a checkpoint the test can see; the kill itself is a real SIGKILL
    calls[0] += 1
    print(f"batch {calls[0]}", flush=True)
    return embed(texts, **kwargs)
object.__setattr__(assistant.embed_model, "get_text_embedding_batch", counted)
results, report = uploads.add(assistant, [(Path(source), "Breaking news.md")])
print("finished", results, flush=True)
"""
UPLOAD = """---
title: Harbour ferry strike
date: 2023-05-03
---
Ferry crews in the harbour went on strike for 36 hours over night-shift pay, the union said.
"""


@pytest.mark.slow
def test_kill_during_upload_ingest_is_repaired_by_the_next_run(tmp_path, seed_corpus):
    """An upload lands while a large corpus is still unindexed; its ingest (which indexes everything) is
    killed with SIGKILL part-way. The uploaded file is kept and the next run completes the index."""
    from rag import Assistant

    corpus, index = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(seed_corpus, corpus)
    for i in range(120):
        (corpus / f"n{i:03d}.txt").write_text(f"Note {i}\n\nThe warehouse in row {i} stores {i * 3} crates of "
                                              f"apples and {i + 11} crates of pears this week.\n")
    source = tmp_path / "upload.md"
    source.write_text(UPLOAD)
    proc = subprocess.Popen([sys.executable, "-c", UPLOADER, str(corpus), str(index), str(source)], cwd=ROOT,
                            env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for line in proc.stdout:  # wait until three batches have been embedded and written
            if line.strip() == "batch 4" or line.startswith("finished"):
                break
        assert line.strip() == "batch 4", "the uploader finished or died before the kill: " + proc.stderr.read()
        proc.kill()
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert (corpus / "uploads" / "Breaking news.md").read_text() == UPLOAD  # saved before indexing
    assistant = Assistant(corpus_dir=corpus, index_dir=index, answer_mode="extractive", chroma_host=None,
                          openai_api_key=None, openai_base_url=None)
    partial = assistant.index.manifest()
    total = 2 + 120 + 1
    assert 0 < len(partial) < total, f"the kill was not part-way ({len(partial)} of {total} stored)"
    report = assistant.ingest()
    assert report.articles_read == total and report.skipped == []
    assert 0 < len(report.unchanged) < total, "the next run keeps what the killed run completed"
    assert "uploads/Breaking news.md" in report.added + report.updated
    stored = assistant.index.manifest()
    assert len(stored) == total and all(s.present == s.n_chunks for s in stored.values())
    answer = assistant.ask("How long did the ferry crews strike?")
    assert "36 hours" in answer.text
    assert [c.article_id for c in answer.citations] == ["uploads/Breaking news.md"]
    assert_citations_valid(answer)

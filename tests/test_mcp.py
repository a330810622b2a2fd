"""The MCP tools through the `mcp` client library: `python -m rag mcp` over stdio, and /mcp on the real server."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import anyio
import httpx
import httpx2
import pytest
from conftest import ROOT, SEED_CORPUS
from mcp import Client, MCPError, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client

GPUS = "How many GPUs did Twitter buy?"
TESLA = "What is Tesla's share price?"
WHERE = "Where will the GPUs be installed?"
ONLY = "2023-04-12-twitter-gpu-purchase-what-we-know.md"
KEY = "mcp-test-key-7Hq2-not-a-real-secret"
TOOLS = {"search_articles", "ask", "list_articles", "get_article"}


async def exercise(client: Client) -> dict:
    """List the tools and call each one, good and bad calls; returns {label: (is_error, structured, text)}."""
    tools = {t.name: t for t in (await client.list_tools()).tools}
    calls = {
        "search": ("search_articles", {"query": WHERE, "top_k": 2}),
        "search_dated": ("search_articles", {"query": GPUS, "date_to": "2023-04-11"}),
        "ask": ("ask", {"question": GPUS}),
        "ask_tesla": ("ask", {"question": TESLA}),
        "ask_only": ("ask", {"question": WHERE, "article_ids": [ONLY], "top_k": 1}),
        "ask_future": ("ask", {"question": GPUS, "date_from": "2030-01-01"}),
        "list": ("list_articles", {}),
        "list_page": ("list_articles", {"offset": 1, "limit": 1}),
        "list_query": ("list_articles", {"query": "WHAT WE KNOW"}),
        "article": ("get_article", {"article_id": ONLY}),
        "bad_empty": ("ask", {"question": "  \n"}),
        "bad_article": ("get_article", {"article_id": "no-such-article.md"}),
        "bad_top_k": ("search_articles", {"query": GPUS, "top_k": 0}),
        "bad_date": ("ask", {"question": GPUS, "date_from": "2023-4-1"}),
        "bad_offset": ("list_articles", {"offset": -1}),
        "bad_ids": ("ask", {"question": GPUS, "article_ids": ["a"] * 1001}),
    }
    results = {"tools": tools}
    for label, (name, arguments) in calls.items():
        result = await client.call_tool(name, arguments)
        results[label] = (result.is_error, result.structured_content, result.content[0].text)
    return results


def check(results: dict, seed_assistant) -> None:
    tools = results.pop("tools")
    assert set(tools) == TOOLS and all(t.description for t in tools.values())
    assert tools["ask"].input_schema["required"] == ["question"]
    for label, (is_error, structured, text) in results.items():
        assert is_error == label.startswith("bad_"), (label, text)
        if not is_error:
            assert json.loads(text) == structured
    passages = results["search"][1]["passages"]
    assert [p["passage_id"] for p in passages] == [p.id for p in seed_assistant.search(WHERE, 2)]
    assert [p["rank"] for p in passages] == [1, 2] and "Atlanta" in passages[0]["text"]
    assert set(passages[0]) >= {"passage_id", "article_id", "title", "date", "text", "score"}
    dated = results["search_dated"][1]["passages"]
    assert dated and all(p["date"] <= "2023-04-11" for p in dated)

    want = seed_assistant.ask(GPUS)
    got = results["ask"][1]
    assert (got["answer"], got["abstained"], got["notice"]) == (want.text, False, "")
    assert got["citations"] == [c.to_dict() for c in want.citations] and "[1]" in got["answer"]
    assert results["ask_tesla"][1]["abstained"] is True and results["ask_tesla"][1]["citations"] == []
    assert [c["article_id"] for c in results["ask_only"][1]["citations"]] == [ONLY]
    assert results["ask_future"][1]["abstained"] is True

    everything = results["list"][1]
    assert everything["total"] == 2 and [a["article_id"] for a in everything["articles"]] == \
        [a["article_id"] for a in seed_assistant.articles()]
    assert results["list_page"][1]["total"] == 2 and results["list_page"][1]["articles"] == everything["articles"][1:]
    assert [a["article_id"] for a in results["list_query"][1]["articles"]] == [ONLY]
    assert results["article"][1] == seed_assistant.article(ONLY) and "Atlanta" in results["article"][1]["text"]

    assert "Please type a question: it is empty" in results["bad_empty"][2]
    assert "No article has the id 'no-such-article.md'" in results["bad_article"][2]
    assert "top_k" in results["bad_top_k"][2] and "date_from" in results["bad_date"][2]
    assert "offset" in results["bad_offset"][2] and "article_ids" in results["bad_ids"][2]


def run(client: Client) -> dict:
    async def main():
        async with client:
            return await exercise(client)

    return anyio.run(main)


# ------------------------------------------------------------------------------------------ stdio
@pytest.mark.slow
def test_stdio(tmp_path, seed_assistant):
    corpus = tmp_path / "corpus"
    shutil.copytree(SEED_CORPUS, corpus, ignore=shutil.ignore_patterns("uploads"))
    params = StdioServerParameters(command=sys.executable, cwd=ROOT,
                                   args=["-m", "rag", "mcp", "--corpus", str(corpus), "--index", str(tmp_path / "ix")],
                                   env={"RAG_ANSWER_MODE": "extractive", "GRADIO_ANALYTICS_ENABLED": "False"})
    errors = tmp_path / "stderr.log"
    with open(errors, "w") as errlog:
        check(run(Client(stdio_client(params, errlog=errlog))), seed_assistant)
    log = errors.read_text()
    assert "added 2" in log and "Traceback" not in log  # the first start indexed the corpus, on stderr


@pytest.mark.slow
def test_stdio_refuses_an_unreachable_chroma_server(tmp_path):
    from conftest import free_port

    env = {**os.environ, "CHROMA_HOST": "127.0.0.1", "CHROMA_PORT": str(free_port())}
    done = subprocess.run([sys.executable, "-m", "rag", "mcp", "--index", str(tmp_path)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert done.returncode == 2 and done.stderr.startswith("error:") and done.stdout == ""


# ------------------------------------------------------------------------------------------ HTTP
@pytest.mark.parametrize("mode", ["legacy", "auto"])  # the initialize handshake, and 2026-07-28 discovery
def test_http(app_server, seed_assistant, mode):
    url, log = app_server()
    check(run(Client(url + "/mcp", mode=mode)), seed_assistant)
    assert "Traceback" not in log.read_text()


def test_http_open_answers_only_loopback_host_names(app_server):
    url, _ = app_server()
    refused = httpx.post(url + "/mcp", json={}, headers={"host": "attacker.example"}, timeout=10)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden_host"


def test_http_refuses_a_body_over_1_mb(app_server):
    url, _ = app_server()
    call = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": "ask", "arguments": {"question": "x" * 1_048_576}}}
    refused = httpx.post(url + "/mcp", json=call, headers={"accept": "application/json, text/event-stream"},
                         timeout=30)
    assert refused.status_code == 413


def test_http_needs_the_key(app_server, seed_assistant):
    url, log = app_server(RAG_API_KEY=KEY)
    for headers in ({}, {"authorization": "Bearer wrong"}, {"authorization": KEY}):
        refused = httpx.post(url + "/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                             headers=headers, timeout=10)
        assert refused.status_code == 401 and refused.json()["error"]["code"] == "invalid_api_key"
    with pytest.raises(ExceptionGroup) as denied:  # the client reports the 401 as an error response
        run(Client(url + "/mcp", mode="legacy"))
    assert denied.group_contains(MCPError, match="error response")

    async def with_key():
        async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {KEY}"}, timeout=60) as http:
            async with Client(streamable_http_client(url + "/mcp", http_client=http), mode="legacy") as client:
                return await exercise(client)

    check(anyio.run(with_key), seed_assistant)
    assert KEY not in log.read_text()


def test_readme_example_runs(app_server):
    url, _ = app_server()
    readme = (ROOT / "README.md").read_text()
    code = readme.split("<!-- mcp-example -->")[1].split("```python")[1].split("```")[0]
    out = subprocess.run([sys.executable, "-c", code.replace("http://127.0.0.1:7860", url)], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "'search_articles', 'ask', 'list_articles', 'get_article'" in out.stdout and "10,000" in out.stdout

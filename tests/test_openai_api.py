"""The OpenAI-compatible API (/v1) of the real server, through the official openai client and raw HTTP."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import httpx
import openai
import pytest
from conftest import ROOT

MODEL = "ask-your-articles"
GPUS = "How many GPUs did Twitter buy?"
TESLA = "What is Tesla's share price?"
ONLY = "2023-04-12-twitter-gpu-purchase-what-we-know.md"
KEY = "test-key-Zq81-not-a-real-secret"


@pytest.fixture(scope="module")
def server(app_server):
    return app_server()


@pytest.fixture(scope="module")
def client(server):
    return openai.OpenAI(base_url=server[0] + "/v1", api_key="unused", max_retries=0, timeout=60)


def ask(client, *messages, **extra):
    conversation = [{"role": "user", "content": m} if isinstance(m, str) else m for m in messages]
    return client.chat.completions.create(model=MODEL, messages=conversation, extra_body=extra or None)


def streamed(client, *messages, **extra):
    conversation = [{"role": "user", "content": m} for m in messages]
    return list(client.chat.completions.create(model=MODEL, messages=conversation, stream=True,
                                               extra_body=extra or None))


def post(url, body, **headers):
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return httpx.post(url + "/v1/chat/completions", content=data, timeout=60,
                      headers={"content-type": "application/json", **headers})


def check_citations(content: str, citations: list[dict]) -> None:
    """Every [n] in the answer names a citation, every citation is used, and the Sources list shows each."""
    answer, _, sources = content.partition("\n\nSources:\n")
    assert {int(n) for n in re.findall(r"\[(\d+)\]", answer)} == {c["n"] for c in citations}
    for c in citations:
        assert c["quote"] and " ".join(c["quote"].split()) in " ".join(c["text"].split())
        assert f"[{c['n']}] {c['title']} ({c['date']}): \u201c" in sources


# ------------------------------------------------------------------------------------------ answers
def test_models(client):
    assert [m.id for m in client.models.list().data] == [MODEL]
    assert client.models.retrieve(MODEL).id == MODEL
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("gpt-4o")


def test_answer_matches_the_engine(client, seed_assistant):
    reply = ask(client, GPUS)
    want = seed_assistant.ask(GPUS)
    message = reply.choices[0].message
    assert reply.model == MODEL and reply.choices[0].finish_reason == "stop" and len(reply.choices) == 1
    assert message.role == "assistant" and message.content.startswith(want.text + "\n\nSources:\n- [1] ")
    assert "10,000" in message.content
    assert message.citations == [c.to_dict() for c in want.citations]
    assert message.abstained is False and message.notice == ""
    check_citations(message.content, message.citations)


def test_stream_carries_the_same_answer(client):
    whole = ask(client, GPUS).choices[0].message
    chunks = streamed(client, GPUS)
    assert chunks[0].choices[0].delta.role == "assistant"
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == whole.content
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop" and all(c.choices[0].finish_reason is None for c in chunks[:-1])
    assert last.citations == whole.citations and last.abstained is False and last.notice == ""
    assert len({c.id for c in chunks}) == 1


def test_abstains_without_sources(client, seed_assistant):
    message = ask(client, TESLA).choices[0].message
    assert message.abstained is True and message.citations == []
    assert message.content == seed_assistant.settings.abstain_text
    last = streamed(client, TESLA)[-1]
    assert last.abstained is True and last.citations == []


def test_follow_up_is_condensed(client, seed_assistant):
    first = ask(client, GPUS).choices[0].message.content
    follow = ask(client, GPUS, {"role": "assistant", "content": first}, "When?").choices[0].message
    chat = seed_assistant.chat()
    chat.add_turn(GPUS, seed_assistant.ask(GPUS).text)
    want = chat.ask("When?")
    assert want.trace.standalone != "When?"  # condensed: "When? (GPUs Twitter buy)"
    assert follow.abstained is False and follow.content.startswith(want.text)
    assert follow.citations == [c.to_dict() for c in want.citations]
    alone = ask(client, "When?").choices[0].message  # the same words without the conversation
    assert alone.abstained is True and seed_assistant.ask("When?").abstained


def test_system_messages_and_text_parts(client):
    message = ask(client, {"role": "system", "content": "You are helpful."},
                  {"role": "user", "content": [{"type": "text", "text": "How many GPUs"},
                                               {"type": "text", "text": "did Twitter buy?"}]}).choices[0].message
    assert "10,000" in message.content and message.citations


def test_options_through_extra_body(client):
    only = ask(client, "Where will the GPUs be installed?", article_ids=[ONLY], top_k=1).choices[0].message
    assert [c["article_id"] for c in only.citations] == [ONLY]
    later = ask(client, GPUS, date_from="2023-04-12").choices[0].message
    assert later.citations and all(c["date"] >= "2023-04-12" for c in later.citations)
    earlier = streamed(client, GPUS, date_to="2023-04-11")[-1]
    assert earlier.citations and all(c["date"] <= "2023-04-11" for c in earlier.citations)
    future = ask(client, GPUS, date_from="2030-01-01", date_to="2030-12-31", mode="extractive").choices[0].message
    assert future.abstained is True and future.citations == []


def test_long_question_is_truncated_with_a_notice(client):
    message = ask(client, GPUS + " " + "and more words " * 1000).choices[0].message
    assert "were used" in message.notice and message.content.endswith("Note: " + message.notice)


def test_raw_http(server):
    body = {"model": MODEL, "messages": [{"role": "user", "content": GPUS}]}
    reply = post(server[0], body)
    assert reply.status_code == 200 and reply.headers["content-type"] == "application/json"
    message = reply.json()["choices"][0]["message"]
    check_citations(message["content"], message["citations"])
    with httpx.stream("POST", server[0] + "/v1/chat/completions", json={**body, "stream": True},
                      timeout=60) as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        events = [line for line in stream.iter_lines() if line]
    assert all(line.startswith("data: ") for line in events) and events[-1] == "data: [DONE]"
    final = json.loads(events[-2][6:])
    assert final["choices"][0]["finish_reason"] == "stop" and final["citations"] == message["citations"]
    text = "".join(json.loads(e[6:])["choices"][0]["delta"].get("content", "") for e in events[:-1])
    assert text == message["content"]


def test_answers_at_once(client):
    with ThreadPoolExecutor(8) as pool:
        replies = list(pool.map(lambda q: ask(client, q).choices[0].message, [GPUS, TESLA] * 4))
    assert [r.abstained for r in replies] == [False, True] * 4


# ------------------------------------------------------------------------------------------ bad input
USER = [{"role": "user", "content": GPUS}]
BAD = [  # (body, status, param, code)
    (b"{not json", 400, None, None),
    (b"\xff\xfe\x00garbage", 400, None, None),
    ([1, 2], 400, None, None),
    (b"[" * 200_000 + b"]" * 200_000, 400, None, None),
    (b"", 400, None, None),
    ({"messages": USER}, 400, "model", None),
    ({"model": "gpt-4o", "messages": USER}, 404, "model", "model_not_found"),
    ({"model": MODEL}, 400, "messages", None),
    ({"model": MODEL, "messages": []}, 400, "messages", None),
    ({"model": MODEL, "messages": "hi"}, 400, "messages", None),
    ({"model": MODEL, "messages": ["hi"]}, 400, "messages[0]", None),
    ({"model": MODEL, "messages": [{"role": "system", "content": "Be brief."}]}, 400, "messages", None),
    ({"model": MODEL, "messages": [{"role": "user", "content": "   \n "}]}, 400, "messages", None),
    ({"model": MODEL, "messages": [{"role": "user", "content": "\x00\x01"}]}, 400, "messages", None),
    ({"model": MODEL, "messages": [{"role": "user"}]}, 400, "messages[0].content", None),
    ({"model": MODEL, "messages": [*USER, {"role": "assistant", "content": "Yes."}]}, 400, "messages", None),
    ({"model": MODEL, "messages": [{"role": "wizard", "content": "hi"}]}, 400, "messages[0].role", None),
    ({"model": MODEL, "messages": USER, "n": 2}, 400, "n", "unsupported_parameter"),
    ({"model": MODEL, "messages": USER, "tools": [{"type": "function", "function": {"name": "f"}}]}, 400,
     "tools", "unsupported_parameter"),
    ({"model": MODEL, "messages": USER, "functions": [{"name": "f"}]}, 400, "functions", "unsupported_parameter"),
    ({"model": MODEL, "messages": USER, "tool_choice": "required"}, 400, "tool_choice", "unsupported_parameter"),
    ({"model": MODEL, "messages": [*USER, {"role": "tool", "content": "42", "tool_call_id": "x"}]}, 400,
     "messages[1]", "unsupported_parameter"),
    ({"model": MODEL, "messages": [{"role": "user", "content": [
        {"type": "text", "text": "What is in this picture?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}]}]}, 400,
     "messages[0].content[1]", "unsupported_content"),
    ({"model": MODEL, "messages": USER, "response_format": {"type": "json_object"}}, 400, "response_format",
     "unsupported_parameter"),
    ({"model": MODEL, "messages": USER, "stream": "yes"}, 400, "stream", None),
    ({"model": MODEL, "messages": USER, "top_k": 0}, 400, "top_k", None),
    ({"model": MODEL, "messages": USER, "top_k": 51}, 400, "top_k", None),
    ({"model": MODEL, "messages": USER, "top_k": "5"}, 400, "top_k", None),
    ({"model": MODEL, "messages": USER, "top_k": True}, 400, "top_k", None),
    ({"model": MODEL, "messages": USER, "mode": "poetry"}, 400, "mode", None),
    ({"model": MODEL, "messages": USER, "article_ids": ONLY}, 400, "article_ids", None),
    ({"model": MODEL, "messages": USER, "article_ids": [1]}, 400, "article_ids", None),
    ({"model": MODEL, "messages": USER, "article_ids": ["a"] * 1001}, 400, "article_ids", None),
    ({"model": MODEL, "messages": USER, "date_from": "2023-4-1"}, 400, "date_from", None),
    ({"model": MODEL, "messages": USER, "date_to": "2023-02-30"}, 400, "date_to", None),
    ({"model": MODEL, "messages": USER, "date_to": 20230411}, 400, "date_to", None),
    ({"model": MODEL, "messages": USER, "date_from": "2023-05-01", "date_to": "2023-04-01"}, 400, "date_from", None),
    ({"model": MODEL, "messages": [{"role": "user", "content": "x" * 1_048_576}]}, 413, None,
     "request_too_large"),
]


@pytest.mark.parametrize("body,status,param,code", BAD, ids=[f"{i}-{b[1]}" for i, b in enumerate(BAD)])
def test_bad_input_gets_an_openai_error(server, body, status, param, code):
    reply = post(server[0], body)
    assert reply.status_code == status, reply.text
    error = reply.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == "invalid_request_error" and error["message"]
    assert (error["param"], error["code"]) == (param, code)


def test_bad_input_through_the_client(client):
    with pytest.raises(openai.BadRequestError, match="Only n=1"):
        client.chat.completions.create(model=MODEL, messages=USER, n=2)
    with pytest.raises(openai.NotFoundError, match="does not exist"):
        client.chat.completions.create(model="gpt-4o", messages=USER)
    with pytest.raises(openai.BadRequestError, match="empty"):
        client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": " "}], stream=True)
    with pytest.raises(openai.BadRequestError, match="top_k"):
        client.chat.completions.create(model=MODEL, messages=USER, extra_body={"top_k": 99})


def test_unknown_routes_and_methods(server):
    missing = httpx.get(server[0] + "/v1/embeddings", timeout=10)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    wrong = httpx.get(server[0] + "/v1/chat/completions", timeout=10)
    assert wrong.status_code == 405 and "POST /v1/chat/completions" in wrong.json()["error"]["message"]


def test_bad_input_leaves_no_traceback_and_the_server_serving(server, client):
    for body, *_ in BAD:
        post(server[0], body)
    assert "10,000" in ask(client, GPUS).choices[0].message.content
    log = server[1].read_text()
    assert "Traceback" not in log, log


# ------------------------------------------------------------------------------------------ access
def test_open_api_answers_only_loopback_host_names(server):
    base = server[0] + "/v1/models"
    assert httpx.get(base, headers={"host": "localhost:1234"}, timeout=10).status_code == 200
    for headers in ({"host": "attacker.example"}, {"origin": "http://attacker.example"}):
        refused = httpx.get(base, headers=headers, timeout=10)
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden_host"


def test_api_key(app_server):
    url, log = app_server(RAG_API_KEY=KEY)
    for key in ("", "wrong", KEY + "x", KEY[:-1]):
        with pytest.raises(openai.AuthenticationError, match="API key"):
            openai.OpenAI(base_url=url + "/v1", api_key=key or "none", max_retries=0).models.list()
    refused = post(url, {"model": MODEL, "messages": USER})
    assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
    assert refused.json()["error"] == {"message": refused.json()["error"]["message"], "type": "invalid_request_error",
                                       "param": None, "code": "invalid_api_key"}
    assert KEY not in refused.text
    client = openai.OpenAI(base_url=url + "/v1", api_key=KEY, max_retries=0, timeout=60)
    assert "10,000" in ask(client, GPUS).choices[0].message.content
    assert streamed(client, GPUS)[-1].citations
    other_host = httpx.get(url + "/v1/models", headers={"host": "box.lan:7860", "authorization": f"Bearer {KEY}"})
    assert other_host.status_code == 200  # with a key, any host name may be used
    assert httpx.get(url + "/", timeout=10).status_code == 200  # the page has its own login (none here)
    assert KEY not in log.read_text()


def test_page_login_protects_the_api_too(app_server):
    url, log = app_server(RAG_AUTH="alice:s3cret-pass")
    assert httpx.get(url + "/config", timeout=10).status_code == 401  # the page's login is still there
    for header in ({}, {"authorization": "Bearer alice:s3cret-pass"}, {"authorization": "Basic s3cret-pass"}):
        assert httpx.get(url + "/v1/models", headers=header, timeout=10).status_code == 401
    client = openai.OpenAI(base_url=url + "/v1", api_key="s3cret-pass", max_retries=0, timeout=60)
    assert "10,000" in ask(client, GPUS).choices[0].message.content
    assert "s3cret-pass" not in log.read_text()


# ------------------------------------------------------------------------------------------ README, llm mode
def readme_block(marker: str, language: str) -> str:
    readme = (ROOT / "README.md").read_text()
    return readme.split(f"<!-- {marker} -->")[1].split(f"```{language}")[1].split("```")[0]


def test_readme_examples_run(server):
    code = readme_block("openai-example", "python").replace("http://127.0.0.1:7860", server[0])
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "10,000" in out.stdout and "Sources:" in out.stdout and "Atlanta" in out.stdout
    if shutil.which("curl"):
        command = readme_block("curl-example", "bash").replace("http://127.0.0.1:7860", server[0])
        out = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=60,
                             env={**os.environ, "RAG_API_KEY": ""})
        assert json.loads(out.stdout)["choices"][0]["message"]["citations"], out.stderr


def test_llm_mode_stream_matches_its_citations(app_server, llm_server):
    """With a real (tiny) model, a follow-up (condensed by the model) is streamed as the verified answer:
    its [n] are exactly the citations of the last chunk."""
    url, log = app_server(OPENAI_BASE_URL=llm_server, RAG_LLM_MODEL="smollm2", RAG_ANSWER_MODE="llm",
                          RAG_LLM_MAX_TOKENS="32", RAG_TOP_K="3", RAG_LLM_TIMEOUT="60", RAG_LLM_RETRIES="1")
    client = openai.OpenAI(base_url=url + "/v1", api_key="unused", max_retries=0, timeout=180)
    chunks = streamed(client, "How many GPUs did Twitter buy?", "Where will they be installed?")
    text, last = "".join(c.choices[0].delta.content or "" for c in chunks), chunks[-1]
    assert last.choices[0].finish_reason == "stop"
    check_citations(text, last.citations)
    assert last.abstained == (last.citations == [])
    assert "Traceback" not in log.read_text()

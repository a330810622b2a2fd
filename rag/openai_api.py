"""The OpenAI-compatible chat API, mounted at /v1: `GET /v1/models`, `POST /v1/chat/completions`.

The last user message is the question; the earlier user/assistant turns are replayed into a rag `Chat`
(`Chat.add_turn`), so a follow-up is condensed as on the page. The reply's `content` is the verified answer
with its [n] markers, then a short "Sources" list; the same citations come as data (`citations`, `abstained`,
`notice`) on the message, or on the last chunk of a stream. Retrieval options are extra body fields
(`extra_body=` in the openai client): top_k, mode, article_ids, date_from, date_to.

A stream carries the verified answer: in llm mode the model's words are checked (markers dropped or
renumbered, an uncited answer withheld) before any of them is sent, so the text always matches its citations;
the first chunk (the role) is sent as soon as retrieval is done.

Bad input is a 4xx with an OpenAI error object, never a traceback. Engine calls run in worker threads, at most
as many at once as the `limiter` allows (shared with /mcp).
"""
from __future__ import annotations

import json
import logging
import re
import time
import uuid
from dataclasses import dataclass
from datetime import date

import anyio
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.exceptions import HTTPException

from .assistant import Assistant, AnswerStream, BadQuestion
from .index import IndexDamaged, StoreUnavailable
from .render import also_published_text
from .types import Answer

MODEL_ID = "ask-your-articles"
MAX_BODY_BYTES = 1_000_000  # a larger request is refused (413); a long question within it is truncated
MAX_REPLAYED_TURNS = 5  # earlier turns replayed for condensing (it looks at the last three)
MAX_ARTICLE_IDS = 1000
SOURCES_HEADING = "\n\nSources:\n"
NOT_TEXT = "Only text can be asked about the articles"
NO_TOOLS = "Function calling is not supported: this model only answers from the articles"

log = logging.getLogger(__name__)


class ApiError(Exception):
    """A client error, answered with an OpenAI error object."""

    def __init__(self, status: int, message: str, param: str | None = None, code: str | None = None,
                 kind: str = "invalid_request_error"):
        super().__init__(message)
        self.status, self.message, self.param, self.code, self.kind = status, message, param, code, kind


def error_body(message: str, param: str | None = None, code: str | None = None,
               kind: str = "invalid_request_error") -> dict:
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


# ------------------------------------------------------------------------------------------ the request
@dataclass
class ChatRequest:
    question: str
    history: list[tuple[str, str]]  # earlier (question, answer) turns, oldest first
    stream: bool
    options: dict  # keyword arguments of Assistant.stream


def parse_chat_request(body: bytes) -> ChatRequest:
    """Validate a /v1/chat/completions body. Raises ApiError naming the offending parameter."""
    try:
        data = json.loads(body)
    except ValueError as err:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise ApiError(400, f"The request body is not valid JSON ({err}).") from None
    except RecursionError:
        raise ApiError(400, "The request body is nested too deeply to read.") from None
    if not isinstance(data, dict):
        raise ApiError(400, "The request body must be a JSON object.")
    model = data.get("model")
    if not isinstance(model, str) or not model:
        raise ApiError(400, f"'model' is required: this server has one model, {MODEL_ID!r}.", "model")
    if model != MODEL_ID:
        raise ApiError(404, f"The model {model[:100]!r} does not exist: this server has one model, {MODEL_ID!r}.",
                       "model", "model_not_found")
    for name in ("tools", "functions"):
        if data.get(name):
            raise ApiError(400, f"{NO_TOOLS}.", name, "unsupported_parameter")
    for name in ("tool_choice", "function_call"):
        if data.get(name) not in (None, "none"):
            raise ApiError(400, f"{NO_TOOLS}.", name, "unsupported_parameter")
    n = data.get("n")
    if n is not None and (isinstance(n, bool) or n != 1):
        raise ApiError(400, "Only n=1 is supported: there is one verified answer per question.", "n",
                       "unsupported_parameter")
    response_format = data.get("response_format")
    if response_format is not None and not (isinstance(response_format, dict)
                                            and response_format.get("type") == "text"):
        raise ApiError(400, "Only text replies are supported (response_format type 'text').", "response_format",
                       "unsupported_parameter")
    stream = data.get("stream") or False
    if not isinstance(stream, bool):
        raise ApiError(400, "'stream' must be true or false.", "stream")
    question, history = _conversation(data.get("messages"))
    return ChatRequest(question, history, stream, _options(data))


def _conversation(messages: object) -> tuple[str, list[tuple[str, str]]]:
    if not isinstance(messages, list) or not messages:
        raise ApiError(400, "'messages' must be a non-empty list of {role, content} objects.", "messages")
    turns: list[tuple[str, list[str]]] = []  # (user message, the assistant messages after it)
    for i, message in enumerate(messages):
        param = f"messages[{i}]"
        if not isinstance(message, dict):
            raise ApiError(400, f"{param} must be an object with 'role' and 'content'.", param)
        role = message.get("role")
        if role in ("tool", "function") or message.get("tool_calls") or message.get("function_call"):
            raise ApiError(400, f"{NO_TOOLS}.", param, "unsupported_parameter")
        if role not in ("system", "developer", "user", "assistant"):
            raise ApiError(400, f"{param}.role must be 'system', 'developer', 'user' or 'assistant'.",
                           f"{param}.role")
        text = _text(message.get("content"), f"{param}.content", optional=role != "user")
        if role == "user":
            turns.append((text, []))
        elif role == "assistant" and turns:
            turns[-1][1].append(text.split(SOURCES_HEADING)[0])  # our own Sources list is not conversation
    if not turns:
        raise ApiError(400, "There is no user message: the last user message is the question.", "messages")
    question, answered = turns[-1]
    if answered:
        raise ApiError(400, "The conversation ends with an assistant message: end it with the user's question.",
                       "messages")
    if not question.strip():
        raise ApiError(400, "The question (the last user message) is empty.", "messages")
    history = [(q, "\n\n".join(answers)) for q, answers in turns[:-1]]
    return question, history[-MAX_REPLAYED_TURNS:]


def _text(content: object, param: str, optional: bool) -> str:
    """A message's text: a string, or a list of {"type": "text", "text": ...} parts."""
    if isinstance(content, str):
        return content
    if content is None and optional:
        return ""
    if isinstance(content, list):
        texts = []
        for j, part in enumerate(content):
            kind = part.get("type") if isinstance(part, dict) else None
            if kind == "text" and isinstance(part.get("text"), str):
                texts.append(part["text"])
            elif isinstance(kind, str):
                raise ApiError(400, f"{param}[{j}] is of type {kind[:40]!r}: {NOT_TEXT}.", f"{param}[{j}]",
                               "unsupported_content")
            else:
                raise ApiError(400, f"{param}[{j}] must be {{\"type\": \"text\", \"text\": ...}}.", f"{param}[{j}]")
        return "\n".join(texts)
    raise ApiError(400, f"{param} must be a string or a list of text parts.", param)


def _options(data: dict) -> dict:
    """Retrieval options (extra body fields), validated; absent or null ones are left to the settings."""
    options: dict = {}
    top_k = data.get("top_k")
    if top_k is not None:
        if isinstance(top_k, bool) or not isinstance(top_k, int) or not 1 <= top_k <= 50:
            raise ApiError(400, "top_k must be an integer from 1 to 50.", "top_k")
        options["top_k"] = top_k
    mode = data.get("mode")
    if mode is not None:
        if mode not in ("extractive", "llm"):
            raise ApiError(400, "mode must be 'extractive' or 'llm'.", "mode")
        options["mode"] = mode
    ids = data.get("article_ids")
    if ids is not None:
        if not isinstance(ids, list) or len(ids) > MAX_ARTICLE_IDS or not all(isinstance(i, str) for i in ids):
            raise ApiError(400, f"article_ids must be a list of at most {MAX_ARTICLE_IDS} article ids (strings).",
                           "article_ids")
        options["article_ids"] = ids
    for name in ("date_from", "date_to"):
        day = data.get(name)
        if day is None or day == "":
            continue
        if not is_iso_date(day):
            raise ApiError(400, f"{name} must be a date written YYYY-MM-DD, such as 2023-04-11.", name)
        options[name] = day
    if options.get("date_from", "") > options.get("date_to", "9999"):
        raise ApiError(400, "date_from is after date_to.", "date_from")
    return options


def is_iso_date(value: object) -> bool:
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


async def read_body(request: Request) -> bytes:
    too_large = ApiError(413, f"The request is larger than {MAX_BODY_BYTES:,} bytes: send a shorter question or "
                              "fewer earlier messages (questions are cut at RAG_MAX_QUESTION_CHARS anyway).",
                         code="request_too_large")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise too_large
    return bytes(body)


# ------------------------------------------------------------------------------------------ the reply
def sources_text(answer: Answer) -> str:
    """What follows the answer in `content`: the Sources list (n, title, date, quoted sentence), any notice."""
    lines = []
    for c in answer.citations:
        quote = " ".join((c.quote or c.text).split())
        quote = quote if len(quote) <= 300 else quote[:300].rstrip() + "…"
        also = also_published_text(c.passage.copies)
        lines.append(f"- [{c.n}] {c.title} ({c.date or 'no date'}): \u201c{quote}\u201d" + (f" ({also})" if also else ""))
    text = SOURCES_HEADING + "\n".join(lines) if lines else ""
    return text + (f"\n\nNote: {answer.notice}" if answer.notice else "")


def structured(answer: Answer) -> dict:
    return {"citations": [c.to_dict() for c in answer.citations], "abstained": answer.abstained,
            "notice": answer.notice}


def completion(answer: Answer, reply_id: str, created: int) -> dict:
    message = {"role": "assistant", "content": answer.text + sources_text(answer), **structured(answer)}
    return {"id": reply_id, "object": "chat.completion", "created": created, "model": MODEL_ID,
            "choices": [{"index": 0, "message": message, "finish_reason": "stop", "logprobs": None}]}


def chunk(reply_id: str, created: int, delta: dict, finish_reason: str | None = None, **extra) -> str:
    body = {"id": reply_id, "object": "chat.completion.chunk", "created": created, "model": MODEL_ID,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}], **extra}
    return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"


def start(assistant: Assistant, request: ChatRequest) -> AnswerStream:
    """Replay the earlier turns, then retrieve for the (condensed) question; the answer comes on iteration."""
    chat = assistant.chat()
    for question, answer in request.history:
        chat.add_turn(question, answer)
    return chat.stream(request.question, **request.options)


# ------------------------------------------------------------------------------------------ the app
def create_app(assistant: Assistant, limiter: anyio.CapacityLimiter) -> FastAPI:
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    model = {"id": MODEL_ID, "object": "model", "created": int(time.time()), "owned_by": "ask-your-articles"}

    async def run(fn):
        return await anyio.to_thread.run_sync(fn, limiter=limiter)

    @app.exception_handler(ApiError)
    async def api_error(_request, err: ApiError):
        return JSONResponse(error_body(err.message, err.param, err.code, err.kind), status_code=err.status)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, err: HTTPException):
        message = (f"{err.detail}: {request.method} {request.url.path}. This API offers GET /v1/models and "
                   "POST /v1/chat/completions.")
        return JSONResponse(error_body(message, code="not_found" if err.status_code == 404 else None),
                            status_code=err.status_code)

    @app.exception_handler(Exception)
    async def crash(_request, _err):  # a bug: Starlette logs the traceback; the client gets no detail
        return JSONResponse(error_body("The server failed to answer (see its log).", kind="server_error"),
                            status_code=500)

    @app.get("/models")
    async def models():
        return {"object": "list", "data": [model]}

    @app.get("/models/{model_id:path}")
    async def one_model(model_id: str):
        if model_id != MODEL_ID:
            raise ApiError(404, f"The model {model_id[:100]!r} does not exist: this server has one model, "
                                f"{MODEL_ID!r}.", "model", "model_not_found")
        return model

    @app.post("/chat/completions")
    async def chat_completions(request: Request):
        parsed = parse_chat_request(await read_body(request))
        try:
            stream = await run(lambda: start(assistant, parsed))
        except BadQuestion as err:
            raise ApiError(400, str(err), "messages") from None
        except (StoreUnavailable, IndexDamaged) as err:
            raise ApiError(503, f"The index is unavailable: {err}", kind="server_error") from None
        reply_id, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
        if not parsed.stream:
            return completion(await run(stream.result), reply_id, created)
        return StreamingResponse(events(stream, reply_id, created), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    async def events(stream: AnswerStream, reply_id: str, created: int):
        yield chunk(reply_id, created, {"role": "assistant", "content": ""})
        try:
            answer = await run(stream.result)
        except Exception:  # a bug (LLM failures fall back inside the engine): log it, tell the client
            log.exception("answering a streamed chat completion failed")
            failed = error_body("The server failed to answer (see its log).", kind="server_error")
            yield f"data: {json.dumps(failed)}\n\n"
            return
        yield chunk(reply_id, created, {"content": answer.text})
        if tail := sources_text(answer):
            yield chunk(reply_id, created, {"content": tail})
        yield chunk(reply_id, created, {}, "stop", **structured(answer))
        yield "data: [DONE]\n\n"

    return app

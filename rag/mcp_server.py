"""MCP tools over the one engine: search_articles, ask, list_articles, get_article.

`python -m rag mcp` serves them over stdio (for clients that start the server themselves); the page server
serves the same tools over streamable HTTP at /mcp (see rag/server.py). Each tool returns one JSON object (as
structured content and as text). Bad arguments (an empty question, a bad date, an unknown article id) come
back as a tool error with a clear message. Engine calls run in worker threads, at most as many at once as the
`limiter` allows (on the page server it is shared with /v1).
"""
from __future__ import annotations

import contextlib
import sys
from typing import Annotated, Any

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field

from .assistant import Assistant, BadQuestion, CorpusMissing
from .index import IndexDamaged, StoreUnavailable
from .web import ANSWER_CONCURRENCY

INSTRUCTIONS = ("Answers and passages from a local collection of news articles. `ask` gives an answer whose [n] "
                "markers point at verified citations (or says the articles don't say); `search_articles` gives "
                "the ranked passages; `list_articles` and `get_article` browse the collection.")
Date = Annotated[str, Field(pattern=r"^(\d{4}-\d{2}-\d{2})?$",
                            description="Publication date bound, YYYY-MM-DD, inclusive; empty for none.")]
TopK = Annotated[int, Field(ge=1, le=50, description="How many passages to retrieve (1-50).")]


def passage_dict(rank: int, p) -> dict[str, Any]:
    return {"rank": rank, "passage_id": p.id, "article_id": p.article_id, "title": p.title, "date": p.date,
            "source": p.source, "text": p.text, "start": p.start, "end": p.end, "score": round(p.score, 6)}


def build(assistant: Assistant, limiter: anyio.CapacityLimiter) -> MCPServer:
    server = MCPServer("ask-your-articles", instructions=INSTRUCTIONS, log_level="WARNING")

    async def run(fn):
        try:
            return await anyio.to_thread.run_sync(fn, limiter=limiter)
        except (BadQuestion, StoreUnavailable, IndexDamaged) as err:
            raise ToolError(str(err)) from None

    @server.tool()
    async def search_articles(query: str, top_k: TopK = 5, date_from: Date = "", date_to: Date = "") -> dict[str, Any]:
        """The passages that retrieval ranks highest for `query` (no answer is written): each with its
        passage_id, article_id, title, date, source, text, character span and score."""
        passages = await run(lambda: assistant.search(query, top_k, date_from=date_from, date_to=date_to))
        return {"query": query, "passages": [passage_dict(rank, p) for rank, p in enumerate(passages, 1)]}

    @server.tool()
    async def ask(question: str, top_k: TopK | None = None, date_from: Date = "", date_to: Date = "",
                  article_ids: Annotated[list[str] | None, Field(max_length=1000)] = None) -> dict[str, Any]:
        """Answer a question from the articles. `answer` carries [n] markers; `citations` holds each n with its
        article_id, title, date, the quoted passage and sentence. `abstained` is true when the articles don't
        say; `notice` explains a truncated question or a fallback."""
        answer = await run(lambda: assistant.ask(question, top_k=top_k, date_from=date_from, date_to=date_to,
                                                 article_ids=article_ids or ()))
        return {"question": answer.question, "answer": answer.text, "abstained": answer.abstained,
                "notice": answer.notice, "citations": [c.to_dict() for c in answer.citations]}

    @server.tool()
    async def list_articles(query: str = "", offset: Annotated[int, Field(ge=0)] = 0,
                            limit: Annotated[int, Field(ge=1, le=500)] = 50) -> dict[str, Any]:
        """The indexed articles (article_id, title, date, source, author, url, chunks), by date, a page at a
        time; `query` keeps those whose title, id or source contains it. `total` counts all matches."""
        rows = await run(lambda: assistant.articles(query))
        return {"total": len(rows), "offset": offset, "limit": limit, "articles": rows[offset:offset + limit]}

    @server.tool()
    async def get_article(article_id: str) -> dict[str, Any]:
        """One article: its metadata and full text (article ids come from list_articles or search results)."""
        article = await run(lambda: assistant.article(article_id))
        if article is None:
            raise ToolError(f"No article has the id {article_id[:200]!r}: list_articles gives the ids.")
        return article

    return server


def run_stdio(assistant: Assistant) -> int:
    """Serve the tools over stdin/stdout until the client closes them. stdout is the protocol: everything
    else goes to stderr."""
    with contextlib.redirect_stdout(sys.stderr):
        if not assistant.index.count():
            try:
                print(assistant.ingest().summary(), file=sys.stderr)
            except CorpusMissing as err:
                print(f"warning: {err}", file=sys.stderr)
    limiter = anyio.CapacityLimiter(ANSWER_CONCURRENCY)
    build(assistant, limiter).run("stdio")
    return 0

"""One server, one port: the page at /, the OpenAI-compatible API at /v1, the MCP tools at /mcp.

A FastAPI app holds the three: the API (rag/openai_api.py) and MCP's streamable HTTP endpoint
(rag/mcp_server.py) sit behind the bearer-key guard (rag/api_auth.py); the Gradio page is mounted last, at /,
with its own login (RAG_AUTH), theme, CSS, head script and upload limit, as `demo.launch` would; in front
of everything, `uploads.UploadGuard` refuses a body larger than one upload may be. uvicorn serves
it on 127.0.0.1 by default. The API and MCP share one bound on engine calls running at once.
"""
from __future__ import annotations

import contextlib

import anyio
from fastapi import FastAPI
from mcp.server.transport_security import TransportSecuritySettings
from starlette.routing import Route

from . import mcp_server, openai_api, uploads, web
from .api_auth import RequireKey, is_loopback, required_key
from .render import CSS, HEAD
from .assistant import Assistant


def create_app(assistant: Assistant, host: str = "127.0.0.1", port: int = 7860) -> FastAPI:
    """The whole app. Raises ValueError for a malformed RAG_AUTH."""
    import gradio as gr

    settings = assistant.settings
    key = required_key(settings)
    limiter = anyio.CapacityLimiter(web.ANSWER_CONCURRENCY)
    mcp = mcp_server.build(assistant, limiter)
    # Stateless JSON: each POST is answered on its own, no session to keep. Host/Origin checks are the
    # guard's (the same for /v1 and /mcp), so the SDK's own are off.
    mcp_app = mcp.streamable_http_app(streamable_http_path="/mcp", stateless_http=True, json_response=True,
                                      max_request_body_size=openai_api.MAX_BODY_BYTES,
                                      transport_security=TransportSecuritySettings(
                                          enable_dns_rebinding_protection=False))

    @contextlib.asynccontextmanager
    async def lifespan(_app):
        async with mcp.session_manager.run():  # a mounted MCP app's own lifespan never runs
            yield

    app = FastAPI(lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    local = is_loopback(host)
    app.mount("/v1", RequireKey(openai_api.create_app(assistant, limiter), key, local))
    # a Route, not a Mount: clients post to /mcp itself, and Starlette leaves the path as it is for mcp_app
    app.router.routes.append(Route("/mcp", RequireKey(mcp_app, key, local)))
    gr.mount_gradio_app(app, web.build(assistant), path="/", server_name=host, server_port=port,
                        auth=web.parse_auth(settings.auth), theme=web.theme(), css=CSS, head=HEAD,
                        footer_links=["api", "settings"], show_error=True,
                        max_file_size=int(settings.upload_max_mb * 2_000_000) + 1_000_000)
    # no request body beyond what one upload may hold, checked before Gradio stores a byte of it
    app.add_middleware(uploads.UploadGuard, max_bytes=uploads.request_limit(settings),
                       max_files=settings.upload_max_files)
    return app


def serve(assistant: Assistant, host: str, port: int) -> None:
    """Serve until interrupted (Ctrl-C, SIGTERM): open streams get a few seconds to finish."""
    import uvicorn

    class Server(uvicorn.Server):
        async def startup(self, sockets=None):
            await super().startup(sockets)  # exits with uvicorn's message if the port cannot be bound
            shown = f"[{host}]" if ":" in host else host
            print(f"Running on local URL:  http://{shown}:{port}", flush=True)  # as Gradio's launch said

    app = create_app(assistant, host, port)
    Server(uvicorn.Config(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=5)).run()

"""Who may call `/v1` and `/mcp`: one ASGI guard in front of both.

- `RAG_API_KEY` set: every request needs `Authorization: Bearer <RAG_API_KEY>`.
- Otherwise, `RAG_AUTH=user:password` set (the page's login): they need `Bearer <password>`, so turning the
  login on never leaves the API open.
- Neither set: open, as the page is. The server then binds 127.0.0.1 by default, and while it is bound to a
  loopback address the guard also refuses requests whose `Host` (or `Origin`) is not a loopback name: a web
  page cannot reach the open API through DNS rebinding (the check the MCP SDK makes for its own servers).

Keys are compared in constant time and never logged or echoed.
"""
from __future__ import annotations

import hmac
import ipaddress
import json
from urllib.parse import urlsplit

from .web import parse_auth

LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}


def required_key(settings) -> str | None:
    """The bearer key the API requires, or None when it is open. Raises ValueError for a malformed RAG_AUTH."""
    if settings.api_key is not None:
        return settings.api_key.get_secret_value()
    login = parse_auth(settings.auth)
    return login[1] if login else None


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _bearer(headers: dict[bytes, bytes]) -> str:
    scheme, _, token = headers.get(b"authorization", b"").decode("latin-1").strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _host_name(host_header: str) -> str:
    """'127.0.0.1:7860' -> '127.0.0.1'; '[::1]:7860' -> '::1'."""
    return urlsplit(f"//{host_header}").hostname or ""


class RequireKey:
    """Wraps an ASGI app (the /v1 API or the MCP endpoint) with the checks above."""

    def __init__(self, app, key: str | None, bound_to_loopback: bool):
        self.app = app
        self._key = key.encode() if key is not None else None
        self._local_only = key is None and bound_to_loopback

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        if self._key is not None:
            if not hmac.compare_digest(_bearer(headers).encode(), self._key):
                return await _error(send, 401, "Missing or wrong API key: send the header "
                                               "'Authorization: Bearer <key>' (RAG_API_KEY, or the RAG_AUTH "
                                               "password when RAG_API_KEY is unset).", "invalid_api_key")
        elif self._local_only:
            host = _host_name(headers.get(b"host", b"").decode("latin-1"))
            origin = headers.get(b"origin", b"").decode("latin-1")
            if not is_loopback(host) or (origin and not is_loopback(urlsplit(origin).hostname or "")):
                return await _error(send, 403, "This server is bound to a loopback address and has no API key: "
                                               "it answers only requests addressed to localhost/127.0.0.1. "
                                               "Set RAG_API_KEY to serve other host names.", "forbidden_host")
        await self.app(scope, receive, send)


async def _error(send, status: int, message: str, code: str) -> None:
    body = json.dumps({"error": {"message": message, "type": "invalid_request_error", "param": None,
                                 "code": code}}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if status == 401:
        headers.append((b"www-authenticate", b"Bearer"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})

"""A deliberately misbehaving OpenAI-compatible server on 127.0.0.1, for fault tests only.

A real server (llama.cpp, see llm_server.py) cannot be made to fail on demand, so this one does:
every POST to /v1/chat/completions (or /v1/completions) gets the configured failure. The normal path
is always tested against the real server.

Modes:
  "500"             HTTP 500 with an OpenAI-style error body
  "429"             HTTP 429 (rate limited), Retry-After: 0
  "slow"            sleeps `delay` seconds before answering (past the client's timeout)
  "malformed"       HTTP 200, JSON content type, body is not JSON
  "malformed_sse"   HTTP 200, event-stream content type, the data lines are not JSON
"""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeLLMServer:
    def __init__(self, mode: str, delay: float = 30.0):
        self.mode = mode
        self.delay = delay
        self.requests: list[dict] = []  # (path, headers) of every POST, to count retries
        self._stop = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep test output clean
                pass

            def _send(self, status: int, body: bytes, content_type: str, extra: dict | None = None):
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                for key, value in (extra or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                try:
                    self.wfile.write(body)
                except OSError:
                    pass

            def do_GET(self):
                self._send(200, b'{"object":"list","data":[{"id":"smollm2","object":"model"}]}',
                           "application/json")

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                server.requests.append({"path": self.path, "time": time.monotonic()})
                mode = server.mode
                if mode == "500":
                    self._send(500, json.dumps({"error": {"message": "internal error", "type": "server_error"}})
                               .encode(), "application/json")
                elif mode == "429":
                    self._send(429, json.dumps({"error": {"message": "rate limited", "type": "rate_limit"}})
                               .encode(), "application/json", {"Retry-After": "0"})
                elif mode == "slow":
                    server._stop.wait(server.delay)  # returns early when the server is shut down
                    self._send(200, b"{}", "application/json")
                elif mode == "malformed":
                    self._send(200, b'{"choices": [{"message": {"content": "unterminated', "application/json")
                elif mode == "malformed_sse":
                    self._send(200, b"data: {this is not json\n\ndata: [DONE]\n\n", "text/event-stream")
                else:
                    self._send(400, b'{"error": {"message": "unknown fake mode"}}', "application/json")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> "FakeLLMServer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()

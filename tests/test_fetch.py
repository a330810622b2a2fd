"""Fetching pages and feeds into the corpus, against a real HTTP server on 127.0.0.1: storage with the source
URL, conditional re-fetches, summary-only feeds, and every way a URL can fail (redirect loops, 404, a slow
or trickling server, declared and actual sizes above the limit, a gzip bomb, schemes other than http)."""
from __future__ import annotations

import http.server
import json
import subprocess
import threading
import time
import tracemalloc
import zlib

import httpx
import pytest

from rag.corpus import scan
from rag.fetch import fetch, fetched_url

from conftest import PYTHON, ROOT, free_port

MB = 1_000_000
PAGE = ("<!doctype html><html><head><title>Night ferries return</title></head><body><article>"
        "<h1>Night ferries return</h1><p>The night ferry to the Mallow islands runs again from 3 May, "
        "the Port Arlen harbour office said.</p></article></body></html>")


def feed(base: str, items: range, full: bool = False) -> str:
    entries = "".join(
        f"<item><title>Ferry story {i}</title><link>{base}/item/{i}</link><guid>ferry-{i}</guid>"
        f"<description>Summary of ferry story {i}.</description>"
        + (f"<content:encoded><![CDATA[<p>Full ferry story {i}.</p>]]></content:encoded>" if full else "")
        + "</item>" for i in items)
    return ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
            'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>Arlen Post</title>'
            f"<link>{base}/</link><description>d</description>{entries}</channel></rss>")


class Handler(http.server.BaseHTTPRequestHandler):
    state: dict = {}

    def log_message(self, *args):  # keep the test output clean
        pass

    def send(self, status: int, body: bytes = b"", content_type: str = "text/html; charset=utf-8", **headers):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        if "Content_Length" not in headers:
            self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)

    def stream(self, chunks, **headers):
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        try:
            for chunk in chunks:
                self.wfile.write(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client stopped reading: what we want

    def do_GET(self):
        state, path = self.state, self.path
        state.setdefault("hits", []).append((path, self.headers.get("If-None-Match")))
        base = f"http://127.0.0.1:{self.server.server_address[1]}"
        if path == "/article.html":
            etag = f'"v{state.get("version", 1)}"'
            if self.headers.get("If-None-Match") == etag:
                return self.send(304)
            return self.send(200, state.get("page", PAGE).encode(), ETag=etag)
        if path == "/plain.html":  # no validators: unchanged pages are recognised by their bytes
            return self.send(200, PAGE.replace("night ferry", "day ferry").encode())
        if path == "/summaries.rss":
            return self.send(200, feed(base, range(1, 5)).encode(), "application/rss+xml")
        if path == "/full.rss":
            return self.send(200, feed(base, range(1, 5), full=True).encode(), "application/rss+xml")
        if path.startswith("/item/"):
            n = path.rsplit("/", 1)[1]
            return self.send(200, f"<html><body><p>The whole ferry story number {n}.</p></body></html>".encode())
        if path == "/loop":
            return self.send(302, Location="/loop")
        if path.startswith("/hops/"):
            n = int(path.rsplit("/", 1)[1])
            return self.send(302, Location=f"/hops/{n - 1}") if n else self.send(200, PAGE.encode())
        if path == "/to-file":
            return self.send(302, Location="file:///etc/passwd")
        if path == "/slow":
            time.sleep(3)
            return self.send(200, PAGE.encode())
        if path == "/trickle":
            return self.stream((time.sleep(0.2) or b"<p>a</p>" for _ in range(1000)))
        if path == "/declared-5gb":
            return self.stream((b"a" * 65536 for _ in range(80_000)), Content_Length=str(5 * 10**9))
        if path == "/stream-5gb":  # no length: read until the limit
            return self.stream(b"<p>" + b"a" * 65536 for _ in range(80_000))
        if path == "/gzip-bomb":  # about 5 MB on the wire, 5 GB once inflated
            return self.stream(gzip_bomb(), Content_Encoding="gzip")
        if path == "/image.png":
            return self.send(200, b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "image/png")
        if path == "/not-a-feed.rss":
            return self.send(200, PAGE.encode(), "application/rss+xml")
        return self.send(404, b"<html><body>Not here</body></html>")


def gzip_bomb(total: int = 5 * 10**9, block: int = 1 << 20):
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: gzip wrapper
    zeros = b"\x00" * block
    for _ in range(total // block):
        if chunk := compressor.compress(zeros):
            yield chunk
    yield compressor.flush()


@pytest.fixture(scope="module")
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", Handler.state
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture()
def corpus(tmp_path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    return folder


def stored_files(corpus):
    return sorted(p.relative_to(corpus).as_posix() for p in corpus.rglob("*") if p.is_file())


# ---------------------------------------------------------------- storage and re-runs
def test_page_is_stored_under_web_with_its_url_and_read_as_an_article(server, corpus):
    base, state = server
    [result] = fetch(corpus, [f"{base}/article.html"], max_bytes=MB)
    assert result.status == "new" and result.path.startswith("web/127.0.0.1_") and result.path.endswith(".html")
    assert stored_files(corpus) == [result.path]
    text = (corpus / result.path).read_text()
    assert text.startswith(f"<!-- fetched from {base}/article.html at 20") and 'etag: "v1"' in text.split("\n")[0]
    assert fetched_url(text) == f"{base}/article.html"
    assert text.split("\n", 1)[1] == PAGE  # the page itself, byte for byte
    [article] = scan(corpus, MB).articles
    assert article.id == result.path and article.title == "Night ferries return"
    assert "fetched from" not in article.text and "runs again from 3 May" in article.text


def test_rerun_asks_only_for_changes_and_never_rewrites_an_unchanged_page(server, corpus):
    base, state = server
    state.pop("version", None), state.pop("page", None)
    [first] = fetch(corpus, [f"{base}/article.html", ], max_bytes=MB)
    [plain] = fetch(corpus, [f"{base}/plain.html"], max_bytes=MB)
    stamps = {p: (corpus / p).stat().st_mtime_ns for p in (first.path, plain.path)}
    time.sleep(0.01)
    state["hits"] = []
    again = fetch(corpus, [f"{base}/article.html", f"{base}/plain.html"], max_bytes=MB)
    assert [r.status for r in again] == ["unchanged", "unchanged"]
    assert state["hits"] == [("/article.html", '"v1"'), ("/plain.html", None)]  # a conditional GET
    assert {p: (corpus / p).stat().st_mtime_ns for p in stamps} == stamps
    state["version"], state["page"] = 2, PAGE.replace("3 May", "10 May")
    [changed] = fetch(corpus, [f"{base}/article.html"], max_bytes=MB)
    assert (changed.status, changed.path) == ("updated", first.path)
    assert "10 May" in (corpus / first.path).read_text() and 'etag: "v2"' in (corpus / first.path).read_text()
    assert stored_files(corpus) == sorted([first.path, plain.path])  # no temporary file left behind


def test_feed_with_summaries_fetches_its_items_pages_up_to_max_items(server, corpus):
    base, state = server
    results = fetch(corpus, feeds=[f"{base}/summaries.rss"], max_items=2, max_bytes=MB)
    assert [r.status for r in results] == ["new", "new", "new"]
    assert [r.url for r in results] == [f"{base}/summaries.rss", f"{base}/item/1", f"{base}/item/2"]
    feed_file = corpus / results[0].path
    assert feed_file.suffix == ".rss"
    assert feed_file.read_text().startswith('<?xml version="1.0" encoding="utf-8"?>\n<!-- fetched from ')
    ids = [a.id for a in scan(corpus, MB).articles]
    assert f"{results[0].path}#ferry-1" in ids and len(ids) == 4 + 2
    full = fetch(corpus, feeds=[f"{base}/full.rss"], max_bytes=MB)
    assert len(full) == 1  # items with full content need no page fetch


# ---------------------------------------------------------------- failures
@pytest.mark.parametrize("path, reason", [
    ("/missing", "HTTP 404 Not Found"),
    ("/loop", "more than 5 redirects"),
    ("/hops/6", "more than 5 redirects"),
    ("/to-file", "redirected to a URL that is not http or https"),
    ("/image.png", "not a web page or a feed (content type image/png)"),
    ("/declared-5gb", "too large (5000.0 MB declared > limit 1.0 MB); not stored"),
])
def test_failures_have_clear_reasons_and_store_nothing(server, corpus, path, reason):
    base, _ = server
    [result] = fetch(corpus, [base + path], max_bytes=MB)
    assert result.status == "error" and result.reason.startswith(reason), result.reason
    assert stored_files(corpus) == []


def test_fetched_url_round_trips_urls_that_contain_double_hyphens(tmp_path):
    from rag.fetch import _write

    url = "https://xn--bcher-kva.example/a--b?q=%C3%A4"
    page, feed_file = tmp_path / "p.html", tmp_path / "f.rss"
    _write(page, b"<html><body><p>x</p></body></html>", url, {})
    _write(feed_file, b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title><item><title>a</title>'
                      b"<description>b</description></item></channel></rss>", url, {})
    assert fetched_url(page.read_text()) == fetched_url(feed_file.read_text()) == url
    assert "--" not in feed_file.read_text().split("<!--", 1)[1].split("-->", 1)[0]
    from rag.readers.feeds import read_feed
    assert read_feed(feed_file.read_bytes(), "f.rss")[0].note == ""  # still well-formed XML


def test_five_redirects_are_followed(server, corpus):
    base, _ = server
    [result] = fetch(corpus, [f"{base}/hops/5"], max_bytes=MB)
    assert result.status == "new"
    assert fetched_url((corpus / result.path).read_text()) == f"{base}/hops/0"  # where the page really is


@pytest.mark.parametrize("url, reason", [
    ("file:///etc/passwd", "only http and https URLs are fetched, not 'file'"),
    ("ftp://127.0.0.1/x", "only http and https URLs are fetched, not 'ftp'"),
    ("javascript:alert(1)", "only http and https URLs are fetched, not 'javascript'"),
    ("/just/a/path", "only http and https URLs are fetched, not 'a relative path'"),
    ("http://", "not a valid URL"),
])
def test_other_schemes_are_refused_without_a_request(corpus, url, reason):
    [result] = fetch(corpus, [url], max_bytes=MB)
    assert result.status == "error" and result.reason.startswith(reason), result.reason


def test_unreachable_server_is_a_clear_error_and_the_other_urls_still_fetched(server, corpus):
    base, _ = server
    closed = f"http://127.0.0.1:{free_port()}/a.html"
    results = fetch(corpus, [closed, f"{base}/article.html"], max_bytes=MB)
    assert results[0].status == "error" and results[0].reason.startswith("cannot reach 127.0.0.1: ")
    assert results[1].status in ("new", "updated")


@pytest.mark.slow
def test_slow_and_trickling_servers_time_out(server, corpus):
    base, _ = server
    started = time.monotonic()
    slow, trickle = fetch(corpus, [f"{base}/slow", f"{base}/trickle"], max_bytes=MB,
                          timeout=httpx.Timeout(0.5), deadline=1.5)
    assert slow.reason == "127.0.0.1 stopped answering (nothing for 0.5 s)"
    assert trickle.reason == "127.0.0.1 took longer than 1.5 s; stopped"
    assert time.monotonic() - started < 6
    assert stored_files(corpus) == []


@pytest.mark.timeout(120)
@pytest.mark.parametrize("path", ["/stream-5gb", "/gzip-bomb"])
def test_endless_stream_and_gzip_bomb_stop_at_the_limit(server, corpus, path):
    base, _ = server
    tracemalloc.start()
    started = time.monotonic()
    [result] = fetch(corpus, [base + path], max_bytes=2 * MB)
    seconds = time.monotonic() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert result.status == "error" and "> limit 2.0 MB); not stored" in result.reason, result.reason
    assert seconds < 30 and peak < 40 * MB, (seconds, peak)  # a bounded amount past the limit, not 5 GB
    assert stored_files(corpus) == []


def test_a_feed_url_that_is_not_a_feed_is_refused(server, corpus):
    base, _ = server
    [result] = fetch(corpus, feeds=[f"{base}/not-a-feed.rss"], max_bytes=MB)
    assert result.status == "error" and result.reason.startswith("not a readable feed: not an RSS or Atom feed")


# ---------------------------------------------------------------- the CLI
@pytest.mark.slow
def test_cli_ingest_fetches_urls_and_feeds_then_indexes_them(server, tmp_path):
    base, _ = server
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "local.md").write_text("---\ntitle: Local\n---\nThe harbour has a new crane.\n")
    args = [PYTHON, "-m", "rag", "ingest", "--corpus", str(corpus), "--index", str(tmp_path / "index"), "--json",
            "--url", f"{base}/article.html", "--url", f"{base}/missing", "--feed", f"{base}/summaries.rss",
            "--max-items", "1"]
    proc = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 1, proc.stderr  # one URL failed; the rest was fetched and indexed
    assert f"fetch: error {base}/missing: HTTP 404 Not Found" in proc.stderr
    report = json.loads(proc.stdout)
    assert [f["status"] for f in report["fetched"]] == ["new", "error", "new", "new"]
    assert len(report["added"]) == 1 + 1 + 4 + 1  # local, page, 4 feed items, 1 item page
    assert all(a == "local.md" or a.startswith("web/127.0.0.1_") for a in report["added"])

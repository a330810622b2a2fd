"""Web pages and feeds into the corpus: `python -m rag ingest --url URL --feed URL`.

What is fetched is stored under `<corpus>/web/<host>/<name>.html|.rss` and read like any other file, so
nothing depends on the network afterwards. The first line of a stored file records where and when it was
fetched, with the server's validators for the next run:

    <!-- fetched from https://example.org/a at 2026-11-23T10:00:00+00:00 | etag: "x1" | last-modified: ... -->

(after the `<?xml ...?>` declaration of a feed, which must come first). `fetched_url(text)` reads the URL
back, for a page with no canonical URL of its own. A re-run asks the server only for changes (ETag /
Last-Modified); an unchanged page is not rewritten, so the ingest that follows finds nothing to re-embed.

Every URL is untrusted: http and https only, at most MAX_REDIRECTS redirects, connect and read timeouts
and an overall deadline, and a size limit (RAG_MAX_FILE_MB) applied to the declared length and to the
bytes actually read after decompression, so a gzip bomb or an endless stream stops at the limit. Each URL
gets its own result and reason; one failure never stops the others. This is the one place that writes
into the corpus folder, and only under `web/`.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable

import httpx

from .readers import BadFile

WEB_FOLDER = "web"
MAX_REDIRECTS = 5
TIMEOUT = httpx.Timeout(connect=10.0, read=20.0, write=10.0, pool=10.0)
DEADLINE = 120.0  # seconds for one URL, however slowly its bytes trickle in
USER_AGENT = "ask-your-articles (fetches only the URLs its user gives)"
_HEADER = re.compile(r"\A(?:\ufeff)?(?:<\?xml[^>]*\?>\s*)?<!-- fetched from (\S+) at (\S+)(.*?)-->")


@dataclass
class Fetched:
    url: str
    status: str  # "new", "updated", "unchanged" or "error"
    path: str = ""  # where it is stored, relative to the corpus folder
    reason: str = ""  # why it failed

    def to_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        return f"{self.status} {self.url}" + (f" -> {self.path}" if self.path else "") + \
            (f": {self.reason}" if self.reason else "")


class FetchError(Exception):
    """A URL that cannot be fetched; the message is the reason shown to the user."""


def fetch(corpus_dir: Path | str, pages: Iterable[str] = (), feeds: Iterable[str] = (), *, max_bytes: int,
          max_items: int = 50, timeout: httpx.Timeout = TIMEOUT, deadline: float = DEADLINE) -> list[Fetched]:
    """Fetch `pages` and `feeds` into `<corpus_dir>/web/`. For a feed whose items carry only a summary,
    the items' own pages are fetched too, at most `max_items` per feed."""
    web = Path(corpus_dir) / WEB_FOLDER
    results = []
    with httpx.Client(follow_redirects=True, max_redirects=MAX_REDIRECTS, timeout=timeout,
                      headers={"User-Agent": USER_AGENT}) as client:
        for url in pages:
            results.append(_fetch_one(client, url, web, max_bytes, deadline, feed=False))
        for url in feeds:
            result = _fetch_one(client, url, web, max_bytes, deadline, feed=True)
            results.append(result)
            if result.status != "error" and max_items > 0:
                for link in summary_only_links(web.parent / result.path, max_items):
                    results.append(_fetch_one(client, link, web, max_bytes, deadline, feed=False))
    return results


def fetched_url(text: str) -> str:
    """The URL a stored page was fetched from ("" for a file that was not fetched)."""
    match = _HEADER.match(text[:4000])
    return match.group(1).replace("-%2D", "--") if match else ""  # see _header


def summary_only_links(feed_file: Path, max_items: int) -> list[str]:
    """Links of the feed's items that carry only a summary (their page holds the article), in feed order."""
    from .readers.feeds import entry_text, parse  # on first need: feedparser costs 0.1 s to import, and the
    # HTML reader imports this module for `fetched_url`
    links = []
    for entry in parse(feed_file.read_bytes()).entries:
        link = entry.get("link", "")
        if not entry_text(entry)[1] and re.match(r"https?://", link) and link not in links:
            links.append(link)
    return links[:max_items]


# ---------------------------------------------------------------- one URL
def _fetch_one(client: httpx.Client, url: str, web: Path, max_bytes: int, deadline: float, feed: bool) -> Fetched:
    try:
        target, body, final_url, validators, unchanged = _download(client, url, web, max_bytes, deadline, feed)
    except FetchError as err:
        return Fetched(url, "error", reason=str(err))
    rel = target.relative_to(web.parent).as_posix()
    if unchanged:
        return Fetched(url, "unchanged", rel)
    existed = target.exists()
    _write(target, body, final_url, validators)
    return Fetched(url, "updated" if existed else "new", rel)


def _download(client, url, web, max_bytes, deadline, feed):
    """(target path, body, final URL, validators, unchanged). Raises FetchError with the reason."""
    parsed = _check_url(url)
    host = parsed.host
    started = time.monotonic()
    try:
        known = {}
        for suffix in (".rss",) if feed else (".html", ".rss"):
            stored = stored_path(web, parsed, suffix)
            if stored.exists():
                known = _validators(stored)
                break
        headers = {k: v for k, v in (("If-None-Match", known.get("etag")),
                                     ("If-Modified-Since", known.get("last-modified"))) if v}
        with client.stream("GET", parsed, headers=headers) as response:
            if response.status_code == 304 and known:
                return stored, b"", "", {}, True
            if response.status_code != 200:
                raise FetchError(f"HTTP {response.status_code} {response.reason_phrase}".strip())
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise FetchError(_too_large(int(declared), max_bytes, "declared"))
            body = bytearray()
            for chunk in response.iter_bytes():  # decompressed: the limit holds after decompression too
                body += chunk
                if len(body) > max_bytes:
                    raise FetchError(_too_large(len(body), max_bytes, "read so far"))
                if time.monotonic() - started > deadline:
                    raise FetchError(f"{host} took longer than {deadline:g} s; stopped")
            kind = ".rss" if feed else _kind(response.headers.get("content-type", ""), bytes(body[:512]))
            validators = {k: response.headers.get(k, "") for k in ("etag", "last-modified")}
            final_url = str(response.url)
    except httpx.UnsupportedProtocol as err:
        raise FetchError(f"redirected to a URL that is not http or https ({err})") from None
    except httpx.TooManyRedirects:
        raise FetchError(f"more than {MAX_REDIRECTS} redirects") from None
    except httpx.ConnectTimeout:
        raise FetchError(f"cannot reach {host}: no connection within {client.timeout.connect:g} s") from None
    except httpx.ReadTimeout:
        raise FetchError(f"{host} stopped answering (nothing for {client.timeout.read:g} s)") from None
    except httpx.ConnectError as err:
        raise FetchError(f"cannot reach {host}: {err}") from None
    except httpx.HTTPError as err:
        raise FetchError(f"{type(err).__name__}: {err}") from None
    if feed:
        from .readers.feeds import read_feed

        try:
            read_feed(bytes(body), "feed.rss")
        except BadFile as bad:
            raise FetchError(f"not a readable feed: {bad}") from None
    target = stored_path(web, parsed, kind)
    if target.exists() and _body(target.read_bytes()) == bytes(body):
        return target, b"", final_url, validators, True
    return target, bytes(body), final_url, validators, False


def _check_url(url: str) -> httpx.URL:
    try:
        parsed = httpx.URL(url.strip())
    except (httpx.InvalidURL, TypeError) as err:
        raise FetchError(f"not a valid URL ({err})") from None
    if parsed.scheme not in ("http", "https"):
        raise FetchError(f"only http and https URLs are fetched, not {parsed.scheme or 'a relative path'!r}")
    if not parsed.host:
        raise FetchError("not a valid URL (no host)")
    return parsed


def _kind(content_type: str, start: bytes) -> str:
    content_type = content_type.lower()
    head = start.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if any(t in content_type for t in ("rss", "atom", "xml")) and b"<html" not in head:
        return ".rss"
    if "html" in content_type or head.startswith((b"<!doctype html", b"<html")):
        return ".html"
    if not content_type and head.startswith((b"<?xml", b"<rss", b"<feed")):
        return ".rss"
    raise FetchError(f"not a web page or a feed (content type {content_type or 'unknown'})")


def _too_large(size: int, limit: int, how: str) -> str:
    return f"too large ({size / 1e6:.1f} MB {how} > limit {limit / 1e6:.1f} MB); not stored"


# ---------------------------------------------------------------- storage
def stored_path(web: Path, url: httpx.URL, suffix: str) -> Path:
    """`web/<host>/<readable part of the path>-<digest of the whole URL><suffix>`: stable across runs,
    distinct for two URLs that differ only in their query, safe as a file name."""
    host = _safe(url.raw_host.decode("ascii") + (f"_{url.port}" if url.port else "")) or "host"
    readable = _safe(url.path.strip("/").rsplit(".", 1)[0].replace("/", "-"))[-80:].strip("-.") or "index"
    digest = hashlib.sha256(str(url).encode()).hexdigest()[:10]
    return web / host / f"{readable}-{digest}{suffix}"


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.").lower()


def _header(url: str, validators: dict[str, str]) -> bytes:
    when = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    # "--" may not appear inside an XML comment (a feed would no longer parse strictly): written "-%2D",
    # read back by fetched_url ("xn--" hosts have it; in a path it is the same URL either way)
    parts = [f"fetched from {url.replace('--', '-%2D')} at {when}"]
    parts += [f"{k}: {v}" for k, v in validators.items() if v and "--" not in v and ">" not in v and "|" not in v]
    return f"<!-- {' | '.join(parts)} -->\n".encode("ascii", "replace")


def _write(target: Path, body: bytes, url: str, validators: dict[str, str]) -> None:
    """Header, then the body as fetched; written beside and renamed, so a crash leaves no half file
    (the temporary name starts with a dot: the corpus scan ignores it)."""
    bom = b"\xef\xbb\xbf" if body.startswith(b"\xef\xbb\xbf") else b""
    rest = body[len(bom):]
    declaration = re.match(rb"\s*<\?xml[^>]*\?>\s*", rest)
    cut = declaration.end() if declaration else 0
    data = bom + rest[:cut] + (b"\n" if cut else b"") + _header(url, validators) + rest[cut:]
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.part")
    temporary.write_bytes(data)
    os.replace(temporary, target)


def _body(stored: bytes) -> bytes:
    """What the server sent, from a stored file: the file without the header line."""
    match = re.search(rb"<!-- fetched from [^\n]*?-->\n", stored[:4000])
    if not match:
        return stored
    before = stored[:match.start()]
    return (before[:-1] if before.endswith(b"\n") else before) + stored[match.end():]


def _validators(stored: Path) -> dict[str, str]:
    try:
        head = stored.read_bytes()[:4000].decode("utf-8", "replace")
    except OSError:
        return {}
    match = _HEADER.match(head)
    if not match:
        return {}
    return {key.strip(): value.strip() for key, _, value in
            (part.partition(":") for part in match.group(3).split("|")) if value.strip()}

"""Articles added from the page: validate each uploaded file, save it under `<corpus>/uploads/`, ingest.

An upload is untrusted input: its name may try to climb out of the folder or hide itself, its content
may be binary, oversized or in an encoding we cannot read. Each file gets a result that says whether it
was accepted and, if not, why; nothing that is refused is written, and nothing is ever overwritten.

What an upload may cost is bounded before anything is stored: the request's size (rag/server.py refuses a
body over RAG_UPLOAD_MAX_FILES x RAG_UPLOAD_MAX_MB before Gradio writes it), the number of files, each
file's size, and the embedding work. Indexing embeds every sentence once, so the sentences of the accepted
files are counted (`rag.text.sentence_spans`, as the index splits them) and files beyond
RAG_UPLOAD_MAX_SENTENCES are refused. Measured through this path (`python -m bench.page --part upload`,
docs/PAGE.md): 42 sentences a second on the 2 shared cores this was built on, embedding being nearly all of
it, so the default budget of 5,000 sentences (about 600 kB of news text) is about two minutes of indexing.
"""
from __future__ import annotations

import json
import re
import tempfile
import unicodedata
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable

from .corpus import SUPPORTED_SUFFIXES, BadFile, read_file
from .text import sentence_spans

if TYPE_CHECKING:
    from .assistant import Assistant
    from .settings import Settings
    from .types import Article, IngestReport

UPLOAD_FOLDER = "uploads"
_UNSAFE = re.compile(r"[^\w.\- ]+")  # \w is Unicode-aware: accented titles stay readable
_MAX_STEM = 100
EMBED_SENTENCES_PER_S = 42  # an upload's indexing rate, BBC sentences, 2 cores (measured, see module doc)


@dataclass
class UploadResult:
    name: str  # the name the user's file had (as given; for display only)
    ok: bool
    reason: str = ""  # why it was refused
    saved_as: str = ""  # path relative to the corpus folder when accepted (the article id, or the prefix
    # of its articles' ids "<path>#<key>" for a file holding many: JSON lines, CSV, a feed)
    title: str = ""  # the first article's title, "(+N more)" when the file holds N more
    note: str = ""  # e.g. an encoding fallback, records skipped
    articles: int = 0  # how many articles the file holds

    def to_dict(self) -> dict:
        return asdict(self)


def safe_name(name: str) -> str:
    """A harmless file name: the last path component only (either slash), no leading dots (hidden
    files), no characters outside letters, digits, `.`, `-`, `_` and space. May return ''."""
    base = re.split(r"[\\/]", unicodedata.normalize("NFC", str(name)))[-1]
    base = _UNSAFE.sub("_", base).strip(" ._")
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        return base[:_MAX_STEM]
    return f"{stem.rstrip(' ._')[:_MAX_STEM]}.{suffix.lower()}" if stem.strip(" ._") else ""


def check(source: Path, name: str, settings: "Settings") -> tuple[bytes, "list[Article]", str, str]:
    """(data, articles, note, reason): reason is '' when the file can be added. The file is read as
    the corpus would read it under `name` (its suffix picks the reader). Never raises for bad input."""
    suffix = Path(name).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        allowed = ", ".join(sorted(SUPPORTED_SUFFIXES))
        return b"", [], "", f"unsupported file type {suffix or '(none)'!r}; use one of {allowed}"
    limit = int(settings.upload_max_mb * 1_000_000)
    try:
        if source.stat().st_size > limit:
            return b"", [], "", f"too large ({source.stat().st_size / 1e6:.1f} MB > limit " \
                                f"{settings.upload_max_mb:g} MB)"
        data = source.read_bytes()
    except OSError as err:
        return b"", [], "", f"unreadable ({err.strerror or err})"
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return b"", [], "", "UTF-16 text is not supported; save the file as UTF-8"
    with tempfile.TemporaryDirectory() as folder:
        probe = Path(folder) / name
        probe.write_bytes(data)
        try:
            articles, notes = read_file(probe, name, limit)  # decode(): binary and encoding checks
        except BadFile as bad:
            return b"", [], "", str(bad)
    return data, articles, "; ".join(notes), ""


def save(files: Iterable[tuple[Path | str, str]], settings: "Settings",
         known: dict[str, str] | None = None) -> list[UploadResult]:
    """Validate and save uploaded files, given as (temporary path, original name) pairs.

    Accepted files go to `<corpus_dir>/uploads/` under a sanitised name, with `_2`, `_3`, ... added
    when the name is taken (created exclusively: a concurrent upload cannot overwrite either).
    `known` maps content hashes of indexed articles to their ids: the same text is not added twice."""
    files = [(Path(path), str(name)) for path, name in files]
    if len(files) > settings.upload_max_files:
        reason = f"too many files in one upload ({len(files)} > limit {settings.upload_max_files})"
        return [UploadResult(name, False, reason) for _, name in files]
    known = dict(known or {})
    folder = Path(settings.corpus_dir) / UPLOAD_FOLDER
    results = []
    budget, used = settings.upload_max_sentences, 0
    for source, original in files:
        name = safe_name(original)
        if not name:
            results.append(UploadResult(original, False, "the file name is empty once made safe"))
            continue
        data, articles, note, reason = check(source, name, settings)
        if articles and all(a.content_hash in known for a in articles):
            reason = f"same text as {known[articles[0].content_hash]}, already in the index"
            if len(articles) > 1:
                reason = f"all {len(articles)} articles are already in the index (the first: " \
                         f"{known[articles[0].content_hash]})"
        sentences = count_sentences(articles) if articles and not reason else 0
        if used + sentences > budget:
            reason = over_budget(sentences, used, budget)
        if reason:
            results.append(UploadResult(original, False, reason))
            continue
        folder.mkdir(parents=True, exist_ok=True)
        target = _write_new(folder, name, data)
        saved_as = f"{UPLOAD_FOLDER}/{target.name}"
        for article in articles:
            known.setdefault(article.content_hash, saved_as + article.id[len(name):])  # "<name>#<key>"
        used += sentences
        title = articles[0].title + (f" (+{len(articles) - 1} more)" if len(articles) > 1 else "")
        results.append(UploadResult(original, True, saved_as=saved_as, title=title, note=note,
                                    articles=len(articles)))
    return results


def count_sentences(articles: list["Article"]) -> int:
    """Sentences to embed for these articles (the index embeds each sentence of each passage once)."""
    return sum(len(sentence_spans(article.text)) for article in articles)


def embedding_seconds(sentences: int) -> float:
    return sentences / EMBED_SENTENCES_PER_S


def over_budget(sentences: int, used: int, budget: int) -> str:
    """Why a file is refused for the embedding work it would cost."""
    cost = f"{sentences:,} sentences to embed (about {embedding_seconds(sentences):.0f} s)"
    limit = f"one upload indexes at most {budget:,} (RAG_UPLOAD_MAX_SENTENCES)"
    if sentences > budget:
        return f"too much to index: {cost}; {limit}. Split the file"
    return f"over this upload's indexing budget: {cost}, and the files before it already have {used:,}; " \
           f"{limit}. Upload it again on its own"


def _write_new(folder: Path, name: str, data: bytes) -> Path:
    stem, suffix = Path(name).stem, Path(name).suffix
    n = 1
    while True:
        target = folder / (name if n == 1 else f"{stem}_{n}{suffix}")
        try:
            with open(target, "xb") as handle:  # exclusive: fails if the name exists
                handle.write(data)
            return target
        except FileExistsError:
            n += 1


def add(assistant: "Assistant", files: Iterable[tuple[Path | str, str]],
        progress: Callable[[float, str], None] | None = None) -> tuple[list[UploadResult], "IngestReport | None"]:
    """Save the acceptable files and ingest them at once (incrementally). A saved file that the index
    then refuses (e.g. the same text as an article already there) is removed again, with the reason."""
    step = progress or (lambda fraction, message: None)
    step(0.05, "checking files")
    known = {state.content_hash: article_id for article_id, state in assistant.index.manifest().items()}
    results = save(files, assistant.settings, known)
    accepted = [r for r in results if r.ok]
    if not accepted:
        return results, None
    step(0.3, f"indexing {len(accepted)} file(s)")
    report = assistant.ingest()
    skipped = dict(report.skipped)
    indexed = {aid.partition("#")[0] for aid in report.added + report.updated + report.unchanged}
    for result in accepted:
        reason = skipped.get(result.saved_as)
        if reason is None and result.saved_as not in indexed:  # a many-article file whose every article
            # was refused (e.g. all duplicates): its articles' reasons, the first one named
            reasons = [why for aid, why in report.skipped if aid.startswith(f"{result.saved_as}#")]
            reason = f"none of its articles was indexed ({reasons[0]}{', ...' if len(reasons) > 1 else ''})" \
                if reasons else "none of its articles was indexed"
        if reason is not None:
            (Path(assistant.settings.corpus_dir) / result.saved_as).unlink(missing_ok=True)
            result.ok, result.reason, result.saved_as = False, reason, ""
    step(1.0, "done")
    return results, report



def discard(paths: Iterable[Path]) -> None:
    """Delete the upload server's temporary copies of uploaded files (and their folders once empty):
    refused or accepted, an upload must not stay on disk outside the corpus."""
    for path in paths:
        path = Path(path)
        path.unlink(missing_ok=True)
        try:
            path.parent.rmdir()  # Gradio keeps each upload in a folder of its own
        except OSError:
            pass


# ------------------------------------------------------------------------------ in front of Gradio
UPLOAD_ROUTE = "/gradio_api/upload"  # where the page's file component posts its files (multipart)
MULTIPART_OVERHEAD = 64_000  # bytes of form framing allowed beyond the files (plus 2 kB a file)


def request_limit(settings: "Settings") -> int:
    """The largest request body: RAG_UPLOAD_MAX_FILES files of RAG_UPLOAD_MAX_MB, plus the form's framing."""
    return int(settings.upload_max_files * (settings.upload_max_mb * 1_000_000 + 2_000)) + MULTIPART_OVERHEAD


class UploadGuard:
    """ASGI middleware: no request body over `max_bytes`, and at most `max_files` files in one upload, so
    that an upload too large is refused before Gradio stores it.

    A Content-Length over the limit is refused (413) at once, nothing read; the server never passes on
    more bytes than the Content-Length says. A body sent without one (chunked) is counted as it streams,
    and an upload's parts with it: where the limit is crossed, or the file one too many begins, the app
    is handed the end of the body instead (for a form, its closing boundary), so Gradio finishes its parse
    normally, or fails it when the cut falls inside a part's headers. The files it wrote are then deleted
    (its reply lists them) and the client gets the 413. Ending the stream with a disconnect instead would
    leave Gradio's temporary files behind: it removes them only on a parse error.
    """

    def __init__(self, app, max_bytes: int, max_files: int):
        self.app, self.max_bytes, self.max_files = app, max_bytes, max_files

    def refusal(self, what: str) -> bytes:
        return (f"Upload refused, nothing was stored: {what}. One upload may hold at most {self.max_files} "
                f"files and {self.max_bytes / 1e6:.1f} MB in all (RAG_UPLOAD_MAX_FILES x "
                f"RAG_UPLOAD_MAX_MB).").encode()

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length", b"").decode("latin-1")
        if declared.isdigit() and int(declared) > self.max_bytes:
            return await _reply(send, 413, self.refusal(f"the request is {int(declared) / 1e6:.1f} MB"))
        upload = scope["path"].endswith(UPLOAD_ROUTE)  # also behind a proxy that keeps its path prefix
        cutter = _Cutter(_boundary(headers.get(b"content-type", b"")), self.max_bytes,
                         self.max_files if upload else None)

        async def receive_counted():
            message = await receive()
            if message["type"] != "http.request":
                return message
            if cutter.refused:  # the body has ended for the app already
                return {"type": "http.request", "body": b"", "more_body": False}
            more = message.get("more_body", False)
            body = cutter.feed(message.get("body", b""), more)
            return {"type": "http.request", "body": body, "more_body": more and not cutter.refused}

        reply = {"status": 0, "body": b""}

        async def send_or_refuse(message):
            if not cutter.refused:
                return await send(message)
            if message["type"] == "http.response.start":
                reply["status"] = message["status"]
            elif message["type"] == "http.response.body":
                reply["body"] += message.get("body", b"")
                if not message.get("more_body"):
                    if upload and reply["status"] == 200:
                        _discard_listed(reply["body"])
                    await _reply(send, 413, self.refusal(cutter.refused))

        await self.app(scope, receive_counted, send_or_refuse)


class _Cutter:
    """Hands a body on as it streams, counting its bytes and (in a multipart form) its parts; at the first
    limit crossed it hands on the end of the body instead of the rest, and says why in `refused`."""

    def __init__(self, boundary: bytes, max_bytes: int, max_parts: int | None):
        self.max_bytes, self.max_parts = max_bytes, max_parts
        self.delimiter = b"--" + boundary if boundary else b""
        self.next_part = b"\r\n" + self.delimiter + b"\r\n"  # how every part after the first begins
        self.seen, self.parts, self.held, self.refused = 0, 0, b"", ""

    def feed(self, chunk: bytes, more: bool) -> bytes:
        self.seen += len(chunk)
        if self.seen > self.max_bytes:
            chunk = chunk[:len(chunk) - (self.seen - self.max_bytes)]
            self.refused, more = f"the request is larger than {self.max_bytes / 1e6:.1f} MB", False
        data, self.held = self.held + chunk, b""
        if not self.delimiter:
            return data
        if self.parts == 0 and data.startswith(self.delimiter):
            self.parts = 1  # the first part starts the body, with no line break before it
        at = data.find(self.next_part)
        while at >= 0:
            self.parts += 1
            if self.max_parts is not None and self.parts > self.max_parts:
                self.refused = f"it holds more than {self.max_parts} files"
                return data[:at] + self._closing()
            at = data.find(self.next_part, at + 1)
        if self.refused:
            return data + self._closing()
        if more:  # keep back what could be the start of a boundary that the next chunk completes
            keep = min(len(data), len(self.next_part) - 1)
            data, self.held = data[:len(data) - keep], data[len(data) - keep:]
        return data

    def _closing(self) -> bytes:
        return b"\r\n" + self.delimiter + b"--\r\n"


def _boundary(content_type: bytes) -> bytes:
    """The boundary of a multipart/form-data body ('' for any other body)."""
    kind, _, params = content_type.decode("latin-1").partition(";")
    match = re.search(r'boundary="?([^";]+)"?', params)
    return match.group(1).strip().encode("latin-1") if kind.strip().lower() == "multipart/form-data" and match \
        else b""


def _discard_listed(body: bytes) -> None:
    """Delete the files Gradio's upload route says it stored (only ones inside its upload folder)."""
    from gradio.utils import get_upload_folder

    folder = Path(get_upload_folder()).resolve()
    try:
        listed = [Path(p).resolve() for p in json.loads(body) if isinstance(p, str)]
    except (ValueError, TypeError):
        return
    discard([p for p in listed if p.is_relative_to(folder)])


async def _reply(send, status: int, text: bytes) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(text)).encode())]})
    await send({"type": "http.response.body", "body": text})

"""Articles added from the page: validate each uploaded file, save it under `<corpus>/uploads/`, ingest.

An upload is untrusted input: its name may try to climb out of the folder or hide itself, its content
may be binary, oversized or in an encoding we cannot read. Each file gets a result that says whether it
was accepted and, if not, why; nothing that is refused is written, and nothing is ever overwritten.
"""
from __future__ import annotations

import re
import tempfile
import unicodedata
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable

from .corpus import SUPPORTED_SUFFIXES, BadFile, read_file

if TYPE_CHECKING:
    from .assistant import Assistant
    from .settings import Settings
    from .types import Article, IngestReport

UPLOAD_FOLDER = "uploads"
_UNSAFE = re.compile(r"[^\w.\- ]+")  # \w is Unicode-aware: accented titles stay readable
_MAX_STEM = 100


@dataclass
class UploadResult:
    name: str  # the name the user's file had (as given; for display only)
    ok: bool
    reason: str = ""  # why it was refused
    saved_as: str = ""  # article id (path relative to the corpus folder) when accepted
    title: str = ""
    note: str = ""  # e.g. an encoding fallback

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


def check(source: Path, name: str, settings: "Settings") -> tuple[bytes, "Article | None", str, str]:
    """(data, article, note, reason): reason is '' when the file can be added. The file is read as
    the corpus would read it under `name` (its suffix picks the reader). Never raises for bad input."""
    suffix = Path(name).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        allowed = ", ".join(sorted(SUPPORTED_SUFFIXES))
        return b"", None, "", f"unsupported file type {suffix or '(none)'!r}; use one of {allowed}"
    limit = int(settings.upload_max_mb * 1_000_000)
    try:
        if source.stat().st_size > limit:
            return b"", None, "", f"too large ({source.stat().st_size / 1e6:.1f} MB > limit " \
                                  f"{settings.upload_max_mb:g} MB)"
        data = source.read_bytes()
    except OSError as err:
        return b"", None, "", f"unreadable ({err.strerror or err})"
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return b"", None, "", "UTF-16 text is not supported; save the file as UTF-8"
    with tempfile.TemporaryDirectory() as folder:
        probe = Path(folder) / name
        probe.write_bytes(data)
        try:
            articles, notes = read_file(probe, name, limit)  # decode(): binary and encoding checks
        except BadFile as bad:
            return b"", None, "", str(bad)
    return data, articles[0], "; ".join(notes), ""


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
    for source, original in files:
        name = safe_name(original)
        if not name:
            results.append(UploadResult(original, False, "the file name is empty once made safe"))
            continue
        data, article, note, reason = check(source, name, settings)
        if article is not None and article.content_hash in known:
            reason = f"same text as {known[article.content_hash]}, already in the index"
        if reason:
            results.append(UploadResult(original, False, reason))
            continue
        folder.mkdir(parents=True, exist_ok=True)
        target = _write_new(folder, name, data)
        saved_as = f"{UPLOAD_FOLDER}/{target.name}"
        known[article.content_hash] = saved_as
        results.append(UploadResult(original, True, saved_as=saved_as, title=article.title, note=note))
    return results


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
    for result in accepted:
        if result.saved_as in skipped:
            (Path(assistant.settings.corpus_dir) / result.saved_as).unlink(missing_ok=True)
            result.ok, result.reason, result.saved_as = False, skipped[result.saved_as], ""
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

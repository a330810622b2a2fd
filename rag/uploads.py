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
        if reason:
            results.append(UploadResult(original, False, reason))
            continue
        folder.mkdir(parents=True, exist_ok=True)
        target = _write_new(folder, name, data)
        saved_as = f"{UPLOAD_FOLDER}/{target.name}"
        for article in articles:
            known.setdefault(article.content_hash, saved_as + article.id[len(name):])  # "<name>#<key>"
        title = articles[0].title + (f" (+{len(articles) - 1} more)" if len(articles) > 1 else "")
        results.append(UploadResult(original, True, saved_as=saved_as, title=title, note=note,
                                    articles=len(articles)))
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

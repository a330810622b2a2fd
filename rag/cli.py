"""`python -m rag ingest | ask | serve | mcp`: a thin CLI over Assistant. Its output formats are a stable contract.

`main(argv)` runs in-process (the fast tests call it directly); `python -m rag` calls it with sys.argv.
"""
from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import traceback
from pathlib import Path

from .settings import Settings

_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _assistant(args, **extra):
    from .assistant import Assistant

    overrides = dict(extra)
    if getattr(args, "corpus", None):
        overrides["corpus_dir"] = args.corpus
    if getattr(args, "index", None):
        overrides["index_dir"] = args.index
    return Assistant(Settings(**overrides), **getattr(args, "assistant_options", {}))


def cmd_ingest(args) -> int:
    from .assistant import CorpusMissing
    from .index import IndexDamaged, StoreUnavailable

    fetched = []
    try:
        if args.rebuild:
            _remove_index(Settings(**({"index_dir": args.index} if args.index else {})))
        assistant = _assistant(args)
        if args.url or args.feed:
            fetched = _fetch(assistant.settings, args)
        report = assistant.ingest(progress=not args.json and sys.stderr.isatty(), prune=args.prune)
    except (CorpusMissing, StoreUnavailable, IndexDamaged, OSError) as err:  # OSError: e.g. disk full
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(report.to_dict() | ({"fetched": [f.to_dict() for f in fetched]} if fetched else {}),
                         indent=2))
    else:
        print(report.summary())
    if assistant.index.lexical.building:  # questions already see the new articles; the base makes them faster
        print("remaking the BM25 base of the index before exit…", file=sys.stderr)
        assistant.index.lexical.wait_for_base()
    if report.held:
        print(f"error: {len(report.held):,} indexed articles are not in the corpus folder and were kept; check "
              "the folder, or run again with --prune to remove them", file=sys.stderr)
    if report.articles_read == 0:
        print("error: no article could be read from the corpus folder", file=sys.stderr)
    if report.held or report.articles_read == 0:
        return 1
    return 1 if any(f.status == "error" for f in fetched) else 0


def _fetch(settings, args) -> list:
    """Fetch --url/--feed into <corpus>/web/ (the corpus folder must exist), one line per URL on stderr."""
    from .assistant import CorpusMissing
    from .fetch import fetch

    if not settings.corpus_dir.is_dir():
        raise CorpusMissing(f"corpus folder not found: {settings.corpus_dir}")
    results = fetch(settings.corpus_dir, args.url or (), args.feed or (), max_items=args.max_items,
                    max_bytes=int(settings.max_file_mb * 1_000_000))
    for result in results:
        print(f"fetch: {result}", file=sys.stderr)
    return results


def _remove_index(settings: Settings) -> None:
    """--rebuild: delete the embedded index folder (never the corpus) so the next ingest starts fresh."""
    if settings.chroma_host:
        raise OSError("--rebuild deletes the embedded index only; with a Chroma server, delete its "
                      "collections there")
    folder = Path(settings.index_dir)
    if not folder.exists():
        return
    if not ((folder / "chroma").exists() or (folder / "ingest.lock").exists()):
        raise OSError(f"{folder.name} does not look like an index folder (no chroma/ inside); not deleting it")
    shutil.rmtree(folder)


def _printable(text: str) -> str:
    return _SURROGATE.sub("\ufffd", text)


def _ask_one(assistant, question: str, args) -> tuple[dict, bool]:
    from .assistant import BadQuestion
    from .index import IndexDamaged, StoreUnavailable

    options = {"top_k": args.top_k, "mode": args.mode, "date_from": args.date_from or "",
               "date_to": args.date_to or "", "article_ids": args.article or (), "sources": args.source or ()}
    try:
        answer = assistant.ask(question, **options)
    except (BadQuestion, StoreUnavailable, IndexDamaged) as err:
        return {"question": _printable(question), "error": str(err)}, False
    return answer.to_dict(), True


def _print_answer(result: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(result, ensure_ascii=False), flush=True)
        return
    if "error" in result:
        print(f"error: {result['error']}")
        return
    if result["notice"]:
        print(f"({result['notice']})")
    print(result["answer"])
    label = "Related passages" if result["abstained"] else "Sources"
    items = result["citations"] or [dict(r, n=r["rank"]) for r in result["retrieved"][:3]]
    if items:
        print(f"\n{label}:")
    for item in items:
        snippet = " ".join((item.get("quote") or item["text"]).split())
        where = ", ".join(x for x in (item["article_id"], item.get("source", ""), item["date"] or "no date",
                                      f"p. {item['page']}" if item.get("page") else "") if x)
        print(f"[{item['n']}] {item['title']} ({where}): \"{snippet[:300]}\"")
        if item.get("copies"):
            from .render import also_published_text

            print(f"    {also_published_text(item['copies'])}")


def cmd_ask(args) -> int:
    from .index import StoreUnavailable

    try:
        assistant = _assistant(args)
    except StoreUnavailable as err:
        print(json.dumps({"error": str(err)}) if args.json else f"error: {err}", file=sys.stderr)
        return 2
    if not assistant.index.count():
        assistant.ingest()
    if args.question is not None:
        result, ok = _ask_one(assistant, args.question, args)
        _print_answer(result, args.json)
        return 0 if ok else 1
    # One question per line, one JSON line (or text block) per line: a blank or bad line gets an error
    # object too, so output line k always answers input line k. Bytes that are not UTF-8 become U+FFFD.
    for raw in sys.stdin.buffer:
        line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
        try:
            result, _ = _ask_one(assistant, line, args)
        except Exception as err:  # never let one line stop the batch; the traceback goes to stderr
            traceback.print_exc(file=sys.stderr)
            result = {"question": _printable(line), "error": f"internal error ({type(err).__name__})"}
        _print_answer(result, args.json)
    return 0


def cmd_serve(args) -> int:
    from .web import main

    return main(["--host", args.host, "--port", str(args.port)] if args.host else ["--port", str(args.port)])


def cmd_mcp(args) -> int:
    from .index import StoreUnavailable
    from .mcp_server import run_stdio

    try:
        assistant = _assistant(args)
    except StoreUnavailable as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return run_stdio(assistant)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m rag", description="Ask your articles: cited answers, offline.")
    sub = p.add_subparsers(dest="command", required=True)
    ingest = sub.add_parser("ingest", help="index the corpus folder (incremental)")
    ingest.add_argument("--corpus", help="corpus folder (default: RAG_CORPUS_DIR or corpus/)")
    ingest.add_argument("--index", help="index folder (default: RAG_INDEX_DIR or .rag_index/)")
    ingest.add_argument("--json", action="store_true", help="print the report as JSON")
    ingest.add_argument("--rebuild", action="store_true",
                        help="delete the embedded index first and index everything again (a damaged index)")
    ingest.add_argument("--url", action="append", help="fetch this web page into <corpus>/web/ first "
                        "(repeatable); exit code 1 if a URL cannot be fetched")
    ingest.add_argument("--feed", action="append", help="fetch this RSS/Atom feed into <corpus>/web/ first "
                        "(repeatable), and the pages of items that carry only a summary")
    ingest.add_argument("--prune", action="store_true",
                        help="remove indexed articles whose files are gone even when that empties the index or "
                             "takes more than half of it (otherwise they are kept: an unmounted folder)")
    ingest.add_argument("--max-items", type=int, default=50, help="item pages fetched per feed (default 50)")
    ingest.set_defaults(func=cmd_ingest)
    ask = sub.add_parser("ask", help="answer a question (or one per stdin line)")
    ask.add_argument("question", nargs="?", help="the question; omit to read one per line from stdin")
    ask.add_argument("--json", action="store_true", help="print one JSON object per question")
    ask.add_argument("--top-k", type=int, default=None, help="passages to retrieve")
    ask.add_argument("--mode", choices=["extractive", "llm"], default=None, help="answer mode")
    ask.add_argument("--article", action="append", help="restrict to this article id (repeatable)")
    ask.add_argument("--source", action="append", help="restrict to this source (repeatable)")
    ask.add_argument("--date-from", help="only articles published on or after this date (YYYY-MM-DD)")
    ask.add_argument("--date-to", help="only articles published on or before this date (YYYY-MM-DD)")
    ask.add_argument("--corpus", help=argparse.SUPPRESS)
    ask.add_argument("--index", help="index folder")
    ask.set_defaults(func=cmd_ask)
    serve = sub.add_parser("serve", help="serve the web page (same as python app.py)")
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=int, default=Settings().port)
    serve.set_defaults(func=cmd_serve)
    mcp = sub.add_parser("mcp", help="serve the MCP tools over stdio (the page server has them at /mcp)")
    mcp.add_argument("--corpus", help="corpus folder, indexed when the index is empty")
    mcp.add_argument("--index", help="index folder")
    mcp.set_defaults(func=cmd_mcp)
    return p


def main(argv: list[str] | None = None, **assistant_options) -> int:
    """Run one command. `assistant_options` go to `Assistant(...)` (e.g. `embed_model=`: the fast tests run
    the CLI in-process over a tiny embedding)."""
    args = parser().parse_args(argv)
    args.assistant_options = assistant_options
    return args.func(args)


def run() -> None:
    """The `ask-articles` console command."""
    sys.exit(main())

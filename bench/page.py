"""The page at archive scale: `python -m bench.page --articles 100000 [--chunks 3] [--part page|upload|all]
[--out docs/PAGE.md]`.

For 1k, 10k and 100k articles (the sizes up to --articles): a synthetic index is grown in place, a real
server (`rag.server`, the page + /v1 + /mcp on one port, in a child process) is started over it, and
headless Chromium measures
- the first page load after the server started (the article catalogue is read from the store then),
- later page loads (a new browser context each: a new session, as a new visitor), each split into the
  time until the page shows (its question box: Gradio's own load) and until the article table is filled,
- a search in the article panel (typing a query and pressing Enter, until the table shows the result),
each from navigation (or Enter) until the article table is filled. Alongside, in this process, the time
`Index.articles()` takes to read the catalogue from the store, cold, which is what the first load waits on.

What an upload costs (--part upload): 2,000 distinct BBC News sentences in four .txt files, added through the
page's own path (`rag.uploads.add`: checks, save, incremental ingest with the real MiniLM) to an index
holding the seed corpus; one embedding per sentence is the bulk of it. This is the rate behind the default
of RAG_UPLOAD_MAX_SENTENCES.

How the index is made: each synthetic article has `--chunks` chunks (BBC news averages 2.8), written as
chunk records through the engine's own format (`Index._node` + the LlamaIndex Chroma vector store) with an
8-dimensional stand-in vector: the page reads metadata only, and no embedding model is needed. Titles are
drawn from a fixed word list, dates from 2000-2025, sources from 24 outlets (seeded: every run is the same).
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .common import DATASETS, ROOT, Clock, log, pct, rss_of, table

SIZES = (1_000, 10_000, 100_000)
DIMS = 8
LOADS = 5  # later page loads measured per size
SEARCHES = ("harbour", "council budget", "Courier", "no-such-words-anywhere", "2013-")
WORDS = ("harbour council budget election storm river bridge school hospital market festival strike court "
         "railway airport museum league final merger profits tariff treaty summit drought flood census "
         "vaccine satellite orchestra marathon library factory").split()
SOURCES = [f"{town} {kind}" for town in ("Northport", "Lakeside", "Eastwick", "Harlow", "Brindle", "Carrow",
                                         "Dunmore", "Fenwick") for kind in ("Courier", "Herald", "Gazette")]
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


class StandIn:
    """A trivial embedding: the page never embeds; the index only needs a model and a slug."""

    slug = f"standin-{DIMS}"

    def get_query_embedding(self, text: str) -> list[float]:
        return [1.0] + [0.0] * (DIMS - 1)

    def get_text_embedding_batch(self, texts: list[str], **_) -> list[list[float]]:
        return [self.get_query_embedding(t) for t in texts]


def assistant_for(index_dir: Path, corpus_dir: Path):
    from rag import Assistant

    return Assistant(index_dir=index_dir, corpus_dir=corpus_dir, answer_mode="extractive", openai_api_key=None,
                     openai_base_url=None, chroma_host=None, embed_model=StandIn())


def grow(assistant, start: int, stop: int, chunks: int) -> None:
    """Add synthetic articles start..stop-1 to the assistant's index, `chunks` chunk records each."""
    from rag.types import Article, Passage

    index = assistant.index

    rng = random.Random(start)
    first_day = dt.date(2000, 1, 1).toordinal()
    for lo in range(start, stop, 1_000):  # 3,000 chunks a write: Chroma takes at most 5,461
        nodes = []
        for i in range(lo, min(stop, lo + 1_000)):
            title = " ".join(rng.choice(WORDS) for _ in range(5)).capitalize() + f" {i}"
            date = dt.date.fromordinal(first_day + rng.randrange(26 * 365)).isoformat()
            text = " ".join(f"Paragraph {j} of synthetic article {i} about the {rng.choice(WORDS)}."
                            for j in range(chunks))
            article = Article(id=f"synthetic/{i:06d}.md", title=title, text=text, date=date,
                              source=rng.choice(SOURCES), content_hash=f"{i:064x}")
            bounds = [round(len(text) * j / chunks) for j in range(chunks + 1)]
            for j in range(chunks):
                passage = Passage(id=f"{article.id}#{j}", article_id=article.id, title=title,
                                  text=text[bounds[j]:bounds[j + 1]], start=bounds[j], end=bounds[j + 1], date=date)
                node = index._node(article, passage, chunks, chunks, assistant.chunker.version)
                node.embedding = StandIn().get_query_embedding("")
                nodes.append(node)
        index.vector_store.add(nodes)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(index_dir: str, port: int) -> None:
    """The child: the real server over the synthetic index (no ingest at start: there is no corpus)."""
    from rag.server import serve as run

    corpus = Path(tempfile.mkdtemp(prefix="rag-page-corpus-"))
    run(assistant_for(Path(index_dir), corpus), "127.0.0.1", port)


def start_server(index_dir: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "RAG_STRICT_OFFLINE": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "bench.page", "--serve", str(index_dir), str(port)], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in proc.stdout:  # the server says when it listens
        if "Running on local URL" in line:
            return proc, f"http://127.0.0.1:{port}/"
    raise RuntimeError(f"the page server exited with code {proc.wait()}")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def filled(n: int) -> str:
    """JS: the article table shows its rows and the count of `n` articles."""
    return (f"(() => {{ const t = document.querySelector('#corpus-table'); return !!t && "
            f"t.querySelectorAll('tr').length > 1 && t.innerText.includes('{n:,} articles indexed'); }})()")


def load_s(browser, url: str, n: int) -> tuple[float, float]:
    """Seconds from navigation to the page showing (its question box: Gradio's own load) and to the
    article table filled, in a new context (a new visitor)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    started = time.perf_counter()
    page.goto(url, wait_until="domcontentloaded")
    page.wait_for_selector("#question textarea", timeout=600_000)
    shown = time.perf_counter() - started
    page.wait_for_function(filled(n), timeout=600_000, polling=20)
    took = time.perf_counter() - started
    context.close()
    return shown, took


def search_s(browser, url: str, n: int, query: str) -> float:
    """Seconds from pressing Enter in the panel's search box to the table showing the result."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(url, wait_until="domcontentloaded")
    page.wait_for_function(filled(n), timeout=600_000, polling=20)
    page.fill("#corpus-search textarea, #corpus-search input", query)
    started = time.perf_counter()
    page.press("#corpus-search textarea, #corpus-search input", "Enter")
    page.wait_for_function(f"document.querySelector('#corpus-table').innerText.includes('of {n:,} articles match') "
                           f"|| document.querySelector('#corpus-table').innerText.includes('No article')",
                           timeout=600_000, polling=20)
    took = time.perf_counter() - started
    context.close()
    return took


def measure(sizes: list[int], chunks: int, work: Path) -> list[dict]:
    from playwright.sync_api import sync_playwright

    index_dir, corpus = work / "index", work / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    rows, have = [], 0
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for n in sizes:
            t0 = time.perf_counter()
            grow(assistant_for(index_dir, corpus), have, n, chunks)
            have = n
            built = time.perf_counter() - t0
            fresh = assistant_for(index_dir, corpus)  # a cold catalogue, as a restarted server has
            t0 = time.perf_counter()
            assert len(fresh.articles()) == n
            catalogue = time.perf_counter() - t0
            t0 = time.perf_counter()
            fresh.articles("harbour")
            filtered = time.perf_counter() - t0
            del fresh
            proc, url = start_server(index_dir)
            try:
                first_shown, first = load_s(browser, url, n)
                shown, later = zip(*[load_s(browser, url, n) for _ in range(LOADS)])
                searches = [search_s(browser, url, n, q) for q in SEARCHES]
                rss = rss_of(proc.pid).get("VmHWM", float("nan"))
            finally:
                stop(proc)
            row = {"articles": n, "chunks": n * chunks, "build_s": built, "catalogue_s": catalogue,
                   "filter_s": filtered, "first_shown_s": first_shown, "first_load_s": first,
                   "shown_p50_s": pct(list(shown), 50), "load_p50_s": pct(list(later), 50),
                   "load_max_s": max(later), "search_p50_s": pct(searches, 50), "search_max_s": max(searches),
                   "server_peak_rss_mb": rss}
            log(f"{n:,} articles: {row}")
            rows.append(row)
        browser.close()
    return rows


def upload_cost(bbc: Path, work: Path, sentences: int = 2_000, files: int = 4) -> dict:
    """What an upload costs per sentence on this machine: BBC sentences in `files` .txt files, added through
    the page's own path (`uploads.add`: check, save, ingest with the real MiniLM), into an index holding the
    seed corpus."""
    from rag import Assistant, uploads
    from rag.text import sentence_spans

    texts = []
    for path in sorted(bbc.rglob("*.txt")):
        body = path.read_bytes().decode("utf-8", "replace")
        texts += [body[lo:hi] for lo, hi in sentence_spans(body) if len(body[lo:hi].split()) >= 4]
        if len(set(texts)) >= sentences:
            break
    texts = list(dict.fromkeys(texts))[:sentences]
    corpus, incoming = work / "upload-corpus", work / "incoming"
    shutil.copytree(ROOT / "corpus", corpus, ignore=shutil.ignore_patterns("uploads"))
    incoming.mkdir()
    named = []
    for i in range(files):
        path = incoming / f"bbc-sentences-{i}.txt"
        path.write_text("\n".join(texts[i::files]), encoding="utf-8")
        named.append((path, path.name))
    assistant = Assistant(corpus_dir=corpus, index_dir=work / "upload-index", answer_mode="extractive",
                          openai_api_key=None, openai_base_url=None, chroma_host=None, upload_max_files=files,
                          upload_max_sentences=sentences)
    assistant.ingest()
    with Clock() as clock:
        results, report = uploads.add(assistant, named)
    assert all(r.ok for r in results), [r.reason for r in results if not r.ok]
    rate = sentences / clock.wall
    return {"sentences": sentences, "files": files, "words_per_sentence": sum(len(t.split()) for t in texts) / sentences,
            "wall_s": clock.wall, "cpu_s": clock.cpu, "sentences_per_s": rate,
            "default_budget": type(assistant.settings).model_fields["upload_max_sentences"].default}


def render_upload(cost: dict) -> str:
    budget = cost["default_budget"]
    return table(["sentences (files)", "words a sentence", "upload, wall (s)", "CPU (s)", "sentences/s",
                  f"default budget ({budget:,}) at that rate (s)"],
                 [[f"{cost['sentences']:,} ({cost['files']})", round(cost["words_per_sentence"], 1),
                   round(cost["wall_s"], 1), round(cost["cpu_s"], 1), round(cost["sentences_per_s"]),
                   round(budget / cost["sentences_per_s"])]])


HEADERS = ["articles", "chunks", "catalogue read, cold (s)", "first load: page / table (s)",
           "later loads p50: page / table (s)", "table max (s)", "panel search p50 / max (s)", "server peak RSS (MB)"]


def render(rows: list[dict], chunks: int, seconds: float) -> str:
    cells = [[f"{r['articles']:,}", f"{r['chunks']:,}", round(r["catalogue_s"], 2),
              f"{r['first_shown_s']:.2f} / {r['first_load_s']:.2f}", f"{r['shown_p50_s']:.2f} / {r['load_p50_s']:.2f}",
              round(r["load_max_s"], 2), f"{r['search_p50_s']:.2f} / {r['search_max_s']:.2f}",
              round(r["server_peak_rss_mb"])] for r in rows]
    return table(HEADERS, cells) + (
        f"\n\n{chunks} chunks per article; Chromium headless; {os.cpu_count()} cores; "
        f"{dt.date.today().isoformat()}; whole run {seconds:.0f} s.")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.page", description=__doc__.split("\n\n")[0])
    p.add_argument("--articles", type=int, default=100_000, help="the largest size measured (1k, 10k, 100k up to it)")
    p.add_argument("--chunks", type=int, default=3, help="chunks per synthetic article")
    p.add_argument("--out", type=Path, default=None, help="also write the tables and the method to this file")
    p.add_argument("--part", choices=["page", "upload", "all"], default="all",
                   help="page: loads and searches at scale; upload: what an upload costs per sentence")
    p.add_argument("--bbc", type=Path, default=DATASETS / "bbc-news", help="BBC News folder (the upload part)")
    p.add_argument("--serve", nargs=2, metavar=("INDEX", "PORT"), help=argparse.SUPPRESS)  # the child
    args = p.parse_args(argv)
    import rag  # noqa: F401  (offline settings before any heavy import)

    if args.serve:
        serve(args.serve[0], int(args.serve[1]))
        return 0
    sizes = [n for n in SIZES if n <= args.articles] or [args.articles]
    work = Path(tempfile.mkdtemp(prefix="rag-bench-page-"))
    started = time.perf_counter()
    parts = []
    try:
        if args.part in ("upload", "all"):
            if not args.bbc.is_dir():
                log(f"skipping the upload part: {args.bbc} not found")
            else:
                parts.append(("What an upload costs", render_upload(upload_cost(args.bbc, work))))
        if args.part in ("page", "all"):
            rows = measure(sizes, args.chunks, work)
            parts.append(("Page loads and panel searches", render(rows, args.chunks, time.perf_counter() - started)))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    text = "\n\n".join(f"## {title}\n\n{body}" for title, body in parts)
    print(text)
    if args.out:
        method = __doc__.split("\n\n", 1)[1].strip()
        command = f"python -m bench.page --articles {args.articles}" + \
            ("" if args.chunks == 3 else f" --chunks {args.chunks}") + ("" if args.part == "all" else f" --part {args.part}")
        args.out.write_text(f"# The page at archive scale\n\n`{command}`\n\n{text}\n\n## Method\n\n{method}\n",
                            encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

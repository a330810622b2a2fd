"""The page in headless Chromium: answers with linked sources, abstention, follow-ups, the article panel
(search, paging, the article filter), example questions, news answers (a timeline, "no articles from",
the removable date chip), saved conversations (also across a restart, per login user), uploads (limits,
hostile articles, the cache left clean, a question answered while an upload indexes).

Set RAG_SAVE_SCREENSHOT=1 to refresh docs/screenshot.png from the answer test.
"""
from __future__ import annotations

import json
import os
import shutil
import sqlite3
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
from test_app_api import start_app

from conftest import stop

pytestmark = pytest.mark.browser
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
ROOT = Path(__file__).resolve().parent.parent

HOSTILE = """---
title: "Quibbleton <img src=x onerror=\\"window.__xss='title'\\"> observatory"
source: "<script>window.__xss='source'</script>"
date: 2023-06-01
---
The Quibbleton observatory <img src=x onerror="window.__xss='img'"> opened in 1911 with a
<script>window.__xss='script'</script> forty-inch telescope [click](javascript:window.__xss='md') and
<a href="javascript:window.__xss='link'">a link</a> <svg onload="window.__xss='svg'"></svg>.
"""


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (make browser installs Debian's chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


FILLERS = 30  # articles besides the two seed ones: the article table has two pages
LIMITS = {"RAG_UPLOAD_MAX_FILES": "3", "RAG_UPLOAD_MAX_MB": "0.5"}  # an upload request: at most 1.57 MB


@pytest.fixture(scope="module")
def served(browser, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("app-browser")
    corpus = tmp / "corpus"
    shutil.copytree(ROOT / "corpus", corpus, ignore=shutil.ignore_patterns("uploads"))
    for i in range(FILLERS):
        (corpus / f"harbour-{i:02d}.md").write_text(f"---\ntitle: Harbour report {i}\ndate: 2022-03-{1 + i:02d}\n"
                                                    f"source: Harbour Gazette\n---\nThe harbour of Quayside {i} "
                                                    f"counted {100 + i} fishing boats this spring.\n")
    url, proc, _ = start_app(tmp, GRADIO_TEMP_DIR=str(tmp / "gradio"), **LIMITS)
    yield SimpleNamespace(url=url, corpus=corpus, gradio=tmp / "gradio", index=next(tmp.glob("index-*")))
    stop(proc)


def open_tab(browser, url: str):
    """A fresh tab (a new session) that records every request and dialog."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    tab = context.new_page()
    tab.requests, tab.dialogs = [], []
    tab.on("request", lambda request: tab.requests.append(request.url))
    tab.on("dialog", lambda dialog: (tab.dialogs.append(dialog.message), dialog.dismiss()))
    tab.goto(url, wait_until="domcontentloaded")
    return tab


def close_tab(tab) -> None:
    """Close it; fail if a request left 127.0.0.1 or a dialog opened."""
    hosts = {urlsplit(u).hostname for u in tab.requests if not u.startswith(("data:", "blob:"))}
    tab.context.close()
    assert hosts == {"127.0.0.1"}, f"requests left 127.0.0.1: {sorted(hosts)}"
    assert tab.dialogs == []


@pytest.fixture()
def page(browser, served):
    tab = open_tab(browser, served.url)
    tab.wait_for_selector("#question textarea", timeout=30_000)
    yield tab
    close_tab(tab)


def ask(page, question: str, turn: int):
    page.fill("#question textarea", question)
    page.press("#question textarea", "Enter")
    return answered(page, turn)


def answered(page, turn: int):
    """The turn-th answer, once it and its sources are shown."""
    answer = page.locator("#chat .rag-answer").nth(turn - 1)
    answer.wait_for(timeout=60_000)
    page.wait_for_function(f"document.querySelectorAll('#sources .rag-turn').length >= {turn}", timeout=60_000)
    return answer


def in_viewport(page, selector: str) -> bool:
    return page.evaluate("""(sel) => { const r = document.querySelector(sel).getBoundingClientRect();
        return r.top >= 0 && r.bottom <= window.innerHeight; }""", selector)


def test_answer_has_linked_sources(page, tmp_path):
    answer = ask(page, "How many GPUs did Twitter buy?", 1)
    assert "10,000" in answer.inner_text()
    markers = answer.locator("a.rag-cite")
    assert markers.count() >= 1
    for i in range(markers.count()):
        n = markers.nth(i).inner_text().strip("[]")
        card = page.locator(f"#sources #src-1-{n}")
        assert card.count() == 1
        assert card.locator("mark").count() >= 1  # the quoted sentence, highlighted
        assert "Twitter" in card.locator(".rag-title").inner_text()
    assert "10,000" in page.locator("#sources #src-1-1 mark").first.inner_text()
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")  # card out of view first
    assert not in_viewport(page, "#src-1-1")
    markers.first.click()
    page.wait_for_function("document.querySelector('#src-1-1')?.classList.contains('rag-targeted')")
    assert page.evaluate("location.hash") == "#src-1-1"
    time.sleep(0.3)
    assert in_viewport(page, "#src-1-1")
    page.evaluate("window.scrollTo(0, 0)")
    shot = tmp_path / "screenshot.png"
    page.screenshot(path=str(shot), full_page=False)
    assert shot.stat().st_size > 10_000
    if os.environ.get("RAG_SAVE_SCREENSHOT") == "1":
        shutil.copyfile(shot, ROOT / "docs" / "screenshot.png")


def test_abstention_is_distinct_and_shows_related_passages(page):
    answer = ask(page, "What is Tesla's share price?", 1)
    notice = answer.locator(".rag-abstain")
    assert "The articles don't say" in notice.inner_text()
    assert answer.locator("a.rag-cite").count() == 0
    style = notice.evaluate("e => [getComputedStyle(e).backgroundColor, getComputedStyle(e).borderLeftWidth]")
    assert style[0] not in ("rgba(0, 0, 0, 0)", "transparent") and style[1] == "5px"
    related = page.locator("#sources .rag-card.rag-related")
    assert 1 <= related.count() <= 3
    assert "Related" in page.locator("#sources .rag-turn h4").first.inner_text()


def test_follow_up_and_trace_and_clear(page):
    ask(page, "How many GPUs did Twitter buy?", 1)
    second = ask(page, "And where will they be installed?", 2)
    assert "Atlanta" in second.inner_text()
    assert second.locator("a.rag-cite").first.get_attribute("href").startswith("#src-2-")
    page.locator("#trace").get_by_text("Trace of the last answer").click()
    trace = page.locator("#trace-html")
    trace.wait_for()
    assert "searched for (condensed)" in trace.inner_text() and "GPUs" in trace.inner_text()
    assert "retrieve" in trace.inner_text() and "Retrieved passages" in trace.inner_text()
    page.click("#clear")
    page.wait_for_function("document.querySelectorAll('#chat .rag-answer').length === 0")
    page.wait_for_function("document.querySelectorAll('#sources .rag-card').length === 0")


def upload(page, path: Path) -> str:
    page.locator("#upload input[type=file]").set_input_files(str(path))
    result = page.locator("#upload-result li")
    result.first.wait_for(timeout=60_000)
    return result.first.inner_text()


def disk(folder: Path) -> tuple[int, int]:
    """(files, bytes) under a folder: Gradio's upload cache."""
    files = [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []
    return len(files), sum(p.stat().st_size for p in files)


def test_uploaded_article_is_askable_at_once_and_leaves_no_cache(page, served, tmp_path):
    article = tmp_path / "zorblax.md"
    article.write_text("---\ntitle: The Zorblax-7 cluster\ndate: 2023-05-20\n---\n"
                       "The Zorblax-7 cluster in Reykjavik has 4,096 liquid-cooled processors.\n")
    before = disk(served.gradio)
    result = upload(page, article)
    assert "added as uploads/zorblax.md" in result
    assert disk(served.gradio) == before  # Gradio's copy is gone, and nothing else was left in its cache
    page.fill("#corpus-search textarea", "Zorblax")
    page.press("#corpus-search textarea", "Enter")
    page.wait_for_function("document.querySelector('#corpus-table')?.innerText.includes('The Zorblax-7 cluster')")
    answer = ask(page, "How many processors does the Zorblax-7 cluster have?", 1)
    assert "4,096" in answer.inner_text()
    assert "uploads/zorblax.md" in page.locator("#sources #src-1-1 .rag-meta").inner_text()


def test_bad_upload_is_refused_with_the_reason_and_not_kept(page, served, tmp_path):
    bad = tmp_path / "blob.txt"
    bad.write_bytes(b"\x00\x01\x02binary" * 50)
    before = disk(served.gradio)
    assert "refused: binary file" in upload(page, bad)
    assert disk(served.gradio) == before
    assert not (served.corpus / "uploads" / "blob.txt").exists()


@pytest.mark.parametrize("case", ["too large", "too many files"])
def test_an_oversized_upload_is_refused_before_it_is_stored(page, served, tmp_path, case):
    if case == "too large":  # each file is within Gradio's own per-file check; together over the request limit
        files = [tmp_path / f"big-{i}.txt" for i in range(2)]
        for i, f in enumerate(files):
            f.write_text(f"Line {i} of a long article about tides. " * 23_000)  # 874 kB each
        reason = "the request is 1.7 MB"
    else:
        files = [tmp_path / f"small-{i}.txt" for i in range(4)]
        for i, f in enumerate(files):
            f.write_text(f"Small article {i} about the tides of Quayside.")
        reason = "it holds more than 3 files"
    before, stored = disk(served.gradio), sorted((served.corpus / "uploads").glob("*"))
    page.locator("#upload input[type=file]").set_input_files([str(f) for f in files])
    toast = page.locator(".toast-body", has_text="Upload refused")
    toast.wait_for(timeout=60_000)
    assert f"Upload refused, nothing was stored: {reason}. One upload may hold at most 3 files" in toast.inner_text()
    assert disk(served.gradio) == before and sorted((served.corpus / "uploads").glob("*")) == stored
    assert page.locator("#upload-result li").count() == 0


def test_a_question_is_answered_while_a_large_upload_indexes(browser, served, page, tmp_path):
    """Uploads have a queue of their own: a question from another tab does not wait for the indexing."""
    article = tmp_path / "trams.txt"
    article.write_text(" ".join(f"The vintage tram number {i} ran on route {i % 97} past depot {i % 13}."
                                for i in range(2_500)))  # 2,500 sentences to embed
    page.locator("#upload input[type=file]").set_input_files(str(article))
    started = time.perf_counter()
    other = open_tab(browser, served.url)
    try:
        other.wait_for_selector("#question textarea", timeout=30_000)
        assert page.locator("#upload-result li").count() == 0  # still indexing
        asked_at = time.perf_counter() - started
        answer = ask(other, "How many GPUs did Twitter buy?", 1)
        answered_at = time.perf_counter() - started
        still_indexing = page.locator("#upload-result li").count() == 0
        assert "10,000" in answer.inner_text()
    finally:
        close_tab(other)
    page.locator("#upload-result li").first.wait_for(timeout=600_000)
    indexed_at = time.perf_counter() - started
    print(f"\nasked {asked_at:.1f} s after the upload began, answered {answered_at - asked_at:.1f} s later; "
          f"the upload was indexed at {indexed_at:.1f} s")
    assert still_indexing and "added as uploads/trams.txt" in page.locator("#upload-result li").first.inner_text()


def test_the_article_panel_searches_and_pages(page):
    table = page.locator("#corpus-table")
    page.wait_for_function("document.querySelector('#corpus-table')?.innerText.includes('articles indexed')")
    total = int(table.inner_text().split(" articles indexed")[0].replace(",", ""))
    assert FILLERS + 2 <= total <= 50  # the seed articles, the fillers and whatever earlier tests uploaded
    assert f"{total} articles indexed; page 1 of 2." in table.inner_text()  # 25 a page
    assert table.locator("tr").count() == 26
    page.click("#corpus-next")
    page.wait_for_function("document.querySelector('#corpus-table')?.innerText.includes('page 2 of 2')")
    assert table.locator("tr").count() == 1 + total - 25
    page.fill("#corpus-search textarea", "10,000-GPU")
    page.press("#corpus-search textarea", "Enter")
    page.wait_for_function("document.querySelector('#corpus-table')?.innerText.includes('match')")
    assert f"1 of {total} articles match “10,000-GPU”; page 1 of 1." in table.inner_text()
    assert "What we know about Twitter's 10,000-GPU purchase" in table.locator("tr").nth(1).inner_text()


def test_the_article_filter_asks_only_the_chosen_article(page):
    page.wait_for_function("document.querySelector('#corpus-table')?.innerText.includes('articles indexed')")
    page.fill("#corpus-search textarea", "Twitter")  # the filter offers the articles the panel shows
    page.press("#corpus-search textarea", "Enter")
    page.wait_for_function("document.querySelector('#corpus-table')?.innerText.includes('match')")
    page.locator("#article-filter input").click()
    page.locator("[role=option]", has_text="What we know about Twitter's 10,000-GPU purchase").click()
    page.keyboard.press("Escape")
    answer = ask(page, "How many GPUs did Twitter buy?", 1)
    assert "1 chosen article(s)" in answer.locator(".rag-chip").inner_text()
    metas = page.locator("#sources .rag-card .rag-meta").all_inner_texts()
    assert metas and all("2023-04-12-twitter-gpu-purchase-what-we-know.md" in m for m in metas)


def test_example_questions_come_from_the_newest_headlines_and_are_asked_on_click(page):
    page.wait_for_function("document.querySelector('#corpus-table')?.innerText.includes('articles indexed')")
    page.click("#corpus-next")  # the table runs from the oldest to the newest: its last row is the newest
    page.wait_for_function("document.querySelector('#corpus-table')?.innerText.includes('page 2 of 2')")
    newest = page.locator("#corpus-table tr").last.locator("td").first.inner_text()
    examples = page.locator("#examples button")
    examples.first.wait_for(timeout=30_000)
    assert examples.count() == 3
    assert examples.first.inner_text().strip() == f"What is “{newest}” about?"
    examples.first.click()
    answer = answered(page, 1)
    assert answer.locator("a.rag-cite").count() >= 1
    assert f"What is “{newest}” about?" in page.locator("#chat").inner_text()


def test_a_timeline_answer_is_a_dated_list(page):
    answer = ask(page, "Timeline of Twitter's AI project", 1)
    items = answer.locator("ol.rag-timeline > li")
    assert items.count() == 2
    assert answer.locator("ol.rag-timeline time").all_inner_texts() == ["2023-04-11", "2023-04-12"]
    assert all(item.locator("a.rag-cite").count() == 1 for item in items.all())


def test_a_count_answer_lists_its_articles(page):
    answer = ask(page, "How many articles mention GPUs?", 1)
    assert answer.locator("p").first.inner_text().startswith("2 articles mention “GPUs”")
    assert answer.locator("ul.rag-lines > li").count() == 2


def test_no_articles_from_a_range_then_the_date_chip_removed_asks_again_without_it(page):
    first = ask(page, "How many GPUs did Twitter buy in May 2020?", 1)
    box = first.locator(".rag-no-articles")
    assert "No articles from May 2020." in box.inner_text()
    colours = page.evaluate("""() => [".rag-no-articles"].map(s => getComputedStyle(document.querySelector(s))
        .backgroundColor)""")
    assert colours[0] not in ("rgba(0, 0, 0, 0)", "transparent")
    chip = first.locator(".rag-chip")
    assert chip.inner_text().startswith("dates 2020-05-01 to 2020-05-31")
    chip.locator("a.rag-chip-x").click()
    second = answered(page, 2)
    assert "10,000" in second.inner_text() and second.locator(".rag-chip").count() == 0
    assert page.locator("#chat").inner_text().count("How many GPUs did Twitter buy in May 2020?") == 2
    page.locator("#trace").get_by_text("Trace of the last answer").click()
    assert "filters" not in page.locator("#trace-html").inner_text()


def choose_conversation(page, title: str) -> None:
    page.locator("#convs-list label", has_text=title).first.click()


def test_conversations_are_saved_listed_reopened_renamed_exported_and_deleted(browser, served, page):
    ask(page, "How many GPUs did Twitter buy?", 1)
    ask(page, "And where will they be installed?", 2)
    page.locator("#convs-list input:checked").wait_for()  # the open conversation is the one chosen in the list
    chosen = page.locator("#convs-list label", has=page.locator("input:checked"))
    assert chosen.inner_text().startswith("How many GPUs did Twitter buy? · 2 answers")
    title = 'GPU notes <b>bold</b> \u202eevil'
    page.fill("#conv-title textarea, #conv-title input", title)
    page.click("#conv-rename")
    page.locator("#convs-list label", has_text="GPU notes <b>bold</b> evil · 2 answers").wait_for()
    assert page.locator("#convs-list b").count() == 0  # the title is text, and its bidi control is gone

    other = open_tab(browser, served.url)  # another visitor of the same (login-less) page
    try:
        other.locator("#convs-list label").first.wait_for(timeout=30_000)
        assert other.locator("#convs-list label").first.inner_text().startswith("GPU notes <b>bold</b> evil")
        choose_conversation(other, "GPU notes <b>bold</b> evil")
        answered(other, 2)
        chat = other.locator("#chat").inner_text()
        assert "10,000" in chat and "Atlanta" in chat and other.locator("#sources .rag-turn").count() == 2
        assert other.locator("#sources #src-2-1 mark").count() >= 1  # the quotes highlighted as before
        assert other.input_value("#conv-title textarea, #conv-title input") == "GPU notes <b>bold</b> evil"
        ask(other, "And how much did they cost?", 3)  # condensed against the reopened turns
        other.locator("#trace").get_by_text("Trace of the last answer").click()
        assert "GPUs" in other.locator("#trace-html").inner_text()

        exported = {}
        for button, suffix in (("#conv-md", ".md"), ("#conv-json", ".json")):
            other.click(button)
            link = other.locator(f"#conv-export a[href*='{suffix}']")
            link.wait_for(timeout=30_000)
            exported[suffix] = other.request.get(link.get_attribute("href")).text()
        markdown, data = exported[".md"], json.loads(exported[".json"])
        assert markdown.startswith("# GPU notes \\<b\\>bold\\</b\\> evil")
        assert "## 1. How many GPUs did Twitter buy?" in markdown and "## 3. And how much did they cost?" in markdown
        assert "> Twitter has bought roughly 10,000 graphics processing units" in markdown
        assert [t["question"] for t in data["turns"]] == ["How many GPUs did Twitter buy?",
                                                         "And where will they be installed?",
                                                         "And how much did they cost?"]
        cited = data["turns"][0]["citations"][0]
        lo, hi = cited["quote_spans"][0]
        assert "10,000" in cited["text"][lo:hi]

        other.click("#conv-delete")
        other.wait_for_function("document.querySelectorAll('#chat .rag-answer').length === 0")
        other.wait_for_function("!document.querySelector('#convs-list').innerText.includes('GPU notes')")
    finally:
        close_tab(other)
    with sqlite3.connect(served.index / "conversations.sqlite3") as db:
        assert db.execute("SELECT count(*) FROM conversations WHERE title LIKE 'GPU notes%'").fetchone()[0] == 0


def log_in(tab, user: str, password: str) -> None:
    tab.locator("input").first.wait_for(timeout=30_000)
    tab.locator("input").first.fill(user)
    tab.locator("input[type=password]").fill(password)
    tab.get_by_role("button", name="Login").click()
    tab.wait_for_selector("#question textarea", timeout=30_000)


def test_conversations_survive_a_restart_and_belong_to_the_login_user(browser, tmp_path):
    env = {"RAG_INDEX_DIR": str(tmp_path / "index"), "RAG_AUTH": "alice:tide-pass-7"}
    url, proc, _ = start_app(tmp_path, **env)
    try:
        tab = open_tab(browser, url)
        log_in(tab, "alice", "tide-pass-7")
        ask(tab, "How many GPUs did Twitter buy?", 1)
        tab.locator("#convs-list input:checked").wait_for()
        close_tab(tab)
    finally:
        stop(proc)
    url, proc, _ = start_app(tmp_path, **env)  # the same index folder, a new process
    try:
        tab = open_tab(browser, url)
        log_in(tab, "alice", "tide-pass-7")
        choose_conversation(tab, "How many GPUs did Twitter buy? · 1 answer")
        answer = answered(tab, 1)
        assert "10,000" in answer.inner_text() and tab.locator("#sources #src-1-1 mark").count() >= 1
        close_tab(tab)
    finally:
        stop(proc)
    with sqlite3.connect(tmp_path / "index" / "conversations.sqlite3") as db:
        assert db.execute("SELECT owner, title FROM conversations").fetchall() == \
            [("alice", "How many GPUs did Twitter buy?")]


def test_hostile_article_renders_inert(page, tmp_path):
    article = tmp_path / "quibbleton.md"
    article.write_text(HOSTILE)
    assert "added as" in upload(page, article)
    answer = ask(page, "When did the Quibbleton observatory open?", 1)
    assert "1911" in answer.inner_text()
    page.wait_for_timeout(500)  # give any injected handler time to fire
    assert page.evaluate("window.__xss") is None
    card = page.locator("#sources .rag-card").first
    assert "<script>window.__xss='script'</script>" in card.inner_text()  # shown as text
    assert "onerror=" in card.locator(".rag-title").inner_text()
    for area in ("#chat", "#sources", "#corpus", "#upload-result"):
        assert page.locator(f"{area} img[src='x'], {area} svg[onload], {area} a[href^='javascript']").count() == 0
    assert page.locator("script:has-text('__xss')").count() == 0

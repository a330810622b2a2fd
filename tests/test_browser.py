"""The page in headless Chromium: answers with linked sources, uploads, hostile articles, abstention.

Set RAG_SAVE_SCREENSHOT=1 to refresh docs/screenshot.png from the answer test.
"""
from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
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


@pytest.fixture(scope="module")
def served(browser, tmp_path_factory):
    url, proc, _ = start_app(tmp_path_factory.mktemp("app-browser"))
    yield url
    stop(proc)


@pytest.fixture()
def page(browser, served):
    """A fresh tab (a new session). Records every request and dialog; fails if one leaves 127.0.0.1."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    tab = context.new_page()
    tab.requests, tab.dialogs = [], []
    tab.on("request", lambda request: tab.requests.append(request.url))
    tab.on("dialog", lambda dialog: (tab.dialogs.append(dialog.message), dialog.dismiss()))
    tab.goto(served, wait_until="domcontentloaded")
    tab.wait_for_selector("#question textarea", timeout=30_000)
    yield tab
    hosts = {urlsplit(u).hostname for u in tab.requests if not u.startswith(("data:", "blob:"))}
    context.close()
    assert hosts == {"127.0.0.1"}, f"requests left 127.0.0.1: {sorted(hosts)}"
    assert tab.dialogs == []


def ask(page, question: str, turn: int):
    page.fill("#question textarea", question)
    page.press("#question textarea", "Enter")
    answer = page.locator("#chat .rag-answer").nth(turn - 1)
    answer.wait_for(timeout=30_000)
    page.wait_for_function(f"document.querySelectorAll('#sources .rag-turn').length >= {turn}", timeout=30_000)
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
    page.wait_for_function("document.querySelector('#src-1-1').classList.contains('rag-targeted')")
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


def test_uploaded_article_is_askable_at_once(page, tmp_path):
    article = tmp_path / "zorblax.md"
    article.write_text("---\ntitle: The Zorblax-7 cluster\ndate: 2023-05-20\n---\n"
                       "The Zorblax-7 cluster in Reykjavik has 4,096 liquid-cooled processors.\n")
    result = upload(page, article)
    assert "added as uploads/zorblax.md" in result
    page.wait_for_function("document.querySelector('#corpus-table').innerText.includes('Zorblax-7')")
    answer = ask(page, "How many processors does the Zorblax-7 cluster have?", 1)
    assert "4,096" in answer.inner_text()
    assert "uploads/zorblax.md" in page.locator("#sources #src-1-1 .rag-meta").inner_text()


def test_bad_upload_is_refused_with_the_reason(page, tmp_path):
    bad = tmp_path / "blob.txt"
    bad.write_bytes(b"\x00\x01\x02binary" * 50)
    assert "refused: binary file" in upload(page, bad)


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

"""A 50 MB web page: above the size limit it is skipped by its size without being read; with the limit
raised it is read to the end (slowly: the HTML reader builds a whole tree) instead of hanging."""
from __future__ import annotations

import time

import pytest

from rag.corpus import scan

MB = 1_000_000
PARAGRAPH = ("<p>The harbour of Port Arlen runs eleven ferries a day to the islands of the Mallow chain, "
             "the harbour office said.</p>\n")


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_fifty_megabyte_page_is_skipped_by_size_or_read_when_allowed(tmp_path):
    body = PARAGRAPH * (50 * MB // len(PARAGRAPH) + 1)
    (tmp_path / "huge.html").write_text(f"<html><head><title>Huge</title></head><body>{body}</body></html>")
    (tmp_path / "small.md").write_text("---\ntitle: Small\n---\nA small article that is always read.\n")
    started = time.monotonic()
    result = scan(tmp_path, 10 * MB)
    assert time.monotonic() - started < 5  # refused by its size, not read
    assert dict(result.skipped) == {"huge.html": "too large (50.0 MB > limit 10.0 MB)"}
    assert [a.id for a in result.articles] == ["small.md"]

    started = time.monotonic()
    result = scan(tmp_path, 60 * MB)
    seconds = time.monotonic() - started
    huge = next(a for a in result.articles if a.id == "huge.html")
    assert huge.title == "Huge" and huge.text.count("eleven ferries") == len(body) // len(PARAGRAPH)
    print(f"\n50 MB page read in {seconds:.0f} s")

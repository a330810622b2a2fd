"""Plain text and Markdown readers: hostile front matter (issue #10) and header lines (issue #12)."""
from __future__ import annotations

import json
import sys
import subprocess
from pathlib import Path

import pytest

from rag.corpus import scan
from rag.readers import BadFile
from rag.readers.text import read_markdown, read_plain

ROOT = Path(__file__).resolve().parent.parent
MB = 1_000_000


def billion_laughs(levels: int = 8) -> str:
    """The file of issue #10: each level is a list of ten aliases of the level below."""
    lines = ["---", "a0: &a0 [" + ",".join(["x"] * 10) + "]"]
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, levels + 1)]
    return "\n".join(lines + [f"title: *a{levels}", "---", "The body of a harmless-looking article."]) + "\n"


def markdown(front: str, body: str = "A body sentence about GPUs.\n") -> bytes:
    return f"---\n{front}\n---\n{body}".encode()


def read_md(data: bytes):
    [record] = read_markdown(data, "a.md")
    return record


def refused(data: bytes) -> str:
    with pytest.raises(BadFile) as info:
        read_markdown(data, "a.md")
    reason = str(info.value)
    assert reason.startswith("front matter: "), reason
    return reason


# ---------------------------------------------------------------- hostile front matter (issue #10)
@pytest.mark.timeout(60)
def test_yaml_bomb_is_refused_before_anything_expands():
    data = billion_laughs().encode()
    assert len(data) < 600  # the file was 465 bytes; safe_load + str() took 26 s and ~1 GB
    assert "aliases" in refused(data)


def test_a_single_anchor_is_refused_too():
    assert "anchors" in refused(markdown("base: &b Jane\nauthor: Jane"))


def test_date_typo_is_a_skip_that_names_the_date():
    reason = refused(markdown("title: T\ndate: 2023-02-30"))
    assert "date" in reason and "2023-02-30" in reason


@pytest.mark.parametrize("date", ["not a date", "2023-13-01", "'31 June 2023'"])
def test_other_bad_dates_are_refused(date):
    assert "is not a date" in refused(markdown(f"title: T\ndate: {date}"))


def test_huge_integer_is_text_where_unused_and_too_long_as_a_title():
    record = read_md(markdown("title: T\nviews: " + "9" * 5000))
    assert record.title == "T"
    assert "longer than 300 characters" in refused(markdown("title: " + "9" * 5000))


@pytest.mark.timeout(60)
@pytest.mark.parametrize("nesting", ["x: " + "[" * 5000 + "]" * 5000,
                                     "x: " + "{a: " * 3000,
                                     "x:\n" + "".join(" " * i + "-\n" for i in range(0, 200, 2))])
def test_deep_nesting_is_refused(nesting):
    assert "nested deeper" in refused(markdown("title: T\n" + nesting))


@pytest.mark.parametrize("value, kind", [("[a, b]", "a list"), ("{a: b}", "a mapping"),
                                         ("!!binary aGVsbG8=", "binary data")])
@pytest.mark.parametrize("key", ["title", "author", "source", "date"])
def test_fields_must_be_text(key, value, kind):
    assert f"{key} must be text, not {kind}" in refused(markdown(f"{key}: {value}"))


@pytest.mark.parametrize("key", ["title", "author", "source"])
def test_long_fields_are_refused(key):
    assert f"{key} is longer than 300 characters" in refused(markdown(f"{key}: " + "word " * 80))


def test_front_matter_over_16_kb_is_refused():
    assert "larger than 16 KB" in refused(markdown("title: T\nnotes: " + "a" * 17_000))


@pytest.mark.parametrize("front", ["title: [unclosed", "title: a: b: c", "title: !!python/object:os.system ls",
                                   "date: !!timestamp soon", "? [a, b]\n: c", "\tbad: tab"])
def test_invalid_yaml_is_a_skip_with_a_one_line_reason(front):
    reason = refused(markdown(front))
    assert "\n" not in reason and len(reason) < 250


def test_good_front_matter_values_are_read_as_written():
    record = read_md(markdown("title: 1984\nauthor: yes\ndate: 2023-04-12 10:00:00 -5\nsource: 9to5Mac"))
    assert (record.title, record.author, record.date, record.source) == ("1984", "yes", "2023-04-12", "9to5Mac")
    assert read_md(markdown("title: X\ndate: 12 April 2023")).date == "2023-04-12"
    assert read_md(markdown("title: X\ndate: !!timestamp 2023-04-12")).date == "2023-04-12"
    assert read_md(markdown("title: X\ndate:")).date == ""


def test_front_matter_that_is_not_a_mapping_stays_in_the_text():
    record = read_md(b"---\nBreaking news from the harbour\n---\nThe body.\n")
    assert "Breaking news from the harbour" in record.text and "not a mapping" in record.note
    assert record.title == "Breaking news from the harbour"


@pytest.mark.timeout(60)
def test_scan_skips_bomb_and_typo_with_reasons_and_reads_the_rest(tmp_path):
    (tmp_path / "bomb.md").write_text(billion_laughs())
    (tmp_path / "typo.md").write_text("---\ntitle: Typo\ndate: 2023-02-30\n---\nText of the typo file.\n")
    (tmp_path / "good.md").write_text("---\ntitle: Good\ndate: 2023-04-12\n---\nA good article.\n")
    (tmp_path / "plain.txt").write_text("Plain headline\n\nA plain article.\n")
    result = scan(tmp_path, MB)
    reasons = dict(result.skipped)
    assert sorted(reasons) == ["bomb.md", "typo.md"]
    assert "aliases" in reasons["bomb.md"] and "2023-02-30" in reasons["typo.md"]
    assert sorted(a.title for a in result.articles) == ["Good", "Plain headline"]


@pytest.mark.timeout(60)
def test_cli_ingest_skips_bomb_and_typo(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "bomb.md").write_text(billion_laughs())
    (corpus / "typo.md").write_text("---\ntitle: Typo\ndate: 2023-02-30\n---\nText of the typo file.\n")
    (corpus / "good.md").write_text("---\ntitle: Good\n---\nThe harbour authority bought 12 cranes.\n")
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith(("RAG_", "OPENAI_", "CHROMA_"))}
    result = subprocess.run([sys.executable, "-m", "rag", "ingest", "--json", "--corpus", str(corpus),
                             "--index", str(tmp_path / "index")], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=55)
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout)
    reasons = dict(report["skipped"])
    assert report["added"] == ["good.md"]
    assert "aliases" in reasons["bomb.md"] and "2023-02-30" in reasons["typo.md"]

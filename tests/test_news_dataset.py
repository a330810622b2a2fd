"""The dated news corpus and the news questions agree with each other and with the BBC files they are built
from: counts are recounted, dates re-parsed, key facts found verbatim, empty ranges checked empty."""
from __future__ import annotations

import datetime as dt
import re
from collections import Counter

import pytest

from evals.cases import DATASETS_DIR, load_cases
from evals.news_corpus import SHARED_ROOT, build_corpus, load_corpus, mentions, original_of, rule_date
from evals.splits import split_of
from rag.dates import parse_dates
from rag.readers.text import read_markdown

pytestmark = pytest.mark.skipif(not (SHARED_ROOT / "datasets" / "bbc-news").is_dir(),
                                reason="the shared folder with the BBC News files is absent")

CORPUS = load_corpus()
ENTRIES = {e["id"]: e for e in CORPUS["articles"]}
ORIGINAL = original_of(CORPUS)
STORY_OF = {a: s for s, story in CORPUS["stories"].items() for a in story["articles"]}
ROWS = [row for case in load_cases(DATASETS_DIR / "news_questions.jsonl") for row in case.rows]
MINIMUM = {"month": 15, "latest": 10, "earliest": 5, "timeline": 12, "count": 15, "list": 10, "sources": 8,
           "summary": 10, "no_articles": 5, "fact": 10}
TEXT_FACT_KINDS = ("fact", "month", "latest", "earliest", "timeline", "summary")


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory):
    return build_corpus(SHARED_ROOT, tmp_path_factory.mktemp("news") / "corpus")


@pytest.fixture(scope="module")
def articles(corpus_dir):
    """id -> (title + text, date, source), read by the engine's own reader."""
    found = {}
    for path in corpus_dir.rglob("*.md"):
        record = read_markdown(path.read_bytes(), path.name)[0]
        article_id = path.relative_to(corpus_dir).as_posix()
        found[article_id] = (f"{record.title}\n{record.text}", record.date, record.source)
    return found


@pytest.fixture(scope="module")
def anchor():
    return dt.date.fromisoformat(max(e["date"] for e in ENTRIES.values() if e["date"]))


def _in_range(date: str, date_from: str, date_to: str) -> bool:
    return bool(date) and (not date_from or date >= date_from) and (not date_to or date <= date_to)


# --- the corpus fixture ----------------------------------------------------------------------------------

def test_corpus_has_enough_dated_articles_stories_copies_and_undated_ones():
    originals = [e for e in CORPUS["articles"] if "copy_of" not in e]
    copies = [e for e in CORPUS["articles"] if "copy_of" in e]
    assert len(originals) >= 300
    assert {e["id"].split("/")[0] for e in originals} == {"business", "entertainment", "politics", "sport", "tech"}
    assert sum(len(s["articles"]) >= 3 for s in CORPUS["stories"].values()) >= 10
    assert len(copies) >= 15 and len({e["source"] for e in copies}) >= 3
    assert 3 <= sum(not e["date"] for e in originals) <= 5


def test_every_entry_names_its_file_and_a_valid_date():
    for e in CORPUS["articles"]:
        cat, stem = re.fullmatch(r"datasets/bbc-news/(\w+)/(\d+)\.txt", e["path"]).groups()
        assert e["id"].endswith(f"{cat}/{stem}.md")
        if e["date"]:
            day = dt.date.fromisoformat(e["date"])
            assert dt.date(2004, 1, 1) <= day <= dt.date(2006, 1, 2), e["id"]


def test_story_articles_are_dated_in_order_and_no_other_article_touches_a_story(articles):
    for name, story in CORPUS["stories"].items():
        dates = [ENTRIES[a]["date"] for a in story["articles"]]
        assert dates == sorted(dates) and len(set(dates)) == len(dates), name
        assert all(ENTRIES[a]["story"] == name and ENTRIES[a]["evidence"] for a in story["articles"])
        pattern = re.compile(story["pattern"], re.I)
        assert all(pattern.search(articles[a][0]) for a in story["articles"]), name
        strays = [i for i, e in ENTRIES.items() if i not in STORY_OF and "copy_of" not in e
                  and pattern.search(articles[i][0])]
        assert strays == [], f"{name}: articles outside the story match its pattern: {strays}"


def test_other_articles_follow_the_date_rule():
    others = [e for e in CORPUS["articles"] if "story" not in e and "copy_of" not in e and e["date"]]
    assert others and all(e["date"] == rule_date(e["id"]) for e in others)


def test_syndicated_copies_come_later_under_a_new_headline(articles):
    for e in CORPUS["articles"]:
        if "copy_of" not in e:
            continue
        original = ENTRIES[e["copy_of"]]
        assert e["path"] == original["path"] and e["source"] != "BBC News"
        delay = dt.date.fromisoformat(e["date"]) - dt.date.fromisoformat(original["date"])
        assert 0 <= delay.days <= 2, e["id"]
        text, original_text = articles[e["id"]][0], articles[e["copy_of"]][0]
        assert text.startswith(e["headline"] + "\n" + e["headline"] + "\n")
        assert text.count("\n\n") == original_text.count("\n\n") - ("drop_paragraph" in e)


def test_built_files_carry_the_fixture_metadata(articles, corpus_dir):
    assert set(articles) == set(ENTRIES)
    for article_id, (_, date, source) in articles.items():
        assert (date, source) == (ENTRIES[article_id]["date"], ENTRIES[article_id]["source"])


def test_rebuilding_rewrites_nothing_and_removes_stale_files(corpus_dir):
    before = {p: p.stat().st_mtime_ns for p in corpus_dir.rglob("*.md")}
    (corpus_dir / "stale.md").write_text("old\n", encoding="utf-8")
    build_corpus(SHARED_ROOT, corpus_dir)
    assert {p: p.stat().st_mtime_ns for p in corpus_dir.rglob("*.md")} == before


def test_a_missing_shared_folder_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="BBC News files of the shared folder"):
        build_corpus(tmp_path / "no-shared", tmp_path / "corpus")


# --- the questions -----------------------------------------------------------------------------------------

def test_enough_questions_of_every_kind():
    kinds = Counter(row.kind for row in ROWS)
    assert all(kinds[kind] >= n for kind, n in MINIMUM.items()), kinds
    assert any(row.kind == "month" and "relative" in row.note for row in ROWS)
    assert all(row.date_from or row.date_to for row in ROWS if row.kind in ("fact", "month", "no_articles"))


def test_expected_articles_exist_and_splits_follow_the_rule():
    for row in ROWS:
        assert set(row.expected_article_ids) <= set(ENTRIES), row.id
        assert set(row.reference_article_ids) <= set(ENTRIES), row.id
        key = row.story or (row.expected_article_ids[0] if row.expected_article_ids else row.id)
        assert row.split == split_of(key), row.id


def test_date_ranges_are_what_the_parser_reads(anchor):
    for row in ROWS:
        parsed = parse_dates(row.question, anchor).range
        assert ((parsed.date_from, parsed.date_to) if parsed else ("", "")) == (row.date_from, row.date_to), row.id
        if row.date_from or row.date_to:
            assert all(_in_range(ENTRIES[i]["date"], row.date_from, row.date_to) for i in row.expected_article_ids)


def test_counts_are_recounted(articles, corpus_dir):
    rows = [row for row in ROWS if row.kind == "count"]
    for row in rows:
        word = re.compile(rf"(?<!\w){re.escape(row.term)}(?!\w)", re.I)
        found = sorted(i for i, (text, date, _) in articles.items()
                       if word.search(text) and (not (row.date_from or row.date_to)
                                                 or _in_range(date, row.date_from, row.date_to)))
        distinct = len({ORIGINAL[i] for i in found})
        assert (row.expected_count, row.expected_count_distinct) == (len(found), distinct), row.id
        assert row.expected_article_ids == found and row.key_facts == [str(len(found))]
    assert mentions(corpus_dir, "Yukos") == next(r for r in rows if r.term == "Yukos").expected_article_ids


def test_lists_hold_every_matching_article(articles):
    for row in (r for r in ROWS if r.kind == "list"):
        if row.term:
            word = re.compile(rf"(?<!\w){re.escape(row.term)}(?!\w)", re.I)
            expected = {i for i, (text, _, _) in articles.items() if word.search(text)}
        else:
            expected = {i for i in ENTRIES if STORY_OF.get(ORIGINAL[i]) == row.story}
        assert set(row.expected_article_ids) == expected, row.id


def test_timelines_are_whole_stories_in_date_order():
    for row in (r for r in ROWS if r.kind == "timeline"):
        assert row.expected_article_ids == CORPUS["stories"][row.story]["articles"], row.id
        assert len(row.expected_article_ids) >= 3


def test_latest_and_earliest_are_the_story_extremes():
    for row in (r for r in ROWS if r.kind in ("latest", "earliest")):
        dates = {i: ENTRIES[i]["date"] for i in ENTRIES if STORY_OF.get(ORIGINAL[i]) == row.story
                 and _in_range(ENTRIES[i]["date"], row.date_from, row.date_to)}
        edge = (max if row.kind == "latest" else min)(dates.values())
        assert sorted(row.expected_article_ids) == sorted(i for i, d in dates.items() if d == edge), row.id


def test_key_facts_are_verbatim_in_the_expected_articles(articles):
    for row in ROWS:
        if row.kind in TEXT_FACT_KINDS:
            for fact in row.key_facts:
                assert any(fact in articles[i][0] for i in row.expected_article_ids), (row.id, fact)
        if row.kind == "sources":
            assert set(row.key_facts) == {ENTRIES[i]["source"] for i in row.expected_article_ids}
            assert len({ORIGINAL[i] for i in row.expected_article_ids}) == 1 and len(row.key_facts) >= 2


def test_no_articles_ranges_hold_no_article(anchor):
    for row in (r for r in ROWS if r.kind == "no_articles"):
        assert not [i for i, e in ENTRIES.items() if _in_range(e["date"], row.date_from, row.date_to)], row.id
        label = parse_dates(row.question, anchor).range.label
        assert row.key_facts == [f"No articles from {label}"] and row.expected_article_ids == []

"""Files holding many articles (JSON lines, JSON, CSV): one article per record with a stable id, bad records
skipped with their line/row while the rest are read, and a real ingest that re-embeds only the record
that changed. Dates from any of the shapes such files hold, as ISO days."""
from __future__ import annotations

import datetime as dt
import json
import time

import pytest

from rag import Assistant
from rag.corpus import scan
from rag.readers import BadFile, READERS
from rag.readers.dates import iso_day
from rag.readers.records import MAX_KEY

MB = 1_000_000
STORIES = [
    {"id": "arl-1", "title": "Ferries to the islands", "date": "2023-05-02", "author": "Lena Brook",
     "source": "Arlen Post", "url": "https://arlen.example/ferries",
     "text": "The harbour of Port Arlen runs eleven ferries a day to the Mallow islands."},
    {"id": "arl-2", "title": "The lighthouse keeper", "date": "3 May 2023", "author": "Tom Reed",
     "source": "Arlen Post", "url": "https://arlen.example/keeper",
     "text": "Edda Voss has kept the lamp at Gull Point burning for twenty-six years."},
    {"id": "arl-3", "title": "A new pier", "date": "Thu, 04 May 2023 09:00:00 +0200", "author": "Lena Brook",
     "source": "Arlen Post", "url": "https://arlen.example/pier",
     "text": "The new pier cost 4.2 million crowns and opened in October."},
]


def read(suffix: str, data: str | bytes):
    return READERS[suffix](data.encode() if isinstance(data, str) else data, f"file{suffix}")


def jsonl(records) -> str:
    return "".join(json.dumps(r) + "\n" for r in records)


# ---------------------------------------------------------------- JSON lines
def test_jsonl_gives_one_article_per_record(tmp_path):
    (tmp_path / "news.jsonl").write_text(jsonl(STORIES))
    result = scan(tmp_path, MB)
    assert [a.id for a in result.articles] == ["news.jsonl#arl-1", "news.jsonl#arl-2", "news.jsonl#arl-3"]
    first = result.articles[0]
    assert (first.title, first.date, first.author, first.source, first.url) == \
        ("Ferries to the islands", "2023-05-02", "Lena Brook", "Arlen Post", "https://arlen.example/ferries")
    assert [a.date for a in result.articles] == ["2023-05-02", "2023-05-03", "2023-05-04"]
    assert result.skipped == [] and result.notes == []


def test_malformed_lines_are_skipped_with_their_numbers_and_the_rest_read(tmp_path):
    lines = [json.dumps(STORIES[0]), '{"id": "x", "text": "unterminated', "", json.dumps(STORIES[1]),
             "[1, 2, 3]", '{"id": "no-text", "title": "Only a title"}', json.dumps(STORIES[2])]
    (tmp_path / "news.ndjson").write_text("\n".join(lines) + "\n")
    result = scan(tmp_path, MB)
    assert len(result.articles) == 3 and result.skipped == []
    [(name, note)] = result.notes
    assert name == "news.ndjson"
    assert note.startswith("3 record(s) skipped (line 2: not valid JSON: Unterminated string")
    assert "line 5: not an object but list" in note
    assert "line 6: no text field (looked for text, body, content, article, description; it has: id, title)" in note


def test_a_file_with_no_readable_record_is_skipped_with_the_reasons(tmp_path):
    (tmp_path / "bad.jsonl").write_text("not json\n{\"title\": \"no text\"}\n")
    (tmp_path / "empty-lines.jsonl").write_text("\n\n  \n")
    reasons = dict(scan(tmp_path, MB).skipped)
    assert reasons["bad.jsonl"].startswith("no readable record (line 1: not valid JSON: Expecting value")
    assert reasons["empty-lines.jsonl"] == "no records"


def test_many_skipped_records_are_counted_not_all_listed():
    [record] = read(".jsonl", "oops\n" * 40 + json.dumps(STORIES[0]) + "\n")
    assert record.note.startswith("40 record(s) skipped (line 1: not valid JSON")
    assert record.note.endswith("; and 35 more)")


def test_keys_are_sanitised_and_made_unique():
    records = read(".jsonl", jsonl([
        {"id": "a\nb\t c", "text": "one"}, {"id": "a b c", "text": "two"}, {"id": "a b c", "text": "three"},
        {"text": "no id: its line"}, {"guid": "g-7", "text": "a guid"}, {"url": "https://x.example/p", "text": "u"},
        {"id": "k" * 500, "text": "long key"}, {"id": "k" * 499 + "j", "text": "another long key"}]))
    keys = [r.key for r in records]
    assert keys[:6] == ["a b c", "a b c~2", "a b c~3", "line 4", "g-7", "https://x.example/p"]
    assert all(len(k) <= MAX_KEY for k in keys) and len(set(keys)) == len(keys)


def test_field_names_are_matched_case_insensitively_and_values_cleaned():
    [record] = read(".jsonl", json.dumps({
        "Headline": "Pier opens", "Published_At": 1683190800, "Authors": [{"name": "Ann Lee"}, "Bo Ek"],
        "Outlet": "Arlen Post", "Link": "javascript:alert(1)",
        "Content": "<p>The pier <b>opened</b> at dawn.</p><script>track()</script><p>Crowds came.</p>"}) + "\n")
    assert (record.title, record.date, record.author, record.source, record.url) == \
        ("Pier opens", "2023-05-04", "Ann Lee, Bo Ek", "Arlen Post", "")  # a javascript: link is dropped
    assert record.text == "The pier opened at dawn.\nCrowds came."


# ---------------------------------------------------------------- JSON
@pytest.mark.parametrize("shape", ["array", "articles", "items", "data"])
def test_json_arrays_and_wrapped_arrays(shape):
    value = STORIES if shape == "array" else {"meta": {"n": 3}, shape: STORIES}
    records = read(".json", json.dumps(value))
    assert [r.key for r in records] == ["arl-1", "arl-2", "arl-3"]


def test_json_single_object_and_bad_json():
    [record] = read(".json", json.dumps({"title": "One", "body": "A single article."}))
    assert (record.title, record.key) == ("One", "")  # id = the file's path
    with pytest.raises(BadFile, match=r"^not valid JSON \(Expecting ',' delimiter at line 2 column 1\)"):
        read(".json", '[{"text": "a"}\n{"text": "b"}]')
    with pytest.raises(BadFile, match="JSON holds no article"):
        read(".json", '{"settings": {"theme": "dark"}}')
    with pytest.raises(BadFile, match=r"nested too deeply"):
        read(".json", "[" * 200_000)
    records = read(".json", json.dumps([STORIES[0], "just a string", {"title": "t"}]))
    assert len(records) == 1 and records[0].note.startswith("2 record(s) skipped (item 2: not an object but str")


# ---------------------------------------------------------------- CSV
def test_csv_with_semicolons_quoted_newlines_and_spreadsheet_row_numbers(tmp_path):
    (tmp_path / "news.csv").write_text(
        "Headline;PubDate;Byline;Publication;Link;Body\n"
        'Ferries;02/05/2023;Lena Brook;Arlen Post;https://arlen.example/f;"Eleven ferries; daily.\nEven on Sundays."\n'
        "No body;2023-05-03;x;y;https://arlen.example/n;\n"
        ";;;;;\n"
        "Keeper;2023-05-03;Tom Reed;Arlen Post;https://arlen.example/k;Edda Voss keeps the lamp.\n",
        encoding="utf-8-sig")  # with a BOM, as Excel writes it
    result = scan(tmp_path, MB)
    assert [a.id for a in result.articles] == ["news.csv#https://arlen.example/f", "news.csv#https://arlen.example/k"]
    first = result.articles[0]
    assert (first.title, first.date, first.author, first.source) == ("Ferries", "2023-02-05", "Lena Brook",
                                                                     "Arlen Post")
    assert first.text == "Eleven ferries; daily.\nEven on Sundays."
    assert result.notes == [("news.csv", "1 record(s) skipped (row 3: no text)")]


def test_csv_tabs_and_positional_keys():
    records = read(".csv", "title\tdescription\nOne\tFirst story.\nTwo\tSecond story.\n")
    assert [(r.key, r.title, r.text) for r in records] == [("row 2", "One", "First story."),
                                                           ("row 3", "Two", "Second story.")]


def test_csv_without_a_text_column_names_the_columns_it_has(tmp_path):
    (tmp_path / "prices.csv").write_text("Ticker,Close,Volume\nARL,12.5,1000\n")
    (tmp_path / "ok.csv").write_text("title,text\nFine,A readable row.\n")
    result = scan(tmp_path, MB)
    assert dict(result.skipped)["prices.csv"] == \
        "no text column (looked for text, body, content, article, description); its columns are: ticker, close, volume"
    assert [a.id for a in result.articles] == ["ok.csv#row 2"]


def test_csv_with_a_very_long_field_is_read():
    body = "The ferry left on time. " * 20_000  # 480 kB: above csv's default field limit of 128 kB
    [record] = read(".csv", f'title,text\nLong,"{body}"\n')
    assert len(record.text) == len(body.strip())


# ---------------------------------------------------------------- dates
@pytest.mark.parametrize("value, day", [
    ("2023-04-12", "2023-04-12"), ("2023-04-12T23:30:00-05:00", "2023-04-12"), ("2023/4/5", "2023-04-05"),
    ("Wed, 12 Apr 2023 23:30:00 -0500", "2023-04-12"),  # the day as written, not converted to UTC
    ("12 April 2023", "2023-04-12"), ("April 12, 2023", "2023-04-12"), ("Apr 12th, 2023", "2023-04-12"),
    ("Wednesday, 12 April 2023", "2023-04-12"), ("12.04.2023", "2023-04-12"), ("04/12/2023", "2023-04-12"),
    ("13/04/2023", "2023-04-13"), (1681286400, "2023-04-12"), (1681286400000, "2023-04-12"),
    ("1681286400", "2023-04-12"), (dt.date(2023, 4, 12), "2023-04-12"), (time.gmtime(1681286400), "2023-04-12"),
    ("le 12 avril 2023", "2023-04-12"), ("12. März 2023", "2023-03-12"),  # dateparser, seven languages
    ("yesterday", ""), ("3 hours ago", ""), ("April 2023", ""), ("2023-02-30", ""), ("0000-00-00", ""),
    ("not a date", ""), ("", ""), (None, ""), (True, ""), ("1 Jan 1066", ""),
])
def test_dates_become_iso_days(value, day):
    assert iso_day(value) == day


# ---------------------------------------------------------------- a real ingest
def test_editing_one_record_re_embeds_only_that_record(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    extra = [{"id": f"filler-{i}", "title": f"Harbour note {i}",
              "text": f"Harbour note {i}: berth {i} was repainted in a shade of green called sea glass."}
             for i in range(5)]
    (corpus / "news.jsonl").write_text(jsonl(STORIES + extra))
    assistant = Assistant(corpus_dir=corpus, index_dir=tmp_path / "index", answer_mode="extractive",
                          openai_api_key=None, openai_base_url=None, chroma_host=None)
    first = assistant.ingest()
    assert len(first.added) == 8 and "news.jsonl#arl-2" in first.added

    edited = [dict(s) for s in STORIES + extra]
    edited[1]["text"] = "Edda Voss has kept the lamp at Gull Point burning for twenty-seven years."
    edited.insert(0, {"id": "arl-0", "title": "Fog", "text": "Fog closed the harbour of Port Arlen for a day."})
    del edited[-1]
    (corpus / "news.jsonl").write_text(jsonl(edited))
    before = assistant.embed_model.texts_embedded
    second = assistant.ingest()
    assert (second.added, second.updated, second.removed) == \
        (["news.jsonl#arl-0"], ["news.jsonl#arl-2"], ["news.jsonl#filler-4"])
    assert len(second.unchanged) == 6
    assert assistant.embed_model.texts_embedded - before == 2  # one sentence each: the edit and the new one
    answer = assistant.ask("For how many years has Edda Voss kept the lamp burning?")
    assert "twenty-seven" in answer.text and answer.citations[0].article_id == "news.jsonl#arl-2"

    (corpus / "news.jsonl").write_text("{broken\n")  # a file that cannot be read keeps its articles
    third = assistant.ingest()
    assert third.removed == [] and len(assistant.articles()) == 8

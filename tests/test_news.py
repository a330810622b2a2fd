"""News questions on a small dated corpus written for these tests (tests/fixtures/news: a kite makers'
merger told over five articles, one syndicated copy, three unrelated stories): dates in questions become
filters, "latest"/"first", timelines, whole-corpus counts and lists, sources, summaries; through Python,
the CLI and the JSON contract. The kind detection is unit-tested without an index."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from rag import Assistant, cli
from rag.citations import problems
from rag.news import detect, literal

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "news"


@pytest.mark.parametrize("question, kind, topic", [
    ("How many articles mention Brantwell?", "count", "Brantwell"),
    ("how many stories mention the tsunami", "count", "the tsunami"),
    ("How many articles are about the merger?", "count", "the merger"),
    ("Which articles mention Saltmere?", "list", "Saltmere"),
    ("Which stories cover the kite festival?", "list", "the kite festival"),
    ("Which outlets reported the merger?", "sources", "the merger"),
    ("Which news organisations carried the story of the ferry?", "sources", "the story of the ferry"),
    ("What is the latest on the merger?", "latest", "the merger"),
    ("What's the most recent news about Quillfeather?", "latest", "Quillfeather"),
    ("What was the first report about the talks?", "earliest", "the talks"),
    ("When was the merger first reported?", "earliest", "the merger"),
    ("How did the bid for Brantwell develop?", "timeline", "the bid for Brantwell"),
    ("Timeline of the takeover", "timeline", "the takeover"),
    ("What happened with the merger over time?", "timeline", "the merger"),
    ("Summarise the coverage of the merger.", "summary", "the merger"),
    ("What do the articles say about the ferry?", "summary", "the ferry"),
    ("How much did Quillfeather offer?", "fact", ""),
    ("Who leads the combined company?", "fact", ""),
    ("What is the latest offer?", "fact", ""),
])
def test_kinds_are_detected(question, kind, topic):
    found = detect(question)
    assert (found.kind, found.topic) == (kind, topic)


def test_article_summaries_and_range_questions_are_detected():
    assert detect("What is 'Town library reopens after repairs' about?").title == "Town library reopens after repairs"
    assert detect("Summarise the article “Ferry timetable changes”").title == "Ferry timetable changes"
    assert detect("What happened?", has_range=True).kind == "summary"  # "in March 2024" was taken out
    assert detect("What happened to Brantwell?", has_range=True) == detect("What happened to Brantwell?", True)
    assert detect("What happened to Brantwell?", has_range=True).topic == "Brantwell"
    assert detect("What happened to Brantwell?").kind == "fact"  # without a range: an ordinary question


def test_mention_counts_words_about_counts_meaning():
    assert detect("How many articles mention Saltmere?").literal
    assert not detect("How many articles are about Saltmere?").literal
    assert literal("the tsunami") == "tsunami" and literal("“Piet Laan”") == "Piet Laan"


@pytest.fixture(scope="module")
def news(tmp_path_factory):
    corpus = tmp_path_factory.mktemp("news") / "corpus"
    shutil.copytree(FIXTURES, corpus)
    assistant = Assistant(corpus_dir=corpus, index_dir=corpus.parent / "index", answer_mode="extractive",
                          openai_api_key=None, openai_base_url=None, chroma_host=None)
    assistant.ingest()
    return assistant


def mentions(corpus: Path, word: str) -> set[str]:
    pattern = re.compile(rf"(?<!\w){re.escape(word)}(?!\w)", re.I)
    return {p.name for p in corpus.glob("*.md") if pattern.search(p.read_text())}


def cited(answer) -> list[str]:
    return [c.article_id for c in answer.citations]


def test_count_is_exact_over_the_whole_index(news):
    answer = news.ask("How many articles mention Brantwell?")
    expected = mentions(Path(news.settings.corpus_dir), "Brantwell")
    assert answer.kind == "count" and answer.short == str(len(expected)) == "7"
    assert answer.text.startswith("7 articles mention “Brantwell”") and "whole words" in answer.text
    assert set(cited(answer)) <= expected and not problems(answer)


def test_count_with_a_date_in_the_question(news):
    answer = news.ask("How many articles mention Quillfeather in March 2024?")
    assert answer.filters.date_from == "2024-03-01" and answer.filters.date_to == "2024-03-31"
    assert answer.short == "2" and "from March 2024" in answer.text
    assert all(c.date.startswith("2024-03") for c in answer.citations)


def test_list_cites_every_article_that_mentions_the_term(news):
    answer = news.ask("Which articles mention Saltmere?")
    assert set(cited(answer)) == mentions(Path(news.settings.corpus_dir), "Saltmere") == {
        "06-festival.md", "04-raised.md"}
    assert not problems(answer)


def test_month_question_cites_only_that_month(news):
    answer = news.ask("What did Brantwell's chairman want in March 2024?")
    assert "55 million crowns" in answer.text
    assert answer.citations and all(c.date.startswith("2024-03") for c in answer.citations)
    coverage = news.ask("What happened in March 2024?")
    assert coverage.kind == "summary" and len(set(cited(coverage))) >= 3
    assert all(c.date.startswith("2024-03") for c in coverage.citations) and not problems(coverage)


def test_a_range_without_articles_says_so(news):
    answer = news.ask("What happened in June 2023?")
    assert answer.text == "No articles from June 2023." and answer.abstained and answer.kind == "no_articles"


def test_explicit_filters_win_over_dates_in_the_question(news):
    answer = news.ask("How many articles mention Quillfeather in March 2024?", date_from="2024-01-01",
                      date_to="2024-12-31")
    assert (answer.filters.date_from, answer.filters.date_to) == ("2024-01-01", "2024-12-31")
    assert answer.short == "6"  # the year, not March: the words "in March 2024" are still no topic
    off = news.ask("How many articles mention Quillfeather in March 2024?", dates=False)
    every = news.ask("How many articles mention Quillfeather?")
    # no date filter, and the date is still no topic word: every article that names Quillfeather is counted
    assert not off.filters.date_from and off.text == every.text and off.short == "6"


def test_latest_and_first_answer_from_the_newest_and_oldest_relevant_article(news):
    latest = news.ask("What is the latest on the merger of Quillfeather and Brantwell?")
    assert latest.kind == "latest" and latest.short in ("2024-05-02", "2024-05-03")
    assert "accepted Quillfeather's 52 million crown offer" in latest.text and latest.short in latest.text
    first = news.ask("What was the first article about the Quillfeather and Brantwell talks?")
    assert first.short == "2024-01-10" and cited(first) == ["01-talks.md"] and not problems(first)


def test_timeline_is_dated_in_order_and_cites_several_articles(news):
    answer = news.ask("How did the Quillfeather bid for Brantwell develop?")
    assert answer.kind == "timeline"
    dates = [c.date for c in answer.citations]
    assert len(set(cited(answer))) >= 3 and dates == sorted(dates)
    lines = answer.text.splitlines()
    assert all(re.match(r"\d{4}-\d{2}-\d{2} \(", line) for line in lines if "[" in line)
    assert not {"07-ferry.md", "08-library.md"} & set(cited(answer)) and not problems(answer)


def test_sources_name_every_outlet_that_ran_the_story(news):
    answer = news.ask("Which sources reported that Brantwell accepted Quillfeather's offer?")
    assert "Harbour Gazette" in answer.text and "Coastline Wire" in answer.text and not problems(answer)


def test_summary_of_one_article_quotes_its_lede(news):
    answer = news.ask("What is 'Town library reopens after repairs' about?")
    assert cited(answer) == ["08-library.md"] and "300,000 crowns" in answer.text


def test_cli_json_carries_kind_filters_and_short(news, capsys):
    code = cli.main(["ask", "--json", "--index", str(news.settings.index_dir),
                     "How many articles mention Brantwell in March 2024?"])
    result = json.loads(capsys.readouterr().out)
    assert code == 0 and result["kind"] == "count" and result["short"] == "3"
    assert result["filters"]["date_from"] == "2024-03-01" and result["trace"]["filters"]["date_to"] == "2024-03-31"
    cli.main(["ask", "--json", "--index", str(news.settings.index_dir), "--date-from", "2024-05-01",
              "--source", "Coastline Wire", "Which articles mention Brantwell?"])
    result = json.loads(capsys.readouterr().out)
    assert [c["article_id"] for c in result["citations"]] == ["05-agreed-copy.md"]
    assert result["citations"][0]["source"] == "Coastline Wire"


@pytest.fixture(scope="module")
def event_dates(tmp_path_factory):
    """Two articles: one from June 2024 about something else, one from September 2024 that reports what
    happened in June 2024."""
    corpus = tmp_path_factory.mktemp("events") / "corpus"
    corpus.mkdir()
    (corpus / "budget.md").write_text("---\ntitle: Harbour council approves its budget\ndate: 2024-06-03\n---\n"
                                      "The harbour council approved a budget of 3 million crowns for the coming "
                                      "year on Monday.\nMost of the money will go to repairing the quays.\n")
    (corpus / "lighthouse.md").write_text("---\ntitle: Grey Point lighthouse to reopen\ndate: 2024-09-15\n---\n"
                                          "The lighthouse at Grey Point was closed in June 2024 after storm damage, "
                                          "the council said.\nIt will reopen in the spring once the lamp room "
                                          "has been rebuilt.\n")
    assistant = Assistant(corpus_dir=corpus, index_dir=corpus.parent / "index", answer_mode="extractive",
                          openai_api_key=None, openai_base_url=None, chroma_host=None)
    assistant.ingest()
    return assistant


def test_a_fact_questions_date_may_be_the_events_not_the_articles(event_dates):
    # June 2024 has an article, but it does not answer: every date is searched, and the notice says why
    answer = event_dates.ask("Which lighthouse was closed in June 2024?")
    assert "Grey Point" in answer.text and not answer.abstained, answer.text
    assert [c.article_id for c in answer.citations] == ["lighthouse.md"] and not problems(answer)
    assert not answer.filters.date_from and "No article from June 2024 answers this" in answer.notice
    # an answer from that month keeps the filter
    kept = event_dates.ask("What budget did the harbour council approve in June 2024?")
    assert kept.filters.date_from == "2024-06-01" and "3 million crowns" in kept.text and not kept.notice
    # a question about the articles of a month stays a question about that month
    assert event_dates.ask("What was reported in September 2024?").citations[0].article_id == "lighthouse.md"


def test_a_fact_question_about_a_time_no_article_covers_says_so(event_dates):
    answer = event_dates.ask("Which lighthouse was closed in May 2020?")
    assert answer.text == "No articles from May 2020." and answer.kind == "no_articles"
    # with no article from then but one that reports the event of that date, the report answers
    wider = event_dates.ask("Which lighthouse was closed in June 2024?", article_ids=["lighthouse.md"])
    assert "Grey Point" in wider.text and "No articles are from June 2024" in wider.notice

"""Syndicated copies in the index: every copy indexed, each story shown once, its other outlets named.

A small corpus written for these tests: a wire story about a lighthouse, the same story republished by two
other outlets (new headline and byline, one with a paragraph dropped), and unrelated articles.
"""
from __future__ import annotations

import json

import pytest
from fakes import HashEmbedding

from rag import Assistant
from rag.render import sources_section
from rag.retrieve import article_of, fold_copies

BODY = [
    "The Port Arlen lighthouse will be switched off for good on 1 March, the harbour board said on Tuesday.",
    "The board said the light, first lit in 1871, had been replaced by satellite navigation and a buoy "
    "system that costs a tenth as much to run.",
    "Local fishermen opposed the decision at a meeting last month, saying the light still guides small "
    "boats without electronic charts into the narrow harbour mouth.",
    "The keeper's cottage will be sold and the tower kept as a listed monument open to visitors in summer.",
    "The board expects to save about 40,000 crowns a year once the light is switched off.",
]


def story(headline: str, date: str, source: str, paragraphs: list[str]) -> str:
    return f"---\ntitle: {headline}\ndate: {date}\nsource: {source}\n---\n\n" + "\n\n".join(paragraphs) + "\n"


@pytest.fixture()
def corpus(tmp_path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "wire.md").write_text(story("Port Arlen lighthouse to go dark", "2024-02-06", "Wire Agency", BODY))
    (folder / "gazette.md").write_text(story("Historic light switched off after 153 years", "2024-02-07",
                                             "Arlen Gazette", BODY))
    (folder / "coast.md").write_text(story("Lighthouse to close, fishermen object", "2024-02-08", "Coast Radio",
                                           BODY[:3] + BODY[4:]))
    (folder / "ferry.md").write_text(story("New ferry timetable for Port Arlen", "2024-02-10", "Arlen Gazette", [
        "The ferry to the outer islands will run twice a day from April, the operator said.",
        "Tickets bought before the change stay valid until the end of May, and the lighthouse tour boat "
        "keeps its summer schedule."]))
    (folder / "market.md").write_text(story("Fish market moves to the quay", "2024-01-15", "Arlen Gazette", [
        "The fish market will move from the square to the old quay in spring, the council said.",
        "Traders welcomed the larger space but asked for more parking."]))
    return folder


def assistant_for(folder, tmp_path) -> Assistant:
    return Assistant(corpus_dir=folder, index_dir=tmp_path / "index", answer_mode="extractive",
                     openai_api_key=None, openai_base_url=None, chroma_host=None, embed_model=HashEmbedding())


def test_copies_are_indexed_and_reported(corpus, tmp_path):
    assistant = assistant_for(corpus, tmp_path)
    report = assistant.ingest()
    assert len(report.added) == 5 and report.copies == 2
    assert "2 article(s) are near-duplicate copies" in report.summary()
    group = assistant.index.stories()["wire.md"]
    assert group.canonical == "wire.md" and set(group.members) == {"wire.md", "gazette.md", "coast.md"}
    assert "ferry.md" not in assistant.index.stories()


def test_retrieval_shows_each_story_once_and_names_its_other_outlets(corpus, tmp_path):
    assistant = assistant_for(corpus, tmp_path)
    assistant.ingest()
    answer = assistant.ask("Why did fishermen oppose switching off the lighthouse?", top_k=5)
    copies = {"wire.md", "gazette.md", "coast.md"}
    shown = [p.article_id for p in answer.retrieved if p.article_id in copies]
    assert len(set(shown)) == 1, shown  # one copy of the story, however many of its chunks
    kept = shown[0]
    passage = next(p for p in answer.retrieved if p.article_id == kept)
    assert {c["article_id"] for c in passage.copies} == copies - {kept}
    assert [c["date"] for c in passage.copies] == sorted(c["date"] for c in passage.copies)
    assert not answer.abstained and answer.citations
    data = answer.to_dict()
    assert {c["source"] for c in data["citations"][0]["copies"]} <= {"Wire Agency", "Arlen Gazette", "Coast Radio"}
    assert json.loads(json.dumps(data))["retrieved"][0]["copies"] == data["retrieved"][0]["copies"]
    html = sources_section(answer, 1)
    assert "Also published by" in html
    unrelated = assistant.ask("When will the ferry run twice a day?", top_k=3)
    ferry = [p for p in unrelated.retrieved if p.article_id == "ferry.md"]
    assert ferry and ferry[0].copies == []


def test_whole_corpus_questions_still_count_every_copy(corpus, tmp_path):
    assistant = assistant_for(corpus, tmp_path)
    assistant.ingest()
    count = assistant.ask("How many articles mention fishermen?")
    assert count.kind == "count" and count.short == "3"
    sources = assistant.ask("Which sources mentioned fishermen?")
    assert all(name in sources.text for name in ("Wire Agency", "Arlen Gazette", "Coast Radio")), sources.text


def test_a_timeline_has_one_line_per_story(corpus, tmp_path):
    assistant = assistant_for(corpus, tmp_path)
    assistant.ingest()
    timeline = assistant.ask("Timeline of the Port Arlen lighthouse")
    assert timeline.kind == "timeline"
    cited = [c.article_id for c in timeline.citations]
    assert len([a for a in cited if a in ("wire.md", "gazette.md", "coast.md")]) <= 1, cited


def test_removing_a_copy_unfolds_the_story_and_a_new_copy_folds_in(corpus, tmp_path):
    assistant = assistant_for(corpus, tmp_path)
    assistant.ingest()
    (corpus / "gazette.md").unlink()
    (corpus / "coast.md").unlink()
    report = assistant.ingest()
    assert report.copies == 0 and sorted(report.removed) == ["coast.md", "gazette.md"]
    assert assistant.index.stories() == {}
    (corpus / "radio.md").write_text(story("Lighthouse closing", "2024-02-09", "Coast Radio", BODY[1:]))
    report = assistant.ingest()
    assert report.added == ["radio.md"] and report.copies == 1
    assert assistant.index.copies_of("wire.md")[0]["source"] == "Coast Radio"


def test_fold_copies_keeps_the_first_copy_seen_and_all_its_chunks():
    class Group:
        def __init__(self, canonical):
            self.canonical = canonical

    story_ = Group("a")
    stories = {"a": story_, "b": story_}
    ranked = ["b#h:0", "x#h:0", "a#h:1", "b#h:2", "c#d#h:0"]
    assert fold_copies(ranked, stories) == ["b#h:0", "x#h:0", "b#h:2", "c#d#h:0"]
    assert article_of("c#d#h:0") == "c#d"

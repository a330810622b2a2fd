"""rag.conversations: saved conversations in SQLite, per owner; answers back from their JSON; exports."""
from __future__ import annotations

import json
import sqlite3

import pytest

from rag import conversations, render
from rag.conversations import BadTitle, Conversations, answer_from_dict
from rag.web import Session

QUESTIONS = [
    "How many GPUs did Twitter buy?",  # a fact, cited
    "What is Tesla's share price?",  # an abstention with related passages
    "Timeline of Twitter's AI project",  # a timeline
    "How many articles mention GPUs?",  # a count
    "How many GPUs did Twitter buy in May 2020?",  # no articles from that range
    "How many GPUs did Twitter buy in April 2023?",  # a date filter from the question
]
HOSTILE = '<script>alert(1)</script> <img src=x onerror="alert(2)"> [beacon](http://evil.example/x.png) ![i](http://e/i.png)'


@pytest.fixture(scope="module")
def answers(seed_assistant):
    return [seed_assistant.ask(q) for q in QUESTIONS]


@pytest.fixture()
def store(tmp_path):
    return Conversations(tmp_path / conversations.FILE_NAME)


def test_an_answer_comes_back_from_its_json_exactly(answers):
    kinds = [a.kind for a in answers]
    assert {"fact", "timeline", "count", "no_articles"} <= set(kinds) and any(a.abstained for a in answers)
    for turn, answer in enumerate(answers, 1):
        stored = json.loads(json.dumps(answer.to_dict()))
        back = answer_from_dict(stored)
        assert back.to_dict() == stored
        # what the page shows is made again from the data, identically
        assert render.answer_html(back, turn) == render.answer_html(answer, turn)
        assert render.sources_html([back]) == render.sources_html([answer])
        assert render.trace_html(back) == render.trace_html(answer)


def test_saved_turns_are_listed_newest_first_and_paged(store, answers):
    ids = []
    for i in range(conversations.PAGE_SIZE + 3):
        started = store.start("", f"Question number {i}?")
        assert started.title == f"Question number {i}?"
        assert store.append(started.id, "", answers[i % len(answers)])
        ids.append(started.id)
    first, total = store.page("", 1)
    assert total == conversations.PAGE_SIZE + 3 and len(first) == conversations.PAGE_SIZE
    assert [c.id for c in first] == ids[::-1][:conversations.PAGE_SIZE]
    second, _ = store.page("", 2)
    assert [c.id for c in second] == ids[2::-1]
    assert store.append(ids[0], "", answers[0])  # used again: it moves to the top
    assert store.page("", 1)[0][0].id == ids[0] and store.page("", 1)[0][0].turns == 2


def test_a_conversation_survives_a_restart(tmp_path, answers):
    path = tmp_path / conversations.FILE_NAME
    before = Conversations(path)
    started = before.start("", answers[0].question)
    for answer in answers:
        before.append(started.id, "", answer)
    del before
    again = Conversations(path).load(started.id, "")  # a new process opens the same file
    assert again.title == answers[0].question
    assert [a.to_dict() for a in again.answers] == [json.loads(json.dumps(a.to_dict())) for a in answers]


def test_each_owner_sees_and_changes_only_their_own(store, answers):
    alice = store.start("alice", "Alice's question?")
    store.append(alice.id, "alice", answers[0])
    assert store.page("bob", 1) == ([], 0) and store.page("", 1) == ([], 0)
    assert store.load(alice.id, "bob") is None
    assert not store.append(alice.id, "bob", answers[1])
    assert store.rename(alice.id, "bob", "Stolen") == ""
    assert not store.delete(alice.id, "bob")
    mine = store.load(alice.id, "alice")
    assert mine.title == "Alice's question?" and len(mine.answers) == 1


def test_rename_cleans_the_title_and_refuses_an_empty_one(store, answers):
    started = store.start("", "x" * 500)
    assert len(started.title) == conversations.TITLE_FROM_QUESTION and started.title.endswith("…")
    assert store.rename(started.id, "", "  GPU\u202e notes\n\tfor\x00 April ") == "GPU notes for April"
    assert store.load(started.id, "").title == "GPU notes for April"
    with pytest.raises(BadTitle, match="cannot be empty"):
        store.rename(started.id, "", " \u200b\n ")
    assert len(store.rename(started.id, "", "y" * 1000)) == conversations.TITLE_MAX


def test_delete_removes_the_turns_too(store, answers):
    started = store.start("", "Temporary?")
    store.append(started.id, "", answers[0])
    assert store.delete(started.id, "") and store.load(started.id, "") is None
    with sqlite3.connect(store.path) as db:
        assert db.execute("SELECT count(*) FROM turns").fetchone()[0] == 0
    assert not store.delete(started.id, "")


def test_a_full_conversation_takes_no_more_turns(store, answers, monkeypatch):
    monkeypatch.setattr(conversations, "MAX_TURNS", 3)
    started = store.start("", "Long chat?")
    assert [store.append(started.id, "", answers[0]) for _ in range(4)] == [True, True, True, False]
    assert len(store.load(started.id, "").answers) == 3


def test_json_export_holds_answers_citations_and_quote_spans(store, answers):
    started = store.start("", answers[0].question)
    for answer in answers:
        store.append(started.id, "", answer)
    data = json.loads(conversations.to_json(store.load(started.id, "")))
    assert data["title"] == answers[0].question and len(data["turns"]) == len(answers)
    first = data["turns"][0]
    assert first["answer"] == answers[0].text and first["citations"]
    citation = first["citations"][0]
    lo, hi = citation["quote_spans"][0]
    assert citation["text"][lo:hi] in citation["quote"] and "10,000" in citation["quote"]
    assert data["turns"][4]["kind"] == "no_articles"


def test_markdown_export_reads_well_and_renders_inert(seed_assistant, store):
    from markdown_it import MarkdownIt

    answer = seed_assistant.ask("How many GPUs did Twitter buy?")
    answer.question = HOSTILE  # a hostile question and quote: shown as text, never as markup
    answer.citations[0].passage.text = HOSTILE + " " + answer.citations[0].passage.text
    answer.citations[0].quote_spans = [(0, len(HOSTILE))]
    started = store.start("", "GPUs <b>bold</b>")
    store.append(started.id, "", answer)
    text = conversations.to_markdown(store.load(started.id, ""))
    assert text.startswith("# GPUs \\<b\\>bold\\</b\\>")
    assert "Twitter has bought roughly 10,000 graphics processing units" in text
    assert "Sources:" in text and "2023-04-11-twitter-buys-10000-gpus.md" in text
    html = MarkdownIt("commonmark", {"html": True}).render(text)
    assert "<script" not in html and "<img" not in html and "<a " not in html and "<b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # shown as written


def test_a_reopened_conversation_condenses_follow_ups_against_it(seed_assistant, store):
    first = seed_assistant.chat().ask("How many GPUs did Twitter buy?")
    started = store.start("", first.question)
    store.append(started.id, "", first)
    session = Session(seed_assistant, store.load(started.id, ""))
    assert session.conversation_id == started.id and session.title == first.question
    assert [a.text for a in session.answers] == [first.text]
    follow_up = session.chat.ask("And where will they be installed?")
    assert "GPUs" in follow_up.trace.standalone and "Atlanta" in follow_up.text

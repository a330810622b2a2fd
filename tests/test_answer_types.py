"""Answer types and attribution patterns (rag/answer_types.py): fast, no model, no index.

Sentences are written for these tests (in the style of news copy), not copied from any article."""
from __future__ import annotations

import pytest

from rag.answer_types import Asked, asked, attributions, new_names, short_answer, spans


def texts(sentence: str, found: list[tuple[int, int]]) -> list[str]:
    return [sentence[lo:hi] for lo, hi in found]


@pytest.mark.parametrize("question,kinds,attribution", [
    ("How much did the council spend on the new bridge?", ("money",), False),
    ("How much is the company earning every day?", ("money",), False),
    ("What was the price of the painting?", ("money",), False),
    ("How many stores will the retailer close?", ("count",), False),
    ("How old is the oldest member of the crew?", ("count",), False),
    ("What percentage of voters backed the plan?", ("percent",), False),
    ("What share of the market does the firm hold?", ("percent",), False),
    ("How far did the shares fall on Monday?", ("percent", "money", "count"), False),
    ("When did the factory open?", ("date",), False),
    ("In what year was the club founded?", ("date",), False),
    ("By what date must the forms be returned?", ("date",), False),
    ("Where is the charity based?", ("place",), False),
    ("Which city will host the final?", ("place",), False),
    ("Who chairs the committee?", ("person", "organisation"), False),
    ("Which analyst called the results modest?", ("person", "organisation"), True),
    ("Which company makes the engines?", ("organisation",), False),
    ("Which newspaper reported the merger?", ("organisation",), True),
    ("Which site published the interview?", ("organisation",), True),
    ("Who said the deal was dead?", ("person", "organisation"), True),
    ("Who wrote the report on river pollution?", ("person", "organisation"), True),
    ("Why did the talks collapse?", (), False),
    ("What does the acronym stand for?", (), False),
])
def test_what_a_question_asks_for(question, kinds, attribution):
    assert asked(question) == Asked(kinds, attribution)


def test_money_is_not_a_count_and_a_count_is_not_money():
    sentence = "The group sold 40,000 units, up 12.5%, and made a profit of \u00a375m ($141m) in 2004."
    assert texts(sentence, spans(sentence, ("money",))) == ["\u00a375m", "$141m"]
    assert texts(sentence, spans(sentence, ("count",))) == ["40,000"]  # not the year, the % or the money
    assert texts(sentence, spans(sentence, ("percent",))) == ["12.5%"]
    assert texts(sentence, spans(sentence, ("date",))) == ["in 2004"]


@pytest.mark.parametrize("sentence,money", [
    ("The studio is said to have spent tens of millions of dollars on the film.", "tens of millions of dollars"),
    ("The actor earned 3.2m euros last year.", "3.2m euros"),
    ("Tickets will cost about $25 each.", "about $25"),
    ("Shareholders lost more than $180bn when it collapsed.", "more than $180bn"),
    ("A stamp now costs 32p.", "32p"),
])
def test_money_forms(sentence, money):
    assert texts(sentence, spans(sentence, ("money",))) == [money]


def test_a_sentence_without_the_asked_type_has_no_span():
    sentence = "The firm said 2,000 workers would move to the new site in the spring."
    assert spans(sentence, ("money",)) == []
    assert spans(sentence, ("percent",)) == []
    assert texts(sentence, spans(sentence, ("count",))) == ["2,000"]


def test_dates():
    sentence = "Voting closes on 11 March, two weeks after the launch on Monday and a year after March 2004."
    found = texts(sentence, spans(sentence, ("date",)))
    assert "11 March" in found and "Monday" in found and "March 2004" in found
    iso = "date 2023-04-12 Authored by Jane Roe via ExampleNews.com,"
    assert texts(iso, spans(iso, ("date",))) == ["2023-04-12"]


def test_people_and_organisations():
    sentence = "Chief executive Maria Lopez said Northfield Bank and the IMF had agreed, Mr Hale added."
    people = texts(sentence, spans(sentence, ("person",)))
    assert "Maria Lopez" in people and "Hale" in people
    orgs = texts(sentence, spans(sentence, ("organisation",)))
    assert "Northfield Bank" in orgs and "IMF" in orgs
    assert "Northfield Bank" not in people


def test_places():
    sentence = "The plant will be built near Chennai, and the Paris-based agency will inspect it from Lyon."
    assert texts(sentence, spans(sentence, ("place",))) == ["Chennai", "Paris", "Lyon"]


def test_a_name_the_question_contains_is_not_an_answer():
    question = "Who runs Tellmark Group?"
    sentence = "Tellmark Group is run by chief executive Ann Frey."
    assert "Tellmark Group" not in texts(sentence, spans(sentence, ("person", "organisation"), question))
    assert texts(sentence, new_names(sentence, question)) == ["Ann Frey"]
    assert texts(sentence, [short_answer(question, sentence)]) == ["Ann Frey"]


@pytest.mark.parametrize("sentence,source", [
    ("A report from Metro Insider revealed that the firm is planning a new phone.", "Metro Insider"),
    ("The bank will cut its growth forecast, the Daily Courier reported.", "Daily Courier"),
    ("Two billion people will own a phone this year, according to a Brightwell report.", "Brightwell"),
    ("The figures were compiled in a table drawn up by France's Le Journal newspaper.", "Le Journal"),
    ('"We are watching closely," said race director Tom Weir.', "Tom Weir"),
    ('"It will need a lot of money," the analyst told Reuters.', "Reuters"),
    ("Writing in the journal Nature, the team describe a new laser.", "Nature"),
    ("The chief executive was quoted by The Harbour newspaper as saying the airline must change.", "The Harbour"),
    ("date 2023-04-12 Authored by Jane Roe via ExampleNews.com,", "Jane Roe"),
])
def test_attribution_patterns(sentence, source):
    assert source in texts(sentence, attributions(sentence))


def test_no_attribution_in_a_plain_sentence():
    assert attributions("The company made a profit of $3m in the first quarter.") == []
    assert attributions("It said the plan was sound.") == []  # a pronoun is no source


def test_byline_gives_author_or_site_depending_on_the_question():
    byline = "date 2023-04-12 Authored by Jane Roe via ExampleNews.com,"
    assert texts(byline, [short_answer("Who wrote the ExampleNews article about the phones?", byline)]) == ["Jane Roe"]
    assert texts(byline, [short_answer("Which site published Jane Roe's piece?", byline)]) == ["ExampleNews.com"]
    assert texts(byline, [short_answer("On what date was the ExampleNews article published?", byline)]) == \
        ["2023-04-12"]


@pytest.mark.parametrize("question,sentence,short", [
    ("How many sources did the story rely on?",
     "According to two people familiar with the deal, the firm bought nearly 5,000 machines.", "two"),
    ("How many machines did the firm buy?",
     "According to two people familiar with the deal, the firm bought nearly 5,000 machines.", "nearly 5,000"),
    ("How much profit did the airline make?",
     "The airline carried 3,000 more passengers and made a profit of \u00a375m.", "\u00a375m"),
    ("Which paper reported that the fund would cut its forecast?",
     "The fund is to cut its forecast from 1.8% to 0.8%, the Evening Ledger reported.", "Evening Ledger"),
    ("Where is the research institute?", "The study was run by the Marine Research Institute in Thurso.", "Thurso"),
    ("Why did the talks collapse?", "The talks collapsed because neither side would move.", None),
])
def test_short_answers(question, sentence, short):
    span = short_answer(question, sentence)
    assert (sentence[span[0]:span[1]] if span else None) == short

"""rag.dates: dates in questions become publication-date ranges; years and months that belong to a topic
do not."""
from __future__ import annotations

import datetime as dt

import pytest

from rag.dates import DateRange, parse_dates

ANCHOR = dt.date(2005, 3, 31)  # a Thursday

# (question, date_from, date_to, label): absolute expressions, anchor ANCHOR
ABSOLUTE = [
    ("What happened with Yukos in December 2004?", "2004-12-01", "2004-12-31", "December 2004"),
    ("What did Blair say in April 2023?", "2023-04-01", "2023-04-30", "April 2023"),
    ("What happened on 12 April 2023?", "2023-04-12", "2023-04-12", "12 April 2023"),
    ("What happened on April 12, 2023?", "2023-04-12", "2023-04-12", "12 April 2023"),
    ("What happened on April 12th 2023?", "2023-04-12", "2023-04-12", "12 April 2023"),
    ("News from 12th April 2023", "2023-04-12", "", "since 12 April 2023"),
    ("What was reported 12th April 2023?", "2023-04-12", "2023-04-12", "12 April 2023"),
    ("What was reported on the 12th of April 2023?", "2023-04-12", "2023-04-12", "12 April 2023"),
    ("What was reported on Tuesday 12 April 2005?", "2005-04-12", "2005-04-12", "12 April 2005"),
    ("Which stories ran on 2023-04-12?", "2023-04-12", "2023-04-12", "12 April 2023"),
    ("Which stories ran 2005-03-02", "2005-03-02", "2005-03-02", "2 March 2005"),
    ("What did Glazer do in 2005?", "2005-01-01", "2005-12-31", "2005"),
    ("Who led the polls during 2004?", "2004-01-01", "2004-12-31", "2004"),
    ("What happened to BMW throughout 2004?", "2004-01-01", "2004-12-31", "2004"),
    ("Which albums were released in Sept 2004?", "2004-09-01", "2004-09-30", "September 2004"),
    ("Which albums were released in Dec. 2004?", "2004-12-01", "2004-12-31", "December 2004"),
    ("Any films in March of 2005?", "2005-03-01", "2005-03-31", "March 2005"),
    ("What happened between March 2005 and May 2005?", "2005-03-01", "2005-05-31", "March to May 2005"),
    ("What happened from March to May 2005?", "2005-03-01", "2005-05-31", "March to May 2005"),
    ("Tech news March to May 2005", "2005-03-01", "2005-05-31", "March to May 2005"),
    ("What happened from November to February 2005?", "2004-11-01", "2005-02-28",
     "November 2004 to February 2005"),
    ("What happened between 2004 and 2005?", "2004-01-01", "2005-12-31", "2004 to 2005"),
    ("Articles between 2005-03-25 and 2005-03-31", "2005-03-25", "2005-03-31", "25 March to 31 March 2005"),
    ("What happened in March and May 2005?", "2005-03-01", "2005-05-31", "March to May 2005"),
    ("What did Yukos do before June 2004?", "", "2004-05-31", "before June 2004"),
    ("What did Yukos do after June 2004?", "2004-07-01", "", "after June 2004"),
    ("What did Yukos do since June 2004?", "2004-06-01", "", "since June 2004"),
    ("What did Yukos do until June 2004?", "", "2004-06-30", "until June 2004"),
    ("What had Yukos done by June 2004?", "", "2004-06-30", "by June 2004"),
    ("What has happened since 1 June 2004?", "2004-06-01", "", "since 1 June 2004"),
    ("What happened before 2005-03-01?", "", "2005-02-28", "before 1 March 2005"),
    ("Who won after 2004?", "2005-01-01", "", "after 2004"),
    ("What did Yukos do up to May 2005?", "", "2005-05-31", "until May 2005"),
    ("What did the firm do in early 2005?", "2005-01-01", "2005-04-30", "early 2005"),
    ("What did the firm do in mid-2004?", "2004-05-01", "2004-08-31", "mid 2004"),
    ("What did the firm do in late 2004?", "2004-09-01", "2004-12-31", "late 2004"),
    ("What did the firm do in late February 2004?", "2004-02-21", "2004-02-29", "late February 2004"),
    ("Profits in Q1 2005?", "2005-01-01", "2005-03-31", "Q1 2005"),
    ("What happened during the first quarter of 2005?", "2005-01-01", "2005-03-31", "Q1 2005"),
    ("What happened in the fourth quarter of 2004?", "2004-10-01", "2004-12-31", "Q4 2004"),
    ("Did the team march in May 2005?", "2005-05-01", "2005-05-31", "May 2005"),
    ("What happened on 29 February 2004?", "2004-02-29", "2004-02-29", "29 February 2004"),
    ("What happened in February 2004?", "2004-02-01", "2004-02-29", "February 2004"),
    ("What happened in the 1990s and in 1999?", "1999-01-01", "1999-12-31", "1999"),
]

# (question, anchor, date_from, date_to, label): the anchor decides
RELATIVE = [
    ("What happened last week?", ANCHOR, "2005-03-21", "2005-03-27", "the week of 2005-03-21 to 2005-03-27"),
    ("What happened this week?", ANCHOR, "2005-03-28", "2005-04-03", "the week of 2005-03-28 to 2005-04-03"),
    ("What happened last month?", ANCHOR, "2005-02-01", "2005-02-28", "February 2005"),
    ("What happened this month?", ANCHOR, "2005-03-01", "2005-03-31", "March 2005"),
    ("What happened last year?", ANCHOR, "2004-01-01", "2004-12-31", "2004"),
    ("What happened so far this year?", ANCHOR, "2005-01-01", "2005-12-31", "2005"),
    ("What happened yesterday?", ANCHOR, "2005-03-30", "2005-03-30", "30 March 2005"),
    ("What happened today?", ANCHOR, "2005-03-31", "2005-03-31", "31 March 2005"),
    ("Today, what did the markets do?", ANCHOR, "2005-03-31", "2005-03-31", "31 March 2005"),
    ("What happened in the past 3 days?", ANCHOR, "2005-03-29", "2005-03-31",
     "the past 3 days (29 to 31 March 2005)"),
    ("What happened in the last two weeks?", ANCHOR, "2005-03-18", "2005-03-31",
     "the past 2 weeks (18 to 31 March 2005)"),
    ("What happened over the past month?", ANCHOR, "2005-03-01", "2005-03-31",
     "the past month (1 to 31 March 2005)"),
    ("What happened in the past 2 months?", ANCHOR, "2005-02-01", "2005-03-31",
     "the past 2 months (1 February to 31 March 2005)"),
    ("What happened in the past week?", ANCHOR, "2005-03-25", "2005-03-31",
     "the past week (25 to 31 March 2005)"),
    ("What happened in March?", ANCHOR, "2005-03-01", "2005-03-31", "March 2005"),
    ("What happened in April?", ANCHOR, "2004-04-01", "2004-04-30", "April 2004"),
    ("What happened last March?", ANCHOR, "2004-03-01", "2004-03-31", "March 2004"),
    ("What happened last January?", ANCHOR, "2005-01-01", "2005-01-31", "January 2005"),
    ("What happened between March and May?", ANCHOR, "2005-03-01", "2005-05-31", "March to May 2005"),
    ("What happened between March and May?", dt.date(2005, 2, 1), "2004-03-01", "2004-05-31",
     "March to May 2004"),
    ("What happened on 12 April?", ANCHOR, "2004-04-12", "2004-04-12", "12 April 2004"),
    ("What happened on March 30?", ANCHOR, "2005-03-30", "2005-03-30", "30 March 2005"),
    # year boundaries: 1 January 2005 is a Saturday
    ("What happened last week?", dt.date(2005, 1, 1), "2004-12-20", "2004-12-26",
     "the week of 2004-12-20 to 2004-12-26"),
    ("What happened this week?", dt.date(2005, 1, 1), "2004-12-27", "2005-01-02",
     "the week of 2004-12-27 to 2005-01-02"),
    ("What happened yesterday?", dt.date(2005, 1, 1), "2004-12-31", "2004-12-31", "31 December 2004"),
    ("What happened last month?", dt.date(2005, 1, 15), "2004-12-01", "2004-12-31", "December 2004"),
    ("What happened last year?", dt.date(2005, 1, 1), "2004-01-01", "2004-12-31", "2004"),
    ("What happened in December?", dt.date(2005, 1, 1), "2004-12-01", "2004-12-31", "December 2004"),
    ("What happened in January?", dt.date(2005, 1, 1), "2005-01-01", "2005-01-31", "January 2005"),
    ("What happened between November and February?", dt.date(2005, 1, 15), "2004-11-01", "2005-02-28",
     "November 2004 to February 2005"),
    ("What happened between 25 December and 2 January?", dt.date(2005, 3, 1), "2004-12-25", "2005-01-02",
     "25 December 2004 to 2 January 2005"),
    ("What happened in the past 7 days?", dt.date(2005, 1, 3), "2004-12-28", "2005-01-03",
     "the past 7 days (28 December 2004 to 3 January 2005)"),
    # leap years
    ("What happened yesterday?", dt.date(2004, 3, 1), "2004-02-29", "2004-02-29", "29 February 2004"),
    ("What happened last month?", dt.date(2004, 3, 15), "2004-02-01", "2004-02-29", "February 2004"),
    ("What happened last month?", dt.date(2005, 3, 15), "2005-02-01", "2005-02-28", "February 2005"),
    ("What happened in February?", dt.date(2004, 3, 10), "2004-02-01", "2004-02-29", "February 2004"),
    ("What happened on 29 February?", dt.date(2005, 6, 1), "2004-02-29", "2004-02-29", "29 February 2004"),
    ("What happened in the past month?", dt.date(2004, 3, 28), "2004-02-29", "2004-03-28",
     "the past month (29 February to 28 March 2004)"),
]

# Years, months and day words that belong to a topic: never a filter
NOT_DATES = [
    "What is in the 2005 budget?",
    "Who won Euro 2004?",
    "Is Windows 2000 still supported?",
    "Why did Twitter buy 10,000 GPUs?",
    "Did the firm cut 2005 employees?",
    "May I ask about Yukos?",
    "Which firms may cut jobs?",
    "Who led the march on London?",
    "March on, said the union leader",
    "What did Blair tell the Today programme?",
    "What did Howard say on Today?",
    "What did Blair say to June Sarpong?",
    "Any comment on May's speech?",
    "Was the interview by June Sarpong?",
    "What were last year's profits?",
    "What were this month's sales figures?",
    "Who won the March 2005 election?",
    "What were Time Warner's Q4 2004 profits?",
    "What is the forecast for 2005?",
    "Who is in the class of 2005?",
    "Who won the 2004-05 season?",
    "Which are the top 40 singles?",
    "Who is April Ashley?",
    "What did the firm say on the last day of trading?",
    "How many of the 2000 workers lost their jobs?",
    "What did 50 Cent say?",
    "Is the FY2005 outlook good?",
    "Did the price reach $2005?",
    "What happened on 29 February 2005?",  # no such day
    "What happened on 31 April 2005?",
    "What did the firm say in its 2004 results?",
]


@pytest.mark.parametrize("question,date_from,date_to,label", ABSOLUTE)
def test_absolute_dates(question, date_from, date_to, label):
    parsed = parse_dates(question, ANCHOR)
    assert parsed.range == DateRange(date_from, date_to, label)
    assert not parsed.relative
    assert parsed.matched and parsed.matched in question


@pytest.mark.parametrize("question,anchor,date_from,date_to,label", RELATIVE)
def test_relative_dates(question, anchor, date_from, date_to, label):
    parsed = parse_dates(question, anchor)
    assert parsed.range == DateRange(date_from, date_to, label)
    assert parsed.relative


@pytest.mark.parametrize("question", NOT_DATES)
def test_topics_are_not_dates(question):
    parsed = parse_dates(question, ANCHOR)
    assert parsed.range is None, parsed
    assert parsed.text == question and parsed.matched == ""


@pytest.mark.parametrize("question,text,matched", [
    ("What happened with Yukos in December 2004?", "What happened with Yukos?", "in December 2004"),
    ("In 2005, what did Glazer do?", "What did Glazer do?", "In 2005"),
    ("What happened last week at the BBC?", "What happened at the BBC?", "last week"),
    ("Since June 2004, how has Yukos fared?", "How has Yukos fared?", "Since June 2004"),
    ("What did Yukos do (in 2004)?", "What did Yukos do?", "in 2004"),
    ("What did Yukos, in December 2004, sell?", "What did Yukos sell?", "in December 2004"),
    ("Which firms may cut jobs in May 2005?", "Which firms may cut jobs?", "in May 2005"),
    ("Who won the 2004 election before June 2005?", "Who won the 2004 election?", "before June 2005"),
    ("What happened  between March 2005 and May 2005 to Yukos ?", "What happened to Yukos?",
     "between March 2005 and May 2005"),
])
def test_text_after_removal(question, text, matched):
    parsed = parse_dates(question, ANCHOR)
    assert (parsed.text, parsed.matched) == (text, matched)


def test_only_the_first_expression_is_used():
    parsed = parse_dates("What happened in 2004 and after June 2005?", ANCHOR)
    assert parsed.range == DateRange("2004-01-01", "2004-12-31", "2004")
    assert parsed.text == "What happened and after June 2005?"


def test_lower_case_months_count_after_a_preposition():
    assert parse_dates("what happened in may?", ANCHOR).range == DateRange("2004-05-01", "2004-05-31", "May 2004")
    assert parse_dates("which firms may 2005 help", ANCHOR).range is None


def test_the_result_does_not_depend_on_the_locale_or_the_clock():
    # the anchor alone decides: the same question with two anchors a year apart
    a = parse_dates("What happened last month?", dt.date(2004, 7, 10)).range
    b = parse_dates("What happened last month?", dt.date(2005, 7, 10)).range
    assert (a.date_from, b.date_from) == ("2004-06-01", "2005-06-01")

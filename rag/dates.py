"""Dates in a question become a publication-date filter: "What happened with Yukos in December 2004?"
-> DateRange("2004-12-01", "2004-12-31", "December 2004") and the text "What happened with Yukos?".

A small table-driven regex parser, not dateparser. Measured 2026-11-24 on 2 cores against the 113 cases of
tests/test_dates.py (82 dates, 31 topics): dateparser 1.5.0 costs 0.4 s to import plus 0.3 s at its first
search and 25 MB, and 2.9 ms a question; this module 0.1 s (regex compilation) and 4 MB, 0.14 ms a question (on a
busy machine 16-26 ms against 0.7 ms).
`dateparser.search.search_dates`, scored generously (its first date merely has to fall inside the
expected range), got 65 of the 82 dates and left 8 of the 31 topics alone: it finds dates in "May I ask",
"the march on London", "Euro 2004" and "the 2005 budget", knows no "before"/"after"/"late 2004"/"in the
past 3 days", and returns single days where a question means a span. This parser gets all 113, but it
was written against those cases, so that figure shows coverage, not accuracy on unseen questions.
dateparser is not imported here.

What counts as a date (everything else stays in the question as a topic):
- a day: "12 April 2023", "12th of April 2023", "April 12, 2023", "2023-04-12", "on 12 April";
- a month with its year: "April 2023"; "early/mid/late 2005" (January-April / May-August /
  September-December), "late March 2005" (days 21-31);
- a bare year, a bare month or a quarter only after a preposition: in, on, during, throughout, since,
  before, after, until, till, by, up to, from, between ("in Q1 2005", "during the first quarter of
  2005"). Not after "of" or "for" ("the forecast for 2005", "the class of 2005" are topics). So "the 2005
  budget", "Euro 2004", "Windows 2000", "cut 2005 employees", "Q4 2004 profits" are topics, and so is
  any date right after a determiner or a possessive ("the March 2005 election", "its 2004 results");
- "may" and "march" in lower case count only after a preposition ("which firms may cut jobs"); a bare
  month followed by a capitalised word is a name ("by June Sarpong");
- relative to `anchor`: today, yesterday; this/last week, month, year (calendar periods; weeks run Monday
  to Sunday); "last March" (the most recent March before the anchor's month); "in the past/last N days,
  weeks, months, years" (the rolling window ending on the anchor). "Today" capitalised mid-sentence or
  after "the" is a name (the Today programme); "last year's profits" is a topic.
- a month or day without a year takes the most recent year in which it starts on or before the anchor;
  so does a span without years ("between March and May").
Spans: "between X and Y", "from X to Y", "X to Y <year>"; "in March and May 2005" becomes the smallest
span holding both (March to May 2005). "before X" ends the day before X starts, "after
X" starts the day after X ends, "since/from X" starts when X starts, "until/till/by/up to X" ends when X
ends. Only the first date expression is used; `relative` is True whenever the anchor decided the range.
"""
from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class DateRange:
    date_from: str  # ISO YYYY-MM-DD, "" when open
    date_to: str  # ISO, "" when open
    label: str  # for people: "April 2023", "before June 2004", "the week of 2005-03-21 to 2005-03-27"


@dataclass(frozen=True)
class ParsedDates:
    range: DateRange | None
    text: str  # the question without the date expression, for matching
    matched: str  # the expression as written, "" when none
    relative: bool  # the anchor decided the range ("last week", "in March")


# English names written out: calendar.month_name follows the process locale
MONTH_NAMES = ("January February March April May June July August September October November December").split()
MONTHS = {name.lower(): n for n, name in enumerate(MONTH_NAMES, 1)} | {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "sept": 9,
    "oct": 10, "nov": 11, "dec": 12}
_FULL = "|".join(MONTH_NAMES)
_NAME = ("",) + tuple(MONTH_NAMES)
_ABBR = "jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec"
NUMBERS = {w: n for n, w in enumerate("one two three four five six seven eight nine ten eleven twelve".split(), 1)}
ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "1st": 1, "2nd": 2, "3rd": 3, "4th": 4}
PARTS = {"early": (1, 4), "mid": (5, 8), "late": (9, 12)}  # the months of "early 2005", ...

# The pieces of a point in time. A year: 1900-2099, not part of a bigger number, a season ("2004-05") or a word.
_Y_END = r"(?:19|20)\d\d(?![\w/-]|[.,]\d)"
_Y = rf"(?<![\w£$€.,/-]){_Y_END}"
_MONTH = rf"(?:{_FULL}|(?:{_ABBR})\.?)(?!\w)"
_DAY = r"(?<!\d)(?:[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)?(?!\w)"
_WEEKDAY = r"(?:(?:mon|tues|wednes|thurs|fri|satur|sun)day,?\s+)?"
_PREP = r"in|on|during|throughout|since|before|after|until|till|by|up\s+to|from"

# Point forms, most specific first (a regex alternation takes the first that fits). `bare` forms need a
# preposition in front of them.
_POINTS = [
    ("iso", rf"(?<![\d-])(?P<y>(?:19|20)\d\d)-(?P<mo>0[1-9]|1[0-2])-(?P<d>[0-3]\d)(?![\d-])", False),
    ("dmy", rf"{_WEEKDAY}(?:the\s+)?(?P<d>{_DAY})(?:\s+of)?\s+(?P<m>{_MONTH}),?\s+(?P<y>{_Y})", False),
    ("mdy", rf"{_WEEKDAY}(?P<m>{_MONTH})\s+(?P<d>{_DAY}),?\s+(?P<y>{_Y})", False),
    ("quarter", rf"(?:(?:the\s+)?(?P<q>first|second|third|fourth|1st|2nd|3rd|4th)\s+quarter\s+(?:of\s+)?"
                rf"|q(?P<qn>[1-4])\s*)(?P<y>{_Y})", True),
    ("part", rf"(?P<part>early|mid|late)(?:\s+|-)(?:(?P<m>{_MONTH})\s+)?(?P<y>{_Y_END})", False),
    ("my", rf"(?P<m>{_MONTH}),?\s+(?:of\s+)?(?P<y>{_Y})", False),
    ("dm", rf"{_WEEKDAY}(?:the\s+)?(?P<d>{_DAY})(?:\s+of)?\s+(?P<m>{_MONTH})(?!,?\s+\d)", False),
    ("md", rf"{_WEEKDAY}(?P<m>{_MONTH})\s+(?P<d>{_DAY})(?!,?\s+\d)", False),
    ("y", _Y, True),
    ("m", rf"(?P<m>{_MONTH})(?!['’]s|\s+(?-i:[A-Z][a-z]))", True),  # "by June Sarpong", "May's" are names
]
_POINT_RES = [(kind, re.compile(rf"(?:{rx})\Z", re.I), bare) for kind, rx, bare in _POINTS]
_ANY_POINT = "|".join(f"(?:{rx})" for _, rx, _ in _POINTS)
_ANY_POINT = re.sub(r"\(\?P<\w+>", "(?:", _ANY_POINT)  # the outer patterns capture whole points only
_DATED_POINT = re.sub(r"\(\?P<\w+>", "(?:", "|".join(f"(?:{rx})" for _, rx, bare in _POINTS if not bare))

_SPAN = re.compile(
    rf"\b(?:(?P<prep>between|from|in|during|throughout)\s+)?(?P<a>{_ANY_POINT})\s*"
    rf"(?P<sep>\band\b|\bto\b|\buntil\b|\btill\b|\bthrough\b|-|–)\s*(?P<b>{_ANY_POINT})", re.I)
_WITH_PREP = re.compile(rf"\b(?P<prep>{_PREP})\s+(?:the\s+month\s+of\s+)?(?P<a>{_ANY_POINT})", re.I)
_ALONE = re.compile(rf"(?P<a>{_DATED_POINT})", re.I)
_UNIT = r"(?P<unit>day|week|month|year)s?"
_ROLLING = re.compile(rf"\b(?:(?:in|over|during|for|within)\s+)?the\s+(?:past|last|previous)\s+"
                      rf"(?:(?P<n>\d{{1,3}}|{'|'.join(NUMBERS)})\s+)?{_UNIT}\b(?!'s|’s|\s+of\b)", re.I)
_CALENDAR = re.compile(rf"\b(?:(?:in|during|over|earlier|so\s+far)\s+)?(?P<which>last|this|past|previous)\s+"
                       rf"(?:(?P<m>{_FULL})|{_UNIT})\b(?!'s|’s|\s+of\b)", re.I)
_DAYWORD = re.compile(r"\b(?P<word>today|yesterday)\b", re.I)
_DETERMINER = re.compile(r"\b(?:the|a|an|this|that|its|his|her|their|our|your)\s+\Z|['’]s\s+\Z", re.I)


@dataclass(frozen=True)
class _Period:
    start: dt.date
    end: dt.date
    label: str
    anchored: bool  # the year came from the anchor


def parse_dates(question: str, anchor: dt.date) -> ParsedDates:
    """The first date expression of `question` as a publication-date range; `anchor` resolves relative
    expressions and missing years (the engine passes the newest article date, or today)."""
    candidates = [c for finder in (_spans, _with_prep, _alone, _relative) for c in finder(question, anchor)]
    if not candidates:
        return ParsedDates(None, question, "", False)
    start, end, date_range, relative = min(candidates, key=lambda c: (c[0], -c[1]))
    return ParsedDates(date_range, _remove(question, start, end), question[start:end], relative)


# --- finders: each yields (start, end, DateRange, relative) for every expression of its kind -----------

def _spans(question: str, anchor: dt.date):
    for match in _SPAN.finditer(question):
        prep, sep = (match["prep"] or "").lower(), match["sep"].lower()
        if (sep == "and" and prep in ("", "from")) or _is_topic(question, match, "a"):
            continue  # "March and May 2005" with no preposition is a list, not a span
        a, b = _point(match["a"], anchor, True), _point(match["b"], anchor, True)
        if a is None or b is None or (not prep and b.anchored):
            continue  # "March to May" needs a year or a preposition
        relative = a.anchored and b.anchored
        try:
            a, b = _span_years(a, b)
        except ValueError:  # 29 February moved into a common year
            continue
        if b.end < a.start:
            continue
        yield match.start(), match.end(), DateRange(a.start.isoformat(), b.end.isoformat(),
                                                     _span_label(a.label, b.label)), relative


def _with_prep(question: str, anchor: dt.date):
    for match in _WITH_PREP.finditer(question):
        period = _point(match["a"], anchor, True)
        if period is None:
            continue
        prep = re.sub(r"\s+", " ", match["prep"].lower())
        yield match.start(), match.end(), _around(prep, period), period.anchored


def _alone(question: str, anchor: dt.date):
    for match in _ALONE.finditer(question):
        period = _point(match["a"], anchor, False)
        if period is None or _is_topic(question, match, "a"):
            continue
        yield match.start(), match.end(), DateRange(period.start.isoformat(), period.end.isoformat(),
                                                     period.label), period.anchored


def _relative(question: str, anchor: dt.date):
    for match in _ROLLING.finditer(question):
        n = match["n"] or "1"
        n = int(n) if n.isdigit() else NUMBERS[n.lower()]
        unit = match["unit"].lower()
        if n < 1:
            continue
        start = _minus(anchor, n, unit) + dt.timedelta(days=1)
        label = f"the past {n} {unit}s" if n > 1 else f"the past {unit}"
        yield match.start(), match.end(), DateRange(start.isoformat(), anchor.isoformat(),
                                                     f"{label} ({_human_span(start, anchor)})"), True
    for match in _CALENDAR.finditer(question):
        period = _calendar(match, anchor)
        if period is not None:
            yield match.start(), match.end(), DateRange(period.start.isoformat(), period.end.isoformat(),
                                                         period.label), True
    for match in _DAYWORD.finditer(question):
        word = match["word"]
        mid_sentence = not re.fullmatch(r"\W*", question[:match.start()]) and word[0].isupper()
        if mid_sentence or re.search(r"\bthe\s+\Z", question[:match.start()], re.I):
            continue  # "the Today programme"
        day = anchor - dt.timedelta(days=1 if word.lower() == "yesterday" else 0)
        yield match.start(), match.end(), DateRange(day.isoformat(), day.isoformat(), _human(day)), True


# --- points --------------------------------------------------------------------------------------------

def _point(text: str, anchor: dt.date, after_prep: bool) -> _Period | None:
    """The period one point expression names, or None (not a date, or an impossible one)."""
    for kind, regex, bare in _POINT_RES:
        match = regex.match(text.strip())
        if not match:
            continue
        if bare and not after_prep:
            return None
        month_word = (match.groupdict().get("m") or "").rstrip(".")
        if month_word in ("may", "march") and not after_prep:
            return None  # a verb or a noun: "firms may 2005" is not a date
        try:
            return _BUILDERS[kind](match, anchor)
        except ValueError:  # 30 February, 29 February 2005
            return None
    return None


def _iso(m, anchor):
    day = dt.date(int(m["y"]), int(m["mo"]), int(m["d"]))
    return _Period(day, day, _human(day), False)


def _day(m, anchor):
    day = dt.date(int(m["y"]), _month(m["m"]), _day_number(m["d"]))
    return _Period(day, day, _human(day), False)


def _day_no_year(m, anchor):
    month, day = _month(m["m"]), _day_number(m["d"])
    if month == 2 and day == 29:
        year = next(y for y in range(anchor.year, anchor.year - 9, -1)
                    if calendar.isleap(y) and dt.date(y, 2, 29) <= anchor)
    else:
        dt.date(2000, month, day)  # raises for 31 April
        year = anchor.year if dt.date(anchor.year, month, day) <= anchor else anchor.year - 1
    date = dt.date(year, month, day)
    return _Period(date, date, _human(date), True)


def _quarter(m, anchor):
    q = int(m["qn"]) if m["qn"] else ORDINALS[m["q"].lower()]
    year = int(m["y"])
    return _Period(dt.date(year, 3 * q - 2, 1), _month_end(year, 3 * q), f"Q{q} {year}", False)


def _part(m, anchor):
    year, part = int(m["y"]), m["part"].lower()
    if m["m"]:  # early/mid/late March 2005: days 1-10, 11-20, 21-31
        month = _month(m["m"])
        first, last = {"early": (1, 10), "mid": (11, 20), "late": (21, 31)}[part]
        end = dt.date(year, month, last) if last < 28 else _month_end(year, month)
        return _Period(dt.date(year, month, first), end, f"{part} {_NAME[month]} {year}", False)
    first, last = PARTS[part]
    return _Period(dt.date(year, first, 1), _month_end(year, last), f"{part} {year}", False)


def _month_year(m, anchor):
    year, month = int(m["y"]), _month(m["m"])
    return _Period(dt.date(year, month, 1), _month_end(year, month), f"{_NAME[month]} {year}",
                   False)


def _year(m, anchor):
    year = int(m.group(0))
    return _Period(dt.date(year, 1, 1), dt.date(year, 12, 31), str(year), False)


def _month_only(m, anchor):
    month = _month(m["m"])
    year = anchor.year if month <= anchor.month else anchor.year - 1
    return _Period(dt.date(year, month, 1), _month_end(year, month), f"{_NAME[month]} {year}",
                   True)


_BUILDERS = {"iso": _iso, "dmy": _day, "mdy": _day, "quarter": _quarter, "part": _part, "my": _month_year,
             "dm": _day_no_year, "md": _day_no_year, "y": _year, "m": _month_only}


def _around(prep: str, p: _Period) -> DateRange:
    """A preposition turns a period into a range: "before June 2004" ends on 31 May 2004."""
    if prep == "before":
        return DateRange("", (p.start - dt.timedelta(days=1)).isoformat(), f"before {p.label}")
    if prep == "after":
        return DateRange((p.end + dt.timedelta(days=1)).isoformat(), "", f"after {p.label}")
    if prep in ("since", "from"):
        return DateRange(p.start.isoformat(), "", f"since {p.label}")
    if prep in ("until", "till", "up to", "by"):
        return DateRange("", p.end.isoformat(), f"{'by' if prep == 'by' else 'until'} {p.label}")
    return DateRange(p.start.isoformat(), p.end.isoformat(), p.label)


def _span_years(a: _Period, b: _Period) -> tuple[_Period, _Period]:
    """Give a year to the side of a span that lacks one: "March to May 2005", "November to February 2005"
    (November 2004). With no year on either side, `a` already starts on or before the anchor."""
    in_order = (a.start.month, a.start.day) <= (b.end.month, b.end.day)
    if a.anchored and not b.anchored:
        return _with_year(a, b.end.year if in_order else b.end.year - 1), b
    if b.anchored:
        return a, _with_year(b, a.start.year if in_order else a.start.year + 1)
    return a, b


def _with_year(p: _Period, year: int) -> _Period:
    """The same day or month in another year (raises ValueError for 29 February in a common year)."""
    if p.start == p.end:
        day = p.start.replace(year=year)
        return _Period(day, day, _human(day), p.anchored)
    return _Period(dt.date(year, p.start.month, 1), _month_end(year, p.end.month),
                   f"{_NAME[p.start.month]} {year}", p.anchored)


def _span_label(a: str, b: str) -> str:
    year = re.search(r" (\d{4})$", b)
    if year and a.endswith(year.group(0)) and not re.fullmatch(r"\d{4}", a):
        a = a[:-5]
    return f"{a} to {b}"


# --- relative periods ----------------------------------------------------------------------------------

def _calendar(match, anchor: dt.date) -> _Period | None:
    which = match["which"].lower()
    if match["m"]:  # "last March": the most recent March before the anchor's month
        if which not in ("last", "previous"):
            return None
        month = _month(match["m"])
        year = anchor.year if month < anchor.month else anchor.year - 1
        return _Period(dt.date(year, month, 1), _month_end(year, month), f"{_NAME[month]} {year}",
                       True)
    unit = match["unit"].lower()
    back = 0 if which == "this" else 1
    if which == "past":  # "past week" (no "the"): the rolling window
        start = _minus(anchor, 1, unit) + dt.timedelta(days=1)
        return _Period(start, anchor, f"the past {unit} ({_human_span(start, anchor)})", True)
    if unit == "day":
        return None  # "last day" is not a date
    if unit == "week":
        monday = anchor - dt.timedelta(days=anchor.weekday() + 7 * back)
        sunday = monday + dt.timedelta(days=6)
        return _Period(monday, sunday, f"the week of {monday.isoformat()} to {sunday.isoformat()}", True)
    if unit == "month":
        year, month = (anchor.year, anchor.month) if not back else _previous_month(anchor.year, anchor.month)
        return _Period(dt.date(year, month, 1), _month_end(year, month), f"{_NAME[month]} {year}",
                       True)
    year = anchor.year - back
    return _Period(dt.date(year, 1, 1), dt.date(year, 12, 31), str(year), True)


def _minus(day: dt.date, n: int, unit: str) -> dt.date:
    if unit == "day":
        return day - dt.timedelta(days=n)
    if unit == "week":
        return day - dt.timedelta(weeks=n)
    months = n * (12 if unit == "year" else 1)
    total = day.year * 12 + day.month - 1 - months
    year, month = divmod(total, 12)
    return dt.date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def _previous_month(year: int, month: int) -> tuple[int, int]:
    return (year, month - 1) if month > 1 else (year - 1, 12)


# --- small helpers -------------------------------------------------------------------------------------

def _month(word: str) -> int:
    return MONTHS[word.rstrip(".").lower()]


def _day_number(text: str) -> int:
    return int(re.match(r"\d+", text).group(0))


def _month_end(year: int, month: int) -> dt.date:
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def _human(day: dt.date) -> str:
    return f"{day.day} {_NAME[day.month]} {day.year}"


def _human_span(start: dt.date, end: dt.date) -> str:
    if (start.year, start.month) == (end.year, end.month):
        return f"{start.day} to {_human(end)}"
    if start.year == end.year:
        return f"{start.day} {_NAME[start.month]} to {_human(end)}"
    return f"{_human(start)} to {_human(end)}"


def _is_topic(question: str, match, group: str) -> bool:
    """A date right after a determiner qualifies a noun: "the March 2005 election", "its 2005 results"."""
    return bool(_DETERMINER.search(question[:match.start(group)]))


def _remove(question: str, start: int, end: int) -> str:
    """The question without question[start:end], with spacing and punctuation tidied."""
    text = question[:start] + " " + question[end:]
    text = re.sub(r"\s*,\s*,\s*", " ", text)  # "Yukos, in 2004, sold" -> "Yukos sold"
    text = re.sub(r"\(\s*\)", "", text)
    text = re.sub(r"\s+", " ", text).strip()
    text = re.sub(r"\s+([?.!,;:)])", r"\1", text)
    text = re.sub(r",([?.!])", r"\1", text)
    text = re.sub(r"^[,;:]\s*", "", text).strip()
    if text and question[:1].isupper() and start == 0:
        text = text[0].upper() + text[1:]
    return text

"""Publication dates as ISO days (YYYY-MM-DD), from whatever a file holds: ISO strings, RFC 2822 (feeds,
e-mail), "12 April 2023", "April 12, 2023", 12/04/2023, Unix timestamps, date objects. "" when unknown.

The day is the one written in the value, not converted to UTC: "Wed, 12 Apr 2023 23:30 -0500" is the 12th
where it was published. Numeric days: 12.04.2023 is day.month.year (European); 04/12/2023 is month/day/year
unless the first number is above 12 (what dateparser also assumes). Relative dates ("yesterday", "3 hours
ago") are refused: a stored file has no "now" to count from.

Common shapes are parsed here by hand (microseconds). Only values with letters and a year that none of them
fit, such as "le 12 avril 2023", go to `dateparser`, imported on first need, limited to seven languages and
memoised. Guessing the language instead would cost most on the values it cannot read at all ("Spring
2005"), since it then tries every locale it knows: in docs/FORMATS.md, 7.8 ms against 107 ms per value.

Dates written in article text (header lines, bylines) are matched by `DATE`: `2023-04-12` (with an
optional ISO time), `2023/04/12`, `12 April 2023`, `April 12, 2023`, `Wed 12 Apr. 2023`, each with an
optional time such as `10:32 BST`. There numeric day/month forms (`04/12/2023`) are left out on purpose: in
running text they are ambiguous between US and European order, and a wrong date is worse than none.
"""
from __future__ import annotations

import datetime as dt
import email.utils
import functools
import re
import time

_ISO = re.compile(r"\s*(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?!\d)")
_NUMERIC = re.compile(r"\s*(\d{1,2})([/.])(\d{1,2})[/.](\d{4})(?!\d)")
_NEEDS_PARSER = re.compile(r"(?=.*[^\W\d_])(?=.*\b(1[89]|2[01])\d\d\b)")  # a letter and a year
_WRITTEN = ("%d %B %Y", "%d %b %Y", "%B %d %Y", "%b %d %Y", "%A %d %B %Y", "%a %d %b %Y", "%A %B %d %Y")
_NOISE = re.compile(r"[,.]|(?<=\d)(st|nd|rd|th)\b")
_PLAUSIBLE = range(1800, 2200)
_LANGUAGES = ["en", "fr", "de", "es", "it", "pt", "nl"]
_dateparser = None

_MONTHS = {name: number for number, names in enumerate((
    ("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"), ("may",), ("jun", "june"),
    ("jul", "july"), ("aug", "august"), ("sep", "sept", "september"), ("oct", "october"),
    ("nov", "november"), ("dec", "december")), start=1) for name in names}
_MONTH = r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?" \
         r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
_WEEKDAY = r"(?:(?:mon|tue|tues|wed|wednes|thu|thur|thurs|fri|sat|satur|sun)(?:day)?\.?,?\s+)?"
CLOCK = r"\d{1,2}[:.]\d{2}(?::\d{2})?(?:\s*[ap]\.?m\.?)?(?:\s*(?-i:[A-Z]{2,5})(?:[+-]\d{1,2}(?::?\d{2})?)?)?"
_TIME = rf"(?:(?:,|\s+at|\s*[|·\u2022-])?\s*{CLOCK})?"
_DAY = r"(?:[0-2]?\d|3[01])(?:st|nd|rd|th)?"
DATE = re.compile(
    rf"{_WEEKDAY}(?:"
    r"(?P<iy>\d{4})-(?P<im>[01]?\d)-(?P<id>[0-3]?\d)"
    r"(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:\s*(?:Z|[+-]\d{1,2}(?::?\d{2})?))?)?(?!\d)"
    r"|(?P<sy>\d{4})/(?P<sm>[01]?\d)/(?P<sd>[0-3]?\d)(?!\d)"
    rf"|(?P<dd>{_DAY})\s+(?:of\s+)?(?P<dm>{_MONTH}),?\s+(?P<dy>\d{{4}})(?!\d)"
    rf"|(?P<mm>{_MONTH})\s+(?P<md>{_DAY}),?\s+(?P<my>\d{{4}})(?!\d)"
    rf"){_TIME}",
    re.I)


def match_iso(match: re.Match) -> str:
    """The ISO date of a `DATE` match, or "" when it names no real day (2023-02-30)."""
    g = match.groupdict()
    for y, m, d in (("iy", "im", "id"), ("sy", "sm", "sd"), ("dy", "dm", "dd"), ("my", "mm", "md")):
        if g[y]:
            month = g[m] if g[m].isdigit() else _MONTHS[g[m].rstrip(".").lower()]
            return _iso(int(g[y]), int(month), int(re.match(r"\d+", g[d]).group(0)))
    return ""


def parse_date(text: str) -> str:
    """The ISO date that `text` consists of (surrounding spaces and punctuation aside), else ""."""
    match = DATE.fullmatch(str(text).strip().strip(",.;|"))
    return match_iso(match) if match else ""


def iso_date(value: object) -> str:
    """A date object, an ISO date-time string (as in HTML metadata) or a written date -> ISO, else ""."""
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()[:10]
    match = DATE.match(str(value or "").strip())
    return match_iso(match) if match else iso_day(value)


def _iso(year: int, month: int, day: int) -> str:
    try:
        return dt.date(year, month, day).isoformat()
    except ValueError:
        return ""


# Values from structured fields (front matter, feeds, JSON/CSV exports): any common shape.


def iso_day(value: object) -> str:
    """The ISO day of `value`, or "" when it holds no plausible absolute date."""
    if value is None or value == "" or isinstance(value, bool):
        return ""
    if isinstance(value, (dt.date, dt.datetime)):
        return _day(value.year, value.month, value.day)
    if isinstance(value, time.struct_time):
        return _day(value.tm_year, value.tm_mon, value.tm_mday)
    if isinstance(value, (int, float)):
        return _from_timestamp(value)
    text = " ".join(str(value).split())[:100]
    if not text:
        return ""
    if match := _ISO.match(text):
        return _day(*map(int, match.groups()))
    if match := _NUMERIC.match(text):
        first, sep, second, year = match.groups()
        day, month = (first, second) if sep == "." or int(first) > 12 else (second, first)
        return _day(int(year), int(month), int(day))
    if text.isdigit() and len(text) in (10, 13):  # Unix seconds or milliseconds, as a string
        return _from_timestamp(int(text))
    if parsed := email.utils.parsedate_tz(text):  # RFC 2822: "Wed, 12 Apr 2023 10:00:00 GMT"
        return _day(*parsed[:3])
    cleaned = _NOISE.sub("", text)
    for pattern in _WRITTEN:
        try:
            return iso_day(dt.datetime.strptime(cleaned, pattern))
        except ValueError:
            continue
    return _with_dateparser(text) if _NEEDS_PARSER.match(text) else ""


def _day(year: int, month: int, day: int) -> str:
    try:
        return dt.date(year, month, day).isoformat() if year in _PLAUSIBLE else ""
    except ValueError:
        return ""


def _from_timestamp(value: float) -> str:
    seconds = value / 1000 if value > 10**11 else value  # milliseconds since 1970 are common in JSON exports
    try:
        return iso_day(dt.datetime.fromtimestamp(seconds, dt.timezone.utc))
    except (OverflowError, OSError, ValueError):
        return ""


@functools.lru_cache(maxsize=4096)
def _with_dateparser(text: str) -> str:
    global _dateparser
    if _dateparser is None:
        import dateparser

        _dateparser = dateparser
    try:
        parsed = _dateparser.parse(text, languages=_LANGUAGES, settings={"PARSERS": ["custom-formats", "absolute-time"],
                                                   "REQUIRE_PARTS": ["day", "month", "year"]})
    except Exception:  # dateparser raises assorted errors on odd input; an odd date is just unknown
        return ""
    return iso_day(parsed) if parsed else ""

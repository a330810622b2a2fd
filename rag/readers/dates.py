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

"""Publication dates as articles write them -> ISO dates (YYYY-MM-DD). Invalid dates give "".

`DATE` matches the forms news text uses: `2023-04-12` (with an optional ISO time), `2023/04/12`,
`12 April 2023`, `April 12, 2023`, `Wed 12 Apr. 2023`, each with an optional time such as `10:32 BST`.
Numeric day/month forms (`04/12/2023`) are left out on purpose: they are ambiguous between US and
European order, and a wrong date is worse than none.
"""
from __future__ import annotations

import datetime as dt
import re

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
    text = str(value or "").strip()
    match = DATE.match(text)
    return match_iso(match) if match else ""


def _iso(year: int, month: int, day: int) -> str:
    try:
        return dt.date(year, month, day).isoformat()
    except ValueError:
        return ""

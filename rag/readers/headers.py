"""Header lines at the top of an article's text -> title, date, author, source, url.

Plain text has no metadata fields, but articles carry it in their first lines: `date 2023-04-12`,
`Published: 12 April 2023`, `By Jane Doe, Reuters`, `Authored by NAME via SOURCE,`, `Source: X`, and
wire datelines such as `LONDON (Reuters) -` opening the first paragraph. `parse_header` reads those
lines into fields and finds the headline, so a header line never becomes the title. The text itself
is left as it is (the header lines are the article's own words; "who wrote it?" can quote them).

A line counts as a header only if it is made entirely of header fields (a date, a byline, a role,
`Source:`/`Author:`/`Title:`/`URL:` fields, a reading time), each anchored on a keyword or a date
and a capitalised name. So "By the end of 2005, ..." or "Source code is ..." are not headers.
Used by the text and Markdown readers, and by any reader of extracted text (HTML, PDF, DOCX).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from ..text import sentence_spans
from .dates import CLOCK as _CLOCK, DATE, match_iso

HEADLINE_MAX_CHARS = 120  # the seed headline is 102 characters, BBC's longest 52; the seed lede 151
LEDE_TITLE_CHARS = 100
MAX_TOP_LINES = 10  # header lines and the headline are among the first few lines
MAX_HEADER_LINE = 200

_WORD = r"[A-Z\u00C0-\u00DE][\w'\u2019.-]*"
_PARTICLE = r"(?:de|da|di|del|der|den|van|von|la|le|bin|al|el|dos|du|ter)"
_NAME = rf"{_WORD}(?:\s+(?:{_PARTICLE}\s+)*{_WORD}){{0,4}}"
_ROLE_WORD = r"(?:correspondent|editor|reporter|writer|columnist|contributor|journalist|analyst|staff)"
_ROLE = rf"(?i:(?:[a-z&-]+\s+){{0,3}}{_ROLE_WORD})"
# Names and publications are case-sensitive inside the case-insensitive field patterns: "by the end"
# is no byline. After a comma, a role ("Technology correspondent") is not a further name.
_NAMES = rf"(?-i:{_NAME}(?:(?:\s*,\s*(?!{_ROLE}\b)|\s+(?:and|&)\s+){_NAME})*)"
_SOURCE = rf"(?:the\s+)?(?-i:[A-Z0-9][\w&.'\u2019-]*(?:\s+(?:of\s+|&\s+)?[A-Z0-9&][\w&.'\u2019-]*){{0,5}})"
_DATE_KEYWORD = (r"(?P<kw>date|dated|published|first\s+published|publication\s+date|posted|updated|"
                 r"last\s+updated|modified|last\s+modified)")
# Each field is tried at the current position of a line; a header line is a run of fields.
_FIELDS = [
    ("date", re.compile(rf"(?:{_DATE_KEYWORD}(?:\s+on)?\s*[:\-\u2013\u2014]?\s*)?(?:{_CLOCK},?\s*)?"
                        rf"(?P<date>{DATE.pattern})", re.I)),
    # a date keyword with a value we do not read as a date: "Updated: 3 hours ago", "Posted 12/04/2023"
    ("keyword", re.compile(rf"{_DATE_KEYWORD}(?:\s*:\s*[^|\u2022\u00b7]{{1,60}}$|\s+[\d/.: -]+\d(?:\s*[ap]m)?)",
                           re.I)),
    ("byline", re.compile(rf"(?:(?:authored|written|reported|words|story|text)\s+)?by\s*:?\s+(?P<names>{_NAMES})"
                          rf"(?:\s*(?:,|\||\s[-\u2013\u2014]|\bfor\b|\bvia\b|\bof\b|\bat\b)\s*"
                          rf"(?:(?P<role>{_ROLE})|(?P<source>{_SOURCE})))?", re.I)),
    ("author", re.compile(rf"(?:author|authors|writer|reporter|byline)\s*:\s*(?P<names>{_NAMES})", re.I)),
    ("source", re.compile(r"(?:source|publisher|publication)\s*:\s*(?P<source>\w[^|\u2022\u00b7,;]{0,79}?)"
                          r"(?=\s*(?:[|\u2022\u00b7,;]|$))", re.I)),
    ("title", re.compile(r"(?:title|headline)\s*:\s*(?P<title>\S.{0,299})$", re.I)),
    ("url", re.compile(r"(?:url|link|canonical)\s*:\s*(?P<url>https?://\S{1,500})", re.I)),
    ("role", re.compile(_ROLE, re.I)),
    ("reading", re.compile(r"\d{1,3}\s*-?\s*min(?:ute)?s?\.?\s+read", re.I)),
]
_SEPARATOR = re.compile(r"\s*(?:[|\u2022\u00b7,;]|\s[-\u2013\u2014]\s)?\s*")
_AGENCIES = frozenset(s.lower() for s in (
    "Reuters", "AP", "Associated Press", "The Associated Press", "AFP", "Agence France-Presse", "Bloomberg",
    "Bloomberg News", "PA", "PA Media", "Press Association", "UPI", "dpa", "Xinhua", "Kyodo", "ANSA", "EFE",
    "CNN", "BBC", "BBC News"))
_PUBLICATION_WORDS = frozenset("news press times post journal media agency telegraph herald daily magazine "
                               "network tribune gazette wire review guardian observer".split())
_DATELINE = re.compile(
    r"(?:[A-Z][A-Z.'\u2019-]+(?:[ /-][A-Z][A-Z.'\u2019-]+){0,3}"  # LONDON, NEW YORK, SAN FRANCISCO/LONDON
    r"(?:,\s*(?:[A-Z][a-z]{2,8}\.?\s+\d{1,2}|[A-Z][a-z]+\.?))?\s*)?"  # , April 12 | , Calif.
    r"\((?P<agency>[A-Z][\w.&' -]{0,38}[\w.])\)\s*[-\u2013\u2014]+\s*")
_MARKUP = re.compile(r"^[\s#>*_]+|[\s*_]+$")
_EMPHASIS = re.compile(r"\*+|(?<!\w)_+|_+(?!\w)")  # Markdown **bold** and _italic_ marks


@dataclass(frozen=True)
class Header:
    """What the top of an article says about it. `title` is "" only for a text with no words;
    `headline` says whether the title is the article's headline (else it was made from the lede);
    `body_start` is the offset where the body begins (after the headline and header lines)."""

    title: str
    date: str = ""
    author: str = ""
    source: str = ""
    url: str = ""
    headline: bool = False
    body_start: int = 0


def parse_header(text: str) -> Header:
    lines = _top_lines(text)
    fields: dict[str, str] = {}
    i = _skip_header_lines(lines, 0, fields)
    title, headline = fields.pop("title", ""), False
    if title:
        headline = True
    elif i < len(lines) and _is_headline(lines, i):
        title, headline = _MARKUP.sub("", lines[i][2]), True
        i = _skip_header_lines(lines, i + 1, fields)
    body_start = lines[i][0] if i < len(lines) else len(text)
    lede = text[body_start:body_start + 2000]
    if (dateline := _DATELINE.match(lede)) is not None:
        fields.setdefault("source", dateline.group("agency"))
        lede = lede[dateline.end():]
    if not title:
        title = _lede_title(lede) or (_MARKUP.sub("", lines[0][2]) if lines else "")
    date = fields.get("published") or fields.get("updated", "")
    return Header(title=title, date=date, author=fields.get("author", ""), source=fields.get("source", ""),
                  url=fields.get("url", ""), headline=headline, body_start=body_start)


def header_fields(line: str) -> dict[str, str] | None:
    """The fields of a header line, or None when `line` is not one (all of it must be fields)."""
    if len(line) > MAX_HEADER_LINE:
        return None
    line = _MARKUP.sub("", _EMPHASIS.sub("", line)).rstrip(",.;:|")
    if not line:
        return None
    found: dict[str, str] = {}
    pos = 0
    while pos < len(line):
        for kind, pattern in _FIELDS:
            match = pattern.match(line, pos)
            if match and match.end() > pos and _take(kind, match, found):
                pos = _SEPARATOR.match(line, match.end()).end()
                break
        else:
            return None
    return found


def _take(kind: str, match: re.Match, found: dict[str, str]) -> bool:
    """Record the field in `found`; False when the match is not really that field."""
    if kind == "date":
        iso = match_iso(match)
        if not iso:
            return False
        keyword = (match.group("kw") or "").lower()
        found.setdefault("updated" if "updated" in keyword or "modified" in keyword else "published", iso)
    elif kind in ("byline", "author"):
        names, source = _split_source(match.group("names"))
        found.setdefault("author", names)
        if source or (kind == "byline" and match.group("source")):
            found.setdefault("source", _clean_source(source or match.group("source")))
    elif kind in ("source", "title", "url"):
        found.setdefault(kind, _clean_source(match.group(kind)) if kind == "source" else match.group(kind))
    elif kind == "role":
        found.setdefault("role", match.group(0))
    return True


def _split_source(names: str) -> tuple[str, str]:
    """"Jane Doe, Reuters" -> ("Jane Doe", "Reuters"): the last of several comma-separated names is the
    publication when it is one word, an agency, a web address or a name such as "The Daily Post"."""
    head, sep, last = names.rpartition(",")
    last = last.strip()
    if not sep or not head.strip():
        return names, ""
    words = last.split()
    if (len(words) == 1 or last.lower() in _AGENCIES or words[0].lower() == "the" or "." in last
            or any(w.lower() in _PUBLICATION_WORDS for w in words)):
        return head.strip(), last
    return names, ""


def _clean_source(source: str) -> str:
    """Trailing punctuation off; "for the BBC" -> "BBC" (a capitalised "The" is part of the name)."""
    source = source.strip().rstrip(",.;:")
    return source[4:] if source.startswith("the ") else source


def _top_lines(text: str) -> list[tuple[int, int, str]]:
    """(start, end, text) of the first MAX_TOP_LINES lines with a letter or digit (not rules like ---)."""
    lines = []
    for match in re.finditer(r"[^\n]+", text):
        if any(ch.isalnum() for ch in match.group(0)):
            lines.append((match.start() + len(match.group(0)) - len(match.group(0).lstrip()), match.end(),
                          match.group(0).strip()))
            if len(lines) == MAX_TOP_LINES:
                break
    return lines


def _skip_header_lines(lines: list, i: int, fields: dict[str, str]) -> int:
    """Index of the first line after the header lines from line i on; their fields go to `fields`.
    A line that is only a role ("Technology correspondent") is a header only under a byline: alone,
    "Paper names new editor" is a headline."""
    while i < len(lines) and (found := header_fields(lines[i][2])) is not None:
        if set(found) == {"role"} and "author" not in fields:
            break
        for key, value in found.items():
            fields.setdefault(key, value)
        i += 1
    return i


def _is_headline(lines: list, i: int) -> bool:
    """A Markdown heading; or a short line of one sentence, not opening with a dateline, that is not
    the whole text (the headline of BBC files). A longer or multi-sentence line is the lede."""
    line = lines[i][2]
    if line.startswith("#"):
        return True
    text = _MARKUP.sub("", line)
    return (i + 1 < len(lines) and 0 < len(text) <= HEADLINE_MAX_CHARS and any(ch.isalnum() for ch in text)
            and not _DATELINE.match(text) and len(sentence_spans(text)) == 1)


def _lede_title(lede: str) -> str:
    """The first sentence, cut at a word boundary to about LEDE_TITLE_CHARS with an ellipsis."""
    spans = sentence_spans(lede)
    if not spans:
        return ""
    sentence = _MARKUP.sub("", lede[spans[0][0]:spans[0][1]])
    if len(sentence) <= LEDE_TITLE_CHARS:
        return sentence
    cut = sentence[:LEDE_TITLE_CHARS + 1].rsplit(None, 1)[0] if " " in sentence[:LEDE_TITLE_CHARS] \
        else sentence[:LEDE_TITLE_CHARS]
    return cut.rstrip(",;:-\u2013\u2014 ") + "\u2026"

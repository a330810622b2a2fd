"""Saved web pages -> the article's main text, title, author, date, source (site name) and URL.

The main text comes from trafilatura, the field's standard main-content extractor: the page's whole
text (what BeautifulSoup's get_text gave before) keeps menus, cookie notices, related links and
footers, which then get indexed and cited as evidence. Measured on the extraction benchmark
(docs/EXTRACTION.md, `python -m bench.extraction`): boilerplate kept 0.75 -> 0.00 on the held-out
half with body kept 0.99, and 0.73 -> 0.11 on two layouts written after the choice; options chosen
on the tune half (OPTIONS below). Cost: ~9 ms CPU per page at BBC scale (get_text: ~4 ms).
Metadata comes from trafilatura (meta tags, JSON-LD, microdata, <title>, canonical link; site name ->
source); what it lacks is filled from header lines at the top of the text (`headers.parse_header`).

No page is silently lost: when trafilatura finds no main text, or much less than the page holds, or
the page is too big for it, the page's whole text (without scripts, styles, <nav> and <footer>) is
indexed instead, with a note saying so.
"""
from __future__ import annotations

import copy
import functools
import re
from typing import Any

import trafilatura
from lxml import etree
from lxml import html as lxml_html
from trafilatura.deduplication import LRUCache
from trafilatura.settings import use_config

from ..offline import NetworkBlocked
from . import boilerplate
from .common import BadFile, Record, decode
from .dates import iso_date
from .headers import Header, header_fields, parse_header
from .pagetext import markup_text, page_text

# Chosen on the tune half of the extraction benchmark (docs/EXTRACTION.md). "prune_boilerplate" is
# ours (boilerplate.py); the rest are trafilatura.bare_extraction's keyword arguments.
OPTIONS: dict[str, Any] = {"prune_boilerplate": True, "include_comments": False, "with_metadata": True}
# trafilatura costs ~0.25 ms per element on large flat pages (measured: 50,000 elements 18-35 s, an
# 800,000-element 10 MB page minutes). Typical news pages have 1,000-5,000; above the bound the whole
# text is used.
MAX_ELEMENTS = 20_000
# A short extraction (< FALLBACK_CHARS) holding less than FALLBACK_SHARE of the page's text means the
# article was missed (e.g. a bare <div> of text): the page's whole text is used instead.
FALLBACK_CHARS = 500
FALLBACK_SHARE = 0.5
FALLBACK_NOTE = "no main text found: the whole page text is indexed (menus and footers may be in it)"
TOO_BIG_NOTE = "page too large for main-text extraction ({:,} elements): the whole page text is indexed"
_BYLINE_XPATH = ('//body//*[starts-with(translate(normalize-space(.), "BY", "by"), "by ")]'
                 '[string-length(normalize-space(.)) < 120]')
BROKEN_NOTE = "markup too broken to parse: the page's text is indexed with its tags removed"


def read_html(raw: bytes, name: str) -> list[Record]:
    page, note = decode(raw)
    return [page_record(page, note)]


def page_record(page: str, note: str = "", options: dict[str, Any] | None = None) -> Record:
    """One saved page -> its Record: main text by trafilatura, else the page text. Raises BadFile."""
    options = OPTIONS if options is None else options
    tree = _parse(page)
    if tree is None:
        raise BadFile("no text")
    size = int(tree.xpath("count(//*)"))
    fits = size <= MAX_ELEMENTS
    main = _main_text(tree, options) if fits else ""
    if len(main) < FALLBACK_CHARS:
        whole, why = _fallback_text(tree, page, size)
        if len(main) < FALLBACK_SHARE * len(whole):
            main, note = whole, "; ".join(n for n in (note, why) if n)
    if not main:
        raise BadFile("no text")
    header = parse_header(main)
    meta = _metadata(tree, options.get("extensive_dates", False)) if fits and options.get("with_metadata") else None
    found = {key: " ".join(str(getattr(meta, key, "") or "").split())
             for key in ("title", "author", "date", "sitename", "url")}
    page_title = " ".join((tree.findtext(".//title") or "").split())
    return Record(title=_title(found["title"], header, page_title), text=main,
                  date=iso_date(found["date"]) or header.date,
                  author=_as_written(found["author"], tree, header) or (_author(tree) if fits else "")
                  or header.author,
                  source=found["sitename"] or header.source, url=found["url"] or header.url, note=note)


def _fallback_text(tree: lxml_html.HtmlElement, page: str, size: int) -> tuple[str, str]:
    """(the page's whole text, the note saying why it is used). When the parser lost most of the text
    (libxml2 drops what lies deeper than 256 levels or after </html>), the page's markup as text."""
    text = page_text(tree)
    if len(text) < 0.5 * len(raw := markup_text(page)):
        return raw, BROKEN_NOTE
    return text, FALLBACK_NOTE if size <= MAX_ELEMENTS else TOO_BIG_NOTE.format(size)


def _parse(page: str) -> lxml_html.HtmlElement | None:
    tree = trafilatura.load_html(page)  # handles encoding declarations and some broken markup
    if tree is not None:
        return tree
    try:  # trafilatura refuses text that does not look like HTML; lxml wraps it in <p>
        return lxml_html.document_fromstring(page)
    except (etree.ParserError, ValueError):  # an empty document, nothing to parse
        return None


def _main_text(tree: lxml_html.HtmlElement, options: dict[str, Any]) -> str:
    """trafilatura's main text ("" when it finds nothing or fails on hostile markup). Works on a copy:
    the caller's tree stays whole for the metadata and the fallback text."""
    options = dict(options)
    pruned = copy.deepcopy(tree)
    if options.pop("prune_boilerplate", False):
        boilerplate.prune(pruned)
    for key in ("with_metadata", "extensive_dates"):  # metadata is read from the whole page by _metadata
        options.pop(key, None)
    if "min_extracted_size" in options:
        options["config"] = _config(options.pop("min_extracted_size"))
    if options.get("deduplicate"):
        options["deduplicate"] = LRUCache(maxsize=1024)  # per page: the default cache spans calls
    try:
        document = trafilatura.bare_extraction(pruned, **options)
    except NetworkBlocked:  # the tests' guard: never hide a network access
        raise
    except Exception:  # noqa: BLE001  a failure on hostile markup means "nothing found"
        return ""
    return (document.text or "").strip() if document is not None else ""


@functools.lru_cache(maxsize=4)
def _config(min_extracted_size: int):
    """trafilatura's settings with its MIN_EXTRACTED_SIZE (250 by default: a shorter extraction is
    replaced by the page's whole text, menus included)."""
    config = use_config()
    config.set("DEFAULT", "MIN_EXTRACTED_SIZE", str(min_extracted_size))
    return config


def _metadata(tree: lxml_html.HtmlElement, extensive_dates: bool):
    """trafilatura's metadata of the whole page (not of the pruned copy: a byline is metadata).
    `extensive_dates` lets htmldate run dateparser over the page text in every locale: ~85% of the
    reading time when on (profiled), and no better on the benchmark (docs/EXTRACTION.md)."""
    try:
        return trafilatura.extract_metadata(copy.deepcopy(tree), extensive=extensive_dates)
    except NetworkBlocked:  # the tests' guard: never hide a network access
        raise
    except Exception:  # noqa: BLE001  a failure on hostile markup means "no metadata"
        return None


def _author(tree: lxml_html.HtmlElement) -> str:
    """Bylines trafilatura does not read: a microdata name given as <meta content>, a rel="author" link,
    a short element reading "By <name>" (headers.header_fields decides what is a byline)."""
    for path in ('//*[@itemprop="author"]//*[@itemprop="name"]/@content', '//a[@rel="author"]'):
        for hit in tree.xpath(path)[:1]:
            name = " ".join((hit if isinstance(hit, str) else hit.text_content()).split())
            if 0 < len(name) <= 100:
                return name
    for element in tree.xpath(_BYLINE_XPATH)[:5]:
        if (found := header_fields(element.text_content())) and found.get("author"):
            return found["author"]
    return ""


def _as_written(author: str, tree: lxml_html.HtmlElement, header: Header) -> str:
    """trafilatura drops the periods of initials ("A. Writer" -> "A Writer"): the page's own spelling
    of the same name (its author meta tag or byline line) when there is one."""
    spellings = tree.xpath('//meta[@name="author" or @property="article:author"]/@content') + [header.author]
    letters = re.sub(r"\W+", "", author)
    return next((" ".join(s.split()) for s in spellings if letters and re.sub(r"\W+", "", s) == letters), author)


def _title(found: str, header: Header, page_title: str) -> str:
    """trafilatura's title, unless it is the site-name half of a <title> like "Site - Headline" whose
    other half opens the text: then that headline (measured: the table-layout pages, which have no <h1>)."""
    if found and header.headline and header.title != found and header.title in page_title \
            and found in page_title:
        return header.title
    # no metadata (a page too large for extraction): the <title> before the lede's first sentence
    return found or page_title or header.title

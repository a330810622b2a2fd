"""Two kinds of page boilerplate that trafilatura lets through, removed from the parsed page first.

Measured on the extraction benchmark (docs/EXTRACTION.md, tune half): with trafilatura alone,
1. promos inside the article body -- a paragraph that is only a link ("Our Standards: ...", "Related:
   <a>Other story</a>"), a bare link between paragraphs ("Acquire Licensing Rights"), a "Read more:"
   line -- are kept as if they were prose;
2. a page laid out with a <table> (one cell of links, one of text) is read as a data table, so the
   menu cell and the footer row come out in one line with the article.
So: short blocks that are mostly link text or that start with a promo label are dropped, and layout
tables (a cell holding long text, or block elements) become <div>s that trafilatura can weigh.
Article prose is rarely mostly link text, so this keeps the body (body kept unchanged, see the report).
"""
from __future__ import annotations

import re

from lxml import html as lxml_html

SHORT_BLOCK = 200  # characters: a promo line, not a paragraph of prose
LINK_SHARE = 0.6
LAYOUT_CELL = 300  # characters of text in one cell: prose, not data
# a promo label with a colon ("Read more: ..."), or a short heading that is only a label ("Related stories");
# a sentence that merely begins with "Related" or "Recommended" is prose
_PROMO = re.compile(r"(?:read more|related|see also|also read|recommended|more on this|read next)\b"
                    r"(?:\s*:|(?:\s+\w+){0,2}\s*$)", re.I)
_BYLINE = re.compile(r"by\s", re.I)
_BLOCKS = ("p", "li", "h2", "h3", "h4", "h5", "h6", "dd")
_BLOCK_TAGS = frozenset(("p", "div", "table", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "article", "section",
                         "form", "blockquote"))
_CONTAINERS = frozenset(("div", "section", "article", "main", "td", "body", "aside"))


def prune(tree: lxml_html.HtmlElement) -> None:
    """Remove promo blocks and unwrap layout tables, in place."""
    for table in list(tree.iter("table")):
        if _is_layout_table(table):
            own = [e for e in table.iter("tbody", "thead", "tfoot", "tr", "td", "th") if _owner_table(e) is table]
            for element in [table, *own]:
                element.tag = "div"
    for element in [e for e in tree.iter(*_BLOCKS) if _is_promo(e)]:
        element.drop_tree()
    for link in [a for a in tree.iter("a") if _is_bare_link(a)]:
        link.drop_tree()


def _is_layout_table(table) -> bool:
    cells = [c for c in table.iter("td", "th") if _owner_table(c) is table]
    return any(len(c.text_content()) > LAYOUT_CELL or any(d.tag in _BLOCK_TAGS for d in c.iterdescendants())
               for c in cells)


def _owner_table(element):
    return next(element.iterancestors("table"), None)


def _is_promo(element) -> bool:
    text = " ".join(element.text_content().split())
    if not text or len(text) > SHORT_BLOCK:
        return False
    if _BYLINE.match(text):  # "By <a>Jane Doe</a>": mostly link text, but the article's own words
        return False
    if _PROMO.match(text):
        return True
    linked = sum(len(" ".join(a.text_content().split())) for a in element.iter("a"))
    return linked >= LINK_SHARE * len(text)


def _is_bare_link(link) -> bool:
    """A link standing alone in a container, between blocks: "Acquire Licensing Rights"."""
    parent = link.getparent()
    if parent is None or parent.tag not in _CONTAINERS:
        return False
    text = " ".join(link.text_content().split())
    before = (link.getprevious().tail if link.getprevious() is not None else parent.text) or ""
    return 0 < len(text) <= SHORT_BLOCK and not before.strip() and not (link.tail or "").strip()

"""Saved web pages: the page's text without scripts, styles and navigation; title, author and date
from its <head>."""
from __future__ import annotations

from bs4 import BeautifulSoup

from .common import BadFile, Record, decode
from .text import first_line, iso_date


def read_html(raw: bytes, name: str) -> list[Record]:
    text, note = decode(raw)
    soup = BeautifulSoup(text, "html.parser")
    for tag in soup(["script", "style", "noscript", "template", "nav", "footer"]):
        tag.decompose()
    meta: dict = {}
    if soup.title and soup.title.string:
        meta["title"] = soup.title.string.strip()
    for key, names in (("date", ("article:published_time", "date", "pubdate", "dc.date")),
                       ("author", ("author", "article:author", "dc.creator"))):
        for tag in soup.find_all("meta"):
            if (tag.get("name") or tag.get("property") or "").lower() in names and tag.get("content"):
                meta[key] = tag["content"]
                break
    if "date" not in meta and (time := soup.find("time")) and time.get("datetime"):
        meta["date"] = time["datetime"]
    if soup.head:
        soup.head.decompose()  # its title and meta are read above; its text is not the article
    body_node = soup.body or soup
    lines = (line.strip() for line in body_node.get_text("\n").splitlines())
    body = "\n".join(line for line in lines if line).strip()
    if not body:
        raise BadFile("no text")
    return [Record(title=meta.get("title") or first_line(body), text=body, date=iso_date(meta.get("date")),
                   author=str(meta.get("author") or ""), note=note)]

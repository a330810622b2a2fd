"""Plain text and Markdown (with optional YAML front matter: title, author, date, source)."""
from __future__ import annotations

import datetime as dt
import re

import yaml

from .common import BadFile, Record, decode

_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*\r?\n", re.S)
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def read_plain(raw: bytes, name: str) -> list[Record]:
    body, note = decode(raw)
    body = body.strip()
    if not body:
        raise BadFile("no text")
    return [Record(title=first_line(body), text=body, note=note)]


def read_markdown(raw: bytes, name: str) -> list[Record]:
    text, note = decode(raw)
    meta, body, fm_note = _parse_front_matter(text)
    body = body.strip()
    if not body:
        raise BadFile("no text")
    return [Record(title=str(meta.get("title") or first_line(body)), text=body, date=iso_date(meta.get("date")),
                   author=str(meta.get("author") or ""), source=str(meta.get("source") or ""),
                   note="; ".join(n for n in (note, fm_note) if n))]


def _parse_front_matter(text: str) -> tuple[dict, str, str]:
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, text, ""
    try:
        meta = yaml.safe_load(match.group(1))
    except yaml.YAMLError:
        return {}, text[match.end():], "front matter is not valid YAML; ignored"
    if not isinstance(meta, dict):
        return {}, text[match.end():], "front matter is not a mapping; ignored"
    return meta, text[match.end():], ""


def first_line(body: str) -> str:
    line = next((ln for ln in body.splitlines() if ln.strip()), "")
    return line.strip().lstrip("#").strip() or "(untitled)"


def iso_date(value: object) -> str:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()[:10]
    match = _ISO_DATE.search(str(value or ""))
    return match.group(0) if match else ""

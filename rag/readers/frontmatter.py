"""YAML front matter of a Markdown file (title, author, source, date), read so that no file can hang
or crash the ingest.

Front matter is untrusted input. Measured before this module (issue #10): a 465-byte "billion laughs"
file (nested anchors `&a0 [x,...]`, `&a1 [*a0,...]`, ... `title: *a8`) passed `yaml.safe_load` and then
took 26 s and ~1 GB to turn into a title, each further level ~10x more; `date: 2023-02-30`, a
5,000-digit number or deep nesting raised ValueError/RecursionError that stopped the whole ingest.
So the block is capped at 16 KB; anchors and aliases are refused before anything is expanded; nesting
is capped; plain scalars stay text (only null is resolved), so a huge number is just a long string and
a date is checked only where it is used, with a message that names it; and any error at all becomes
`BadFile("front matter: ...")`, a skip of this one file that leaves the other files alone.
"""
from __future__ import annotations

import datetime as dt
import re

import yaml

from .common import BadFile
from .dates import parse_date

MAX_BYTES = 16_384
MAX_DEPTH = 8  # a mapping of lists of mappings is 3; nothing an article needs goes deeper
MAX_FIELD_CHARS = 300
FIELDS = ("title", "author", "source", "date")

_BLOCK = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n?---[ \t]*(?:\r?\n|\Z)", re.S)
_KEEP_TAGS = ("tag:yaml.org,2002:null",)


class _Refused(yaml.YAMLError):
    pass


class _Loader(yaml.SafeLoader):
    """SafeLoader that refuses anchors and aliases, nests at most MAX_DEPTH levels, and resolves plain
    scalars only to null (`title: 1984` stays "1984", `title: yes` stays "yes", a date stays text)."""

    yaml_implicit_resolvers = {first: [(tag, rx) for tag, rx in resolvers if tag in _KEEP_TAGS]
                               for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
    depth = 0

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise _Refused("anchors and aliases (&name, *name) are not allowed")
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise _Refused(f"nested deeper than {MAX_DEPTH} levels")
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def read_front_matter(text: str) -> tuple[dict[str, str], int, str]:
    """(fields, body_start, note). `fields` holds the non-empty title/author/source/date (date as ISO);
    `body_start` is where the text after the block begins (0 without front matter). A block that is
    not a mapping is no front matter: it stays in the body, with a note. Raises BadFile."""
    match = _BLOCK.match(text)
    if not match:
        return {}, 0, ""
    block = match.group(1)
    if len(block.encode("utf-8", "replace")) > MAX_BYTES:
        raise BadFile(f"front matter: larger than {MAX_BYTES // 1024} KB")
    try:
        meta = yaml.load(block, Loader=_Loader)  # noqa: S506 (a SafeLoader subclass)
    except Exception as err:  # untrusted input: whatever the parser raises is about this file
        raise BadFile(f"front matter: {_describe(err)}") from None
    if meta is None:
        return {}, match.end(), ""
    if not isinstance(meta, dict):
        return {}, 0, "front matter is not a mapping of fields; read as text"
    fields = {key: value for key in FIELDS if (value := _field(meta, key))}
    return fields, match.end(), ""


def _field(meta: dict, key: str) -> str:
    value = meta.get(key)
    if value is None:
        return ""
    if key == "date" and isinstance(value, dt.date):  # an explicit !!timestamp; datetime is a date too
        return value.isoformat()[:10]
    if not isinstance(value, str):
        raise BadFile(f"front matter: {key} must be text, not {_kind(value)}")
    value = " ".join(value.split())
    if len(value) > MAX_FIELD_CHARS:
        raise BadFile(f"front matter: {key} is longer than {MAX_FIELD_CHARS} characters ({len(value):,})")
    if key == "date" and value and not (value := parse_date(value)):
        raise BadFile(f"front matter: date {meta[key][:40]!r} is not a date (write it as YYYY-MM-DD)")
    return value


def _kind(value: object) -> str:
    return {dict: "a mapping", list: "a list", bool: "true/false", bytes: "binary data"}.get(
        type(value), f"a {type(value).__name__}")


def _describe(err: Exception) -> str:
    """One line: the parser's problem and where it is, not its multi-line report."""
    if isinstance(err, yaml.MarkedYAMLError) and err.problem:
        mark = err.problem_mark
        return f"not valid YAML ({err.problem}{f', line {mark.line + 1}' if mark else ''})"
    if isinstance(err, _Refused):
        return str(err)
    if isinstance(err, yaml.YAMLError):
        return f"not valid YAML ({' '.join(str(err).split())[:120]})"
    if isinstance(err, RecursionError):
        return "nested too deeply"
    return f"bad value ({type(err).__name__}: {' '.join(str(err).split())[:120]})"

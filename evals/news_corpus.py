"""The dated news corpus of the news-question evals, built from BBC News files in the shared folder.

`datasets/news_corpus.json` lists each article: the BBC file it comes from, its id (its path in the built
corpus), a publication date and an outlet. The BBC set (2004-2005) has no dates: stories that run over
several articles were dated by reading them (each entry says why), every other article by `rule_date`.
Syndicated entries republish a BBC file under another outlet's name with a new headline (and sometimes a
paragraph dropped). docs/NEWS_EVALS.md explains the choices; the files themselves are never copied into
the repository, only built from the shared folder into a cache.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from pathlib import Path

import yaml

CORPUS_FILE = Path(__file__).resolve().parent / "datasets" / "news_corpus.json"
SHARED_ROOT = Path(__file__).resolve().parents[2] / "shared"  # ROOT.parent / "shared"
FIRST_DAY = dt.date(2004, 1, 1)
DAYS = 731  # 2004-01-01 .. 2005-12-31


def rule_date(article_id: str) -> str:
    """The date of an article outside the dated stories: a day of 2004-2005 drawn from the SHA-256 of its
    id (hex digits 8-15), so it is stable and needs no list."""
    offset = int(hashlib.sha256(article_id.encode("utf-8")).hexdigest()[8:16], 16) % DAYS
    return (FIRST_DAY + dt.timedelta(days=offset)).isoformat()


def load_corpus(path: Path = CORPUS_FILE) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def build_corpus(shared_root: Path, target: Path, corpus_file: Path = CORPUS_FILE) -> Path:
    """Write every entry of the corpus file as Markdown with front matter into `target`. Files whose content
    is unchanged are not rewritten (so an index of `target` is reused), .md files no entry names are
    removed. Returns `target`."""
    shared_root, target = Path(shared_root), Path(target)
    if not (shared_root / "datasets" / "bbc-news").is_dir():
        raise FileNotFoundError(f"{shared_root / 'datasets' / 'bbc-news'} is absent: the news corpus is built "
                                "from the BBC News files of the shared folder (see docs/NEWS_EVALS.md)")
    entries = load_corpus(corpus_file)["articles"]
    wanted = set()
    for entry in entries:
        path = target / entry["id"]
        wanted.add(path)
        text = render(entry, shared_root)
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    for stale in set(target.rglob("*.md")) - wanted:
        stale.unlink()
    return target


def render(entry: dict, shared_root: Path) -> str:
    """One entry as Markdown: front matter (title, date when known, source), then the headline and the
    body paragraphs, so the article text holds its title as a BBC .txt file does."""
    source_file = shared_root / entry["path"]
    if not source_file.is_file():
        raise FileNotFoundError(f"{source_file} (named by {entry['id']}) is absent")
    headline, paragraphs = _paragraphs(source_file.read_text(encoding="utf-8"))
    headline = entry.get("headline", headline)
    if "drop_paragraph" in entry:
        del paragraphs[entry["drop_paragraph"]]
    meta = {"title": headline} | ({"date": entry["date"]} if entry["date"] else {}) | {"source": entry["source"]}
    front = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, width=1000)
    return f"---\n{front}---\n" + "\n\n".join([headline, *paragraphs]) + "\n"


def _paragraphs(text: str) -> tuple[str, list[str]]:
    """(headline, paragraphs) of a BBC file: the first line, then blocks separated by blank lines."""
    headline, _, body = text.strip().partition("\n")
    blocks = [" ".join(block.split()) for block in re.split(r"\n\s*\n", body)]
    return headline.strip(), [b for b in blocks if b]


def mentions(corpus: Path, term: str) -> list[str]:
    """Ids of the built articles whose title or text contains `term` as a whole word, any case: the
    definition of a count question's expected_count. Read with the engine's own Markdown reader."""
    from rag.readers.text import read_markdown

    pattern = re.compile(rf"(?<!\w){re.escape(term)}(?!\w)", re.I)
    found = []
    for path in sorted(Path(corpus).rglob("*.md")):
        record = read_markdown(path.read_bytes(), path.name)[0]
        if pattern.search(f"{record.title}\n{record.text}"):
            found.append(path.relative_to(corpus).as_posix())
    return found


def original_of(corpus: dict) -> dict[str, str]:
    """article id -> the id of the BBC article it copies (itself for originals): folds syndicated copies."""
    return {e["id"]: e.get("copy_of", e["id"]) for e in corpus["articles"]}

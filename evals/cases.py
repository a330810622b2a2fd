"""Eval datasets: JSONL cases -> validated, flattened question rows.

A case is one question, or a conversation (`turns`, asked through `Assistant.chat()`). Every question,
single or a turn, becomes one `Row`; a turn's id is `<case id>#t<n>` (n from 1).
The format is documented in docs/EVALS.md.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from .splits import PARTS, split_of

DATASETS_DIR = Path(__file__).resolve().parent / "datasets"
_QUESTION_KEYS = {"question", "reference", "key_facts", "reference_article_ids", "reference_contexts",
                  "expect_abstain", "accept_if_contains", "abstain_kind", "note", "gold_answers",
                  "class", "answer_type", "short", "about_article_ids", "split"}
_FIELD_OF_KEY = {"class": "question_class"}  # "class" is a Python keyword
CLASSES = ("factual", "quantity", "attribution", "near_miss", "out_of_corpus")
ANSWER_TYPES = ("money", "count", "percent", "date", "place", "person", "organisation", "other")
# news questions (docs/NEWS_EVALS.md)
_NEWS_KEYS = {"kind", "expected_article_ids", "expected_count", "expected_count_distinct", "term", "date_from",
              "date_to", "story"}
NEWS_KINDS = ("fact", "month", "latest", "earliest", "timeline", "count", "list", "sources", "summary",
              "no_articles")
_QUESTION_KEYS |= _NEWS_KEYS


class BadDataset(ValueError):
    """A dataset file that does not follow the format (the message names the line)."""


@dataclass
class Row:
    id: str
    question: str
    reference: str = ""
    key_facts: list[str] = field(default_factory=list)
    reference_article_ids: list[str] = field(default_factory=list)
    reference_contexts: list[str] = field(default_factory=list)
    expect_abstain: bool = False
    accept_if_contains: list[str] = field(default_factory=list)  # for near misses: these count as abstaining
    abstain_kind: str = ""  # near_miss | out_of_corpus (documentation only)
    note: str = ""
    gold_answers: list[str] = field(default_factory=list)  # SQuAD: any of these in the answer is correct
    question_class: str = ""  # key "class": one of CLASSES ("" when a dataset does not say)
    answer_type: str = ""  # answerable questions: what is asked for, one of ANSWER_TYPES
    short: str = ""  # the exact short answer span in the answering sentence
    about_article_ids: list[str] = field(default_factory=list)  # near misses: the articles naming the entity
    split: str = ""  # "tune" | "test"; filled by split_key() when the dataset does not give it
    case_id: str = ""
    turn: int = 0  # 0 for a single question, 1.. for the turns of a conversation
    # news questions (docs/NEWS_EVALS.md); empty for the other datasets
    kind: str = ""  # one of NEWS_KINDS
    expected_article_ids: list[str] = field(default_factory=list)  # timeline: in date order
    expected_count: int | None = None  # count: articles containing `term` as a whole word, copies included
    expected_count_distinct: int | None = None  # the same with syndicated copies folded into their original
    term: str = ""  # count and list questions
    date_from: str = ""  # the range the question's dates imply (ISO, inclusive)
    date_to: str = ""
    story: str = ""  # the multi-article story the question is about

    @property
    def answerable(self) -> bool:
        return not self.expect_abstain

    def split_key(self) -> str:
        """What evals/splits.py splits on: the story (news questions), else the first reference article,
        else the first article the near miss is about or the answer must cite, else the case id (so a
        conversation's turns stay together)."""
        return ([self.story] if self.story else self.reference_article_ids or self.about_article_ids
                or self.expected_article_ids or [self.case_id or self.id])[0]


@dataclass
class Case:
    id: str
    rows: list[Row]  # one row, or the turns of a conversation in order

    @property
    def multi_turn(self) -> bool:
        return self.rows[0].turn > 0


def _row(data: dict, row_id: str, case_id: str, turn: int, where: str) -> Row:
    unknown = set(data) - _QUESTION_KEYS - {"id", "turns"}
    if unknown:
        raise BadDataset(f"{where}: unknown keys {sorted(unknown)}")
    if not isinstance(data.get("question"), str) or not data["question"].strip():
        raise BadDataset(f"{where}: 'question' must be a non-empty string")
    row = Row(id=row_id, case_id=case_id, turn=turn,
              **{_FIELD_OF_KEY.get(k, k): v for k, v in data.items() if k in _QUESTION_KEYS})
    if row.question_class and row.question_class not in CLASSES:
        raise BadDataset(f"{where}: 'class' must be one of {list(CLASSES)}")
    if row.answer_type and row.answer_type not in ANSWER_TYPES:
        raise BadDataset(f"{where}: 'answer_type' must be one of {list(ANSWER_TYPES)}")
    if row.split and row.split not in PARTS:
        raise BadDataset(f"{where}: 'split' must be one of {list(PARTS)}")
    if not row.question_class and row.expect_abstain and row.abstain_kind in CLASSES:
        row.question_class = row.abstain_kind  # older datasets: near_miss / out_of_corpus
    row.split = row.split or split_of(row.split_key())
    if row.answerable and not (row.key_facts or row.gold_answers or row.expected_article_ids):
        raise BadDataset(f"{where}: an answerable question needs key_facts, gold_answers or "
                         "expected_article_ids")
    if row.answerable and row.key_facts and not row.reference_article_ids and row.kind != "no_articles":
        raise BadDataset(f"{where}: an answerable question needs reference_article_ids")
    _check_news(row, where)
    return row


def _check_news(row: Row, where: str) -> None:
    if row.kind and row.kind not in NEWS_KINDS:
        raise BadDataset(f"{where}: unknown kind {row.kind!r}")
    if row.kind == "count" and not (row.term and isinstance(row.expected_count, int)):
        raise BadDataset(f"{where}: a count question needs 'term' and an integer 'expected_count'")
    for value in (row.date_from, row.date_to):
        if value and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            raise BadDataset(f"{where}: dates are ISO (YYYY-MM-DD), not {value!r}")


def load_cases(path: Path) -> list[Case]:
    cases, seen = [], set()
    for lineno, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        where = f"{Path(path).name}:{lineno}"
        try:
            data = json.loads(line)
        except json.JSONDecodeError as err:
            raise BadDataset(f"{where}: not JSON ({err})") from None
        case_id = data.get("id")
        if not isinstance(case_id, str) or not case_id or case_id in seen:
            raise BadDataset(f"{where}: 'id' must be a unique non-empty string")
        seen.add(case_id)
        if "turns" in data:
            if set(data) - {"id", "turns", "note"} or not isinstance(data["turns"], list) or len(data["turns"]) < 2:
                raise BadDataset(f"{where}: a conversation has only 'id' and a list of >= 2 'turns'")
            rows = [_row(t, f"{case_id}#t{n}", case_id, n, f"{where} turn {n}")
                    for n, t in enumerate(data["turns"], 1)]
        else:
            rows = [_row(data, case_id, case_id, 0, where)]
        cases.append(Case(case_id, rows))
    if not cases:
        raise BadDataset(f"{path}: no cases")
    return cases


def check_against_corpus(cases: list[Case], articles: dict[str, str]) -> None:
    """Reference article ids must exist and reference passages must be verbatim article text:
    a dataset that drifted from its corpus would otherwise score silently wrong."""
    for case in cases:
        for row in case.rows:
            for article_id in row.reference_article_ids:
                if article_id not in articles:
                    raise BadDataset(f"{row.id}: reference article {article_id!r} is not in the corpus")
            for passage in row.reference_contexts:
                if not any(passage in text for text in articles.values()):
                    raise BadDataset(f"{row.id}: reference passage is not verbatim in any article: "
                                     f"{passage[:80]!r}")


def resolve_dataset(name_or_path: str) -> Path:
    candidate = Path(name_or_path)
    if candidate.suffix == ".jsonl" and candidate.is_file():
        return candidate
    named = DATASETS_DIR / f"{name_or_path}.jsonl"
    if named.is_file():
        return named
    known = sorted(p.stem for p in DATASETS_DIR.glob("*.jsonl"))
    raise BadDataset(f"unknown dataset {name_or_path!r}: use a .jsonl path, 'squad', or one of {known}")

"""Small text tools shared by the answerers: terms, sentence spans, IDF weights from the BM25 index."""
from __future__ import annotations

import math
import re

import Stemmer

TOKEN = re.compile(r"(?u)\b\w\w+\b")  # the same pattern the BM25 index uses
# The BM25 table's English stop words: bm25s' STOPWORDS_EN, which the index used before rag/lexical.py (a
# test checks the two lists are the same, so rankings stay comparable) ...
BM25_STOPWORDS = frozenset("""
    a an and are as at be but by for if in into is it no not of on or such that the their then there these
    they this to was will with
""".split())
# ... plus the words questions are made of: they carry no topic.
STOPWORDS = BM25_STOPWORDS | frozenset("""
    what which who whom whose when where why how many much did does do done doing has have had having
    was were is am are been being can could should would will shall may might must about after again
    all also any because before both during each few from further he her here hers him his i into its
    it's me more most my no nor only other our ours out over own same she so some than that them then
    there these they those through too under until up very we while with you your yours according
    said say says tell told whether exactly kind sort
""".split())
_stemmer = Stemmer.Stemmer("english")

_ABBREVIATIONS = {"mr", "mrs", "ms", "dr", "st", "inc", "corp", "co", "jr", "sr", "vs", "no", "u.s", "e.g",
                  "i.e", "etc", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov",
                  "dec", "gen", "gov", "sen", "rep", "prof", "mt", "ft"}
# A sentence ends at .!? (plus closing quotes) before a capital or digit, but not before a "[n]" marker.
# "Claim. [1] Next claim." ends after the marker: the marker belongs to the sentence before it.
_BOUNDARY = re.compile(r"(?<=[.!?])((?:[\"\u201d'\u2019)\]]|\s*\[\d+(?:\s*,\s*\d+)*\])*)\s+(?!\[\d)"
                       r"(?=[\"\u201c'\u2018(\[]?[A-Z0-9])|\s*\n\s*")


def bm25_terms(text: str) -> list[str]:
    """What the BM25 index matches: word stems with only BM25's stop words removed (a question's "how
    many" words are kept there, as bm25s kept them; they weigh little since most chunks have them)."""
    return _stemmer.stemWords([w for w in TOKEN.findall(text.lower()) if w not in BM25_STOPWORDS])


def terms(text: str) -> list[str]:
    """Content-word stems, in order (duplicates kept)."""
    words = [w for w in TOKEN.findall(text.lower()) if w not in STOPWORDS]
    return _stemmer.stemWords(words)


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence or line of `text`, whitespace trimmed. Stored sentence vectors are
    keyed by position in this list: change how it splits, and bump `chunking.CHUNKER_VERSION`."""
    spans, start = [], 0
    for match in _BOUNDARY.finditer(text):
        end = match.start() + len(match.group(1) or "")
        before = text[start:match.start()].rsplit(None, 1)[-1:] or [""]
        word = before[0].rstrip(".!?").lower()
        if "\n" not in match.group(0) and (
                word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha())):
            continue  # "Mr. Musk", "J. Smith": not the end of a sentence
        spans.append((start, end))
        start = match.end()
    spans.append((start, len(text)))
    out = []
    for lo, hi in spans:
        while lo < hi and text[lo].isspace():
            lo += 1
        while hi > lo and text[hi - 1].isspace():
            hi -= 1
        if hi > lo:
            out.append((lo, hi))
    return out


class Idf:
    """Inverse document frequency of stems, from the index's document frequencies (no second pass over
    the corpus). A stem the corpus never uses gets the highest weight: it is the most telling word of a
    question."""

    def __init__(self, df: dict[str, int] | None = None, n_docs: int = 1):
        self._df = df or {}
        self._n = max(1, n_docs)
        self.max = self._idf(0)

    def _idf(self, df: int) -> float:
        return math.log(1 + (self._n - df + 0.5) / (df + 0.5))

    def __call__(self, term: str) -> float:
        df = self._df.get(term)
        return self.max if df is None else self._idf(df)

    def known(self, term: str) -> bool:
        return term in self._df

"""News questions: what kind of question it is, and the answerers for the kinds that are not one fact.

Kinds (`detect`): "latest"/"earliest" (answer from the newest or oldest relevant article, saying its date),
"timeline" (one dated, cited line per relevant article, in date order), "count"/"list"/"sources" (over
the whole index, not the top k), "summary" (a few non-repeating sentences of one article or of the
coverage of a topic, every one cited). Everything else is a "fact" question for the extractive or LLM
answerer. Each kind is one small class with the `Answerer` shape; `Assistant` picks it by `Query.kind`.

Relevance of an article to a topic (latest, earliest, timeline, summaries, "articles about X"): among the
articles of the passages hybrid search ranks for the topic, those close in meaning to it and holding
enough of its words (`RELEVANT_DENSE`, `RELEVANT_COVERAGE`, chosen on the tune part of
evals/datasets/news_questions.jsonl). "The latest on X" prefers articles whose headline names X.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from .answering import AnswerGen, abstention
from .citations import neutralise
from .index import sentence_id
from .text import sentence_spans, terms
from .types import Answer, Citation, Passage, Query, Trace

POOL = 60  # passages searched for a topic's articles
# An article is relevant to a topic when its closest sentence has cosine >= RELEVANT_DENSE with the topic and
# it holds >= RELEVANT_COVERAGE of the topic's words (IDF-weighted). Chosen by a grid search on the 16 tune
# questions of evals/datasets/news_questions.jsonl (timeline, "articles about", coverage summaries: F1 of the
# article set; latest/earliest: the right article): a plateau at 0.908 for dense 0.40-0.50 with coverage
# 0.50 (coverage alone, 0.75, scored 0.431); the middle of it is used.
RELEVANT_DENSE = 0.45
RELEVANT_COVERAGE = 0.50
TIMELINE_MAX = 12  # lines in a timeline; longer stories show their first, last and most relevant
LIST_MAX = 20
MAX_LITERAL_WORDS = 3  # "mention X" counts X's words literally up to this length (or when quoted)
SUMMARY_SENTENCES = 3
SUMMARY_ARTICLES = 5  # articles whose ledes make a coverage summary
MMR_LAMBDA = 0.7  # relevance against novelty when picking summary sentences

_ITEMS = r"(?:news )?(?:articles?|stories|story|reports?|pieces?|items?|coverage)"
_TOPIC = r"(?P<topic>.+?)"
_END = r"\s*[?.!]*\s*$"
_PATTERNS: list[tuple[str, re.Pattern]] = [(kind, re.compile(pattern, re.I)) for kind, pattern in [
    ("count", rf"^how many {_ITEMS}(?:\s+\w+){{0,3}}?\s+(?P<verb>mention(?:ing)?|name|cite|refer to|talk about|"
              rf"discuss|cover|are about|report on|deal with|contain|include|feature)\s+{_TOPIC}{_END}"),
    ("sources", r"^(?:which|what|who are the)\s+(?:sources|outlets|publications|papers|newspapers|news "
                r"organi[sz]ations|news outlets|news agencies|agencies|media|websites|sites|publishers)\s+"
                rf"(?:have\s+|had\s+)?(?P<verb>reported|covered|carried|published|ran|wrote about|mentioned|reported on)"
                rf"\s+{_TOPIC}{_END}"),
    ("list", rf"^(?:which|what|list(?: the| all)?|show(?: me)?(?: the| all)?)\s+{_ITEMS}\s+(?P<verb>mention(?:ing)?|"
             rf"are about|is about|about|cover(?:ing)?|discuss(?:ing)?|talk about|report on|deal with|"
             rf"refer to|name|on)\s+{_TOPIC}{_END}"),
    ("latest", rf"^(?:what(?:'s| is| was)?|tell me|give me|show me)?\s*(?:is\s+)?(?:the\s+)?(?:very\s+)?"
               rf"(?:latest|most recent|newest|last)\s+(?:{_ITEMS}\s+|news\s+|update\s+|word\s+|development\s+)?"
               rf"(?:on|about|regarding|concerning|with|for|in|from)\s+{_TOPIC}(?:\s+say)?{_END}"),
    ("earliest", rf"^(?:what(?:'s| is| was| did)?|tell me|give me|show me)?\s*(?:is\s+)?(?:the\s+)?"
                 rf"(?:first|earliest|oldest)\s+(?:{_ITEMS}\s+|news\s+|mention\s+)?(?:on|about|regarding|"
                 rf"concerning|of|with|for)\s+{_TOPIC}(?:\s+say)?{_END}"),
    ("earliest", rf"^when (?:was|were|did)\s+{_TOPIC}\s+first\s+(?:reported|mentioned|covered|appear)\w*{_END}"),
    ("timeline", rf"^(?:give me |show me |what is |what's )?(?:a |the )?(?:timeline|chronology|history)\s+"
                 rf"(?:of|for)\s+{_TOPIC}{_END}"),
    ("timeline", rf"^how (?:did|has|have|had)\s+{_TOPIC}\s+(?:develop|developed|evolve|evolved|unfold|unfolded|"
                 rf"progress|progressed|change|changed|play out|played out)(?:\s+over time)?{_END}"),
    ("timeline", rf"^what (?:happened|has happened|went on)\s+(?:with|to|in|over)\s+{_TOPIC}\s+over time{_END}"),
    ("summary", r"^(?:what is|what's|what was)\s+(?:the\s+)?(?:article|story|report|piece)?\s*"
                r"[\"'\u201c\u2018](?P<title>.+)[\"'\u201d\u2019]\s+about" + _END),
    ("summary", r"^(?:summari[sz]e|sum up|give me a summary of)\s+(?:the\s+)?(?:article|story|report|piece)?\s*"
                r"[\"'\u201c\u2018](?P<title>.+)[\"'\u201d\u2019]" + _END),
    ("summary", rf"^(?:summari[sz]e|sum up|give me (?:a summary|an overview) of|overview of)\s+(?:the\s+)?"
                rf"(?:coverage|news|reporting|articles|stories)?\s*(?:of|on|about)?\s*{_TOPIC}{_END}"),
    ("summary", rf"^what do (?:the )?(?:articles|stories|reports) say about\s+{_TOPIC}{_END}"),
]]
_RANGE_TOPIC = re.compile(r"^what (?:happened|was reported|was said|were people saying|went on|was in the news|"
                          r"did the (?:articles|news|papers|press) say)\s+(?:to|with|about|in|on|at|for|regarding)\s+"
                          + _TOPIC + _END, re.I)
_RANGE_ONLY = re.compile(r"^(?:what|which stories|which news)\s+(?:happened|was reported|were reported|was "
                         r"in the news|made the news|was said|were the stories)\s*(?:then)?" + _END, re.I)
_LEAD = re.compile(r"^(?:the|a|an)\s+", re.I)


@dataclass(frozen=True)
class Kind:
    kind: str  # fact | latest | earliest | timeline | count | list | sources | summary
    topic: str = ""  # what the question is about ("the takeover battle for MCI")
    title: str = ""  # summary of one article: the title as quoted in the question
    literal: bool = False  # count/list: "mention X" looks for the words; "are about X" for relevance


def detect(text: str, has_range: bool = False) -> Kind:
    """The kind of a question (after its dates were taken out); "fact" when no pattern fits."""
    text = " ".join(text.split())
    if has_range and _RANGE_ONLY.match(text):
        return Kind("summary")  # "What happened in March 2005?": the coverage of that range
    if has_range and (match := _RANGE_TOPIC.match(text)):
        return Kind("summary", match["topic"].strip())  # "What happened to Fiat in 2004?": its coverage then
    for kind, pattern in _PATTERNS:
        match = pattern.match(text)
        if match:
            groups = match.groupdict()
            topic = (groups.get("topic") or "").strip(" \"'\u201c\u201d\u2018\u2019")
            verb = (groups.get("verb") or "").lower()
            literal = verb.startswith(("mention", "name", "cite", "refer", "contain", "include", "feature"))
            return Kind(kind, topic, (groups.get("title") or "").strip(), literal)
    return Kind("fact")


def literal(topic: str) -> str:
    """The phrase a count looks for: a quoted phrase as written, else the topic without a leading
    article ("the tsunami" -> "tsunami")."""
    quoted = re.search(r"[\"'\u201c\u2018](.+?)[\"'\u201d\u2019]", topic)
    return quoted.group(1) if quoted else _LEAD.sub("", topic).strip()


# ------------------------------------------------------------------------------------ shared steps
@dataclass
class Relevant:
    article_id: str
    passages: list[Passage]  # its passages among those retrieved for the topic, best first
    coverage: float  # IDF-weighted share of the topic's words in its title and those passages
    dense: float  # cosine of the topic with the article's closest stored sentence
    in_headline: bool  # its title holds one of the topic's words

    @property
    def date(self) -> str:
        return self.passages[0].date


class Topic:
    """Finds the articles relevant to a topic and their best sentences, from the index."""

    def __init__(self, assistant):
        self.assistant = assistant
        self.index = assistant.index

    def articles(self, query: Query, topic: str) -> list[Relevant]:
        """Every relevant article, in retrieval order: close in meaning to the topic (RELEVANT_DENSE) and
        holding enough of its words (RELEVANT_COVERAGE)."""
        vector = query.vector if topic == query.text and query.vector is not None \
            else self.index.embed_model.get_query_embedding(topic)
        pool = self.assistant.retriever.search(topic, POOL, query.filters, vector, fold=False)  # copies count
        idf = self.index.idf()
        # Words the corpus never uses cannot tell its articles apart (a paraphrase, or a word no article
        # has): they are left out rather than counted against every article.
        weight = {t: idf(t) for t in set(terms(topic)) if idf.known(t)}
        total = sum(weight.values()) or 1.0
        by_article: dict[str, list[Passage]] = {}
        for passage in pool:
            by_article.setdefault(passage.article_id, []).append(passage)
        query_vector = np.asarray(vector, dtype=np.float32)
        out = []
        for article_id, passages in by_article.items():
            title_terms = set(terms(passages[0].title))
            have = title_terms | set(terms(" ".join(p.text for p in passages)))
            coverage = sum(weight[t] for t in weight.keys() & have) / total if weight else 1.0
            ids = [sentence_id(p.id, j) for p in passages for j, _ in enumerate(sentence_spans(p.text))]
            stored = self.index.sentence_vectors(ids)
            dense = max((float(v @ query_vector) for v in stored.values()), default=0.0)
            if dense >= RELEVANT_DENSE and coverage >= RELEVANT_COVERAGE:
                out.append(Relevant(article_id, passages, coverage, dense, bool(weight.keys() & title_terms)))
        return out

    def about(self, query: Query, topic: str) -> list[Relevant]:
        """The relevant articles that are ABOUT the topic rather than mention it: those whose headline names
        it, when at least three do (a story told over several articles); else all relevant ones."""
        relevant = self.articles(query, topic)
        headlined = [r for r in relevant if r.in_headline]
        return headlined if len(headlined) >= 3 else relevant

    def lede(self, article_id: str, sentences: int = 2) -> list[tuple[Passage, int, int]]:
        """The first sentences of an article's body (after its headline): a news story's lede is written
        to say what the story is, so it answers "what is the latest on X" and makes the best summary line
        (on the tune part, key facts sat in the first two body sentences for 9 of 13 expected articles)."""
        out = []
        for passage in self.index.chunks_of([article_id]):
            for lo, hi in sentence_spans(passage.text):
                sentence = passage.text[lo:hi].strip()
                if len(sentence.split()) < 6 or sentence.strip("# ") == passage.title \
                        or any(passage.start + lo < q.start + qhi for q, _, qhi in out):
                    continue  # the headline, a dateline or byline, or a sentence the chunk overlap repeats
                out.append((passage, lo, hi))
                if len(out) == sentences:
                    return out
        return out

    def best_sentence(self, text: str, passages: list[Passage], vector: list[float] | None,
                      must_hold: re.Pattern | None = None) -> tuple[Passage, int, int] | None:
        """The sentence of `passages` closest to `text` (stored sentence vectors, plus shared words),
        optionally only among sentences that match `must_hold`."""
        wanted = set(terms(text))
        candidates = []
        for passage in passages:
            for j, (lo, hi) in enumerate(sentence_spans(passage.text)):
                sentence = passage.text[lo:hi]
                if len(sentence.split()) < 4 or sentence.strip("# ") == passage.title:
                    continue
                if must_hold is not None and not must_hold.search(sentence):
                    continue
                candidates.append((passage, lo, hi, sentence_id(passage.id, j), sentence))
        if not candidates and must_hold is not None:
            return self.best_sentence(text, passages, vector)
        if not candidates:
            return None
        stored = self.index.sentence_vectors([c[3] for c in candidates]) if vector is not None else {}
        query = np.asarray(vector, dtype=np.float32) if vector is not None else None

        def score(c) -> float:
            dense = float(stored[c[3]] @ query) if c[3] in stored else 0.0
            shared = len(wanted & set(terms(c[4]))) / (len(wanted) or 1)
            return 0.6 * dense + 0.4 * shared

        best = max(candidates, key=score)
        return best[0], best[1], best[2]


def dated_answer(query: Query, trace: Trace, lines: list[tuple[str, Passage, list[tuple[int, int]]]],
                 retrieved: list[Passage], head: str = "", tail: str = "", sep: str = "\n") -> Answer:
    """An answer made of lines "<prefix><quoted sentence(s)> [n]", one citation per passage."""
    citations: dict[str, Citation] = {}
    pieces = [head] if head else []
    for prefix, passage, spans in lines:
        citation = citations.get(passage.id)
        if citation is None:
            citation = citations[passage.id] = Citation(n=len(citations) + 1, passage=passage)
        for span in spans:
            if span not in citation.quote_spans:
                citation.quote_spans.append(span)
        quote = " ".join(neutralise(passage.text[lo:hi]) for lo, hi in spans)
        pieces.append(f"{prefix}{quote} [{citation.n}]")
    if tail:
        pieces.append(tail)
    for citation in citations.values():
        citation.quote_spans.sort()
    shown = list({p.id: p for p in [*(c.passage for c in citations.values()), *retrieved]}.values())
    return Answer(query.question, sep.join(pieces), False, list(citations.values()), shown, trace,
                  kind=query.kind, filters=query.filters)


def _merge(lines: list, quotes: list[tuple[Passage, int, int]]) -> list:
    """Attach quoted sentences to `lines` (prefix, passage, spans): consecutive quotes of one passage share a
    line, so an article's lede reads as one line with one [n]."""
    lines = [list(line) for line in lines]
    for passage, lo, hi in quotes:
        if lines and lines[-1][1].id == passage.id:
            lines[-1][2].append((lo, hi))
        else:
            lines.append(["", passage, [(lo, hi)]])
    return [tuple(line) for line in lines if line[2]]


def _label(passage: Passage) -> str:
    return ", ".join(x for x in (passage.date or "undated", passage.source) if x)


# ------------------------------------------------------------------------------------ answerers
class LatestAnswerer:
    """"What is the latest on X?": the newest (or, earliest=True, the oldest) relevant dated article."""

    def __init__(self, assistant, earliest: bool = False, llm=None):
        self.topic, self.earliest, self.llm = Topic(assistant), earliest, llm
        self.abstain_text = assistant.settings.abstain_text

    def answer(self, query: Query, passages: list[Passage], trace: Trace) -> AnswerGen:
        topic = query.topic or query.text
        dated = [r for r in self.topic.articles(query, topic) if r.date]
        headlined = [r for r in dated if r.in_headline]  # "the latest ON X": an article whose headline names X
        trace.details = {"relevant_dated_articles": len(dated), "about_it_by_headline": len(headlined),
                         "order": "oldest" if self.earliest else "newest"}
        if not dated:
            answer = abstention(query, passages, trace, self.abstain_text)
            yield answer.text
            return answer
        chosen = sorted(headlined or dated, key=lambda r: (r.date, r.article_id), reverse=not self.earliest)[0]
        lede = self.topic.lede(chosen.article_id) or [self.topic.best_sentence(topic, chosen.passages, query.vector)]
        first = lede[0][0]
        word = "first" if self.earliest else "most recent"
        lines = [(f"The {word} article on this ({_label(first)}, “{first.title}”): ", first, [])]
        answer = dated_answer(query, trace, _merge(lines, lede), passages, sep=" ")
        answer.short = first.date
        yield answer.text
        return answer


class TimelineAnswerer:
    """"How did X develop?": one dated, cited line per relevant article, in date order."""

    def __init__(self, assistant):
        self.topic = Topic(assistant)
        self.abstain_text = assistant.settings.abstain_text

    def answer(self, query: Query, passages: list[Passage], trace: Trace) -> AnswerGen:
        topic = query.topic or query.text
        relevant = self.topic.about(query, topic)
        dated = sorted((r for r in relevant if r.date), key=lambda r: (r.date, r.article_id))
        stories = self.topic.index.stories()
        first_copy: dict[str, Relevant] = {}  # one line per story: its first-published copy
        for r in dated:
            first_copy.setdefault(stories[r.article_id].canonical if r.article_id in stories else r.article_id, r)
        firsts = {id(r) for r in first_copy.values()}
        dated = [r for r in dated if id(r) in firsts]
        trace.details = {"relevant_articles": len(relevant), "dated": len(dated)}
        if not dated:
            answer = abstention(query, passages, trace, self.abstain_text)
            yield answer.text
            return answer
        shown = dated
        if len(dated) > TIMELINE_MAX:  # keep the first, the last and the most relevant in between
            middle = sorted(dated[1:-1], key=lambda r: -r.dense)[:TIMELINE_MAX - 2]
            shown = sorted([dated[0], *middle, dated[-1]], key=lambda r: (r.date, r.article_id))
        lines = []
        for r in shown:
            passage, lo, hi = self.topic.best_sentence(topic, r.passages, query.vector)
            passage.copies = self.topic.index.copies_of(passage.article_id)
            lines.append((f"{passage.date} ({passage.source or 'no source'}): ", passage, [(lo, hi)]))
        tail = f"({len(dated)} dated articles; {len(shown)} shown.)" if len(shown) < len(dated) else ""
        answer = dated_answer(query, trace, lines, passages, tail=tail)
        yield answer.text
        return answer


class CorpusAnswerer:
    """"How many articles mention X?", "Which articles mention X?", "Which sources reported X?": over the
    whole index (filters apply). A short topic is matched literally (whole words, any case); a longer one
    ("the dispute between Fiat and GM") by relevance, and the answer says which."""

    def __init__(self, assistant, kind: str):
        self.assistant, self.index, self.kind = assistant, assistant.index, kind
        self.topic = Topic(assistant)

    def matches(self, query: Query) -> tuple[list[str], dict[str, list[Passage]], str, bool]:
        """(article ids, their matching passages, how they were found, whether by the words themselves)."""
        topic = query.topic or query.text
        phrase = literal(topic)
        quoted = phrase != _LEAD.sub("", topic).strip()
        if query.literal and (quoted or 0 < len(phrase.split()) <= MAX_LITERAL_WORDS):
            hits = self.index.containing(phrase, query.filters)
            ids = list(dict.fromkeys(aid for _, aid in hits))
            found = {p.id: p for p in self.index.passages([cid for cid, _ in hits])}
            by_article: dict[str, list[Passage]] = {}
            for cid, aid in hits:
                if cid in found:
                    by_article.setdefault(aid, []).append(found[cid])
            where = f"among the articles from {query.date_label}" if query.date_label else \
                "among the articles you chose" if query.filters else "across the whole index"
            how = f"articles whose title or text contains “{phrase}” as whole words, any case, {where}"
            return ids, by_article, how, True
        relevant = self.topic.about(query, topic)
        how = f"articles about “{topic}”: close in meaning and holding most of its words, among the {POOL} " \
              "passages that match it best"
        return [r.article_id for r in relevant], {r.article_id: r.passages for r in relevant}, how, False

    def answer(self, query: Query, passages: list[Passage], trace: Trace) -> AnswerGen:
        ids, by_article, how, by_words = self.matches(query)
        catalogue = {a["article_id"]: a for a in self.index.articles()}
        ids.sort(key=lambda aid: (catalogue.get(aid, {}).get("date", ""), aid))
        trace.details = {"counted": how, "articles": len(ids)}
        topic = query.topic or query.text
        phrase = literal(topic)
        pattern = re.compile(r"(?<!\w)" + r"\s+".join(map(re.escape, phrase.split())) + r"(?!\w)", re.I) \
            if phrase else None
        lines = []
        for aid in ids:
            best = self.topic.best_sentence(topic, by_article[aid], query.vector, must_hold=pattern)
            if best:
                passage, lo, hi = best
                lines.append((passage, lo, hi))
        if self.kind == "count":
            answer = self._count(query, trace, ids, lines, passages, phrase if by_words else topic, how, by_words)
        elif self.kind == "sources":
            answer = self._sources(query, trace, lines, passages, how)
        else:
            answer = self._list(query, trace, lines, passages, how)
        yield answer.text
        return answer

    def _count(self, query, trace, ids, lines, passages, phrase, how, by_words) -> Answer:
        n = len(ids)
        noun = "article" if n == 1 else "articles"
        verb = ("mentions" if n == 1 else "mention") if by_words else ("is about" if n == 1 else "are about")
        head = f"{n} {noun} {verb} “{phrase}” (counted: {how})."
        if not lines:
            return Answer(query.question, head, False, [], passages, trace, kind=query.kind,
                          filters=query.filters, short=str(n))
        shown = lines[-5:]
        tail = f"(The {len(shown)} most recent are quoted.)" if len(lines) > len(shown) else ""
        answer = dated_answer(query, trace, [(f"{p.date or 'undated'}, {p.title}: ", p, [(lo, hi)])
                                             for p, lo, hi in shown], passages, head=head, tail=tail)
        answer.short = str(n)
        return answer

    def _list(self, query, trace, lines, passages, how) -> Answer:
        if not lines:
            return abstention(query, passages, trace, f"No article matches ({how}).")
        shown = lines[:LIST_MAX]
        head = f"{len(lines)} article{'s' if len(lines) != 1 else ''} ({how}):"
        tail = f"(and {len(lines) - len(shown)} more)" if len(lines) > len(shown) else ""
        return dated_answer(query, trace, [(f"{_label(p)}, “{p.title}”: ", p, [(lo, hi)]) for p, lo, hi in shown],
                            passages, head=head, tail=tail)

    def _sources(self, query, trace, lines, passages, how) -> Answer:
        if not lines:
            return abstention(query, passages, trace, self.assistant.settings.abstain_text)
        first: dict[str, tuple[Passage, int, int]] = {}
        count: dict[str, int] = {}
        for passage, lo, hi in lines:
            source = passage.source or "(no source given)"
            count[source] = count.get(source, 0) + 1
            first.setdefault(source, (passage, lo, hi))
        head = f"{len(first)} source{'s' if len(first) != 1 else ''} reported it ({how}):"
        return dated_answer(query, trace, [(f"{source} ({count[source]} article{'s' if count[source] != 1 else ''}, "
                                            f"first {p.date or 'undated'}): ", p, [(lo, hi)])
                                           for source, (p, lo, hi) in first.items()], passages, head=head)


class SummaryAnswerer:
    """"What is 'Title' about?" / "Summarise the coverage of X": a few sentences chosen by maximal marginal
    relevance (close to the article or topic, not close to each other), each cited, in text or date order."""

    def __init__(self, assistant):
        self.assistant, self.index = assistant, assistant.index
        self.topic = Topic(assistant)

    def answer(self, query: Query, passages: list[Passage], trace: Trace) -> AnswerGen:
        if query.title:  # one article: its lede, then the sentence of the rest that adds most
            article = self._by_title(query.title)
            trace.details = {"article": article["article_id"] if article else None}
            if article is not None:
                lede = self.topic.lede(article["article_id"])
                rest = [p for p in self.index.chunks_of([article["article_id"]])]
                extra = [item for item in self._mmr(rest, article["title"], avoid=lede) if item not in lede][:1]
                answer = dated_answer(query, trace, _merge([], lede + extra), passages, sep=" ")
                yield answer.text
                return answer
            picked = []
        elif query.topic:  # the coverage of a topic: the ledes of its most relevant articles, in date order
            relevant = sorted(self.topic.about(query, query.topic), key=lambda r: -r.dense)[:SUMMARY_ARTICLES]
            trace.details = {"articles": [r.article_id for r in relevant]}
            picked = [line for r in relevant for line in self.topic.lede(r.article_id, 1)]
        else:  # a date range alone: the ledes of the articles retrieval ranks best in it
            pool = self.assistant.retriever.search(query.text or "news", POOL, query.filters, query.vector)
            ids = list(dict.fromkeys(p.article_id for p in pool))[:SUMMARY_ARTICLES]
            trace.details = {"articles": ids}
            picked = [line for aid in ids for line in self.topic.lede(aid, 1)]
        if not picked:
            answer = abstention(query, passages, trace, self.assistant.settings.abstain_text)
            yield answer.text
            return answer
        picked.sort(key=lambda item: (item[0].date, item[0].article_id))
        answer = dated_answer(query, trace, [(f"{_label(p)}, “{p.title}”: ", p, [(lo, hi)]) for p, lo, hi in picked],
                              passages)
        yield answer.text
        return answer

    def _by_title(self, title: str) -> dict | None:
        wanted = " ".join(title.lower().split())
        rows = self.index.articles()
        exact = [a for a in rows if " ".join(a["title"].lower().split()) == wanted]
        if exact:
            return exact[0]
        close = [a for a in rows if wanted in a["title"].lower() or a["title"].lower() in wanted]
        return close[0] if close else None

    def _mmr(self, pool: list[Passage], focus: str, avoid=()) -> list[tuple[Passage, int, int]]:
        """Sentences close to the pool's centre (and `focus`) but not to each other or to `avoid`."""
        items, ids = [], []
        for passage in pool:
            for j, (lo, hi) in enumerate(sentence_spans(passage.text)):
                sentence = passage.text[lo:hi].strip()
                if len(sentence.split()) >= 8 and not sentence.endswith("?") and sentence.strip("# ") != passage.title:
                    items.append((passage, lo, hi))
                    ids.append(sentence_id(passage.id, j))
        if not items:
            return []
        stored = self.index.sentence_vectors(ids)
        vectors = np.stack([stored[i] if i in stored else np.zeros(len(next(iter(stored.values()))), np.float32)
                            for i in ids]) if stored else np.zeros((len(items), 1), np.float32)
        centre = vectors.mean(axis=0)
        if focus:
            centre = 0.5 * centre + 0.5 * np.asarray(self.index.embed_model.get_query_embedding(focus), np.float32)
        relevance = vectors @ centre
        chosen: list[int] = [i for i, item in enumerate(items) if item in avoid]
        while len(chosen) < min(SUMMARY_SENTENCES + len(avoid), len(items)):
            best, best_score = None, -1e9
            for i in range(len(items)):
                if i in chosen:
                    continue
                redundancy = max((float(vectors[i] @ vectors[j]) for j in chosen), default=0.0)
                score = MMR_LAMBDA * float(relevance[i]) - (1 - MMR_LAMBDA) * redundancy
                if score > best_score:
                    best, best_score = i, score
            chosen.append(best)
        return [items[i] for i in chosen if items[i] not in avoid]


def no_articles(query: Query, trace: Trace, label: str) -> Answer:
    """A date range that holds no article says so, rather than a silent abstention."""
    return Answer(query.question, f"No articles from {label}.", True, [], [], trace, kind="no_articles",
                  filters=query.filters)


class WithModel:
    """A news answer written by the language model: the extractive answerer picks and orders the items
    (articles, dated sentences); the model gets them as numbered passages with the task and the resolved
    date range, and its answer goes through the same citation checks. If the model fails, the
    extractive answer is given instead."""

    def __init__(self, extractive, llm_answerer, task: str):
        self.extractive, self.llm_answerer, self.task = extractive, llm_answerer, task

    def answer(self, query: Query, passages: list[Passage], trace: Trace) -> AnswerGen:
        drafting = self.extractive.answer(query, passages, trace)
        try:
            while True:
                next(drafting)
        except StopIteration as done:
            draft = done.value
        if draft.abstained or not draft.citations:
            yield draft.text
            return draft
        items = [c.passage for c in draft.citations]
        answer = yield from self.llm_answerer.answer(query, items, trace, task=self.task)
        return answer if answer is not None else draft

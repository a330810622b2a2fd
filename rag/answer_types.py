"""What a question asks for, and where a sentence has it: answer types and attribution, by patterns.

`asked(question)` reads the kind of answer a question wants: `money`, `count`, `percent`, `date`, `place`,
`person` or `organisation` (a set, since "How far did sales fall?" takes a percentage, an amount or a
count), and whether it asks who said, reported or wrote something (`attribution`).
`spans(text, kinds)` finds the pieces of a sentence that are of those kinds; `attributions(text)` finds who
a sentence attributes its content to ("according to X", "a report from X", "X reported", "X said",
"said X", "told X", "writing in X", "by X", "Authored by X via Y"). The extractive answerer uses them to
prefer (and to require, through its support score) a sentence that holds what is asked, and to pick the
short answer (`Answer.short`) out of the quoted sentence.

No NER model: the only offline English NER model on PyPI is a third-party re-upload of spaCy's
en_core_web_sm (inspected: self-contained, but of unverifiable provenance, it pulls spaCy and thinc into
the pinned install, and tagging ~50 candidate sentences per question would cost more than the whole
answer's 50 ms budget). Patterns instead, each one exercised by tests/test_answer_types.py:
  money    a currency sign or word with a number ("$1.8m", "£885m", "5.45m Euros", "tens of millions of dollars")
  percent  a number with %, per cent, percent or percentage points
  count    any other number, in digits or words ("10,000", "5.2 million", "two", "a dozen")
  date     days, months, years, weekdays, ISO dates, "last week"
  person   a title and a name ("Mr Ebbers", "Lord Currie"), or two to four capitalised words
  organisation  capitalised words ending in a suffix (Ltd, Inc, plc, Group, Bank, Party, FC, United,
           Association, ...), acronyms ("BNP", "IMF"), publications (Times, Post, News, Journal, ...), web sites
  place    capitalised words after in/at/from/near/outside ("in Chennai", "in the Gulf of Suez"), "X-based"
A name the question already contains is never an answer to it ("Who runs GlaxoSmithKline?" is not
answered by "GlaxoSmithKline").
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .text import terms

MONTHS = ("january|february|march|april|may|june|july|august|september|october|november|december|"
          "jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec")
WEEKDAYS = "monday|tuesday|wednesday|thursday|friday|saturday|sunday"
_NUMBER_WORDS = ("one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|"
                 "sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|"
                 "hundred|dozen|dozens|hundreds|thousands|millions|billions")
_MAGNITUDE = r"(?:m|bn|k|tn|million|billion|trillion|thousand)\b"
_NUM = r"\d+(?:[,.]\d+)*"
_QUALIFIER = (r"(?:(?:about|around|roughly|nearly|almost|some|approximately|over|under|up to|at least|"
              r"more than|less than|fewer than|close to|just over|just under|an estimated)\s+)?")
_CURRENCY_WORD = r"(?:dollars?|pounds?|euros?|yen|yuan|rupees?|francs?|pence|cents?|sterling)\b"
_MONEY = re.compile(
    rf"{_QUALIFIER}(?:(?:US|A|C|HK|NZ)?[$\u00a3\u20ac\u00a5]\s?{_NUM}(?:\s?{_MAGNITUDE})?"
    rf"|{_NUM}\s?(?:{_MAGNITUDE})?\s?{_CURRENCY_WORD}"
    rf"|{_NUM}p\b"
    rf"|(?:tens|hundreds) of (?:millions|billions|thousands) of {_CURRENCY_WORD})", re.I)
_PERCENT = re.compile(rf"{_QUALIFIER}{_NUM}\s?(?:%|per ?cent\b|percentage points?\b)", re.I)
_COUNT = re.compile(rf"{_QUALIFIER}(?:{_NUM}(?:\s?{_MAGNITUDE})?|\b(?:a |an )?(?:{_NUMBER_WORDS})\b"
                    rf"(?:[ -](?:{_NUMBER_WORDS})\b)*)", re.I)
_DATE = re.compile(
    rf"\b(?:\d{{4}}-\d{{2}}-\d{{2}}"
    rf"|\d{{1,2}}(?:st|nd|rd|th)? (?:{MONTHS})\b(?:,? \d{{4}})?"
    rf"|(?:{MONTHS})\b\.? \d{{1,2}}(?:st|nd|rd|th)?\b(?:,? \d{{4}})?"
    rf"|(?:(?:early|late|mid|end of|the end of) )?(?:{MONTHS})\b(?: \d{{4}})?"
    rf"|(?:{WEEKDAYS})\b"
    rf"|(?:in |since |by |until )?(?:1[89]\d\d|20\d\d)s?\b"
    rf"|(?:last|next|this) (?:week|month|year|season|weekend|spring|summer|autumn|winter)\b"
    rf"|yesterday|today|tomorrow)", re.I)
_DATE_WORD = re.compile(rf"^(?:{MONTHS}|{WEEKDAYS})$", re.I)

_CAP = r"[A-Z][\w'\u2019&.-]*"
_LINK = r"(?:of the|de|da|di|del|der|den|van|von|la|le|dal|bin|al|of|for|&)"
_NAME = rf"{_CAP}(?:\s+(?:{_LINK}\s+)*{_CAP}){{0,5}}"
NAME = re.compile(rf"(?<![\w'\u2019])(?:{_NAME})")
_TITLES = ("mr|mrs|ms|miss|dr|sir|lord|lady|dame|prof|professor|president|chancellor|minister|judge|"
           "coach|manager|chief|chairman|captain|director|governor|senator|general|rev|st")
_PERSON_TITLED = re.compile(rf"\b(?i:{_TITLES})\.?\s+(?P<name>{_CAP}(?:\s+(?:{_LINK}\s+)?{_CAP}){{0,3}})")
ORG_SUFFIXES = ("ltd|limited|inc|plc|corp|corporation|co|company|group|bank|party|fc|united|city|rovers|"
                "association|council|institute|university|college|commission|agency|authority|ministry|"
                "department|office|board|club|society|foundation|union|committee|airways|airlines|motors|"
                "holdings|industries|fund|trust|organisation|organization|federation|league|service|"
                "services|systems|technologies|labs|studios|records|pictures|entertainment|media|network|"
                "broadcasting|channel|programme|commission|court|parliament|assembly|police|army|navy|"
                "exchange|partners|capital|securities|insurance|energy|oil|telecom|communications")
PUBLICATIONS = ("times|post|journal|news|insider|telegraph|guardian|herald|mail|express|standard|observer|"
                "independent|mirror|sun|economist|reuters|bloomberg|gazette|tribune|chronicle|magazine|"
                "review|week|today|daily|figaro|monde|australian|wire|press|radio|tv|television|bbc|cnn|"
                "itv|sky")
_ORG_WORD = re.compile(rf"^(?:{ORG_SUFFIXES}|{PUBLICATIONS})\.?$", re.I)
_ACRONYM = re.compile(r"\b[A-Z][A-Z&]{1,6}s?\b")
_WEBSITE = re.compile(r"\b[A-Z][\w-]*\.(?:com|co\.uk|org|net|io)\b")
_PLACE = re.compile(rf"\b(?:in|at|from|near|outside|across|to|into)\s+(?P<place>(?:the\s+)?{_NAME})"
                    rf"|(?P<based>{_CAP})-based\b")

# "According to a Deloitte report", "A report from Business Insider", "the Financial Times reported",
# "said Sung Won Sohn", "David Myers told", "told Reuters", "Writing in the journal Nature", "by Alan Bennett"
_SRC = rf"(?P<src>(?:the\s+)?(?:(?:journal|newspaper|paper|magazine|website|site|agency)\s+)?{_NAME})"
_ATTRIBUTION = [re.compile(p) for p in [
    rf"\b(?i:according to) (?:a |an |the )?(?:(?:new |recent |latest )?(?:report|story|survey|study|poll|table) "
    rf"(?:from|by|in) )?{_SRC}",
    rf"\b(?:[Aa]|[Tt]he|[Aa]n) (?:new |recent |latest )?(?:report|story|survey|study|poll|table|article) "
    rf"(?:from|by|in|drawn up by|published by|compiled by) {_SRC}",
    rf"{_SRC}(?:'s?)? (?:newspaper |paper |magazine |website |agency )?"
    rf"(?:reported|reports|revealed|said|says|told|tells|wrote|writes|added|warned|claimed|announced|"
    rf"estimated|predicted|found|argued|insisted|explained|described|believes|thinks)\b",
    rf"\b(?:said|says|added|warned) (?:(?:[A-Z]\w+ )?[a-z][\w-]* ){{1,4}}{_SRC}",  # said race director Tom Weir
    rf"\b(?i:said|says|told|added|warned|according to|reported by|quoted by|drawn up by|published by|"
    rf"compiled by|written by|directed by|authored by|interviewed by|speaking to|talking to|writing in|"
    rf"published in|in an interview with) {_SRC}",
    rf"\b(?i:authored|written|reported|published) by {_SRC}(?: via (?P<via>{_CAP}))?",
    rf"\bby {_SRC}",
    rf"\bvia (?P<src>{_CAP})",
]]
_NOT_A_SOURCE = re.compile(rf"^(?:the |a |an )?(?:it|he|she|they|we|i|this|that|there|{MONTHS}|{WEEKDAYS}|"
                           r"mr|mrs|ms|dr|but|and|however|yet|so|also|in|on|at)$", re.I)

# what a question asks for: (pattern on the lower-cased question, kinds)
_ORG_NOUNS = (r"company|firm|business|newspaper|paper|site|website|outlet|publication|agency|news agency|"
              r"journal|bank|club|team|side|party|group|body|organi[sz]ation|network|channel|broadcaster|"
              r"magazine|merchant|retailer|carrier|airline|brand|label|studio|union|charity|council|"
              r"institution|regulator|watchdog|supplier|manufacturer|maker|carmaker|operator|publisher|"
              r"government|country|nation")
_PERSON_NOUNS = (r"person|man|woman|actor|actress|player|analyst|minister|official|witness|director|singer|"
                 r"star|chairman|chief|executive|boss|leader|manager|coach|athlete|runner|writer|author|"
                 r"economist|spokesman|spokeswoman|mp|politician|judge|lawyer|footballer|striker|"
                 r"goalkeeper|captain|engineers?|founder|president|secretary|chancellor|expert|journalist|"
                 r"editor|presenter|comedian|band|musician|rapper|artist|designer|scientist|researcher|"
                 r"chairwoman|head|owner|critic|winner|champion|members?|people")
_PLACE_NOUNS = r"city|country|town|state|place|region|county|venue|hospital|stadium|location|area|village|island|" \
               r"facility|data cent(?:er|re)|ground|course|street"
_CHANGE = r"(?:fall|fell|rise|rose|risen|gain|gained|drop|dropped|grow|grew|grown|increase|increased|decline|" \
          r"declined|jump|jumped|slump|slumped|climb|climbed|shrink|shrank|sink|sank|go up|go down|cut)"
_MONEY_WORDS = (r"cost|costs|pay|paid|price|spend|spent|worth|money|charge|charged|fund|invest|invested|earn|"
                r"earned|earning|profit|profits|revenue|revenues|sales|turnover|lose|lost|loss|losses|raise|"
                r"raised|bid|offer|salary|wage|fee|fine|budget|debt|deficit|value|valued|sell|sold|bought|"
                r"buy|contribut\w*|saving|savings|bonus|prize money|income|dividend|borrow\w*|owe\w*|"
                r"compensation|damages|award\w*")
_ASKS: list[tuple[re.Pattern, tuple[str, ...]]] = [(re.compile(p), kinds) for p, kinds in [
    (r"\b(?:what|which) (?:percentage|proportion|share|fraction|percent)\b|\bwhat share of\b|\bhow many "
     r"per ?cent\b|\bby what percentage\b", ("percent",)),
    (rf"\bhow (?:much|far|sharply|steeply) (?:\S+ ){{0,6}}{_CHANGE}\b", ("percent", "money", "count")),
    (rf"\bhow much (?:money|cash)\b|\bhow much\b.*\b(?:{_MONEY_WORDS})\b|\bwhat (?:is|was|will be|are|were)? ?"
     rf"(?:the )?(?:price|cost|value|fee|salary|bill|sum|amount of money)\b|\bat what price\b|\bfor how much\b"
     rf"|\bhow much (?:is|was|are|were|does|did|do|will)\b(?!.*\b(?:time|longer|weigh|heavier)\b)", ("money",)),
    (r"\b(?:how (?:many|much|large|big|long|old|often|far|tall|high|heavy|deep|wide|fast|cold|hot)|what "
     r"(?:number|amount|size|attendance|score|height|distance|age|speed|temperature)|how many times)\b",
     ("count",)),
    (rf"^(?:since |by |until )?when\b|\b(?:what|which) (?:year|date|day|month|time|season|decade)\b|"
     rf"\bon what (?:date|day)\b|\bsince when\b|\bby when\b|\bhow long ago\b|\bwhen (?:did|does|do|is|was|"
     rf"were|will|would|must|should|can|could|are|has|have)\b", ("date",)),
    (rf"^where\b|\bwhere (?:is|was|are|were|did|does|do|will|would|can)\b|\b(?:which|what|in which|in what|at "
     rf"which|from which|near which) (?:\w+ )?(?:{_PLACE_NOUNS})\b", ("place",)),
    (rf"\b(?:which|what) (?:\w+ )?(?:{_ORG_NOUNS})\b", ("organisation",)),
    (rf"\b(?:which|what) (?:\w+ )?(?:{_PERSON_NOUNS})\b|\bwho(?:m|se)?\b", ("person", "organisation")),
]]
_ATTRIBUTION_Q = re.compile(r"\b(?:according to|report(?:ed|s)?|said|say|says|told|tell|wrote|write|written|"
                            r"publish(?:ed)?|quoted|claim(?:ed|s)?|described|call(?:ed)?|announced|revealed|"
                            r"warned|drew up|drawn up|interview(?:ed)?|speak|spoke|source)\b", re.I)


_TYPE_NOUN = re.compile(rf"\b(?:which|what) (?:\w+ )?({_ORG_NOUNS}|{_PERSON_NOUNS}|{_PLACE_NOUNS})\b")


def type_nouns(question: str) -> list[str]:
    """The nouns that name the kind of answer asked for ("Which *organisation* published ...", "what
    *city*"): they say what the answer is, not what it is about, so the passages need not contain them."""
    return _TYPE_NOUN.findall(_lowered(question))


def _lowered(question: str) -> str:
    """The question as the question patterns read it: lower case, straight apostrophes, single spaces."""
    return " ".join(question.lower().replace("\u2019", "'").split())


@dataclass(frozen=True)
class Asked:
    kinds: tuple[str, ...] = ()  # what an answer must contain; () when the question does not say
    attribution: bool = False  # asks who said, reported, wrote or published something

    @property
    def names(self) -> bool:
        """Asks for a person, an organisation or a place (answered by a name)."""
        return bool(set(self.kinds) & {"person", "organisation", "place"})


def asked(question: str) -> Asked:
    q = _lowered(question)
    for pattern, kinds in _ASKS:
        if pattern.search(q):
            names = bool(set(kinds) & {"person", "organisation"})
            return Asked(kinds, attribution=names and bool(_ATTRIBUTION_Q.search(q)))
    return Asked()


Span = tuple[int, int]


_NOT_NEW = {"the", "a", "an", "of", "and", "mr", "mrs", "ms", "dr", "com", "co", "uk", "org", "net", "s"}


def _words(text: str) -> list[str]:
    """Lower-case words, hyphenated ones whole ("all-australian"), possessives dropped."""
    text = re.sub(r"['\u2019]s\b", "", text.replace("\u2019", "'"))
    return [w.strip("-") for w in re.findall(r"[\w-]+", text.lower()) if w.strip("-")]


def _known(question: str) -> set[str]:
    return set(_words(question))


def _new(text: str, span: Span, known: set[str]) -> bool:
    """A span that adds something: a word of it (not a title, article or web suffix) is not in the question."""
    return any(w not in known and w not in _NOT_NEW for w in _words(text[span[0]:span[1]]))


def _names(text: str) -> list[Span]:
    """Capitalised word sequences; a single word that starts the sentence is left out (it is just capitalised)."""
    out = []
    for m in NAME.finditer(text):
        lo, hi = m.start(), m.end()
        word = m.group(0).rstrip(".")
        hi = lo + len(word)
        if " " not in word and lo == len(text) - len(text.lstrip("\"'\u201c\u2018( ")):
            continue
        if _DATE_WORD.match(word) or not word:
            continue
        out.append((lo, hi))
    return out


def _person(text: str) -> list[Span]:
    out = [m.span("name") for m in _PERSON_TITLED.finditer(text)]
    for lo, hi in _names(text):
        words = text[lo:hi].split()
        if 2 <= len(words) <= 5 and not any(_ORG_WORD.match(w) for w in words) \
                and not any(_DATE_WORD.match(w) for w in words) and not words[0].lower() in ("the", "a", "an"):
            out.append((lo, hi))
    return out


def _organisation(text: str) -> list[Span]:
    """Names with an organisation or publication word in them ("Bank of England", "Financial Times
    Deutschland"), acronyms, web sites."""
    out = [(lo, hi) for lo, hi in _names(text) if any(_ORG_WORD.match(w) for w in text[lo:hi].split()[1:])
           or (" " in text[lo:hi] and _ORG_WORD.match(text[lo:hi].split()[0]) and text[lo:hi].split()[0] != "The")]
    out += [m.span() for m in _ACRONYM.finditer(text) if m.group(0) not in ("I", "A", "AM", "PM", "OK", "TV")]
    out += [m.span() for m in _WEBSITE.finditer(text)]
    return out


def _place(text: str) -> list[Span]:
    out = []
    for m in _PLACE.finditer(text):
        group = "place" if m.group("place") else "based"
        lo, hi = m.span(group)
        if not _DATE_WORD.match(text[lo:hi]) and not re.match(r"(?:the\s+)?\d", text[lo:hi]):
            out.append((lo, hi))
    return out


def _regex(pattern: re.Pattern):
    return lambda text: [m.span() for m in pattern.finditer(text) if m.group(0).strip()]


def _count(text: str) -> list[Span]:
    taken = [s for finder in (_regex(_MONEY), _regex(_PERCENT)) for s in finder(text)]
    years = [m.span() for m in re.finditer(r"\b(?:1[89]\d\d|20\d\d)s?\b", text)]
    out = []
    for lo, hi in _regex(_COUNT)(text):
        while lo < hi and text[lo].isspace():
            lo += 1
        if any(a <= lo < b or a < hi <= b for a, b in taken + years):
            continue
        if re.fullmatch(r"(?:an?|one)", text[lo:hi], re.I):
            continue  # "a" and "one" are mostly not counts
        out.append((lo, hi))
    return out


FINDERS = {
    "money": _regex(_MONEY), "percent": _regex(_PERCENT), "count": _count, "date": _regex(_DATE),
    "person": _person, "organisation": _organisation, "place": _place,
}


def _trim(text: str, span: Span) -> Span:
    lo, hi = span
    while hi > lo and text[hi - 1] in ".,;:":
        hi -= 1
    return lo, hi


def spans(text: str, kinds: tuple[str, ...], question: str = "") -> list[Span]:
    """Spans of `text` of any of `kinds`, in order, leaving out those made only of the question's words."""
    known = _known(question)
    found = sorted({_trim(text, s) for kind in kinds for s in FINDERS[kind](text) if s[1] > s[0]})
    return [s for s in found if s[1] > s[0] and _new(text, s, known)]


def new_names(text: str, question: str = "") -> list[Span]:
    """Capitalised names in `text` that the question does not contain (the loose test for who/which/where)."""
    known = _known(question)
    return [s for s in _names(text) if _new(text, s, known)]


def attributions(text: str, question: str = "") -> list[Span]:
    """Who `text` attributes its content to: the spans of the sources and speakers it names that the
    question does not already name."""
    known = _known(question)
    out = set()
    for pattern in _ATTRIBUTION:
        for m in pattern.finditer(text):
            for group in ("src", "via"):
                if group in pattern.groupindex and m.group(group):
                    lo, hi = m.span(group)
                    # "the journal Nature" -> "Nature"; "France's Le Figaro" -> "Le Figaro"; "The Australian" stays
                    lead = re.match(r"(?:the\s+)?(?:(?:journal|newspaper|paper|magazine|website|site|agency)\s+)"
                                    r"|the\s+(?=[A-Z])|[A-Z]\w*['\u2019]s\s+(?=[A-Z])|(?:Mr|Mrs|Ms|Dr|Prof)\.?\s+"
                                    r"(?=[A-Z])", text[lo:hi])
                    if lead:
                        lo += lead.end()
                    source = text[lo:hi].rstrip(".,")
                    hi = lo + len(source)
                    if source and source[0].isupper() and not _NOT_A_SOURCE.match(source) \
                            and _new(text, (lo, hi), known):
                        out.add((lo, hi))
    return sorted(out)


def short_answer(question: str, sentence: str, want: Asked | None = None) -> Span | None:
    """The span of `sentence` that answers `question`: a source for an attribution question, else a span
    of the first asked kind the sentence has (for who/which/where questions a new name will do); among
    several, one that is not a possessive ("Twitter's data centre" names no answer), nearest the question's
    words. None when the question asks for no kind or the sentence has none."""
    want = want or asked(question)
    if not want.kinds:
        return None
    groups = [attributions(sentence, question)] if want.attribution else []
    groups += [spans(sentence, (kind,), question) for kind in want.kinds]
    groups += [new_names(sentence, question)] if want.names else []
    candidates = next((g for g in groups if g), [])
    if not candidates:
        return None
    q_stems = set(terms(question))
    anchors = [m.start() for m in re.finditer(r"\w+", sentence) if set(terms(m.group(0))) & q_stems]
    counted = re.search(r"\bhow many (\w+)", question.lower())  # "how many sources": the number before "sources"
    unit = set(terms(counted.group(1))) if counted else set()

    def key(span: Span) -> tuple:
        possessive = sentence[span[1]:span[1] + 2] in ("'s", "\u2019s") or sentence[span[0]:span[1]].endswith(
            ("'s", "\u2019s"))
        counts_unit = bool(unit) and bool(set(terms(" ".join(sentence[span[1]:].split()[:3]))) & unit)
        near = min((min(abs(a - span[0]), abs(a - span[1])) for a in anchors), default=0)
        return possessive, not counts_unit, near, span[0]

    lo, hi = min(candidates, key=key)
    text = sentence[lo:hi]
    for suffix in ("'s", "\u2019s"):
        if text.endswith(suffix):
            hi -= len(suffix)
    return lo, hi

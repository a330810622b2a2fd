"""HTML for the page: answers with linked [n] markers, source cards, the trace, the article table.

Article text is untrusted: every value that comes from an article, an upload, a question or the model
goes through `html.escape` here, and bidi control characters are removed from what is displayed (a title
with U+202E would otherwise read backwards). Quotes are highlighted by the character spans the answerer
recorded, never by searching the text again.
"""
from __future__ import annotations

import re
from html import escape

from .citations import MARKER
from .text import sentence_spans
from .types import Answer, Citation, Passage

_BIDI = re.compile(r"[\u200e\u200f\u202a-\u202e\u2066-\u2069\u061c]")
_LINK_MARKER = re.compile(r"\[(\d+)\]")

CSS = """
.rag-answer { line-height: 1.55; }
.rag-cite { font-weight: 600; color: var(--color-accent); text-decoration: none; padding: 0 1px; border-radius: 3px; }
.rag-cite:hover { background: var(--color-accent-soft); }
.rag-abstain { border-left: 5px solid #d97706; background: rgba(245, 158, 11, .14); padding: .6em .8em;
  border-radius: 6px; }
.rag-abstain strong { display: block; font-size: 1.05em; }
.rag-notice { border-left: 4px solid #2563eb; background: rgba(37, 99, 235, .10); padding: .4em .7em;
  border-radius: 6px; margin-top: .5em; font-size: .92em; }
.rag-error { border-left: 4px solid #dc2626; background: rgba(220, 38, 38, .10); padding: .4em .7em;
  border-radius: 6px; }
.rag-unsupported { text-decoration: underline wavy #dc2626; text-underline-offset: 3px; }
.rag-unsupported::before { content: "\\26A0\\FE0E "; color: #dc2626; }
.rag-pending { opacity: .7; font-style: italic; }
.rag-turn > h4 { margin: .8em 0 .4em; font-size: .95em; }
.rag-turn.rag-old { opacity: .75; }
.rag-card { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: .55em .75em;
  margin: 0 0 .6em; background: var(--block-background-fill); scroll-margin: 80px;
  transition: box-shadow .3s, border-color .3s; }
.rag-card:target, .rag-card.rag-targeted { border-color: var(--color-accent);
  box-shadow: 0 0 0 3px var(--color-accent-soft); }
.rag-card.rag-related { border-style: dashed; }
.rag-card header { font-weight: 600; }
.rag-n { display: inline-block; min-width: 2em; color: var(--color-accent); }
.rag-meta { font-size: .82em; opacity: .75; margin: .15em 0 .35em; }
.rag-also { font-size: .82em; opacity: .8; margin: -.2em 0 .35em; font-style: italic; }
.rag-card blockquote { margin: 0; padding: 0; border: 0; font-size: .9em; white-space: pre-wrap; }
.rag-card mark { background: rgba(250, 204, 21, .55); color: inherit; padding: 0 1px; border-radius: 2px; }
.rag-card mark b { font-weight: 700; }
.rag-empty { opacity: .7; font-style: italic; }
.rag-table { border-collapse: collapse; width: 100%; font-size: .88em; }
.rag-table td, .rag-table th { border-bottom: 1px solid var(--border-color-primary); padding: .2em .4em;
  text-align: left; vertical-align: top; }
.rag-ok { color: #15803d; } .rag-bad { color: #b91c1c; }
.rag-timeline { list-style: none; padding-left: 0; border-left: 3px solid var(--color-accent); margin-left: .3em; }
.rag-timeline li { padding: .15em 0 .35em .7em; }
.rag-timeline time { font-weight: 600; margin-right: .4em; }
.rag-chip { display: inline-block; border: 1px solid var(--color-accent); border-radius: 999px; padding: 0 .6em;
  font-size: .85em; margin: .3em .3em 0 0; }
.rag-chip-x { margin-left: .4em; font-weight: 700; text-decoration: none; color: var(--color-accent); cursor: pointer; }
.rag-chip-x:hover { color: #dc2626; }
.rag-no-articles { border-left-color: #64748b; background: rgba(100, 116, 139, .14); }
.rag-no-articles strong::before { content: "\1F4C5\FE0E  "; }
.rag-lines { margin: .3em 0; padding-left: 1.2em; }
.rag-lines li, .rag-timeline li { margin: .15em 0; }
.rag-answer p { margin: .2em 0; }
.rag-convs { font-size: .85em; opacity: .8; margin: 0; }
"""

# [n] in an answer is a link to its card; this makes the click reliable inside Gradio's scrolling
# containers (and marks the card) while keeping the plain #src-... fragment as the fallback. The × of a
# date chip hands its turn number to the page's hidden "undate" textbox and button (rag/web.py).
HEAD = """<script>
document.addEventListener("click", function (event) {
  var undo = event.target.closest ? event.target.closest("a.rag-chip-x") : null;
  if (undo) {  // the × of a date chip: ask that turn's question again without the date filter
    event.preventDefault();
    var box = document.querySelector("#undate-turn textarea, #undate-turn input");
    var go = document.querySelector("#undate-go");
    if (!box || !go) return;
    box.value = undo.getAttribute("href").split("-").pop();
    box.dispatchEvent(new Event("input", {bubbles: true}));
    go.click();
    return;
  }
  var link = event.target.closest ? event.target.closest("a.rag-cite") : null;
  if (!link) return;
  var card = document.getElementById(link.getAttribute("href").slice(1));
  if (!card) return;
  event.preventDefault();
  document.querySelectorAll(".rag-card.rag-targeted").forEach(function (c) { c.classList.remove("rag-targeted"); });
  card.classList.add("rag-targeted");
  card.scrollIntoView({block: "center"});
  history.replaceState(null, "", "#" + card.id);
}, true);
</script>"""


def shown(text: object) -> str:
    """Escaped, with bidi controls removed: safe to place in HTML and reads the way it is stored."""
    return escape(_BIDI.sub("", str(text)))


def card_id(turn: int, n: int) -> str:
    return f"src-{turn}-{n}"


def link_markers(text: str, turn: int, cited: set[int]) -> str:
    """Escape the answer, then turn each [n] that names a citation into a link to its card."""
    def link(match: re.Match) -> str:
        n = int(match.group(1))
        if n not in cited:
            return match.group(0)
        return f'<a class="rag-cite" href="#{card_id(turn, n)}" title="Show source {n}">[{n}]</a>'

    return _LINK_MARKER.sub(link, shown(text))


def marked(text: str, turn: int, cited: set[int], flagged: set[str]) -> str:
    """Escaped text with linked markers; sentences the support check flagged are marked."""
    if not flagged:
        return link_markers(text, turn, cited)
    out, at = [], 0
    for lo, hi in sentence_spans(text):
        out.append(link_markers(text[at:lo], turn, cited))
        sentence = text[lo:hi]
        html = link_markers(sentence, turn, cited)
        if MARKER.sub("", sentence).strip() in flagged:
            html = (f'<span class="rag-unsupported" title="Not supported by the passage it cites: check the '
                    f'source">{html}</span>')
        out.append(html)
        at = hi
    return "".join(out) + link_markers(text[at:], turn, cited)


def answer_body(answer: Answer, turn: int) -> str:
    """The answer's text with linked markers; sentences the support check flagged are marked."""
    cited = {c.n for c in answer.citations}
    flagged = {item["sentence"] for item in (answer.trace.unsupported or [])}
    return marked(answer.text, turn, cited, flagged)


def lines_html(answer: Answer, turn: int) -> str:
    """An answer made of cited lines (count, list, sources, a coverage summary; a timeline) as a list.
    Lines before the first and after the last cited line (the head "3 articles mention ...", a tail
    "(and 4 more)") stay paragraphs around it. A timeline is an ordered list, each item led by the date of
    the article it cites."""
    by_n = {c.n: c for c in answer.citations}
    flagged = {item["sentence"] for item in (answer.trace.unsupported or [])}
    lines = [line for line in answer.text.splitlines() if line.strip()]
    cites = [[int(n) for n in _LINK_MARKER.findall(line) if int(n) in by_n] for line in lines]
    cited_at = [i for i, ns in enumerate(cites) if ns] or [len(lines)]
    first, last = cited_at[0], cited_at[-1]
    timeline = answer.kind == "timeline"
    items = []
    for line, ns in zip(lines[first:last + 1], cites[first:last + 1]):
        date = by_n[ns[0]].date if ns else ""
        if timeline and ns:
            rest = line[len(date):].lstrip() if date and line.startswith(date) else line
            stamp = f'<time datetime="{shown(date)}">{shown(date or "undated")}</time>'
            items.append(f"<li>{stamp}{marked(rest, turn, set(by_n), flagged)}</li>")
        else:
            items.append(f"<li>{marked(line, turn, set(by_n), flagged)}</li>")
    def para(part: list[str]) -> str:
        return "".join(f"<p>{marked(line, turn, set(by_n), flagged)}</p>" for line in part)

    tag, kind = ("ol", "rag-timeline") if timeline else ("ul", "rag-lines")
    return f'{para(lines[:first])}<{tag} class="{kind}">{"".join(items)}</{tag}>{para(lines[last + 1:])}'


LISTED = ("timeline", "count", "list", "sources", "summary")  # kinds whose answers may be lines


def answer_html(answer: Answer, turn: int) -> str:
    if answer.kind == "no_articles":
        body = (f'<div class="rag-abstain rag-no-articles" role="note"><strong>{shown(answer.text)}</strong>'
                f"<span>No indexed article is dated in that range. Remove the date filter (×) to ask over "
                f"every date.</span></div>")
    elif answer.abstained:
        body = (f'<div class="rag-abstain" role="note"><strong>{shown(answer.text)}</strong>'
                f"<span>No passage answers this. The closest passages are listed as Related.</span></div>")
    elif answer.kind in LISTED and answer.citations and (answer.kind == "timeline" or "\n" in answer.text.strip()):
        body = lines_html(answer, turn)
    else:
        body = answer_body(answer, turn)
    return f'<div class="rag-answer rag-kind-{shown(answer.kind)}">{body}{chips_html(answer, turn)}' \
           f'{notice_html(answer.notice)}</div>'


def chips_html(answer: Answer, turn: int) -> str:
    """The filters an answer was made under. The date range, taken from the question, can be removed:
    its × asks the same question again over every date (the page's script turns the click into that)."""
    chips = []
    for label in filter_labels(answer):
        remove = ""
        if label.startswith("dates "):
            remove = (f'<a class="rag-chip-x" href="#undate-{turn}" role="button" title="Remove the date filter: '
                      f'ask again over every date" aria-label="Remove the date filter">×</a>')
        chips.append(f'<span class="rag-chip" title="filter applied">{shown(label)}{remove}</span>')
    return f'<div class="rag-chips">{"".join(chips)}</div>' if chips else ""


def filter_labels(answer: Answer) -> list[str]:
    f = answer.filters
    labels = []
    if f.date_from or f.date_to:
        labels.append(f"dates {f.date_from or '…'} to {f.date_to or '…'}")
    if f.sources:
        labels.append("sources: " + ", ".join(f.sources))
    if f.article_ids:
        labels.append(f"{len(f.article_ids)} chosen article(s)")
    return labels


def notice_html(notice: str) -> str:
    return f'<div class="rag-notice" role="status">{shown(notice)}</div>' if notice else ""


def error_html(message: str) -> str:
    return f'<div class="rag-error" role="alert">{shown(message)}</div>'


def highlight(passage: str, spans: list[tuple[int, int]], short: str = "") -> str:
    """The passage, escaped, with each quoted span inside <mark> (and the short answer in bold)."""
    out, at = [], 0
    for lo, hi in sorted(spans):
        if lo < at or not 0 <= lo < hi <= len(passage):
            continue  # overlapping or out of range: never trust an offset blindly
        quote = shown(passage[lo:hi])
        if short and short in passage[lo:hi]:
            quote = shown(passage[lo:hi]).replace(shown(short), f"<b>{shown(short)}</b>", 1)
        out += [shown(passage[at:lo]), "<mark>", quote, "</mark>"]
        at = hi
    return "".join(out) + shown(passage[at:])


def card_html(dom_id: str, label: str, passage: Passage, spans: list[tuple[int, int]] = (), short: str = "",
              related: bool = False) -> str:
    page = f"p. {passage.page}" if passage.page else ""
    parts = (passage.date or "no date", passage.source, passage.author, page, passage.article_id)
    meta = " · ".join(shown(part) for part in parts if part)
    kind = " rag-related" if related else ""
    return (f'<article class="rag-card{kind}" id="{dom_id}"><header><span class="rag-n">{shown(label)}</span>'
            f'<span class="rag-title">{shown(passage.title)}</span></header><div class="rag-meta">{meta}</div>'
            f"{also_published(passage.copies)}"
            f"<blockquote>{highlight(passage.text, list(spans), short)}</blockquote></article>")


def also_published_text(copies: list[dict], most: int = 8) -> str:
    """'Also published by Reuters (2005-01-12), AP': a story's other copies (plain text; "" if none)."""
    if not copies:
        return ""
    names = [(c.get("source") or c.get("article_id", "")) + (f" ({c['date']})" if c.get("date") else "")
             for c in copies[:most]]
    more = f" and {len(copies) - most} more" if len(copies) > most else ""
    return f"Also published by {', '.join(names)}{more}"


def also_published(copies: list[dict]) -> str:
    """The story's other copies, named on its card."""
    text = also_published_text(copies)
    return f'<div class="rag-also">{shown(text)}</div>' if text else ""


def citation_card(citation: Citation, turn: int, short: str = "") -> str:
    return card_html(card_id(turn, citation.n), f"[{citation.n}]", citation.passage, citation.quote_spans, short)


def sources_section(answer: Answer, turn: int) -> str:
    """The cards of one answer: its citations, or (abstained) the top related passages."""
    if answer.citations:
        cards = [citation_card(c, turn, answer.short) for c in answer.citations]
        heading = "Sources"
    elif answer.retrieved:
        cards = [card_html(f"rel-{turn}-{i}", "Related", p, related=True)
                 for i, p in enumerate(answer.retrieved[:3], 1)]
        heading = "Related passages (they do not answer the question)"
    elif answer.kind == "no_articles":
        cards, heading = ['<p class="rag-empty">No indexed article is dated in that range.</p>'], "Sources"
    else:
        cards, heading = ['<p class="rag-empty">No passage was found.</p>'], "Sources"
    return (f'<section class="rag-turn"><h4>{heading} for “{shown(answer.question)}”</h4>'
            f'{"".join(cards)}</section>')


def sources_html(answers: list[Answer]) -> str:
    """Every answer's sources, newest first (older ones faded)."""
    if not answers:
        return '<p class="rag-empty">Sources of each answer appear here, with the quoted sentences marked.</p>'
    sections = [sources_section(a, turn) for turn, a in enumerate(answers, 1)]
    newest, older = sections[-1], sections[-2::-1]
    return newest + "".join(s.replace('class="rag-turn"', 'class="rag-turn rag-old"', 1) for s in older)


def trace_html(answer: Answer) -> str:
    t = answer.trace
    rows = [("mode", t.mode), ("model", t.model), ("kind", t.kind), ("question", t.question),
            ("searched for (condensed)", t.standalone),
            ("timings", ", ".join(f"{k} {v:.0f} ms" for k, v in t.timings_ms.items())), ("top k", t.top_k)]
    if t.support is not None:
        rows.append(("support / threshold", f"{t.support:.3f} / {t.threshold or 0:.3f}"))
    if t.fallback:
        rows.append(("LLM fallback", t.fallback))
    if t.filters:
        rows.append(("filters", t.filters))
    if t.details:
        rows.append(("details", t.details))
    head = "".join(f"<tr><th>{shown(k)}</th><td>{shown(v)}</td></tr>" for k, v in rows)
    cited = {c.passage_id: c.n for c in answer.citations}
    passages = "".join(
        f"<tr><td>{rank}</td><td>{shown(p.title)}</td><td>{p.score:.3f}</td>"
        f"<td>{'[%d]' % cited[p.id] if p.id in cited else ''}</td><td>{shown(p.text[:140])}…</td></tr>"
        for rank, p in enumerate(answer.retrieved, 1))
    return (f'<table class="rag-table">{head}</table><h4>Retrieved passages ({len(answer.retrieved)}), '
            f'cited {len(cited)}</h4><table class="rag-table"><tr><th>rank</th><th>article</th><th>score</th>'
            f"<th>cited</th><th>passage</th></tr>{passages}</table>")


def corpus_html(rows: list[dict], total: int, matching: int, page: int, pages: int, query: str) -> str:
    """One page of the article table, with how many articles exist and match."""
    if not total:
        return '<p class="rag-empty">No article is indexed yet: upload one below.</p>'
    found = f"{matching:,} of {total:,} articles match “{shown(query)}”" if query else f"{total:,} articles indexed"
    body = "".join(f"<tr><td>{shown(a['title'])}</td><td>{shown(a['date'] or '—')}</td>"
                   f"<td>{shown(a.get('source', ''))}</td><td>{shown(a['article_id'])}</td></tr>" for a in rows)
    return (f"<p>{found}; page {page} of {max(pages, 1)}.</p><table class=\"rag-table\">"
            f"<tr><th>title</th><th>date</th><th>source</th><th>id</th></tr>{body}</table>")


def upload_html(results) -> str:
    items = []
    for r in results:
        if r.ok:
            note = f" ({shown(r.note)})" if r.note else ""
            items.append(f'<li class="rag-ok">✔ {shown(r.name)}: added as {shown(r.saved_as)}, '
                         f"“{shown(r.title)}”{note}</li>")
        else:
            items.append(f'<li class="rag-bad">✘ {shown(r.name)}: refused: {shown(r.reason)}</li>')
    return f'<ul class="rag-uploads">{"".join(items)}</ul>'

"""The web page: a Gradio Blocks chat over `rag.Assistant` (the one engine; no retrieval logic here).

Article text is untrusted: every piece of HTML on this page is built here with `html.escape` applied to
each value that comes from an article, an upload, a question or the model, and the chat shows that HTML
with Markdown rendering off. Nothing is fetched from outside 127.0.0.1 (system fonts, no CDN).

Run: `python app.py [--host H] [--port P]` (or `python -m rag serve`). API: `/ask` (see README); the same
server also serves /v1 and /mcp (rag/server.py).
"""
from __future__ import annotations

import argparse
import re
import sys
from html import escape
from pathlib import Path

from . import uploads
from .assistant import Assistant, BadQuestion, CorpusMissing
from .index import StoreUnavailable

EXAMPLES = [
    "How many GPUs did Twitter buy?",
    "Where will the GPUs be installed?",
    "Who did Musk hire for the project?",
    "What is Tesla's share price?",
]
ANSWER_CONCURRENCY = 4
MARKER = re.compile(r"\[(\d+)\]")
SENTENCE_END = re.compile(r"(?<=[.!?])\s+")

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
.rag-card blockquote { margin: 0; padding: 0; border: 0; font-size: .9em; white-space: pre-wrap;
}
.rag-card mark { background: rgba(250, 204, 21, .55); color: inherit; padding: 0 1px; border-radius: 2px; }
.rag-empty { opacity: .7; font-style: italic; }
.rag-table { border-collapse: collapse; width: 100%; font-size: .88em; }
.rag-table td, .rag-table th { border-bottom: 1px solid var(--border-color-primary); padding: .2em .4em;
  text-align: left; vertical-align: top; }
.rag-ok { color: #15803d; } .rag-bad { color: #b91c1c; }
"""

# [n] in an answer is a link to its card; this makes the click reliable inside Gradio's scrolling
# containers (and marks the card) while keeping the plain #src-... fragment as the fallback.
HEAD = """<script>
document.addEventListener("click", function (event) {
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


# ---------------------------------------------------------------------------------------- rendering
def card_id(turn: int, n: int) -> str:
    return f"src-{turn}-{n}"


def link_markers(text: str, turn: int, cited: set[int]) -> str:
    """Escape the answer, then turn each [n] that names a citation into a link to its card."""
    def link(match: re.Match) -> str:
        n = int(match.group(1))
        if n not in cited:
            return match.group(0)
        return f'<a class="rag-cite" href="#{card_id(turn, n)}" title="Show source {n}">[{n}]</a>'

    return MARKER.sub(link, escape(text))


def highlight(passage: str, quote: str) -> str:
    """The passage, escaped, with the quoted sentence(s) inside <mark> (whitespace-insensitive)."""
    spans: list[tuple[int, int]] = []
    for piece in [quote, *SENTENCE_END.split(quote)] if quote.strip() else []:
        words = piece.split()
        if not words:
            continue
        match = re.search(r"\s+".join(map(re.escape, words)), passage)
        if match and not any(s < match.end() and match.start() < e for s, e in spans):
            spans.append(match.span())
    out, at = [], 0
    for start, end in sorted(spans):
        out += [escape(passage[at:start]), "<mark>", escape(passage[start:end]), "</mark>"]
        at = end
    return "".join(out) + escape(passage[at:])


def card_html(dom_id: str, label: str, title: str, date: str, source: str, article_id: str,
              text: str, quote: str = "", related: bool = False) -> str:
    meta = " · ".join(escape(part) for part in (date or "no date", source, article_id) if part)
    kind = " rag-related" if related else ""
    return (f'<article class="rag-card{kind}" id="{dom_id}"><header><span class="rag-n">{escape(label)}</span>'
            f'<span class="rag-title">{escape(title)}</span></header><div class="rag-meta">{meta}</div>'
            f"<blockquote>{highlight(text, quote)}</blockquote></article>")


def answer_html(answer, turn: int) -> str:
    if answer.abstained:
        body = (f'<div class="rag-abstain" role="note"><strong>{escape(answer.text)}</strong>'
                f"<span>No passage answers this. The closest passages are listed as Related.</span></div>")
    else:
        body = link_markers(answer.text, turn, {c.n for c in answer.citations})
    return f'<div class="rag-answer">{body}{notice_html(answer.notice)}</div>'


def notice_html(notice: str) -> str:
    return f'<div class="rag-notice" role="status">{escape(notice)}</div>' if notice else ""


def sources_section(answer, turn: int) -> str:
    """The cards of one answer: its citations, or (abstained) the top related passages."""
    sources = {p.id: p.source for p in answer.retrieved}
    if answer.citations:
        cards = [card_html(card_id(turn, c.n), f"[{c.n}]", c.title, c.date, sources.get(c.passage_id, ""),
                           c.article_id, c.text, c.quote) for c in answer.citations]
        heading = "Sources"
    elif answer.retrieved:
        cards = [card_html(f"rel-{turn}-{i}", "Related", p.title, p.date, p.source, p.article_id, p.text,
                           related=True) for i, p in enumerate(answer.retrieved[:3], 1)]
        heading = "Related passages (they do not answer the question)"
    else:
        cards, heading = ['<p class="rag-empty">No passage was found.</p>'], "Sources"
    return (f'<section class="rag-turn"><h4>{heading} for “{escape(answer.question)}”</h4>'
            f'{"".join(cards)}</section>')


def sources_html(sections: list[str]) -> str:
    if not sections:
        return '<p class="rag-empty">Sources of each answer appear here, with the quoted sentences marked.</p>'
    newest, older = sections[-1], sections[-2::-1]
    return newest + "".join(s.replace('class="rag-turn"', 'class="rag-turn rag-old"', 1) for s in older)


def trace_html(answer) -> str:
    t = answer.trace
    timings = t.get("timings_ms", {})
    rows = [("mode", t.get("mode", "")), ("model", t.get("model", "")), ("question", t.get("question", "")),
            ("searched for (condensed)", t.get("standalone", "")),
            ("timings", ", ".join(f"{k} {v:.0f} ms" for k, v in timings.items())),
            ("top k", t.get("top_k", ""))]
    if "support" in t:
        rows.append(("support / threshold", f"{t['support']:.3f} / {t.get('threshold', 0):.3f}"))
    if t.get("fallback"):
        rows.append(("LLM fallback", t["fallback"]))
    if t.get("filters"):
        rows.append(("filters", t["filters"]))
    head = "".join(f"<tr><th>{escape(k)}</th><td>{escape(str(v))}</td></tr>" for k, v in rows)
    cited = {c.passage_id: c.n for c in answer.citations}
    passages = "".join(
        f"<tr><td>{rank}</td><td>{escape(p.title)}</td><td>{p.score:.3f}</td>"
        f"<td>{'[%d]' % cited[p.id] if p.id in cited else ''}</td><td>{escape(p.text[:140])}…</td></tr>"
        for rank, p in enumerate(answer.retrieved, 1))
    return (f'<table class="rag-table">{head}</table><h4>Retrieved passages ({len(answer.retrieved)}), '
            f'cited {len(cited)}</h4><table class="rag-table"><tr><th>rank</th><th>article</th><th>score</th>'
            f"<th>cited</th><th>passage</th></tr>{passages}</table>")


def corpus_html(articles: list[dict]) -> str:
    if not articles:
        return '<p class="rag-empty">No article is indexed yet: upload one below.</p>'
    rows = "".join(f"<tr><td>{escape(a['title'])}</td><td>{escape(a['date'] or '—')}</td>"
                   f"<td>{a['chunks']}</td><td>{escape(a['article_id'])}</td></tr>" for a in articles)
    chunks = sum(a["chunks"] for a in articles)
    return (f"<p>{len(articles)} articles, {chunks} passages indexed.</p><table class=\"rag-table\">"
            f"<tr><th>title</th><th>date</th><th>passages</th><th>file</th></tr>{rows}</table>")


def upload_html(results) -> str:
    items = []
    for r in results:
        if r.ok:
            note = f" ({escape(r.note)})" if r.note else ""
            items.append(f'<li class="rag-ok">✔ {escape(r.name)}: added as {escape(r.saved_as)}, '
                         f"“{escape(r.title)}”{note}</li>")
        else:
            items.append(f'<li class="rag-bad">✘ {escape(r.name)}: refused: {escape(r.reason)}</li>')
    return f'<ul class="rag-uploads">{"".join(items)}</ul>'


def error_html(message: str) -> str:
    return f'<div class="rag-error" role="alert">{escape(message)}</div>'


# ---------------------------------------------------------------------------------------- the page
class Session:
    """One browser tab: its conversation (a rag Chat, for follow-ups) and the sources of each answer."""

    def __init__(self, assistant: Assistant):
        self.chat = assistant.chat()
        self.sections: list[str] = []


def build(assistant: Assistant):
    import gradio as gr

    settings = assistant.settings
    modes = ["extractive", "llm"] if settings.llm_configured else ["extractive"]

    def article_choices() -> list[tuple[str, str]]:
        return [(f"{a['title']} ({a['date'] or 'no date'}, {a['chunks']} passages)", a["article_id"])
                for a in assistant.articles()]

    def corpus_updates(selected=None):
        choices = article_choices()
        keep = [v for v in (selected or []) if v in {value for _, value in choices}]
        return gr.update(choices=choices, value=keep), corpus_html(assistant.articles())

    def respond(question, history, session, mode, top_k, condense, article_ids):
        session = session or Session(assistant)
        history = list(history or [])
        try:
            session.chat.condense = bool(condense)
            stream = session.chat.stream(question or "", top_k=int(top_k), mode=mode,
                                         article_ids=list(article_ids or ()))
        except BadQuestion as err:
            gr.Warning(str(err))
            yield history, question, sources_html(session.sections), gr.skip(), gr.skip(), session
            return
        except StoreUnavailable as err:
            history += [{"role": "user", "content": escape(question)},
                        {"role": "assistant", "content": error_html(f"The index is unavailable: {err}")}]
            yield history, question, sources_html(session.sections), gr.skip(), gr.skip(), session
            return
        turn = len(session.sections) + 1
        history += [{"role": "user", "content": escape(question)},
                    {"role": "assistant", "content": '<div class="rag-pending">Reading '
                                                     f"{len(stream.retrieved)} passages…</div>"}]
        yield history, "", sources_html(session.sections), gr.skip(), gr.skip(), session
        raw = ""
        for piece in stream:
            raw += piece
            if mode == "llm":  # the model's raw words as they come; replaced by the verified answer
                history[-1] = {"role": "assistant",
                               "content": f'<div class="rag-answer rag-pending">{escape(raw)}</div>'}
                yield history, "", gr.skip(), gr.skip(), gr.skip(), session
        answer = stream.answer
        history[-1] = {"role": "assistant", "content": answer_html(answer, turn)}
        session.sections.append(sources_section(answer, turn))
        yield history, "", sources_html(session.sections), trace_html(answer), answer.trace, session

    def clear(session):
        if session is not None:
            session.chat.reset()
            session.sections.clear()
        return [], "", sources_html([]), "", None, session

    def add_files(files, selected, progress=gr.Progress()):
        paths = [Path(f) for f in files or []]
        results, report = uploads.add(assistant, [(p, p.name) for p in paths],
                                      progress=lambda fraction, message: progress(fraction, desc=message))
        summary = upload_html(results)
        if report is not None:
            summary += f"<p>Index: {escape(report.summary().splitlines()[1])}.</p>"
        return None, summary, *corpus_updates(selected)

    def rescan(selected, progress=gr.Progress()):
        progress(0.1, desc="reading the corpus folder")
        try:
            report = assistant.ingest()
        except CorpusMissing as err:
            return error_html(str(err)), *corpus_updates(selected)
        lines = "<br>".join(escape(line) for line in report.summary().splitlines())
        return f"<p>{lines}</p>", *corpus_updates(selected)

    def ask(question: str, top_k: int = 0, mode: str = "", article_ids: list[str] | None = None) -> dict:
        """Answer one question from the articles. Returns the JSON of `python -m rag ask --json`:
        answer (text with [n] markers), citations, abstained, notice, retrieved, timings_ms, trace."""
        try:
            return assistant.ask(question, top_k=top_k or None, mode=mode or None,
                                 article_ids=article_ids or ()).to_dict()
        except ValueError as err:  # BadQuestion, or an unknown mode
            raise gr.Error(str(err)) from None

    private = {"api_visibility": "private"}
    with gr.Blocks(title="Ask your articles") as demo:
        session = gr.State(None)
        gr.Markdown("# Ask your articles\nAnswers come only from the indexed articles, with numbered "
                    "sources. Click a [n] to see its passage; when the articles don't say, the page says so.")
        with gr.Row(equal_height=False):
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(label="Conversation", elem_id="chat", height=460, render_markdown=False,
                                     sanitize_html=True, feedback_options=None, buttons=["copy"])
                with gr.Row():
                    question = gr.Textbox(show_label=False, placeholder="Ask a question about the articles…",
                                          elem_id="question", scale=5, max_lines=4, submit_btn=False)
                    ask_btn = gr.Button("Ask", variant="primary", elem_id="ask", scale=1, min_width=80)
                with gr.Row(elem_id="examples"):
                    example_btns = [gr.Button(q, size="sm", variant="secondary") for q in EXAMPLES]
                clear_btn = gr.Button("Clear conversation", size="sm", elem_id="clear")
                with gr.Accordion("Trace of the last answer", open=False, elem_id="trace"):
                    trace = gr.HTML(elem_id="trace-html")
                    with gr.Accordion("Raw trace (JSON)", open=False):
                        trace_json = gr.JSON(show_label=False)
            with gr.Column(scale=2):
                sources = gr.HTML(sources_html([]), elem_id="sources", label="Sources")
        with gr.Row(equal_height=False):
            with gr.Column(scale=3):
                with gr.Accordion("Articles", open=True, elem_id="corpus"):
                    corpus = gr.HTML(corpus_html(assistant.articles()), elem_id="corpus-table")
                    chosen = gr.CheckboxGroup(article_choices(), label="Ask only these articles "
                                              "(none ticked: all of them)", elem_id="article-filter")
                    allowed = sorted(uploads.SUPPORTED_SUFFIXES)
                    upload = gr.File(label=f"Add articles ({', '.join(allowed)}; up to "
                                           f"{settings.upload_max_files} files of "
                                           f"{settings.upload_max_mb:g} MB)",
                                     file_count="multiple", file_types=allowed, type="filepath",
                                     elem_id="upload", height=120)
                    upload_result = gr.HTML(elem_id="upload-result")
                    rescan_btn = gr.Button("Re-read the corpus folder", size="sm")
            with gr.Column(scale=2):
                with gr.Accordion("Settings", open=True, elem_id="settings"):
                    mode = gr.Radio(modes, value=settings.effective_mode, label="Answer mode",
                                    info=None if settings.llm_configured else
                                    "LLM answers need OPENAI_API_KEY or OPENAI_BASE_URL.")
                    top_k = gr.Slider(1, 20, value=settings.top_k, step=1, label="Passages to retrieve (top k)")
                    condense = gr.Checkbox(settings.condense_followups,
                                           label="Rewrite follow-up questions using the conversation")

        inputs = [question, chatbot, session, mode, top_k, condense, chosen]
        outputs = [chatbot, question, sources, trace, trace_json, session]
        # One engine serves every tab; it is thread-safe, so a few answers run at once (LLM answers wait
        # on the network; extractive ones are short), the rest queue.
        answering = {"concurrency_id": "answer", "concurrency_limit": ANSWER_CONCURRENCY, **private}
        question.submit(respond, inputs, outputs, **answering)
        ask_btn.click(respond, inputs, outputs, **answering)
        for btn in example_btns:
            btn.click(lambda q: q, btn, question, queue=False, **private).then(respond, inputs, outputs,
                                                                                 **answering)
        clear_btn.click(clear, session, outputs, queue=False, **private)
        chatbot.clear(clear, session, outputs, queue=False, **private)
        indexing = {"concurrency_id": "index", **private}
        upload.upload(add_files, [upload, chosen], [upload, upload_result, chosen, corpus], **indexing)
        rescan_btn.click(rescan, chosen, [upload_result, chosen, corpus], **indexing)
        demo.load(corpus_updates, chosen, [chosen, corpus], **private)
        gr.api(ask, api_name="ask", concurrency_id="answer", concurrency_limit=ANSWER_CONCURRENCY)
    return demo


def theme():
    import gradio as gr

    return gr.themes.Soft(primary_hue="blue",
                          font=["system-ui", "-apple-system", "Segoe UI", "Roboto", "Helvetica Neue", "Arial",
                                "sans-serif"],
                          font_mono=["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "monospace"])


def parse_auth(secret) -> tuple[str, str] | None:
    if secret is None:
        return None
    user, sep, password = secret.get_secret_value().partition(":")
    if not (sep and user and password):
        raise ValueError("RAG_AUTH must look like user:password")
    return user, password


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve the Ask-your-articles page.")
    parser.add_argument("--host", default=None, help="address to bind (default: RAG_HOST, 127.0.0.1)")
    parser.add_argument("--port", type=int, default=None, help="port (default: RAG_PORT, 7860)")
    opts = parser.parse_args(argv)
    try:
        assistant = Assistant()
        parse_auth(assistant.settings.auth)  # a malformed RAG_AUTH stops here, before any work
    except (StoreUnavailable, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    try:
        print(assistant.ingest().summary(), flush=True)
    except CorpusMissing as err:
        print(f"warning: {err}; upload articles from the page", file=sys.stderr)
    from .server import serve  # the page, the /v1 API and /mcp on one port

    serve(assistant, opts.host or assistant.settings.host, opts.port or assistant.settings.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The web page: a Gradio Blocks chat over `rag.Assistant` (the one engine; no retrieval logic here).

Three parts: `Session` (one browser tab's conversation, kept as Answers and rendered on demand), the
handlers (plain functions of the assistant, each returning a dict keyed by component), and `build`
(layout and wiring). All HTML comes from `rag.render`, which escapes every untrusted value; the chat shows
that HTML with Markdown rendering off. Nothing is fetched from outside 127.0.0.1 (system fonts, no CDN).

Run: `python app.py [--host H] [--port P]` (or `python -m rag serve`). API: `/ask` (see README); the same
server also serves /v1 and /mcp (rag/server.py).
"""
from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from . import uploads
from .assistant import Assistant, BadQuestion, CorpusMissing
from .index import IndexDamaged, StoreUnavailable
from .render import (answer_html, corpus_html, error_html, shown, sources_html, trace_html,
                     upload_html)
from .types import Answer

ANSWER_CONCURRENCY = 4
ARTICLES_PER_PAGE = 25
EXAMPLES = 3  # example questions, made from the newest articles' headlines


class Session:
    """One browser tab: its conversation (a rag Chat, for follow-ups) and the answers given so far."""

    def __init__(self, assistant: Assistant):
        self.chat = assistant.chat()
        self.answers: list[Answer] = []

    def messages(self, pending: tuple[str, str] | None = None) -> list[dict]:
        """The chat as Gradio messages, rendered from the answers (plus a question still being answered)."""
        out = []
        for turn, answer in enumerate(self.answers, 1):
            out += [{"role": "user", "content": shown(answer.question)},
                    {"role": "assistant", "content": answer_html(answer, turn)}]
        if pending:
            out += [{"role": "user", "content": shown(pending[0])}, {"role": "assistant", "content": pending[1]}]
        return out


def example_questions(assistant: Assistant) -> list[str]:
    """Questions about the user's own corpus: what the newest articles are about (none when empty)."""
    newest = sorted(assistant.articles(), key=lambda a: (a["date"], a["article_id"]), reverse=True)[:EXAMPLES]
    return [f"What is “{a['title'][:80]}” about?" for a in newest if a["title"]]


def build(assistant: Assistant):
    import gradio as gr

    settings = assistant.settings
    modes = ["extractive", "llm"] if settings.llm_configured else ["extractive"]

    # ------------------------------------------------------------------------------------ layout
    with gr.Blocks(title="Ask your articles", delete_cache=(3600, 3600)) as demo:
        session = gr.State(None)
        corpus_view = gr.State({"query": "", "page": 1})
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
                examples = gr.Dataset(components=[question], samples=[], label="Try", elem_id="examples",
                                      samples_per_page=EXAMPLES)
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
                    with gr.Row():
                        corpus_query = gr.Textbox(show_label=False, placeholder="Search articles by title, "
                                                  "source or file…", elem_id="corpus-search", scale=4)
                        prev_btn = gr.Button("‹ Prev", size="sm", scale=1, min_width=60, elem_id="corpus-prev")
                        next_btn = gr.Button("Next ›", size="sm", scale=1, min_width=60, elem_id="corpus-next")
                    corpus = gr.HTML('<p class="rag-empty">Loading the article list…</p>', elem_id="corpus-table")
                    chosen = gr.Dropdown([], value=[], multiselect=True, label="Ask only these articles "
                                         "(none: all of them); search above to find more", elem_id="article-filter")
                    allowed = sorted(uploads.SUPPORTED_SUFFIXES)
                    upload = gr.File(label=f"Add articles ({', '.join(allowed)}; up to "
                                           f"{settings.upload_max_files} files of {settings.upload_max_mb:g} MB)",
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

        # ---------------------------------------------------------------------------- handlers
        def respond(text, sess, mode_value, k, condense_value, article_ids):
            sess = sess or Session(assistant)
            try:
                sess.chat.condense = bool(condense_value)
                stream = sess.chat.stream(text or "", top_k=int(k), mode=mode_value,
                                          article_ids=list(article_ids or ()))
            except BadQuestion as err:
                gr.Warning(str(err))
                yield {session: sess}
                return
            except (StoreUnavailable, IndexDamaged) as err:
                failed = error_html(f"The index is unavailable: {err}")
                yield {chatbot: sess.messages((text, failed)), session: sess}
                return
            reading = f'<div class="rag-pending">Reading {len(stream.retrieved)} passages…</div>'
            yield {chatbot: sess.messages((text, reading)), question: "", session: sess}
            raw = ""
            try:
                for piece in stream:
                    raw += piece
                    if stream.query.mode == "llm":  # the model's raw words as they come; then the verified answer
                        pending = f'<div class="rag-answer rag-pending">{shown(raw)}</div>'
                        yield {chatbot: sess.messages((text, pending))}
            except (StoreUnavailable, IndexDamaged) as err:
                yield {chatbot: sess.messages((text, error_html(f"The index is unavailable: {err}")))}
                return
            answer = stream.answer
            sess.answers.append(answer)
            yield {chatbot: sess.messages(), sources: sources_html(sess.answers), trace: trace_html(answer),
                   trace_json: answer.trace.to_dict(), session: sess}

        def clear(sess):
            if sess is not None:
                sess.chat.reset()
                sess.answers.clear()
            return {chatbot: [], question: "", sources: sources_html([]), trace: "", trace_json: None,
                    session: sess}

        def show_corpus(view, selected):
            rows = assistant.articles(view["query"])
            pages = max(1, math.ceil(len(rows) / ARTICLES_PER_PAGE))
            view = {"query": view["query"], "page": min(max(1, view["page"]), pages)}
            page_rows = rows[(view["page"] - 1) * ARTICLES_PER_PAGE:view["page"] * ARTICLES_PER_PAGE]
            total = len(rows) if not view["query"] else len(assistant.articles())
            keep = list(selected or [])
            choices = [(f"{a['title'][:90]} ({a['date'] or 'no date'})", a["article_id"]) for a in page_rows]
            choices += [(aid, aid) for aid in keep if aid not in {a["article_id"] for a in page_rows}]
            return {corpus: corpus_html(page_rows, total, len(rows), view["page"], pages, view["query"]),
                    chosen: gr.update(choices=choices, value=keep), corpus_view: view}

        def search_corpus(text, selected):
            return show_corpus({"query": (text or "").strip(), "page": 1}, selected)

        def turn_page(view, selected, step):
            return show_corpus({"query": view["query"], "page": view["page"] + step}, selected)

        def on_load(view, selected):
            return show_corpus(view, selected) | {examples: gr.Dataset(samples=[[q] for q in
                                                                               example_questions(assistant)])}

        def add_files(files, view, selected, progress=gr.Progress()):
            paths = [Path(f) for f in files or []]
            try:
                results, report = uploads.add(assistant, [(p, p.name) for p in paths],
                                              progress=lambda fraction, message: progress(fraction, desc=message))
            finally:
                uploads.discard(paths)  # Gradio's copies of the upload: never kept, accepted or not
            summary = upload_html(results)
            if report is not None:
                summary += f"<p>Index: {shown(report.summary().splitlines()[1])}.</p>"
            return {upload: None, upload_result: summary} | show_corpus(view, selected)

        def rescan(view, selected, progress=gr.Progress()):
            progress(0.1, desc="reading the corpus folder")
            try:
                report = assistant.ingest()
            except CorpusMissing as err:
                return {upload_result: error_html(str(err))} | show_corpus(view, selected)
            lines = "<br>".join(shown(line) for line in report.summary().splitlines())
            return {upload_result: f"<p>{lines}</p>"} | show_corpus(view, selected)

        def ask(question: str, top_k: int = 0, mode: str = "", article_ids: list[str] | None = None) -> dict:
            """Answer one question from the articles. Returns the JSON of `python -m rag ask --json`:
            answer (text with [n] markers), citations, abstained, notice, retrieved, timings_ms, trace."""
            try:
                return assistant.ask(question, top_k=top_k or None, mode=mode or None,
                                     article_ids=article_ids or ()).to_dict()
            except BadQuestion as err:  # also an unknown mode or a bad option
                raise gr.Error(str(err)) from None

        # ------------------------------------------------------------------------------ wiring
        private = {"api_visibility": "private"}
        asking = [question, session, mode, top_k, condense, chosen]
        answer_outputs = [chatbot, question, sources, trace, trace_json, session]
        corpus_outputs = [corpus, chosen, corpus_view]
        # One engine serves every tab; it is thread-safe, so a few answers run at once (LLM answers wait
        # on the network; extractive ones are short), the rest queue.
        answering = {"concurrency_id": "answer", "concurrency_limit": ANSWER_CONCURRENCY, **private}
        question.submit(respond, asking, answer_outputs, **answering)
        ask_btn.click(respond, asking, answer_outputs, **answering)
        examples.click(lambda sample: sample[0], examples, question, queue=False, **private) \
            .then(respond, asking, answer_outputs, **answering)
        clear_btn.click(clear, session, answer_outputs, queue=False, **private)
        chatbot.clear(clear, session, answer_outputs, queue=False, **private)
        corpus_query.submit(search_corpus, [corpus_query, chosen], corpus_outputs, **private)
        prev_btn.click(lambda v, s: turn_page(v, s, -1), [corpus_view, chosen], corpus_outputs, **private)
        next_btn.click(lambda v, s: turn_page(v, s, 1), [corpus_view, chosen], corpus_outputs, **private)
        indexing = {"concurrency_id": "index", **private}
        upload.upload(add_files, [upload, corpus_view, chosen], [upload, upload_result, *corpus_outputs], **indexing)
        rescan_btn.click(rescan, [corpus_view, chosen], [upload_result, *corpus_outputs], **indexing)
        demo.load(on_load, [corpus_view, chosen], [*corpus_outputs, examples], **private)
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

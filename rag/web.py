"""The web page: a Gradio Blocks chat over `rag.Assistant` (the one engine; no retrieval logic here).

Three parts: `Session` (one browser tab's conversation, kept as Answers and rendered on demand), the
handlers (plain functions of the assistant, each returning a dict keyed by component), and `build`
(layout and wiring). All HTML comes from `rag.render`, which escapes every untrusted value; the chat shows
that HTML with Markdown rendering off. Nothing is fetched from outside 127.0.0.1 (system fonts, no CDN).

Every answer is saved as data in the conversation store (`rag.conversations`, per user when the login is
on); a saved conversation can be reopened (its follow-ups are condensed against it), renamed, deleted and
exported as Markdown or JSON.

Run: `python app.py [--host H] [--port P]` (or `python -m rag serve`). API: `/ask` (see README); the same
server also serves /v1 and /mcp (rag/server.py).
"""
from __future__ import annotations

import argparse
import contextlib
import math
import shutil
import sqlite3
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

from . import conversations, uploads
from .assistant import Assistant, BadQuestion, CorpusMissing
from .conversations import BadTitle, Conversation, Conversations
from .index import IndexDamaged, StoreUnavailable
from .render import (answer_html, corpus_html, error_html, shown, sources_html, trace_html,
                     upload_html)
from .types import Answer

ANSWER_CONCURRENCY = 4
ARTICLES_PER_PAGE = 25
EXAMPLES = 3  # example questions, made from the newest articles' headlines
REPLAYED_TURNS = 5  # turns of a reopened conversation replayed for condensing (as /v1 does)
EXPORTS_KEPT_S = 600  # an export file stays this long (Gradio serves its own copy of it)


class Session:
    """One browser tab: its conversation (a rag Chat, for follow-ups), the answers given so far, and the
    saved conversation they go to ('' until the first answer is saved)."""

    def __init__(self, assistant: Assistant, saved: Conversation | None = None):
        self.chat = assistant.chat()
        self.answers: list[Answer] = list(saved.answers) if saved else []
        self.conversation_id, self.title = (saved.id, saved.title) if saved else ("", "")
        for answer in self.answers[-REPLAYED_TURNS:]:  # a follow-up is condensed against the reopened turns
            self.chat.add_turn(answer.question, answer.text)

    def messages(self, pending: tuple[str, str] | None = None) -> list[dict]:
        """The chat as Gradio messages, rendered from the answers (plus a question still being answered)."""
        out = []
        for turn, answer in enumerate(self.answers, 1):
            out += [{"role": "user", "content": shown(answer.question)},
                    {"role": "assistant", "content": answer_html(answer, turn)}]
        if pending:
            out += [{"role": "user", "content": shown(pending[0])}, {"role": "assistant", "content": pending[1]}]
        return out


class Catalogue:
    """The indexed articles as the page lists them: the article table, its search and the example questions.

    `Index.articles()` is kept until the index changes; reading it again from the store pages every chunk's
    metadata: 8 s at 10k articles, 91 s at 100k (docs/PAGE.md). So the page reads it in one place: a lock
    makes page loads that arrive together wait for one read instead of each doing its own, and `warm` does
    that read in the background when the server starts, not on the first visit. A search matches the
    query in each article's title, id and source, case-insensitively (as `Assistant.articles(query)`),
    against those texts lower-cased once per catalogue: 100k articles are searched in milliseconds."""

    def __init__(self, assistant: Assistant):
        self.assistant = assistant
        self.lock = threading.Lock()
        self._rows: list[dict] | None = None
        self._haystack: list[str] = []

    def rows(self, query: str = "") -> list[dict]:
        with self.lock:
            rows = self.assistant.articles()
            if rows is not self._rows:  # a new catalogue: the index changed
                self._rows = rows
                self._haystack = [f"{r['title']} {r['article_id']} {r['source']}".lower() for r in rows]
            haystack = self._haystack
        if not query:
            return rows
        needle = query.lower()
        return [row for row, text in zip(rows, haystack) if needle in text]

    def warm(self) -> None:
        threading.Thread(target=self.rows, name="catalogue", daemon=True).start()

    def page(self, query: str, page: int) -> dict:
        """One page of the article table: its rows, the page number (clamped) and count, how many articles
        match and exist."""
        rows = self.rows(query)
        total = len(rows) if not query else len(self.rows())
        pages = max(1, math.ceil(len(rows) / ARTICLES_PER_PAGE))
        page = min(max(1, page), pages)
        return {"rows": rows[(page - 1) * ARTICLES_PER_PAGE:page * ARTICLES_PER_PAGE], "page": page,
                "pages": pages, "matching": len(rows), "total": total}

    def examples(self) -> list[str]:
        """Questions about the user's own corpus: what the newest articles are about (none when empty).
        The rows are sorted by date then id already: the newest are the last."""
        newest = self.rows()[-EXAMPLES:][::-1]
        return [f"What is “{a['title'][:80]}” about?" for a in newest if a["title"]]


def owner(request) -> str:
    """Whose conversations: the logged-in user's name, or '' (everyone) when the page has no login."""
    return (getattr(request, "username", None) or "") if request is not None else ""


def export_file(conversation: Conversation, suffix: str, folder: Path) -> Path:
    """Write an export (Markdown or JSON) into a fresh subfolder of `folder`, named after the title;
    exports older than EXPORTS_KEPT_S are removed first (Gradio serves its own copy of the file)."""
    for old in folder.glob("*"):
        with contextlib.suppress(OSError):  # another tab's export may be removing it too
            if time.time() - old.stat().st_mtime > EXPORTS_KEPT_S:
                shutil.rmtree(old, ignore_errors=True)
    name = uploads.safe_name(conversation.title + suffix) or f"conversation{suffix}"
    target = folder / uuid.uuid4().hex / name
    target.parent.mkdir(parents=True)
    text = conversations.to_markdown(conversation) if suffix == ".md" else conversations.to_json(conversation)
    target.write_text(text, encoding="utf-8")
    return target


gr = None  # gradio, imported by `build` (importing this module stays light: `rag mcp` uses its constants)


def build(assistant: Assistant):
    global gr  # a module global, so that the handlers' `request: gr.Request` annotations resolve
    import gradio as gr

    settings = assistant.settings
    modes = ["extractive", "llm"] if settings.llm_configured else ["extractive"]
    store = Conversations(Path(settings.index_dir) / conversations.FILE_NAME)
    catalogue = Catalogue(assistant)
    catalogue.warm()
    exports = Path(tempfile.gettempdir()) / "rag-exports"

    # ------------------------------------------------------------------------------------ layout
    with gr.Blocks(title="Ask your articles", delete_cache=(3600, 3600)) as demo:
        session = gr.State(None)
        corpus_view = gr.State({"query": "", "page": 1})
        convs_view = gr.State({"page": 1})
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
                clear_btn = gr.Button("New conversation", size="sm", elem_id="clear")
                with gr.Accordion("Trace of the last answer", open=False, elem_id="trace"):
                    trace = gr.HTML(elem_id="trace-html")
                    with gr.Accordion("Raw trace (JSON)", open=False):
                        trace_json = gr.JSON(show_label=False)
                # the × of a date chip (see render.HEAD) puts its turn here and clicks the button
                undate_turn = gr.Textbox(visible="hidden", elem_id="undate-turn")
                undate_btn = gr.Button(visible="hidden", elem_id="undate-go")
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
                                           f"{settings.upload_max_files} files of {settings.upload_max_mb:g} MB, "
                                           f"{settings.upload_max_sentences:,} sentences)",
                                     file_count="multiple", file_types=allowed, type="filepath",
                                     elem_id="upload", height=120)
                    upload_result = gr.HTML(elem_id="upload-result")
                    rescan_btn = gr.Button("Re-read the corpus folder", size="sm")
            with gr.Column(scale=2):
                with gr.Accordion("Saved conversations", open=True, elem_id="convs"):
                    convs_info = gr.HTML(elem_id="convs-info")
                    convs = gr.Radio([], label="Newest first: choose one to reopen it", elem_id="convs-list")
                    with gr.Row():
                        convs_prev = gr.Button("‹ Newer", size="sm", min_width=60, elem_id="convs-prev")
                        convs_next = gr.Button("Older ›", size="sm", min_width=60, elem_id="convs-next")
                    with gr.Row():
                        title = gr.Textbox(label="Title of this conversation", elem_id="conv-title", scale=4,
                                           max_length=conversations.TITLE_MAX)
                        rename_btn = gr.Button("Rename", size="sm", scale=1, min_width=70, elem_id="conv-rename")
                    with gr.Row():
                        md_btn = gr.Button("Export Markdown", size="sm", elem_id="conv-md")
                        json_btn = gr.Button("Export JSON", size="sm", elem_id="conv-json")
                        delete_btn = gr.Button("Delete", size="sm", variant="stop", elem_id="conv-delete")
                    exported = gr.File(label="Export", interactive=False, elem_id="conv-export", visible=False)
                with gr.Accordion("Settings", open=True, elem_id="settings"):
                    mode = gr.Radio(modes, value=settings.effective_mode, label="Answer mode",
                                    info=None if settings.llm_configured else
                                    "LLM answers need OPENAI_API_KEY or OPENAI_BASE_URL.")
                    top_k = gr.Slider(1, 20, value=settings.top_k, step=1, label="Passages to retrieve (top k)")
                    condense = gr.Checkbox(settings.condense_followups,
                                           label="Rewrite follow-up questions using the conversation")

        # ---------------------------------------------------------------------------- handlers
        def conversation_list(user: str, page: int, current: str) -> dict:
            listed, total = store.page(user, page)
            pages = max(1, math.ceil(total / conversations.PAGE_SIZE))
            if page > pages:
                listed, _ = store.page(user, pages)
            page = min(max(1, page), pages)
            choices = [(f"{c.title} · {c.turns} {'answer' if c.turns == 1 else 'answers'} · "
                        f"{time.strftime('%Y-%m-%d %H:%M', time.localtime(c.updated))}", c.id) for c in listed]
            info = (f'<p class="rag-convs">{total:,} saved; page {page} of {pages}.</p>' if total else
                    '<p class="rag-convs">None yet: each answer is saved, under the first question as title.</p>')
            value = current if current in {c.id for c in listed} else None
            return {convs: gr.update(choices=choices, value=value), convs_info: info, convs_view: {"page": page}}

        def shown_session(sess: Session, user: str, page: int = 1) -> dict:
            """Everything that shows a session: the chat, its sources, the last trace, its title, the list."""
            last = sess.answers[-1] if sess.answers else None
            return {chatbot: sess.messages(), question: "", sources: sources_html(sess.answers),
                    trace: trace_html(last) if last else "", trace_json: last.trace.to_dict() if last else None,
                    session: sess, title: sess.title, exported: gr.update(value=None, visible=False)} \
                | conversation_list(user, page, sess.conversation_id)

        def save(sess: Session, answer: Answer, user: str) -> None:
            """Add the answer to the session's saved conversation (a new one for its first answer, or when
            the old one is full or was deleted meanwhile). A failure to save is said, and loses the answer
            only from the store: it is on the page."""
            try:
                if not sess.conversation_id or not store.append(sess.conversation_id, user, answer):
                    if sess.conversation_id:
                        gr.Info("That conversation is full or was deleted: the answers continue in a new one.")
                    started = store.start(user, answer.question)
                    sess.conversation_id, sess.title = started.id, started.title
                    store.append(sess.conversation_id, user, answer)
            except sqlite3.Error as err:
                gr.Warning(f"This answer could not be saved ({err}); it is shown but not stored.")

        def answer_turn(text, sess, mode_value, k, condense_value, article_ids, user, dates=True):
            sess = sess or Session(assistant)
            try:
                sess.chat.condense = bool(condense_value)
                stream = sess.chat.stream(text or "", top_k=int(k), mode=mode_value,
                                          article_ids=list(article_ids or ()), dates=dates)
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
            sess.answers.append(stream.answer)
            save(sess, stream.answer, user)
            yield shown_session(sess, user)

        def respond(text, sess, mode_value, k, condense_value, article_ids, request: gr.Request):
            yield from answer_turn(text, sess, mode_value, k, condense_value, article_ids, owner(request))

        def undate(turn, sess, mode_value, k, condense_value, request: gr.Request):
            """The × of a date chip: that turn's question again, with its other filters, with no date taken
            from it."""
            try:
                answer = sess.answers[int(turn) - 1]
            except (AttributeError, ValueError, TypeError, IndexError):
                yield {}
                return
            yield from answer_turn(answer.question, sess, mode_value, k, condense_value,
                                   answer.filters.article_ids, owner(request), dates=False)

        def new_conversation(request: gr.Request):
            return shown_session(Session(assistant), owner(request))

        def reopen(conversation_id, request: gr.Request):
            user = owner(request)
            saved = store.load(conversation_id, user) if conversation_id else None
            if saved is None:
                gr.Warning("That conversation no longer exists.")
                return conversation_list(user, 1, "")
            return shown_session(Session(assistant, saved), user)

        def newer(view, sess, request: gr.Request):
            return conversation_list(owner(request), view["page"] - 1, sess.conversation_id if sess else "")

        def older(view, sess, request: gr.Request):
            return conversation_list(owner(request), view["page"] + 1, sess.conversation_id if sess else "")

        def rename(new_title, sess, view, request: gr.Request):
            user = owner(request)
            if not (sess and sess.conversation_id):
                gr.Warning("Nothing to rename yet: a conversation is saved with its first answer.")
                return {title: ""}
            try:
                done = store.rename(sess.conversation_id, user, new_title or "")
            except BadTitle as err:
                gr.Warning(str(err))
                return {}
            if not done:
                gr.Warning("That conversation no longer exists.")
            sess.title = done
            return {title: done, session: sess} | conversation_list(user, view["page"], sess.conversation_id)

        def delete(sess, view, request: gr.Request):
            user = owner(request)
            if not (sess and sess.conversation_id):
                gr.Warning("Nothing to delete: this conversation has not been saved.")
                return {}
            if store.delete(sess.conversation_id, user):
                gr.Info(f"Deleted “{sess.title}”.")
            return shown_session(Session(assistant), user, view["page"])

        def export(sess, suffix: str, user: str):
            saved = store.load(sess.conversation_id, user) if sess and sess.conversation_id else None
            if saved is None:
                gr.Warning("Nothing to export yet: a conversation is saved with its first answer.")
                return gr.update()
            return gr.update(value=str(export_file(saved, suffix, exports)), visible=True)

        def export_markdown(sess, request: gr.Request):
            return export(sess, ".md", owner(request))

        def export_json(sess, request: gr.Request):
            return export(sess, ".json", owner(request))

        def show_corpus(view, selected):
            got = catalogue.page(view["query"], view["page"])
            keep = list(selected or [])
            choices = [(f"{a['title'][:90]} ({a['date'] or 'no date'})", a["article_id"]) for a in got["rows"]]
            choices += [(aid, aid) for aid in keep if aid not in {a["article_id"] for a in got["rows"]}]
            return {corpus: corpus_html(got["rows"], got["total"], got["matching"], got["page"], got["pages"],
                                        view["query"]),
                    chosen: gr.update(choices=choices, value=keep), corpus_view: view | {"page": got["page"]}}

        def search_corpus(text, selected):
            return show_corpus({"query": (text or "").strip(), "page": 1}, selected)

        def turn_page(view, selected, step):
            return show_corpus({"query": view["query"], "page": view["page"] + step}, selected)

        def list_conversations(request: gr.Request):
            return conversation_list(owner(request), 1, "")

        def load_corpus(view, selected):
            return show_corpus(view, selected) | {examples: gr.Dataset(samples=[[q] for q in catalogue.examples()])}

        def add_files(files, view, selected, progress=gr.Progress()):
            # Not preprocessed (see the wiring): `files` are Gradio's file records, each an uploaded file's
            # path (checked by Gradio to lie in its upload folder) and the name the user's file had.
            named = [(Path(f["path"]), f.get("orig_name") or Path(f["path"]).name) for f in files or []]
            try:
                results, report = uploads.add(assistant, named,
                                              progress=lambda fraction, message: progress(fraction, desc=message))
            finally:
                uploads.discard([path for path, _ in named])  # Gradio's copies: never kept, accepted or not
            summary = upload_html(results)
            if report is not None:
                summary += f"<p>Index: {shown(report.summary().splitlines()[1])}.</p>"
                summary += "".join(f"<p>{shown(note)}</p>" for path, note in report.notes if path == "(corpus folder)")
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
        options = [session, mode, top_k, condense, chosen]
        listing = [convs, convs_info, convs_view]
        shown_outputs = [chatbot, question, sources, trace, trace_json, session, title, exported, *listing]
        # One engine serves every tab; it is thread-safe, so a few answers run at once (LLM answers wait
        # on the network; extractive ones are short), the rest queue.
        answering = {"concurrency_id": "answer", "concurrency_limit": ANSWER_CONCURRENCY, **private}
        question.submit(respond, [question, *options], shown_outputs, **answering)
        ask_btn.click(respond, [question, *options], shown_outputs, **answering)
        undate_btn.click(undate, [undate_turn, session, mode, top_k, condense], shown_outputs, **answering)
        examples.click(lambda sample: sample[0], examples, question, queue=False, **private) \
            .then(respond, [question, *options], shown_outputs, **answering)
        clear_btn.click(new_conversation, None, shown_outputs, queue=False, **private)
        chatbot.clear(new_conversation, None, shown_outputs, queue=False, **private)
        convs.input(reopen, convs, shown_outputs, **private)
        convs_prev.click(newer, [convs_view, session], listing, **private)
        convs_next.click(older, [convs_view, session], listing, **private)
        rename_btn.click(rename, [title, session, convs_view], [title, session, *listing], **private)
        title.submit(rename, [title, session, convs_view], [title, session, *listing], **private)
        delete_btn.click(delete, [session, convs_view], shown_outputs, **private)
        md_btn.click(export_markdown, session, exported, **private)
        json_btn.click(export_json, session, exported, **private)
        corpus_outputs = [corpus, chosen, corpus_view]
        corpus_query.submit(search_corpus, [corpus_query, chosen], corpus_outputs, **private)
        prev_btn.click(lambda v, s: turn_page(v, s, -1), [corpus_view, chosen], corpus_outputs, **private)
        next_btn.click(lambda v, s: turn_page(v, s, 1), [corpus_view, chosen], corpus_outputs, **private)
        # Indexing has a queue of its own: an upload never holds up the answers' queue. The upload's
        # inputs are not preprocessed: gr.File's preprocessing (type="filepath") leaves an empty temporary
        # file in Gradio's cache for every file, for good (Gradio 6.31).
        indexing = {"concurrency_id": "index", "concurrency_limit": 1, **private}
        upload.upload(add_files, [upload, corpus_view, chosen], [upload, upload_result, *corpus_outputs],
                      preprocess=False, **indexing)
        rescan_btn.click(rescan, [corpus_view, chosen], [upload_result, *corpus_outputs], **indexing)
        # two loads: the conversation list shows at once, even while a large catalogue is still being read
        demo.load(list_conversations, None, listing, **private)
        demo.load(load_corpus, [corpus_view, chosen], [*corpus_outputs, examples], **private)
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

"""Placeholder page (replaced by the Gradio page): serves a minimal chat over rag.Assistant."""
from __future__ import annotations

import argparse
import sys

import rag
from rag import Assistant, BadQuestion


def main(argv: list[str] | None = None) -> int:
    import gradio as gr

    args = argparse.ArgumentParser()
    args.add_argument("--host", default=None)
    args.add_argument("--port", type=int, default=None)
    opts = args.parse_args(argv)
    assistant = Assistant()
    if not assistant.index.collection.count():
        assistant.ingest()

    def respond(message, history):
        try:
            return assistant.ask(message).text
        except BadQuestion as err:
            return str(err)

    gr.ChatInterface(respond).launch(server_name=opts.host or assistant.settings.host,
                                     server_port=opts.port or assistant.settings.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())

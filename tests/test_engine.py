"""The query engine on the seed corpus: correct extractive answers with correct citations, honest
abstention, the JSON contract, filters, chat, streaming and the LlamaIndex query engine."""
from __future__ import annotations

import json
import subprocess

import pytest

from rag import BadQuestion
from rag.corpus import read_article

from conftest import PYTHON, ROOT

# The README's example questions: the fact each answer must contain and the article it must cite.
EXAMPLES = [
    ("How many GPUs did Twitter buy?", "10,000", "2023-04-11-twitter-buys-10000-gpus.md"),
    ("Where will the GPUs be installed?", "Atlanta", None),
    ("Who did Musk hire for the project?", "Igor Babuschkin", None),
    ("How much did the purchase cost?", "tens of millions", None),
    ("Who first reported the purchase?", "Business Insider", "2023-04-11-twitter-buys-10000-gpus.md"),
    ("Which exact GPU model did Twitter buy?", "unclear", "2023-04-12-twitter-gpu-purchase-what-we-know.md"),
]
UNANSWERABLE = ["What is Tesla's share price?", "How many GPUs did Facebook buy?", "Who is the CEO of Nvidia?"]


@pytest.mark.parametrize("question,fact,article", EXAMPLES)
def test_extractive_answers_are_correct_and_cited(seed_assistant, seed_corpus, question, fact, article):
    answer = seed_assistant.ask(question)
    assert not answer.abstained
    assert fact in answer.text
    assert answer.citations and answer.text.count("[1]") >= 1
    cited = {c.article_id for c in answer.citations}
    if article:
        assert article in cited
    for citation in answer.citations:
        # the citation points at the right place: its span is exactly its passage in the article text,
        # and the sentence quoted in the answer is inside that passage
        source, _ = read_article(seed_corpus / citation.article_id, citation.article_id, 10**7)
        assert source.text[citation.start:citation.end] == citation.text
        assert citation.quote and citation.quote in citation.text and citation.quote in answer.text
        assert citation.title == source.title and citation.date == source.date


def test_answers_are_short_sentences_not_whole_chunks(seed_assistant):
    answer = seed_assistant.ask("How many GPUs did Twitter buy?")
    assert len(answer.text) < 0.6 * len(answer.citations[0].text)


@pytest.mark.parametrize("question", UNANSWERABLE)
def test_abstains_when_the_articles_do_not_say(seed_assistant, question):
    answer = seed_assistant.ask(question)
    assert answer.abstained
    assert answer.text == seed_assistant.settings.abstain_text
    assert answer.citations == [] and answer.retrieved, "related passages are still shown"


def test_citation_numbers_follow_first_use(seed_assistant):
    for question, *_ in EXAMPLES:
        answer = seed_assistant.ask(question, top_k=8)
        assert [c.n for c in answer.citations] == list(range(1, len(answer.citations) + 1))
        import re
        used = [int(n) for n in re.findall(r"\[(\d+)\]", answer.text)]
        assert sorted(set(used)) == [c.n for c in answer.citations]
        assert used[0] == 1


def test_filters_restrict_retrieval(seed_assistant):
    second = "2023-04-12-twitter-gpu-purchase-what-we-know.md"
    answer = seed_assistant.ask("How many GPUs did Twitter buy?", article_ids=[second])
    assert {p.article_id for p in answer.retrieved} == {second}
    dated = seed_assistant.ask("How many GPUs did Twitter buy?", date_from="2023-04-12", date_to="2023-04-30")
    assert {p.article_id for p in dated.retrieved} == {second}
    assert seed_assistant.ask("GPUs", date_from="2024-01-01").retrieved == []


def test_bad_questions(seed_assistant):
    for bad in ("", "   \n\t", "\x00\x07"):
        with pytest.raises(BadQuestion):
            seed_assistant.ask(bad)
    long = seed_assistant.ask("How many GPUs did Twitter buy? " * 1000)
    assert "only the first" in long.notice and long.trace.question.startswith("How many GPUs")


def test_trace_has_timings_and_stages(seed_assistant):
    answer = seed_assistant.ask("Where will the GPUs be installed?")
    trace = answer.trace
    assert {"retrieve", "answer", "total"} <= set(trace.timings_ms)
    assert trace.mode == "extractive" and trace.standalone == "Where will the GPUs be installed?"
    assert trace.cited_ids and set(trace.cited_ids) <= set(trace.retrieved_ids)


def test_chat_rewrites_follow_ups(seed_assistant):
    chat = seed_assistant.chat()
    chat.ask("How many GPUs did Twitter buy?")
    follow = chat.ask("and where will they be installed?")
    assert "Atlanta" in follow.text
    assert "GPUs" in follow.trace.standalone and follow.question == "and where will they be installed?"
    plain = seed_assistant.chat(condense=False)
    plain.ask("How many GPUs did Twitter buy?")
    assert plain.ask("and where will they be installed?").trace.standalone == "and where will they be installed?"


def test_stream_yields_the_answer(seed_assistant):
    stream = seed_assistant.stream("How many GPUs did Twitter buy?")
    assert stream.retrieved, "retrieval happens before iteration"
    text = "".join(stream)
    assert text == stream.answer.text and "10,000" in text


def test_llamaindex_query_engine(seed_assistant):
    import asyncio

    from llama_index.core.base.response.schema import Response, StreamingResponse

    engine = seed_assistant.as_query_engine()
    response = engine.query("How many GPUs did Twitter buy?")
    assert isinstance(response, Response) and "10,000" in str(response)
    assert response.source_nodes and response.metadata["citations"][0]["n"] == 1
    assert response.source_nodes[0].node.metadata["article_id"].endswith(".md")
    again = asyncio.run(engine.aquery("How many GPUs did Twitter buy?"))
    assert str(again) == str(response)
    streaming = seed_assistant.as_query_engine(streaming=True).query("Where will the GPUs be installed?")
    assert isinstance(streaming, StreamingResponse)
    assert "Atlanta" in "".join(streaming.response_gen) and streaming.metadata["citations"]


def _cli(*args, stdin=None, index):
    return subprocess.run([PYTHON, "-m", "rag", "ask", *args, "--index", str(index)], input=stdin,
                          cwd=ROOT, capture_output=True, text=True, timeout=180)


@pytest.mark.slow
def test_cli_json_contract(seed_assistant):
    index = seed_assistant.settings.index_dir
    out = _cli("How many GPUs did Twitter buy?", "--json", "--top-k", "3", "--mode", "extractive", index=index)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert {"question", "answer", "abstained", "citations", "retrieved", "timings_ms"} <= set(result)
    assert result["abstained"] is False and "10,000" in result["answer"]
    assert set(result["citations"][0]) >= {"n", "article_id", "title", "date", "text", "start", "end", "score"}
    assert len(result["retrieved"]) == 3
    assert set(result["retrieved"][0]) >= {"article_id", "title", "text", "score"}
    assert result["retrieved"][0]["score"] >= result["retrieved"][-1]["score"]
    empty = _cli("   ", "--json", index=index)
    assert empty.returncode == 1 and "error" in json.loads(empty.stdout) and "Traceback" not in empty.stderr


@pytest.mark.slow
def test_cli_reads_questions_from_stdin(seed_assistant):
    out = _cli("--json", stdin="How many GPUs did Twitter buy?\n\nWhat is Tesla's share price?\n",
               index=seed_assistant.settings.index_dir)
    assert out.returncode == 0, out.stderr
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(lines) == 3
    assert "10,000" in lines[0]["answer"] and "error" in lines[1] and lines[2]["abstained"] is True


@pytest.mark.slow
def test_readme_python_example_runs(seed_corpus, tmp_path):
    """The README's Python example, run as written (with a temporary index)."""
    readme = (ROOT / "README.md").read_text()
    code = readme.split("<!-- python-example -->")[1].split("```python")[1].split("```")[0]
    env = {"RAG_CORPUS_DIR": str(seed_corpus), "RAG_INDEX_DIR": str(tmp_path), "RAG_ANSWER_MODE": "extractive"}
    import os
    out = subprocess.run([PYTHON, "-c", code], cwd=ROOT, env={**os.environ, **env}, capture_output=True,
                         text=True, timeout=180)
    assert out.returncode == 0, out.stderr
    assert "10,000" in out.stdout

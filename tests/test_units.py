"""Unit tests of the small pure parts: sentence splitting, fusion, follow-up rewriting, stop words, and the
CLI run in-process over a tiny hashed embedding. No model, no server: part of `make test-fast`."""
from __future__ import annotations

import json

import pytest

from rag.chat import condense, looks_dependent, rewrite
from rag.retrieve import RRF_K, fuse
from rag.text import BM25_STOPWORDS, STOPWORDS, sentence_spans, terms
from rag.types import Answer, Trace

from fakes import HashEmbedding, ScriptedLLM


def sentences(text: str) -> list[str]:
    return [text[a:b] for a, b in sentence_spans(text)]


@pytest.mark.parametrize("text, expected", [
    ("Twitter bought GPUs. It will train a model.", ["Twitter bought GPUs.", "It will train a model."]),
    ("Mr. Musk spoke. J. Smith listened.", ["Mr. Musk spoke.", "J. Smith listened."]),
    ("The U.S. market grew 4.5% in 2023. Prices rose.", ["The U.S. market grew 4.5% in 2023.", "Prices rose."]),
    ('"It is big," he said. "Very big." Then he left.', ['"It is big," he said.', '"Very big."', "Then he left."]),
    ("Claim one. [1] Claim two. [2]", ["Claim one. [1]", "Claim two. [2]"]),
    ("A headline\nThe first line of the body.", ["A headline", "The first line of the body."]),
    ("lower case after a stop. still the same sentence.", ["lower case after a stop. still the same sentence."]),
    ("   ", []),
])
def test_sentence_spans(text, expected):
    assert sentences(text) == expected


def test_sentence_spans_are_exact_offsets_into_the_text():
    text = "  One sentence here.   Another one!\n\n Third?  "
    for start, end in sentence_spans(text):
        assert text[start:end] == text[start:end].strip() and text[start:end]


def test_fuse_is_reciprocal_rank_fusion():
    fused = fuse([["a", "b", "c"], ["c", "a"]])
    assert fused["a"] == pytest.approx(1 / (RRF_K + 1) + 1 / (RRF_K + 2))
    assert fused["c"] == pytest.approx(1 / (RRF_K + 3) + 1 / (RRF_K + 1))
    assert fused["b"] == pytest.approx(1 / (RRF_K + 2))
    assert sorted(fused, key=lambda k: -fused[k]) == ["a", "c", "b"]
    assert fuse([]) == {} and fuse([[], []]) == {}


def test_stop_words_are_the_bm25_index_ones_plus_question_words():
    from bm25s.stopwords import STOPWORDS_EN

    assert BM25_STOPWORDS == frozenset(STOPWORDS_EN)
    assert BM25_STOPWORDS < STOPWORDS and {"what", "how", "many"} <= STOPWORDS
    assert terms("How many GPUs did Twitter buy?") == ["gpus", "twitter", "buy"]


@pytest.mark.parametrize("question, dependent", [
    ("and where will they be installed?", True),
    ("What about Portland?", True),
    ("Why?", True),
    ("Which data center did Twitter shut down in December 2022?", False),
])
def test_looks_dependent(question, dependent):
    assert looks_dependent(question) is dependent


def test_rewrite_carries_the_previous_topic_into_a_follow_up():
    previous = "How many GPUs did Twitter buy?"
    assert rewrite("and where will they be installed?", previous) == "Where will they be installed? (GPUs Twitter buy)"
    standalone = "Which data center did Twitter shut down in December 2022?"
    assert rewrite(standalone, previous) == standalone
    assert rewrite("and who sold them?", "") == "and who sold them?"


def _history(question: str) -> list[Answer]:
    return [Answer(question, "Twitter bought about 10,000 GPUs [1].", False,
                   trace=Trace(question=question, standalone=question))]


def test_condense_uses_the_model_and_falls_back_when_it_fails():
    history = _history("How many GPUs did Twitter buy?")
    llm = ScriptedLLM(reply="  Where will Twitter install   its GPUs? ")
    assert condense("and where?", history, llm) == "Where will Twitter install its GPUs?"
    assert "How many GPUs did Twitter buy?" in llm.prompts[-1] and "[1]" not in llm.prompts[-1]
    dead = ScriptedLLM(error=ConnectionError("down"))
    assert condense("and where?", history, dead) == rewrite("and where?", "How many GPUs did Twitter buy?")
    assert condense("and where?", [], llm) == "and where?"


@pytest.fixture()
def hashed_cli(monkeypatch):
    """rag.cli.main run in-process with the tiny hashed embedding instead of MiniLM, extractive."""
    from rag import cli

    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "CHROMA_HOST", "RAG_ANSWER_MODE"):
        monkeypatch.delenv(name, raising=False)
    return lambda argv: cli.main(argv, embed_model=HashEmbedding())


def test_cli_in_process_ingest_and_ask(hashed_cli, seed_corpus, tmp_path, capsys):
    index = str(tmp_path / "index")
    assert hashed_cli(["ingest", "--json", "--corpus", str(seed_corpus), "--index", index]) == 0
    report = json.loads(capsys.readouterr().out)
    assert len(report["added"]) == 2 and report["skipped"] == []
    assert hashed_cli(["ingest", "--json", "--corpus", str(seed_corpus), "--index", index]) == 0
    assert len(json.loads(capsys.readouterr().out)["unchanged"]) == 2  # incremental: nothing re-embedded

    assert hashed_cli(["ask", "How many GPUs did Twitter buy?", "--json", "--index", index]) == 0
    answer = json.loads(capsys.readouterr().out)
    # which sentence wins depends on the embedding (the hashed one is not MiniLM); the contract does not
    assert not answer["abstained"] and "[1]" in answer["answer"] and answer["citations"]
    assert answer["question"] == "How many GPUs did Twitter buy?" and answer["trace"]["mode"] == "extractive"
    for c in answer["citations"]:
        assert c["quote"] in c["text"]
        for start, end in c["quote_spans"]:
            assert c["text"][start:end] in c["quote"]

    assert hashed_cli(["ask", "   ", "--json", "--index", index]) == 1
    assert "error" in json.loads(capsys.readouterr().out)


def test_bm25_table_ranks_as_bm25s_did(tmp_path):
    """rag/lexical.py rescores FTS5's candidates with bm25s' Lucene BM25: on a corpus smaller than the
    rescored pool the two rankings are the same (bm25s is what the index used before, kept for this)."""
    import bm25s
    import Stemmer

    from rag.lexical import LexicalIndex
    from rag.text import sentence_spans
    from rag.types import Filters

    from conftest import SEED_CORPUS

    docs = [text[a:b] for path in sorted(SEED_CORPUS.glob("*.md")) for text in [path.read_text()]
            for a, b in sentence_spans(text)]
    lexical = LexicalIndex(tmp_path / "bm25.sqlite")
    lexical.add([(f"d{i}", f"a{i}", "", "", doc) for i, doc in enumerate(docs)])
    stemmer = Stemmer.Stemmer("english")
    reference = bm25s.BM25()
    reference.index(bm25s.tokenize(docs, stopwords="en", stemmer=stemmer, show_progress=False), show_progress=False)
    for question in ("How many GPUs did Twitter buy?", "Where is the Atlanta data center?",
                     "Who signed the open letter calling for a pause?", "Musk OpenAI board 2018"):
        ids, scores = reference.retrieve(bm25s.tokenize(question, stopwords="en", stemmer=stemmer,
                                                        show_progress=False), k=len(docs), show_progress=False)
        score = {f"d{i}": float(s) for i, s in zip(ids[0], scores[0]) if s > 0}
        got = lexical.search(question, 10, Filters())
        # the same order, up to ties (equal scores may come in either order)
        assert [round(score[g], 4) for g in got] == sorted((round(s, 4) for s in score.values()), reverse=True)[:10], question
    # filters are applied in SQL, and an article removed is gone from every ranking
    assert lexical.search("GPUs", 10, Filters(article_ids=("a3",))) in ([], ["d3"])
    lexical.delete_articles([f"a{i}" for i in range(len(docs))])
    assert lexical.count() == 0 and lexical.search("GPUs", 10, Filters()) == []


def test_postings_budget_takes_candidates_from_the_rarest_terms_and_scores_with_all(tmp_path, monkeypatch):
    """The budget measured in docs/SCALING.md (off in the engine): candidates come from the rarest terms
    only, but every term of the question still counts in their score."""
    import rag.lexical as lexical_module
    from rag.types import Filters

    assert lexical_module._rarest({"common": 90, "rare": 2, "mid": 10}, None) == ["common", "rare", "mid"]
    assert lexical_module._rarest({"common": 90, "rare": 2, "mid": 10}, 12) == ["rare", "mid"]
    assert lexical_module._rarest({"common": 90}, 12) == ["common"]  # never no term at all
    lexical = lexical_module.LexicalIndex(tmp_path / "bm25.sqlite")
    rows = [(f"c{i}", f"a{i}", "", "", "harbour strike crane" if i < 4 else "harbour strike") for i in range(20)]
    rows += [("rare1", "r1", "", "", "harbour levy vote"), ("rare2", "r2", "", "", "harbour crane levy vote")]
    lexical.add(rows)
    monkeypatch.setattr(lexical_module, "POSTINGS_BUDGET", 2)  # only "levy" (in 2 chunks) picks candidates
    assert lexical.search("harbour crane levy", 5, Filters()) == ["rare2", "rare1"]  # crane and harbour still score
    monkeypatch.setattr(lexical_module, "POSTINGS_BUDGET", None)
    got = lexical.search("harbour crane levy", 5, Filters())
    assert got[0] == "rare2" and len(got) == 5

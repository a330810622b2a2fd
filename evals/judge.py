"""LLM-judged RAGAS metrics (`--judge`): Faithfulness, AnswerRelevancy, ContextPrecisionWithReference,
ContextRecall, FactualCorrectness from `ragas.metrics.collections`, each awaited per question.

The judge is any OpenAI-compatible server (OPENAI_BASE_URL) or OpenAI itself (OPENAI_API_KEY).
- With OPENAI_BASE_URL the judge is `ragas.llms.base.InstructorLLM` over an instructor client in
  JSON_SCHEMA mode: llama.cpp/vLLM then constrain decoding to the response schema. `llm_factory`
  hard-codes instructor's JSON mode, in which tiny local models emit invalid JSON until max_tokens.
- With only OPENAI_API_KEY, `llm_factory(model, client=AsyncOpenAI())` (ragas' default wiring).
- AnswerRelevancy compares embeddings of the question and of questions generated from the answer. It
  uses the packaged MiniLM (`rag.embedding.MiniLMEmbedding`, wrapped below as a ragas embedding): it
  needs no key or network, and a local OpenAI-compatible server usually serves no embedding model.
Every (metric, question, run) that raises, times out or returns NaN is a counted failure and scores 0,
so an unreliable judge lowers the means instead of silently dropping questions.
"""
from __future__ import annotations

import asyncio
import math
from statistics import mean

from ragas.embeddings.base import BaseRagasEmbedding

JUDGE_METRICS = ("faithfulness", "answer_relevancy", "context_precision_with_reference", "context_recall",
                 "factual_correctness")


class MiniLMForRagas(BaseRagasEmbedding):
    """The assistant's own offline embedding model behind ragas' modern embedding interface."""

    def __init__(self, model=None):
        super().__init__()
        if model is None:
            from rag.embedding import MiniLMEmbedding

            model = MiniLMEmbedding()
        self.model = model

    def embed_text(self, text: str, **kwargs) -> list[float]:
        return self.model.embed([text])[0].tolist()

    async def aembed_text(self, text: str, **kwargs) -> list[float]:
        return self.embed_text(text)

    def embed_texts(self, texts: list[str], **kwargs) -> list[list[float]]:
        return self.model.embed(list(texts)).tolist()

    async def aembed_texts(self, texts: list[str], **kwargs) -> list[list[float]]:
        return self.embed_texts(texts)


def make_judge(settings, model: str | None = None, max_tokens: int = 512):
    """(ragas LLM, description). Raises RuntimeError when no judge is configured."""
    from openai import AsyncOpenAI

    if not settings.llm_configured:
        raise RuntimeError("--judge needs OPENAI_API_KEY or OPENAI_BASE_URL (an OpenAI-compatible server)")
    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else "not-needed"
    model = model or settings.llm_model
    client = AsyncOpenAI(api_key=key, base_url=settings.openai_base_url, timeout=settings.llm_timeout,
                         max_retries=1)
    if settings.openai_base_url:
        import instructor
        from ragas.llms.base import InstructorLLM

        llm = InstructorLLM(client=instructor.from_openai(client, mode=instructor.Mode.JSON_SCHEMA),
                            model=model, provider="openai", max_tokens=max_tokens)
        return llm, f"{model} at {settings.openai_base_url} (instructor JSON_SCHEMA mode)"
    from ragas.llms import llm_factory

    return llm_factory(model, client=client, max_tokens=max_tokens), f"{model} (OpenAI, llm_factory)"


def make_metrics(llm, embeddings) -> dict:
    from ragas.metrics.collections import (AnswerRelevancy, ContextPrecisionWithReference, ContextRecall,
                                           FactualCorrectness, Faithfulness)

    return {"faithfulness": Faithfulness(llm=llm),
            "answer_relevancy": AnswerRelevancy(llm=llm, embeddings=embeddings),
            "context_precision_with_reference": ContextPrecisionWithReference(llm=llm),
            "context_recall": ContextRecall(llm=llm),
            "factual_correctness": FactualCorrectness(llm=llm)}


def _inputs(name: str, r: dict, max_contexts: int | None) -> dict:
    contexts = [p.text for p in r["_answer"].retrieved][:max_contexts] or [""]
    question, answer, reference = r["question"], r["answer"], r["_row"].reference
    return {"faithfulness": dict(user_input=question, response=answer, retrieved_contexts=contexts),
            "answer_relevancy": dict(user_input=question, response=answer),
            "context_precision_with_reference": dict(user_input=question, reference=reference,
                                                     retrieved_contexts=contexts),
            "context_recall": dict(user_input=question, retrieved_contexts=contexts, reference=reference),
            "factual_correctness": dict(response=answer, reference=reference)}[name]


async def _score(metric, inputs: dict, timeout: float) -> tuple[float | None, str]:
    try:
        result = await asyncio.wait_for(metric.ascore(**inputs), timeout)
        value = float(getattr(result, "value", result))
    except Exception as err:  # the judge's failures are data: counted, reported, scored 0
        return None, f"{type(err).__name__}: {str(err).splitlines()[0][:160] if str(err) else ''}"
    if math.isnan(value):
        return None, "NaN"
    return value, ""


async def _judge_all(results: list[dict], metrics: dict, runs: int, timeout: float, parallel: int,
                     max_contexts: int | None) -> None:
    gate = asyncio.Semaphore(parallel)

    async def one(r: dict, name: str) -> None:
        values, errors = [], []
        for _ in range(runs):
            async with gate:
                value, error = await _score(metrics[name], _inputs(name, r, max_contexts), timeout)
            values.append(0.0 if value is None else value)
            if error:
                errors.append(error)
        r["scores"][f"judge_{name}"] = round(mean(values), 4)
        r["judge_failures"] = r.get("judge_failures", 0) + len(errors)
        if errors:
            r.setdefault("judge_errors", {})[name] = errors[:3]

    await asyncio.gather(*(one(r, name) for r in results for name in metrics))


def judge(results: list[dict], settings, runs: int = 1, model: str | None = None, timeout: float = 120.0,
          parallel: int = 2, embed_model=None, max_contexts: int | None = None, max_tokens: int = 512) -> dict:
    """Score answerable results in place (scores['judge_<metric>'], judge_failures); return a summary.
    `max_contexts` passes only the top N retrieved passages to the judge (for small-context models);
    `timeout` bounds one metric on one question, `parallel` the metrics scored at once."""
    llm, description = make_judge(settings, model, max_tokens)
    metrics = make_metrics(llm, MiniLMForRagas(embed_model))
    scored = [r for r in results if r["_row"].answerable and r["_row"].reference]
    asyncio.run(_judge_all(scored, metrics, runs, timeout, parallel, max_contexts))
    attempts = len(scored) * len(metrics) * runs
    failures = sum(r.get("judge_failures", 0) for r in scored)
    return {"judge": description, "runs": runs, "questions": len(scored), "attempts": attempts,
            "failures": failures, "failure_rate": round(failures / attempts, 4) if attempts else 0.0,
            "contexts": max_contexts or "all retrieved", "timeout_s": timeout,
            "embeddings": "MiniLM (rag.embedding.MiniLMEmbedding, offline)"}

"""The LLM answerer: OpenAI or any OpenAI-compatible server (through LlamaIndex's OpenAILike), with every
claim's citation verified afterwards."""
from __future__ import annotations

import re

from llama_index.core.llms import ChatMessage
from llama_index.llms.openai_like import OpenAILike

from . import citations as cite
from . import prompts
from .answering import AnswerGen, abstention
from .types import Answer, Passage, Query, Trace

# Anything shaped like an API key, whatever the server did to it (echoed, upper-cased, truncated).
_KEY_LIKE = re.compile(r"\b(sk|pk|rk|api|key)[-_][A-Za-z0-9_\-]{6,}|\bBearer\s+\S+", re.I)


def make_llm(settings) -> OpenAILike:
    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else "not-needed"
    return OpenAILike(
        model=settings.llm_model, api_base=settings.openai_base_url or "https://api.openai.com/v1",
        api_key=key, is_chat_model=True, context_window=8192, max_tokens=settings.llm_max_tokens,
        timeout=settings.llm_timeout, max_retries=settings.llm_retries, temperature=0.0)


def mask_secrets(text: str, secrets: list[str]) -> str:
    """Blank out configured secrets (also upper-cased or cut short: any 8+ character prefix) and anything
    that looks like a key."""
    for secret in (s for s in secrets if s):
        text = re.sub("|".join(re.escape(secret[:n]) for n in range(len(secret), 7, -1)) or re.escape(secret),
                      "***", text, flags=re.I)
    return _KEY_LIKE.sub("***", text)


def describe_error(err: BaseException, settings) -> str:
    """A one-line reason safe to show: the exception type and message with any key blanked out."""
    text = f"{type(err).__name__}: {err}".splitlines()[0][:300]
    secrets = [settings.openai_api_key.get_secret_value()] if settings.openai_api_key else []
    return mask_secrets(text, secrets)


def chat_messages(system: str, user: str) -> list[ChatMessage]:
    return [ChatMessage(role="system", content=system), ChatMessage(role="user", content=user)]


class LLMAnswerer:
    """Asks the model with the numbered passages; returns None (trace.fallback says why) when the model
    fails, so the next answerer takes over."""

    def __init__(self, llm, settings):
        self.llm = llm
        self.settings = settings

    def answer(self, query: Query, passages: list[Passage], trace: Trace, task: str = "") -> AnswerGen:
        """`task`: extra instructions for news answers (prompts.TASKS); the resolved date range is
        always stated when the question had one."""
        if not passages:
            return None
        abstain_text = self.settings.abstain_text
        context = [prompts.TASKS.get(task, "")]
        if query.date_label:
            context.append(f"The question is about articles from {query.date_label} "
                           f"({query.filters.date_from or '…'} to {query.filters.date_to or '…'}).")
        extra = "\n".join(c for c in context if c)
        messages = chat_messages(prompts.ANSWER_SYSTEM.format(abstain=abstain_text),
                                 prompts.ANSWER_USER.format(passages=prompts.format_passages(passages),
                                                            task=f"\n{extra}\n" if extra else "",
                                                            question=query.text))
        raw = ""
        try:
            for chunk in self.llm.stream_chat(messages):
                delta = chunk.delta or ""
                raw += delta
                if delta:
                    yield delta
        except Exception as err:  # network, timeout, 4xx/5xx after retries, malformed responses
            trace.fallback = describe_error(err, self.settings)
            trace.llm_partial = raw
            return None
        if not raw.strip():  # an unparseable or empty reply must not pass as "the articles don't say"
            trace.fallback = "the language model sent an empty or unreadable reply"
            return None
        trace.llm_raw = raw
        raw, trace.auto_cited = cite.attach_missing(raw, passages)
        text, citations, trace.dropped_markers = cite.resolve(raw, passages)
        said_abstain = _norm(abstain_text) in _norm(text)
        if said_abstain or not citations:
            trace.uncited_answer_withheld = not said_abstain  # we never show claims that cite nothing
            return abstention(query, passages, trace, abstain_text)
        claims = cite.claims(text)
        for c in citations:
            c.quote_spans = cite.quote_span(" ".join(claim for claim, ns in claims if c.n in ns), c.passage)
        trace.unsupported = cite.check(text, citations)
        return Answer(query.question, text, False, citations, passages, trace, kind=query.kind,
                      filters=query.filters)


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", "", text.lower()).split())

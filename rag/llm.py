"""The LLM backend: OpenAI or any OpenAI-compatible server, through LlamaIndex's OpenAILike."""
from __future__ import annotations

from llama_index.core.llms import ChatMessage
from llama_index.llms.openai_like import OpenAILike


class LLMUnavailable(RuntimeError):
    """The model could not answer after the configured retries; the message never contains a key."""


def make_llm(settings) -> OpenAILike:
    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else "not-needed"
    return OpenAILike(
        model=settings.llm_model, api_base=settings.openai_base_url or "https://api.openai.com/v1",
        api_key=key, is_chat_model=True, context_window=8192, max_tokens=settings.llm_max_tokens,
        timeout=settings.llm_timeout, max_retries=settings.llm_retries, temperature=0.0)


def describe_error(err: BaseException, settings) -> str:
    """A one-line reason safe to show: the exception type and message with any key blanked out."""
    text = f"{type(err).__name__}: {err}".splitlines()[0][:300]
    if settings.openai_api_key:
        secret = settings.openai_api_key.get_secret_value()
        if secret:
            text = text.replace(secret, "***")
    return text


def chat_messages(system: str, user: str) -> list[ChatMessage]:
    return [ChatMessage(role="system", content=system), ChatMessage(role="user", content=user)]

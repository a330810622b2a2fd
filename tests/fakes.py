"""Small stand-ins for the fast tests: an embedding and a language model that run in microseconds.

They are injected through `Assistant(embed_model=..., llm=...)`; the real MiniLM and a real llama.cpp
server are exercised by the slow tests. Never the only test of a feature.
"""
from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.base.llms.types import (ChatResponse, ChatResponseGen, CompletionResponse,
                                              CompletionResponseGen, LLMMetadata)
from llama_index.core.llms import ChatMessage, CustomLLM

from rag.text import terms

DIMS = 384


class HashEmbedding(BaseEmbedding):
    """Bag of stems hashed into 384 dimensions, unit length: texts sharing words are close."""

    model_name: str = "hash"
    slug: str = "hash-384"
    texts_embedded: int = 0

    @classmethod
    def class_name(cls) -> str:
        return "HashEmbedding"

    def embed(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), DIMS), dtype=np.float32)
        for row, text in enumerate(texts):
            for stem in terms(text) or ["(empty)"]:
                out[row, int(hashlib.md5(stem.encode()).hexdigest()[:8], 16) % DIMS] += 1.0
        self.texts_embedded += len(texts)
        return out / np.clip(np.linalg.norm(out, axis=1, keepdims=True), 1e-12, None)

    def _get_query_embedding(self, query: str) -> list[float]:
        return self.embed([query])[0].tolist()

    def _get_text_embedding(self, text: str) -> list[float]:
        return self.embed([text])[0].tolist()

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return self.embed(texts).tolist()

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)


class ScriptedLLM(CustomLLM):
    """Answers every prompt with `reply` (streamed word by word), or raises `error` when it is set."""

    reply: str = "The GPUs go to Atlanta [1]."
    error: Any = None
    prompts: list = []

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(model_name="scripted", is_chat_model=True)

    def complete(self, prompt: str, formatted: bool = False, **kwargs) -> CompletionResponse:
        self.prompts.append(prompt)
        if self.error:
            raise self.error
        return CompletionResponse(text=self.reply)

    def stream_complete(self, prompt: str, formatted: bool = False, **kwargs) -> CompletionResponseGen:
        self.prompts.append(prompt)
        if self.error:
            raise self.error
        text = ""
        for word in self.reply.split(" "):
            delta = word if not text else " " + word
            text += delta
            yield CompletionResponse(text=text, delta=delta)

    def stream_chat(self, messages: list[ChatMessage], **kwargs) -> ChatResponseGen:
        prompt = "\n".join(str(m.content) for m in messages)
        for piece in self.stream_complete(prompt):
            yield ChatResponse(message=ChatMessage(role="assistant", content=piece.text), delta=piece.delta)

    def chat(self, messages: list[ChatMessage], **kwargs) -> ChatResponse:
        return ChatResponse(message=ChatMessage(role="assistant", content=self.complete("\n".join(
            str(m.content) for m in messages)).text))

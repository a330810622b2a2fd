"""All configuration in one place: environment variables (and `.env`), overridable by keyword.

No other module reads the environment for configuration. The README's configuration table mirrors
this class; `tests/test_settings.py` checks that the two stay in step.
"""
from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict



class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore",
                                      populate_by_name=True)

    # --- corpus and index ---------------------------------------------------------------------
    corpus_dir: Path = Field(default_factory=lambda: Path.cwd() / "corpus", alias="RAG_CORPUS_DIR",
                             description="Folder of articles in any supported format, read recursively "
                                         "(default: `corpus/` in the current folder).")
    index_dir: Path = Field(default_factory=lambda: Path.cwd() / ".rag_index", alias="RAG_INDEX_DIR",
                            description="Where the embedded Chroma store, BM25 index and lock live "
                                        "(default: `.rag_index/` in the current folder).")
    max_file_mb: float = Field(10.0, alias="RAG_MAX_FILE_MB",
                               description="Files larger than this are skipped with a reason.")
    chunk_size: int = Field(224, alias="RAG_CHUNK_SIZE",
                            description="Chunk size in tokens: how much a passage shows and BM25 scores (each "
                                        "sentence is embedded on its own).")
    chunk_overlap: int = Field(32, alias="RAG_CHUNK_OVERLAP", description="Overlap between chunks in tokens.")
    ingest_batch: int = Field(512, alias="RAG_INGEST_BATCH", ge=1,
                              description="Chunks embedded and written per step: larger batches embed "
                                          "faster, smaller ones redo less work after an interrupted run.")

    # --- embeddings -----------------------------------------------------------------------------
    embed_model: str = Field("minilm", alias="RAG_EMBED_MODEL",
                             description="`minilm` (packaged, offline) or an OpenAI embedding model name "
                                         "such as `text-embedding-3-small`.")

    # --- Chroma server (optional) ---------------------------------------------------------------
    chroma_host: str | None = Field(None, alias="CHROMA_HOST",
                                    description="Use a Chroma server instead of the embedded store.")
    chroma_port: int = Field(8000, alias="CHROMA_PORT", description="Port of the Chroma server.")
    collection: str = Field("", alias="RAG_COLLECTION", pattern=r"^([A-Za-z0-9][A-Za-z0-9_-]{0,39})?$",
                            description="Prefix of the Chroma collection names (letters, digits, `-`, `_`): "
                                        "one per corpus folder when several share a Chroma server "
                                        "(default: none, `articles-<model>`).")

    # --- answering ------------------------------------------------------------------------------
    answer_mode: Literal["auto", "extractive", "llm"] = Field(
        "auto", alias="RAG_ANSWER_MODE",
        description="`auto` uses the LLM when `OPENAI_API_KEY` or `OPENAI_BASE_URL` is set, else extractive.")
    top_k: int = Field(5, alias="RAG_TOP_K", ge=1, le=50, description="Passages retrieved per question.")
    abstain_threshold: float = Field(0.38, alias="RAG_ABSTAIN_THRESHOLD",
                                     description="Support score below which the assistant says the "
                                                 "articles don't say (calibrated, see docs/CALIBRATION.md).")
    abstain_text: str = Field("The articles don't say.", alias="RAG_ABSTAIN_TEXT",
                              description="The sentence shown when the articles don't answer.")
    date_anchor: Literal["corpus", "today"] = Field(
        "corpus", alias="RAG_DATE_ANCHOR",
        description="What \"last week\" in a question is relative to: the newest article's date (`corpus`) or `today`.")
    condense_followups: bool = Field(True, alias="RAG_CONDENSE",
                                     description="Rewrite follow-up questions using the chat history.")
    max_question_chars: int = Field(2000, alias="RAG_MAX_QUESTION_CHARS",
                                    description="Longer questions are truncated, with a notice.")

    # --- LLM (OpenAI or any OpenAI-compatible server) -------------------------------------------
    openai_api_key: SecretStr | None = Field(None, alias="OPENAI_API_KEY", description="OpenAI API key.")
    openai_base_url: str | None = Field(None, alias="OPENAI_BASE_URL",
                                        description="OpenAI-compatible server (vLLM, Ollama, llama.cpp).")
    llm_model: str = Field("gpt-4o-mini", alias="RAG_LLM_MODEL", description="Chat model name.")
    llm_timeout: float = Field(30.0, alias="RAG_LLM_TIMEOUT", description="Seconds per LLM request.")
    llm_retries: int = Field(2, alias="RAG_LLM_RETRIES", ge=0, le=10,
                             description="Retries on timeout, 429 and 5xx before falling back to extractive.")
    llm_max_tokens: int = Field(512, alias="RAG_LLM_MAX_TOKENS", description="Longest generated answer.")

    # --- web page ---------------------------------------------------------------------------------
    host: str = Field("127.0.0.1", alias="RAG_HOST", description="Address the page binds to.")
    port: int = Field(7860, alias="RAG_PORT", description="Port of the page.")
    auth: SecretStr | None = Field(None, alias="RAG_AUTH",
                                   description="`user:password` to require a login on the page.")
    api_key: SecretStr | None = Field(None, alias="RAG_API_KEY",
                                      description="Bearer key required by `/v1` and `/mcp`; unset, they take "
                                                  "the `RAG_AUTH` password, or are open when that is unset too.")
    upload_max_mb: float = Field(5.0, alias="RAG_UPLOAD_MAX_MB", description="Largest accepted upload.")
    upload_max_files: int = Field(20, alias="RAG_UPLOAD_MAX_FILES",
                                  description="Most files accepted in one upload.")
    upload_max_sentences: int = Field(5000, alias="RAG_UPLOAD_MAX_SENTENCES", ge=1,
                                      description="Most sentences indexed from one upload (one embedding each); "
                                                  "files beyond it are refused with the reason.")

    @field_validator("chroma_host", "openai_base_url", "api_key", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @property
    def llm_configured(self) -> bool:
        return bool(self.openai_base_url or self.openai_api_key)

    @property
    def effective_mode(self) -> Literal["extractive", "llm"]:
        if self.answer_mode == "auto":
            return "llm" if self.llm_configured else "extractive"
        return self.answer_mode

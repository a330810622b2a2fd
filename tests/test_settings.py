"""Settings: one class, documented in the README table, secrets never printed."""
from __future__ import annotations

import re

from rag import Settings

from conftest import ROOT


def test_readme_table_lists_every_setting():
    table = (ROOT / "README.md").read_text().split("<!-- settings-table -->")[1].strip().split("\n\n")[0]
    documented = set(re.findall(r"^\| `([A-Z_]+)` \|", table, re.M))
    aliases = {field.alias for field in Settings.model_fields.values()}
    assert documented == aliases


def test_env_and_keywords(monkeypatch, tmp_path):
    monkeypatch.setenv("RAG_TOP_K", "7")
    monkeypatch.setenv("OPENAI_BASE_URL", "  ")
    settings = Settings()
    assert settings.top_k == 7 and settings.openai_base_url is None
    assert settings.effective_mode == "extractive"
    assert Settings(top_k=3).top_k == 3
    assert Settings(openai_base_url="http://127.0.0.1:1/v1").effective_mode == "llm"


def test_secrets_are_not_printed():
    settings = Settings(openai_api_key="sk-test-SECRET-123", auth="me:hunter2")
    for shown in (repr(settings), str(settings), settings.model_dump_json()):
        assert "SECRET-123" not in shown and "hunter2" not in shown


def test_binds_loopback_by_default(monkeypatch):
    monkeypatch.delenv("RAG_HOST", raising=False)
    assert Settings().host == "127.0.0.1"

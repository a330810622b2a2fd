"""Keep every library off the network. Imported first by `rag/__init__.py`, before any heavy import.

The values come from measurements on a machine with no internet (see README, "Offline"):
each library below tries to phone home or download something unless told not to.
"""
from __future__ import annotations

import importlib.util
import ipaddress
import os
import sys
from pathlib import Path

_ENV = {
    "ORT_DISABLE_TELEMETRY": "1",  # onnxruntime phones home from native code otherwise
    "GRADIO_ANALYTICS_ENABLED": "False",
    "HF_HUB_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "RAGAS_DO_NOT_TRACK": "true",  # must be the word true; read once at ragas import
    "ANONYMIZED_TELEMETRY": "False",  # Chroma
    "TOKENIZERS_PARALLELISM": "false",
    "LLAMA_INDEX_DISABLE_TELEMETRY": "1",
}


def _tiktoken_cache() -> str | None:
    """llama-index-core ships cl100k_base/o200k_base; point tiktoken there so nothing downloads them."""
    spec = importlib.util.find_spec("llama_index.core")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(list(spec.submodule_search_locations)[0]) / "_static" / "tiktoken_cache"
    return str(folder) if folder.is_dir() else None


def apply() -> None:
    for key, value in _ENV.items():
        os.environ.setdefault(key, value)
    if "TIKTOKEN_CACHE_DIR" not in os.environ and (cache := _tiktoken_cache()):
        os.environ["TIKTOKEN_CACHE_DIR"] = cache


class NetworkBlocked(RuntimeError):
    """Raised by `forbid_network` when code tries to reach a non-loopback address."""


def _is_loopback(host: object) -> bool:
    if host in (None, "", "localhost"):
        return True
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False  # a hostname other than localhost: resolving it would already leave the machine


def forbid_network() -> None:
    """Install an audit hook that fails any DNS lookup or connection beyond 127.0.0.1 / ::1.

    Used by the tests; audit hooks cannot be removed, so this lasts for the life of the process.
    """

    def hook(event: str, args: tuple) -> None:
        if event == "socket.getaddrinfo" and not _is_loopback(args[0]):
            raise NetworkBlocked(f"blocked DNS lookup of {args[0]!r}")
        if event == "socket.connect":
            address = args[1]
            if isinstance(address, tuple) and not _is_loopback(address[0]):
                raise NetworkBlocked(f"blocked connection to {address!r}")

    sys.addaudithook(hook)


apply()

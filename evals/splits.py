"""The one rule that splits every dataset into a tuning part and a held-out test part.

Stated before any split was looked at: a key (the reference article's id, else the question's id) goes
to "test" when the first hex digit of its SHA-256 is 8-f, else to "tune". Questions about the same
article land in the same part, so the test part's articles are never read while tuning. Weights and
thresholds are chosen on "tune" only; gates and reported figures use "test".
"""
from __future__ import annotations

import hashlib

PARTS = ("tune", "test")


def split_of(key: str) -> str:
    return "test" if hashlib.sha256(key.encode("utf-8")).hexdigest()[0] in "89abcdef" else "tune"

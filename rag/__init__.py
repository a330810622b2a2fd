"""Ask your articles: cited answers from a corpus of news articles, offline by default."""
from . import offline  # noqa: F401  (must run before the heavy imports below)
from .assistant import AnswerStream, Assistant, BadQuestion, CorpusMissing
from .index import IndexDamaged, StoreUnavailable
from .settings import Settings
from .types import Answer, Citation, Filters, IngestReport, Passage

__all__ = ["Assistant", "AnswerStream", "Answer", "Citation", "Passage", "IngestReport", "Settings",
           "Filters", "BadQuestion", "CorpusMissing", "StoreUnavailable", "IndexDamaged"]

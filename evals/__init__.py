"""The eval suite: datasets (evals/datasets/*.jsonl, SQuAD 2.0), RAGAS and own metrics, gates, reports.

`python -m evals --dataset seed_facts` is the CI gate; see docs/EVALS.md.
"""
from .runner import main, run_suite

__all__ = ["main", "run_suite"]

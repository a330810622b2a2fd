"""`python -m bench`: the performance and retrieval-quality benchmarks behind docs/BENCHMARKS.md.

Each part measures the engine side by side with its reference (the embedding model alone, plain
LlamaIndex) in the same run, because the machine is shared and absolute numbers drift.
"""

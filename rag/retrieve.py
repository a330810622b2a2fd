"""Hybrid retrieval: the index's dense and BM25 rankings, fused by reciprocal rank. No LLM calls."""
from __future__ import annotations

from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from .index import Index
from .types import Filters, Passage

RRF_K = 60  # the usual reciprocal-rank constant; the fused ranking is insensitive to it near 60


def fuse(rankings: list[list[str]]) -> dict[str, float]:
    """Reciprocal-rank fusion: id -> sum over rankings of 1 / (RRF_K + rank)."""
    fused: dict[str, float] = {}
    for ranking in rankings:
        for rank, chunk_id in enumerate(ranking, 1):
            fused[chunk_id] = fused.get(chunk_id, 0.0) + 1.0 / (RRF_K + rank)
    return fused


class HybridRetriever(BaseRetriever):
    """A LlamaIndex retriever, so it also drops into users' own query engines."""

    def __init__(self, index: Index, top_k: int = 5):
        super().__init__()
        self.index = index
        self.top_k = top_k

    def search(self, text: str, top_k: int | None = None, filters: Filters | None = None,
               vector: list[float] | None = None, ranks: dict | None = None, fold: bool = True) -> list[Passage]:
        """The top_k passages for `text`; `ranks`, when given, receives each one's dense and BM25 rank.
        With `fold`, a story's near-duplicate copies count once: passages of a second copy are dropped
        (the best-ranked copy stays) and each passage lists its story's other copies in `copies`."""
        top_k = top_k or self.top_k
        filters = filters or Filters()
        pool = max(20, 4 * top_k)  # candidates from each side before fusion
        if vector is None:
            vector = self.index.embed_model.get_query_embedding(text)
        dense = self.index.dense(vector, pool, filters)
        sparse = self.index.lexical_ranking(text, pool, filters)
        fused = fuse([dense, sparse])
        ordered = sorted(fused, key=lambda cid: -fused[cid])
        best = fold_copies(ordered, self.index.stories())[:top_k] if fold else ordered[:top_k]
        if ranks is not None:
            ranks.update({cid: {"dense": _rank(dense, cid), "bm25": _rank(sparse, cid)} for cid in best})
        passages = self.index.passages(best)
        for passage in passages:
            passage.score = fused[passage.id]
            if fold:
                passage.copies = self.index.copies_of(passage.article_id)
        return passages

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return [NodeWithScore(node=passage_node(p), score=p.score) for p in self.search(query_bundle.query_str)]


def article_of(chunk_id: str) -> str:
    """The article id of a chunk id (`<article id>#<content hash>:<n>`; article ids may hold '#')."""
    return chunk_id.rsplit("#", 1)[0]


def fold_copies(chunk_ids: list[str], stories: dict) -> list[str]:
    """`chunk_ids` (best first) without the chunks of a story's second, third ... copy: the first copy
    seen stands for its story. Several chunks of that one copy may stay."""
    kept, chosen = [], {}  # story -> the article standing for it
    for chunk_id in chunk_ids:
        article = article_of(chunk_id)
        group = stories.get(article)
        story = group.canonical if group is not None else article
        if chosen.setdefault(story, article) == article:
            kept.append(chunk_id)
    return kept


def passage_node(passage: Passage) -> TextNode:
    return TextNode(id_=passage.id, text=passage.text, start_char_idx=passage.start, end_char_idx=passage.end,
                    metadata={"article_id": passage.article_id, "title": passage.title, "date": passage.date,
                              "source": passage.source, "author": passage.author, "url": passage.url,
                              "page": passage.page})


def _rank(ranking: list[str], chunk_id: str) -> int | None:
    return ranking.index(chunk_id) + 1 if chunk_id in ranking else None

"""Article -> Passages, with LlamaIndex's SentenceSplitter; each passage keeps its character span."""
from __future__ import annotations

from llama_index.core import Document
from llama_index.core.node_parser import SentenceSplitter

from .types import Article, Passage

# Bump when the way passages are cut changes: every article is then re-chunked on the next ingest.
CHUNKER_VERSION = 2  # 2: sentences and chunks carry source, url, page


class Chunker:
    def __init__(self, chunk_size: int, chunk_overlap: int):
        self._splitter = SentenceSplitter(chunk_size=chunk_size, chunk_overlap=chunk_overlap)
        self.version = f"sentence-{chunk_size}-{chunk_overlap}-v{CHUNKER_VERSION}"

    def split(self, article: Article) -> list[Passage]:
        # The document carries no metadata so that chunk sizes depend on the text alone.
        nodes = self._splitter.get_nodes_from_documents([Document(text=article.text, id_=article.id)])
        passages = []
        for i, node in enumerate(nodes):
            start, end = node.start_char_idx, node.end_char_idx
            if start is None or end is None or article.text[start:end] != node.text:
                start = article.text.find(node.text)  # the splitter could not place it; search
                end = start + len(node.text)
            first, last = article.page_at(start), article.page_at(max(start, end - 1))
            passages.append(Passage(
                id=f"{article.id}#{article.content_hash[:12]}:{i}", article_id=article.id,
                title=article.title, text=node.text, start=start, end=end, date=article.date,
                source=article.source, author=article.author, url=article.url,
                page="" if not first else str(first) if first == last else f"{first}-{last}"))
        return passages

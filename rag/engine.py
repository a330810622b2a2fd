"""`Assistant.as_query_engine()`: the assistant as a LlamaIndex query engine for users' own pipelines."""
from __future__ import annotations

from typing import Any

from llama_index.core.base.response.schema import Response, StreamingResponse
from llama_index.core.query_engine import CustomQueryEngine
from llama_index.core.schema import NodeWithScore

from .retrieve import passage_node


def _nodes(passages) -> list[NodeWithScore]:
    return [NodeWithScore(node=passage_node(p), score=p.score) for p in passages]


def _metadata(answer) -> dict:
    return {"citations": [c.to_dict() for c in answer.citations], "abstained": answer.abstained,
            "notice": answer.notice, "trace": answer.trace.to_dict()}


class AssistantQueryEngine(CustomQueryEngine):
    """`query()` returns a Response whose `source_nodes` are the retrieved passages and whose
    `metadata["citations"]` are the verified citations; with streaming=True a StreamingResponse whose
    metadata is filled in when the stream ends."""

    assistant: Any
    streaming: bool = False
    options: dict = {}

    def custom_query(self, query_str: str):
        if not self.streaming:
            answer = self.assistant.ask(query_str, **self.options)
            return Response(response=answer.text, source_nodes=_nodes(answer.retrieved),
                            metadata=_metadata(answer))
        stream = self.assistant.stream(query_str, **self.options)
        metadata: dict = {}

        def pieces():
            yield from stream
            metadata.update(_metadata(stream.answer))

        return StreamingResponse(response_gen=pieces(), source_nodes=_nodes(stream.retrieved), metadata=metadata)

    async def acustom_query(self, query_str: str):
        return self.custom_query(query_str)

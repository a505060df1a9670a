from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, field_validator

from retrieval.filters import SearchScope
from retrieval.models import Citation, DocType, RecordRef
from retrieval.search import SearchRequest
from service.deps import CallerDep, ContainerDep
from service.routes.consent import known_purposes

router = APIRouter(prefix="/v1", tags=["search"])


class SearchBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: str = Field(min_length=1, max_length=2000)
    record: str | None = None
    doc_types: list[DocType] = Field(default_factory=list)
    mode: str = Field(default="hybrid", pattern="^(dense|sparse|hybrid)$")
    top_k: int = Field(default=8, ge=1, le=50)
    purpose: str = Field(default="sales_insights", description="What the data is read for; consent is checked "
                         "against it (sales_insights, sales_outreach)")
    rerank: bool = True

    @field_validator("purpose")
    @classmethod
    def _purpose(cls, value: str) -> str:
        if value not in known_purposes():  # an invented purpose would match no contact's consent silently
            raise ValueError(f"unknown purpose {value!r}; known: {sorted(known_purposes())}")
        return value

    @field_validator("record")
    @classmethod
    def _record(cls, value: str | None) -> str | None:
        if value is not None:
            RecordRef.parse(value)  # a malformed reference is a 422, not a 500
        return value


class SearchHitPublic(BaseModel):
    chunk_id: str
    score: float
    text: str
    citation: Citation


class SearchResponse(BaseModel):
    hits: list[SearchHitPublic]
    timings_ms: dict[str, float]


@router.post("/search", response_model=SearchResponse)
def search(body: SearchBody, caller: CallerDep, container: ContainerDep) -> SearchResponse:
    """Chunks with scores and citations, under the same tenant, ACL and consent filter as actions."""
    scope = SearchScope(record=RecordRef.parse(body.record) if body.record else None,
                        doc_types=tuple(body.doc_types))
    result = container.retriever.search(SearchRequest(
        query=body.query, access=caller.access(body.purpose), scope=scope, mode=body.mode,  # type: ignore[arg-type]
        top_k=body.top_k, rerank=body.rerank,
    ))
    container.audit.record_access(caller, "search", record=body.record, purpose=body.purpose,
                                  chunk_ids=[h.id for h in result.hits])
    return SearchResponse(
        hits=[SearchHitPublic(chunk_id=h.id, score=h.score, text=h.chunk.text, citation=h.citation())
              for h in result.hits],
        timings_ms={k: round(v, 3) for k, v in result.timings_ms.items()},
    )

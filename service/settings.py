"""One settings class for the whole service.

Built by composition roots only (the app factory and the CLI), never at import time.
Environment variables use the prefix ``SIDEKICK_`` and ``__`` between nested sections,
for example ``SIDEKICK_VECTOR__BACKEND=qdrant`` or ``SIDEKICK_CHAT__BASE_URL=...``.
The sections of backends live with their packages (``retrieval.settings``,
``prompts.settings``); a backend name is valid when it is registered.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from prompts.chat import CHAT_MODELS
from prompts.settings import ChatSettings
from retrieval.embedder import EMBEDDERS
from retrieval.rerank import RERANKERS
from retrieval.settings import EmbeddingSettings, RetrievalSettings, Section, VectorSettings, registered
from retrieval.store import VECTOR_STORES


class DatabaseSettings(Section):
    url: str | None = None
    """SQLAlchemy URL, e.g. ``postgresql+psycopg://user@host/db``; SQLite under data_dir if unset."""
    echo: bool = False


class IngestSettings(Section):
    chunk_tokens: int = 220
    chunk_overlap: int = 30
    max_file_mb: float = 25.0


class SidebarSettings(Section):
    frame_ancestors: dict[str, list[str]] = Field(default_factory=dict)
    """Per tenant, the CRM origins allowed to embed /sidebar in an iframe (CSP ``frame-ancestors``),
    e.g. ``{"acme": ["https://acme.lightning.force.com"]}``. Tenants not listed get ``default_frame_ancestors``."""
    default_frame_ancestors: list[str] = Field(default_factory=lambda: ["'self'"])

    @field_validator("frame_ancestors", "default_frame_ancestors")
    @classmethod
    def _sources(cls, value: dict[str, list[str]] | list[str]) -> dict[str, list[str]] | list[str]:
        # Each entry goes into a response header: refuse anything that could end the directive.
        sources = [s for v in value.values() for s in v] if isinstance(value, dict) else value
        if bad := [s for s in sources if not s or any(ch in s for ch in ";,\r\n \t")]:
            raise ValueError(f"not a CSP source expression: {bad}")
        return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SIDEKICK_",
        env_nested_delimiter="__",
        extra="forbid",
    )

    data_dir: Path = Path("var")
    default_tenant: str = "demo"
    demo_mode: bool = False
    """Serve the stand-in CRM host page at /demo (never in production)."""
    host: str = "127.0.0.1"
    port: int = 8000
    session_ttl_s: int = Field(default=900, ge=1, le=86_400)
    """Lifetime of a sidebar session token; the sidebar asks the host for a new one on expiry."""
    vector: VectorSettings = Field(default_factory=VectorSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    embedding: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    chat: ChatSettings = Field(default_factory=ChatSettings)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    sidebar: SidebarSettings = Field(default_factory=SidebarSettings)

    @model_validator(mode="after")
    def _backends_registered(self) -> Settings:
        """Every backend named is registered (production registers no test doubles)."""
        registered("chat backend", self.chat.backend, CHAT_MODELS)
        registered("embedding backend", self.embedding.backend, EMBEDDERS)
        registered("vector store", self.vector.backend, VECTOR_STORES)
        registered("reranker", self.retrieval.reranker, RERANKERS)
        return self

    @property
    def database_url(self) -> str:
        if self.database.url:
            return self.database.url
        return f"sqlite:///{(self.data_dir / 'sidekick.db').resolve()}"

    @property
    def vector_path(self) -> Path:
        return self.vector.path or (self.data_dir / "qdrant")

    @property
    def model_cache_dir(self) -> Path:
        return self.data_dir / "models"

"""The same SQLAlchemy models on SQLite and on the PostgreSQL server."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy

from ingest.db import CrmRecordRow, DocumentRow, IngestRunRow
from prompts.store import PromptStore
from service.audit import AuditLog, AuditRow
from service.auth import KeyStore
from service.db import METADATAS, create_schema, make_engine, make_sessions
from tests.conftest import postgres_schema_url


def exercise(url: str) -> None:
    engine = make_engine(url)
    create_schema(engine)
    sessions = make_sessions(engine)
    tenant = f"t-{uuid.uuid4().hex[:8]}"
    with sessions() as s:
        s.add(DocumentRow(tenant_id=tenant, document_id="note:1", doc_type="note", content_hash="h",
                          contact_ids=["C-1"], metadata_json={"owner": "u"}))
        s.add(CrmRecordRow(tenant_id=tenant, kind="contact", record_id="C-1", consent=["sales_insights"]))
        s.add(IngestRunRow(tenant_id=tenant, errors=[{"reason": "empty"}]))
        s.commit()
        assert s.get(DocumentRow, (tenant, "note:1")).contact_ids == ["C-1"]  # type: ignore[union-attr]
    prompt = PromptStore(sessions).get(tenant, "summary")
    assert prompt.version == 1 and prompt.template.name == "summary"
    keys = KeyStore(sessions)
    _, key = keys.create_key(tenant, "admin")
    assert keys.authenticate(key)[:2] == (tenant, "admin")
    AuditLog(sessions).write(tenant_id=tenant, user_id="u", role="agent", event="search", chunk_ids=["a", "b"])
    with sessions() as s:
        assert s.query(AuditRow).filter_by(tenant_id=tenant).one().chunk_ids == ["a", "b"]
    tables = set(sqlalchemy.inspect(engine).get_table_names())
    declared = {name for metadata in METADATAS for name in metadata.tables}
    assert declared <= tables, f"tables missing on {engine.dialect.name}: {declared - tables}"
    engine.dispose()


def test_models_on_sqlite(tmp_path) -> None:  # type: ignore[no-untyped-def]
    exercise(f"sqlite:///{tmp_path / 'db.sqlite'}")


@pytest.mark.integration
def test_models_on_postgresql() -> None:
    with postgres_schema_url("sidekick_test") as url:
        exercise(url)

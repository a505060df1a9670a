"""The audit trail: append-only, filtered queries, keyset pages, CSV export, the erasure tombstone;
on SQLite and on the PostgreSQL server."""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, update

from service.audit import AUDIT_COLUMNS, AuditImmutable, AuditLog, AuditQuery, AuditRow
from service.container import Container
from service.db import create_schema, make_engine, make_sessions
from tests.conftest import auth_headers, postgres_schema_url

T0 = datetime(2026, 9, 1, 12, 0, tzinfo=UTC)


def seed(log: AuditLog, tenant: str) -> None:
    """30 rows, one an hour from T0: users alternate, every third an error, two records."""
    for i in range(30):
        log.write(tenant_id=tenant, at=T0 + timedelta(hours=i), user_id="u-maria" if i % 2 else "u-james",
                  role="agent", teams=["t-enterprise"], purpose="sales_insights",
                  event="action:summary" if i % 3 else "search", record=f"account:A-{i % 2}",
                  request_id=f"req-{i}", chunk_ids=[f"chunk-{i}", "chunk-shared"],
                  verdicts=[{"guard": "grounding", "decision": "flag", "reason": "low_grounding",
                             "message": f"claim about Dana {i}", "details": {"quote": "Dana said"}}],
                  status="error" if i % 3 == 0 else "ok", detail=f"=HYPERLINK('x') row {i}", output_hash="h" * 64)


def exercise(sessions_url: str) -> None:
    """The AuditLog contract, run on each SQL backend."""
    engine = make_engine(sessions_url)
    create_schema(engine)
    sessions = make_sessions(engine)
    log, tenant = AuditLog(sessions), f"t-{uuid.uuid4().hex[:8]}"
    seed(log, tenant)
    log.write(tenant_id="other", user_id="u-maria", role="agent", event="search", record="account:A-0")

    def ids(flt: AuditQuery, **kw: object) -> list[int]:
        return [r.id for r in log.query(tenant, flt, **kw)]  # type: ignore[arg-type]

    everything = ids(AuditQuery(), limit=1000)
    assert len(everything) == 30 and everything == sorted(everything, reverse=True)
    assert len(ids(AuditQuery(user="u-maria"), limit=1000)) == 15
    assert len(ids(AuditQuery(event="search"), limit=1000)) == 10
    assert len(ids(AuditQuery(event="action:*"), limit=1000)) == 20
    assert ids(AuditQuery(event="act%"), limit=1000) == []  # LIKE wildcards are escaped
    assert len(ids(AuditQuery(status="error", record="account:A-0"), limit=1000)) == 5
    # [T0+5h, T0+10h): five rows, whatever offset the bounds are written in
    cet = timezone(timedelta(hours=2))
    window = AuditQuery(since=(T0 + timedelta(hours=5)).astimezone(cet), until=T0 + timedelta(hours=10))
    assert [log.query(tenant, window, limit=1000)[-1].request_id, len(ids(window, limit=1000))] == ["req-5", 5]
    # keyset pages cover everything once
    pages, before = [], None
    while True:
        page = ids(AuditQuery(), limit=7, before_id=before)
        if not page:
            break
        pages.extend(page)
        before = page[-1]
    assert pages == everything
    assert [r.id for r in log.iter_rows(tenant, AuditQuery(), page=4)] == everything

    # append-only: no update, no delete, no bulk statement
    with sessions() as session:
        row = session.get(AuditRow, everything[0])
        assert row is not None
        row.user_id = "someone-else"
        with pytest.raises(AuditImmutable):
            session.commit()
    with sessions() as session:
        session.delete(session.get(AuditRow, everything[0]))
        with pytest.raises(AuditImmutable):
            session.commit()
    with sessions() as session, pytest.raises(AuditImmutable):
        session.execute(update(AuditRow).where(AuditRow.tenant_id == tenant).values(detail=""))
    with sessions() as session, pytest.raises(AuditImmutable):
        session.execute(delete(AuditRow).where(AuditRow.tenant_id == tenant))
    assert len(ids(AuditQuery(), limit=1000)) == 30

    # the erasure tombstone: record "account:A-1" and chunk "chunk-4" name the subject
    rewritten = log.tombstone(tenant, {"account:A-1"}, {"chunk-4"}, lambda v: "erased:" + v[-1])
    assert rewritten == 16  # 15 rows of account:A-1, plus row 4 (account:A-0) that read chunk-4
    rows = {r.request_id: r for r in log.query(tenant, AuditQuery(), limit=1000)}
    assert rows["req-1"].record == "erased:1" and rows["req-1"].chunk_ids == ["chunk-1", "chunk-shared"]
    assert rows["req-4"].record == "account:A-0" and rows["req-4"].chunk_ids == ["erased:4", "chunk-shared"]
    for key in ("req-1", "req-4"):
        row = rows[key]
        assert row.tombstoned_at and row.detail == "" and "Dana" not in json.dumps(row.verdicts)
        assert row.verdicts == [{"guard": "grounding", "decision": "flag", "reason": "low_grounding"}]
        assert (row.user_id, row.output_hash, row.event) != (None, None, None)
    assert rows["req-2"].tombstoned_at is None and rows["req-2"].detail.startswith("=HYPERLINK")
    assert len(log.query("other", AuditQuery(), limit=10)) == 1  # other tenants untouched
    engine.dispose()


def test_audit_log_on_sqlite(tmp_path) -> None:  # type: ignore[no-untyped-def]
    exercise(f"sqlite:///{tmp_path / 'audit.sqlite'}")


@pytest.mark.integration
def test_audit_log_on_postgresql() -> None:
    with postgres_schema_url("sidekick_audit") as url:
        exercise(url)


# -- over HTTP ------------------------------------------------------------------------------
@pytest.fixture
def app_container(container: Container) -> Container:
    """The HTTP tests here run on the empty stack with a seeded audit trail."""
    seed(container.audit, "demo")
    return container


def test_audit_route_filters_and_pages(client: TestClient, container: Container) -> None:
    admin = auth_headers(container, role="admin", user="u-lena")
    got = client.get("/v1/audit", params={"user": "u-maria", "action": "summary", "limit": 4}, headers=admin)
    assert got.status_code == 200, got.text
    first = got.json()
    assert len(first["items"]) == 4 and first["next_cursor"]
    assert {(i["user_id"], i["event"]) for i in first["items"]} == {("u-maria", "action:summary")}
    assert first["items"][0]["teams"] == ["t-enterprise"] and first["items"][0]["at"].endswith("Z")
    seen = [i["id"] for i in first["items"]]
    cursor = first["next_cursor"]
    while cursor:
        page = client.get("/v1/audit", params={"user": "u-maria", "action": "summary", "limit": 4,
                                               "cursor": cursor}, headers=admin).json()
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
    assert len(seen) == len(set(seen)) == 10

    window = client.get("/v1/audit", params={"from": "2026-09-01T14:00:00+02:00", "to": "2026-09-01T15:00:00Z",
                                             "status": "error"}, headers=admin).json()["items"]
    assert [i["request_id"] for i in window] == ["req-0"]  # 14:00+02:00 is 12:00 UTC
    assert client.get("/v1/audit", params={"record": "account:A-1", "event": "search"},
                      headers=admin).json()["items"][0]["record"] == "account:A-1"

    # reads of the trail are themselves audited, with the filters used
    reads = client.get("/v1/audit", params={"event": "audit:query"}, headers=admin).json()["items"]
    assert len(reads) >= 4 and reads[0]["user_id"] == "u-lena"
    assert json.loads(reads[-1]["detail"]) == {"user": "u-maria", "event": "action:summary", "limit": 4,
                                               "cursor": None}

    bad_requests: list[dict[str, str | int]] = [
        {"from": "2026-09-02T00:00:00Z", "to": "2026-09-01T00:00:00Z"}, {"event": "search", "action": "summary"},
        {"from": "2026-09-02T00:00:00", "to": "2026-09-02T01:00:00+02:00"}]  # naive bounds are UTC
    for params in bad_requests:
        assert client.get("/v1/audit", params=params, headers=admin).status_code == 400
    invalid: list[dict[str, str | int]] = [{"cursor": "abc"}, {"limit": 0}, {"limit": 5000}, {"from": "yesterday"},
                                           {"action": "a b"}]
    for params in invalid:
        assert client.get("/v1/audit", params=params, headers=admin).status_code == 422, params

    rival = auth_headers(container, tenant="rival", role="admin")
    assert client.get("/v1/audit", headers=rival).json()["items"] == []


def test_audit_csv_export(client: TestClient, container: Container) -> None:
    admin = auth_headers(container, role="admin")
    response = client.get("/v1/audit.csv", params={"status": "error"}, headers=admin)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert list(rows[0]) == list(AUDIT_COLUMNS) and len(rows) == 10
    assert {r["status"] for r in rows} == {"error"}
    assert json.loads(rows[0]["chunk_ids"]) == ["chunk-27", "chunk-shared"]
    assert rows[0]["detail"].startswith("'=HYPERLINK")  # a spreadsheet must not run it as a formula
    everything = list(csv.DictReader(io.StringIO(client.get("/v1/audit.csv", headers=admin).text)))
    assert len(everything) == 32  # 30 seeded + both downloads (an export is recorded before it streams)
    assert client.get("/v1/audit.csv", headers=auth_headers(container, role="agent")).status_code == 403

"""The demo corpus and its labelled sets, read once per session with the product's own
loaders (``ingest.loaders``, ``eval.loaders``) and judged with the product's ACL rule
(``ingest.chunking.acl_for`` + ``Caller.may_read``), so a check here fails when the data
and the product disagree, not when a second parser does."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pytest

from ingest.chunking import acl_for
from ingest.documents import SourceDocument
from ingest.loaders import CrmRecord, load_paths
from retrieval.identity import Caller
from tests.conftest import DEMO_CORPUS, REPO

SETS = REPO / "eval" / "datasets"
PRINCIPALS = {
    "u-maria": {"t-enterprise"},
    "u-james": {"t-midmarket"},
    "u-priya": {"t-enterprise"},
    "u-lena": {"t-enterprise", "t-midmarket"},
    "u-tom": {"t-public-sector"},
}
ALL_TEAMS = {"t-enterprise", "t-midmarket", "t-public-sector"}
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")


@dataclass
class Corpus:
    """The demo corpus as the product loads it."""

    documents: dict[str, SourceDocument]
    records: dict[str, CrmRecord]
    """``kind:id`` -> the CRM record (accounts, opportunities, contacts)."""
    errors: list[str] = field(default_factory=list)

    def of_kind(self, kind: str) -> dict[str, CrmRecord]:
        return {r.id: r for r in self.records.values() if r.kind == kind}

    def rows(self, kind: str) -> dict[str, dict[str, Any]]:
        """Original CSV/JSON rows of notes or activities, by id (the loader keeps them)."""
        prefix = f"{kind}:"
        return {doc_id.removeprefix(prefix): doc.metadata["fields"] for doc_id, doc in self.documents.items()
                if doc_id.startswith(prefix)}

    def document(self, source_id: str) -> SourceDocument | None:
        """The document a source id names (``note:N-001``, ``file:...``, ``document:...``)."""
        return self.documents.get(source_id.removeprefix("document:"))

    def may_read(self, user: str, teams: Iterable[str], source_id: str) -> bool | None:
        """Whether the user may retrieve the source, by the rule chunks carry; None when it
        names nothing in the corpus."""
        doc = self.document(source_id)
        if doc is None:
            return None
        return Caller(tenant_id="demo", user_id=user, teams=tuple(teams)).may_read(acl_for(doc))


@pytest.fixture(scope="session")
def corpus() -> Corpus:
    loaded = load_paths([DEMO_CORPUS], root=DEMO_CORPUS)
    return Corpus(documents={d.document_id: d for d in loaded.documents},
                  records={f"{r.kind}:{r.id}": r for r in loaded.records},
                  errors=[str(e) for e in loaded.errors] + [f"skipped {s}" for s in loaded.skipped])


def check_access_metadata(where: str, owner: str | None, team: Iterable[str], visibility: str) -> list[str]:
    """Owner a known user, teams known teams, visibility one of the three."""
    problems = []
    if owner not in PRINCIPALS:
        problems.append(f"{where}: unknown owner {owner!r}")
    if unknown := set(team) - ALL_TEAMS:
        problems.append(f"{where}: unknown team(s) {sorted(unknown)}")
    if visibility not in ("public", "team", "private"):
        problems.append(f"{where}: bad visibility {visibility!r}")
    return problems


def check_times(where: str, row: dict[str, Any]) -> list[str]:
    """ISO-8601 UTC timestamps, and never updated before created."""
    problems = [f"{where}: {k} not ISO-8601 UTC: {row[k]!r}"
                for k in ("created_at", "updated_at", "occurred_at") if k in row and not TIMESTAMP.match(row[k] or "")]
    if row.get("created_at") and row.get("updated_at") and row["updated_at"] < row["created_at"]:
        problems.append(f"{where}: updated_at before created_at")
    return problems

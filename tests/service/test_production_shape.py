"""The production shape of ``docker-compose.yml``, checked without a Docker engine: the file
is consistent with the Dockerfile and the settings class, and the same backends it selects
(qdrant-client, PostgreSQL, an OpenAI-compatible chat endpoint) run one ingest and one
action end to end with the real local pieces: qdrant-client's local mode, this machine's
PostgreSQL server and an OpenAI-compatible HTTP server."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from pydantic import BaseModel
from sqlalchemy import select

from prompts.chat import OpenAIChatModel
from retrieval.embedder import SentenceTransformerEmbedder
from retrieval.qdrant_store import QdrantClientVectorStore
from service.app import create_app
from service.audit import AuditRow
from service.container import Container
from service.settings import Settings
from tests.conftest import DEMO_CORPUS, REPO, auth_headers, postgres_schema_url
from tests.prompts.test_chat import Endpoint

COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text())
STAGES = set(re.findall(r"^FROM\s+\S+\s+AS\s+(\S+)", (REPO / "service" / "Dockerfile").read_text(), re.M | re.I))
_DEFAULT = re.compile(r"\$\{(\w+):-([^}]*)\}")


def compose_env(service: str) -> dict[str, str]:
    """The service's environment with ``${VAR:-default}`` resolved to the default."""
    env = COMPOSE["services"][service]["environment"]
    return {k: _DEFAULT.sub(lambda m: m.group(2), str(v)) for k, v in env.items()}


def test_compose_file_matches_the_dockerfile_and_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    services = COMPOSE["services"]
    assert {"qdrant", "postgres", "model", "sidekick"} <= set(services)
    for name, spec in services.items():
        if "build" in spec:
            assert (REPO / spec["build"]["context"] / spec["build"]["dockerfile"]).is_file()
            assert spec["build"]["target"] in STAGES, f"{name}: no stage {spec['build']['target']} in the Dockerfile"
        assert set(spec.get("depends_on", {})) <= set(services)
        for volume in spec.get("volumes", []):
            assert volume.split(":")[0] in COMPOSE["volumes"], f"{name}: undeclared volume {volume}"
    env = compose_env("sidekick")
    for key in env:  # every variable names a real setting (a typo would be silently ignored)
        node: type[BaseModel] = Settings
        parts = key.removeprefix("SIDEKICK_").lower().split("__")
        for i, part in enumerate(parts):
            assert part in node.model_fields, f"{key}: no setting {part!r}"
            annotation = node.model_fields[part].annotation
            if i < len(parts) - 1:
                assert isinstance(annotation, type) and issubclass(annotation, BaseModel), key
                node = annotation
    for key, value in env.items():  # read exactly as the container reads it: from the environment
        monkeypatch.setenv(key, value)
    settings = Settings()
    assert settings.vector.backend == "qdrant" and settings.vector.url == "http://qdrant:6333"
    assert settings.chat.backend == "openai" and settings.chat.base_url == "http://model:8080/v1"
    assert settings.database_url.startswith("postgresql+psycopg://sidekick:")
    command = services["sidekick"]["command"]
    assert command[:2] == ["sidekick", "serve"] and "8000" in command
    assert "8000:8000" in services["sidekick"]["ports"]


@pytest.mark.integration
def test_the_production_backends_ingest_and_answer_end_to_end(tmp_path: Path,
                                                               embedder: SentenceTransformerEmbedder) -> None:
    endpoint = Endpoint()

    def reply(body: dict[str, Any]) -> list[str]:
        evidence = body["messages"][-1]["content"]
        line = next(ln for ln in evidence.splitlines() if "requests per minute" in ln)
        return [line.strip()[:200], " [E1]"] if body.get("stream") else line.strip()[:200] + " [E1]"

    endpoint.responses = [(200, reply)]
    with postgres_schema_url("prodshape") as url:
        env = compose_env("sidekick")
        settings = Settings(data_dir=tmp_path, vector={"backend": "qdrant"},  # local mode: no url
                            database={"url": url},
                            chat={"backend": "openai", "base_url": endpoint.url, "api_key": "k",
                                  "model": env["SIDEKICK_CHAT__MODEL"], "json_mode": env["SIDEKICK_CHAT__JSON_MODE"],
                                  "max_retries": 0})  # type: ignore[arg-type]
        container = Container(settings, embedder=embedder)
        try:
            assert isinstance(container.store, QdrantClientVectorStore)
            assert isinstance(container.chat, OpenAIChatModel)
            report = container.ingestor.ingest_paths("demo", [DEMO_CORPUS / "docs"], root=DEMO_CORPUS)
            assert report.count("added") > 0 and report.count("failed") == 0
            with TestClient(create_app(container=container)) as client:
                hdrs = auth_headers(container, user="u-priya")
                answer = client.post("/v1/actions/qa", json={"question": "What is the Enterprise API rate limit?"},
                                     headers=hdrs)
                assert client.get("/readyz").json()["status"] == "ready"
            assert answer.status_code == 200, answer.text
            body = answer.json()
            assert "requests per minute" in body["output"]["answer"] and body["output"]["sources"]
            assert body["model"] == f"openai:{env['SIDEKICK_CHAT__MODEL']}"
            with container.sessions() as session:
                row = session.scalars(select(AuditRow).where(AuditRow.event == "action:qa")).one()
            assert row.request_id == body["id"] and container.engine.dialect.name == "postgresql"
        finally:
            container.close()
            endpoint.server.shutdown()
            endpoint.server.server_close()

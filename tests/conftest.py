"""Shared fixtures: the real embedded stack (Qdrant Edge, SQLite, MiniLM) with a scripted
chat model, the demo corpus ingested once per session, an HTTP client on the app, the demo
users as callers and as signed request headers, and the PostgreSQL server."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("UNSTRUCTURED_DISABLE_NOTICE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from fastapi.testclient import TestClient  # noqa: E402

from prompts.chat import ChatModel  # noqa: E402
from prompts.scripted import ScriptedChatModel, register_scripted  # noqa: E402
from retrieval.embedder import SentenceTransformerEmbedder  # noqa: E402
from retrieval.identity import Caller  # noqa: E402
from service.app import create_app  # noqa: E402
from service.auth import sign_user_context  # noqa: E402
from service.container import Container  # noqa: E402
from service.settings import Settings  # noqa: E402

register_scripted()  # the settings name "scripted" exists for the test session only
REPO = Path(__file__).resolve().parent.parent
DEMO_CORPUS = REPO / "ingest" / "demo_corpus"
PG_URL = os.environ.get("SIDEKICK_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REQUIRE_SERVICES = os.environ.get("SIDEKICK_REQUIRE_SERVICES") == "1"


@pytest.fixture(scope="session")
def embedder() -> SentenceTransformerEmbedder:
    model = SentenceTransformerEmbedder()
    model.embed_query("warm up")
    return model


def make_settings(data_dir: Path, **overrides: object) -> Settings:
    return Settings(data_dir=data_dir, chat={"backend": "scripted"}, **overrides)  # type: ignore[arg-type]


@pytest.fixture
def container(tmp_path: Path, embedder: SentenceTransformerEmbedder) -> Iterator[Container]:
    built = Container(make_settings(tmp_path), chat=ScriptedChatModel(), embedder=embedder)
    yield built
    built.close()


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory: pytest.TempPathFactory, embedder: SentenceTransformerEmbedder) -> Path:
    """A data dir with the demo corpus ingested once; tests copy it rather than re-ingest."""
    data_dir = tmp_path_factory.mktemp("demo-data")
    built = Container(make_settings(data_dir), chat=ScriptedChatModel(), embedder=embedder)
    report = built.ingestor.ingest_paths("demo", [DEMO_CORPUS], root=DEMO_CORPUS)
    assert report.count("failed") == 0, [i for i in report.items if i.status == "failed"]
    built.close()
    return data_dir


def copy_demo_stack(demo_dir: Path, data_dir: Path) -> Path:
    """Copy an ingested data dir, keeping Qdrant's preallocated WAL and mmap files sparse.

    ``shutil.copytree`` writes every hole out as zeros, which turns a ~2 MB stack into
    tens of MB per copy and once filled a test machine's disk; GNU ``cp --sparse=always``
    (with reflinks where the filesystem has them) keeps each copy as small as its data."""
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    if shutil.which("cp"):
        subprocess.run(["cp", "-r", "--sparse=always", "--reflink=auto", str(demo_dir), str(data_dir)], check=True)
    else:  # pragma: no cover - non-GNU systems
        shutil.copytree(demo_dir, data_dir)
    return data_dir


def demo_stack(demo_dir: Path, data_dir: Path, embedder: SentenceTransformerEmbedder,
               chat: ChatModel | None = None) -> Container:
    """A container on a private copy of the ingested demo corpus (a fresh scripted model by default)."""
    return Container(make_settings(copy_demo_stack(demo_dir, data_dir)), chat=chat or ScriptedChatModel(),
                     embedder=embedder)


@pytest.fixture
def demo_container(demo_dir: Path, tmp_path: Path, embedder: SentenceTransformerEmbedder) -> Iterator[Container]:
    """A private copy of the ingested demo stack, with a fresh scripted chat model."""
    built = demo_stack(demo_dir, tmp_path / "data", embedder)
    yield built
    built.close()
    shutil.rmtree(tmp_path / "data", ignore_errors=True)


# The demo corpus's CRM users (ingest/demo_corpus), as agents of tenant "demo".
MARIA = Caller(tenant_id="demo", user_id="u-maria", teams=("t-enterprise",))
PRIYA = Caller(tenant_id="demo", user_id="u-priya", teams=("t-enterprise",))
JAMES = Caller(tenant_id="demo", user_id="u-james", teams=("t-midmarket",))
LENA = Caller(tenant_id="demo", user_id="u-lena", teams=("t-enterprise", "t-midmarket"))
TOM = Caller(tenant_id="demo", user_id="u-tom", teams=("t-public-sector",))


def scripted(container: Container) -> ScriptedChatModel:
    """The container's scripted chat model, to queue replies or set its ``responder``."""
    chat = container.chat
    assert isinstance(chat, ScriptedChatModel)
    return chat


def auth_headers(container: Container, tenant: str = "demo", user: str = "u-maria",
                 teams: tuple[str, ...] = ("t-enterprise",), role: str = "agent") -> dict[str, str]:
    """A fresh API key of ``role`` plus a context for ``user`` signed with the tenant's secret."""
    _, key = container.keys.create_key(tenant, role)  # type: ignore[arg-type]
    context = sign_user_context(container.keys.signing_secret(tenant), user, list(teams))
    return {"Authorization": f"Bearer {key}", "X-Sidekick-User": context}


@pytest.fixture
def app_container(demo_container: Container) -> Container:
    """The container ``client`` serves: the demo stack. A module overrides this fixture to
    serve another one (the empty stack, one with a prepared chat model...)."""
    return demo_container


@pytest.fixture
def client(app_container: Container) -> Iterator[TestClient]:
    """The app on ``app_container``, lifespan included."""
    with TestClient(create_app(container=app_container)) as c:
        yield c


@contextmanager
def postgres_schema_url(prefix: str) -> Iterator[str]:
    """A URL of the PostgreSQL server pointing at a fresh schema, dropped afterwards."""
    import uuid

    from sqlalchemy import text

    from service.db import make_engine

    url = postgres_or_skip()
    schema = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = make_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{url}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def postgres_or_skip() -> str:
    """The PostgreSQL URL, or a skip (a failure when SIDEKICK_REQUIRE_SERVICES=1)."""
    import sqlalchemy

    try:
        engine = sqlalchemy.create_engine(PG_URL)
        with engine.connect() as conn:
            conn.execute(sqlalchemy.text("SELECT 1"))
        engine.dispose()
    except Exception as exc:
        if REQUIRE_SERVICES:
            pytest.fail(f"PostgreSQL at {PG_URL} is required in CI but unreachable: {exc}")
        pytest.skip(f"no PostgreSQL server at {PG_URL}: {exc}")
    return PG_URL

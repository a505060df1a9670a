"""The /sidebar page's headers: a strict CSP whose frame-ancestors are configured per tenant."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from prompts.scripted import ScriptedChatModel
from retrieval.embedder import SentenceTransformerEmbedder
from service.app import create_app
from service.container import Container
from service.settings import SidebarSettings
from tests.conftest import make_settings


def test_frame_ancestors_come_from_the_tenants_setting(tmp_path: Path, embedder: SentenceTransformerEmbedder) -> None:
    settings = make_settings(tmp_path, sidebar={"frame_ancestors": {"acme": ["https://acme.my.crm.example"]}})
    container = Container(settings, chat=ScriptedChatModel(), embedder=embedder)
    try:
        client = TestClient(create_app(container=container))
        acme = client.get("/sidebar", params={"tenant": "acme", "record": "account:A-1"})
        other = client.get("/sidebar", params={"tenant": "demo"})
    finally:
        container.close()
    assert acme.status_code == 200 and "text/html" in acme.headers["content-type"]
    csp = acme.headers["content-security-policy"]
    assert "frame-ancestors https://acme.my.crm.example" in csp
    assert "script-src 'self'" in csp and "connect-src 'self'" in csp  # nothing from a CDN
    assert other.headers["content-security-policy"].endswith("frame-ancestors 'self'")
    assert acme.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("source", ["https://a.example; script-src *", "https://a.example\r\nX: y", ""])
def test_a_frame_ancestor_that_would_break_the_header_is_refused(source: str) -> None:
    with pytest.raises(ValidationError):
        SidebarSettings(frame_ancestors={"acme": [source]})

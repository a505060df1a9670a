"""The prompt builder page end to end in headless Chromium (the ``browser`` fixture of
tests/browser/conftest.py), against the real service.

An admin connects with an API key, opens the summary prompt, creates a draft, sees a
validation error for an undeclared variable, fixes it, previews it on a demo record,
publishes it, and the next action call's envelope names the new version."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from prompts.extractive import ExtractiveChatModel
from retrieval.embedder import SentenceTransformerEmbedder
from service.container import Container
from tests.browser.conftest import serve
from tests.conftest import REPO, auth_headers, demo_stack

pytestmark = pytest.mark.browser

SHOTS = REPO / "test-artifacts" / "prompt-builder"


@pytest.fixture
def service(demo_dir: Path, tmp_path: Path, embedder: SentenceTransformerEmbedder) -> Iterator[tuple[str, Container]]:
    """The real app on a free port over a private copy of the demo corpus."""
    container = demo_stack(demo_dir, tmp_path / "data", embedder, chat=ExtractiveChatModel())
    with serve(container) as url:
        yield url, container
    container.close()


def test_admin_edits_previews_and_publishes_a_prompt(service: tuple[str, Container], browser: object) -> None:
    base, container = service
    _, admin_key = container.keys.create_key("demo", "admin")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})  # type: ignore[attr-defined]
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(f"{base}/admin/prompts")

    page.fill("#api-key", admin_key)
    page.keyboard.press("Enter")
    page.click("button[data-prompt=summary]")
    page.wait_for_selector("#editing-title:has-text('summary v1')")
    page.click("#new-draft")
    page.wait_for_selector("#editing-title:has-text('summary v2')")
    assert page.text_content("#editing-state") == "draft"
    stored = page.evaluate("() => ({local: {...localStorage}, session: {...sessionStorage}, cookie: document.cookie})")
    assert admin_key not in str(stored)  # the key lives in memory only

    user = page.input_value("#user")
    page.fill("#user", user + "\nTone: {{ tone }}")
    page.keyboard.press("Control+s")
    page.wait_for_selector("#errors:not([hidden])")
    assert "variable 'tone' is used but not declared" in page.text_content("#errors")
    assert page.locator("#user-hl .expr", has_text="tone").count() == 1  # highlighted as an expression
    page.screenshot(path=str(SHOTS / "1-validation-error.png"), full_page=True)

    page.fill("#user", user + "\nWrite for a CFO: lead with money.")
    page.fill("#note", "CFO tone")
    page.click("#save")
    page.wait_for_selector("#status:has-text('Saved summary v2')")
    assert page.is_hidden("#errors")

    page.select_option("#record", "account:ACME-001")
    page.click("#preview")
    page.wait_for_selector("#status:has-text('Preview ready')")
    rendered = page.text_content("#output")
    assert "Write for a CFO: lead with money." in rendered
    assert "Acme Logistics (ACME-001)" in rendered and '<evidence id="E1"' in rendered
    assert "prompt tokens" in rendered
    page.screenshot(path=str(SHOTS / "2-preview.png"), full_page=True)

    page.click("#diff")
    page.wait_for_selector("#status:has-text('Diff ready')")
    assert page.locator("table.diff tr.insert td.right", has_text="Write for a CFO").count() == 1

    page.click("#publish")
    page.wait_for_selector("#status:has-text('Published v2')")
    assert page.text_content("#editing-state") == "published"
    page.screenshot(path=str(SHOTS / "3-published.png"), full_page=True)

    response = httpx.post(f"{base}/v1/actions/summary", json={"record": "account:ACME-001"}, timeout=60,
                          headers=auth_headers(container))  # Maria, an agent
    assert response.status_code == 200, response.text
    assert response.json()["prompt"] == {"name": "summary", "version": 2}
    page.close()

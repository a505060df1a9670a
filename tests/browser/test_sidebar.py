"""End-to-end: the sidebar in the demo CRM page, in headless Chromium, against the running
service on the demo corpus (extractive chat model: fast and deterministic)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from service.audit import AuditQuery
from service.container import Container
from service.reviews import ReviewQueue
from tests.conftest import MARIA

pytestmark = pytest.mark.browser

PLANTED_DRAFT = ("Hi Dana,\n\nWith route optimisation and Driver Coaching, Helio Fleet is guaranteed to cut your "
                 "fuel costs by 15% in the first year, which more than pays for the Driver Coaching add-on.\n\n"
                 "Best,\nMaria")




def open_record(page: Any, user: str = "u-maria", record: str = "account:ACME-001") -> Any:
    page.goto(f"/demo?user={user}&record={record}")
    return page.frame_locator("#sidekick")


def shot(page: Any, artifacts: Path, name: str) -> None:
    page.locator("#sidekick").screenshot(path=str(artifacts / f"{name}.png"))


def test_summary_shows_cited_bullets_and_opens_a_citation(page: Any, live_server: str, artifacts: Path) -> None:
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    sidebar = open_record(page)
    expect_text(sidebar.locator("#record-name"), "Acme Logistics")
    meta = sidebar.locator("#record-meta").inner_text()
    assert "Account" in meta and "Owner: u-maria" in meta
    # The buttons come from GET /v1/actions: every registered action is there.
    assert sidebar.locator("#actions button").count() == 5
    shot(page, artifacts, "01-record-opened")

    # Keyboard only: Tab from the top of the sidebar to the Summary button, Enter runs it.
    sidebar.locator("header").click()
    for _ in range(12):
        page.keyboard.press("Tab")
        if sidebar.locator("#actions button:focus").count() and \
                sidebar.locator("#actions button:focus").get_attribute("data-action") == "summary":
            break
    else:
        pytest.fail("the Summary button is not reachable with Tab")
    page.keyboard.press("Enter")
    bullets = sidebar.locator("section.bullets li")
    bullets.first.wait_for()
    assert bullets.count() >= 3
    assert sidebar.locator("section.bullets li .cite").count() >= bullets.count()
    shot(page, artifacts, "02-summary")

    cite = sidebar.locator("section.bullets li .cite").first
    cite.focus()
    page.keyboard.press("Enter")
    panel = sidebar.locator("#source")
    panel.wait_for(state="visible")
    assert sidebar.locator("#source-title").inner_text().startswith("[1] ")
    assert len(sidebar.locator("#source-text").inner_text()) > 20
    assert sidebar.locator("#source-meta .badge").inner_text()  # document kind in words
    shot(page, artifacts, "03-citation-open")
    page.keyboard.press("Escape")
    panel.wait_for(state="hidden")
    assert cite.evaluate("node => node === document.activeElement")  # focus returns to the citation

    # Air-gapped customers: the page loads nothing from anywhere but the service.
    assert requested and all(url.startswith(live_server) for url in requested), requested


def test_transcript_citation_shows_speaker_and_timestamp(page: Any, artifacts: Path) -> None:
    sidebar = open_record(page, record="opportunity:OPP-1001")
    expect_text(sidebar.locator("#record-meta span").nth(1), "Stage: Negotiation")
    sidebar.locator("#actions button[data-action=summary]").click()
    sidebar.locator("section.bullets li").first.wait_for()
    cites = sidebar.locator("section.bullets .cite")
    for i in range(cites.count()):
        cites.nth(i).click()
        if sidebar.locator("#source-meta .badge").inner_text() == "Call transcript":
            break
        sidebar.locator("#source-close").click()
    else:
        pytest.skip("no transcript among this summary's citations")
    where = sidebar.locator("#source-meta .where").all_inner_texts()
    assert any(w.startswith("at ") and ":" in w for w in where), where  # "at 03:12"
    shot(page, artifacts, "04-transcript-citation")


def test_field_fill_accepts_one_field_and_posts_it_to_the_host(page: Any, artifacts: Path) -> None:
    sidebar = open_record(page)
    sidebar.locator("#actions button[data-action=field_fill]").click()
    budget = sidebar.locator(".field-row[data-field=budget]")
    budget.wait_for()
    assert "$350,000" in budget.locator("dd.proposed").inner_text()
    # Current CRM values (from the host page) sit beside the proposals.
    assert sidebar.locator(".field-row[data-field=fleet_size] dd.current").inner_text() == "400"
    assert budget.locator("meter").count() == 1 and budget.locator("blockquote.quote .cite").count() == 1
    # Unknown stays unknown: nothing to accept.
    unknown = sidebar.locator(".field-row.unknown button")
    assert unknown.count() >= 1 and all(unknown.nth(i).is_disabled() for i in range(unknown.count()))
    shot(page, artifacts, "05-field-fill")

    budget.get_by_role("button", name="Accept Budget").click()
    page.wait_for_function("window.__sidekickMessages.some(m => m.data && m.data.type === 'sidekick:fields')")
    messages = page.evaluate("window.__sidekickMessages.filter(m => m.data.type === 'sidekick:fields')")
    assert len(messages) == 1
    payload = messages[0]["data"]
    assert payload["record"] == "account:ACME-001"
    assert payload["fields"] == {"budget": {"value": 350000, "currency": "USD"}}
    assert "350k" in payload["evidence"]["budget"]["quote"]
    assert messages[0]["origin"] == page.evaluate("location.origin")
    assert json.loads(page.locator("#accepted").inner_text()) == payload["fields"]  # the host page shows it
    assert budget.get_attribute("class") is not None and "accepted" in (budget.get_attribute("class") or "")
    shot(page, artifacts, "06-field-accepted")


def test_compliance_check_highlights_the_planted_violation(page: Any, artifacts: Path) -> None:
    sidebar = open_record(page)
    sidebar.locator("#actions button[data-action=compliance_check]").click()
    draft = sidebar.locator("textarea#in-compliance_check-draft")
    assert draft.evaluate("node => node === document.activeElement")  # focus goes to what must be typed
    draft.fill(PLANTED_DRAFT)
    sidebar.get_by_role("button", name="Run compliance check").click()
    mark = sidebar.locator(".checked-text mark.violation")
    mark.first.wait_for()
    assert "guaranteed to cut your fuel costs by 15%" in mark.first.inner_text()
    assert "4.1" in (mark.first.get_attribute("data-clauses") or "")
    assert "violation" in sidebar.locator(".banner").inner_text()
    assert sidebar.locator(".flags li[data-code=policy_violation]").count() >= 1
    assert "sales policy" in sidebar.locator(".flags").inner_text()
    shot(page, artifacts, "07-compliance")


def _run_planted_compliance_check(sidebar: Any) -> None:
    sidebar.locator("#actions button[data-action=compliance_check]").click()
    sidebar.locator("textarea#in-compliance_check-draft").fill(PLANTED_DRAFT)
    sidebar.get_by_role("button", name="Run compliance check").click()
    sidebar.locator(".checked-text mark.violation").first.wait_for()


def test_a_flagged_result_is_approved_or_rejected_from_the_sidebar(
        page: Any, live_stack: tuple[str, Container], artifacts: Path) -> None:
    """The flagged result names its queue item; Approve and Reject decide it and audit the decision."""
    container = live_stack[1]
    sidebar = open_record(page)
    _run_planted_compliance_check(sidebar)
    approve = sidebar.get_by_role("button", name="Approve")
    assert approve.is_enabled()
    assert "Flagged for review" in sidebar.locator(".review-note").inner_text()
    approve.click()
    sidebar.get_by_text("Approved: recorded in the review queue and the audit trail.").wait_for()
    shot(page, artifacts, "12-approved")

    queue = ReviewQueue(container.sessions)
    approved = queue.list_items(MARIA, action="compliance_check", status="approved")[0]
    assert len(approved) == 1 and approved[0].reviewer == "u-maria"
    decisions = container.audit.query("demo", AuditQuery(event="review:approve", user="u-maria"))
    assert len(decisions) == 1

    # The next flagged result is rejected, and the page insists on a reason first.
    _run_planted_compliance_check(sidebar)
    sidebar.get_by_role("button", name="Reject…").click()
    reason = sidebar.get_by_label("Why reject it?")
    assert reason.evaluate("node => node === document.activeElement")
    sidebar.locator(".reject-form button[type=submit]").click()
    sidebar.get_by_text("Say what is wrong so the team can fix it.").wait_for()
    reason.fill("The 15% claim is the customer's own estimate, not ours.")
    reason.press("Enter")
    sidebar.get_by_text("Rejected: recorded in the review queue and the audit trail.").wait_for()
    rejected = queue.list_items(MARIA, action="compliance_check", status="rejected")[0]
    assert [r.comment for r in rejected] == ["The 15% claim is the customer's own estimate, not ours."]
    assert len(container.audit.query("demo", AuditQuery(event="review:reject", user="u-maria"))) == 1
    shot(page, artifacts, "13-rejected")


def test_record_outside_the_acl_shows_permission_denied(page: Any, artifacts: Path) -> None:
    sidebar = open_record(page, user="u-james")  # Acme is t-enterprise; James is t-midmarket
    error = sidebar.locator(".state.error.error-forbidden")
    error.wait_for()
    assert "don't have access" in error.inner_text()
    assert error.get_by_role("button").count() == 0  # retrying will not help
    assert sidebar.locator("#actions button").count() == 0
    assert sidebar.locator("#record-name").inner_text() == "Restricted record"
    shot(page, artifacts, "08-permission-denied")


def test_sidebar_opened_without_a_host_explains_what_to_do(page: Any, artifacts: Path) -> None:
    page.goto("/sidebar?tenant=demo&record=account:ACME-001")
    state = page.locator(".state.empty")
    state.wait_for()
    assert "Open Sidekick from your CRM" in state.inner_text()
    page.set_viewport_size({"width": 380, "height": 700})
    page.screenshot(path=str(artifacts / "09-standalone-no-host.png"))


def expect_text(locator: Any, text: str) -> None:
    from playwright.sync_api import expect

    expect(locator).to_have_text(text, timeout=30_000)


def test_qa_streams_its_answer_with_inline_citations(page: Any, artifacts: Path) -> None:
    sidebar = open_record(page)
    sidebar.locator("#actions button[data-action=qa]").click()
    sidebar.locator("#in-qa-question").fill("What budget did Acme's CFO approve?")
    sidebar.get_by_role("button", name="Run q&a").click()
    answer = sidebar.locator(".answer")
    answer.wait_for()
    assert "350" in answer.inner_text()
    assert answer.locator(".cite").count() >= 1
    shot(page, artifacts, "10-qa")


def test_model_unavailable_is_a_designed_state(page: Any, down_server: str, artifacts: Path) -> None:
    page.goto(f"{down_server}/demo?user=u-maria&record=account:ACME-001")
    sidebar = page.frame_locator("#sidekick")
    sidebar.locator("#actions button[data-action=summary]").click()
    error = sidebar.locator(".state.error.error-model-unavailable")
    error.wait_for()
    assert "The assistant is unavailable" in error.inner_text()
    assert error.get_by_role("button", name="Try again").count() == 1
    shot(page, artifacts, "11-model-unavailable")
    # A streamed action fails after the stream started (an SSE error event): same state.
    sidebar.locator("#actions button[data-action=qa]").click()
    sidebar.locator("#in-qa-question").fill("What budget did Acme's CFO approve?")
    sidebar.get_by_role("button", name="Run q&a").click()
    sidebar.locator(".state.error.error-model-unavailable").wait_for()
    assert sidebar.locator("details.options[open] #in-qa-question").input_value().startswith("What budget")


def test_a_foreign_origin_cannot_frame_the_sidebar(page: Any, live_server: str) -> None:
    foreign = "http://crm.invalid/record"
    page.route(foreign, lambda route: route.fulfill(
        content_type="text/html",
        body=f'<iframe id="sidekick" src="{live_server}/sidebar?tenant=demo&record=account:ACME-001"></iframe>'))
    page.goto(foreign)
    page.wait_for_timeout(1500)
    framed = page.frame_locator("#sidekick").locator("#record-name")
    assert framed.count() == 0  # blocked by CSP frame-ancestors 'self'
    page.goto("/demo")  # the service's own origin may
    expect_text(page.frame_locator("#sidekick").locator("#record-name"), "Acme Logistics")


def test_email_draft_picks_its_recipient_from_the_record_contacts(page: Any, artifacts: Path) -> None:
    sidebar = open_record(page, record="account:INITECH-003")
    sidebar.locator("#actions button[data-action=email_draft]").click()
    picker = sidebar.locator("select#in-email_draft-contact_id")
    picker.locator("option[value=C-301]").wait_for(state="attached")
    assert picker.evaluate("node => node === document.activeElement")  # the one thing to choose
    nora = picker.locator("option[value=C-304]")
    assert nora.is_disabled() and "no outreach consent" in nora.inner_text()
    assert "Alan Brooks, Chief Operating Officer" in picker.locator("option[value=C-301]").inner_text()
    picker.select_option("C-301")
    sidebar.get_by_role("button", name="Run email draft").click()
    subject = sidebar.locator(".subject strong")
    subject.wait_for()
    assert sidebar.locator(".email-body").inner_text().strip()
    shot(page, artifacts, "14-email-recipient")


def test_an_expired_session_is_renewed_through_the_host(page: Any, short_session_server: str) -> None:
    """Sessions last 2 s here: the next call gets a 401, the sidebar asks the host page for
    the user context again, starts a new session and the action still runs."""
    sessions: list[int] = []
    page.on("response", lambda r: sessions.append(r.status) if r.url.endswith("/v1/sessions") else None)
    page.goto(f"{short_session_server}/demo?user=u-maria&record=account:ACME-001")
    sidebar = page.frame_locator("#sidekick")
    sidebar.locator("#actions button[data-action=summary]").wait_for()
    assert sessions == [200]
    page.wait_for_timeout(3000)
    sidebar.locator("#actions button[data-action=summary]").click()
    sidebar.locator(".result-title").wait_for()
    assert sidebar.locator(".state.error").count() == 0
    assert sessions == [200, 200]

"""Streaming actions over HTTP (server-sent events): meta, tokens, done with the envelope;
errors as an ``error`` event with a problem+json body; every stream audited."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from actions.base import ActionContext
from actions.qa import NOT_FOUND, QAAction, QAInput
from prompts.chat import LlamaCppChatModel, OpenAIChatModel
from prompts.store import PromptVersionRow
from retrieval.embedder import SentenceTransformerEmbedder
from retrieval.identity import Caller
from service.app import create_app
from service.audit import AuditRow
from service.container import Container
from tests.actions.test_qa import quoting
from tests.conftest import auth_headers, demo_stack, scripted
from tests.prompts.test_chat import Endpoint


def events(client: TestClient, path: str, body: dict[str, Any], hdrs: dict[str, str]) -> list[tuple[str, Any]]:
    out = []
    with client.stream("POST", path, json=body, headers=hdrs) as response:
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
        for block in response.read().decode().split("\n\n"):
            if block.strip():
                kind, data = block.split("\n", 1)
                out.append((kind.removeprefix("event: "), json.loads(data.removeprefix("data: "))))
    return out


def test_qa_streams_tokens_then_the_envelope(client: TestClient, demo_container: Container) -> None:
    scripted(demo_container).responder = quoting("requests per minute")
    hdrs = auth_headers(demo_container, user="u-priya")
    got = events(client, "/v1/actions/qa/stream", {"question": "What is the Enterprise API rate limit?"}, hdrs)
    kinds = [k for k, _ in got]
    assert kinds[0] == "meta" and kinds[-1] == "done" and kinds.count("token") >= 3
    meta, done = got[0][1], got[-1][1]
    assert meta["prompt"] == {"name": "qa", "version": 1} and meta["citations"]
    answer = "".join(d["text"] for k, d in got if k == "token")
    assert done["output"]["answer"] == answer and done["output"]["answerable"] is True
    assert {s["chunk_id"] for s in done["output"]["sources"]} <= {c["chunk_id"] for c in meta["citations"]}
    assert done["usage"]["completion_tokens"] > 0 and done["cached"] is False
    with demo_container.sessions() as session:
        row = session.query(AuditRow).filter_by(event="action:qa").one()
    assert row.request_id == done["id"] and row.status == "ok" and row.chunk_ids
    again = events(client, "/v1/actions/qa/stream", {"question": "What is the Enterprise API rate limit?"}, hdrs)
    assert [k for k, _ in again] == ["meta", "token", "done"] and again[-1][1]["cached"] is True
    assert again[1][1]["text"] == answer


def test_stream_failures_are_error_events_and_audited(client: TestClient, demo_container: Container) -> None:
    hdrs = auth_headers(demo_container, user="u-priya")  # the scripted model has nothing queued: it fails
    got = events(client, "/v1/actions/qa/stream", {"question": "How are webhooks retried?"}, hdrs)
    assert [k for k, _ in got] == ["meta", "error"]
    assert got[-1][1]["type"].endswith("/model-error") and got[-1][1]["status"] == 502
    with demo_container.sessions() as session:
        assert session.query(AuditRow).filter_by(event="action:qa", status="error").count() == 1
    bad = client.post("/v1/actions/qa/stream", json={"question": ""}, headers=hdrs)
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
    assert client.post("/v1/actions/field_fill/stream", json={}, headers=hdrs).status_code in (404, 405)
    forbidden = client.post("/v1/actions/qa/stream?prompt_version=1", json={"question": "Hi?"}, headers=hdrs)
    assert forbidden.status_code == 403  # checked before the stream starts


def test_refused_email_streams_no_tokens(client: TestClient, demo_container: Container) -> None:
    hdrs = auth_headers(demo_container, user="u-james", teams=("t-midmarket",))
    got = events(client, "/v1/actions/email_draft/stream", {"contact_id": "C-203", "tone": "friendly"}, hdrs)
    assert [k for k, _ in got] == ["meta", "done"]
    assert got[-1][1]["output"]["refused"] is True and got[-1][1]["review_flags"][0]["code"] == "no_evidence"
    assert demo_container.chat.calls == []  # type: ignore[attr-defined]
    listed = {a["name"]: a["streams"] for a in client.get("/v1/actions", headers=hdrs).json()}
    assert listed == {"summary": False, "email_draft": True, "field_fill": False, "compliance_check": False,
                      "qa": True}


@pytest.mark.slow
def test_real_model_streams_its_first_tokens_before_it_finishes(demo_container: Container,
                                                                 tmp_path_factory: pytest.TempPathFactory) -> None:
    from prompts.local_model import MODEL_NAME, assemble_packaged_model

    path = assemble_packaged_model(tmp_path_factory.getbasetemp().parent / "sidekick-models")
    demo_container._chat = LlamaCppChatModel(path, name=MODEL_NAME, context_tokens=2048, threads=2)
    demo_container.__dict__.pop("action_env", None)
    env = demo_container.action_env
    env.context_tokens = 400  # a short prompt: this checks streaming, not answer quality
    template = env.prompts.get("demo", "qa").template.model_copy(deep=True)
    template.params.max_tokens = 40
    with demo_container.sessions() as session:  # an admin's draft version with a small token limit
        session.add(PromptVersionRow(tenant_id="demo", name="qa", version=2, state="draft",
                                     template=template.model_dump(mode="json")))
        session.commit()
    admin = Caller(tenant_id="demo", user_id="u-lena", teams=("t-enterprise",), role="admin")
    ctx = ActionContext(caller=admin, env=env, prompt_version=2)
    start, stamps = time.perf_counter(), []
    final = None
    for event in QAAction().stream(QAInput(question="How much does the Growth tier cost per vehicle?"), ctx):
        stamps.append((event.event, time.perf_counter() - start))
        final = event.response or final
    kinds = [k for k, _ in stamps]
    assert kinds[0] == "meta" and kinds[-1] == "done" and "token" in kinds
    first_token = next(t for k, t in stamps if k == "token")
    assert first_token < stamps[-1][1]  # tokens arrive before the answer is complete
    assert final is not None and final.model == MODEL_NAME and final.prompt.version == 2
    assert 0 < final.usage.completion_tokens <= 60  # tiktoken count of at most 40 model tokens
    assert final.output.answer == NOT_FOUND or final.output.answerable


def test_pii_is_masked_on_the_streamed_path_and_restored_in_every_delta(
        demo_dir: Path, tmp_path: Path, embedder: SentenceTransformerEmbedder) -> None:
    """An external model never sees the contact's email on the streaming path either, and the
    rep never sees a placeholder, even one the endpoint splits across three deltas."""
    endpoint = Endpoint()
    seen: list[str] = []

    def reply(body: dict[str, Any]) -> list[str]:
        prompt = "\n".join(m["content"] for m in body["messages"])
        seen.append(prompt)
        placeholder = re.search(r"<EMAIL_\d+>", prompt)
        assert placeholder is not None, "the evidence should hold Greg's email, masked"
        text = f"Greg's email is {placeholder.group(0)} [E1]."
        cut = text.index("<") + 3
        return [text[:cut], text[cut:cut + 4], text[cut + 4:]]

    endpoint.responses = [(200, reply), (200, reply)]
    chat = OpenAIChatModel(model="m", base_url=endpoint.url, api_key="k", max_retries=0)
    container = demo_stack(demo_dir, tmp_path / "data", embedder, chat=chat)
    try:
        with TestClient(create_app(container=container)) as client:
            got = events(client, "/v1/actions/qa/stream", {"question": "What is Greg Novak's email address?",
                                                             "record": "account:ACME-001"}, auth_headers(container))
    finally:
        container.close()
        endpoint.server.shutdown()
        endpoint.server.server_close()
    assert seen and all("greg.novak@acme-logistics.com" not in prompt for prompt in seen)
    deltas = [d["text"] for k, d in got if k == "token"]
    assert not any("EMAIL" in d for d in deltas)
    answer = "".join(deltas)
    assert "greg.novak@acme-logistics.com" in answer
    assert got[-1][0] == "done" and got[-1][1]["output"]["answer"] == answer

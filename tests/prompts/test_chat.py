"""The chat-model layer: tiktoken usage, the scripted backend, and the OpenAI-compatible
backend against a real HTTP server on the loopback interface (retries, schema fallback,
error mapping, timeouts, streaming)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from prompts.chat import (
    ChatError,
    ContextOverflow,
    LlamaCppChatModel,
    ModelRejected,
    ModelUnavailable,
    OpenAIChatModel,
    count_message_tokens,
    count_usage,
)
from prompts.scripted import ScriptedChatModel
from retrieval.tokens import count_tokens

MESSAGES: list[Any] = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello there"}]


def test_usage_is_counted_with_tiktoken() -> None:
    assert count_tokens("hello world") == 2  # cl100k_base, the real encoding
    usage = count_usage(MESSAGES, "General Kenobi!")
    assert usage.completion_tokens == count_tokens("General Kenobi!")
    assert usage.prompt_tokens == count_message_tokens(MESSAGES) == count_tokens("Be brief.") + count_tokens(
        "Hello there") + 2 * 4 + 2
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens


def test_scripted_model_replays_queue_then_responder_and_records_calls() -> None:
    model = ScriptedChatModel(["first", {"a": 1}], responder=lambda messages, schema: f"echo {len(messages)}")
    assert model.complete(MESSAGES, max_tokens=5, temperature=0).text == "first"
    assert json.loads(model.complete(MESSAGES, max_tokens=5, temperature=0, json_schema={}).text) == {"a": 1}
    assert "".join(model.stream(MESSAGES, max_tokens=9, temperature=0)) == "echo 2"
    assert [c["max_tokens"] for c in model.calls] == [5, 5, 9]
    with pytest.raises(ChatError):
        ScriptedChatModel().complete(MESSAGES, max_tokens=1, temperature=0)


class Endpoint:
    """A tiny OpenAI-compatible server: scripted responses per request, requests recorded."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.responses: list[tuple[int, Any]] = []
        self.delay_s = 0.0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - GET /models: what readiness checks ask
                raw = json.dumps({"object": "list", "data": [{"id": "m", "object": "model", "created": 0,
                                                              "owned_by": "test"}]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.requests.append(body)
                time.sleep(outer.delay_s)
                status, payload = outer.responses.pop(0) if outer.responses else (200, "ok")
                if callable(payload):  # computed from the request (e.g. echo a placeholder it saw)
                    payload = payload(body)
                if body.get("stream"):
                    self.send_response(200)
                    self.send_header("Content-Type", "text/event-stream")
                    self.end_headers()
                    for piece in payload:
                        chunk = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "m",
                                 "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]}
                        self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                    self.wfile.write(b"data: [DONE]\n\n")
                    return
                data = payload if status != 200 else {
                    "id": "c", "object": "chat.completion", "created": 0, "model": "m",
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": payload},
                                 "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}
                raw = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                if status != 200:
                    self.send_header("retry-after-ms", "20")  # the SDK honours it: keeps the test fast
                self.end_headers()
                self.wfile.write(raw)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    server = Endpoint()
    yield server
    server.server.shutdown()
    server.server.server_close()


def _model(endpoint: Endpoint, **kwargs: Any) -> OpenAIChatModel:
    return OpenAIChatModel(model="m", base_url=endpoint.url, api_key="k", **kwargs)


def test_openai_backend_retries_server_errors_with_backoff(endpoint: Endpoint) -> None:
    error = {"error": {"message": "busy", "type": "server_error"}}
    endpoint.responses = [(503, error), (503, error), (200, "done")]
    result = _model(endpoint, max_retries=2).complete(MESSAGES, max_tokens=7, temperature=0)
    assert result.text == "done" and len(endpoint.requests) == 3
    assert endpoint.requests[-1]["max_tokens"] == 7
    assert result.usage.prompt_tokens == count_message_tokens(MESSAGES)  # tiktoken, not the server's numbers
    endpoint.responses = [(503, error)] * 2
    with pytest.raises(ModelUnavailable):
        _model(endpoint, max_retries=1).complete(MESSAGES, max_tokens=7, temperature=0)


def test_openai_backend_falls_back_to_json_object_when_json_schema_is_refused(endpoint: Endpoint) -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}}
    endpoint.responses = [(500, {"error": {"message": "json_schema unsupported"}}), (200, '{"n": 1}'),
                          (200, '{"n": 2}')]
    model = _model(endpoint, max_retries=0)
    assert model.complete(MESSAGES, max_tokens=5, temperature=0, json_schema=schema).text == '{"n": 1}'
    assert model.complete(MESSAGES, max_tokens=5, temperature=0, json_schema=schema).text == '{"n": 2}'
    formats = [r["response_format"]["type"] for r in endpoint.requests]
    assert formats == ["json_schema", "json_object", "json_object"]  # detected once, then remembered
    assert endpoint.requests[1]["response_format"]["schema"] == schema


def test_openai_backend_maps_rejections_and_timeouts(endpoint: Endpoint) -> None:
    endpoint.responses = [(401, {"error": {"message": "bad key"}})]
    with pytest.raises(ModelRejected) as rejected:
        _model(endpoint, max_retries=3).complete(MESSAGES, max_tokens=5, temperature=0)
    assert rejected.value.status == 401 and len(endpoint.requests) == 1  # not retried
    endpoint.delay_s = 1.0
    with pytest.raises(ModelUnavailable):
        _model(endpoint, max_retries=0, timeout_s=0.2).complete(MESSAGES, max_tokens=5, temperature=0)


def test_openai_backend_streams_deltas(endpoint: Endpoint) -> None:
    endpoint.responses = [(200, ["Hel", "lo", " world"])]
    assert list(_model(endpoint).stream(MESSAGES, max_tokens=5, temperature=0)) == ["Hel", "lo", " world"]
    assert endpoint.requests[0]["stream"] is True


@pytest.mark.slow
def test_local_model_reports_a_prompt_longer_than_its_context(tmp_path_factory: pytest.TempPathFactory) -> None:
    from prompts.local_model import MODEL_NAME, assemble_packaged_model

    path = assemble_packaged_model(tmp_path_factory.getbasetemp().parent / "sidekick-models")
    model = LlamaCppChatModel(path, name=MODEL_NAME, context_tokens=128, threads=2)
    long_prompt: list[Any] = [{"role": "user", "content": "fleet " * 400}]
    with pytest.raises(ContextOverflow):
        model.complete(long_prompt, max_tokens=4, temperature=0)
    with pytest.raises(ContextOverflow):
        list(model.stream(long_prompt, max_tokens=4, temperature=0))

"""The real embedded chat model (Qwen2.5-Coder-1.5B-Instruct GGUF via llama-cpp-python)."""

from __future__ import annotations

import pytest

from actions.base import ActionContext
from actions.summary import SummaryAction, SummaryInput
from prompts.chat import LlamaCppChatModel
from prompts.local_model import MODEL_NAME, assemble_packaged_model, packaged_model_available
from service.container import Container
from tests.conftest import MARIA

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def local_model(tmp_path_factory: pytest.TempPathFactory) -> LlamaCppChatModel:
    if not packaged_model_available():
        pytest.fail("the packaged model is part of the test install ('local' extra) but is missing")
    path = assemble_packaged_model(tmp_path_factory.getbasetemp().parent / "sidekick-models")
    return LlamaCppChatModel(path, name=MODEL_NAME, context_tokens=4096, threads=2)


def test_grammar_constrained_json(local_model: LlamaCppChatModel) -> None:
    schema = {"type": "object", "properties": {"city": {"type": "string"}, "trucks": {"type": "integer"}},
              "required": ["city", "trucks"]}
    result = local_model.complete(
        [{"role": "user", "content": "Acme runs 420 trucks out of Chicago. Extract city and truck count as JSON."}],
        max_tokens=60, temperature=0.0, json_schema=schema,
    )
    import json

    data = json.loads(result.text)
    assert data["trucks"] == 420 and "chicago" in data["city"].lower()
    assert result.usage.completion_tokens > 0


def test_summary_with_the_real_model(demo_container: Container, local_model: LlamaCppChatModel) -> None:
    demo_container._chat = local_model
    demo_container.__dict__.pop("action_env", None)
    ctx = ActionContext(caller=MARIA,
                        env=demo_container.action_env)
    response = SummaryAction().run(SummaryInput(record="account:ACME-001", max_bullets=3), ctx)
    out = response.output
    assert out.headline.strip()
    bullets = out.key_facts + out.open_questions + out.risks + out.next_steps
    assert bullets, "the model produced no bullets"
    retrieved = set(response.retrieved_chunk_ids)
    assert all(cid in retrieved for b in bullets for cid in b.citations)
    cited = [b for b in bullets if b.citations]
    assert len(cited) >= len(bullets) / 2, "most bullets cite evidence"
    assert response.model == MODEL_NAME and response.usage.completion_tokens > 20

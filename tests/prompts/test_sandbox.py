"""Bad templates: sandbox escapes, runaway loops, huge outputs, invalid Jinja, wrong types.

Each one gives a clear error at render time (what actions and previews hit) and is
refused on save with nothing stored (what the prompt builder hits)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from jinja2.sandbox import MAX_RANGE

from prompts.render_limits import DEFAULT_TIMEOUT_S as TIMEOUT_S
from prompts.render_limits import LimitedEnvironment, RenderLimitExceeded
from prompts.store import PromptStore
from prompts.templates import MAX_RENDER_CHARS, PromptTemplate, TemplateInvalid
from service.db import create_schema, make_engine, make_sessions

SUMMARY_VALUES = {"record_label": "account Acme", "evidence": "E1 text " * 200, "focus": "", "max_bullets": 3}


def render_user(body: str, values: dict[str, object] | None = None) -> list[str]:
    template = PromptTemplate(name="t", system="s", user=body,
                              variables=[{"name": "v", "type": "str", "required": False}])  # type: ignore[list-item]
    with pytest.raises(TemplateInvalid) as err:
        template.render(values if values is not None else {"v": "abc" * 400})
    return err.value.problems


@pytest.fixture
def store(tmp_path: Path) -> PromptStore:
    engine = make_engine(f"sqlite:///{tmp_path / 'p.db'}")
    create_schema(engine)
    return PromptStore(make_sessions(engine))


ESCAPES = [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ v.__class__ }}",
    "{{ v['__class__'] }}",
    "{{ lipsum.__globals__['os'] }}",
]


@pytest.mark.parametrize("body", ESCAPES)
def test_reaching_python_internals_is_refused(body: str) -> None:
    problems = render_user(body)
    assert any("unsafe" in p or "undefined" in p or "no attribute" in p for p in problems), problems


RUNAWAY = [
    "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
    "{% for a in v %}{% for b in v %}{% for c in v %}{% endfor %}{% endfor %}{% endfor %}",
    "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(60) }}",
]


@pytest.mark.parametrize("body", RUNAWAY)
def test_runaway_loops_stop_at_the_deadline(body: str) -> None:
    start = time.perf_counter()
    problems = render_user(body)
    elapsed = time.perf_counter() - start
    assert any("longer than" in p for p in problems), problems
    assert elapsed < TIMEOUT_S + 3.0  # the loop is cut off, not run to the end (that would take hours)


HUGE = {
    "{{ 'x' * 1000000000 }}": "repeating",
    "{{ 'x'|center(1000000000) }}": "too large",
    "{{ v|replace('a', v * 100) }}": "replace",
    "{{ '%0999999999d' % 1 }}": "format width",
    "{{ '{:>999999999}'.format(1) }}": "format width",
    "{{ '{:{w}}'.format(1, w=999999999) }}": "too large",
    "{{ 2 ** 100000 }}": "exponent",
    "{% for i in range(100000) %}{{ v }}{% endfor %}": "exceeds",
    "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}": "recurses",
}


@pytest.mark.parametrize("body", list(HUGE))
def test_huge_outputs_are_refused_before_they_are_built(body: str) -> None:
    problems = render_user(body)
    assert any(HUGE[body] in p for p in problems), problems


def test_the_sandbox_caps_range() -> None:
    assert MAX_RANGE == 100_000
    problems = render_user("{{ range(100001)|list|length }}")
    assert any("MAX_RANGE" in p for p in problems), problems
    ok = PromptTemplate(name="t", system="s", user="{{ range(100000)|list|length }}", variables=[])
    assert ok.render({})[1]["content"] == "100000"


def test_output_cap_streams_and_stops() -> None:
    env = LimitedEnvironment(max_chars=1000)
    with pytest.raises(RenderLimitExceeded, match="exceeds 1000"):
        env.render_limited("{% for i in range(100000) %}xxxxxxxxxx{% endfor %}", {})
    assert env.render_limited("{% for i in range(100) %}xxxxxxxxxx{% endfor %}", {}) == "x" * 1000
    assert MAX_RENDER_CHARS == 200_000


def test_ordinary_templates_still_work() -> None:
    template = PromptTemplate(
        name="t", system="s", user="{{ v|upper }} {{ [1, 2]|join(',') }} {{ '%s-%d' % ('a', 3) }} "
                                   "{{ '{}/{}'.format(1, 2) }} {{ 2 ** 10 }} {{ 'ab' * 3 }}",
        variables=[{"name": "v", "type": "str"}])  # type: ignore[list-item]
    assert template.render({"v": "hi"})[1]["content"] == "HI 1,2 a-3 1/2 1024 ababab"


def test_wrong_types_are_reported_together() -> None:
    from prompts.templates import default_templates

    summary = default_templates()["summary"]
    with pytest.raises(TemplateInvalid) as err:
        summary.render({**SUMMARY_VALUES, "max_bullets": "five", "record_label": 7})
    assert err.value.problems == ["variable 'record_label' should be str, got int",
                                  "variable 'max_bullets' should be int, got str"]


# -- on save: clear errors, nothing stored ---------------------------------------------------------
BAD_SAVES = {
    "{{ ''.__class__ }}": "attribute '__class__' is private",
    "{{ v['__globals__'] }}": "attribute '__globals__' is private",
    "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}": "longer than",
    "{{ 'x' * 1000000000 }}": "repeating",
    "{% for x in %}": "syntax error on line 1",
    "{{ evidence }": "syntax error",
}


@pytest.mark.parametrize("extra", list(BAD_SAVES))
def test_bad_templates_are_refused_on_save_and_nothing_is_stored(store: PromptStore, extra: str) -> None:
    draft = store.create_draft("t1", "summary", from_version=None, author="admin")
    before = store.get("t1", "summary", draft.version).template
    with pytest.raises(TemplateInvalid) as err:
        store.edit_draft("t1", "summary", draft.version, {"user": before.user + "\n" + extra})
    assert any(BAD_SAVES[extra] in p for p in err.value.problems), err.value.problems
    assert store.get("t1", "summary", draft.version).template == before


def test_wrong_variable_types_are_refused_on_save(store: PromptStore) -> None:
    draft = store.create_draft("t1", "summary", from_version=None, author="admin")
    variables = [v.model_dump() for v in draft.template.variables]
    for v in variables:
        if v["name"] == "max_bullets":
            v["type"] = "str"
    with pytest.raises(TemplateInvalid) as err:
        store.edit_draft("t1", "summary", draft.version, {"variables": variables + [{"name": 5}]})
    assert any("variables.4.name" in p for p in err.value.problems), err.value.problems
    with pytest.raises(TemplateInvalid) as err:
        store.edit_draft("t1", "summary", draft.version, {"variables": variables})
    assert err.value.problems == ["variable 'max_bullets' is int for this action, not str"]

"""The prompt store: seeding per tenant, drafts, validation, publish, rollback, archive, diff."""

from __future__ import annotations

from pathlib import Path

import pytest

from prompts.diff import diff_templates, side_by_side
from prompts.store import PromptNotFound, PromptStateError, PromptStore, PromptVersionRow
from prompts.templates import TemplateInvalid, default_templates
from service.db import create_schema, make_engine, make_sessions


@pytest.fixture
def store(tmp_path: Path) -> PromptStore:
    engine = make_engine(f"sqlite:///{tmp_path / 'p.db'}")
    create_schema(engine)
    return PromptStore(make_sessions(engine))


def published_versions(store: PromptStore, tenant: str, name: str) -> list[int]:
    return [v.version for v in store.versions(tenant, name) if v.state == "published"]


def test_defaults_are_seeded_per_tenant_on_first_use(store: PromptStore) -> None:
    names = store.names("acme")
    assert set(default_templates()) <= set(names)
    got = store.get("acme", "summary")
    assert (got.version, got.state, got.author) == (1, "published", "system")
    assert got.template == default_templates()["summary"]
    assert store.names("acme") == names  # seeding twice adds nothing
    assert [v.version for v in store.versions("acme", "summary")] == [1]
    with pytest.raises(PromptNotFound):
        store.get("acme", "no_such_prompt")


def test_draft_edit_publish_and_the_action_lookup(store: PromptStore) -> None:
    draft = store.create_draft("acme", "summary", from_version=None, author="key:abc", note="shorter")
    assert (draft.version, draft.state, draft.author, draft.note) == (2, "draft", "key:abc", "shorter")
    user = draft.template.user.replace("Summarise {{ record_label }}.", "Summarise {{ record_label }} for a CFO.")
    edited = store.edit_draft("acme", "summary", 2, {"user": user, "params": {"temperature": 0.0, "max_tokens": 300}})
    assert "for a CFO" in edited.template.user
    assert edited.template.params.max_tokens == 300
    assert store.get("acme", "summary").version == 1  # actions still get the published one
    assert store.get("acme", "summary", 2).state == "draft"  # an admin may name the draft

    live, replaced = store.publish("acme", "summary", 2)
    assert (live.version, replaced) == (2, 1)
    assert store.get("acme", "summary").version == 2
    assert published_versions(store, "acme", "summary") == [2]
    assert store.get("acme", "summary", 1).state == "archived"
    with pytest.raises(PromptStateError):
        store.edit_draft("acme", "summary", 2, {"user": user})  # published versions are read-only
    with pytest.raises(PromptStateError):
        store.publish("acme", "summary", 2)


def test_rollback_republishes_an_earlier_version(store: PromptStore) -> None:
    store.create_draft("acme", "summary", from_version=None, author="a")
    store.publish("acme", "summary", 2)
    back, replaced = store.rollback("acme", "summary", 1)
    assert (back.version, replaced) == (1, 2)
    assert published_versions(store, "acme", "summary") == [1]
    with pytest.raises(PromptStateError):
        store.rollback("acme", "summary", 1)  # already live
    # a new draft may start from any version, e.g. the rolled-back-from one
    again = store.create_draft("acme", "summary", from_version=2, author="a")
    assert again.version == 3
    assert again.template == store.get("acme", "summary", 2).template


def test_archive_discards_drafts_only(store: PromptStore) -> None:
    store.create_draft("acme", "summary", from_version=None, author="a")
    assert store.archive("acme", "summary", 2).state == "archived"
    with pytest.raises(PromptStateError):
        store.archive("acme", "summary", 1)
    with pytest.raises(PromptStateError):
        store.edit_draft("acme", "summary", 2, {"description": "x"})


def test_one_tenants_edits_never_reach_another(store: PromptStore) -> None:
    draft = store.create_draft("acme", "summary", from_version=None, author="a")
    store.edit_draft("acme", "summary", draft.version, {"user": draft.template.user + "\nACME ONLY"})
    store.publish("acme", "summary", draft.version)
    other = store.get("globex", "summary")
    assert (other.version, "ACME ONLY" in other.template.user) == (1, False)
    with pytest.raises(PromptNotFound):
        store.get("globex", "summary", 2)
    with pytest.raises(PromptNotFound):
        store.publish("globex", "summary", 2)
    assert [v.version for v in store.versions("globex", "summary")] == [1]


def test_validation_lists_every_problem_at_once_and_saves_nothing(store: PromptStore) -> None:
    draft = store.create_draft("acme", "summary", from_version=None, author="a")
    variables = [v.model_dump() for v in draft.template.variables if v.name != "focus"]
    variables.append({"name": "tone", "type": "str", "description": "made up"})
    user = "Summarise {{ record_label }} in {{ language }}.\n{{ evidence }}"  # max_bullets no longer used
    with pytest.raises(TemplateInvalid) as err:
        store.edit_draft("acme", "summary", 2, {"user": user, "variables": variables})
    assert sorted(err.value.problems) == sorted([
        "variable 'language' is used but not declared",
        "required variable 'max_bullets' is declared but never used (mark it required = false)",
        "required variable 'tone' is declared but never used (mark it required = false)",
        "unknown variable 'tone': the summary action supplies only evidence, focus, max_bullets, record_label",
        "variable 'focus' is supplied by the action and must be declared "
        "(mark it required = false if the template does not use it)",
    ])
    assert store.get("acme", "summary", 2).template == draft.template
    with pytest.raises(TemplateInvalid, match="field 'name' cannot be edited"):
        store.edit_draft("acme", "summary", 2, {"name": "qa"})


def test_exactly_one_published_version_after_many_changes(store: PromptStore) -> None:
    for _ in range(3):
        d = store.create_draft("acme", "summary", from_version=None, author="a")
        store.publish("acme", "summary", d.version)
    store.rollback("acme", "summary", 2)
    with store._sessions() as session:  # noqa: SLF001 - checking the stored rows themselves
        rows = session.query(PromptVersionRow).filter_by(tenant_id="acme", name="summary").all()
    assert sorted((r.version, r.state) for r in rows) == [
        (1, "archived"), (2, "published"), (3, "archived"), (4, "archived")]


def test_diff_rows_pair_changed_lines() -> None:
    rows = side_by_side(["a", "b", "c"], ["a", "B", "c", "d"])
    assert [(r.op, r.left, r.right) for r in rows] == [
        ("equal", "a", "a"), ("replace", "b", "B"), ("equal", "c", "c"), ("insert", None, "d")]
    base = default_templates()["summary"]
    changed = base.model_copy(update={"user": base.user.replace("Summarise", "Sum up"),
                                      "params": base.params.model_copy(update={"temperature": 0.5})})
    diff = diff_templates("summary", base, 1, changed, 2)
    assert {p.part for p in diff.parts if p.changed} == {"user", "params"}
    assert "-Summarise {{ record_label }}." in diff.unified
    assert "+Sum up {{ record_label }}." in diff.unified
    assert "+temperature = 0.5" in diff.unified


@pytest.mark.parametrize("name", sorted(default_templates()))
def test_every_shipped_default_passes_the_save_checks(name: str) -> None:
    from prompts.store import check_template

    template = default_templates()[name]
    check_template(template, template)  # raises TemplateInvalid listing problems otherwise

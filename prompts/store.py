"""Versioned prompts per tenant in SQL.

Defaults are seeded from ``prompts/defaults`` on first use, per tenant. A version is a
``draft`` (editable), ``published`` (the one actions use; exactly one per tenant and
prompt) or ``archived`` (a former published version or a discarded draft; read-only).
Publishing a draft archives the previous published version; rolling back republishes an
earlier version. Every query is scoped by tenant, so one tenant's edits never reach another."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import jinja2
from jinja2 import meta, nodes
from jinja2.sandbox import SecurityError
from pydantic import ValidationError
from sqlalchemy import JSON, DateTime, Integer, String, Text, UniqueConstraint, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from prompts.render_limits import LimitedEnvironment, RenderLimitExceeded
from prompts.templates import MAX_RENDER_CHARS, PromptError, PromptTemplate, TemplateInvalid, default_templates

EDITABLE_FIELDS = ("description", "system", "user", "variables", "params", "output_schema")
"""What an admin may change in a draft; the name is fixed (actions look prompts up by it)."""


class PromptBase(DeclarativeBase):
    pass


class PromptVersionRow(PromptBase):
    __tablename__ = "prompt_versions"
    __table_args__ = (UniqueConstraint("tenant_id", "name", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16))  # draft | published | archived
    template: Mapped[dict[str, Any]] = mapped_column(JSON)
    author: Mapped[str] = mapped_column(String(128), default="system")
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=lambda: datetime.now(UTC))


class PromptNotFound(PromptError):
    def __init__(self, tenant_id: str, name: str, version: int | None = None) -> None:
        what = f"{name} v{version}" if version else name
        super().__init__(f"no prompt {what} for tenant {tenant_id}")
        self.name = name
        self.version = version


class PromptStateError(PromptError):
    """The version is in the wrong state for this change (e.g. editing a published version)."""


class PublishedPrompt:
    """One stored version (published or not), with its template parsed."""

    def __init__(self, row: PromptVersionRow) -> None:
        self.name = row.name
        self.version = row.version
        self.state = row.state
        self.author = row.author
        self.note = row.note
        self.created_at = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC)
        self.template = PromptTemplate.model_validate(row.template)



_SAMPLES: dict[str, Any] = {"str": "sample text", "int": 3, "float": 0.5, "bool": True,
                           "list": ["a", "b"], "dict": {"key": "value"}}


def check_template(template: PromptTemplate, contract: PromptTemplate | None) -> None:
    """Every problem of an admin's template at once, as one :class:`TemplateInvalid`.

    Checks: both parts parse; every variable used is declared; every required variable is
    used; no variable is declared twice; declared variables are exactly those the action
    supplies (``contract``, the shipped default), with the same types; no ``_private``
    attribute access; and a trial render with sample values stays inside the sandbox and
    the time and size limits."""
    problems: list[str] = []
    env = LimitedEnvironment(max_chars=MAX_RENDER_CHARS)
    used: set[str] = set()
    parsed = True
    for part in ("system", "user"):
        try:
            ast = env.parse(getattr(template, part))
        except jinja2.TemplateSyntaxError as exc:
            problems.append(f"{part}: syntax error on line {exc.lineno}: {exc.message}")
            parsed = False
            continue
        used |= meta.find_undeclared_variables(ast)
        problems += [f"{part}: attribute '{n}' is private and cannot be used" for n in _private_names(ast)]
    declared = {v.name: v for v in template.variables}
    names = [v.name for v in template.variables]
    problems += [f"variable '{n}' is declared twice" for n in sorted({n for n in names if names.count(n) > 1})]
    problems += [f"variable '{n}' is used but not declared" for n in sorted(used - set(declared))]
    if parsed:
        problems += [f"required variable '{v.name}' is declared but never used (mark it required = false)"
                     for v in template.variables if v.required and v.name not in used]
    if contract is not None:
        supplied = {v.name: v for v in contract.variables}
        for name in sorted(set(declared) - set(supplied)):
            problems.append(f"unknown variable '{name}': the {template.name} action supplies only "
                            f"{', '.join(sorted(supplied))}")
        for name in sorted(set(supplied) - set(declared)):
            problems.append(f"variable '{name}' is supplied by the action and must be declared "
                            "(mark it required = false if the template does not use it)")
        for name in sorted(set(declared) & set(supplied)):
            if declared[name].type != supplied[name].type:
                problems.append(f"variable '{name}' is {supplied[name].type} for this action, "
                                f"not {declared[name].type}")
    if not problems:
        problems += _trial_render(template)
    if problems:
        raise TemplateInvalid(problems)


def _private_names(ast: nodes.Template) -> list[str]:
    found = [n.attr for n in ast.find_all(nodes.Getattr) if n.attr.startswith("_")]
    found += [n.arg.value for n in ast.find_all(nodes.Getitem)
              if isinstance(n.arg, nodes.Const) and isinstance(n.arg.value, str) and n.arg.value.startswith("_")]
    return sorted(set(found))


def _trial_render(template: PromptTemplate) -> list[str]:
    """Render with sample values: sandbox escapes and runaway loops show up at save time.

    Other errors (an index the sample list does not have) depend on real data and are
    left to the preview."""
    values = {v.name: _SAMPLES[v.type] for v in template.variables}
    problems = []
    for part in ("system", "user"):
        try:
            LimitedEnvironment(max_chars=MAX_RENDER_CHARS).render_limited(getattr(template, part), values)
        except (SecurityError, RenderLimitExceeded) as exc:
            problems.append(f"{part}: {exc}")
        except Exception:  # noqa: BLE001,S110 - data-dependent failures are the preview's business
            pass
    return problems


class PromptStore:
    """Prompt versions per tenant: read by actions (:meth:`get`), changed by admins."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self._defaults = default_templates()

    # -- reading -----------------------------------------------------------------------------
    def _seed(self, session: Session, tenant_id: str, name: str) -> PromptVersionRow:
        template = self._defaults.get(name)
        if template is None:
            raise PromptNotFound(tenant_id, name)
        row = PromptVersionRow(
            tenant_id=tenant_id, name=name, version=1, state="published",
            template=template.model_dump(mode="json"), author="system", note="seeded default",
        )
        session.add(row)
        try:
            session.commit()
        except IntegrityError:  # another request seeded it first: use theirs
            session.rollback()
            found = session.scalars(self._query(tenant_id, name).where(PromptVersionRow.version == 1)).first()
            if found is None:
                raise
            return found
        return row

    @staticmethod
    def _query(tenant_id: str, name: str) -> Any:
        return select(PromptVersionRow).where(PromptVersionRow.tenant_id == tenant_id, PromptVersionRow.name == name)

    def get(self, tenant_id: str, name: str, version: int | None = None) -> PublishedPrompt:
        """The published version, or a named version (admins only, checked by the caller)."""
        with self._sessions() as session:
            query = self._query(tenant_id, name)
            if version is not None:
                if session.scalars(query).first() is None and name in self._defaults:
                    self._seed(session, tenant_id, name)
                row = session.scalars(query.where(PromptVersionRow.version == version)).first()
                if row is None:
                    raise PromptNotFound(tenant_id, name, version)
                return PublishedPrompt(row)
            row = session.scalars(query.where(PromptVersionRow.state == "published")).first()
            if row is None:
                has_any = session.scalars(query).first() is not None
                if has_any:
                    raise PromptNotFound(tenant_id, name)
                row = self._seed(session, tenant_id, name)
            return PublishedPrompt(row)

    def names(self, tenant_id: str) -> list[str]:
        """Every prompt of the tenant: the shipped defaults (seeded now if needed) and any others."""
        with self._sessions() as session:
            stored = set(session.scalars(select(PromptVersionRow.name).where(
                PromptVersionRow.tenant_id == tenant_id).distinct()))
            for name in sorted(set(self._defaults) - stored):
                self._seed(session, tenant_id, name)
        return sorted(stored | set(self._defaults))

    def versions(self, tenant_id: str, name: str) -> list[PublishedPrompt]:
        """All versions of a prompt, newest first."""
        self.get(tenant_id, name)  # seeds the default on first use
        with self._sessions() as session:
            rows = session.scalars(self._query(tenant_id, name).order_by(PromptVersionRow.version.desc()))
            return [PublishedPrompt(row) for row in rows]

    def contract(self, name: str) -> PromptTemplate | None:
        """The shipped default: its variables are what the action supplies."""
        return self._defaults.get(name)

    # -- changing ----------------------------------------------------------------------------
    def _row(self, session: Session, tenant_id: str, name: str, version: int) -> PromptVersionRow:
        row = session.scalars(self._query(tenant_id, name).where(PromptVersionRow.version == version)
                              .with_for_update()).first()
        if row is None:
            raise PromptNotFound(tenant_id, name, version)
        return row

    def validate(self, name: str, data: dict[str, Any]) -> PromptTemplate:
        """Parse and check a template for prompt ``name``; :class:`TemplateInvalid` lists every problem."""
        try:
            template = PromptTemplate.model_validate({**data, "name": name})
        except ValidationError as exc:
            raise TemplateInvalid([f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
                                  ) from exc
        check_template(template, self._defaults.get(name))
        return template

    def create_draft(self, tenant_id: str, name: str, *, from_version: int | None, author: str,
                     note: str = "") -> PublishedPrompt:
        """A new draft copied from ``from_version`` (default: the published one)."""
        source = self.get(tenant_id, name, from_version)
        with self._sessions() as session:
            for _ in range(3):  # two admins creating drafts at once: retry on the version clash
                top = session.scalar(select(func.max(PromptVersionRow.version)).where(
                    PromptVersionRow.tenant_id == tenant_id, PromptVersionRow.name == name)) or 0
                row = PromptVersionRow(tenant_id=tenant_id, name=name, version=top + 1, state="draft",
                                       template=source.template.model_dump(mode="json"), author=author,
                                       note=note or f"draft from v{source.version}")
                session.add(row)
                try:
                    session.commit()
                    return PublishedPrompt(row)
                except IntegrityError:
                    session.rollback()
        raise PromptStateError(f"could not allocate a version number for {name}; try again")

    def edit_draft(self, tenant_id: str, name: str, version: int, changes: dict[str, Any], *,
                   note: str | None = None) -> PublishedPrompt:
        """Replace fields of a draft. Validated first: on any problem nothing is saved."""
        unknown = sorted(set(changes) - set(EDITABLE_FIELDS))
        if unknown:
            raise TemplateInvalid([f"field '{f}' cannot be edited" for f in unknown])
        with self._sessions() as session:
            row = self._row(session, tenant_id, name, version)
            if row.state != "draft":
                raise PromptStateError(f"{name} v{version} is {row.state}; only drafts can be edited")
            template = self.validate(name, {**row.template, **changes})
            row.template = template.model_dump(mode="json")
            if note is not None:
                row.note = note
            session.commit()
            return PublishedPrompt(row)

    def publish(self, tenant_id: str, name: str, version: int) -> tuple[PublishedPrompt, int | None]:
        """Publish a draft; return it and the version it replaced (now archived)."""
        return self._make_live(tenant_id, name, version, allowed=("draft",))

    def rollback(self, tenant_id: str, name: str, version: int) -> tuple[PublishedPrompt, int | None]:
        """Republish an earlier (archived) version; return it and the version it replaced."""
        return self._make_live(tenant_id, name, version, allowed=("archived",))

    def _make_live(self, tenant_id: str, name: str, version: int,
                   allowed: tuple[str, ...]) -> tuple[PublishedPrompt, int | None]:
        self.get(tenant_id, name)
        with self._sessions() as session:
            # lock every version of the prompt so two publishes cannot both leave one published
            rows = list(session.scalars(self._query(tenant_id, name).with_for_update()))
            target = next((r for r in rows if r.version == version), None)
            if target is None:
                raise PromptNotFound(tenant_id, name, version)
            if target.state not in allowed:
                raise PromptStateError(f"{name} v{version} is {target.state}; expected {' or '.join(allowed)}")
            self.validate(name, target.template)  # a draft saved before a rule changed is checked again
            replaced = None
            for row in rows:
                if row.state == "published":
                    row.state, replaced = "archived", row.version
            target.state = "published"
            session.commit()
            return PublishedPrompt(target), replaced

    def archive(self, tenant_id: str, name: str, version: int) -> PublishedPrompt:
        """Discard a draft (it stays readable, and can be copied into a new draft)."""
        with self._sessions() as session:
            row = self._row(session, tenant_id, name, version)
            if row.state != "draft":
                raise PromptStateError(f"{name} v{version} is {row.state}; only drafts can be archived")
            row.state = "archived"
            session.commit()
            return PublishedPrompt(row)

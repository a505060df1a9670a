"""One registry of actions: adding an action is adding one module and one line here."""

from __future__ import annotations

from typing import Any

from actions.base import Action
from actions.compliance_check import ComplianceCheckAction
from actions.email_draft import EmailDraftAction
from actions.field_fill import FieldFillAction
from actions.qa import QAAction
from actions.summary import SummaryAction

ACTIONS: dict[str, Action[Any, Any]] = {
    action.name: action
    for action in (SummaryAction(), EmailDraftAction(), FieldFillAction(), ComplianceCheckAction(), QAAction())
}

"""The no-LLM extractive baseline: a deterministic chat model that answers from the evidence.

``ExtractiveChatModel`` implements :class:`prompts.chat.ChatModel` without a language
model. It reads the fenced ``<evidence id="E1" ...>`` blocks of the prompt, ranks their
sentences against the question (or focus, or the instructions) with IDF-weighted word
overlap (:mod:`prompts.extractive_reading`), and then:

- free text (no schema): the best sentences verbatim, followed by their ``[E1]`` labels when
  the prompt asks for them, under a ``Subject:`` line when it asks for one, or the prompt's
  own "reply exactly: ..." text when the best sentence covers under half the question;
- JSON: fills whatever schema the action asks for. Text slots get the best sentences and
  sibling evidence lists the labels of their blocks; lists named for questions, risks or
  next steps take sentences that look like one; a per-field ``{value, evidence, quote}``
  object gets a number, amount, ISO date or picklist option from the latest sentence
  naming the field; "answerable"/"not_found" booleans follow the coverage test;
  everything it cannot know honestly (free-text field values, policy verdicts) stays
  empty or null.

It is a real baseline ("what does copying the evidence score?") and makes the CI smoke
gate fast and deterministic. A chat backend like the others: ``extractive`` in
:data:`prompts.chat.CHAT_MODELS`."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from prompts.chat import ChatMessage, WholeReplyModel
from prompts.extractive_reading import (
    DATE,
    NOT_FOUND_TEXT,
    Evidence,
    Sentence,
    field_line,
    field_type,
    parse_prompt,
    text_reply,
    typed_value,
)
from retrieval.text import content_words

_RISK = re.compile(r"\b(risk|concern|competit|block|delay|worr|objection|churn|cap|refus|legal|los[te]|expir|"
                   r"deadline|notice|threat|budget|not (?:yet )?approved|pushback|escalat)", re.I)
_ACTION = re.compile(r"\b(will|next|send|schedul|follow|due|plan|agree[ds]? to|owner|by \w+ \d|deliver|share|"
                     r"book|prepare|review|sign)", re.I)
TEXT_ITEM_NAMES = ("text", "claim", "statement", "fact", "bullet", "point", "content", "quote", "sentence",
                   "summary", "question", "risk", "step", "item", "finding")
LONG_TEXT_NAMES = ("answer", "body", "summary", "text", "content", "draft", "response", "message")
SHORT_TEXT_NAMES = ("headline", "title", "subject")
LABEL_NAMES = ("evidence", "citation", "source", "label", "ref", "cited")
EMPTY_LIST_NAMES = ("verdict", "violation", "issue", "finding", "field")
"""Lists the baseline cannot fill honestly (policy findings, free-form field lists)."""
TRUE_IF_ANSWERABLE = ("answerable", "found", "has_answer", "supported", "grounded")
FALSE_IF_ANSWERABLE = ("not_found", "unanswerable", "no_answer", "insufficient", "cannot_answer")



@dataclass
class _Filler:
    """Walks a JSON schema and builds a value for it from the ranked evidence."""

    schema: dict[str, Any]
    evidence: Evidence
    max_items: int = 3
    max_sentences: int = 3
    used: set[int] = field(default_factory=set)
    cited: list[list[Sentence]] = field(default_factory=list)

    def resolve(self, node: dict[str, Any]) -> dict[str, Any]:
        defs = self.schema.get("$defs", self.schema.get("definitions", {}))
        while "$ref" in node:
            node = {**defs.get(node["$ref"].rsplit("/", 1)[-1], {}), **{k: v for k, v in node.items() if k != "$ref"}}
        if len(node.get("allOf", [])) == 1:
            node = {**self.resolve(node["allOf"][0]), **{k: v for k, v in node.items() if k != "allOf"}}
        return node

    def value(self, node: dict[str, Any], name: str, current: Sentence | None = None) -> Any:
        node = self.resolve(node)
        if "const" in node:
            return node["const"]
        options = node.get("anyOf") or node.get("oneOf")
        kind = node.get("type")
        if isinstance(kind, list):
            options = [{**node, "type": t} for t in kind]
        if options:
            resolved = [self.resolve(o) for o in options]
            concrete = [o for o in resolved if o.get("type") != "null"]
            if not concrete:
                return None
            if len(concrete) < len(resolved) and self._unknown(name, concrete[0], current):
                return None
            return self.value(concrete[0], name, current)
        if "enum" in node:
            return self._enum(node["enum"])
        if kind == "object" or "properties" in node:
            props = node.get("properties", {})
            if name != "root" and "value" in props and ("quote" in props or "evidence" in props):
                return self._field(node, name)
            return self._object(node, current)
        if kind == "array":
            return self._array(node, name, current)
        if kind == "boolean":
            return self._boolean(name)
        if kind in ("integer", "number"):
            return self._number(node, name, kind)
        if kind == "null":
            return None
        return self._string(node, name, current)

    def _unknown(self, name: str, concrete: dict[str, Any], current: Sentence | None) -> bool:
        """A nullable slot stays null unless it is text we can quote or a container."""
        if concrete.get("type") in ("object", "array") or "properties" in concrete:
            return False
        if concrete.get("type", "string") != "string" or "enum" in concrete:
            return True
        if current is not None and _named(name, TEXT_ITEM_NAMES):
            return False
        if name == "answer" or _named(name, LONG_TEXT_NAMES):
            return not self.evidence.answerable
        return not _named(name, SHORT_TEXT_NAMES)

    def _object(self, node: dict[str, Any], current: Sentence | None) -> dict[str, Any]:
        props: dict[str, Any] = node.get("properties", {})
        required = set(node.get("required", []))
        self.cited.append([current] if current else [])
        out: dict[str, Any] = {}
        labels_last = sorted(props, key=lambda p: _named(p, LABEL_NAMES))
        for prop in labels_last:
            value = self.value(props[prop], prop, current)
            if value is None and prop not in required and "default" in self.resolve(props[prop]):
                continue
            out[prop] = value
        self.cited.pop()
        return {p: out[p] for p in props if p in out}

    def _field(self, node: dict[str, Any], name: str) -> dict[str, Any]:
        """A CRM-style field ``{value, evidence, quote, confidence}``: a value of the field's
        type from the best sentence that names the field, with that sentence as the quote;
        all null (confidence 0) when no sentence has one."""
        props: dict[str, Any] = node["properties"]
        kind = field_type(name, self.evidence.instructions, self.resolve(props["value"]))
        hint = content_words(f"{name.replace('_', ' ')} {field_line(name, self.evidence.instructions)}")
        named = content_words(name.replace("_", " "))
        best: tuple[int, int, Sentence, Any] | None = None
        for s in self.evidence.sentences:
            if kind != "picklist" and not s.words & named:  # a picklist option is evidence enough
                continue
            value = typed_value(s.text, kind, self.resolve(props["value"]))
            if value is not None and (best is None or (len(s.words & hint), s.order) > best[:2]):
                best = (len(s.words & hint), s.order, s, value)
        out: dict[str, Any] = {}
        for prop, schema in props.items():
            if prop == "value":
                out[prop] = best[3] if best else None
            elif best is None:
                out[prop] = None if _nullable(self.resolve(schema)) else self.value(schema, prop)
            elif prop == "quote":
                out[prop] = best[2].text
            elif _named(prop, LABEL_NAMES):
                out[prop] = best[2].label
            elif "confiden" in prop:
                out[prop] = round(min(1.0, 0.5 + best[0] / (2 * max(len(hint), 1))), 2)
            else:
                out[prop] = self.value(schema, prop)
        if best is None:
            out.update({p: 0.0 for p in props if "confiden" in p})
        return out

    def _array(self, node: dict[str, Any], name: str, current: Sentence | None) -> list[Any]:
        items = self.resolve(node.get("items", {}))
        limit = min(node.get("maxItems", self.max_items), self.max_items)
        minimum = node.get("minItems", 0)
        if items.get("type") == "string" and _named(name, LABEL_NAMES):
            cited = self.cited[-1] if self.cited else []
            labels = list(dict.fromkeys(s.label for s in cited if s.label))
            return labels[: node.get("maxItems", len(labels))] or ([current.label] if current else [])
        if _named(name, EMPTY_LIST_NAMES) and not minimum:
            return []
        is_text_item = items.get("type") == "string" or any(
            _named(p, TEXT_ITEM_NAMES) for p in items.get("properties", {}))
        if not is_text_item:
            return [self.value(items, name) for _ in range(minimum)]
        picked = self._pick(name, max(limit, minimum))
        values = [self.value(items, name, s) for s in picked]
        while len(values) < minimum:
            values.append(self.value(items, name, current))
        return values

    def _pick(self, name: str, n: int) -> list[Sentence]:
        """Up to ``n`` unused sentences, best first, that suit a list named ``name``."""
        picked = [s for s in self.evidence.sentences if s.order not in self.used and _suits(name, s.text)][:n]
        self.used.update(s.order for s in picked)
        return picked

    def _string(self, node: dict[str, Any], name: str, current: Sentence | None) -> str:
        fmt = node.get("format")
        if fmt in ("date", "date-time"):
            found = next((m.group() for s in self.evidence.sentences if (m := DATE.search(s.text))), "1970-01-01")
            return found if fmt == "date" else f"{found}T00:00:00Z"
        if current is not None and _named(name, TEXT_ITEM_NAMES):
            text = current.text
        elif _named(name, SHORT_TEXT_NAMES):
            top = self.evidence.sentences[:1]
            self._cite(top)
            text = top[0].text[:120] if top else ""
        elif name == "answer" and not self.evidence.answerable and self.evidence.question:
            text = NOT_FOUND_TEXT
        elif _named(name, LONG_TEXT_NAMES):
            # with a question, only sentences that share at least half the best one's overlap
            floor = self.evidence.best_sentence / 2 if self.evidence.question else 0.0
            chosen = [s for s in self.evidence.sentences
                      if s.order not in self.used and s.coverage >= floor][: self.max_sentences]
            self.used.update(s.order for s in chosen)
            self._cite(chosen)
            text = " ".join(s.text for s in chosen)
        else:
            text = ""
        text = text[: node.get("maxLength", len(text))]
        return text.ljust(node.get("minLength", 0), ".")

    def _cite(self, sentences: list[Sentence]) -> None:
        if self.cited:
            self.cited[-1].extend(sentences)

    def _enum(self, options: list[Any]) -> Any:
        corpus = " ".join(s.text for s in self.evidence.sentences[:5]).lower()
        return next((o for o in options if isinstance(o, str) and o.lower() in corpus), options[0])

    def _boolean(self, name: str) -> bool:
        if _named(name, FALSE_IF_ANSWERABLE):
            return not self.evidence.answerable
        if _named(name, TRUE_IF_ANSWERABLE):
            return self.evidence.answerable
        return name == "compliant"

    def _number(self, node: dict[str, Any], name: str, kind: str) -> float | int:
        low, high = node.get("minimum", 0), node.get("maximum", math.inf)
        value = min(max(round(self.evidence.coverage, 2) if "confiden" in name else low, low), high)
        return int(value) if kind == "integer" else float(value)


def _nullable(schema: dict[str, Any]) -> bool:
    kinds = schema.get("type")
    options = schema.get("anyOf") or schema.get("oneOf") or []
    return kinds == "null" or (isinstance(kinds, list) and "null" in kinds) or any(
        o.get("type") == "null" for o in options) or None in schema.get("enum", [0])


def _suits(list_name: str, text: str) -> bool:
    if "question" in list_name:
        return text.rstrip().endswith("?")
    if _named(list_name, ("risk", "concern", "objection", "blocker")):
        return bool(_RISK.search(text))
    if _named(list_name, ("next", "step", "action", "todo", "follow", "task")):
        return bool(_ACTION.search(text) or DATE.search(text))
    return True


def _named(name: str, words: Sequence[str]) -> bool:
    low = name.lower()
    return any(w in low for w in words)


class ExtractiveChatModel(WholeReplyModel):
    """Deterministic, LLM-free chat model that quotes the prompt's evidence (see module doc)."""

    def __init__(self, *, name: str = "extractive", max_items: int = 3, max_sentences: int = 3) -> None:
        self.name = name
        self._max_items = max_items
        self._max_sentences = max_sentences

    def reply(self, messages: Sequence[ChatMessage], json_schema: dict[str, Any] | None, max_tokens: int = 0) -> str:
        """The reply: text following the prompt's cues, or JSON of ``json_schema`` (no token limit
        applies: it writes only what the evidence gives)."""
        evidence = parse_prompt(messages)
        if json_schema is None:
            return text_reply(evidence, self._max_sentences)
        filler = _Filler(json_schema, evidence, self._max_items, self._max_sentences)
        return json.dumps(filler.value(json_schema, "root"), ensure_ascii=False)

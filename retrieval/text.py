"""Word-level tokenizing, in one place: citation support, policy wording, the extractive
baseline and the text metrics use :func:`content_words`; the lexical reranker uses
:func:`query_terms`; answer token F1 uses :func:`answer_tokens`.

``words`` lower-cases and splits a text into word tokens (a letter-led word may hold
hyphens and apostrophes; a number keeps its decimal point and a trailing ``%``, thousands
separators dropped); ``content_words`` drops stop words and one-letter tokens and crudely
stems words to their first six letters, so "discounts" meets "discounted".

Why three and not one: the reranker matches query terms against chunk text, where ids,
amounts and versions (``acme-001``, ``$79``, ``v2.3``) must stay whole and words such as
"new", "next" or "team" carry meaning; with ``content_words``' rules its MRR fell from
0.807 to 0.734 on the demo set and dropped on MTRAG and QMSum too
(``python -m eval.benchmarks.retrieval_eval``). Answer token F1 is the SQuAD definition,
so its figures compare with published ones."""

from __future__ import annotations

import re

_TOKEN = re.compile(r"[A-Za-z][A-Za-z\-']+|\d[\d,\.]*%?")
STEM_CHARS = 6
_STOP_WORDS_TEXT = """
a an and are as at be been but by can could did do does for from had has have he her him his how i
if in into is it its may might more most no not of on or our out over she should so such than that
the their them then there these they this those to too under up us was we were what when where which
while who will with would you your also about after all any before both each few just only other own
same some very per via re new next last asked said says mentioned discussed noted customer team call
meeting
"""
STOP_WORDS = frozenset(_STOP_WORDS_TEXT.split())


def words(text: str) -> list[str]:
    """Word tokens of ``text`` in order, lower-cased (``$2,400.`` -> ``2400``, ``Follow-up`` -> ``follow-up``)."""
    return [token.lower().rstrip(".,").replace(",", "") for token in _TOKEN.findall(text)]


def content_words(text: str) -> set[str]:
    """The distinct content words of ``text``: no stop words, no single characters, stemmed."""
    return {word[:STEM_CHARS] if word[0].isalpha() else word
            for word in words(text) if word not in STOP_WORDS and len(word) > 1}


_TERM = re.compile(r"[a-z0-9][a-z0-9\-\.%$]*", re.I)
_QUERY_STOP_WORDS_TEXT = """
a an and are as at be by can do does for from has have how i in is it of on or our that the this to
was we what when where which who why will with you your about any there their
"""
QUERY_STOP_WORDS = frozenset(_QUERY_STOP_WORDS_TEXT.split())


def query_terms(text: str) -> list[str]:
    """Terms of a query or a chunk for the lexical reranker, in order: ids, amounts and
    versions kept whole, a short stop list, no stemming."""
    return [w.lower().strip(".") for w in _TERM.findall(text) if w.lower() not in QUERY_STOP_WORDS]


def answer_tokens(text: str) -> list[str]:
    """Lower-cased alphanumeric tokens (SQuAD's answer F1)."""
    return re.findall(r"[a-z0-9]+", text.lower())

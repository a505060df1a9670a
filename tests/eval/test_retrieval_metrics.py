"""Ranking metrics on hand-made rankings with known values."""

from __future__ import annotations

import math

import pytest

from eval.metrics.retrieval import (
    MISS,
    hit_at_k,
    ndcg_at_k,
    precision_at_k,
    ranked_units,
    recall_at_k,
    reciprocal_rank,
    retrieval_scores,
)


def test_recall_counts_relevant_units_in_the_top_k() -> None:
    ranked = ["a", "x", "b", "y", "c"]
    assert recall_at_k(ranked, {"a", "b", "c", "d"}, 3) == 0.5
    assert recall_at_k(ranked, {"a", "b", "c", "d"}, 5) == 0.75
    assert recall_at_k(ranked, {"z"}, 5) == 0.0
    assert recall_at_k(ranked, set(), 5) == 0.0


def test_precision_and_hit() -> None:
    assert precision_at_k(["a", "x", "b", "y"], {"a", "b"}, 4) == 0.5
    assert precision_at_k(["a"], {"a", "b"}, 10) == 1.0  # only what was returned counts
    assert hit_at_k(["x", "y", "a"], {"a"}, 2) == 0.0
    assert hit_at_k(["x", "y", "a"], {"a"}, 3) == 1.0


def test_reciprocal_rank_is_one_over_the_first_relevant_rank() -> None:
    assert reciprocal_rank(["x", "y", "a", "b"], {"a", "b"}) == pytest.approx(1 / 3)
    assert reciprocal_rank(["a"], {"a"}) == 1.0
    assert reciprocal_rank(["x", "y"], {"a"}) == 0.0


def test_ndcg_rewards_relevant_units_ranked_early() -> None:
    # [rel, miss, rel] with 2 relevant: (1 + 1/log2(4)) / (1 + 1/log2(3))
    expected = (1 + 1 / math.log2(4)) / (1 + 1 / math.log2(3))
    assert ndcg_at_k(["a", "x", "b"], {"a", "b"}, 10) == pytest.approx(expected)
    assert ndcg_at_k(["a", "b", "x"], {"a", "b"}, 10) == pytest.approx(1.0)
    assert ndcg_at_k(["x", "a", "b"], {"a", "b"}, 10) < expected
    assert ndcg_at_k(["x", "y"], {"a"}, 10) == 0.0
    # the ideal ranking has at most k relevant units
    assert ndcg_at_k(["a"], {"a", "b", "c"}, 1) == 1.0


def test_ranked_units_collapses_chunks_and_keeps_misses_in_place() -> None:
    # chunks: [doc1], [doc1] (duplicate), [], [doc2, doc3]
    ranked = ranked_units([["doc1"], ["doc1"], [], ["doc2", "doc3"]])
    assert ranked == ["doc1", MISS, MISS, "doc2", "doc3"]
    assert reciprocal_rank(ranked_units([[], ["doc2"]]), {"doc2"}) == 0.5


def test_retrieval_scores_names() -> None:
    scores = retrieval_scores(["a", "x"], {"a", "b"}, ks=(1, 2))
    assert scores == {"recall@1": 0.5, "recall@2": 0.5, "mrr": 1.0, "ndcg@2": pytest.approx(1 / (1 + 1 / math.log2(3)))}

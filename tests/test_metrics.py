import math

import numpy as np
import pytest
import tensorflow as tf

from daeptr.metrics import hit_at_n, ndcg_at_n, ranking_metrics, target_ranks

NO_EXCLUDE = np.array([[-1]], "int32")


def _ranks(scores, target, exclude=NO_EXCLUDE):
    return target_ranks(np.array([scores], "float32"), np.array([target], "int32"), exclude)


def _numpy_rank(scores, target, exclude):
    """Reference: rank by a Python loop over candidates, ties pessimistic."""
    rank = 1
    for t, s in enumerate(scores):
        if t != target and t not in set(exclude) and s >= scores[target]:
            rank += 1
    return rank


# ---- target_ranks ----------------------------------------------------------------


def test_hand_computed_rank_and_metrics():
    # scores of tags 0..4; target 2 (0.5) is beaten by tag 1 (0.9) and tag 3 (0.7).
    ranks = _ranks([0.1, 0.9, 0.5, 0.7, 0.3], target=2)
    assert ranks.dtype == tf.int32 and ranks.numpy().tolist() == [3]
    assert hit_at_n(ranks, 1).numpy().tolist() == [0.0]
    assert hit_at_n(ranks, 3).numpy().tolist() == [1.0]
    assert ndcg_at_n(ranks, 1).numpy().tolist() == [0.0]
    np.testing.assert_allclose(ndcg_at_n(ranks, 3).numpy(), [1.0 / math.log2(4)])  # = 0.5
    np.testing.assert_allclose(ndcg_at_n(ranks, 3).numpy(), [0.5])
    np.testing.assert_allclose(ndcg_at_n(ranks, 10).numpy(), [0.5])


def test_excluded_higher_score_does_not_push_rank():
    scores = [0.1, 0.9, 0.5, 0.7, 0.3]
    ranks = _ranks(scores, target=2, exclude=np.array([[1, -1, -1]], "int32"))
    assert ranks.numpy().tolist() == [2]  # only tag 3 beats it now
    np.testing.assert_allclose(ndcg_at_n(ranks, 5).numpy(), [1.0 / math.log2(3)])
    both = _ranks(scores, target=2, exclude=np.array([[3, 1]], "int32"))
    assert both.numpy().tolist() == [1]


def test_target_in_exclusion_list_does_not_matter():
    scores = [0.1, 0.9, 0.5, 0.7, 0.3]
    with_target = _ranks(scores, target=2, exclude=np.array([[2, 1]], "int32"))
    without = _ranks(scores, target=2, exclude=np.array([[1, -1]], "int32"))
    assert with_target.numpy().tolist() == without.numpy().tolist() == [2]


def test_ties_count_against_target():
    # tags 1 and 2 tie with target 0, tag 3 is lower: rank 1 + 2 = 3.
    assert _ranks([0.5, 0.5, 0.5, 0.2], target=0).numpy().tolist() == [3]


def test_constant_scores_rank_last_among_candidates():
    num_tags = 10
    exclude = np.array([[4, 7, 9, -1]], "int32")
    ranks = _ranks(np.zeros(num_tags), target=2, exclude=exclude)
    assert ranks.numpy().tolist() == [num_tags - 3]  # every non-excluded tag counts
    assert hit_at_n(ranks, 1).numpy().tolist() == [0.0]


def test_nan_target_score_ranks_last():
    assert _ranks([0.1, float("nan"), 0.3], target=1).numpy().tolist() == [3]


def test_matches_reference_on_random_batch():
    rng = np.random.default_rng(0)
    batch, num_tags = 32, 40
    scores = rng.integers(0, 6, size=(batch, num_tags)).astype("float32")  # many ties
    targets = rng.integers(0, num_tags, size=batch).astype("int32")
    exclude = np.full((batch, 5), -1, "int32")
    for b in range(batch):
        n = rng.integers(0, 6)
        exclude[b, :n] = rng.choice(np.setdiff1d(np.arange(num_tags), targets[b]), n, replace=False)
    got = target_ranks(scores, targets, exclude).numpy()
    expected = [_numpy_rank(scores[b], targets[b], exclude[b]) for b in range(batch)]
    assert got.tolist() == expected


def test_target_ranks_compiles_under_xla_with_dynamic_batch():
    fn = tf.function(
        target_ranks,
        jit_compile=True,
        input_signature=[
            tf.TensorSpec([None, None], tf.float32),
            tf.TensorSpec([None], tf.int32),
            tf.TensorSpec([None, None], tf.int32),
        ],
    )
    scores = np.array([[0.1, 0.9, 0.5, 0.7], [0.4, 0.3, 0.2, 0.1]], "float32")
    exclude = np.array([[1, -1], [-1, -1]], "int32")
    assert fn(scores, np.array([2, 3], "int32"), exclude).numpy().tolist() == [2, 4]
    assert fn(scores[:1], np.array([2], "int32"), exclude[:1]).numpy().tolist() == [2]


# ---- hit / ndcg ----------------------------------------------------------------------


def test_hit_and_ndcg_closed_forms():
    ranks = tf.constant([1, 2, 3, 5, 10, 11])
    assert hit_at_n(ranks, 5).numpy().tolist() == [1, 1, 1, 1, 0, 0]
    expected = [1.0, 1 / math.log2(3), 1 / math.log2(4), 1 / math.log2(6), 1 / math.log2(11), 0.0]
    np.testing.assert_allclose(ndcg_at_n(ranks, 10).numpy(), expected, rtol=1e-6)
    assert ndcg_at_n(ranks, 10).dtype == tf.float32 and hit_at_n(ranks, 10).dtype == tf.float32


def test_hit1_equals_ndcg1_and_monotone_in_n():
    ranks = tf.constant(np.random.default_rng(1).integers(1, 30, size=200), tf.int32)
    np.testing.assert_array_equal(hit_at_n(ranks, 1).numpy(), ndcg_at_n(ranks, 1).numpy())
    previous_hit = previous_ndcg = np.zeros(200, "float32")
    for n in range(1, 31):
        hit, ndcg = hit_at_n(ranks, n).numpy(), ndcg_at_n(ranks, n).numpy()
        assert np.all(hit >= previous_hit) and np.all(ndcg >= previous_ndcg)
        assert np.all(ndcg <= hit)
        previous_hit, previous_ndcg = hit, ndcg


@pytest.mark.parametrize("n", [0, -1, 2.0, True])
def test_bad_cutoff_raises(n):
    with pytest.raises(ValueError, match="`n`"):
        hit_at_n(tf.constant([1]), n)
    with pytest.raises(ValueError, match="`n`"):
        ndcg_at_n(tf.constant([1]), n)


# ---- ranking_metrics -------------------------------------------------------------------


def test_ranking_metrics_means():
    metrics = ranking_metrics(tf.constant([1, 2, 3, 11]))
    assert list(metrics) == [
        "hit@1", "hit@3", "hit@5", "hit@10", "ndcg@1", "ndcg@3", "ndcg@5", "ndcg@10",
    ]
    assert all(type(v) is float for v in metrics.values())
    assert metrics["hit@1"] == metrics["ndcg@1"] == 0.25
    assert metrics["hit@3"] == metrics["hit@10"] == 0.75
    np.testing.assert_allclose(metrics["ndcg@3"], (1 + 1 / math.log2(3) + 0.5 + 0) / 4, rtol=1e-6)


def test_ranking_metrics_custom_ns_and_errors():
    assert list(ranking_metrics([4, 1], ns=(2,))) == ["hit@2", "ndcg@2"]
    with pytest.raises(ValueError, match="ns"):
        ranking_metrics([1], ns=())
    with pytest.raises(ValueError, match="ranks"):
        ranking_metrics(np.zeros([0], "int32"))


def test_evaluation_traces_its_ranking_once_per_model_whatever_the_batch_and_width():
    from daeptr.data import pcore, splits, synthetic
    from daeptr.evaluate import evaluate
    from daeptr.models import DAEPTR

    core, _ = pcore.p_core(synthetic.planted_folksonomy(seed=2), 2)
    split = splits.leave_last_tag_out(core, seed=0)
    model = DAEPTR(split.num_users, split.num_items, split.num_tags, latent_dim=4)
    valid, test = split.eval_posts("valid"), split.eval_posts("test")
    assert valid.lengths.max() != test.lengths.max()  # different padding widths
    for posts, batch in ((valid, 7), (test, 7), (test, 64), (valid, 7)):
        metrics, ranks = evaluate(model, posts, batch_size=batch)
        assert len(ranks) == len(posts) and 0 <= metrics["hit@3"] <= 1
    assert model._daeptr_rank_fn.experimental_get_tracing_count() == 1
